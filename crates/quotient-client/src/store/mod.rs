//! The client's store: one embedded SQLite database per account.
//!
//! Why SQLite, and why `rusqlite` with its `bundled` feature: rooms and
//! events must live on disk, not in RAM, so that memory after a sync does
//! not grow with the number of stored events, and a sync batch must be
//! applied atomically (one transaction, `since` included) so a crash can
//! neither skip nor repeat it. SQLite gives both with one file and no
//! server. `bundled` compiles SQLite into the crate, so a fresh machine
//! needs no system library and every build runs the same SQLite version
//! (with WAL and `WITHOUT ROWID` tables), whatever the distribution ships.
//!
//! The database runs in WAL mode: readers do not block the one writer
//! (the sync batch), and a commit is one append to the log.

mod file;
mod migrations;
pub(crate) mod outbox;
mod outbox_ciphertext;
#[cfg(test)]
mod outbox_tests;
pub mod owner;
pub(crate) mod position;
mod reader;
mod receipts;
mod relations;
pub(crate) mod room_changes;
mod room_name;
pub(crate) mod sliding;
pub(crate) mod unread;
mod watch_cursors;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::Result;

pub use migrations::LATEST as SCHEMA_VERSION;
pub use outbox::TimelineItem;
pub use reader::{Membership, RoomSummary, StoredEvent};
pub use receipts::Receipt;
pub use relations::ReactionGroup;
pub use room_name::RoomNameParts;
pub use unread::UnreadSource;
pub use watch_cursors::{EventChange, LiveEvent};

/// The name of the database file inside a store directory.
pub const STORE_FILE: &str = "client.sqlite3";

/// An open store: the synced account (sync position, rooms, state,
/// timelines, account data) in one SQLite database.
///
/// All writes of a sync batch go through one transaction (see
/// [`crate::sync`]); everything else here only reads.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (or creates) the store in `dir`, creating the directory if
    /// needed, and migrates it to the current schema.
    ///
    /// On Unix the directory is made mode 0700 and the file mode 0600
    /// (SQLite gives its `-wal` and `-shm` files the database file's
    /// mode): the store holds private messages. Elsewhere the platform's
    /// defaults apply (on Windows, the user profile's ACLs).
    ///
    /// A store from a newer schema is refused with
    /// [`Error::NewerSchema`](crate::Error::NewerSchema) and left untouched.
    pub fn open(dir: &Path) -> Result<Store> {
        let path = file::prepare(dir)?;
        let label = path.display().to_string();
        let mut conn = Connection::open(&path)?;
        // Checked before anything writes, WAL mode included: setting it
        // changes the file header.
        migrations::check_not_newer(&conn, &label)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrations::migrate(&mut conn, &label)?;
        Ok(Store {
            conn,
            path: Some(path),
        })
    }

    /// A store that lives in memory only, for tests and throwaway
    /// clients: the same schema and behaviour, gone when dropped.
    pub fn in_memory() -> Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrations::migrate(&mut conn, ":memory:")?;
        Ok(Store { conn, path: None })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The store's schema version.
    pub fn schema_version(&self) -> Result<u32> {
        migrations::version(&self.conn)
    }

    /// How many malformed items (events, state entries, account data)
    /// synced batches have brought so far; each is kept as raw JSON.
    pub fn malformed_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM malformed_items", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The malformed items as they came, oldest first: (kind, room, reason, JSON).
    pub fn malformed_items(&self) -> Result<Vec<MalformedItem>> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, room_id, reason, json FROM malformed_items ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(MalformedItem {
                kind: r.get(0)?,
                // The batch's room keys parsed when it was read.
                room_id: r
                    .get::<_, Option<String>>(1)?
                    .and_then(|room| quotient_api::RoomId::parse(room).ok()),
                reason: r.get(2)?,
                json: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    #[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    #[cfg(test)]
    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// A write transaction that takes the write lock when it begins
    /// (`BEGIN IMMEDIATE`), so it waits for another process's writer at
    /// its start (see the busy handler) instead of failing when a read
    /// inside it turns into a write after that writer committed.
    pub(crate) fn write_transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// SQLite's `data_version`: it changes when another connection (another
    /// process) commits to the store.
    pub(crate) fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}

/// A batch item that did not fit its type, kept as it came.
#[derive(Clone, Debug, PartialEq)]
pub struct MalformedItem {
    /// What it was meant to be: `timeline`, `state`, `account_data`, …
    pub kind: String,
    /// The room it came in, if any.
    pub room_id: Option<quotient_api::RoomId>,
    /// Why it did not fit.
    pub reason: String,
    /// Its JSON text, untouched.
    pub json: String,
}

/// How many prepared statements a store keeps (`prepare_cached`).
const STATEMENT_CACHE: usize = 128;

/// How long one wait for a busy store lasts, and after how many waits
/// (2 s) it is reported and (60 s) given up.
const BUSY_STEP: std::time::Duration = std::time::Duration::from_millis(10);
const BUSY_REPORT_AFTER: i32 = 200;
const BUSY_GIVE_UP: i32 = 6000;

/// SQLite's busy handler: another process (a CLI command beside a running
/// bot) holds the write lock. Wait for it, say so once the wait is long,
/// and give up after a minute rather than hang.
fn store_busy(waits: i32) -> bool {
    if waits >= BUSY_GIVE_UP {
        tracing::error!("the store stayed busy for 60 s (another process is writing); giving up");
        return false;
    }
    if waits == BUSY_REPORT_AFTER {
        tracing::warn!(
            "the store is busy: another process is writing to it; waiting (at most 60 s)"
        );
    }
    std::thread::sleep(BUSY_STEP);
    true
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_handler(Some(store_busy))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A sync batch runs a few dozen distinct statements, each hundreds of
    // thousands of times on a large account: preparing one costs more
    // than running it, so each is prepared once and kept.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

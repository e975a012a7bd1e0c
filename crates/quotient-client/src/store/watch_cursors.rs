//! Live events and the watchers' delivery cursors (schema v3).

use rusqlite::params;

use super::reader::{event_row, ENCRYPTION_JOIN, EVENT_COLUMNS};
use super::{Store, StoredEvent};
use crate::error::Result;

/// A timeline event first stored by a `/sync` batch, as a watcher gets it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveEvent {
    /// Its place in the order live events were stored (all rooms).
    pub seq: i64,
    /// The room it is in.
    pub room_id: quotient_api::RoomId,
    /// New to the store, or stored earlier and decrypted now.
    pub change: EventChange,
    /// The event as stored now (stripped, if it was redacted since).
    pub event: StoredEvent,
}

/// Why a watcher hears of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventChange {
    /// The event was just stored.
    New,
    /// An encrypted event stored earlier (and handed over then, as it
    /// came) has just been decrypted: its key arrived later. The same
    /// event, by ID, with its decrypted JSON.
    Decrypted,
}

impl LiveEvent {
    /// The transaction ID of our own local echo this event replaces: the
    /// server adds `unsigned.transaction_id` to an event only for the
    /// device that sent it. See [`crate::outbox`].
    pub fn transaction_id(&self) -> Option<&str> {
        self.event
            .json
            .get("unsigned")?
            .get("transaction_id")?
            .as_str()
    }
}

impl Store {
    /// Starts the watcher `name` at the newest live event, unless it has
    /// started before (then its cursors are kept). True when it was new.
    pub fn start_watcher(&mut self, name: &str) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO watch_cursors (watcher, room_id, seq)
             SELECT ?1, '*', COALESCE(MAX(seq), 0) FROM live_events",
            params![name],
        )?;
        Ok(n == 1)
    }

    /// Up to `limit` live events after the watcher's cursor of their room,
    /// in the order they were stored.
    pub fn live_events_after(&self, watcher: &str, limit: u32) -> Result<Vec<LiveEvent>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT l.seq, l.room_id, l.change, {EVENT_COLUMNS}
             FROM live_events l JOIN timeline t ON t.rowid = l.timeline_rowid
             {ENCRYPTION_JOIN}
             WHERE l.seq > COALESCE(
                 (SELECT seq FROM watch_cursors WHERE watcher = ?1 AND room_id = l.room_id),
                 (SELECT seq FROM watch_cursors WHERE watcher = ?1 AND room_id = '*'),
                 0)
             ORDER BY l.seq LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![watcher, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                event_row(r, 3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, room_id, change, event) = row?;
            // A batch stores only room IDs that parse.
            let Ok(room_id) = quotient_api::RoomId::parse(room_id) else {
                continue;
            };
            out.push(LiveEvent {
                seq,
                room_id,
                change: if change == "decrypted" {
                    EventChange::Decrypted
                } else {
                    EventChange::New
                },
                event: event.into_event()?,
            });
        }
        Ok(out)
    }

    /// Records that the watcher handled its room's events up to `seq`
    /// (a cursor never moves back).
    pub(crate) fn advance_watcher(&mut self, watcher: &str, room_id: &str, seq: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO watch_cursors (watcher, room_id, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (watcher, room_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            params![watcher, room_id, seq],
        )?;
        Ok(())
    }
}

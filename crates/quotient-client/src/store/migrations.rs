//! Versioned schema migrations.
//!
//! The schema version lives in SQLite's `user_version`. [`MIGRATIONS`] is
//! the ordered list of steps: step *n* (1-based) takes a store from
//! version *n − 1* to *n*, in one transaction with the version bump, so a
//! crash mid-migration leaves the old version intact. A store newer than
//! [`LATEST`] is refused before anything is written to it.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The migration steps, oldest first. Append only: a released step never
/// changes, because stores out there were made by it.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2.sql"),
    include_str!("schema_v3.sql"),
    include_str!("schema_v4.sql"),
    include_str!("schema_v5.sql"),
    include_str!("schema_v6.sql"),
    include_str!("schema_v7.sql"),
    include_str!("schema_v8.sql"),
    include_str!("schema_v9.sql"),
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// The store's schema version.
pub(crate) fn version(conn: &Connection) -> Result<u32> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Refuses a store from a newer schema; reads only.
pub(crate) fn check_not_newer(conn: &Connection, path: &str) -> Result<()> {
    let found = version(conn)?;
    if found > LATEST {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found,
            supported: LATEST,
        });
    }
    Ok(())
}

/// Brings the store to [`LATEST`].
pub(crate) fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    migrate_to(conn, path, LATEST)
}

/// Brings the store to `target` (≤ [`LATEST`]), one step per transaction.
/// Separate from [`migrate`] so tests can make a store of every earlier
/// version and migrate it from there.
pub(crate) fn migrate_to(conn: &mut Connection, path: &str, target: u32) -> Result<()> {
    check_not_newer(conn, path)?;
    let mut current = version(conn)?;
    while current < target.min(LATEST) {
        let step = MIGRATIONS[current as usize];
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(step)?;
        // PRAGMA does not take parameters; `current + 1` is our own number.
        tx.execute_batch(&format!("PRAGMA user_version = {}", current + 1))?;
        tx.commit()?;
        current += 1;
        tracing::debug!(version = current, "store schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema as SQLite reports it, for comparing stores.
    fn schema(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn a_store_of_every_earlier_version_migrates_to_the_latest_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, ":memory:").unwrap();
        let want = schema(&fresh);
        assert!(!want.is_empty());
        for earlier in 0..LATEST {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate_to(&mut conn, ":memory:", earlier).unwrap();
            assert_eq!(version(&conn).unwrap(), earlier);
            migrate(&mut conn, ":memory:").unwrap();
            assert_eq!(version(&conn).unwrap(), LATEST, "from version {earlier}");
            assert_eq!(
                schema(&conn),
                want,
                "schema migrated from version {earlier}"
            );
        }
    }

    #[test]
    fn a_v1_store_with_data_keeps_it_through_v2() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, ":memory:", 1).unwrap();
        conn.execute_batch(
            r#"UPDATE sync_position SET since = 's1', user_id = '@a:x' WHERE id = 1;
               INSERT INTO rooms (room_id, membership) VALUES ('!r:x', 'join');
               INSERT INTO room_state (room_id, event_type, state_key, event_id, event)
                   VALUES ('!r:x', 'm.room.create', '', '$c', '{"type":"m.room.create"}');
               INSERT INTO timeline (room_id, position, event_id, event)
                   VALUES ('!r:x', 0, '$c', '{"type":"m.room.create"}'),
                          ('!r:x', 1, '$m', '{"type":"m.room.message"}');
               INSERT INTO timeline_gaps (room_id, position, prev_batch) VALUES ('!r:x', 0, 'p0');"#,
        )
        .unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        let since: String = conn
            .query_row("SELECT since FROM sync_position", [], |r| r.get(0))
            .unwrap();
        assert_eq!(since, "s1");
        let events: Vec<String> = conn
            .prepare("SELECT event_id FROM timeline ORDER BY position")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(events, ["$c", "$m"]);
        let gaps: i64 = conn
            .query_row("SELECT COUNT(*) FROM timeline_gaps", [], |r| r.get(0))
            .unwrap();
        assert_eq!(gaps, 1);
        // The v2 tables are there and usable beside the old data.
        conn.execute_batch(
            "INSERT INTO relations (event_id, room_id, rel_type, target_id, sender, annotation_key)
                 VALUES ('$r', '!r:x', 'm.annotation', '$m', '@a:x', 'x');
             INSERT INTO receipts (room_id, user_id, receipt_type, event_id, ts)
                 VALUES ('!r:x', '@a:x', 'm.read', '$m', 5);
             INSERT INTO pending_redactions (target_id, room_id, redaction_id, redaction)
                 VALUES ('$z', '!r:x', '$red', '{}');",
        )
        .unwrap();
    }

    #[test]
    fn a_v2_store_with_data_keeps_it_through_v3() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, ":memory:", 2).unwrap();
        conn.execute_batch(
            r#"UPDATE sync_position SET since = 's2', user_id = '@a:x' WHERE id = 1;
               INSERT INTO rooms (room_id, membership) VALUES ('!r:x', 'join');
               INSERT INTO timeline (room_id, position, event_id, event)
                   VALUES ('!r:x', 0, '$m', '{"type":"m.room.message"}'),
                          ('!r:x', 1, '$r', '{"type":"m.reaction"}');
               INSERT INTO relations (event_id, room_id, rel_type, target_id, sender, annotation_key)
                   VALUES ('$r', '!r:x', 'm.annotation', '$m', '@b:x', 'x');
               INSERT INTO receipts (room_id, user_id, receipt_type, event_id, ts)
                   VALUES ('!r:x', '@b:x', 'm.read', '$m', 5);
               INSERT INTO pending_redactions (target_id, room_id, redaction_id, redaction)
                   VALUES ('$z', '!r:x', '$red', '{}');"#,
        )
        .unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM timeline"), 2);
        assert_eq!(
            count("SELECT COUNT(*) FROM relations WHERE target_id = '$m'"),
            1
        );
        assert_eq!(count("SELECT ts FROM receipts WHERE user_id = '@b:x'"), 5);
        assert_eq!(count("SELECT COUNT(*) FROM pending_redactions"), 1);
        // Events stored before v3 are not news: no live event, no delivery.
        assert_eq!(count("SELECT COUNT(*) FROM live_events"), 0);
        conn.execute_batch(
            "INSERT INTO live_events (room_id, timeline_rowid) VALUES ('!r:x', 1);
             INSERT INTO watch_cursors (watcher, room_id, seq) VALUES ('w', '!r:x', 1);",
        )
        .unwrap();
    }

    #[test]
    fn a_v3_store_with_data_keeps_it_through_v4() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, ":memory:", 3).unwrap();
        conn.execute_batch(
            r#"UPDATE sync_position SET since = 's3', user_id = '@a:x' WHERE id = 1;
               INSERT INTO rooms (room_id, membership) VALUES ('!r:x', 'join');
               INSERT INTO timeline (room_id, position, event_id, event)
                   VALUES ('!r:x', 0, '$m', '{"type":"m.room.message"}');
               INSERT INTO live_events (room_id, timeline_rowid) VALUES ('!r:x', 1);
               INSERT INTO watch_cursors (watcher, room_id, seq) VALUES ('w', '!r:x', 1);"#,
        )
        .unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM timeline"), 1);
        assert_eq!(count("SELECT COUNT(*) FROM live_events"), 1);
        assert_eq!(
            count("SELECT seq FROM watch_cursors WHERE watcher = 'w'"),
            1
        );
        assert_eq!(count("SELECT COUNT(*) FROM outbox"), 0);
        conn.execute_batch(
            "INSERT INTO outbox (room_id, txn_id, device_id, kind, event_type, content, state, queued_ts)
                 VALUES ('!r:x', 't1', 'D', 'message', 'm.room.message', '{}', 'queued', 1);",
        )
        .unwrap();
    }

    #[test]
    fn a_v4_store_with_data_keeps_it_through_v5() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, ":memory:", 4).unwrap();
        conn.execute_batch(
            r#"UPDATE sync_position SET since = 's4', user_id = '@a:x' WHERE id = 1;
               INSERT INTO rooms (room_id, membership) VALUES ('!r:x', 'join');
               INSERT INTO outbox (room_id, txn_id, device_id, kind, event_type, content, state, queued_ts)
                   VALUES ('!r:x', 't1', 'D', 'message', 'm.room.message', '{"body":"b"}', 'sending', 1);"#,
        )
        .unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT COUNT(*) FROM outbox WHERE state = 'sending'"),
            1
        );
        assert_eq!(count("SELECT COUNT(*) FROM rooms"), 1);
        // Updates before v5 were not recorded: nothing to hand over.
        assert_eq!(count("SELECT COUNT(*) FROM room_changes"), 0);
        conn.execute_batch(
            "INSERT INTO room_changes (room_id, before, after) VALUES ('!r:x', NULL, 'join');
             INSERT INTO room_watch_cursors (watcher, seq) VALUES ('w', 1);",
        )
        .unwrap();
    }

    #[test]
    fn a_v5_store_with_data_keeps_it_through_v6() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, ":memory:", 5).unwrap();
        conn.execute_batch(
            r#"INSERT INTO timeline (room_id, position, event_id, event) VALUES ('!r:x', 0, '$e', '{}');
               INSERT INTO live_events (room_id, timeline_rowid) VALUES ('!r:x', 1);
               INSERT INTO outbox (room_id, txn_id, device_id, kind, event_type, content, state, queued_ts)
                   VALUES ('!r:x', 't1', 'D', 'message', 'm.room.message', '{"body":"b"}', 'queued', 1);"#,
        )
        .unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        let text = |sql: &str| -> Option<String> { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        // A live event stored before v6 was new when stored.
        assert_eq!(
            text("SELECT change FROM live_events").as_deref(),
            Some("new")
        );
        // An entry queued before v6 has no ciphertext: it is encrypted
        // (if its room is) before its first attempt.
        assert_eq!(text("SELECT encrypted FROM outbox"), None);
        assert_eq!(text("SELECT event_id FROM timeline").as_deref(), Some("$e"));
    }

    #[test]
    fn a_v6_store_with_data_keeps_it_through_v7() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, ":memory:", 6).unwrap();
        conn.execute_batch(
            r#"INSERT INTO timeline (room_id, position, event_id, event) VALUES ('!r:x', 0, '$e', '{}');
               INSERT INTO encrypted_events (timeline_rowid, room_id, session_id, original)
                   VALUES (1, '!r:x', 'S', '{}');
               INSERT INTO outbox (room_id, txn_id, device_id, kind, event_type, content, attachment,
                                   state, queued_ts, encrypted)
                   VALUES ('!r:x', 't1', 'D', 'message', 'm.room.message', '{"body":"f"}',
                           '{"path":"/f","content_type":"text/plain","size":1,"content_uri":"mxc://x/y"}',
                           'sending', 1, '{"ciphertext":"c"}');"#,
        )
        .unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST);
        let text = |sql: &str| -> Option<String> { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        // An entry queued before v7 has no file key: a file bound for an
        // encrypted room is encrypted (with a fresh key) at its next try.
        assert_eq!(text("SELECT file_key FROM outbox"), None);
        assert_eq!(
            text("SELECT encrypted FROM outbox").as_deref(),
            Some(r#"{"ciphertext":"c"}"#)
        );
        assert!(text("SELECT attachment FROM outbox")
            .unwrap()
            .contains("mxc://x/y"));
        assert_eq!(
            text("SELECT session_id FROM encrypted_events").as_deref(),
            Some("S")
        );
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        let before = schema(&conn);
        migrate(&mut conn, ":memory:").unwrap();
        assert_eq!(schema(&conn), before);
    }

    #[test]
    fn a_newer_schema_is_refused_with_both_versions() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", LATEST + 1))
            .unwrap();
        match migrate(&mut conn, "x.sqlite3") {
            Err(Error::NewerSchema {
                found, supported, ..
            }) => {
                assert_eq!((found, supported), (LATEST + 1, LATEST));
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        assert!(schema(&conn).is_empty(), "nothing was created");
    }
}

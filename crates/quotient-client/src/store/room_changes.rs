//! Room updates kept in order (schema v5), for room watchers that go on
//! across restarts.

use rusqlite::{params, Connection};

use super::{Membership, Store};
use crate::error::Result;
use crate::sync::SyncChanges;
use crate::watch::RoomUpdate;

/// In a sync batch's transaction: one row per room the batch told about,
/// in room ID order (the order [`SyncChanges::rooms`] has).
pub(crate) fn record(tx: &Connection, changes: &SyncChanges) -> Result<()> {
    let mut insert =
        tx.prepare_cached("INSERT INTO room_changes (room_id, before, after) VALUES (?1, ?2, ?3)")?;
    for room in &changes.rooms {
        let (before, after) = match changes.memberships.get(room) {
            Some((before, after)) => (before.map(Membership::as_db), Some(after.as_db())),
            None => (None, None),
        };
        insert.execute(params![room.as_str(), before, after])?;
    }
    Ok(())
}

impl Store {
    /// Starts the durable room watcher `name` at the newest room update,
    /// unless it has started before (its cursor is kept). True when new.
    pub fn start_room_watcher(&mut self, name: &str) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO room_watch_cursors (watcher, seq)
             SELECT ?1, COALESCE(MAX(seq), 0) FROM room_changes",
            params![name],
        )?;
        Ok(n == 1)
    }

    /// Up to `limit` room updates after the watcher's cursor, in order,
    /// each with its place in that order.
    pub fn room_changes_after(&self, watcher: &str, limit: u32) -> Result<Vec<(i64, RoomUpdate)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, room_id, before, after FROM room_changes
             WHERE seq > COALESCE((SELECT seq FROM room_watch_cursors WHERE watcher = ?1), 0)
             ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![watcher, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, room_id, before, after) = row?;
            // Only room IDs that parsed were stored.
            let Ok(room_id) = quotient_api::RoomId::parse(room_id) else {
                continue;
            };
            out.push((
                seq,
                RoomUpdate {
                    room_id,
                    before: before.as_deref().and_then(Membership::from_db),
                    membership: after.as_deref().and_then(Membership::from_db),
                },
            ));
        }
        Ok(out)
    }

    /// Records that the watcher handled the room updates up to `seq` (a
    /// cursor never moves back).
    pub fn advance_room_watcher(&mut self, watcher: &str, seq: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO room_watch_cursors (watcher, seq) VALUES (?1, ?2)
             ON CONFLICT (watcher) DO UPDATE SET seq = MAX(seq, excluded.seq)",
            params![watcher, seq],
        )?;
        Ok(())
    }
}

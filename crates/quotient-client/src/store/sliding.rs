//! Where the sliding-sync connection stands (schema v8), apart from v3's
//! `since`: the two loops share the store, and a switch between them
//! keeps every watcher's place (events are stored once either way).

use rusqlite::{params, Connection, OptionalExtension};

use super::Store;
use crate::error::Result;

/// A sliding-sync connection's stored place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SlidingPosition {
    /// The `pos` of the last committed response; `None` starts a new
    /// connection.
    pub pos: Option<String>,
    /// The to-device extension's `next_batch`, its own `since`.
    pub to_device_since: Option<String>,
    /// How many rooms of the room list the window covered.
    pub window: u32,
}

impl Store {
    pub(crate) fn sliding_position(&self) -> Result<SlidingPosition> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT pos, to_device_since, window FROM sliding_position WHERE id = 1",
            )?
            .query_row([], |r| {
                Ok(SlidingPosition {
                    pos: r.get(0)?,
                    to_device_since: r.get(1)?,
                    window: r.get(2)?,
                })
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// Which of `rooms` the store has as joined.
    pub(crate) fn joined_among(&self, rooms: &[&str]) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM rooms WHERE room_id = ?1 AND membership = 'join'")?;
        let mut joined = std::collections::HashSet::new();
        for room in rooms {
            if stmt.exists(params![room])? {
                joined.insert((*room).to_owned());
            }
        }
        Ok(joined)
    }

    /// Forgets the connection (`M_UNKNOWN_POS`): the next request starts a
    /// new one. The to-device `since` is kept: it is the extension's own.
    pub(crate) fn forget_sliding_pos(&mut self) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE sliding_position SET pos = NULL WHERE id = 1")?
            .execute([])?;
        Ok(())
    }
}

/// Writes the position in the transaction that folds its response.
pub(crate) fn set(tx: &Connection, position: &SlidingPosition) -> Result<()> {
    tx.prepare_cached(
        "UPDATE sliding_position SET pos = ?1, to_device_since = ?2, window = ?3 WHERE id = 1",
    )?
    .execute(params![
        position.pos,
        position.to_device_since,
        position.window
    ])?;
    Ok(())
}

/// Records the rooms' `bump_stamp`s (the room list's order).
pub(crate) fn set_bump_stamps(tx: &Connection, stamps: &[(String, i64)]) -> Result<()> {
    let mut stmt = tx.prepare_cached("UPDATE rooms SET bump_stamp = ?2 WHERE room_id = ?1")?;
    for (room, stamp) in stamps {
        stmt.execute(params![room, stamp])?;
    }
    Ok(())
}

impl Store {
    /// Which of `event_ids` the store holds.
    pub(crate) fn held_events(
        &self,
        event_ids: &[&str],
    ) -> Result<std::collections::HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM timeline WHERE event_id = ?1")?;
        let mut held = std::collections::HashSet::new();
        for id in event_ids {
            if stmt.exists(params![id])? {
                held.insert((*id).to_owned());
            }
        }
        Ok(held)
    }
}

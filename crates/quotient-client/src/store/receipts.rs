//! Reading receipts: the latest per user, receipt type and thread.

use quotient_api::{EventId, RoomId, UserId};
use rusqlite::params;

use super::Store;
use crate::error::Result;

/// A user's latest receipt of one type (and thread) in a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Who sent it.
    pub user_id: UserId,
    /// `m.read`, `m.read.private`, …
    pub receipt_type: String,
    /// The thread it is for (`main`, a thread root), `None` when unthreaded.
    pub thread_id: Option<String>,
    /// The event it marks.
    pub event_id: EventId,
    /// When, in milliseconds since the epoch, if the server said.
    pub ts: Option<i64>,
}

impl Store {
    /// The latest receipts in a room, by user, type and thread.
    pub fn receipts(&self, room_id: &RoomId) -> Result<Vec<Receipt>> {
        let room_id = room_id.as_str();
        let mut stmt = self.conn.prepare(
            "SELECT user_id, receipt_type, thread_id, event_id, ts FROM receipts
             WHERE room_id = ?1 ORDER BY user_id, receipt_type, thread_id",
        )?;
        let rows = stmt.query_map(params![room_id], |r| {
            let thread: String = r.get(2)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                (!thread.is_empty()).then_some(thread),
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (user, receipt_type, thread_id, event, ts) = row?;
            // Receipts whose IDs do not parse are none a program can act on.
            let (Ok(user_id), Ok(event_id)) = (UserId::parse(user), EventId::parse(event)) else {
                continue;
            };
            out.push(Receipt {
                user_id,
                receipt_type,
                thread_id,
                event_id,
                ts,
            });
        }
        Ok(out)
    }
}

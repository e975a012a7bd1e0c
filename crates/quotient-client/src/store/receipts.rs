//! Reading receipts: the latest per user, receipt type and thread.

use quotient_api::RoomId;
use rusqlite::params;

use super::Store;
use crate::error::Result;

/// A user's latest receipt of one type (and thread) in a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Who sent it.
    pub user_id: String,
    /// `m.read`, `m.read.private`, …
    pub receipt_type: String,
    /// The thread it is for (`main`, a thread root), `None` when unthreaded.
    pub thread_id: Option<String>,
    /// The event it marks.
    pub event_id: String,
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
            Ok(Receipt {
                user_id: r.get(0)?,
                receipt_type: r.get(1)?,
                thread_id: (!thread.is_empty()).then_some(thread),
                event_id: r.get(3)?,
                ts: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

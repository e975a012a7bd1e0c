//! Storing one timeline event, whoever brings it (a `/sync` batch or a
//! `/messages` page): the row itself, then what it means for the rest of
//! the store, all inside the caller's transaction.
//!
//! - An event already stored (same `event_id`) is not stored again and
//!   changes nothing else.
//! - A redaction that arrived before this event (remembered in
//!   `pending_redactions`) is applied to it at once: it is stored
//!   stripped, and its relation is not recorded.
//! - An `m.room.redaction` strips its stored target (see
//!   [`redactions`](super::redactions)), or is remembered until the target
//!   arrives.
//! - A relation (`content.m.relates_to`) is recorded (see
//!   [`relations`](super::relations)).

use rusqlite::{params, Connection};
use serde_json::Value;

use super::{redactions, relations};
use crate::error::Result;

/// Stores `event` at `position` in `room` unless its ID is already
/// stored; true when it was new. A `malformed` event is kept as it came:
/// a waiting redaction still strips it, but it is neither applied as a
/// redaction nor recorded as a relation (its shape is not trusted).
pub(crate) fn store_event(
    tx: &Connection,
    room: &str,
    position: i64,
    event_id: Option<&str>,
    malformed: bool,
    event: &Value,
) -> Result<bool> {
    let text = event.to_string();
    let n = tx
        .prepare_cached(
            "INSERT INTO timeline (room_id, position, event_id, malformed, event)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (event_id) DO NOTHING",
        )?
        .execute(params![room, position, event_id, malformed, text])?;
    if n == 0 {
        return Ok(false);
    }
    let Some(event_id) = event_id else {
        return Ok(true);
    };
    if redactions::apply_pending(tx, room, event_id)? || malformed {
        return Ok(true);
    }
    if event.get("type").and_then(Value::as_str) == Some("m.room.redaction") {
        redactions::redact(tx, room, event)?;
    }
    relations::record(tx, room, event_id, event)?;
    Ok(true)
}

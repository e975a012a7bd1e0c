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

/// The type of an encrypted room event.
pub(crate) const ENCRYPTED: &str = "m.room.encrypted";

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
    let kind = event.get("type").and_then(Value::as_str);
    let shape = Shape {
        redaction: kind == Some("m.room.redaction"),
        relation: event
            .get("content")
            .is_some_and(|c| c.get("m.relates_to").is_some()),
    };
    let text = event.to_string();
    let parsed = || Ok(event.clone());
    Ok(store_text(
        tx, room, position, event_id, malformed, &text, shape, parsed,
    )?
    .is_some())
}

/// [`store_event`] for an event that may be encrypted: an
/// `m.room.encrypted` event is stored as `decryptions` says (decrypted
/// when shown) and gets its bookkeeping row.
pub(crate) fn store_maybe_encrypted(
    tx: &Connection,
    room: &str,
    position: i64,
    event_id: Option<&str>,
    malformed: bool,
    event: &Value,
    decryptions: &super::decryptions::Decryptions,
) -> Result<bool> {
    let encrypted = !malformed && event.get("type").and_then(Value::as_str) == Some(ENCRYPTED);
    if !encrypted {
        return store_event(tx, room, position, event_id, malformed, event);
    }
    let original = event.to_string();
    let decryption = event_id.and_then(|id| decryptions.get(id));
    let shown = decryption.map_or(original.as_str(), |d| d.shown(&original));
    let shown_event: Value = serde_json::from_str(shown)?;
    let shape = Shape {
        redaction: false,
        relation: shown_event
            .get("content")
            .is_some_and(|c| c.get("m.relates_to").is_some()),
    };
    let parsed = || Ok(shown_event.clone());
    let Some(stored) = store_text(tx, room, position, event_id, false, shown, shape, parsed)?
    else {
        return Ok(false);
    };
    super::decryptions::record(tx, stored.rowid, room, &original, decryption)?;
    Ok(true)
}

/// What the caller knows of an event's meaning, so its JSON is parsed
/// into a tree only when it has to be read (a redaction, a relation).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// It is an `m.room.redaction`.
    pub redaction: bool,
    /// Its content has `m.relates_to`.
    pub relation: bool,
}

/// How a new event was stored: its row, and whether a waiting redaction
/// stripped it (then the stored text is not the text given).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stored {
    /// The timeline row's `rowid`.
    pub rowid: i64,
    /// A redaction that came first stripped it.
    pub stripped: bool,
}

/// [`store_event`] from the event's JSON `text`, stored as it is; `parse`
/// gives its tree when `shape` says it is needed. `None` if the ID is
/// already stored.
#[allow(clippy::too_many_arguments)]
pub(crate) fn store_text(
    tx: &Connection,
    room: &str,
    position: i64,
    event_id: Option<&str>,
    malformed: bool,
    text: &str,
    shape: Shape,
    parse: impl FnOnce() -> Result<Value>,
) -> Result<Option<Stored>> {
    let n = tx
        .prepare_cached(
            "INSERT INTO timeline (room_id, position, event_id, malformed, event)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (event_id) DO NOTHING",
        )?
        .execute(params![room, position, event_id, malformed, text])?;
    if n == 0 {
        return Ok(None);
    }
    let mut stored = Stored {
        rowid: tx.last_insert_rowid(),
        stripped: false,
    };
    let Some(event_id) = event_id else {
        return Ok(Some(stored));
    };
    stored.stripped = redactions::apply_pending(tx, room, event_id)?;
    if stored.stripped || malformed || !(shape.redaction || shape.relation) {
        return Ok(Some(stored));
    }
    let event = parse()?;
    if shape.redaction {
        redactions::redact(tx, room, &event)?;
    }
    relations::record(tx, room, event_id, &event)?;
    Ok(Some(stored))
}

//! Applying redactions to stored events.
//!
//! A redaction strips its target as the room's version says
//! ([`events::apply_redaction`](crate::events::apply_redaction)), with the
//! version from the stored `m.room.create` (`"1"` when there is none, as
//! the spec says of a create event without `room_version`). The stripped
//! copy replaces the stored one in the timeline, and in the current state
//! if it is a current state event; the target's own relation is dropped
//! (a redacted reaction no longer counts). A redaction whose target is
//! not stored is remembered and applied when the target arrives.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::Result;
use crate::events::apply_redaction;

/// The event a redaction redacts: top-level `redacts` (room versions
/// 1–10) or `content.redacts` (11 on). Either is accepted whatever the
/// version, as servers send both for compatibility.
pub(crate) fn target_of(redaction: &Value) -> Option<&str> {
    redaction
        .get("redacts")
        .and_then(Value::as_str)
        .or_else(|| redaction.get("content")?.get("redacts")?.as_str())
}

/// The room's version from its stored `m.room.create`; `"1"` when absent.
pub(crate) fn room_version(tx: &Connection, room: &str) -> Result<String> {
    let create: Option<String> = tx
        .prepare_cached(
            "SELECT event FROM room_state
             WHERE room_id = ?1 AND event_type = 'm.room.create' AND state_key = ''",
        )?
        .query_row(params![room], |r| r.get(0))
        .optional()?;
    let version = create
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|e| {
            e.get("content")?
                .get("room_version")?
                .as_str()
                .map(str::to_owned)
        });
    Ok(version.unwrap_or_else(|| "1".to_owned()))
}

/// Applies the redaction event `redaction` in `room`: strips the stored
/// target, or remembers the redaction until the target is stored.
pub(crate) fn redact(tx: &Connection, room: &str, redaction: &Value) -> Result<()> {
    let Some(target) = target_of(redaction) else {
        tracing::debug!(room, "a redaction without a target; nothing to strip");
        return Ok(());
    };
    if !strip(tx, room, target, redaction)? {
        let Some(redaction_id) = redaction.get("event_id").and_then(Value::as_str) else {
            return Ok(());
        };
        tx.prepare_cached(
            "INSERT OR IGNORE INTO pending_redactions (target_id, room_id, redaction_id, redaction)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![target, room, redaction_id, redaction.to_string()])?;
    }
    Ok(())
}

/// Applies a redaction that was waiting for `event_id`, just stored;
/// true if there was one.
pub(crate) fn apply_pending(tx: &Connection, room: &str, event_id: &str) -> Result<bool> {
    let pending: Option<String> = tx
        .prepare_cached(
            "SELECT redaction FROM pending_redactions WHERE target_id = ?1 AND room_id = ?2
             ORDER BY redaction_id LIMIT 1",
        )?
        .query_row(params![event_id, room], |r| r.get(0))
        .optional()?;
    let Some(text) = pending else {
        return Ok(false);
    };
    let redaction: Value = serde_json::from_str(&text)?;
    strip(tx, room, event_id, &redaction)?;
    tx.prepare_cached("DELETE FROM pending_redactions WHERE target_id = ?1 AND room_id = ?2")?
        .execute(params![event_id, room])?;
    Ok(true)
}

/// Strips the stored `target` of `room`; false if it is not stored there.
fn strip(tx: &Connection, room: &str, target: &str, redaction: &Value) -> Result<bool> {
    let stored: Option<String> = tx
        .prepare_cached("SELECT event FROM timeline WHERE event_id = ?1 AND room_id = ?2")?
        .query_row(params![target, room], |r| r.get(0))
        .optional()?;
    let Some(text) = stored else {
        return Ok(false);
    };
    let version = room_version(tx, room)?;
    // A stored event that is not JSON cannot happen (we wrote it); were it
    // to, it is replaced by what is left of nothing.
    let event: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let stripped = apply_redaction(&event, &version, redaction).to_string();
    tx.prepare_cached("UPDATE timeline SET event = ?3 WHERE event_id = ?1 AND room_id = ?2")?
        .execute(params![target, room, stripped])?;
    tx.prepare_cached("UPDATE room_state SET event = ?3 WHERE event_id = ?1 AND room_id = ?2")?
        .execute(params![target, room, stripped])?;
    tx.prepare_cached("DELETE FROM relations WHERE event_id = ?1")?
        .execute(params![target])?;
    // A redacted encrypted event keeps neither its ciphertext nor its
    // decrypted form: nothing may bring the content back.
    tx.prepare_cached(
        "DELETE FROM encrypted_events WHERE timeline_rowid IN
             (SELECT rowid FROM timeline WHERE event_id = ?1 AND room_id = ?2)",
    )?
    .execute(params![target, room])?;
    Ok(true)
}

//! Recording relations (`content.m.relates_to`) of stored events, so an
//! event's edits, reactions and thread replies can be read with it.
//!
//! The relation is parsed by [`Relation::from_content`]; one that does not
//! fit (an annotation without a key, …) is not recorded and does not fail
//! anything. Replies (`m.in_reply_to` without a `rel_type`) are not
//! relations in this sense and are not recorded.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::error::Result;
use crate::events::Relation;

/// Records the relation of the stored event `event_id`, if it has one.
pub(crate) fn record(tx: &Connection, room: &str, event_id: &str, event: &Value) -> Result<()> {
    let Some(content) = event.get("content") else {
        return Ok(());
    };
    let event_type = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let relation = match Relation::from_content(content, event_type) {
        None => return Ok(()),
        Some(Ok(relation)) => relation,
        Some(Err(e)) => {
            tracing::debug!(room, reason = %e, "a relation that does not fit; not recorded");
            return Ok(());
        }
    };
    let (rel_type, target, key) = match &relation {
        Relation::Replace { event_id, .. } => ("m.replace", event_id.as_str(), None),
        Relation::Annotation { event_id, key } => {
            ("m.annotation", event_id.as_str(), Some(key.as_str()))
        }
        Relation::Reference { event_id } => ("m.reference", event_id.as_str(), None),
        Relation::Thread { event_id, .. } => ("m.thread", event_id.as_str(), None),
        Relation::Other {
            rel_type: Some(rel_type),
            event_id: Some(event_id),
        } => (rel_type.as_str(), event_id.as_str(), None),
        Relation::Reply { .. } | Relation::Other { .. } => return Ok(()),
    };
    let sender = event
        .get("sender")
        .and_then(Value::as_str)
        .unwrap_or_default();
    tx.prepare_cached("INSERT OR IGNORE INTO relations (event_id, room_id, rel_type, target_id, sender, annotation_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(params![event_id, room, rel_type, target, sender, key],
    )?;
    Ok(())
}

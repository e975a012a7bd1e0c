//! A joined room's ephemeral events: `m.receipt` is stored (the latest
//! receipt per user, receipt type and thread); `m.typing` is transient and
//! only reported in the batch's [`SyncChanges`](super::SyncChanges).
//! Anything that does not fit is skipped with a debug line (ephemeral
//! data is replaced by the next batch anyway) and never fails the batch.

use quotient_api::generated::definitions::EventBatch;
use rusqlite::{params, Connection};
use serde_json::Value;

use crate::error::Result;

/// Stores the receipts of `batch`; returns the users typing if the batch
/// had an `m.typing` event (an empty list: nobody types any more).
pub(crate) fn apply(
    tx: &Connection,
    room: &str,
    batch: Option<&EventBatch>,
) -> Result<Option<Vec<String>>> {
    let mut typing = None;
    for event in batch.and_then(|b| b.events.as_ref()).into_iter().flatten() {
        let content = event.get("content").and_then(Value::as_object);
        match (event.get("type").and_then(Value::as_str), content) {
            (Some("m.receipt"), Some(content)) => {
                for (event_id, by_type) in content {
                    receipts(tx, room, event_id, by_type)?;
                }
            }
            (Some("m.typing"), Some(content)) => {
                let users = content.get("user_ids").and_then(Value::as_array);
                typing = Some(
                    users
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                );
            }
            _ => tracing::debug!(room, "an ephemeral event skipped"),
        }
    }
    Ok(typing)
}

/// `{"m.read": {"@u:x": {"ts": 1, "thread_id": "main"}}, …}` for one event.
fn receipts(tx: &Connection, room: &str, event_id: &str, by_type: &Value) -> Result<()> {
    for (receipt_type, by_user) in by_type.as_object().into_iter().flatten() {
        for (user, receipt) in by_user.as_object().into_iter().flatten() {
            let ts = receipt.get("ts").and_then(Value::as_i64);
            let thread = receipt
                .get("thread_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            tx.prepare_cached(
                "INSERT INTO receipts (room_id, user_id, receipt_type, thread_id, event_id, ts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (room_id, user_id, receipt_type, thread_id)
                 DO UPDATE SET event_id = excluded.event_id, ts = excluded.ts",
            )?
            .execute(params![room, user, receipt_type, thread, event_id, ts])?;
        }
    }
    Ok(())
}

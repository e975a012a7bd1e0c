//! The outbox table (schema v4): events queued to send, their
//! transaction IDs and states. See [`crate::outbox`] for the guarantees.

use quotient_api::RoomId;
use rusqlite::{params, Connection, Row};
use serde_json::Value;

use super::{Store, StoredEvent};
use crate::error::{Error, Result};
use crate::outbox::{Attachment, OutboxEntry, OutboxState, OutgoingEvent};

const COLUMNS: &str = "id, room_id, txn_id, device_id, kind, event_type, state_key, redacts,
                       content, attachment, state, event_id, error, queued_ts";

/// A room's timeline as a client shows it: stored events, then the
/// local echoes of what is being sent.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineItem {
    /// An event the server sent (by `/sync` or back-pagination).
    Event(StoredEvent),
    /// A local echo: queued or being sent, or sent but not synced back
    /// yet, or failed. It disappears once the synced event is stored.
    Pending(Box<OutboxEntry>),
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A fresh transaction ID: the time and 64 random bits, so two stores
/// of one device (or a store restored from a backup) do not collide.
fn fresh_txn_id() -> String {
    format!("qt{:x}.{:016x}", now_ms(), fastrand::u64(..))
}

fn entry(row: &Row<'_>) -> rusqlite::Result<(OutboxEntryRow, i64)> {
    Ok((
        OutboxEntryRow {
            id: row.get(0)?,
            room_id: row.get(1)?,
            txn_id: row.get(2)?,
            device_id: row.get(3)?,
            kind: row.get(4)?,
            event_type: row.get(5)?,
            state_key: row.get(6)?,
            redacts: row.get(7)?,
            content: row.get(8)?,
            attachment: row.get(9)?,
            state: row.get(10)?,
            event_id: row.get(11)?,
            error: row.get(12)?,
        },
        row.get(13)?,
    ))
}

struct OutboxEntryRow {
    id: i64,
    room_id: String,
    txn_id: String,
    device_id: String,
    kind: String,
    event_type: String,
    state_key: Option<String>,
    redacts: Option<String>,
    content: String,
    attachment: Option<String>,
    state: String,
    event_id: Option<String>,
    error: Option<String>,
}

fn decode((row, queued_ts): (OutboxEntryRow, i64)) -> Result<OutboxEntry> {
    let content = match serde_json::from_str::<Value>(&row.content)? {
        Value::Object(map) => map,
        _ => return Err(not_an_object()),
    };
    let event = match row.kind.as_str() {
        "state" => OutgoingEvent::State {
            event_type: row.event_type,
            state_key: row.state_key.unwrap_or_default(),
            content,
        },
        "redaction" => OutgoingEvent::Redaction {
            // Queued through an EventId.
            redacts: quotient_api::EventId::parse(row.redacts.unwrap_or_default())?,
            reason: content
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        _ => OutgoingEvent::Message {
            event_type: row.event_type,
            content,
        },
    };
    let state = match (row.state.as_str(), row.event_id) {
        // Sent with no ID known (a redaction answered without one) is
        // still sent; the synced event fills the ID in.
        ("sent", event_id) => OutboxState::Sent {
            event_id: event_id.and_then(|id| quotient_api::EventId::parse(id).ok()),
        },
        ("failed", _) => OutboxState::Failed {
            error: row.error.unwrap_or_default(),
        },
        ("sending", _) => OutboxState::Sending,
        _ => OutboxState::Queued,
    };
    Ok(OutboxEntry {
        id: row.id,
        // Queued through a RoomId.
        room_id: quotient_api::RoomId::parse(row.room_id)?,
        txn_id: row.txn_id,
        device_id: row.device_id,
        event,
        attachment: row
            .attachment
            .as_deref()
            .map(serde_json::from_str)
            .transpose()?,
        state,
        queued_ts,
    })
}

/// The content column holds what [`Store::enqueue`] wrote: an object.
fn not_an_object() -> Error {
    Error::Json(serde::de::Error::custom(
        "an outbox entry's content is not a JSON object",
    ))
}

fn query(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM outbox {filter}"))?;
    let rows = stmt.query_map(args, entry)?;
    rows.map(|r| decode(r?)).collect()
}

impl Store {
    /// Queues `event` for `room_id` under `device_id` with a fresh
    /// transaction ID, committed before this returns: from here on a
    /// crash cannot lose it.
    pub(crate) fn enqueue(
        &mut self,
        room_id: &str,
        device_id: &str,
        event: &OutgoingEvent,
        attachment: Option<&Attachment>,
    ) -> Result<OutboxEntry> {
        self.enqueue_as(None, room_id, device_id, event, attachment)
    }

    /// Queues `event` under the transaction ID made from `key` unless an
    /// entry has it already; then that entry is returned and nothing is
    /// queued (see [`Client::send_keyed`](crate::Client::send_keyed)).
    pub(crate) fn enqueue_keyed(
        &mut self,
        key: &str,
        room_id: &str,
        device_id: &str,
        event: &OutgoingEvent,
    ) -> Result<OutboxEntry> {
        let entry = self.enqueue_as(Some(key), room_id, device_id, event, None)?;
        if entry.room_id.as_str() != room_id {
            return Err(Error::KeyTaken {
                key: key.to_owned(),
                room_id: entry.room_id,
            });
        }
        Ok(entry)
    }

    fn enqueue_as(
        &mut self,
        key: Option<&str>,
        room_id: &str,
        device_id: &str,
        event: &OutgoingEvent,
        attachment: Option<&Attachment>,
    ) -> Result<OutboxEntry> {
        let (kind, state_key, redacts) = match event {
            OutgoingEvent::Message { .. } => ("message", None, None),
            OutgoingEvent::State { state_key, .. } => ("state", Some(state_key.as_str()), None),
            OutgoingEvent::Redaction { redacts, .. } => ("redaction", None, Some(redacts.as_str())),
        };
        let content = Value::Object(event.content()).to_string();
        let attachment = attachment.map(serde_json::to_string).transpose()?;
        loop {
            let txn_id = key.map_or_else(fresh_txn_id, |k| format!("qk.{k}"));
            let n = self
                .conn
                .prepare_cached(
                    "INSERT INTO outbox (room_id, txn_id, device_id, kind, event_type, state_key,
                                     redacts, content, attachment, state, queued_ts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10)
                 ON CONFLICT (txn_id) DO NOTHING",
                )?
                .execute(params![
                    room_id,
                    txn_id,
                    device_id,
                    kind,
                    event.event_type(),
                    state_key,
                    redacts,
                    content,
                    attachment,
                    now_ms()
                ])?;
            // A keyed entry that exists is the answer; a collision of 64
            // random bits in the same millisecond: draw again.
            if n == 1 || key.is_some() {
                return self
                    .outbox_entry(&txn_id)?
                    .ok_or_else(|| Error::TaskLost("a queued entry vanished".into()));
            }
        }
    }

    /// The entry with transaction ID `txn_id`, if the outbox has it.
    pub fn outbox_entry(&self, txn_id: &str) -> Result<Option<OutboxEntry>> {
        Ok(query(&self.conn, "WHERE txn_id = ?1", params![txn_id])?.pop())
    }

    /// The outbox, in the order queued: every room's, or one room's.
    pub fn outbox(&self, room_id: Option<&RoomId>) -> Result<Vec<OutboxEntry>> {
        let room_id = room_id.map(RoomId::as_str);
        match room_id {
            Some(room) => query(&self.conn, "WHERE room_id = ?1 ORDER BY id", params![room]),
            None => query(&self.conn, "ORDER BY id", []),
        }
    }

    /// The room's first entry still to send (queued or sending): the one
    /// that goes next, so later ones never overtake it.
    pub(crate) fn next_unsent(&self, room_id: &str) -> Result<Option<OutboxEntry>> {
        Ok(query(
            &self.conn,
            "WHERE room_id = ?1 AND state IN ('queued', 'sending') ORDER BY id LIMIT 1",
            params![room_id],
        )?
        .pop())
    }

    /// Rooms with entries still to send.
    pub(crate) fn rooms_with_unsent(&self) -> Result<Vec<quotient_api::RoomId>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT room_id FROM outbox WHERE state IN ('queued', 'sending') ORDER BY room_id",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut rooms = Vec::new();
        for room in rows {
            // Queued through a RoomId.
            if let Ok(room) = quotient_api::RoomId::parse(room?) {
                rooms.push(room);
            }
        }
        Ok(rooms)
    }

    /// Records a new state of `txn_id`. A sent entry stays sent: the sync
    /// may have matched it before the send's own answer came.
    pub(crate) fn set_outbox_state(&mut self, txn_id: &str, state: &OutboxState) -> Result<()> {
        let (event_id, error) = match state {
            OutboxState::Sent { event_id } => (event_id.as_ref().map(|id| id.as_str()), None),
            OutboxState::Failed { error } => (None, Some(error.as_str())),
            _ => (None, None),
        };
        self.conn
            .prepare_cached(
                "UPDATE outbox SET state = ?2, event_id = COALESCE(NULLIF(?3, ''), event_id), error = ?4,
                 sent_ts = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_ts END
             WHERE txn_id = ?1 AND state != 'sent'",
            )?
            .execute(params![txn_id, state.as_db(), event_id, error, now_ms()])?;
        Ok(())
    }

    /// Queued → sending, only if the entry is still queued: false when it
    /// was cancelled (or changed) in between, and then it is not sent.
    pub(crate) fn start_sending(&mut self, txn_id: &str) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE outbox SET state = 'sending' WHERE txn_id = ?1 AND state = 'queued'",
            params![txn_id],
        )?;
        Ok(n == 1)
    }

    /// Records the uploaded URI of an entry's attachment: it is never
    /// uploaded again.
    pub(crate) fn set_attachment(&mut self, txn_id: &str, attachment: &Attachment) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE outbox SET attachment = ?2 WHERE txn_id = ?1")?
            .execute(params![txn_id, serde_json::to_string(attachment)?])?;
        Ok(())
    }

    /// Puts a failed entry back in the queue (at its old place: it goes
    /// before later entries of its room that are still unsent). False
    /// when there is no failed entry `txn_id`.
    pub(crate) fn requeue(&mut self, txn_id: &str) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET state = 'queued', error = NULL
             WHERE txn_id = ?1 AND state = 'failed'",
            )?
            .execute(params![txn_id])?;
        Ok(n == 1)
    }

    /// Removes a queued or failed entry. An entry that may be on the wire
    /// (sending) or is sent cannot be taken back:
    /// [`Error::CannotCancel`] says which.
    pub(crate) fn cancel(&mut self, txn_id: &str) -> Result<()> {
        let Some(entry) = self.outbox_entry(txn_id)? else {
            return Err(Error::NoSuchSend(txn_id.to_owned()));
        };
        if matches!(
            entry.state,
            OutboxState::Queued | OutboxState::Failed { .. }
        ) {
            let n = self
                .conn
                .prepare_cached(
                    "DELETE FROM outbox WHERE txn_id = ?1 AND state IN ('queued', 'failed')",
                )?
                .execute(params![txn_id])?;
            if n == 1 {
                return Ok(());
            }
        }
        let state = self.outbox_entry(txn_id)?.map(|e| e.state);
        Err(Error::CannotCancel {
            txn_id: txn_id.to_owned(),
            state: state.map_or("gone", |s| s.as_db()),
        })
    }

    /// The room's local echoes: entries not yet in the timeline (unsent,
    /// failed, or sent but not synced back), in the order queued.
    pub fn local_echoes(&self, room_id: &RoomId) -> Result<Vec<OutboxEntry>> {
        let room_id = room_id.as_str();
        query(
            &self.conn,
            "WHERE room_id = ?1 AND (event_id IS NULL
                 OR NOT EXISTS (SELECT 1 FROM timeline t WHERE t.event_id = outbox.event_id))
             ORDER BY id",
            params![room_id],
        )
    }

    /// The newest `limit` stored events of the room, oldest first, then
    /// its local echoes: what a client shows.
    pub fn timeline_items(&self, room_id: &RoomId, limit: usize) -> Result<Vec<TimelineItem>> {
        let mut items: Vec<TimelineItem> = self
            .timeline(room_id, limit)?
            .into_iter()
            .map(TimelineItem::Event)
            .collect();
        items.extend(
            self.local_echoes(room_id)?
                .into_iter()
                .map(|e| TimelineItem::Pending(Box::new(e))),
        );
        Ok(items)
    }
}

/// How long a sent entry is kept after its event was synced back, for
/// whoever still waits on it; then it is removed with the batch.
const KEEP_SENT_MS: i64 = 60 * 60 * 1000;

/// In a sync batch's transaction: `event` (just stored in `room`) is the
/// server's copy of one of our entries when its `unsigned.transaction_id`
/// names it (the server adds that only for the sending device). The entry
/// becomes sent with the event's ID, even if the send's own answer was
/// lost; its local echo is gone from [`Store::timeline_items`] since the
/// event is stored. Entries sent and synced over an hour ago are removed.
pub(crate) fn match_synced(
    tx: &Connection,
    room: &str,
    event: &Value,
) -> Result<Option<(String, String)>> {
    let txn = event
        .get("unsigned")
        .and_then(|u| u.get("transaction_id"))
        .and_then(Value::as_str);
    let id = event.get("event_id").and_then(Value::as_str);
    let (Some(txn), Some(id)) = (txn, id) else {
        return Ok(None);
    };
    Ok(match_synced_ids(tx, room, txn, id)?.then(|| (txn.to_owned(), id.to_owned())))
}

/// [`match_synced`] for an event already decoded: its transaction ID and
/// event ID. True when it marked an entry sent.
pub(crate) fn match_synced_ids(tx: &Connection, room: &str, txn: &str, id: &str) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE outbox SET state = 'sent', event_id = ?3, error = NULL,
                 sent_ts = COALESCE(sent_ts, ?4)
             WHERE room_id = ?1 AND txn_id = ?2
                 AND (state != 'sent' OR event_id IS NULL OR event_id = '')",
        )?
        .execute(params![room, txn, id, now_ms()])?;
    Ok(n == 1)
}

/// Removes entries sent more than [`KEEP_SENT_MS`] ago whose event is
/// stored (or whose ID never came: nothing will ever match them).
pub(crate) fn prune_delivered(tx: &Connection) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM outbox WHERE state = 'sent' AND sent_ts < ?1
             AND (event_id IS NULL OR event_id = ''
                  OR EXISTS (SELECT 1 FROM timeline t WHERE t.event_id = outbox.event_id))",
    )?
    .execute(params![now_ms() - KEEP_SENT_MS])?;
    Ok(())
}

impl Store {
    /// Moves a queued entry (never on the wire) to the current device.
    pub(crate) fn adopt_device(&mut self, txn_id: &str, device_id: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET device_id = ?2 WHERE txn_id = ?1 AND state = 'queued'",
            )?
            .execute(params![txn_id, device_id])?;
        Ok(())
    }
}

//! Folding one `/sync` batch into the store: one writer, one transaction.
//!
//! As in hydrogen-web's `SyncWriter`, everything a batch changes —
//! memberships, summaries, state, timelines, gaps, account data, the
//! malformed items, and its `next_batch` — is written in one SQLite
//! transaction. A crash before the commit leaves the store at the previous
//! batch, whose `since` fetches this batch again; a crash after leaves it
//! at this batch. Nothing is ever half-applied, skipped or applied twice,
//! and an event that does come again (a server resending) is stored once
//! (`event_id` is unique).

use std::collections::{BTreeMap, BTreeSet};

use quotient_api::generated::definitions::EventBatch;
use quotient_api::generated::sync::{RoomSummary, SyncResponse, UnreadNotificationCounts};
use quotient_api::{EventId, RoomId, UserId};
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::value::RawValue;
use serde_json::Value;

use super::decryptions::{self, Decryptions};
use super::event_head::EventHead;
use super::stream;
use super::timeline_events::{store_text, Shape};
use crate::error::Result;
use crate::store::{outbox, position, room_changes, Membership, Store};

/// What a committed batch changed: told to watchers after the commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncChanges {
    /// The batch's `next_batch`, now the stored `since`.
    pub next_batch: String,
    /// Rooms the batch mentioned (membership, state, timeline, counts).
    pub rooms: BTreeSet<RoomId>,
    /// Timeline events stored for the first time.
    pub new_timeline_events: u64,
    /// Items that did not fit their type, kept raw and counted.
    pub malformed: u64,
    /// The rooms whose membership (ours) the batch changed or first
    /// told: (before, after); before is `None` for a room new to the store.
    pub memberships: BTreeMap<RoomId, (Option<Membership>, Membership)>,
    /// Who is typing, per joined room whose batch had an `m.typing` event
    /// (an empty list: nobody any more). Not stored: it is transient.
    pub typing: BTreeMap<RoomId, Vec<UserId>>,
    /// Outbox entries the batch showed sent (their event came back with
    /// our transaction ID) before their own answer was stored: (room,
    /// transaction ID, event ID); the outbox tells of them too
    /// ([`Client::outbox_changes`](crate::Client::outbox_changes)).
    pub outbox_sent: Vec<(RoomId, String, EventId)>,
}

/// Applies `batch` to `store` in one transaction, `next_batch` included
/// (as [`apply_sync_body`] on its JSON).
pub fn apply_batch(store: &mut Store, batch: &SyncResponse) -> Result<SyncChanges> {
    apply_sync_body(store, &serde_json::to_vec(batch)?)
}

/// Applies the `/sync` answer `body` (its JSON, as it came) to `store` in
/// one transaction, `next_batch` included.
///
/// The body is read room by room: each joined room is decoded and
/// written before the next is read, so the batch is never held decoded
/// whole, and each event is stored as its own JSON text from the body.
/// A body that is not a `/sync` answer (not JSON, no `next_batch`) is
/// [`Error::Json`](crate::Error::Json) and changes nothing.
pub fn apply_sync_body(store: &mut Store, body: &[u8]) -> Result<SyncChanges> {
    apply_decrypted_body(store, body, &Decryptions::new())
}

/// [`apply_sync_body`] with what the crypto machine made of the batch's
/// encrypted events: each is stored decrypted (or as undecryptable, with
/// the reason) in the batch's transaction.
pub(crate) fn apply_decrypted_body(
    store: &mut Store,
    body: &[u8],
    decryptions: &Decryptions,
) -> Result<SyncChanges> {
    apply_at(store, body, decryptions, |tx, next_batch| {
        position::set_since(tx, next_batch)
    })
}

/// [`apply_decrypted_body`], the position written by `place` (given the
/// body's `next_batch`) in the same transaction: v3's `since`, or a
/// sliding-sync response's `pos` and what goes with it.
pub(crate) fn apply_at(
    store: &mut Store,
    body: &[u8],
    decryptions: &Decryptions,
    place: impl FnOnce(&Transaction<'_>, &str) -> Result<()>,
) -> Result<SyncChanges> {
    let tx = store.write_transaction()?;
    let mut w = Writer {
        tx: &tx,
        changes: SyncChanges::default(),
        decryptions,
    };
    let next_batch = stream::fold(&mut w, body)?;
    room_changes::record(&tx, &w.changes)?;
    outbox::prune_delivered(&tx)?;
    place(&tx, &next_batch)?;
    let mut changes = w.changes;
    changes.next_batch = next_batch;
    pause_before_commit();
    tx.commit()?;
    Ok(changes)
}

/// **Test-only.** When `QUOTIENT_CLIENT_TEST_PAUSE_BEFORE_COMMIT` names a
/// file (read once per process), each batch, once folded and before its
/// commit, creates that file and sleeps 30 s: a test kills the process
/// there to check a batch killed before its commit is fetched and applied
/// once on restart. Never set it outside tests.
fn pause_before_commit() {
    static MARKER: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let marker = MARKER.get_or_init(|| {
        std::env::var_os("QUOTIENT_CLIENT_TEST_PAUSE_BEFORE_COMMIT").map(Into::into)
    });
    if let Some(marker) = marker {
        let _ = std::fs::write(marker, b"paused");
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
}

/// Writes the parts of one batch inside its transaction.
pub(super) struct Writer<'t, 'c> {
    pub(super) tx: &'t Transaction<'c>,
    pub(super) changes: SyncChanges,
    pub(super) decryptions: &'t Decryptions,
}

fn count(n: Option<i64>) -> Option<i64> {
    n.map(|n| n.max(0))
}

impl Writer<'_, '_> {
    /// Notes an outbox entry the batch showed sent. Its room and event
    /// IDs parsed when the batch was read.
    fn outbox_sent(&mut self, room: &str, txn: String, event_id: &str) {
        if let (Ok(room), Ok(event_id)) = (RoomId::parse(room), EventId::parse(event_id)) {
            self.changes.outbox_sent.push((room, txn, event_id));
        }
    }

    pub(super) fn membership(&mut self, room: &str, membership: Membership) -> Result<()> {
        let before: Option<String> = self
            .tx
            .prepare_cached("SELECT membership FROM rooms WHERE room_id = ?1")?
            .query_row(params![room], |r| r.get(0))
            .optional()?;
        let before = before.and_then(|b| Membership::from_db(&b));
        if before != Some(membership) {
            // The batch's room keys parsed as room IDs when it was read.
            if let Ok(id) = RoomId::parse(room) {
                self.changes.memberships.insert(id, (before, membership));
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO rooms (room_id, membership) VALUES (?1, ?2)
             ON CONFLICT (room_id) DO UPDATE SET membership = excluded.membership",
            )?
            .execute(params![room, membership.as_db()])?;
        if let Ok(id) = RoomId::parse(room) {
            self.changes.rooms.insert(id);
        }
        Ok(())
    }

    /// The summary's fields come only when they change, so each one
    /// present replaces the stored one and an absent one keeps it.
    pub(super) fn summary(&mut self, room: &str, summary: &RoomSummary) -> Result<()> {
        let heroes = summary
            .m_heroes
            .as_ref()
            .map(|h| {
                let ids: Vec<&str> = h.iter().map(|u| u.as_str()).collect();
                serde_json::to_string(&ids)
            })
            .transpose()?;
        self.tx
            .prepare_cached(
                "UPDATE rooms SET heroes = COALESCE(?2, heroes),
                 joined_member_count = COALESCE(?3, joined_member_count),
                 invited_member_count = COALESCE(?4, invited_member_count)
             WHERE room_id = ?1",
            )?
            .execute(params![
                room,
                heroes,
                count(summary.m_joined_member_count),
                count(summary.m_invited_member_count)
            ])?;
        Ok(())
    }

    pub(super) fn unread(&mut self, room: &str, counts: &UnreadNotificationCounts) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE rooms SET notification_count = COALESCE(?2, notification_count),
                 highlight_count = COALESCE(?3, highlight_count), unread_source = 'server'
             WHERE room_id = ?1",
            )?
            .execute(params![
                room,
                count(counts.notification_count),
                count(counts.highlight_count)
            ])?;
        Ok(())
    }

    /// State events, each stored as its text.
    pub(super) fn state(&mut self, room: &str, events: &[&RawValue]) -> Result<()> {
        for raw in events {
            let text = raw.get();
            match EventHead::parse(text) {
                Ok(event) => match &event.state_key {
                    Some(key) => self.put_state(
                        room,
                        &event.type_,
                        key,
                        Some(event.event_id.as_str()),
                        text,
                    )?,
                    None => self.malformed(
                        Some(room),
                        "state",
                        "a state event without a state_key",
                        text,
                    )?,
                },
                Err(reason) => self.malformed(Some(room), "state", &reason, text)?,
            }
        }
        Ok(())
    }

    /// Invite and knock state: stripped events (type, state_key, sender,
    /// content), untyped in the API, checked here.
    pub(super) fn stripped_state(&mut self, room: &str, events: &[Value]) -> Result<()> {
        for event in events {
            let text = event.to_string();
            match (
                event.get("type").and_then(Value::as_str),
                event.get("state_key").and_then(Value::as_str),
                event.get("content").and_then(Value::as_object),
            ) {
                (Some(kind), Some(key), Some(_)) => self.put_state(room, kind, key, None, &text)?,
                _ => self.malformed(
                    Some(room),
                    "stripped_state",
                    "a stripped state event needs a string type and state_key and an object content",
                    &text,
                )?,
            }
        }
        Ok(())
    }

    fn put_state(
        &mut self,
        room: &str,
        kind: &str,
        key: &str,
        event_id: Option<&str>,
        event: &str,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO room_state (room_id, event_type, state_key, event_id, event)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (room_id, event_type, state_key)
             DO UPDATE SET event_id = excluded.event_id, event = excluded.event",
            )?
            .execute(params![room, kind, key, event_id, event])?;
        Ok(())
    }

    /// A timeline: the gap before it if it is `limited`, then its events
    /// in order, each stored as its text.
    pub(super) fn timeline(
        &mut self,
        room: &str,
        limited: bool,
        prev_batch: Option<&str>,
        events: &[&RawValue],
    ) -> Result<()> {
        let mut next: i64 = self
            .tx
            .prepare_cached(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM timeline WHERE room_id = ?1",
            )?
            .query_row(params![room], |r| r.get(0))?;
        if let (true, Some(prev_batch)) = (limited, prev_batch) {
            // The gap sits before the first event of this batch; if the
            // whole batch turns out to be known already, the gap is
            // still real (the server said events were left out).
            self.tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO timeline_gaps (room_id, position, prev_batch)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![room, next, prev_batch])?;
        }
        for raw in events {
            if self.timeline_event(room, next, raw.get())? {
                next += 1;
            }
        }
        Ok(())
    }

    /// One timeline event at `position`; true if it was new (stored there).
    fn timeline_event(&mut self, room: &str, position: i64, text: &str) -> Result<bool> {
        let event = match EventHead::parse(text) {
            Ok(event) => event,
            Err(reason) => {
                self.malformed(Some(room), "timeline", &reason, text)?;
                // Kept in its place when it has an ID to be stored once by.
                let json: Value = serde_json::from_str(text)?;
                let Some(id) = json.get("event_id").and_then(Value::as_str) else {
                    return Ok(false);
                };
                let shape = Shape {
                    redaction: false,
                    relation: false,
                };
                let parse = || Ok(Value::Null);
                let Some(stored) =
                    store_text(self.tx, room, position, Some(id), true, text, shape, parse)?
                else {
                    return Ok(false);
                };
                if let Some((txn, id)) = outbox::match_synced(self.tx, room, &json)? {
                    self.outbox_sent(room, txn, &id);
                }
                self.stored(room, stored.rowid)?;
                return Ok(true);
            }
        };
        let id = event.event_id.as_str();
        let encrypted = event.type_ == ENCRYPTED;
        let decryption = encrypted.then(|| self.decryptions.get(id)).flatten();
        // What the row holds: the decrypted event when it is shown.
        let shown = decryption.map_or(text, |d| d.shown(text));
        let shape = Shape {
            redaction: event.type_ == "m.room.redaction",
            relation: event.has_relation() || (shown != text && shown.contains("m.relates_to")),
        };
        let parse = || Ok(serde_json::from_str(shown)?);
        let Some(stored) = store_text(
            self.tx,
            room,
            position,
            Some(id),
            false,
            shown,
            shape,
            parse,
        )?
        else {
            return Ok(false);
        };
        if encrypted {
            decryptions::record(self.tx, stored.rowid, room, text, decryption)?;
        }
        if let Some(txn) = event.transaction_id() {
            if outbox::match_synced_ids(self.tx, room, txn, id)? {
                self.outbox_sent(room, txn.to_owned(), id);
            }
        }
        self.stored(room, stored.rowid)?;
        if let Some(key) = &event.state_key {
            // The current state as stored: stripped if a redaction was
            // waiting for it.
            if stored.stripped {
                let text: String = self
                    .tx
                    .prepare_cached("SELECT event FROM timeline WHERE rowid = ?1")?
                    .query_row(params![stored.rowid], |r| r.get(0))?;
                self.put_state(room, &event.type_, key, Some(id), &text)?;
            } else {
                self.put_state(room, &event.type_, key, Some(id), shown)?;
            }
        }
        Ok(true)
    }

    /// A new timeline row: counted, and news for the watchers, in the
    /// order stored.
    fn stored(&mut self, room: &str, rowid: i64) -> Result<()> {
        self.changes.new_timeline_events += 1;
        self.tx
            .prepare_cached("INSERT INTO live_events (room_id, timeline_rowid) VALUES (?1, ?2)")?
            .execute(params![room, rowid])?;
        Ok(())
    }

    pub(super) fn room_account_data(
        &mut self,
        room: &str,
        batch: Option<&EventBatch>,
    ) -> Result<()> {
        for event in batch.and_then(|b| b.events.as_ref()).into_iter().flatten() {
            let text = event.to_string();
            match event.get("type").and_then(Value::as_str) {
                Some(kind) if event.get("content").is_some_and(Value::is_object) => {
                    self.tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO room_account_data (room_id, event_type, event)
                         VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![room, kind, text])?;
                }
                _ => self.malformed(Some(room), "room_account_data", ACCOUNT_DATA_SHAPE, &text)?,
            }
        }
        Ok(())
    }

    pub(super) fn global_account_data(&mut self, batch: Option<&EventBatch>) -> Result<()> {
        for event in batch.and_then(|b| b.events.as_ref()).into_iter().flatten() {
            let text = event.to_string();
            match event.get("type").and_then(Value::as_str) {
                Some(kind) if event.get("content").is_some_and(Value::is_object) => {
                    self.tx.prepare_cached("INSERT OR REPLACE INTO account_data (event_type, event) VALUES (?1, ?2)")?.execute(params![kind, text],
                    )?;
                }
                _ => self.malformed(None, "account_data", ACCOUNT_DATA_SHAPE, &text)?,
            }
        }
        Ok(())
    }

    /// Logs, counts and keeps an item that did not fit; never fails the
    /// batch (one bad item must not wedge the sync on this batch forever).
    /// The log line has the room and the reason, not the item: it may
    /// hold private content.
    pub(super) fn malformed(
        &mut self,
        room: Option<&str>,
        kind: &str,
        reason: &str,
        json: &str,
    ) -> Result<()> {
        tracing::warn!(
            room,
            kind,
            reason,
            "malformed item in a sync batch, kept as raw JSON"
        );
        self.tx
            .prepare_cached(
                "INSERT INTO malformed_items (room_id, kind, reason, json) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![room, kind, reason, json])?;
        self.changes.malformed += 1;
        Ok(())
    }
}

// Defined beside the timeline's rows; named here too for its users.
pub(crate) use super::timeline_events::ENCRYPTED;

const ACCOUNT_DATA_SHAPE: &str = "an account-data event needs a string type and an object content";

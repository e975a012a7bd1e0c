//! Filling a timeline gap with one `/messages` page (newest first), in
//! one transaction — hydrogen-web's `GapWriter`.
//!
//! The page's events are placed just before the gap, in the server's
//! order. Walking the page from the newest event back, the first event
//! already stored *before* the gap means the gap is closed: the page met
//! the events an earlier sync stored, and nothing older is needed. An
//! event already stored elsewhere is skipped (stored once). The room's
//! `m.room.create`, or a page without `end`, is the start of the room:
//! the gap is removed. Otherwise the gap moves to before the oldest event
//! of the page, with the page's `end` as its token.
//!
//! Positions: events before the gap keep theirs; when there is not room
//! below the gap's position for the page, the events after the gap (and
//! the gaps among them) are moved up, in the same transaction.
//!
//! Historical state events in a page do not change the current state.
//! Redactions and relations go through the same path as a sync batch's.

use quotient_api::generated::message_pagination::GetRoomEventsResponse;
use quotient_api::Lenient;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::decryptions::Decryptions;
use super::timeline_events::store_maybe_encrypted;
use crate::error::Result;
use crate::store::Store;

/// What one call to [`Client::paginate_back`](crate::Client::paginate_back) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaginationOutcome {
    /// The room's timeline has no gap: nothing was asked, nothing changed.
    NoGap,
    /// One page was stored.
    Page {
        /// Events stored for the first time.
        new_events: u64,
        /// What is left of the gap.
        gap: GapAfterPage,
    },
}

/// The gap after a page was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapAfterPage {
    /// Older events are still missing: paginate again.
    Remaining,
    /// The page met events stored before the gap: it is filled.
    Filled,
    /// The page reached the room's creation (or the server has nothing
    /// older): there is no gap left.
    ReachedStart,
}

/// The newest gap of `room`: (position, `prev_batch`).
pub(crate) fn newest_gap(store: &Store, room: &str) -> Result<Option<(i64, String)>> {
    Ok(store.timeline_gaps_at(room)?.pop())
}

/// Stores `page`, fetched from the gap of `room` whose token is `from`.
/// If that gap is gone (filled meanwhile), nothing changes: `NoGap`.
pub(crate) fn apply_page(
    store: &mut Store,
    room: &str,
    from: &str,
    page: &GetRoomEventsResponse,
    decryptions: &Decryptions,
) -> Result<PaginationOutcome> {
    let tx = store.write_transaction()?;
    let gap: Option<i64> = tx
        .prepare_cached(
            "SELECT position FROM timeline_gaps WHERE room_id = ?1 AND prev_batch = ?2",
        )?
        .query_row(params![room, from], |r| r.get(0))
        .optional()?;
    let Some(mut gap) = gap else {
        return Ok(PaginationOutcome::NoGap);
    };

    // Newest first, as the page came: what is new, up to what we have.
    let mut new: Vec<(Option<String>, bool, Value)> = Vec::new();
    let mut met = false;
    let mut reached_create = false;
    for item in &page.chunk {
        let (event, malformed) = match item {
            Lenient::Typed(event) => (serde_json::to_value(event)?, false),
            Lenient::Invalid { json, reason } => {
                malformed(&tx, room, reason, json)?;
                (json.clone(), true)
            }
        };
        let event = without_room_id(event);
        let id = event
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(id) = id else { continue };
        let stored: Option<i64> = tx
            .prepare_cached("SELECT position FROM timeline WHERE event_id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?;
        match stored {
            Some(position) if position < gap => {
                met = true;
                break;
            }
            Some(_) => continue,
            None => {}
        }
        if new
            .iter()
            .any(|(seen, _, _)| seen.as_deref() == Some(id.as_str()))
        {
            continue;
        }
        let is_create = !malformed
            && event.get("type").and_then(Value::as_str) == Some("m.room.create")
            && event.get("state_key").and_then(Value::as_str) == Some("");
        new.push((Some(id), malformed, event));
        if is_create {
            reached_create = true;
            break;
        }
    }

    let k = i64::try_from(new.len()).unwrap_or(i64::MAX);
    gap = make_room(&tx, room, gap, k)?;
    let mut new_events = 0;
    for (i, (id, malformed, event)) in new.iter().rev().enumerate() {
        let position = gap - k + i64::try_from(i).unwrap_or(0);
        if store_maybe_encrypted(
            &tx,
            room,
            position,
            id.as_deref(),
            *malformed,
            event,
            decryptions,
        )? {
            new_events += 1;
        }
    }
    tx.prepare_cached("DELETE FROM timeline_gaps WHERE room_id = ?1 AND position = ?2")?
        .execute(params![room, gap])?;
    let outcome = if met {
        GapAfterPage::Filled
    } else if reached_create {
        GapAfterPage::ReachedStart
    } else if let Some(end) = &page.end {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO timeline_gaps (room_id, position, prev_batch)
             VALUES (?1, ?2, ?3)",
        )?
        .execute(params![room, gap - k, end])?;
        GapAfterPage::Remaining
    } else {
        GapAfterPage::ReachedStart
    };
    tx.commit()?;
    Ok(PaginationOutcome::Page {
        new_events,
        gap: outcome,
    })
}

/// Makes `k` free positions just below `gap` and returns the gap's
/// (possibly moved) position.
fn make_room(tx: &Connection, room: &str, gap: i64, k: i64) -> Result<i64> {
    let below: Option<i64> = tx
        .prepare_cached("SELECT MAX(position) FROM timeline WHERE room_id = ?1 AND position < ?2")?
        .query_row(params![room, gap], |r| r.get(0))?;
    let Some(below) = below else {
        return Ok(gap);
    };
    let free = gap - below - 1;
    if k <= free {
        return Ok(gap);
    }
    let shift = k - free;
    let top: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(position), ?2) FROM timeline WHERE room_id = ?1")?
        .query_row(params![room, gap], |r| r.get(0))?;
    let top_gap: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(position), ?2) FROM timeline_gaps WHERE room_id = ?1")?
        .query_row(params![room, gap], |r| r.get(0))?;
    // Two steps, so no row lands on one not moved yet (the primary key is
    // checked row by row): first above everything, then down to its place.
    let far = top.max(top_gap) - gap + 1 + shift;
    for table in ["timeline", "timeline_gaps"] {
        tx.execute(
            &format!(
                "UPDATE {table} SET position = position + ?3 WHERE room_id = ?1 AND position >= ?2"
            ),
            params![room, gap, far],
        )?;
        tx.execute(
            &format!(
                "UPDATE {table} SET position = position - ?3 WHERE room_id = ?1 AND position >= ?2"
            ),
            params![room, gap + far, far - shift],
        )?;
    }
    Ok(gap + shift)
}

/// `/messages` events carry `room_id`; stored ones, as from `/sync`, do not.
fn without_room_id(mut event: Value) -> Value {
    if let Some(map) = event.as_object_mut() {
        map.remove("room_id");
    }
    event
}

fn malformed(tx: &Connection, room: &str, reason: &str, json: &Value) -> Result<()> {
    tracing::warn!(
        room,
        reason,
        "malformed event in a /messages page, kept as raw JSON"
    );
    tx.prepare_cached(
        "INSERT INTO malformed_items (room_id, kind, reason, json) VALUES (?1, 'messages', ?2, ?3)",
    )?
    .execute(params![room, reason, json.to_string()])?;
    Ok(())
}

//! Reading rooms, state and timelines from the store, with no network.

use quotient_api::{EventId, RoomId, UserId};
use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::encryption::{EventEncryption, SenderTrust};
use crate::error::Result;

/// The user's membership of a room, as the last batch told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Membership {
    /// In the room (`rooms.join`).
    Joined,
    /// Invited, not yet joined (`rooms.invite`).
    Invited,
    /// Left, kicked or banned (`rooms.leave`).
    Left,
    /// Asked to join (`rooms.knock`).
    Knocked,
}

impl Membership {
    pub(crate) fn as_db(self) -> &'static str {
        match self {
            Membership::Joined => "join",
            Membership::Invited => "invite",
            Membership::Left => "leave",
            Membership::Knocked => "knock",
        }
    }

    pub(crate) fn from_db(s: &str) -> Option<Self> {
        Some(match s {
            "join" => Membership::Joined,
            "invite" => Membership::Invited,
            "leave" => Membership::Left,
            "knock" => Membership::Knocked,
            _ => return None,
        })
    }
}

/// A room's summary: what a room list shows without reading its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomSummary {
    /// The room's ID.
    pub room_id: RoomId,
    /// The user's membership.
    pub membership: Membership,
    /// `m.heroes`: the members to name an unnamed room after.
    pub heroes: Vec<UserId>,
    /// `m.joined_member_count`, once the server sent it.
    pub joined_member_count: Option<u64>,
    /// `m.invited_member_count`, once the server sent it.
    pub invited_member_count: Option<u64>,
    /// Unread notifications.
    pub notification_count: u64,
    /// Unread highlights (mentions).
    pub highlight_count: u64,
    /// Where the two counts come from: the server, or counted from the
    /// store (sliding sync), exactly or as a lower bound.
    pub unread_source: super::UnreadSource,
}

/// An event from a room's timeline, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Its place in the room's timeline (higher is later).
    pub position: i64,
    /// Its ID, when it had a usable one.
    pub event_id: Option<EventId>,
    /// True when it did not fit the event type and is kept as it came.
    pub malformed: bool,
    /// The event's JSON: for an encrypted event that decrypted and is
    /// shown, the decrypted event (its type and content from the
    /// ciphertext, the rest as it came); otherwise the event as it came.
    pub json: serde_json::Value,
    /// For an event that came encrypted: whether it decrypted, why not,
    /// and its sender's trust. `None` for an event sent in the clear.
    pub encryption: Option<EventEncryption>,
}

/// The columns [`Store::stored_events`] reads, from `timeline t` joined
/// with [`ENCRYPTION_JOIN`].
pub(crate) const EVENT_COLUMNS: &str = "t.position, t.event_id, t.malformed, t.event,
    e.timeline_rowid IS NOT NULL, e.error, e.sender_trust";

/// Joins each timeline row `t` with its encryption row `e`, if any.
pub(crate) const ENCRYPTION_JOIN: &str =
    "LEFT JOIN encrypted_events e ON e.timeline_rowid = t.rowid";

/// One row of [`EVENT_COLUMNS`] from column `first` on.
pub(crate) fn event_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<StoredRow> {
    Ok(StoredRow {
        position: r.get(first)?,
        event_id: r.get(first + 1)?,
        malformed: r.get(first + 2)?,
        text: r.get(first + 3)?,
        encrypted: r.get(first + 4)?,
        error: r.get(first + 5)?,
        sender_trust: r.get(first + 6)?,
    })
}

/// A timeline row as read, before its JSON is parsed.
pub(crate) struct StoredRow {
    position: i64,
    event_id: Option<String>,
    malformed: bool,
    text: String,
    encrypted: bool,
    error: Option<String>,
    sender_trust: Option<String>,
}

impl StoredRow {
    pub(crate) fn into_event(self) -> Result<StoredEvent> {
        Ok(StoredEvent {
            position: self.position,
            // Stored only when it parsed; one that does not is no ID.
            event_id: self.event_id.and_then(|id| EventId::parse(id).ok()),
            malformed: self.malformed,
            json: serde_json::from_str(&self.text)?,
            encryption: self.encrypted.then(|| EventEncryption {
                error: self.error,
                sender_trust: self.sender_trust.as_deref().and_then(SenderTrust::parse),
            }),
        })
    }
}

fn count(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

impl Store {
    /// Every room the account knows, with its membership, by room ID.
    pub fn rooms(&self) -> Result<Vec<(RoomId, Membership)>> {
        self.rooms_ordered("ORDER BY room_id")
    }

    fn rooms_ordered(&self, order: &str) -> Result<Vec<(RoomId, Membership)>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT room_id, membership FROM rooms {order}"))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (room, membership) = row?;
            // The CHECK constraint allows no other membership, and a batch
            // stores only room IDs that parse: skip rather than fail.
            if let (Some(m), Ok(room)) = (Membership::from_db(&membership), RoomId::parse(room)) {
                out.push((room, m));
            }
        }
        Ok(out)
    }

    /// Every room, the most recently active first: by sliding sync's
    /// `bump_stamp` where the server gave one, then by room ID.
    pub fn rooms_by_activity(&self) -> Result<Vec<(RoomId, Membership)>> {
        self.rooms_ordered("ORDER BY bump_stamp IS NULL, bump_stamp DESC, room_id")
    }

    /// A room's summary, or `None` for a room the store does not know.
    pub fn room_summary(&self, room: &RoomId) -> Result<Option<RoomSummary>> {
        let room_id = room.as_str();
        let row = self
            .conn
            .query_row(
                "SELECT membership, heroes, joined_member_count, invited_member_count,
                        notification_count, highlight_count, unread_source
                 FROM rooms WHERE room_id = ?1",
                params![room_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((membership, heroes, joined, invited, notes, highlights, source)) = row else {
            return Ok(None);
        };
        let Some(membership) = Membership::from_db(&membership) else {
            return Ok(None);
        };
        let heroes: Vec<String> = match heroes {
            Some(text) => serde_json::from_str(&text)?,
            None => Vec::new(),
        };
        Ok(Some(RoomSummary {
            room_id: room.clone(),
            membership,
            // A hero that is not a user ID names nobody.
            heroes: heroes
                .into_iter()
                .filter_map(|h| UserId::parse(h).ok())
                .collect(),
            joined_member_count: count(joined),
            invited_member_count: count(invited),
            notification_count: count(Some(notes)).unwrap_or(0),
            highlight_count: count(Some(highlights)).unwrap_or(0),
            unread_source: super::UnreadSource::from_db(&source),
        }))
    }

    /// The current state event of `event_type` and `state_key` in a room.
    pub fn state_event(
        &self,
        room_id: &RoomId,
        event_type: &str,
        state_key: &str,
    ) -> Result<Option<serde_json::Value>> {
        self.state_event_at(room_id.as_str(), event_type, state_key)
    }

    /// [`state_event`](Self::state_event) by the room ID as stored.
    pub(crate) fn state_event_at(
        &self,
        room_id: &str,
        event_type: &str,
        state_key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT event FROM room_state
                 WHERE room_id = ?1 AND event_type = ?2 AND state_key = ?3",
                params![room_id, event_type, state_key],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }

    /// Every current state event of `event_type` in a room, by state key.
    pub fn state_events(
        &self,
        room_id: &RoomId,
        event_type: &str,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        self.state_events_at(room_id.as_str(), event_type)
    }

    /// [`state_events`](Self::state_events) by the room ID as stored.
    pub(crate) fn state_events_at(
        &self,
        room_id: &str,
        event_type: &str,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        let mut stmt = self.conn.prepare(
            "SELECT state_key, event FROM room_state
             WHERE room_id = ?1 AND event_type = ?2 ORDER BY state_key",
        )?;
        let rows = stmt.query_map(params![room_id, event_type], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, text) = row?;
            out.push((key, serde_json::from_str(&text)?));
        }
        Ok(out)
    }

    /// The newest `limit` events of a room's timeline, oldest first.
    pub fn timeline(&self, room_id: &RoomId, limit: usize) -> Result<Vec<StoredEvent>> {
        let room_id = room_id.as_str();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.stored_events(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM (
                     SELECT rowid, * FROM timeline WHERE room_id = ?1
                     ORDER BY position DESC LIMIT ?2
                 ) t {ENCRYPTION_JOIN} ORDER BY t.position ASC"
            ),
            params![room_id, limit],
        )
    }

    /// The stored event `event_id` of `room_id`, if its timeline has it.
    pub fn event(&self, room_id: &RoomId, event_id: &EventId) -> Result<Option<StoredEvent>> {
        let room_id = room_id.as_str();
        let event_id = event_id.as_str();
        Ok(self
            .stored_events(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM timeline t {ENCRYPTION_JOIN}
                     WHERE t.room_id = ?1 AND t.event_id = ?2"
                ),
                params![room_id, event_id],
            )?
            .pop())
    }

    /// Timeline rows selected by `sql` as [`EVENT_COLUMNS`], in the order
    /// the query gives.
    pub(crate) fn stored_events(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredEvent>> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params, |r| event_row(r, 0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.into_event()?);
        }
        Ok(out)
    }

    /// The gaps of a room's timeline: (position of the first event after
    /// the gap, the `prev_batch` token to back-paginate from), in order.
    pub fn timeline_gaps(&self, room_id: &RoomId) -> Result<Vec<(i64, String)>> {
        self.timeline_gaps_at(room_id.as_str())
    }

    /// [`timeline_gaps`](Self::timeline_gaps) by the room ID as stored.
    pub(crate) fn timeline_gaps_at(&self, room_id: &str) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT position, prev_batch FROM timeline_gaps WHERE room_id = ?1 ORDER BY position",
        )?;
        let rows = stmt.query_map(params![room_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A global account-data event (`m.direct`, `m.push_rules`, …).
    pub fn account_data(&self, event_type: &str) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT event FROM account_data WHERE event_type = ?1",
                params![event_type],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }

    /// A room's account-data event (`m.tag`, `m.fully_read`, …).
    pub fn room_account_data(
        &self,
        room_id: &RoomId,
        event_type: &str,
    ) -> Result<Option<serde_json::Value>> {
        let room_id = room_id.as_str();
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT event FROM room_account_data WHERE room_id = ?1 AND event_type = ?2",
                params![room_id, event_type],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }
}

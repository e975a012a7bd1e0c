//! Unread counts worked out from the store, for sliding sync: Synapse
//! sends `notification_count` and `highlight_count` as 0 there, so after
//! each sliding-sync response the rooms it touched are counted on our
//! side. `/sync` v3's counts come from the server's push rules and are
//! kept as they are (the writer marks them [`UnreadSource::Server`]).
//!
//! What counts: events after this user's newest read receipt (public or
//! private) or newest own event, whichever is later, that another user
//! sent, of a kind a default push rule notifies for (messages other than
//! notices, stickers, polls, encrypted events, call invites), neither
//! edits nor redacted. A highlight is one that mentions this user:
//! through `m.mentions` (their ID, or the whole room), or, for an event
//! without `m.mentions`, its body naming their display name or user ID.
//! Where a gap lies after the read marker (or no marker is stored and a
//! gap is), the count is of the events stored: a lower bound, said so.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::Result;

/// How far back from the newest event a room is read for its marker.
const SCAN: i64 = 1_000;

/// Where a room's unread counts come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnreadSource {
    /// The server's (`/sync` v3's `unread_notifications`).
    #[default]
    Server,
    /// Counted from the store after the read marker, every event since
    /// it being stored: exact.
    Counted,
    /// Counted from the store, with events missing after the read marker
    /// (a sync gap): at least this many.
    AtLeast,
}

impl UnreadSource {
    pub(crate) fn from_db(text: &str) -> Self {
        match text {
            "counted" => Self::Counted,
            "at-least" => Self::AtLeast,
            _ => Self::Server,
        }
    }

    fn as_db(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Counted => "counted",
            Self::AtLeast => "at-least",
        }
    }
}

/// Counts `rooms`' unread events from what the transaction holds and
/// writes them, marked as counted here.
pub(crate) fn count_locally(tx: &Connection, user: &str, rooms: &[String]) -> Result<()> {
    for room in rooms {
        let (notes, highlights, source) = count_room(tx, user, room)?;
        tx.prepare_cached(
            "UPDATE rooms SET notification_count = ?2, highlight_count = ?3, unread_source = ?4
             WHERE room_id = ?1",
        )?
        .execute(params![room, notes, highlights, source.as_db()])?;
    }
    Ok(())
}

fn count_room(tx: &Connection, user: &str, room: &str) -> Result<(i64, i64, UnreadSource)> {
    let marks: Vec<String> = tx
        .prepare_cached(
            "SELECT event_id FROM receipts WHERE room_id = ?1 AND user_id = ?2
             AND receipt_type IN ('m.read', 'm.read.private')",
        )?
        .query_map(params![room, user], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let names = Names::of(tx, user, room)?;
    let mut rows = tx.prepare_cached(
        "SELECT position, event_id, event FROM timeline WHERE room_id = ?1
         ORDER BY position DESC LIMIT ?2",
    )?;
    let mut rows = rows.query(params![room, SCAN])?;
    let (mut notes, mut highlights) = (0, 0);
    let mut mark = None;
    let mut scanned = 0;
    while let Some(row) = rows.next()? {
        scanned += 1;
        let position: i64 = row.get(0)?;
        let id: Option<String> = row.get(1)?;
        let text: String = row.get(2)?;
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let ours = event["sender"].as_str() == Some(user);
        if ours || id.as_ref().is_some_and(|id| marks.contains(id)) {
            mark = Some(position);
            break;
        }
        if notifies(&event) {
            notes += 1;
            if names.mentioned_in(&event) {
                highlights += 1;
            }
        }
    }
    let gap_after: Option<i64> = tx
        .prepare_cached(
            "SELECT position FROM timeline_gaps WHERE room_id = ?1 AND position > ?2 LIMIT 1",
        )?
        .query_row(params![room, mark.unwrap_or(i64::MIN)], |r| r.get(0))
        .optional()?;
    let complete = gap_after.is_none() && (mark.is_some() || scanned < SCAN);
    let source = if complete {
        UnreadSource::Counted
    } else {
        UnreadSource::AtLeast
    };
    Ok((notes, highlights, source))
}

/// Whether a default push rule would notify for `event` (leaving out
/// mentions, which [`Names::mentioned_in`] decides).
fn notifies(event: &Value) -> bool {
    let content = &event["content"];
    // Redacted: nothing left to read.
    if content.as_object().is_none_or(|c| c.is_empty()) {
        return false;
    }
    if content["m.relates_to"]["rel_type"] == "m.replace" {
        return false;
    }
    match event["type"].as_str().unwrap_or("") {
        "m.room.message" => content["msgtype"] != "m.notice",
        "m.room.encrypted"
        | "m.sticker"
        | "m.poll.start"
        | "org.matrix.msc3381.poll.start"
        | "m.call.invite" => true,
        _ => false,
    }
}

/// What names this user in a room's events.
struct Names {
    user: String,
    display_name: Option<String>,
}

impl Names {
    fn of(tx: &Connection, user: &str, room: &str) -> Result<Self> {
        let member: Option<String> = tx
            .prepare_cached(
                "SELECT event FROM room_state WHERE room_id = ?1
                 AND event_type = 'm.room.member' AND state_key = ?2",
            )?
            .query_row(params![room, user], |r| r.get(0))
            .optional()?;
        let display_name = member
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|m| m["content"]["displayname"].as_str().map(str::to_lowercase))
            .filter(|n| !n.trim().is_empty());
        Ok(Self {
            user: user.to_owned(),
            display_name,
        })
    }

    fn mentioned_in(&self, event: &Value) -> bool {
        let content = &event["content"];
        let mentions = &content["m.mentions"];
        if mentions.is_object() {
            return mentions["room"] == true
                || mentions["user_ids"]
                    .as_array()
                    .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(&self.user)));
        }
        let Some(body) = content["body"].as_str() else {
            return false;
        };
        let body = body.to_lowercase();
        body.contains(&self.user.to_lowercase())
            || self
                .display_name
                .as_ref()
                .is_some_and(|name| body.contains(name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_notifies() {
        let text =
            json!({"type": "m.room.message", "content": {"msgtype": "m.text", "body": "hi"}});
        let notice =
            json!({"type": "m.room.message", "content": {"msgtype": "m.notice", "body": "bot"}});
        let edit = json!({"type": "m.room.message", "content": {"msgtype": "m.text", "body": "* hi",
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}});
        let redacted = json!({"type": "m.room.message", "content": {}});
        let reaction = json!({"type": "m.reaction", "content": {"m.relates_to": {}}});
        let encrypted = json!({"type": "m.room.encrypted", "content": {"ciphertext": "x"}});
        assert!(notifies(&text));
        assert!(notifies(&encrypted));
        assert!(!notifies(&notice));
        assert!(!notifies(&edit));
        assert!(!notifies(&redacted));
        assert!(!notifies(&reaction));
    }

    #[test]
    fn mentions_follow_m_mentions_before_the_body() {
        let names = Names {
            user: "@ann:example.org".into(),
            display_name: Some("ann smith".into()),
        };
        let by_id =
            json!({"content": {"body": "x", "m.mentions": {"user_ids": ["@ann:example.org"]}}});
        let room = json!({"content": {"body": "x", "m.mentions": {"room": true}}});
        let other =
            json!({"content": {"body": "Ann Smith", "m.mentions": {"user_ids": ["@bob:x"]}}});
        let legacy = json!({"content": {"body": "hello Ann Smith"}});
        let none = json!({"content": {"body": "hello"}});
        assert!(names.mentioned_in(&by_id));
        assert!(names.mentioned_in(&room));
        assert!(
            !names.mentioned_in(&other),
            "m.mentions decides when present"
        );
        assert!(names.mentioned_in(&legacy));
        assert!(!names.mentioned_in(&none));
    }
}

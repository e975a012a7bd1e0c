//! Reading an event's relations: its edits, reactions and thread replies.

use quotient_api::{EventId, UserId};
use rusqlite::{params, OptionalExtension};

use super::{Store, StoredEvent};
use crate::error::Result;

/// The reactions (`m.annotation`) to an event with one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionGroup {
    /// The annotation, such as an emoji.
    pub key: String,
    /// How many users reacted with it (each counted once).
    pub count: u64,
    /// Who reacted with it, by user ID.
    pub senders: Vec<UserId>,
}

const RELATED_EVENTS: &str = "SELECT t.position, t.event_id, t.malformed, t.event,
         e.timeline_rowid IS NOT NULL, e.error, e.sender_trust
     FROM relations r JOIN timeline t ON t.event_id = r.event_id
     LEFT JOIN encrypted_events e ON e.timeline_rowid = t.rowid
     WHERE r.target_id = ?1 AND r.rel_type = ?2";

impl Store {
    /// The newest valid edit (`m.replace`) of `event_id`: one sent by the
    /// target's own sender (an edit by anyone else is ignored, as the spec
    /// says), newest in timeline order. `None` when the target is not
    /// stored or has no valid edit. A redacted edit no longer counts.
    pub fn latest_edit(&self, event_id: &EventId) -> Result<Option<StoredEvent>> {
        Ok(self.edits(event_id)?.pop())
    }

    /// Every valid edit of `event_id` (same sender as the target), oldest
    /// first.
    pub fn edits(&self, event_id: &EventId) -> Result<Vec<StoredEvent>> {
        let event_id = event_id.as_str();
        let sender: Option<String> = self
            .conn
            .query_row(
                "SELECT json_extract(event, '$.sender') FROM timeline WHERE event_id = ?1",
                params![event_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let Some(sender) = sender else {
            return Ok(Vec::new());
        };
        let sql = format!("{RELATED_EVENTS} AND r.sender = ?3 ORDER BY t.position");
        self.stored_events(&sql, params![event_id, "m.replace", sender])
    }

    /// The reactions to `event_id` grouped by key: most reacted first,
    /// then by key; senders by user ID.
    pub fn reactions(&self, event_id: &EventId) -> Result<Vec<ReactionGroup>> {
        let event_id = event_id.as_str();
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT annotation_key, sender FROM relations
             WHERE target_id = ?1 AND rel_type = 'm.annotation' AND annotation_key IS NOT NULL
             ORDER BY annotation_key, sender",
        )?;
        let rows = stmt.query_map(params![event_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut groups: Vec<ReactionGroup> = Vec::new();
        for row in rows {
            let (key, sender) = row?;
            // A sender is stored only when it parses.
            let Ok(sender) = UserId::parse(sender) else {
                continue;
            };
            match groups.last_mut() {
                Some(group) if group.key == key => {
                    group.count += 1;
                    group.senders.push(sender);
                }
                _ => groups.push(ReactionGroup {
                    key,
                    count: 1,
                    senders: vec![sender],
                }),
            }
        }
        groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        Ok(groups)
    }

    /// The events of the thread rooted at `event_id` (`m.thread`), in
    /// timeline order (the root itself not included).
    pub fn thread_replies(&self, event_id: &EventId) -> Result<Vec<StoredEvent>> {
        let event_id = event_id.as_str();
        let sql = format!("{RELATED_EVENTS} ORDER BY t.position");
        self.stored_events(&sql, params![event_id, "m.thread"])
    }
}

//! A room's timeline: the newest events, older ones fetched back, one
//! event by ID, an event's edits and reactions, and receipts.

use quotient_api::EventId;
use serde_json::Value;

use super::Room;
use crate::error::Result;
use crate::store::{ReactionGroup, Receipt, StoredEvent, TimelineItem};
use crate::sync::PaginationOutcome;

impl Room {
    /// The newest `limit` stored events, oldest first. Events of ignored
    /// users are left out.
    ///
    /// ```no_run
    /// # fn demo(room: quotient_client::room::Room) -> quotient_client::Result<()> {
    /// for event in room.latest_events(20)? {
    ///     println!("{}", event.json["content"]["body"]);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn latest_events(&self, limit: usize) -> Result<Vec<StoredEvent>> {
        let events = self.client.store()?.timeline(&self.id, limit)?;
        self.client.without_ignored(events)
    }

    /// The newest `limit` stored events followed by the local echoes of
    /// this room's unsent outbox entries; events of ignored users left
    /// out.
    pub fn timeline_items(&self, limit: usize) -> Result<Vec<TimelineItem>> {
        let (items, ignored) = {
            let store = self.client.store()?;
            let items = store.timeline_items(&self.id, limit)?;
            (items, store.ignored_user_ids()?)
        };
        Ok(items
            .into_iter()
            .filter(|item| match item {
                TimelineItem::Event(e) => !e
                    .json
                    .get("sender")
                    .and_then(Value::as_str)
                    .is_some_and(|s| ignored.contains(s)),
                TimelineItem::Pending(_) => true,
            })
            .collect())
    }

    /// Fetches one page (at most `limit` events) of older history before
    /// the newest gap and stores it ([`Client::paginate_back`](crate::Client::paginate_back)).
    pub async fn paginate_back(&self, limit: u32) -> Result<PaginationOutcome> {
        self.client.paginate_back(&self.id, limit).await
    }

    /// The event `event_id`: from the store if it has it, else fetched
    /// from the server (and decrypted if need be, not stored); see
    /// [`Client::room_event`](crate::Client::room_event).
    pub async fn event(&self, event_id: &EventId) -> Result<Value> {
        self.client.room_event(&self.id, event_id).await
    }

    /// The stored event `event_id`, if the store has it.
    pub fn stored_event(&self, event_id: &EventId) -> Result<Option<StoredEvent>> {
        self.client.store()?.event(&self.id, event_id)
    }

    /// The valid edits of `event_id` (by its own sender), oldest first.
    pub fn edits(&self, event_id: &EventId) -> Result<Vec<StoredEvent>> {
        self.client.store()?.edits(event_id)
    }

    /// The newest valid edit of `event_id`: what to show instead of it.
    pub fn latest_edit(&self, event_id: &EventId) -> Result<Option<StoredEvent>> {
        self.client.store()?.latest_edit(event_id)
    }

    /// The reactions to `event_id`, grouped by key, most reacted first.
    pub fn reactions(&self, event_id: &EventId) -> Result<Vec<ReactionGroup>> {
        self.client.store()?.reactions(event_id)
    }

    /// The latest receipts of each member (per type and thread).
    pub fn receipts(&self) -> Result<Vec<Receipt>> {
        self.client.store()?.receipts(&self.id)
    }

    /// The newest stored event's ID, `None` for an empty timeline.
    pub fn latest_event_id(&self) -> Result<Option<EventId>> {
        let events = self.client.store()?.timeline(&self.id, 1)?;
        Ok(events.into_iter().next_back().and_then(|e| e.event_id))
    }
}

//! A room event typed by its content, with its envelope as identifiers:
//! what handlers and watchers hand a program.

use quotient_api::{EventId, RoomId, UserId};
use serde_json::Value;

use super::{ContentError, Event, EventContent, Relation};

/// A timeline event of a room whose content is `C`, its JSON kept.
///
/// ```
/// use quotient_client::events::{MessageContent, RoomEvent};
/// let event = serde_json::json!({"type": "m.room.message", "event_id": "$1",
///     "sender": "@alice:example.org", "origin_server_ts": 5,
///     "content": {"msgtype": "m.text", "body": "hi",
///         "m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}});
/// let room = "!r:example.org".parse()?;
/// let typed = RoomEvent::<MessageContent>::from_json(room, event)?.unwrap();
/// assert_eq!(typed.sender().as_str(), "@alice:example.org");
/// assert_eq!(typed.content().body, "hi");
/// assert_eq!(typed.thread_root().unwrap().as_str(), "$root");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RoomEvent<C> {
    room_id: RoomId,
    event_id: EventId,
    sender: UserId,
    origin_server_ts: u64,
    content: C,
    event: Event,
}

impl<C: EventContent> RoomEvent<C> {
    /// Types `json`, an event of `room_id`: `Ok(None)` when its type is
    /// not `C`'s, an error when it is but its content, event ID or sender
    /// does not fit.
    pub fn from_json(room_id: RoomId, json: Value) -> Result<Option<Self>, ContentError> {
        let event = Event::new(json);
        if event.event_type() != Some(C::EVENT_TYPE) {
            return Ok(None);
        }
        let bad = |what: &str| ContentError::new(C::EVENT_TYPE, what);
        let event_id = event
            .event_id()
            .and_then(|id| EventId::parse(id).ok())
            .ok_or_else(|| bad("no valid event_id"))?;
        let sender = event
            .sender()
            .and_then(|s| UserId::parse(s).ok())
            .ok_or_else(|| bad("no valid sender"))?;
        let content = C::from_event(&event)?;
        Ok(Some(RoomEvent {
            room_id,
            event_id,
            sender,
            origin_server_ts: event.origin_server_ts().unwrap_or(0),
            content,
            event,
        }))
    }
}

impl<C> RoomEvent<C> {
    /// The room it is in.
    pub fn room_id(&self) -> &RoomId {
        &self.room_id
    }

    /// Its ID.
    pub fn event_id(&self) -> &EventId {
        &self.event_id
    }

    /// Who sent it.
    pub fn sender(&self) -> &UserId {
        &self.sender
    }

    /// The origin server's timestamp, in milliseconds since the epoch (0
    /// when absent).
    pub fn origin_server_ts(&self) -> u64 {
        self.origin_server_ts
    }

    /// The typed content.
    pub fn content(&self) -> &C {
        &self.content
    }

    /// The event as it came (decrypted, if it came encrypted).
    pub fn json(&self) -> &Value {
        self.event.json()
    }

    /// The untyped event, for its other envelope fields.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Its relation (`m.relates_to`), if it has one that parses.
    pub fn relation(&self) -> Option<Relation> {
        self.event.relation()?.ok()
    }

    /// The root of the thread it is in (`m.thread`), if it is in one.
    pub fn thread_root(&self) -> Option<EventId> {
        match self.relation()? {
            Relation::Thread { event_id, .. } => EventId::parse(event_id).ok(),
            _ => None,
        }
    }
}

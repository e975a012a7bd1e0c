//! An event as it came, with typed access to its envelope and content.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Content, ContentError, EventContent, Relation};

/// One event, its JSON always kept as it came.
///
/// Decoding an event never fails: a sync batch or a stored row is wrapped
/// as it is, and the fields are read on demand. The envelope accessors
/// return `None` when a field is absent or of the wrong JSON type;
/// [`content`](Event::content) returns an error for this event alone when
/// the content does not fit its type. So one odd event can neither fail a
/// batch nor lose data: written back ([`json`](Event::json), or through
/// `Serialize`), it is byte-for-byte the JSON value it was.
///
/// ```
/// use quotient_client::events::{Content, Event, MessageKind};
/// let event: Event = serde_json::from_str(r#"{
///     "type": "m.room.message", "event_id": "$1", "sender": "@alice:example.org",
///     "origin_server_ts": 1432735824653,
///     "content": {"msgtype": "m.text", "body": "hello"}
/// }"#).unwrap();
/// assert_eq!(event.sender(), Some("@alice:example.org"));
/// let Ok(Content::Message(message)) = event.content() else { panic!() };
/// assert_eq!(message.body, "hello");
/// assert!(matches!(message.kind, MessageKind::Text(_)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    json: Value,
}

impl Event {
    /// Wraps an event's JSON. Anything is accepted; a value that is not an
    /// object simply has no fields.
    pub fn new(json: Value) -> Self {
        Event { json }
    }

    /// The event as it came.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The event as it came, by value (to store it without a copy).
    pub fn into_json(self) -> Value {
        self.json
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.json.get(key).and_then(Value::as_str)
    }

    /// The event type (`type`), such as `m.room.message`.
    pub fn event_type(&self) -> Option<&str> {
        self.str_field("type")
    }

    /// The event ID (`event_id`); absent in stripped state.
    pub fn event_id(&self) -> Option<&str> {
        self.str_field("event_id")
    }

    /// The sender's user ID (`sender`).
    pub fn sender(&self) -> Option<&str> {
        self.str_field("sender")
    }

    /// The room ID (`room_id`); sync omits it inside a room's own section.
    pub fn room_id(&self) -> Option<&str> {
        self.str_field("room_id")
    }

    /// The origin server's timestamp in milliseconds (`origin_server_ts`).
    pub fn origin_server_ts(&self) -> Option<u64> {
        self.json.get("origin_server_ts").and_then(Value::as_u64)
    }

    /// The state key (`state_key`); its presence is what makes an event a
    /// state event, so an empty string is a state key too.
    pub fn state_key(&self) -> Option<&str> {
        self.str_field("state_key")
    }

    /// Whether this is a state event (it has a `state_key`).
    pub fn is_state(&self) -> bool {
        self.state_key().is_some()
    }

    /// The server's `unsigned` data (age, transaction ID, relations, …).
    pub fn unsigned(&self) -> Option<&Value> {
        self.json.get("unsigned").filter(|u| u.is_object())
    }

    /// The transaction ID the sending client gave (`unsigned.transaction_id`),
    /// which is how a client recognises the echo of its own send.
    pub fn transaction_id(&self) -> Option<&str> {
        self.unsigned()?.get("transaction_id")?.as_str()
    }

    /// Whether the server says this event was redacted
    /// (`unsigned.redacted_because` is present).
    pub fn is_redacted(&self) -> bool {
        self.unsigned()
            .is_some_and(|u| u.get("redacted_because").is_some())
    }

    /// The raw `content`, if it is an object.
    pub fn raw_content(&self) -> Option<&Value> {
        self.json.get("content").filter(|c| c.is_object())
    }

    /// The content, typed by the event type.
    ///
    /// An event type this library does not type is
    /// [`Content::Unknown`] (read it through [`raw_content`](Event::raw_content)),
    /// and so is an event with no `type`. A redacted event whose stripped
    /// content no longer fits is [`Content::Redacted`] rather than an error.
    pub fn content(&self) -> Result<Content, ContentError> {
        Content::from_event(self)
    }

    /// The content as the type `C`, whatever the event's `type` says; for a
    /// caller that already knows what it holds.
    pub fn content_as<C: EventContent>(&self) -> Result<C, ContentError> {
        C::from_event(self)
    }

    /// The event's relation (`content.m.relates_to`), if it has one.
    pub fn relation(&self) -> Option<Result<Relation, ContentError>> {
        let content = self.raw_content()?;
        Relation::from_content(content, self.event_type().unwrap_or_default())
    }
}

impl From<Value> for Event {
    fn from(json: Value) -> Self {
        Event::new(json)
    }
}

impl From<Event> for Value {
    fn from(event: Event) -> Self {
        event.json
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Event::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_fields_are_read_from_the_json() {
        let e = Event::new(json!({
            "type": "m.room.topic", "event_id": "$e", "sender": "@a:x", "room_id": "!r:x",
            "origin_server_ts": 5, "state_key": "", "content": {"topic": "t"},
            "unsigned": {"age": 1, "transaction_id": "txn1"}
        }));
        assert_eq!(e.event_type(), Some("m.room.topic"));
        assert_eq!(e.event_id(), Some("$e"));
        assert_eq!(e.sender(), Some("@a:x"));
        assert_eq!(e.room_id(), Some("!r:x"));
        assert_eq!(e.origin_server_ts(), Some(5));
        assert_eq!(e.state_key(), Some(""));
        assert!(e.is_state());
        assert_eq!(e.transaction_id(), Some("txn1"));
        assert!(!e.is_redacted());
    }

    #[test]
    fn wrong_json_types_read_as_absent_not_a_panic() {
        let e = Event::new(json!({"type": 1, "sender": [], "origin_server_ts": -1,
                                  "unsigned": "x", "content": 3}));
        assert_eq!(e.event_type(), None);
        assert_eq!(e.sender(), None);
        assert_eq!(e.origin_server_ts(), None);
        assert_eq!(e.unsigned(), None);
        assert_eq!(e.raw_content(), None);
        assert!(matches!(e.content(), Ok(Content::Unknown)));
        assert!(e.relation().is_none());
        let not_an_object = Event::new(json!("just a string"));
        assert_eq!(not_an_object.event_type(), None);
        assert!(!not_an_object.is_state());
    }

    #[test]
    fn the_json_round_trips_untouched() {
        let raw = r#"{"type":"org.example.custom","content":{"z":1,"a":[1.5,null]},"extra":true}"#;
        let e: Event = serde_json::from_str(raw).unwrap();
        assert!(matches!(e.content(), Ok(Content::Unknown)));
        let back: Value = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(raw).unwrap());
    }
}

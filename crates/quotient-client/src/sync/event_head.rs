//! What the writer reads of a room event, decoded from the event's own
//! JSON text, which is stored as it came (never re-encoded).
//!
//! An event fits when it decodes as the API's `ClientEventWithoutRoomId`
//! would: an `event_id` and a `sender` that parse, a string `type`, an
//! integer `origin_server_ts`, an object `content`, and an `unsigned` of
//! the right shape. One that does not is a malformed item, kept raw.

use std::borrow::Cow;

use quotient_api::generated::definitions::ClientEventWithoutRoomIdUnsigned;
use quotient_api::{EventId, UserId};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The fields of an event the writer needs; the rest stays in the text.
#[derive(Debug, Deserialize)]
pub(crate) struct EventHead<'a> {
    /// `event_id`.
    pub event_id: EventId,
    /// `type`.
    #[serde(rename = "type", borrow)]
    pub type_: Cow<'a, str>,
    /// `state_key`, for a state event.
    #[serde(default, borrow)]
    pub state_key: Option<Cow<'a, str>>,
    // Checked, not used: an event without a valid sender does not fit.
    #[allow(dead_code)]
    sender: UserId,
    #[allow(dead_code)]
    origin_server_ts: i64,
    #[serde(borrow)]
    content: &'a RawValue,
    /// `unsigned`, for the transaction ID of our own echo.
    #[serde(default)]
    pub unsigned: Option<ClientEventWithoutRoomIdUnsigned>,
}

/// Only whether `content` has a relation (the one key looked at).
#[derive(Deserialize)]
struct ContentHead<'a> {
    #[serde(rename = "m.relates_to", borrow, default)]
    relates_to: Option<&'a RawValue>,
}

impl<'a> EventHead<'a> {
    /// Decodes the head of `text`; the error is why the event does not fit.
    pub fn parse(text: &'a str) -> Result<Self, String> {
        let head: EventHead<'a> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if !head.content.get().starts_with('{') {
            return Err("invalid type for `content`: expected an object".to_owned());
        }
        Ok(head)
    }

    /// Whether its content has `m.relates_to` (then the relation is read
    /// from the whole event).
    pub fn has_relation(&self) -> bool {
        serde_json::from_str::<ContentHead<'_>>(self.content.get())
            .map(|c| c.relates_to.is_some())
            .unwrap_or(false)
    }

    /// The transaction ID our own events come back with.
    pub fn transaction_id(&self) -> Option<&str> {
        self.unsigned.as_ref()?.transaction_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quotient_api::generated::definitions::ClientEventWithoutRoomId;

    /// The head accepts exactly what the API's event type accepts.
    #[test]
    fn an_event_fits_when_the_api_type_takes_it() {
        let cases = [
            r#"{"type":"m.room.message","event_id":"$a","sender":"@a:x","origin_server_ts":1,"content":{}}"#,
            r#"{"type":"m.room.message","event_id":"$a","sender":"nobody","origin_server_ts":1,"content":{}}"#,
            r#"{"type":"m.room.message","event_id":"a","sender":"@a:x","origin_server_ts":1,"content":{}}"#,
            r#"{"type":"m.room.message","event_id":"$a","sender":"@a:x","content":{}}"#,
            r#"{"type":"m.room.message","event_id":"$a","sender":"@a:x","origin_server_ts":1,"content":[]}"#,
            r#"{"type":"m.room.message","event_id":"$a","sender":"@a:x","origin_server_ts":1}"#,
            r#"{"type":7,"event_id":"$a","sender":"@a:x","origin_server_ts":1,"content":{}}"#,
            r#"{"type":"m.room.name","state_key":"","event_id":"$a","sender":"@a:x","origin_server_ts":1,"content":{},"unsigned":{"age":"old"}}"#,
            r#"{"type":"m.room.name","state_key":"","event_id":"$a","sender":"@a:x","origin_server_ts":1,"content":{},"unsigned":{"transaction_id":"t"}}"#,
        ];
        for text in cases {
            let api = serde_json::from_str::<ClientEventWithoutRoomId>(text).is_ok();
            assert_eq!(EventHead::parse(text).is_ok(), api, "{text}");
        }
        let head = EventHead::parse(cases[8]).unwrap();
        assert_eq!(head.transaction_id(), Some("t"));
        assert_eq!(head.state_key.as_deref(), Some(""));
    }

    #[test]
    fn a_relation_is_seen_in_the_content_only() {
        let with = r#"{"type":"m.reaction","event_id":"$a","sender":"@a:x","origin_server_ts":1,"content":{"m.relates_to":{"rel_type":"m.annotation"}}}"#;
        let without = r#"{"type":"m.room.message","event_id":"$a","sender":"@a:x","origin_server_ts":1,"content":{"body":"m.relates_to"},"m.relates_to":1}"#;
        assert!(EventHead::parse(with).unwrap().has_relation());
        assert!(!EventHead::parse(without).unwrap().has_relation());
    }
}

//! `m.room.redaction`: a request to strip another event.

use serde::Deserialize;
use serde_json::Value;

use super::content::decode;
use super::lenient::or_none;
use super::{ContentError, Event, EventContent};

const EVENT_TYPE: &str = "m.room.redaction";

/// The content of an `m.room.redaction` event.
///
/// Room versions 1–10 put `redacts` at the top level of the event, 11 and
/// later in the content; [`Event::content`] reads either, the content
/// first, so one type serves every room.
///
/// ```
/// use quotient_client::events::{Content, Event};
/// let old_room = Event::new(serde_json::json!({
///     "type": "m.room.redaction", "redacts": "$spam", "content": {"reason": "spam"}
/// }));
/// let Ok(Content::Redaction(r)) = old_room.content() else { panic!() };
/// assert_eq!(r.redacts.as_str(), "$spam");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedactionContent {
    /// The event to redact.
    pub redacts: quotient_api::EventId,
    /// Why, if the redacting user said.
    pub reason: Option<String>,
}

#[derive(Deserialize)]
struct Fields {
    #[serde(default, deserialize_with = "or_none")]
    redacts: Option<String>,
    #[serde(default, deserialize_with = "or_none")]
    reason: Option<String>,
}

impl RedactionContent {
    fn build(fields: Fields, top_level: Option<&str>) -> Result<Self, ContentError> {
        let redacts = fields
            .redacts
            .or_else(|| top_level.map(str::to_owned))
            .ok_or_else(|| {
                ContentError::new(EVENT_TYPE, "no `redacts` in the content or the event")
            })?;
        let redacts = quotient_api::EventId::parse(redacts)
            .map_err(|e| ContentError::new(EVENT_TYPE, format!("`redacts`: {e}")))?;
        Ok(RedactionContent {
            redacts,
            reason: fields.reason,
        })
    }
}

impl EventContent for RedactionContent {
    const EVENT_TYPE: &'static str = EVENT_TYPE;

    /// The content alone knows `redacts` only from room version 11 on; use
    /// [`Event::content`] to read the top level too.
    fn from_content(content: &Value) -> Result<Self, ContentError> {
        Self::build(decode(EVENT_TYPE, content)?, None)
    }

    fn from_event(event: &Event) -> Result<Self, ContentError> {
        let top_level = event.json().get("redacts").and_then(Value::as_str);
        let fields = match event.raw_content() {
            Some(content) => decode(EVENT_TYPE, content)?,
            None => Fields {
                redacts: None,
                reason: None,
            },
        };
        Self::build(fields, top_level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from_event(json: Value) -> Result<RedactionContent, ContentError> {
        RedactionContent::from_event(&Event::new(json))
    }

    #[test]
    fn redacts_in_the_content_as_in_v11() {
        let r = from_event(json!({"content": {"redacts": "$a", "reason": "r"}})).unwrap();
        assert_eq!(
            r,
            RedactionContent {
                redacts: quotient_api::EventId::parse("$a").unwrap(),
                reason: Some("r".into())
            }
        );
    }

    #[test]
    fn redacts_at_the_top_level_as_in_v1_to_v10() {
        let r = from_event(json!({"redacts": "$a", "content": {}})).unwrap();
        assert_eq!(r.redacts.as_str(), "$a");
        let no_content = from_event(json!({"redacts": "$a"})).unwrap();
        assert_eq!(no_content.redacts.as_str(), "$a");
    }

    #[test]
    fn the_content_wins_when_both_are_given() {
        let r = from_event(json!({"redacts": "$top", "content": {"redacts": "$content"}})).unwrap();
        assert_eq!(r.redacts.as_str(), "$content");
    }

    #[test]
    fn no_redacts_anywhere_is_an_error() {
        assert!(from_event(json!({"content": {"reason": "r"}})).is_err());
        assert!(RedactionContent::from_content(&json!({})).is_err());
    }
}

//! `m.reaction`: an annotation (usually an emoji) on another event.

use serde_json::Value;

use super::{ContentError, EventContent, Relation};

const EVENT_TYPE: &str = "m.reaction";

/// The content of an `m.reaction` event: the annotation its
/// `m.relates_to` carries, which is all a reaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionContent {
    /// The event reacted to.
    pub event_id: quotient_api::EventId,
    /// The reaction, such as `👍`.
    pub key: String,
}

impl EventContent for ReactionContent {
    const EVENT_TYPE: &'static str = EVENT_TYPE;

    fn from_content(content: &Value) -> Result<Self, ContentError> {
        match Relation::from_content(content, EVENT_TYPE) {
            Some(Ok(Relation::Annotation { event_id, key })) => {
                let event_id = quotient_api::EventId::parse(event_id).map_err(|e| {
                    ContentError::new(EVENT_TYPE, format!("the annotated event: {e}"))
                })?;
                Ok(ReactionContent { event_id, key })
            }
            Some(Ok(_)) => Err(ContentError::new(
                EVENT_TYPE,
                "the relation is not an m.annotation",
            )),
            Some(Err(e)) => Err(e),
            None => Err(ContentError::new(EVENT_TYPE, "no `m.relates_to`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_reaction_is_its_annotation() {
        let r = ReactionContent::from_content(&json!({"m.relates_to": {
            "rel_type": "m.annotation", "event_id": "$a", "key": "🎉"}}))
        .unwrap();
        assert_eq!((r.event_id.as_str(), r.key.as_str()), ("$a", "🎉"));
    }

    #[test]
    fn a_reaction_without_an_annotation_is_an_error() {
        assert!(ReactionContent::from_content(&json!({})).is_err());
        assert!(ReactionContent::from_content(&json!({"m.relates_to": {
            "rel_type": "m.reference", "event_id": "$a"}}))
        .is_err());
    }
}

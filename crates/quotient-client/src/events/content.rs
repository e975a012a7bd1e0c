//! Typed content, chosen by the event type.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    AvatarContent, CanonicalAliasContent, ContentError, CreateContent, EncryptedContent,
    EncryptionContent, Event, HistoryVisibilityContent, JoinRulesContent, MemberContent,
    MessageContent, NameContent, PowerLevelsContent, ReactionContent, RedactionContent,
    TombstoneContent, TopicContent,
};

/// The content of one event type, typed.
///
/// `from_event` exists beside `from_content` because a few types read the
/// envelope too (a redaction's `redacts` sat at the top level before room
/// version 11).
pub trait EventContent: Sized {
    /// The event type this content belongs to.
    const EVENT_TYPE: &'static str;

    /// Decodes the `content` object.
    fn from_content(content: &Value) -> Result<Self, ContentError>;

    /// Decodes the content of `event`.
    fn from_event(event: &Event) -> Result<Self, ContentError> {
        match event.raw_content() {
            Some(content) => Self::from_content(content),
            None => Err(ContentError::new(Self::EVENT_TYPE, "no content object")),
        }
    }
}

/// Decodes `content` with serde, without copying it.
pub(crate) fn decode<C: DeserializeOwned>(
    event_type: &str,
    content: &Value,
) -> Result<C, ContentError> {
    C::deserialize(content).map_err(|e| ContentError::new(event_type, e))
}

/// Implements [`EventContent`] through `Deserialize`.
macro_rules! serde_content {
    ($($ty:ty => $event_type:literal,)*) => {$(
        impl EventContent for $ty {
            const EVENT_TYPE: &'static str = $event_type;
            fn from_content(content: &Value) -> Result<Self, ContentError> {
                $crate::events::content::decode(Self::EVENT_TYPE, content)
            }
        }
    )*};
}
pub(crate) use serde_content;

macro_rules! content_enum {
    ($($variant:ident($ty:ty),)*) => {
        /// An event's content, typed by its `type`.
        ///
        /// New variants may come with new typed events, hence
        /// `non_exhaustive`.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Content {
            $(
                #[doc = concat!("`", stringify!($ty), "`'s event type.")]
                $variant($ty),
            )*
            /// A type this library does not type (or no `type` at all): the
            /// event's JSON is the value.
            Unknown,
            /// A redacted event whose stripped content no longer fits its
            /// type (a message without `body`, say).
            Redacted,
        }

        impl Content {
            pub(crate) fn from_event(event: &Event) -> Result<Content, ContentError> {
                let typed = match event.event_type() {
                    $( Some(<$ty as EventContent>::EVENT_TYPE) =>
                        <$ty>::from_event(event).map(Content::$variant), )*
                    _ => return Ok(Content::Unknown),
                };
                match typed {
                    Err(_) if event.is_redacted() => Ok(Content::Redacted),
                    other => other,
                }
            }
        }
    };
}

content_enum! {
    Message(MessageContent),
    Member(MemberContent),
    Create(CreateContent),
    Name(NameContent),
    Topic(TopicContent),
    Avatar(AvatarContent),
    CanonicalAlias(CanonicalAliasContent),
    JoinRules(JoinRulesContent),
    HistoryVisibility(HistoryVisibilityContent),
    PowerLevels(PowerLevelsContent),
    Encryption(EncryptionContent),
    Tombstone(TombstoneContent),
    Reaction(ReactionContent),
    Redaction(RedactionContent),
    Encrypted(EncryptedContent),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_that_does_not_fit_is_an_error_for_that_event() {
        let e = Event::new(json!({"type": "m.room.member", "content": {"membership": 3}}));
        let err = e.content().unwrap_err();
        assert_eq!(err.event_type, "m.room.member");
        assert!(
            err.reason.contains("membership") || err.reason.contains("string"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_content_object_is_an_error() {
        let e = Event::new(json!({"type": "m.room.name"}));
        assert!(e.content().is_err());
    }

    #[test]
    fn a_redacted_event_is_redacted_not_an_error() {
        let e = Event::new(json!({"type": "m.room.message", "content": {},
            "unsigned": {"redacted_because": {"type": "m.room.redaction"}}}));
        assert_eq!(e.content(), Ok(Content::Redacted));
    }

    #[test]
    fn content_as_ignores_the_type() {
        let e = Event::new(json!({"type": "org.example.name", "content": {"name": "N"}}));
        assert_eq!(e.content(), Ok(Content::Unknown));
        let name: NameContent = e.content_as().unwrap();
        assert_eq!(name.name.as_deref(), Some("N"));
    }
}

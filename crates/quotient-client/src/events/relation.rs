//! `m.relates_to`: how an event relates to another (an edit, a reaction,
//! a reference, a thread, a reply).

use serde::Deserialize;
use serde_json::Value;

use super::content::decode;
use super::{ContentError, EventContent, MessageContent};

/// An event's relation to another event, from `content.m.relates_to`.
///
/// ```
/// use quotient_client::events::{Event, Relation};
/// let edit = Event::new(serde_json::json!({"type": "m.room.message", "content": {
///     "msgtype": "m.text", "body": "* fixed",
///     "m.new_content": {"msgtype": "m.text", "body": "fixed"},
///     "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}
/// }}));
/// let relation = edit.relation().unwrap().unwrap();
/// assert_eq!(relation.event_id(), Some("$orig"));
/// assert_eq!(relation.new_message().unwrap().unwrap().body, "fixed");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Relation {
    /// An edit (`m.replace`) of `event_id`.
    Replace {
        /// The event edited.
        event_id: String,
        /// The content that replaces the original (`m.new_content`, beside
        /// `m.relates_to`); raw, as the edited event may be of any type.
        /// `None` when absent (as in an encrypted edit, where it sits in
        /// the ciphertext).
        new_content: Option<Value>,
    },
    /// A reaction or other annotation (`m.annotation`).
    Annotation {
        /// The event annotated.
        event_id: String,
        /// The annotation, such as an emoji.
        key: String,
    },
    /// A reference (`m.reference`), as key verification uses.
    Reference {
        /// The event referred to.
        event_id: String,
    },
    /// A message in a thread (`m.thread`).
    Thread {
        /// The thread's root event.
        event_id: String,
        /// Whether `in_reply_to` is only the fallback for clients without
        /// threads (true) or a real reply within the thread (false).
        is_falling_back: bool,
        /// The event replied to (`m.in_reply_to`), if any.
        in_reply_to: Option<String>,
    },
    /// A reply (`m.in_reply_to` with no `rel_type`).
    Reply {
        /// The event replied to.
        in_reply_to: String,
    },
    /// A relation type this library does not type; the raw JSON has it all.
    Other {
        /// The `rel_type`, if any.
        rel_type: Option<String>,
        /// The related event, if given.
        event_id: Option<String>,
    },
}

#[derive(Deserialize)]
struct RelatesTo {
    #[serde(default)]
    rel_type: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    is_falling_back: Option<bool>,
    #[serde(rename = "m.in_reply_to", default)]
    in_reply_to: Option<InReplyTo>,
}

#[derive(Deserialize)]
struct InReplyTo {
    event_id: String,
}

impl Relation {
    /// The relation of an event whose content is `content`; `None` when it
    /// has no `m.relates_to`. `event_type` only labels errors.
    pub fn from_content(
        content: &Value,
        event_type: &str,
    ) -> Option<Result<Relation, ContentError>> {
        let relates_to = content.get("m.relates_to")?;
        let new_content = content.get("m.new_content");
        Some(Self::decode(relates_to, new_content, event_type))
    }

    fn decode(
        relates_to: &Value,
        new_content: Option<&Value>,
        event_type: &str,
    ) -> Result<Relation, ContentError> {
        let r: RelatesTo = decode(event_type, relates_to)?;
        let needs_event_id = |rel_type: &str| {
            r.event_id.clone().ok_or_else(|| {
                ContentError::new(
                    event_type,
                    format!("{rel_type} relation without `event_id`"),
                )
            })
        };
        Ok(match r.rel_type.as_deref() {
            Some("m.replace") => Relation::Replace {
                event_id: needs_event_id("m.replace")?,
                new_content: new_content.cloned(),
            },
            Some("m.annotation") => Relation::Annotation {
                event_id: needs_event_id("m.annotation")?,
                key: r.key.clone().ok_or_else(|| {
                    ContentError::new(event_type, "m.annotation relation without `key`")
                })?,
            },
            Some("m.reference") => Relation::Reference {
                event_id: needs_event_id("m.reference")?,
            },
            Some("m.thread") => Relation::Thread {
                event_id: needs_event_id("m.thread")?,
                is_falling_back: r.is_falling_back.unwrap_or(false),
                in_reply_to: r.in_reply_to.map(|i| i.event_id),
            },
            None => match r.in_reply_to {
                Some(InReplyTo { event_id }) => Relation::Reply {
                    in_reply_to: event_id,
                },
                None => Relation::Other {
                    rel_type: None,
                    event_id: r.event_id,
                },
            },
            Some(other) => Relation::Other {
                rel_type: Some(other.to_owned()),
                event_id: r.event_id,
            },
        })
    }

    /// The event this one relates to: the edited, annotated or referenced
    /// event, the thread root, or the event replied to.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Relation::Replace { event_id, .. }
            | Relation::Annotation { event_id, .. }
            | Relation::Reference { event_id }
            | Relation::Thread { event_id, .. } => Some(event_id),
            Relation::Reply { in_reply_to } => Some(in_reply_to),
            Relation::Other { event_id, .. } => event_id.as_deref(),
        }
    }

    /// The event replied to, for a reply and for a thread message that
    /// replies (or falls back to replying) to one.
    pub fn in_reply_to(&self) -> Option<&str> {
        match self {
            Relation::Reply { in_reply_to } => Some(in_reply_to),
            Relation::Thread { in_reply_to, .. } => in_reply_to.as_deref(),
            _ => None,
        }
    }

    /// An edit's new content as a message; `None` unless this is an
    /// `m.replace` with `m.new_content`.
    pub fn new_message(&self) -> Option<Result<MessageContent, ContentError>> {
        match self {
            Relation::Replace {
                new_content: Some(content),
                ..
            } => Some(MessageContent::from_content(content)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn relation(content: Value) -> Option<Result<Relation, ContentError>> {
        Relation::from_content(&content, "m.room.message")
    }

    fn ok(content: Value) -> Relation {
        relation(content).expect("a relation").expect("a valid one")
    }

    #[test]
    fn no_relates_to_no_relation() {
        assert!(relation(json!({"body": "x"})).is_none());
    }

    #[test]
    fn an_edit_carries_its_new_content() {
        let r = ok(
            json!({"m.relates_to": {"rel_type": "m.replace", "event_id": "$a"},
            "m.new_content": {"msgtype": "m.text", "body": "new"}}),
        );
        assert_eq!(r.event_id(), Some("$a"));
        assert_eq!(
            r.new_message()
                .and_then(Result::ok)
                .map(|m| m.body)
                .as_deref(),
            Some("new")
        );
        let without = ok(json!({"m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}));
        assert_eq!(
            without,
            Relation::Replace {
                event_id: "$a".into(),
                new_content: None
            }
        );
        assert!(without.new_message().is_none());
    }

    #[test]
    fn an_annotation_needs_its_key() {
        let r = ok(
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$a", "key": "👍"}}),
        );
        assert_eq!(
            r,
            Relation::Annotation {
                event_id: "$a".into(),
                key: "👍".into()
            }
        );
        assert!(
            relation(json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$a"}}))
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn a_reference() {
        let r = ok(json!({"m.relates_to": {"rel_type": "m.reference", "event_id": "$a"}}));
        assert_eq!(
            r,
            Relation::Reference {
                event_id: "$a".into()
            }
        );
    }

    #[test]
    fn a_thread_with_its_reply_fallback() {
        let r = ok(
            json!({"m.relates_to": {"rel_type": "m.thread", "event_id": "$root",
            "is_falling_back": true, "m.in_reply_to": {"event_id": "$last"}}}),
        );
        assert_eq!(
            r,
            Relation::Thread {
                event_id: "$root".into(),
                is_falling_back: true,
                in_reply_to: Some("$last".into())
            }
        );
        assert_eq!(r.in_reply_to(), Some("$last"));
        let bare = ok(json!({"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}));
        assert_eq!(
            bare,
            Relation::Thread {
                event_id: "$root".into(),
                is_falling_back: false,
                in_reply_to: None
            }
        );
    }

    #[test]
    fn a_plain_reply() {
        let r = ok(json!({"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}}));
        assert_eq!(
            r,
            Relation::Reply {
                in_reply_to: "$q".into()
            }
        );
        assert_eq!(r.event_id(), Some("$q"));
    }

    #[test]
    fn unknown_relations_are_kept_as_other() {
        let r = ok(json!({"m.relates_to": {"rel_type": "org.example.vote", "event_id": "$p"}}));
        assert_eq!(
            r,
            Relation::Other {
                rel_type: Some("org.example.vote".into()),
                event_id: Some("$p".into())
            }
        );
        assert_eq!(
            ok(json!({"m.relates_to": {}})),
            Relation::Other {
                rel_type: None,
                event_id: None
            }
        );
    }

    #[test]
    fn malformed_relations_are_errors_not_panics() {
        for bad in [
            json!({"m.relates_to": "nope"}),
            json!({"m.relates_to": {"rel_type": "m.replace"}}),
            json!({"m.relates_to": {"rel_type": 5, "event_id": "$a"}}),
            json!({"m.relates_to": {"m.in_reply_to": {}}}),
        ] {
            assert!(relation(bad.clone()).unwrap().is_err(), "{bad}");
        }
    }
}

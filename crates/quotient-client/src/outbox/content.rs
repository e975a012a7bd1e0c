//! Building the common events to send: messages of each kind, replies,
//! edits, reactions, redactions and state.

use quotient_api::{EventId, JsonObject};
use serde_json::{json, Value};

use super::entry::OutgoingEvent;

const MESSAGE: &str = "m.room.message";
/// The `format` of an HTML `formatted_body`.
pub const HTML_FORMAT: &str = "org.matrix.custom.html";

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn message(msgtype: &str, body: &str, html: Option<&str>) -> OutgoingEvent {
    let mut content = object(json!({"msgtype": msgtype, "body": body}));
    if let Some(html) = html {
        content.insert("format".into(), HTML_FORMAT.into());
        content.insert("formatted_body".into(), html.into());
    }
    OutgoingEvent::Message {
        event_type: MESSAGE.into(),
        content,
    }
}

impl OutgoingEvent {
    /// An `m.text` message.
    ///
    /// ```
    /// use quotient_client::outbox::OutgoingEvent;
    /// let event = OutgoingEvent::text("hello").reply_to(&"$question:example.org".parse()?);
    /// assert_eq!(event.content()["m.relates_to"]["m.in_reply_to"]["event_id"], "$question:example.org");
    /// # Ok::<(), quotient_api::IdError>(())
    /// ```
    pub fn text(body: &str) -> Self {
        message("m.text", body, None)
    }

    /// An `m.text` message with an HTML version (`formatted_body`);
    /// `body` is the plain-text version for clients that show no HTML.
    pub fn html(body: &str, html: &str) -> Self {
        message("m.text", body, Some(html))
    }

    /// An `m.notice`: what bots send (clients do not answer it
    /// automatically).
    pub fn notice(body: &str) -> Self {
        message("m.notice", body, None)
    }

    /// An `m.emote`: an action, shown as "* Alice waves".
    pub fn emote(body: &str) -> Self {
        message("m.emote", body, None)
    }

    /// A message of any `msgtype` with its own content (an image whose
    /// URI is known, a location, a custom kind).
    pub fn message(content: JsonObject) -> Self {
        OutgoingEvent::Message {
            event_type: MESSAGE.into(),
            content,
        }
    }

    /// A file message without its `url` yet (the outbox adds it once
    /// uploaded, with `info.size` and `info.mimetype`): `m.image`,
    /// `m.video` or `m.audio` by `content_type`, else `m.file`. The body is
    /// `caption` if given, with `file_name` as `filename`; else the file
    /// name.
    pub(crate) fn file(content_type: &str, file_name: &str, caption: Option<&str>) -> Self {
        let msgtype = match content_type.split('/').next() {
            Some("image") => "m.image",
            Some("video") => "m.video",
            Some("audio") => "m.audio",
            _ => "m.file",
        };
        let mut content = object(json!({"msgtype": msgtype, "body": caption.unwrap_or(file_name)}));
        if caption.is_some() {
            content.insert("filename".into(), file_name.into());
        }
        OutgoingEvent::Message {
            event_type: MESSAGE.into(),
            content,
        }
    }

    /// Makes this message a reply to `event_id` (`m.in_reply_to`). Other
    /// events are left as they are.
    pub fn reply_to(mut self, event_id: &EventId) -> Self {
        if let OutgoingEvent::Message { content, .. } = &mut self {
            let relates = content
                .entry("m.relates_to")
                .or_insert_with(|| Value::Object(JsonObject::new()));
            if let Value::Object(relates) = relates {
                relates.insert(
                    "m.in_reply_to".into(),
                    json!({"event_id": event_id.as_str()}),
                );
            }
        }
        self
    }

    /// An edit (`m.replace`) of `target` to `new`'s content: `new` (a
    /// message) becomes `m.new_content`, and the edit's own body is the
    /// usual "* new body" fallback for clients that show no edits.
    pub fn edit(target: &EventId, new: OutgoingEvent) -> Self {
        let mut new_content = new.content();
        // A replacement's new content carries no relation of its own.
        new_content.remove("m.relates_to");
        let mut content = new_content.clone();
        for key in ["body", "formatted_body"] {
            if let Some(Value::String(text)) = content.get_mut(key) {
                *text = format!("* {text}");
            }
        }
        content.insert("m.new_content".into(), Value::Object(new_content));
        content.insert(
            "m.relates_to".into(),
            json!({"rel_type": "m.replace", "event_id": target.as_str()}),
        );
        OutgoingEvent::Message {
            event_type: new.event_type().to_owned(),
            content,
        }
    }

    /// A reaction (`m.annotation`) to `target` with `key` (usually an emoji).
    pub fn reaction(target: &EventId, key: &str) -> Self {
        OutgoingEvent::Message {
            event_type: "m.reaction".into(),
            content: object(json!({"m.relates_to": {
                "rel_type": "m.annotation", "event_id": target.as_str(), "key": key
            }})),
        }
    }

    /// A redaction of `target`, with an optional reason shown to the room.
    pub fn redaction(target: &EventId, reason: Option<&str>) -> Self {
        OutgoingEvent::Redaction {
            redacts: target.clone(),
            reason: reason.map(str::to_owned),
        }
    }

    /// A state event (`m.room.name`, `m.room.topic`, …).
    pub fn state(event_type: &str, state_key: &str, content: JsonObject) -> Self {
        OutgoingEvent::State {
            event_type: event_type.to_owned(),
            state_key: state_key.to_owned(),
            content,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventContent, MessageContent, MessageKind, Relation};

    fn id(s: &str) -> EventId {
        s.parse().unwrap()
    }

    #[test]
    fn each_kind_reads_back_as_the_kind_it_was_built_as() {
        let cases = [
            (OutgoingEvent::text("a"), "m.text"),
            (OutgoingEvent::notice("b"), "m.notice"),
            (OutgoingEvent::emote("c"), "m.emote"),
            (OutgoingEvent::html("d", "<b>d</b>"), "m.text"),
        ];
        for (event, msgtype) in cases {
            assert_eq!(event.event_type(), MESSAGE);
            let content = Value::Object(event.content());
            let read = MessageContent::from_content(&content).unwrap();
            assert_eq!(read.kind.msgtype(), msgtype);
        }
        let html = Value::Object(OutgoingEvent::html("d", "<b>d</b>").content());
        let MessageKind::Text(formatted) = MessageContent::from_content(&html).unwrap().kind else {
            panic!("not a text message")
        };
        assert_eq!(formatted.html(), Some("<b>d</b>"));
    }

    #[test]
    fn a_file_message_takes_its_kind_from_the_content_type() {
        for (content_type, msgtype) in [
            ("image/png", "m.image"),
            ("video/mp4", "m.video"),
            ("audio/ogg", "m.audio"),
            ("application/pdf", "m.file"),
            ("nonsense", "m.file"),
        ] {
            let content = OutgoingEvent::file(content_type, "f.bin", None).content();
            assert_eq!(content["msgtype"], msgtype, "{content_type}");
            assert_eq!(content["body"], "f.bin");
            assert!(content.get("filename").is_none());
        }
        let captioned = OutgoingEvent::file("image/png", "cat.png", Some("my cat")).content();
        assert_eq!(
            (&captioned["body"], &captioned["filename"]),
            (&json!("my cat"), &json!("cat.png"))
        );
    }

    #[test]
    fn an_edit_carries_the_new_content_and_a_fallback_body() {
        let edit = OutgoingEvent::edit(&id("$t:x"), OutgoingEvent::html("new", "<i>new</i>"));
        let content = edit.content();
        assert_eq!(content["body"], "* new");
        assert_eq!(content["formatted_body"], "* <i>new</i>");
        assert_eq!(content["m.new_content"]["body"], "new");
        assert_eq!(content["m.new_content"]["formatted_body"], "<i>new</i>");
        let relation = Relation::from_content(&Value::Object(content), MESSAGE)
            .unwrap()
            .unwrap();
        let Relation::Replace {
            event_id,
            new_content,
        } = relation
        else {
            panic!("not an edit: {relation:?}")
        };
        assert_eq!(event_id, "$t:x");
        assert_eq!(new_content.unwrap()["body"], "new");
    }

    #[test]
    fn a_reply_of_an_edit_is_not_carried_into_the_new_content() {
        let edit = OutgoingEvent::edit(&id("$t:x"), OutgoingEvent::text("n").reply_to(&id("$q:x")));
        assert!(edit.content()["m.new_content"]
            .get("m.relates_to")
            .is_none());
        assert_eq!(edit.content()["m.relates_to"]["rel_type"], "m.replace");
    }

    #[test]
    fn a_reaction_is_an_annotation_with_its_key() {
        let content = Value::Object(OutgoingEvent::reaction(&id("$t:x"), "👍").content());
        let relation = Relation::from_content(&content, "m.reaction")
            .unwrap()
            .unwrap();
        assert_eq!(
            relation,
            Relation::Annotation {
                event_id: "$t:x".into(),
                key: "👍".into()
            }
        );
    }

    #[test]
    fn a_redaction_keeps_its_reason_and_a_state_event_its_key() {
        let redaction = OutgoingEvent::redaction(&id("$t:x"), Some("spam"));
        assert_eq!(redaction.event_type(), "m.room.redaction");
        assert_eq!(redaction.content()["reason"], "spam");
        assert!(OutgoingEvent::redaction(&id("$t:x"), None)
            .content()
            .is_empty());
        let state = OutgoingEvent::state("m.room.topic", "", object(json!({"topic": "t"})));
        assert!(
            matches!(state, OutgoingEvent::State { ref state_key, .. } if state_key.is_empty())
        );
    }
}

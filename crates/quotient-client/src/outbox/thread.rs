//! Putting a message into a thread (`m.thread`), with the reply fallback
//! the spec gives clients that show no threads.

use quotient_api::EventId;
#[cfg(test)]
use quotient_api::JsonObject;
use serde_json::{json, Value};

use super::entry::OutgoingEvent;

impl OutgoingEvent {
    /// Puts this message into the thread rooted at `root`. `latest` is
    /// the thread's newest event: clients without threads show the
    /// message as a reply to it (`is_falling_back: true`, as the
    /// [spec](https://spec.matrix.org/v1.19/client-server-api/#fallback-for-unthreaded-clients)
    /// says). Events other than messages are left as they are.
    ///
    /// ```
    /// use quotient_client::outbox::OutgoingEvent;
    /// let (root, latest) = ("$root:x".parse()?, "$last:x".parse()?);
    /// let content = OutgoingEvent::text("me too").in_thread(&root, &latest).content();
    /// let relates = &content["m.relates_to"];
    /// assert_eq!(relates["rel_type"], "m.thread");
    /// assert_eq!(relates["event_id"], "$root:x");
    /// assert_eq!(relates["is_falling_back"], true);
    /// assert_eq!(relates["m.in_reply_to"]["event_id"], "$last:x");
    /// # Ok::<(), quotient_api::IdError>(())
    /// ```
    pub fn in_thread(self, root: &EventId, latest: &EventId) -> Self {
        self.threaded(root, latest, true)
    }

    /// Puts this message into the thread rooted at `root` as a real reply
    /// to `to`, an event of that thread (`is_falling_back: false`).
    pub fn reply_in_thread(self, root: &EventId, to: &EventId) -> Self {
        self.threaded(root, to, false)
    }

    fn threaded(mut self, root: &EventId, reply_to: &EventId, falling_back: bool) -> Self {
        if let OutgoingEvent::Message { content, .. } = &mut self {
            let relation = json!({
                "rel_type": "m.thread",
                "event_id": root.as_str(),
                "is_falling_back": falling_back,
                "m.in_reply_to": {"event_id": reply_to.as_str()},
            });
            if let Value::Object(relation) = relation {
                content.insert("m.relates_to".into(), Value::Object(relation));
            }
        }
        self
    }
}

/// The `m.relates_to` of a thread event, for tests and callers building
/// content by hand.
#[cfg(test)]
fn relation_of(event: &OutgoingEvent) -> Option<JsonObject> {
    event.content().get("m.relates_to")?.as_object().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Relation;

    #[test]
    fn a_thread_reply_reads_back_as_a_thread_relation() {
        let root: EventId = "$root:x".parse().unwrap();
        let to: EventId = "$q:x".parse().unwrap();
        let event = OutgoingEvent::notice("a").reply_in_thread(&root, &to);
        let relation = Relation::from_content(&Value::Object(event.content()), "m.room.message")
            .unwrap()
            .unwrap();
        assert_eq!(
            relation,
            Relation::Thread {
                event_id: "$root:x".into(),
                is_falling_back: false,
                in_reply_to: Some("$q:x".into()),
            }
        );
        // A reply relation already there is replaced, not merged.
        let replaced = OutgoingEvent::text("b")
            .reply_to(&"$old:x".parse().unwrap())
            .in_thread(&root, &to);
        assert_eq!(relation_of(&replaced).unwrap()["rel_type"], "m.thread");
        let state = OutgoingEvent::state("m.room.topic", "", JsonObject::new());
        assert_eq!(state.clone().in_thread(&root, &to), state);
    }
}

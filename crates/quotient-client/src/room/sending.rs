//! Sending into a room through the outbox: messages, files, reactions,
//! edits, redactions, replies, answers and state, each checked against
//! the power levels first.

use std::path::Path;

use quotient_api::{EventId, JsonObject, MxcUri};
use serde_json::{json, Value};

use super::{Room, RoomAction};
use crate::error::Result;
use crate::events::RoomEvent;
use crate::outbox::{FileMessage, OutgoingEvent, PendingSend};

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn action_of(event: &OutgoingEvent) -> Option<RoomAction> {
    match event {
        OutgoingEvent::Message { event_type, .. } => Some(RoomAction::Send(event_type.clone())),
        OutgoingEvent::State { event_type, .. } => Some(RoomAction::SetState(event_type.clone())),
        // Whose event it redacts is looked up by `redact`.
        OutgoingEvent::Redaction { .. } => None,
    }
}

impl Room {
    /// Queues `event` in the outbox (stored before it goes out, sent once,
    /// in order; see [`outbox`](crate::outbox)), after checking the power
    /// levels let this account send it.
    ///
    /// ```no_run
    /// # async fn demo(room: quotient_client::room::Room) -> quotient_client::Result<()> {
    /// use quotient_client::outbox::OutgoingEvent;
    /// let event_id = room.send(OutgoingEvent::text("hello")).await?.sent().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, event: OutgoingEvent) -> Result<PendingSend> {
        match &event {
            OutgoingEvent::Redaction { redacts, .. } => self.ensure_may_redact(redacts)?,
            other => {
                if let Some(action) = action_of(other) {
                    self.ensure_allowed(&action)?;
                }
            }
        }
        self.client.send(&self.id, event).await
    }

    /// Like [`send`](Self::send), at most once per `key` (see
    /// [`Client::send_keyed`](crate::Client::send_keyed)).
    pub async fn send_keyed(&self, key: &str, event: OutgoingEvent) -> Result<PendingSend> {
        if let Some(action) = action_of(&event) {
            self.ensure_allowed(&action)?;
        }
        self.client.send_keyed(&self.id, key, event).await
    }

    /// Uploads a file and sends it as a message (one outbox entry).
    pub async fn send_file(&self, file: FileMessage) -> Result<PendingSend> {
        self.ensure_allowed(&RoomAction::Send("m.room.message".into()))?;
        self.client.send_file(&self.id, file).await
    }

    /// Reacts to `event_id` with `key` (an emoji, usually).
    pub async fn react(&self, event_id: &EventId, key: &str) -> Result<PendingSend> {
        self.send(OutgoingEvent::reaction(event_id, key)).await
    }

    /// Edits `event_id` (one of this account's messages) to `new`.
    pub async fn edit(&self, event_id: &EventId, new: OutgoingEvent) -> Result<PendingSend> {
        self.send(OutgoingEvent::edit(event_id, new)).await
    }

    /// Redacts `event_id`, with a reason shown to the room. Redacting
    /// another member's event needs the `redact` level; the store tells
    /// whose it is. For an event the store does not have, only the level
    /// to redact one's own is checked here, and the server decides the
    /// rest.
    pub async fn redact(&self, event_id: &EventId, reason: Option<&str>) -> Result<PendingSend> {
        self.send(OutgoingEvent::redaction(event_id, reason)).await
    }

    fn ensure_may_redact(&self, target: &EventId) -> Result<()> {
        let me = self.own_user()?;
        let sender = self
            .stored_event(target)?
            .and_then(|e| e.json.get("sender")?.as_str().map(str::to_owned))
            .and_then(|s| quotient_api::UserId::parse(s).ok());
        // Not stored: whose it is is unknown. Allowed to redact our own,
        // the server decides; not even that, refused as our own would be.
        let sender = match sender {
            Some(sender) => sender,
            None if self
                .power_levels()?
                .can(&me, &RoomAction::Redact(me.clone())) =>
            {
                return Ok(())
            }
            None => me,
        };
        self.ensure_allowed(&RoomAction::Redact(sender))
    }

    /// Sends `message` as a reply to `event_id` (`m.in_reply_to`).
    pub async fn reply(&self, event_id: &EventId, message: OutgoingEvent) -> Result<PendingSend> {
        self.send(message.reply_to(event_id)).await
    }

    /// Answers `event` with `message`, once: in its thread when it is in
    /// one (a reply within the thread), else as a reply; keyed by the
    /// event's ID, so an event handed over again after a crash is not
    /// answered twice (see [`send_keyed`](Self::send_keyed)).
    ///
    /// ```no_run
    /// # async fn demo(room: quotient_client::room::Room,
    /// #     event: quotient_client::events::RoomEvent<quotient_client::events::MessageContent>)
    /// #     -> quotient_client::Result<()> {
    /// use quotient_client::outbox::OutgoingEvent;
    /// room.answer(&event, OutgoingEvent::notice("got it")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn answer<C>(
        &self,
        event: &RoomEvent<C>,
        message: OutgoingEvent,
    ) -> Result<PendingSend> {
        let id = event.event_id();
        let message = match event.thread_root() {
            Some(root) => message.reply_in_thread(&root, id),
            None => message.reply_to(id),
        };
        self.send_keyed(&format!("answer:{id}"), message).await
    }

    /// Sends into the thread rooted at `root`, after its newest stored
    /// event (the reply fallback for clients without threads points at
    /// it; the root when the thread has no stored reply yet).
    pub async fn send_in_thread(
        &self,
        root: &EventId,
        message: OutgoingEvent,
    ) -> Result<PendingSend> {
        let latest = self.latest_in_thread(root)?;
        self.send(message.in_thread(root, &latest)).await
    }

    /// The newest stored event of the thread rooted at `root`, or the
    /// root when the store has none: what a message sent into the thread
    /// falls back to replying to.
    pub fn latest_in_thread(&self, root: &EventId) -> Result<EventId> {
        Ok(self
            .client
            .store()?
            .thread_replies(root)?
            .pop()
            .and_then(|e| e.event_id)
            .unwrap_or_else(|| root.clone()))
    }

    /// Sets a state event (through the outbox) and waits until the server
    /// took it: its event ID.
    pub async fn set_state(
        &self,
        event_type: &str,
        state_key: &str,
        content: JsonObject,
    ) -> Result<EventId> {
        let event = OutgoingEvent::state(event_type, state_key, content);
        self.send(event).await?.sent().await
    }

    /// Sets the room's name (`m.room.name`); an empty one removes it.
    pub async fn set_name(&self, name: &str) -> Result<EventId> {
        self.set_state("m.room.name", "", object(json!({ "name": name })))
            .await
    }

    /// Sets the topic (`m.room.topic`, plain text).
    pub async fn set_topic(&self, topic: &str) -> Result<EventId> {
        let content = json!({
            "topic": topic,
            "m.topic": {"m.text": [{"mimetype": "text/plain", "body": topic}]},
        });
        self.set_state("m.room.topic", "", object(content)).await
    }

    /// Sets the avatar to an uploaded image (`m.room.avatar`).
    pub async fn set_avatar(&self, url: &MxcUri) -> Result<EventId> {
        self.set_state("m.room.avatar", "", object(json!({ "url": url.as_str() })))
            .await
    }

    /// Uploads the image at `path` and makes it the room's avatar. The
    /// power levels are checked before the upload.
    pub async fn set_avatar_file(&self, path: &Path) -> Result<EventId> {
        self.ensure_allowed(&RoomAction::SetState("m.room.avatar".into()))?;
        let uploaded = self.client.media().upload_file(path, None).await?.await?;
        self.set_avatar(&uploaded.content_uri).await
    }

    /// Turns end-to-end encryption on (nothing turns it off again).
    pub async fn enable_encryption(&self) -> Result<EventId> {
        self.ensure_allowed(&RoomAction::SetState("m.room.encryption".into()))?;
        self.client.enable_encryption(&self.id).await
    }
}

//! What the outbox keeps per event: the event itself, its transaction ID
//! and where it stands.

use quotient_api::JsonObject;
use serde::{Deserialize, Serialize};

/// An event to send: a room message (any non-state event type), a state
/// event, or a redaction. Build common ones with
/// [`OutgoingEvent::text`] and its siblings (see the
/// [module](crate::outbox)).
#[derive(Clone, Debug, PartialEq)]
pub enum OutgoingEvent {
    /// A non-state event: `PUT /rooms/{room}/send/{type}/{txnId}`.
    Message {
        /// The event type (`m.room.message`, `m.reaction`, a custom one).
        event_type: String,
        /// Its content.
        content: JsonObject,
    },
    /// A state event: `PUT /rooms/{room}/state/{type}/{stateKey}`.
    State {
        /// The event type (`m.room.name`, `m.room.topic`, …).
        event_type: String,
        /// The state key (empty for most room state).
        state_key: String,
        /// Its content.
        content: JsonObject,
    },
    /// A redaction of `redacts`: `PUT /rooms/{room}/redact/{event}/{txnId}`.
    Redaction {
        /// The event to redact.
        redacts: quotient_api::EventId,
        /// Why, shown to the room.
        reason: Option<String>,
    },
}

impl OutgoingEvent {
    /// The event type it becomes in the room.
    pub fn event_type(&self) -> &str {
        match self {
            OutgoingEvent::Message { event_type, .. } | OutgoingEvent::State { event_type, .. } => {
                event_type
            }
            OutgoingEvent::Redaction { .. } => "m.room.redaction",
        }
    }

    /// Its content as it goes on the wire (a redaction's is its reason).
    pub fn content(&self) -> JsonObject {
        match self {
            OutgoingEvent::Message { content, .. } | OutgoingEvent::State { content, .. } => {
                content.clone()
            }
            OutgoingEvent::Redaction { reason, .. } => {
                let mut content = JsonObject::new();
                if let Some(reason) = reason {
                    content.insert("reason".into(), reason.clone().into());
                }
                content
            }
        }
    }
}

/// A file that an entry uploads before its event goes out: the event's
/// content gets the uploaded `mxc://` URI as its `url`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file to upload, read when the entry is sent (so it must stay
    /// until then).
    pub path: std::path::PathBuf,
    /// The `Content-Type` to upload it with.
    pub content_type: String,
    /// Its size in bytes when queued.
    pub size: u64,
    /// The `mxc://` URI, once reserved or uploaded.
    pub content_uri: Option<String>,
    /// Whether the file is uploaded to `content_uri`: an entry never
    /// uploads it again then.
    #[serde(default)]
    pub uploaded: bool,
}

/// Where an outbox entry stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Stored, not on the wire yet (or waiting for its turn: earlier
    /// entries of the room go first).
    Queued,
    /// Handed to the engine at least once: it may have reached the server,
    /// so any resend uses the same transaction ID.
    Sending,
    /// The server took it.
    Sent {
        /// The event's ID; `None` when the server answered without one
        /// (a redaction may): the event coming back by sync fills it in.
        event_id: Option<quotient_api::EventId>,
    },
    /// The server refused it for good (forbidden, too large, a bad
    /// event); it waits for [`Client::retry_send`](crate::Client::retry_send)
    /// or [`Client::cancel_send`](crate::Client::cancel_send). It does not
    /// hold back the room's later entries.
    Failed {
        /// What the server (or the upload) said.
        error: String,
    },
}

impl OutboxState {
    /// Whether it is still to be sent (queued or sending).
    pub fn is_unsent(&self) -> bool {
        matches!(self, OutboxState::Queued | OutboxState::Sending)
    }

    pub(crate) fn as_db(&self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent { .. } => "sent",
            OutboxState::Failed { .. } => "failed",
        }
    }
}

/// One event in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// Its place in the order events were queued (all rooms).
    pub id: i64,
    /// The room it goes to.
    pub room_id: quotient_api::RoomId,
    /// Its transaction ID, fixed when queued.
    pub txn_id: String,
    /// The device it was queued under (the transaction ID is scoped to it).
    pub device_id: String,
    /// The event.
    pub event: OutgoingEvent,
    /// A file uploaded before the event goes out.
    pub attachment: Option<Attachment>,
    /// Where it stands.
    pub state: OutboxState,
    /// When it was queued (ms since the Unix epoch).
    pub queued_ts: i64,
}

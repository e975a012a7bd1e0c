//! Verification in a room (a direct chat), as the spec prefers between
//! two users: the request is an `m.room.message` of msgtype
//! `m.key.verification.request`, the steps are `m.key.verification.*`
//! events relating to it, and all of them are room events — encrypted
//! in an encrypted room, so they go through the outbox like any message.
//!
//! Incoming: each batch's timeline events of those types (decrypted
//! where they were encrypted) are handed to the machine before the
//! batch is committed, and a request addressed to this user is recorded
//! for [`Client::next_verification_request`].

use matrix_sdk_common::ruma::events::AnyMessageLikeEvent;
use matrix_sdk_common::ruma::serde::Raw;
use matrix_sdk_common::ruma::{OwnedEventId, OwnedUserId, RoomId, UserId};
use matrix_sdk_crypto::types::requests::RoomMessageRequest;
use serde_json::Value;

use super::sync_changes::Answer;
use super::{crypto_error, Crypto};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::outbox::OutgoingEvent;
use crate::sync::decryptions::Decryptions;

const REQUEST_MSGTYPE: &str = "m.key.verification.request";

/// Whether a room event is part of an in-room verification.
fn is_verification(event: &Value) -> bool {
    match event["type"].as_str() {
        Some(t) if t.starts_with("m.key.verification.") => true,
        Some("m.room.message") => event["content"]["msgtype"] == REQUEST_MSGTYPE,
        _ => false,
    }
}

/// The verification events of a `/sync` answer's joined rooms, as
/// (room, event), the encrypted ones as they decrypted.
pub(crate) fn verification_events(
    body: &[u8],
    decryptions: &Decryptions,
) -> Result<Vec<(String, Value)>> {
    let answer: Answer<'_> = serde_json::from_slice(body).map_err(Error::Json)?;
    let mut out = Vec::new();
    for (room, joined) in answer.rooms.map(|r| r.join).unwrap_or_default() {
        for raw in joined.timeline.map(|t| t.events).unwrap_or_default() {
            let Ok(event) = serde_json::from_str::<Value>(raw.get()) else {
                continue;
            };
            let event = match event["type"].as_str() {
                Some(crate::sync::writer::ENCRYPTED) => {
                    let clear = event["event_id"]
                        .as_str()
                        .and_then(|id| decryptions.get(id))
                        .and_then(|d| d.clear.as_deref())
                        .and_then(|c| serde_json::from_str::<Value>(c).ok());
                    match clear {
                        Some(clear) => clear,
                        None => continue,
                    }
                }
                _ => event,
            };
            if is_verification(&event) {
                out.push((room.clone(), event));
            }
        }
    }
    Ok(out)
}

impl Crypto {
    /// Hands a batch's in-room verification events to the machine and
    /// records requests addressed to this user.
    pub(crate) async fn receive_room_verification(
        &self,
        events: Vec<(String, Value)>,
    ) -> Result<()> {
        let own = self.machine.user_id().to_owned();
        for (room, mut event) in events {
            if let Some(o) = event.as_object_mut() {
                o.insert("room_id".into(), Value::String(room));
            }
            let Ok(raw) = serde_json::value::to_raw_value(&event) else {
                continue;
            };
            let Ok(parsed) = Raw::<AnyMessageLikeEvent>::from_json(raw).deserialize() else {
                tracing::debug!("an in-room verification event that does not parse; skipped");
                continue;
            };
            self.machine
                .receive_verification_event(&parsed)
                .await
                .map_err(crypto_error)?;
            let to_us = event["content"]["msgtype"] == REQUEST_MSGTYPE
                && event["content"]["to"] == own.as_str()
                && event["sender"] != own.as_str();
            if to_us {
                if let (Some(sender), Some(id)) =
                    (event["sender"].as_str(), event["event_id"].as_str())
                {
                    if let Ok(sender) = OwnedUserId::try_from(sender) {
                        self.incoming_request(sender, id.to_owned());
                    }
                }
            }
        }
        Ok(())
    }

    /// Queues an in-room verification message in the outbox (encrypted
    /// there when the room is), keyed by its transaction ID so a request
    /// handed over again is not sent twice, and tells the machine it is
    /// on its way: the outbox delivers it.
    pub(crate) async fn send_in_room(&self, request: &RoomMessageRequest) -> Result<()> {
        let client = self
            .client
            .get()
            .and_then(|c| c.upgrade())
            .ok_or_else(|| Error::Verification("the client is gone".into()))?;
        let content = serde_json::to_value(&*request.content).map_err(Error::Json)?;
        let Value::Object(content) = content else {
            return Err(Error::Verification(
                "a verification message that is not an object".into(),
            ));
        };
        let event_type =
            matrix_sdk_common::ruma::events::MessageLikeEventContent::event_type(&*request.content)
                .to_string();
        let room = quotient_api::RoomId::parse(request.room_id.as_str())
            .map_err(|e| Error::Verification(e.to_string()))?;
        let key = format!("verification:{}", request.txn_id);
        client
            .send_keyed(
                &room,
                &key,
                OutgoingEvent::Message {
                    event_type,
                    content,
                },
            )
            .await?;
        let placeholder = OwnedEventId::try_from(format!("$queued-{}", request.txn_id))
            .map_err(|e| Error::Verification(e.to_string()))?;
        let response =
            matrix_sdk_common::ruma::api::client::message::send_message_event::v3::Response::new(
                placeholder,
            );
        self.machine
            .mark_request_as_sent(&request.txn_id, &response)
            .await
            .map_err(crypto_error)
    }
}

impl Client {
    /// Asks `user` (another user) to verify in the direct chat with them:
    /// the request goes into the room, and the flow follows there.
    pub(crate) async fn request_in_room(
        &self,
        crypto: std::sync::Arc<Crypto>,
        user: &UserId,
    ) -> Result<crate::verification::Verification> {
        let room = {
            let store = self.store()?;
            let direct = store.direct_chats()?;
            let joined: Vec<quotient_api::RoomId> = store
                .rooms()?
                .into_iter()
                .filter(|(_, m)| *m == crate::store::Membership::Joined)
                .map(|(r, _)| r)
                .collect();
            // A user ID the crypto layer holds is one ours parses.
            quotient_api::UserId::parse(user.as_str())
                .ok()
                .and_then(|ours| {
                    direct
                        .rooms_with(&ours)
                        .iter()
                        .find(|r| joined.contains(r))
                        .cloned()
                })
        };
        let Some(room) = room else {
            return Err(Error::Verification(format!(
                "there is no direct chat with {user}: start one, or name one of their devices"
            )));
        };
        let identity = crypto
            .machine()
            .get_identity(user, None)
            .await
            .map_err(crypto_error)?
            .and_then(|i| i.other())
            .ok_or_else(|| {
                Error::Verification(format!(
                    "{user} has no cross-signing identity: verify one of their devices instead"
                ))
            })?;
        let content = matrix_sdk_common::ruma::events::room::message::RoomMessageEventContent::new(
            identity.verification_request_content(None),
        );
        let body = serde_json::to_value(&content).map_err(Error::Json)?;
        let Some(object) = body.as_object() else {
            return Err(Error::Verification(
                "a request that is not an object".into(),
            ));
        };
        let room_id = quotient_api::RoomId::parse(room.as_str())
            .map_err(|e| Error::Verification(e.to_string()))?;
        let sent = self
            .send(
                &room_id,
                OutgoingEvent::Message {
                    event_type: "m.room.message".into(),
                    content: object.clone(),
                },
            )
            .await?
            .sent()
            .await?;
        let event_id = OwnedEventId::try_from(sent.as_str())
            .map_err(|e| Error::Verification(e.to_string()))?;
        let ruma_room =
            <&RoomId>::try_from(room.as_str()).map_err(|e| Error::Verification(e.to_string()))?;
        let request = identity.request_verification(ruma_room, &event_id, None);
        crate::verification::Verification::start(crypto, request)
    }
}

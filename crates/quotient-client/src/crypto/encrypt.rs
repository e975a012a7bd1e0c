//! Encrypting an event for a room: members complete, their devices
//! known, Olm sessions claimed, the room key shared, then the event
//! encrypted — under one lock per room, because the machine panics when
//! asked to encrypt without a shared, unexpired session.

use matrix_sdk_common::ruma::events::room::encryption::RoomEncryptionEventContent;
use matrix_sdk_common::ruma::events::room::history_visibility::HistoryVisibility;
use matrix_sdk_common::ruma::events::AnyMessageLikeEventContent;
use matrix_sdk_common::ruma::serde::Raw;
use matrix_sdk_common::ruma::{OwnedUserId, RoomId, UserId};
use matrix_sdk_crypto::EncryptionSettings;
use quotient_api::generated::rooms::GetMembersByRoom;
use serde_json::Value;

use super::{crypto_error, requests, Crypto};
use crate::client::{request_error, Client};
use crate::error::{Error, Result};
use crate::rooms::MemberMembership;

impl Crypto {
    /// The encrypted content (`m.room.encrypted`) of an event of
    /// `event_type` with `content` for `room_id`.
    pub(crate) async fn encrypt(
        &self,
        client: &Client,
        room_id: &quotient_api::RoomId,
        event_type: &str,
        content: &serde_json::Map<String, Value>,
    ) -> Result<Value> {
        // With cross-signing still being set up, the identity-based
        // strategy refuses to share: wait for the first try (bounded).
        self.setup_done(std::time::Duration::from_secs(30)).await;
        let room = room_id.as_str();
        let lock = self.room_lock(room);
        let _room = lock.lock().await;
        let (recipients, settings) = {
            self.fetch_members_once(client, room).await?;
            self.recipients_and_settings(client, room_id)?
        };
        // The machine's own room ID type.
        let room_id = RoomId::parse(room).map_err(crypto_error)?;
        let users = || recipients.iter().map(as_user_id);
        self.machine
            .update_tracked_users(users())
            .await
            .map_err(crypto_error)?;
        // Devices of new members are fetched before sessions are claimed.
        self.process_outgoing().await?;
        {
            let _claim = self.claims.lock().await;
            let missing = self
                .machine
                .get_missing_sessions(users())
                .await
                .map_err(crypto_error)?;
            if let Some((id, request)) = missing {
                requests::keys_claim(&self.conn, &self.machine, &id, &request).await?;
            }
        }
        let shares = match self
            .machine
            .share_room_key(&room_id, users(), settings)
            .await
        {
            Ok(shares) => shares,
            Err(e) => {
                // A share that failed half-way may leave a new outbound
                // session in the machine's cache without its inbound copy
                // saved (our own messages would not decrypt): start over
                // with a fresh session next time.
                self.discard(&room_id).await;
                if let matrix_sdk_crypto::OlmError::SessionRecipientCollectionError(
                    matrix_sdk_crypto::SessionRecipientCollectionError::VerifiedUserChangedIdentity(
                        users,
                    ),
                ) = &e
                {
                    return Err(Error::IdentityChanged {
                        users: users.iter().map(|u| u.to_string()).collect(),
                    });
                }
                return Err(crypto_error(e));
            }
        };
        for share in &shares {
            if let Err(e) =
                requests::to_device(&self.conn, &self.machine, &share.txn_id, share).await
            {
                // No message goes out under a key not every recipient got.
                self.discard(&room_id).await;
                return Err(e);
            }
        }
        let raw: Raw<AnyMessageLikeEventContent> =
            Raw::new(content).map_err(Error::Json)?.cast_unchecked();
        let encrypted = self
            .machine
            .encrypt_room_event_raw(&room_id, event_type, &raw)
            .await
            .map_err(crypto_error)?;
        serde_json::from_str(encrypted.content.json().get()).map_err(Error::Json)
    }

    async fn discard(&self, room_id: &RoomId) {
        if let Err(e) = self.machine.discard_room_key(room_id).await {
            tracing::warn!(error = %e, "the room key could not be discarded");
        }
    }

    /// Who gets the room key (joined members, and invited ones unless
    /// history is visible to joined members only) and the room's
    /// encryption settings, from the store.
    fn recipients_and_settings(
        &self,
        client: &Client,
        room_id: &quotient_api::RoomId,
    ) -> Result<(Vec<OwnedUserId>, EncryptionSettings)> {
        let room = room_id.as_str();
        let store = client.store()?;
        let encryption = store
            .state_event_at(room, "m.room.encryption", "")?
            .and_then(|e| e.get("content").cloned())
            .ok_or_else(|| Error::CannotEncrypt {
                room_id: room_id.clone(),
                reason: "the room has no m.room.encryption state in the store".into(),
            })?;
        let encryption: RoomEncryptionEventContent =
            serde_json::from_value(encryption).map_err(|e| Error::CannotEncrypt {
                room_id: room_id.clone(),
                reason: format!("its m.room.encryption content does not fit: {e}"),
            })?;
        let visibility = store
            .state_event_at(room, "m.room.history_visibility", "")?
            .and_then(|e| {
                e.get("content")?
                    .get("history_visibility")?
                    .as_str()
                    .map(HistoryVisibility::from)
            })
            .unwrap_or(HistoryVisibility::Shared);
        let invited_too = visibility != HistoryVisibility::Joined;
        let mut users = Vec::new();
        for member in store.members_at(room)? {
            let wanted = match member.membership {
                MemberMembership::Joined => true,
                MemberMembership::Invited => invited_too,
                _ => false,
            };
            if wanted {
                if let Ok(user) = UserId::parse(member.user_id.as_str()) {
                    users.push(user);
                }
            }
        }
        let settings = EncryptionSettings::new(encryption, visibility, self.trust.strategy());
        Ok((users, settings))
    }

    /// Members are lazy-loaded by sync: the first encryption for a room
    /// in this process fetches its whole member list, which later
    /// batches keep current.
    async fn fetch_members_once(&self, client: &Client, room: &str) -> Result<()> {
        let done = self
            .members_fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(room);
        if done {
            return Ok(());
        }
        let room_id = quotient_api::RoomId::parse(room).map_err(crypto_error)?;
        let answer = client
            .connection()
            .submit(GetMembersByRoom::new(room_id))
            .await
            .map_err(request_error)?
            .into_value();
        let events: Vec<Value> = answer
            .chunk
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect();
        client.store()?.add_missing_members(room, &events)?;
        self.members_fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room.to_owned());
        Ok(())
    }
}

/// A named function, not a closure: the futures that take these
/// iterators must be `Send` for every lifetime.
pub(crate) fn as_user_id(user: &OwnedUserId) -> &UserId {
    user
}

//! A `/sync` batch's news for the machine: to-device events, device-list
//! changes, one-time-key counts and unused fallback key types, handed
//! over **before** the batch's `since` is committed. A crash between the
//! two fetches the batch again; the machine recognises what it saw (Olm
//! replays by message hash), so nothing is lost and nothing is doubled.

use std::collections::BTreeMap;

use matrix_sdk_common::deserialized_responses::ProcessedToDeviceEvent;
use matrix_sdk_common::ruma::api::client::sync::sync_events::DeviceLists;
use matrix_sdk_common::ruma::events::AnyToDeviceEvent;
use matrix_sdk_common::ruma::serde::Raw;
use matrix_sdk_common::ruma::{OneTimeKeyAlgorithm, UInt};
use matrix_sdk_crypto::{DecryptionSettings, EncryptionSyncChanges, TrustRequirement};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{crypto_error, Crypto};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct ToDevice {
    #[serde(default)]
    events: Vec<Raw<AnyToDeviceEvent>>,
}

/// The crypto parts of an answer; the rooms are skipped (their encrypted
/// events are read by [`encrypted_timeline_events`]).
#[derive(Deserialize)]
struct CryptoParts {
    #[serde(default)]
    to_device: Option<ToDevice>,
    #[serde(default)]
    device_lists: Option<DeviceLists>,
    #[serde(default)]
    device_one_time_keys_count: Option<BTreeMap<OneTimeKeyAlgorithm, UInt>>,
    // Absent is not the same as empty: absent says the server does not
    // tell, so the machine must not conclude the fallback key was used.
    #[serde(default)]
    device_unused_fallback_key_types: Option<Vec<OneTimeKeyAlgorithm>>,
    next_batch: String,
}

/// A room key that came (or was imported): events of its session waiting
/// in the store can now be decrypted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NewRoomKey {
    pub room_id: String,
    pub session_id: String,
}

/// The settings the machine decrypts with: it accepts every sender, and
/// the client withholds by its own trust setting (so a withheld event is
/// still decrypted and kept, with the reason).
pub(crate) fn decryption_settings() -> DecryptionSettings {
    DecryptionSettings {
        sender_device_trust_requirement: TrustRequirement::Untrusted,
    }
}

impl Crypto {
    /// Hands the answer `body`'s crypto parts to the machine (which
    /// commits them to its store) and returns the room keys they brought.
    pub(crate) async fn receive_sync(&self, body: &[u8]) -> Result<Vec<NewRoomKey>> {
        let parts: CryptoParts = serde_json::from_slice(body).map_err(Error::Json)?;
        let lists = parts.device_lists.unwrap_or_default();
        let counts = parts.device_one_time_keys_count.unwrap_or_default();
        let events = parts.to_device.map(|t| t.events).unwrap_or_default();
        self.know_requesters(&events).await;
        let changes = EncryptionSyncChanges {
            to_device_events: events,
            changed_devices: &lists,
            one_time_keys_counts: &counts,
            unused_fallback_keys: parts.device_unused_fallback_key_types.as_deref(),
            next_batch_token: Some(parts.next_batch),
        };
        let (to_device, keys) = {
            // Not beside a `mark_request_as_sent`.
            let _one = self.requests.lock().await;
            self.machine
                .receive_sync_changes(changes, &decryption_settings())
                .await
                .map_err(crypto_error)?
        };
        for event in &to_device {
            self.note_verification_request(event);
        }
        Ok(keys
            .into_iter()
            .map(|k| NewRoomKey {
                room_id: k.room_id.to_string(),
                session_id: k.session_id,
            })
            .collect())
    }
}

impl Crypto {
    /// The machine takes a verification request only from a device it
    /// knows: the keys of a requester whose requesting device it does not
    /// know yet (another user who shares no room with us, or a device of
    /// this user's that appeared since the last key query, as after a
    /// switch of sync loop) are fetched before the batch is handed over.
    /// Offline, the request is lost as the machine would lose it anyway.
    async fn know_requesters(&self, events: &[Raw<AnyToDeviceEvent>]) {
        #[derive(Deserialize)]
        struct Request {
            sender: matrix_sdk_common::ruma::OwnedUserId,
            content: From,
        }
        #[derive(Deserialize)]
        struct From {
            from_device: matrix_sdk_common::ruma::OwnedDeviceId,
        }
        let mut requesters: Vec<(matrix_sdk_common::ruma::OwnedUserId, _)> = events
            .iter()
            .filter(|e| {
                e.get_field::<String>("type").ok().flatten().as_deref()
                    == Some("m.key.verification.request")
            })
            .filter_map(|e| e.deserialize_as_unchecked::<Request>().ok())
            .map(|r| (r.sender, r.content.from_device))
            .collect();
        requesters.sort();
        requesters.dedup();
        let mut refreshed = Vec::new();
        for (sender, device) in requesters {
            if refreshed.contains(&sender) {
                continue;
            }
            let known = self
                .machine
                .get_device(&sender, &device, None)
                .await
                .ok()
                .flatten()
                .is_some();
            if known {
                continue;
            }
            if let Err(e) = self.refresh_keys(&sender).await {
                tracing::warn!(error = %e, "a verification requester's keys were not fetched");
            }
            refreshed.push(sender);
        }
    }

    /// A verification request among a batch's to-device events is
    /// recorded for [`Client::next_verification_request`](crate::Client::next_verification_request).
    fn note_verification_request(&self, event: &ProcessedToDeviceEvent) {
        #[derive(Deserialize)]
        struct Request {
            sender: matrix_sdk_common::ruma::OwnedUserId,
            content: RequestContent,
        }
        #[derive(Deserialize)]
        struct RequestContent {
            transaction_id: String,
        }
        let raw = match event {
            ProcessedToDeviceEvent::PlainText(raw) => raw,
            ProcessedToDeviceEvent::Decrypted { raw, .. } => raw,
            _ => return,
        };
        let kind = raw.get_field::<String>("type").ok().flatten();
        if kind.as_deref() == Some("m.secret.request") {
            self.secret_requests.send_modify(|n| *n += 1);
            return;
        }
        if kind.as_deref() != Some("m.key.verification.request") {
            return;
        }
        if let Ok(request) = raw.deserialize_as_unchecked::<Request>() {
            self.incoming_request(request.sender, request.content.transaction_id);
        }
    }
}

/// The rooms' timelines of a `/sync` answer, their events borrowed from
/// the body (also read for in-room verification events).
#[derive(Deserialize)]
pub(super) struct Answer<'a> {
    #[serde(borrow, default)]
    pub rooms: Option<Rooms<'a>>,
}

#[derive(Deserialize)]
pub(super) struct Rooms<'a> {
    #[serde(borrow, default)]
    pub join: BTreeMap<String, Room<'a>>,
    #[serde(borrow, default)]
    pub leave: BTreeMap<String, Room<'a>>,
}

#[derive(Deserialize)]
pub(super) struct Room<'a> {
    #[serde(borrow, default)]
    pub timeline: Option<Timeline<'a>>,
}

#[derive(Deserialize)]
pub(super) struct Timeline<'a> {
    #[serde(borrow, default)]
    pub events: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    type_: Option<std::borrow::Cow<'a, str>>,
}

/// The encrypted timeline events of a `/sync` answer, as (room, event
/// text), borrowed from the body.
pub(crate) fn encrypted_timeline_events(body: &[u8]) -> Result<Vec<(String, &RawValue)>> {
    let answer: Answer<'_> = serde_json::from_slice(body).map_err(Error::Json)?;
    let mut out = Vec::new();
    let Some(rooms) = answer.rooms else {
        return Ok(out);
    };
    for (room_id, room) in rooms.join.into_iter().chain(rooms.leave) {
        for event in room.timeline.map(|t| t.events).unwrap_or_default() {
            let is_encrypted = serde_json::from_str::<TypeOnly<'_>>(event.get())
                .ok()
                .and_then(|t| t.type_)
                .is_some_and(|t| t == crate::sync::writer::ENCRYPTED);
            if is_encrypted {
                out.push((room_id.clone(), event));
            }
        }
    }
    Ok(out)
}

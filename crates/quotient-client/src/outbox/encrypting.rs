//! An entry bound for an encrypted room becomes its ciphertext before it
//! goes out, and the ciphertext is stored first: a resend after a crash
//! or a lost answer carries the same bytes under the same transaction ID,
//! so the server's deduplication still holds and the room key is not
//! used twice for one event. What cannot be encrypted is not sent.

use quotient_api::generated::rooms::{GetRoomStateWithKey, GetRoomStateWithKeyFormat};

use super::entry::{OutboxEntry, OutgoingEvent};
use super::stop::{store_failed, Stop};
use crate::client::Client;
#[cfg(feature = "e2e-encryption")]
use crate::error::Error;

/// Whether `room` is encrypted. The store says so once it holds the
/// room's state; a room it knows nothing of yet (just created or joined,
/// not synced) is asked of the server, and the answer stored: plaintext
/// must not go into a room only because it has not been synced yet.
pub(super) async fn room_is_encrypted(client: &Client, room: &str) -> Result<bool, Stop> {
    let (encrypted, known) = {
        let store = client.store().map_err(store_failed)?;
        let encrypted = store.is_encrypted_at(room).map_err(store_failed)?;
        let known = store
            .state_event_at(room, "m.room.create", "")
            .map_err(store_failed)?
            .is_some();
        (encrypted, known)
    };
    if encrypted || known {
        return Ok(encrypted);
    }
    let room_id = quotient_api::RoomId::parse(room).map_err(|e| Stop::Fail(e.to_string()))?;
    let mut request = GetRoomStateWithKey::new(room_id, "m.room.encryption".into(), String::new());
    request.format = Some(GetRoomStateWithKeyFormat::Event);
    match client.connection().submit(request).await {
        Ok(answer) => {
            let event = answer.into_value().0;
            client
                .store()
                .and_then(|mut s| s.add_missing_state(room, &[event]))
                .map_err(store_failed)?;
            Ok(true)
        }
        Err(e) if e.http_status() == Some(404) => Ok(false),
        Err(e) => Err(Stop::from_request(e)),
    }
}

/// The event to send in place of `event` for an encrypted room: an
/// `m.room.encrypted` message. State events and redactions go as they
/// are (the spec encrypts neither).
pub(super) async fn encrypt(
    client: &Client,
    entry: &OutboxEntry,
    event: OutgoingEvent,
) -> Result<OutgoingEvent, Stop> {
    let OutgoingEvent::Message {
        event_type,
        content,
    } = event
    else {
        return Ok(event);
    };
    let stored = client
        .store()
        .and_then(|s| s.outbox_ciphertext(&entry.txn_id))
        .map_err(store_failed)?;
    let ciphertext = match stored {
        Some(ciphertext) => ciphertext,
        None => fresh(client, entry, &event_type, &content).await?,
    };
    let serde_json::Value::Object(content) = ciphertext else {
        return Err(Stop::Fail("the stored ciphertext is not an object".into()));
    };
    Ok(OutgoingEvent::Message {
        event_type: "m.room.encrypted".into(),
        content,
    })
}

#[cfg(feature = "e2e-encryption")]
async fn fresh(
    client: &Client,
    entry: &OutboxEntry,
    event_type: &str,
    content: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, Stop> {
    let crypto = match client.crypto().await {
        Ok(Some(crypto)) => crypto,
        Ok(None) => {
            // Another process owns the store and its machine; it sends
            // this entry when its sender next looks at the outbox.
            return Err(Stop::Elsewhere(
                "the room is encrypted and another process owns this store's crypto machine; \
                 it sends the entry"
                    .into(),
            ));
        }
        Err(e) => return Err(Stop::Retry(e.to_string())),
    };
    let ciphertext = match crypto
        .encrypt(client, &entry.room_id, event_type, content)
        .await
    {
        Ok(c) => c,
        Err(Error::Request(e)) => return Err(Stop::from_request(e)),
        Err(e @ Error::CannotEncrypt { .. }) => return Err(Stop::Fail(e.to_string())),
        Err(e) => return Err(Stop::Retry(e.to_string())),
    };
    client
        .store()
        .and_then(|mut s| s.set_outbox_ciphertext(&entry.txn_id, &ciphertext))
        .map_err(store_failed)
}

#[cfg(not(feature = "e2e-encryption"))]
async fn fresh(
    _client: &Client,
    entry: &OutboxEntry,
    _event_type: &str,
    _content: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, Stop> {
    Err(Stop::Fail(
        crate::error::Error::CannotEncrypt {
            room_id: entry.room_id.clone(),
            reason: "this build has no encryption (the e2e-encryption feature is off)".into(),
        }
        .to_string(),
    ))
}

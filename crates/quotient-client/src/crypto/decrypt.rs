//! Decrypting timeline events as they are stored, and again when their
//! key comes later.

use matrix_sdk_common::deserialized_responses::UnableToDecryptReason;
use matrix_sdk_common::ruma::serde::Raw;
use matrix_sdk_common::ruma::RoomId;
use matrix_sdk_crypto::types::events::room::encrypted::EncryptedEvent;
use matrix_sdk_crypto::RoomEventDecryptionResult;
use serde_json::value::RawValue;

use super::sync_changes::decryption_settings;
use super::{crypto_error, Crypto};
use crate::encryption::SenderTrust;
use crate::error::Result;
use crate::sync::decryptions::{session_id_of, Decryption, Decryptions};

/// Why a decrypted event from a device the trust setting does not accept
/// is withheld from display.
pub(crate) const WITHHELD_UNVERIFIED: &str =
    "withheld: the sending device is not cross-signed by its owner (m.unverified)";

/// Why a decrypted event whose sending device is not known is withheld:
/// a device this one has no keys of, or a room key from a key export or
/// backup, which never proves which device made it.
pub(crate) const WITHHELD_UNKNOWN_DEVICE: &str =
    "withheld: the sending device is unknown, or the room key came from a key export or backup \
     (authenticity not guaranteed); the trust setting `all` shows it";

impl Crypto {
    /// What the machine makes of one `m.room.encrypted` event of `room`.
    /// Never fails for the event's sake: an event it cannot read is an
    /// undecryptable [`Decryption`] with the machine's reason; only a
    /// crypto store failure is an error.
    pub(crate) async fn decrypt(&self, room: &str, event: &str) -> Result<Decryption> {
        let undecryptable = |reason: String| Decryption {
            session_id: session_id_of(event),
            error: Some(reason),
            ..Decryption::default()
        };
        let room_id = match RoomId::parse(room) {
            Ok(r) => r,
            Err(e) => return Ok(undecryptable(format!("a bad room ID: {e}"))),
        };
        let raw = match RawValue::from_string(event.to_owned()) {
            Ok(raw) => Raw::<EncryptedEvent>::from_json(raw),
            Err(e) => return Ok(undecryptable(format!("not JSON: {e}"))),
        };
        let result = self
            .machine
            .try_decrypt_room_event(&raw, &room_id, &decryption_settings())
            .await
            .map_err(crypto_error)?;
        Ok(match result {
            RoomEventDecryptionResult::Decrypted(decrypted) => {
                let mut trust =
                    SenderTrust::from_state(&decrypted.encryption_info.verification_state);
                if trust == SenderTrust::UnknownDevice
                    && self
                        .names_cross_signed_device(&decrypted.encryption_info)
                        .await?
                {
                    trust = SenderTrust::CrossSignedUnauthenticated;
                }
                let error = (!self.trust.shows(trust)).then(|| match trust {
                    SenderTrust::SenderMismatch => {
                        "withheld: the key belongs to another sender than the event claims"
                            .to_owned()
                    }
                    SenderTrust::UnknownDevice => WITHHELD_UNKNOWN_DEVICE.to_owned(),
                    _ => WITHHELD_UNVERIFIED.to_owned(),
                });
                Decryption {
                    clear: Some(decrypted.event.json().get().to_owned()),
                    session_id: decrypted.encryption_info.session_id().map(str::to_owned),
                    error,
                    sender_trust: Some(trust),
                }
            }
            RoomEventDecryptionResult::UnableToDecrypt(info) => Decryption {
                session_id: info.session_id.or_else(|| session_id_of(event)),
                error: Some(reason_text(&info.reason)),
                ..Decryption::default()
            },
        })
    }

    /// Whether a key from a source that cannot vouch for it (a backup, a
    /// file) names a device of the sender that its owner cross-signed:
    /// both its Curve25519 and Ed25519 keys must be the device's.
    async fn names_cross_signed_device(
        &self,
        info: &matrix_sdk_common::deserialized_responses::EncryptionInfo,
    ) -> Result<bool> {
        use matrix_sdk_common::deserialized_responses::{
            AlgorithmInfo, DeviceLinkProblem, VerificationLevel, VerificationState,
        };
        use matrix_sdk_common::ruma::DeviceKeyAlgorithm;
        if !matches!(
            info.verification_state,
            VerificationState::Unverified(VerificationLevel::None(
                DeviceLinkProblem::InsecureSource
            ))
        ) {
            return Ok(false);
        }
        let AlgorithmInfo::MegolmV1AesSha2 {
            curve25519_key,
            sender_claimed_keys,
            ..
        } = &info.algorithm_info
        else {
            return Ok(false);
        };
        let Some(ed25519) = sender_claimed_keys.get(&DeviceKeyAlgorithm::Ed25519) else {
            return Ok(false);
        };
        let devices = self
            .machine
            .get_user_devices(&info.sender, None)
            .await
            .map_err(crypto_error)?;
        let found = devices.devices().any(|d| {
            d.curve25519_key()
                .is_some_and(|k| k.to_base64() == *curve25519_key)
                && d.ed25519_key().is_some_and(|k| k.to_base64() == *ed25519)
                && d.is_cross_signed_by_owner()
        });
        Ok(found)
    }

    /// Decrypts each (room, event) of a batch or page, by event ID.
    pub(crate) async fn decrypt_all(&self, events: &[(&str, &str)]) -> Result<Decryptions> {
        let mut out = Decryptions::new();
        for &(room, event) in events {
            let Some(id) = event_id_of(event) else {
                continue;
            };
            let d = self.decrypt(room, event).await?;
            out.insert(id, d);
        }
        Ok(out)
    }
}

fn event_id_of(event: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        event_id: Option<String>,
    }
    serde_json::from_str::<Id>(event).ok()?.event_id
}

/// The machine's reason, in words a user can act on.
fn reason_text(reason: &UnableToDecryptReason) -> String {
    match reason {
        UnableToDecryptReason::MissingMegolmSession {
            withheld_code: Some(code),
        } => {
            format!("the sender withheld the key ({code})")
        }
        UnableToDecryptReason::MissingMegolmSession {
            withheld_code: None,
        } => "the room key has not arrived (yet)".to_owned(),
        UnableToDecryptReason::UnknownMegolmMessageIndex => {
            "the room key we have starts after this message".to_owned()
        }
        UnableToDecryptReason::MalformedEncryptedEvent => {
            "the encrypted event is malformed".to_owned()
        }
        UnableToDecryptReason::MegolmDecryptionFailure => {
            "the ciphertext does not decrypt".to_owned()
        }
        UnableToDecryptReason::PayloadDeserializationFailure => {
            "the decrypted payload is not an event".to_owned()
        }
        UnableToDecryptReason::MismatchedIdentityKeys => {
            "the sender's keys do not match the room key's".to_owned()
        }
        UnableToDecryptReason::SenderIdentityNotTrusted(level) => {
            format!("the sender is not trusted ({level:?})")
        }
        other => format!("undecryptable ({other:?})"),
    }
}

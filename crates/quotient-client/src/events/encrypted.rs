//! `m.room.encrypted`: an end-to-end encrypted event, as an opaque
//! envelope. Decrypting it is a crypto layer's job, not this one's.

use serde::Deserialize;
use serde_json::Value;

use super::content::serde_content;
use super::lenient::or_none;
use super::{ContentError, EventContent};

/// The content of an `m.room.encrypted` event: what a crypto layer needs
/// to find the session and decrypt, nothing read from the ciphertext.
///
/// Its `m.relates_to` stays in the clear, so an encrypted edit or reply
/// still has a [`Relation`](super::Relation) through
/// [`Event::relation`](super::Event::relation).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EncryptedContent {
    /// The algorithm (`m.megolm.v1.aes-sha2` in rooms,
    /// `m.olm.v1.curve25519-aes-sha2` to devices).
    pub algorithm: String,
    /// The ciphertext: a string for Megolm, an object of per-device
    /// messages for Olm.
    pub ciphertext: Value,
    /// The sending device's Curve25519 key (deprecated for Megolm).
    #[serde(default, deserialize_with = "or_none")]
    pub sender_key: Option<String>,
    /// The sending device (Megolm; deprecated).
    #[serde(default, deserialize_with = "or_none")]
    pub device_id: Option<String>,
    /// The Megolm session that encrypted it.
    #[serde(default, deserialize_with = "or_none")]
    pub session_id: Option<String>,
}

serde_content! {
    EncryptedContent => "m.room.encrypted",
}

impl EncryptedContent {
    /// Whether it is a room message under Megolm.
    pub fn is_megolm(&self) -> bool {
        self.algorithm == "m.megolm.v1.aes-sha2"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn megolm_and_olm_envelopes() {
        let m = EncryptedContent::from_content(&json!({"algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgA", "session_id": "s", "sender_key": "k", "device_id": "D"}))
        .unwrap();
        assert!(m.is_megolm());
        assert_eq!(m.ciphertext, "AwgA");
        assert_eq!(m.session_id.as_deref(), Some("s"));
        let o =
            EncryptedContent::from_content(&json!({"algorithm": "m.olm.v1.curve25519-aes-sha2",
            "ciphertext": {"key": {"type": 0, "body": "b"}}}))
            .unwrap();
        assert!(!o.is_megolm());
        assert!(o.ciphertext.is_object());
    }

    #[test]
    fn algorithm_and_ciphertext_are_required() {
        assert!(EncryptedContent::from_content(&json!({"ciphertext": "x"})).is_err());
        assert!(EncryptedContent::from_content(&json!({"algorithm": "a"})).is_err());
    }
}

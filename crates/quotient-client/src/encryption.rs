//! End-to-end encryption as a program sees it: which devices get room
//! keys and whose messages are shown ([`DeviceTrust`]), and what a
//! stored event says of its encryption ([`EventEncryption`],
//! [`SenderTrust`]). See docs/encryption.md for the guarantees.
//!
//! These types exist with or without the `e2e-encryption` feature, so a
//! program reads events the same way in both builds.
//!
//! What follows is docs/encryption.md, whose example is compiled here.
//!
#![doc = include_str!("../../../docs/encryption.md")]

#[cfg(feature = "e2e-encryption")]
use matrix_sdk_common::deserialized_responses::{
    DeviceLinkProblem, VerificationLevel, VerificationState,
};
#[cfg(feature = "e2e-encryption")]
use matrix_sdk_crypto::CollectStrategy;

/// How a stored event was encrypted, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventEncryption {
    /// Why the event is not shown decrypted: the machine could not
    /// decrypt it (its key has not come), or the trust setting withholds
    /// it. `None` when the event's JSON is the decrypted event.
    pub error: Option<String>,
    /// The sending device's trust, once the event decrypted.
    pub sender_trust: Option<SenderTrust>,
}

/// What [`Client::import_room_keys`](crate::Client::import_room_keys)
/// did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomKeyImport {
    /// Keys new to this device (or better than the ones it held).
    pub imported: usize,
    /// Keys in the file.
    pub total: usize,
}

/// Which devices room keys go to and whose messages are shown, as spec
/// v1.18's "Recommended client behaviour" for end-to-end encryption
/// describes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeviceTrust {
    /// Room keys go only to devices their owner cross-signed (the others
    /// get `m.room_key.withheld` with `m.unverified`); messages from
    /// devices not cross-signed are decrypted but withheld from display.
    /// The default, and what the spec recommends.
    #[default]
    CrossSigned,
    /// Every device that is not blacklisted gets room keys and is shown:
    /// for rooms with clients that do not cross-sign (bridges, older bots).
    All,
}

impl DeviceTrust {
    /// `cross-signed` or `all`, as the CLI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceTrust::CrossSigned => "cross-signed",
            DeviceTrust::All => "all",
        }
    }

    #[cfg(feature = "e2e-encryption")]
    pub(crate) fn strategy(self) -> CollectStrategy {
        match self {
            DeviceTrust::CrossSigned => CollectStrategy::IdentityBasedStrategy,
            DeviceTrust::All => CollectStrategy::AllDevices,
        }
    }

    /// Whether a message from a sender of this trust is shown.
    #[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
    pub(crate) fn shows(self, sender: SenderTrust) -> bool {
        match self {
            DeviceTrust::All => !matches!(sender, SenderTrust::SenderMismatch),
            DeviceTrust::CrossSigned => {
                // A sender whose identity changed since we verified it is
                // still cross-signed by its owner: shown, and flagged by
                // its trust (sending to them waits instead).
                matches!(
                    sender,
                    SenderTrust::Verified
                        | SenderTrust::CrossSigned
                        | SenderTrust::CrossSignedUnauthenticated
                        | SenderTrust::IdentityChanged
                )
            }
        }
    }
}

impl std::str::FromStr for DeviceTrust {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cross-signed" => Ok(DeviceTrust::CrossSigned),
            "all" => Ok(DeviceTrust::All),
            other => Err(format!(
                "unknown device trust {other:?}: use cross-signed or all"
            )),
        }
    }
}

/// What a decrypted event says of the device that sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SenderTrust {
    /// We verified the sender's identity, and it cross-signed the device.
    Verified,
    /// The sender's own cross-signing key signed the device (the sender's
    /// identity itself is not verified by us).
    CrossSigned,
    /// The sender's identity changed since we verified it.
    IdentityChanged,
    /// The key came from a source that cannot prove who made it (the key
    /// backup, a key file), and the device it names is cross-signed by
    /// its owner: shown under the default setting (as other clients show
    /// restored history), with this mark rather than `CrossSigned`.
    CrossSignedUnauthenticated,
    /// The device is not cross-signed by its owner.
    NotCrossSigned,
    /// The device is not known (deleted, or not fetched yet), or the key
    /// came from a source that cannot vouch for it (an import, a backup).
    UnknownDevice,
    /// The key belongs to another user or device than the event claims.
    SenderMismatch,
}

impl SenderTrust {
    /// As stored and printed: `verified`, `cross-signed`,
    /// `identity-changed`, `cross-signed-unauthenticated`,
    /// `not-cross-signed`, `unknown-device`,
    /// `sender-mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderTrust::Verified => "verified",
            SenderTrust::CrossSigned => "cross-signed",
            SenderTrust::IdentityChanged => "identity-changed",
            SenderTrust::CrossSignedUnauthenticated => "cross-signed-unauthenticated",
            SenderTrust::NotCrossSigned => "not-cross-signed",
            SenderTrust::UnknownDevice => "unknown-device",
            SenderTrust::SenderMismatch => "sender-mismatch",
        }
    }

    /// The inverse of [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "verified" => SenderTrust::Verified,
            "cross-signed" => SenderTrust::CrossSigned,
            "identity-changed" => SenderTrust::IdentityChanged,
            "cross-signed-unauthenticated" => SenderTrust::CrossSignedUnauthenticated,
            "not-cross-signed" => SenderTrust::NotCrossSigned,
            "unknown-device" => SenderTrust::UnknownDevice,
            "sender-mismatch" => SenderTrust::SenderMismatch,
            _ => return None,
        })
    }

    #[cfg(feature = "e2e-encryption")]
    pub(crate) fn from_state(state: &VerificationState) -> Self {
        match state {
            VerificationState::Verified => SenderTrust::Verified,
            VerificationState::Unverified(level) => match level {
                VerificationLevel::UnverifiedIdentity => SenderTrust::CrossSigned,
                VerificationLevel::VerificationViolation => SenderTrust::IdentityChanged,
                VerificationLevel::UnsignedDevice => SenderTrust::NotCrossSigned,
                VerificationLevel::None(DeviceLinkProblem::MissingDevice)
                | VerificationLevel::None(DeviceLinkProblem::InsecureSource) => {
                    SenderTrust::UnknownDevice
                }
                VerificationLevel::MismatchedSender => SenderTrust::SenderMismatch,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_shows_only_cross_signed_senders() {
        let t = DeviceTrust::default();
        assert!(t.shows(SenderTrust::Verified));
        assert!(t.shows(SenderTrust::CrossSigned));
        assert!(t.shows(SenderTrust::IdentityChanged), "flagged, not hidden");
        assert!(!t.shows(SenderTrust::NotCrossSigned));
        assert!(!t.shows(SenderTrust::UnknownDevice));
        assert!(DeviceTrust::All.shows(SenderTrust::NotCrossSigned));
        assert!(!DeviceTrust::All.shows(SenderTrust::SenderMismatch));
    }

    #[test]
    fn names_round_trip() {
        for t in [
            SenderTrust::Verified,
            SenderTrust::CrossSigned,
            SenderTrust::IdentityChanged,
            SenderTrust::CrossSignedUnauthenticated,
            SenderTrust::NotCrossSigned,
            SenderTrust::UnknownDevice,
            SenderTrust::SenderMismatch,
        ] {
            assert_eq!(SenderTrust::parse(t.as_str()), Some(t));
        }
        assert_eq!("all".parse(), Ok(DeviceTrust::All));
        assert!("some".parse::<DeviceTrust>().is_err());
    }
}

/// This device's encryption keys and cross-signing state
/// ([`Client::device_status`](crate::Client::device_status)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceStatus {
    /// The device's Ed25519 key, unpadded base64 (a public key: safe to
    /// show).
    pub ed25519: String,
    /// Whether the account's self-signing key signed this device.
    pub cross_signed: bool,
    /// Whether the account has cross-signing keys on the server.
    pub account_has_cross_signing: bool,
    /// Whether this device holds the account's private cross-signing keys.
    pub holds_cross_signing_keys: bool,
}

impl DeviceStatus {
    /// The Ed25519 key as Element shows it under "Session key": groups of
    /// four characters separated by spaces.
    pub fn fingerprint(&self) -> String {
        let chars: Vec<char> = self.ed25519.chars().collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The algorithm quotient encrypts rooms with (the spec's only Megolm one).
pub const MEGOLM: &str = "m.megolm.v1.aes-sha2";

/// The `m.room.encryption` state event to put in a `CreateRoom` request's
/// `initial_state`, so the room is encrypted from its first event.
///
/// ```
/// use quotient_api::generated::create_room::CreateRoom;
/// let mut request = CreateRoom::new();
/// request.initial_state = Some(vec![quotient_client::encryption::initial_state()]);
/// ```
pub fn initial_state() -> quotient_api::generated::create_room::StateEvent {
    quotient_api::generated::create_room::StateEvent {
        type_: "m.room.encryption".into(),
        state_key: Some(String::new()),
        content: encryption_content(),
    }
}

pub(crate) fn encryption_content() -> quotient_api::JsonObject {
    let mut content = quotient_api::JsonObject::new();
    content.insert("algorithm".into(), MEGOLM.into());
    content
}

/// Which of the account's secrets this device holds: the cross-signing
/// private keys (to sign its other devices and verify other users) and
/// the key backup's decryption key (to read history from the backup).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    /// All three private cross-signing keys (master, self-signing,
    /// user-signing).
    pub cross_signing_keys: bool,
    /// The key that decrypts the server-side key backup.
    pub backup_key: bool,
}

/// The server-side key backup as the server and this device know it
/// ([`Client::backup_status`](crate::Client::backup_status)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupStatus {
    /// The current backup's version; `None` when the account has none.
    pub version: Option<String>,
    /// How many keys the server says the backup holds.
    pub server_count: Option<u64>,
    /// Whether the backup is signed by this device, a verified device of
    /// this user, or this user's verified master key: only then does a
    /// device trust it enough to upload to it by itself.
    pub trusted: bool,
    /// Whether this device holds the key that decrypts the current backup.
    pub has_key: bool,
    /// Whether this device is uploading its room keys to the backup.
    pub uploading: bool,
    /// Room keys in this device's store.
    pub keys_local: usize,
    /// Of those, how many are in the current backup.
    pub keys_backed_up: usize,
}

/// The account's secret storage
/// ([`Client::recovery_status`](crate::Client::recovery_status)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStatus {
    /// Whether the account has a default secret storage key.
    pub enabled: bool,
    /// Whether that key can also be derived from a passphrase.
    pub passphrase: bool,
    /// The secrets stored under it, by name (`m.cross_signing.master`,
    /// `m.cross_signing.self_signing`, `m.cross_signing.user_signing`,
    /// `m.megolm_backup.v1`).
    pub secrets: Vec<String>,
}

/// One device of a user and how far this device trusts it
/// ([`Client::devices_of`](crate::Client::devices_of)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceTrustInfo {
    /// Its device ID.
    pub device_id: String,
    /// The name its owner gave it, as its keys say.
    pub display_name: Option<String>,
    /// Its Ed25519 key (unpadded base64).
    pub ed25519: Option<String>,
    /// Its owner's self-signing key signed it.
    pub cross_signed: bool,
    /// Verified by us: cross-signed by an identity we verified (or our
    /// own), or verified directly.
    pub verified: bool,
    /// Blocked by us: it gets no room keys.
    pub blocked: bool,
    /// It is this device.
    pub this_device: bool,
}

/// How this device sees a user's cross-signing identity
/// ([`Client::user_trust`](crate::Client::user_trust)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserTrust {
    /// The user has cross-signing keys.
    pub has_identity: bool,
    /// We verified their current identity (or it is ours, and this
    /// device is cross-signed).
    pub verified: bool,
    /// We verified an identity of theirs at some point.
    pub was_verified: bool,
    /// Their identity changed since we verified it: room keys are not
    /// shared with them until it is acknowledged
    /// ([`Client::acknowledge_identity_change`](crate::Client::acknowledge_identity_change))
    /// or verified again.
    pub identity_changed: bool,
}

//! The room state events a client shows or acts on: creation, name,
//! topic, avatar, alias, join rules, history visibility, encryption and
//! tombstone. Power levels have their own file.
//!
//! Where the spec marks a field required but clients unset it by sending
//! `{}` (a name, a topic), the field is optional here: an unset value is
//! ordinary state, not a malformed event.

use serde::Deserialize;
use serde_json::Value;

use super::content::serde_content;
use super::keyword::keyword;
use super::lenient::or_none;
use super::{ContentError, EventContent, MediaInfo};

/// `m.room.create`: the room's first event, fixing its version and kind.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreateContent {
    /// The creator, in room versions 1–10; from 11 on it is the event's
    /// `sender`.
    #[serde(default, deserialize_with = "or_none")]
    pub creator: Option<String>,
    /// The room version; `"1"` when absent, as the spec says.
    #[serde(default = "room_version_1")]
    pub room_version: String,
    /// Whether users on other servers may join (`m.federate`); default true.
    #[serde(rename = "m.federate", default = "yes")]
    pub federate: bool,
    /// The room this one replaces, if it was upgraded.
    #[serde(default, deserialize_with = "or_none")]
    pub predecessor: Option<Predecessor>,
    /// The room's type (`m.space`); `None` for an ordinary room.
    #[serde(rename = "type", default, deserialize_with = "or_none")]
    pub room_type: Option<String>,
    /// More creators besides the sender (room version 12 on).
    #[serde(default, deserialize_with = "or_none")]
    pub additional_creators: Option<Vec<String>>,
}

fn room_version_1() -> String {
    "1".to_owned()
}

fn yes() -> bool {
    true
}

/// The room an upgraded room replaces.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Predecessor {
    /// The old room's ID.
    pub room_id: String,
    /// The old room's last event (its tombstone); optional since v1.16.
    #[serde(default)]
    pub event_id: Option<String>,
}

/// `m.room.name`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct NameContent {
    /// The name; absent or empty means the room has none.
    #[serde(default, deserialize_with = "or_none")]
    pub name: Option<String>,
}

/// `m.room.topic`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TopicContent {
    /// The plain-text topic.
    #[serde(default, deserialize_with = "or_none")]
    pub topic: Option<String>,
    /// The topic in other formats (`m.topic`'s `m.text`), in the sender's
    /// order of preference.
    #[serde(rename = "m.topic", default, deserialize_with = "or_none")]
    pub rich: Option<TopicBlock>,
}

/// The `m.topic` block of a topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct TopicBlock {
    /// Representations of the topic, most preferred first.
    #[serde(rename = "m.text", default)]
    pub text: Vec<TextRepresentation>,
}

/// One representation of a text.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TextRepresentation {
    /// Its MIME type; `text/plain` when absent.
    #[serde(default, deserialize_with = "or_none")]
    pub mimetype: Option<String>,
    /// The text.
    pub body: String,
}

/// `m.room.avatar`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AvatarContent {
    /// The avatar's `mxc://` URI; absent means the room has none.
    #[serde(default, deserialize_with = "or_none")]
    pub url: Option<String>,
    /// What the image is.
    #[serde(default, deserialize_with = "or_none")]
    pub info: Option<MediaInfo>,
}

/// `m.room.canonical_alias`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CanonicalAliasContent {
    /// The main alias; a room name falls back to it.
    #[serde(default, deserialize_with = "or_none")]
    pub alias: Option<String>,
    /// Other aliases; never used for the room's name.
    #[serde(default, deserialize_with = "or_none")]
    pub alt_aliases: Option<Vec<String>>,
}

keyword! {
    /// Who may join (`join_rule`).
    pub enum JoinRule {
        /// Anyone.
        Public = "public",
        /// Anyone may knock; the invited join.
        Knock = "knock",
        /// Only the invited.
        Invite = "invite",
        /// Reserved by the spec; unused.
        Private = "private",
        /// Members of the rooms in `allow`, or the invited.
        Restricted = "restricted",
        /// As restricted, and anyone else may knock.
        KnockRestricted = "knock_restricted",
    }
}

/// `m.room.join_rules`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct JoinRulesContent {
    /// The rule.
    pub join_rule: JoinRule,
    /// For the restricted rules: whose members may join without an invite.
    #[serde(default, deserialize_with = "or_none")]
    pub allow: Option<Vec<AllowCondition>>,
}

/// One condition of a restricted join rule.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AllowCondition {
    /// The kind of condition (`m.room_membership`).
    #[serde(rename = "type")]
    pub kind: String,
    /// For `m.room_membership`: the room whose members may join.
    #[serde(default, deserialize_with = "or_none")]
    pub room_id: Option<String>,
}

keyword! {
    /// Who may read the room's history (`history_visibility`).
    pub enum HistoryVisibility {
        /// Members, from the point they were invited.
        Invited = "invited",
        /// Members, from the point they joined.
        Joined = "joined",
        /// Members, all of it.
        Shared = "shared",
        /// Anyone, member or not.
        WorldReadable = "world_readable",
    }
}

/// `m.room.history_visibility`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct HistoryVisibilityContent {
    /// The visibility.
    pub history_visibility: HistoryVisibility,
}

/// `m.room.encryption`: the room is end-to-end encrypted from here on.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EncryptionContent {
    /// The algorithm (`m.megolm.v1.aes-sha2`).
    pub algorithm: String,
    /// How long a session may be used, in milliseconds.
    #[serde(default, deserialize_with = "or_none")]
    pub rotation_period_ms: Option<u64>,
    /// How many messages a session may encrypt.
    #[serde(default, deserialize_with = "or_none")]
    pub rotation_period_msgs: Option<u64>,
}

/// `m.room.tombstone`: the room was replaced (upgraded).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TombstoneContent {
    /// A message for members, saying why.
    #[serde(default, deserialize_with = "or_none")]
    pub body: Option<String>,
    /// The room that replaces this one.
    pub replacement_room: String,
}

serde_content! {
    CreateContent => "m.room.create",
    NameContent => "m.room.name",
    TopicContent => "m.room.topic",
    AvatarContent => "m.room.avatar",
    CanonicalAliasContent => "m.room.canonical_alias",
    JoinRulesContent => "m.room.join_rules",
    HistoryVisibilityContent => "m.room.history_visibility",
    EncryptionContent => "m.room.encryption",
    TombstoneContent => "m.room.tombstone",
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode<C: EventContent>(content: Value) -> Result<C, ContentError> {
        C::from_content(&content)
    }

    #[test]
    fn create_defaults_as_the_spec_says() {
        let c: CreateContent = decode(json!({})).unwrap();
        assert_eq!(c.room_version, "1");
        assert!(c.federate);
        assert_eq!((c.creator, c.predecessor, c.room_type), (None, None, None));
        let c: CreateContent = decode(json!({"room_version": "11", "m.federate": false,
            "type": "m.space", "predecessor": {"room_id": "!old:x"}}))
        .unwrap();
        assert_eq!((c.room_version.as_str(), c.federate), ("11", false));
        assert_eq!(c.room_type.as_deref(), Some("m.space"));
        assert_eq!(c.predecessor.map(|p| p.room_id).as_deref(), Some("!old:x"));
    }

    #[test]
    fn name_and_topic_may_be_unset() {
        let n: NameContent = decode(json!({})).unwrap();
        assert_eq!(n.name, None);
        let t: TopicContent = decode(json!({"topic": "plain", "m.topic": {"m.text": [
            {"mimetype": "text/html", "body": "<b>rich</b>"}, {"body": "plain"}]}}))
        .unwrap();
        assert_eq!(t.topic.as_deref(), Some("plain"));
        let rich = t.rich.unwrap_or_default();
        assert_eq!(rich.text[0].mimetype.as_deref(), Some("text/html"));
        assert_eq!(rich.text[1].mimetype, None);
    }

    #[test]
    fn join_rules_known_unknown_and_restricted() {
        let j: JoinRulesContent = decode(json!({"join_rule": "knock_restricted", "allow": [
            {"type": "m.room_membership", "room_id": "!space:x"}]}))
        .unwrap();
        assert_eq!(j.join_rule, JoinRule::KnockRestricted);
        assert_eq!(
            j.allow.unwrap_or_default()[0].room_id.as_deref(),
            Some("!space:x")
        );
        let j: JoinRulesContent = decode(json!({"join_rule": "org.example.rule"})).unwrap();
        assert_eq!(j.join_rule, JoinRule::Other("org.example.rule".into()));
        assert!(decode::<JoinRulesContent>(json!({})).is_err());
    }

    #[test]
    fn history_visibility_encryption_and_tombstone() {
        let h: HistoryVisibilityContent =
            decode(json!({"history_visibility": "world_readable"})).unwrap();
        assert_eq!(h.history_visibility, HistoryVisibility::WorldReadable);
        let e: EncryptionContent = decode(json!({"algorithm": "m.megolm.v1.aes-sha2",
            "rotation_period_ms": 604800000, "rotation_period_msgs": 100}))
        .unwrap();
        assert_eq!(e.rotation_period_msgs, Some(100));
        let t: TombstoneContent = decode(json!({"replacement_room": "!new:x"})).unwrap();
        assert_eq!((t.body, t.replacement_room.as_str()), (None, "!new:x"));
        assert!(decode::<TombstoneContent>(json!({"body": "gone"})).is_err());
    }

    #[test]
    fn avatar_and_alias() {
        let a: AvatarContent = decode(json!({"url": "mxc://x/a", "info": {"w": 2}})).unwrap();
        assert_eq!(a.info.and_then(|i| i.w), Some(2));
        let c: CanonicalAliasContent =
            decode(json!({"alias": "#a:x", "alt_aliases": ["#b:x"]})).unwrap();
        assert_eq!(c.alias.as_deref(), Some("#a:x"));
        assert_eq!(c.alt_aliases.unwrap_or_default(), ["#b:x"]);
    }
}

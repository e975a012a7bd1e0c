//! `m.room.member`: who is in a room, and as whom.

use serde::Deserialize;
use serde_json::Value;

use super::content::serde_content;
use super::keyword::keyword;
use super::lenient::or_none;
use super::{ContentError, EventContent};

keyword! {
    /// A member's state in a room (`membership`).
    pub enum Membership {
        /// Invited, not yet joined.
        Invite = "invite",
        /// In the room.
        Join = "join",
        /// Asking to be let in.
        Knock = "knock",
        /// Left, was kicked, or an invite or knock was withdrawn or refused.
        Leave = "leave",
        /// Banned.
        Ban = "ban",
    }
}

/// The content of an `m.room.member` event; its `state_key` is the user
/// ID it is about.
///
/// Only `membership` is required. The profile fields are lenient: a
/// `displayname` of the wrong type reads as none, so the member is still
/// listed (under their user ID).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct MemberContent {
    /// The member's state in the room.
    pub membership: Membership,
    /// The display name for this room; `None` when absent or null.
    #[serde(default, deserialize_with = "or_none")]
    pub displayname: Option<String>,
    /// The avatar for this room, an `mxc://` URI.
    #[serde(default, deserialize_with = "or_none")]
    pub avatar_url: Option<String>,
    /// Why the membership changed (a kick's or ban's reason, a knock's
    /// message).
    #[serde(default, deserialize_with = "or_none")]
    pub reason: Option<String>,
    /// On an invite: whether the room is meant as a direct chat.
    #[serde(default, deserialize_with = "or_none")]
    pub is_direct: Option<bool>,
    /// On a join to a restricted room: the user whose server authorised it.
    #[serde(default, deserialize_with = "or_none")]
    pub join_authorised_via_users_server: Option<String>,
    /// On an invite through a third party (an email address), the signed
    /// invite, as JSON.
    #[serde(default)]
    pub third_party_invite: Option<Value>,
}

serde_content! {
    MemberContent => "m.room.member",
}

impl MemberContent {
    /// Whether the invite asks for a direct chat; absent means no.
    pub fn is_direct(&self) -> bool {
        self.is_direct.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(content: Value) -> Result<MemberContent, ContentError> {
        MemberContent::from_content(&content)
    }

    #[test]
    fn every_membership_and_an_unknown_one() {
        for (text, membership) in [
            ("invite", Membership::Invite),
            ("join", Membership::Join),
            ("knock", Membership::Knock),
            ("leave", Membership::Leave),
            ("ban", Membership::Ban),
            (
                "org.example.suspended",
                Membership::Other("org.example.suspended".into()),
            ),
        ] {
            let m = decode(json!({"membership": text})).unwrap();
            assert_eq!(m.membership, membership);
            assert_eq!(m.membership.as_str(), text);
        }
    }

    #[test]
    fn profile_fields() {
        let m = decode(json!({"membership": "invite", "displayname": "Alice",
            "avatar_url": "mxc://x/a", "reason": "hi", "is_direct": true}))
        .unwrap();
        assert_eq!(m.displayname.as_deref(), Some("Alice"));
        assert_eq!(m.avatar_url.as_deref(), Some("mxc://x/a"));
        assert_eq!(m.reason.as_deref(), Some("hi"));
        assert!(m.is_direct());
    }

    #[test]
    fn null_or_odd_profile_fields_read_as_none() {
        let m = decode(
            json!({"membership": "join", "displayname": null, "avatar_url": 7,
            "is_direct": "yes"}),
        )
        .unwrap();
        assert_eq!((&m.displayname, &m.avatar_url), (&None, &None));
        assert!(!m.is_direct());
    }

    #[test]
    fn membership_is_required() {
        assert!(decode(json!({"displayname": "Alice"})).is_err());
        assert!(decode(json!({"membership": null})).is_err());
    }
}

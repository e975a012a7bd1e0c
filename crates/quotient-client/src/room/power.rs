//! Who may do what in a room: its power levels read as its room version
//! says, room version 12's creators included.
//!
//! In room version 12 (Synapse 1.163's default) the creators (the create
//! event's sender and its `additional_creators`) outrank every level and
//! are not listed in `users`; in earlier versions the creator is an
//! ordinary user, given 100 only while the room has no power-levels event
//! ([spec](https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules)).

use std::collections::BTreeSet;
use std::fmt;

use quotient_api::UserId;
use serde_json::Value;

use crate::events::{EventContent, PowerLevel, PowerLevelsContent};

/// What a member may ask for, to check against the power levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomAction {
    /// Send a message event (not state) of this type.
    Send(String),
    /// Send a state event of this type.
    SetState(String),
    /// Invite someone.
    Invite,
    /// Kick this member.
    Kick(UserId),
    /// Ban this member.
    Ban(UserId),
    /// Lift this member's ban.
    Unban(UserId),
    /// Redact an event sent by this user.
    Redact(UserId),
}

impl fmt::Display for RoomAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomAction::Send(t) => write!(f, "sending {t}"),
            RoomAction::SetState(t) => write!(f, "setting {t}"),
            RoomAction::Invite => f.write_str("inviting"),
            RoomAction::Kick(u) => write!(f, "kicking {u}"),
            RoomAction::Ban(u) => write!(f, "banning {u}"),
            RoomAction::Unban(u) => write!(f, "unbanning {u}"),
            RoomAction::Redact(u) => write!(f, "redacting an event of {u}"),
        }
    }
}

/// Why the power levels refuse an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The level the action needs.
    pub needed: PowerLevel,
    /// The level the user has.
    pub level: PowerLevel,
    /// For an action on another member: that member's level, when it is
    /// what stands in the way.
    pub target: Option<(UserId, PowerLevel)>,
}

/// A room's power levels as its version applies them.
///
/// ```
/// use quotient_api::UserId;
/// use quotient_client::room::{PowerLevel, RoomAction, RoomPower};
/// use serde_json::json;
/// let create = json!({"type": "m.room.create", "sender": "@ann:x", "state_key": "",
///                     "content": {"room_version": "12"}});
/// let levels = json!({"type": "m.room.power_levels", "state_key": "",
///                     "content": {"users": {"@mod:x": 50}}});
/// let power = RoomPower::from_state(Some(&create), Some(&levels));
/// let (ann, moderator): (UserId, UserId) = ("@ann:x".parse()?, "@mod:x".parse()?);
/// assert_eq!(power.level_of(&ann), PowerLevel::Creator);
/// assert!(power.check(&ann, &RoomAction::Kick(moderator.clone())).is_ok());
/// assert!(power.check(&moderator, &RoomAction::Kick(ann)).is_err());
/// # Ok::<(), quotient_api::IdError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RoomPower {
    levels: PowerLevelsContent,
    creators: BTreeSet<String>,
    creators_outrank: bool,
    // Without a power-levels event, pre-12 creators have 100.
    has_levels: bool,
    // Without a create event (an invite's stripped state) nothing is
    // known: every check passes and the server decides.
    known: bool,
}

/// Whether a room version makes its creators outrank every level: 12 and
/// later, and the unstable `org.matrix.hydra.11` that led to it.
pub fn creators_outrank(room_version: &str) -> bool {
    room_version == "org.matrix.hydra.11" || room_version.parse::<u32>().is_ok_and(|v| v >= 12)
}

impl RoomPower {
    /// Reads the room's `m.room.create` and `m.room.power_levels` state
    /// events (their JSON as stored). A power-levels event that does not
    /// fit counts as absent.
    pub fn from_state(create: Option<&Value>, power_levels: Option<&Value>) -> RoomPower {
        let content = |e: &Value| e.get("content").cloned().unwrap_or(Value::Null);
        let levels = power_levels.and_then(|e| PowerLevelsContent::from_content(&content(e)).ok());
        let version = create
            .and_then(|e| e.get("content")?.get("room_version")?.as_str())
            .unwrap_or("1");
        let mut creators = BTreeSet::new();
        if let Some(create) = create {
            // Before version 11 the creator was `content.creator`.
            let sender = create.get("sender").and_then(Value::as_str);
            let creator = create
                .get("content")
                .and_then(|c| c.get("creator"))
                .and_then(Value::as_str);
            creators.extend(sender.or(creator).map(str::to_owned));
            if creators_outrank(version) {
                let extra = create
                    .get("content")
                    .and_then(|c| c.get("additional_creators"))
                    .and_then(Value::as_array);
                for user in extra.into_iter().flatten() {
                    creators.extend(user.as_str().map(str::to_owned));
                }
            }
        }
        RoomPower {
            has_levels: levels.is_some(),
            levels: levels.unwrap_or_else(|| {
                PowerLevelsContent::from_content(&serde_json::json!({}))
                    .expect("an empty object is a valid power-levels content")
            }),
            creators,
            creators_outrank: creators_outrank(version),
            known: create.is_some(),
        }
    }

    /// The power-levels content (the spec's defaults where it says
    /// nothing, or no event at all).
    pub fn levels(&self) -> &PowerLevelsContent {
        &self.levels
    }

    /// The room's creators (the create event's sender, and in room
    /// version 12 its `additional_creators`).
    pub fn creators(&self) -> impl Iterator<Item = &str> {
        self.creators.iter().map(String::as_str)
    }

    /// A user's level.
    pub fn level_of(&self, user: &UserId) -> PowerLevel {
        let creator = self.creators.contains(user.as_str());
        if creator && self.creators_outrank {
            return PowerLevel::Creator;
        }
        if creator && !self.has_levels {
            return PowerLevel::Level(100);
        }
        PowerLevel::Level(self.levels.user_level(user))
    }

    /// Whether `user` may do `action`: `Ok` when allowed (or when the
    /// store does not know the room's create event, and so cannot say).
    pub fn check(&self, user: &UserId, action: &RoomAction) -> Result<(), Refusal> {
        if !self.known {
            return Ok(());
        }
        let l = &self.levels;
        let level = self.level_of(user);
        let need = |needed: i64| {
            if level >= PowerLevel::Level(needed) {
                Ok(())
            } else {
                Err(Refusal {
                    needed: PowerLevel::Level(needed),
                    level,
                    target: None,
                })
            }
        };
        let outrank = |target: &UserId| {
            let theirs = self.level_of(target);
            // Only someone of a lower level can be acted on; a creator
            // of version 12 by nobody.
            if theirs < level {
                Ok(())
            } else {
                Err(Refusal {
                    needed: match theirs {
                        PowerLevel::Level(n) => PowerLevel::Level(n.saturating_add(1)),
                        PowerLevel::Creator => PowerLevel::Creator,
                    },
                    level,
                    target: Some((target.clone(), theirs)),
                })
            }
        };
        match action {
            RoomAction::Send(t) => need(l.event_level(t, false)),
            RoomAction::SetState(t) => need(l.event_level(t, true)),
            RoomAction::Invite => need(l.invite),
            RoomAction::Kick(target) => need(l.kick).and_then(|()| outrank(target)),
            RoomAction::Ban(target) => need(l.ban).and_then(|()| outrank(target)),
            RoomAction::Unban(target) => need(l.ban.max(l.kick)).and_then(|()| outrank(target)),
            RoomAction::Redact(sender) => {
                need(l.event_level("m.room.redaction", false))?;
                if sender == user {
                    Ok(())
                } else {
                    need(l.redact)
                }
            }
        }
    }

    /// Whether `user` may do `action` (see [`check`](Self::check)).
    pub fn can(&self, user: &UserId, action: &RoomAction) -> bool {
        self.check(user, action).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(s: &str) -> UserId {
        s.parse().unwrap()
    }

    fn create(version: &str, extra: &[&str]) -> Value {
        json!({"type": "m.room.create", "sender": "@ann:x", "state_key": "",
               "content": {"room_version": version, "additional_creators": extra}})
    }

    fn levels(content: Value) -> Value {
        json!({"type": "m.room.power_levels", "state_key": "", "content": content})
    }

    #[test]
    fn in_version_12_the_creators_outrank_everyone_without_being_listed() {
        let pl = levels(json!({"users": {"@mod:x": 100}}));
        let power = RoomPower::from_state(Some(&create("12", &["@bea:x"])), Some(&pl));
        assert_eq!(power.level_of(&id("@ann:x")), PowerLevel::Creator);
        assert_eq!(power.level_of(&id("@bea:x")), PowerLevel::Creator);
        assert_eq!(power.level_of(&id("@mod:x")), PowerLevel::Level(100));
        assert!(power.can(&id("@ann:x"), &RoomAction::Ban(id("@mod:x"))));
        let refused = power
            .check(&id("@mod:x"), &RoomAction::Kick(id("@bea:x")))
            .unwrap_err();
        assert_eq!(refused.target, Some((id("@bea:x"), PowerLevel::Creator)));
        // One creator cannot kick another.
        assert!(!power.can(&id("@ann:x"), &RoomAction::Kick(id("@bea:x"))));
    }

    #[test]
    fn before_version_12_the_creator_is_an_ordinary_user_once_levels_exist() {
        let pl = levels(json!({"users": {"@mod:x": 100}}));
        let power = RoomPower::from_state(Some(&create("11", &["@bea:x"])), Some(&pl));
        assert_eq!(power.level_of(&id("@ann:x")), PowerLevel::Level(0));
        assert_eq!(power.level_of(&id("@bea:x")), PowerLevel::Level(0));
        assert!(!power.can(&id("@ann:x"), &RoomAction::Kick(id("@x:x"))));
        // With no power-levels event, the creator has 100.
        let bare = RoomPower::from_state(Some(&create("11", &[])), None);
        assert_eq!(bare.level_of(&id("@ann:x")), PowerLevel::Level(100));
        assert!(bare.can(&id("@ann:x"), &RoomAction::SetState("m.room.name".into())));
        assert!(!bare.can(&id("@bob:x"), &RoomAction::SetState("m.room.name".into())));
    }

    #[test]
    fn kicks_and_bans_need_their_level_and_a_lower_target() {
        let pl = levels(
            json!({"users": {"@a:x": 50, "@b:x": 50, "@c:x": 10}, "kick": 40,
                               "ban": 60}),
        );
        let power = RoomPower::from_state(Some(&create("10", &[])), Some(&pl));
        assert!(power.can(&id("@a:x"), &RoomAction::Kick(id("@c:x"))));
        assert!(!power.can(&id("@a:x"), &RoomAction::Kick(id("@b:x"))));
        let refused = power
            .check(&id("@a:x"), &RoomAction::Ban(id("@c:x")))
            .unwrap_err();
        assert_eq!(
            (refused.needed, refused.level),
            (PowerLevel::Level(60), PowerLevel::Level(50))
        );
        assert!(!power.can(&id("@a:x"), &RoomAction::Unban(id("@c:x"))));
    }

    #[test]
    fn redacting_ones_own_event_needs_less_than_anothers() {
        let power = RoomPower::from_state(Some(&create("10", &[])), Some(&levels(json!({}))));
        assert!(power.can(&id("@a:x"), &RoomAction::Redact(id("@a:x"))));
        assert!(!power.can(&id("@a:x"), &RoomAction::Redact(id("@b:x"))));
        assert!(power.can(&id("@a:x"), &RoomAction::Send("m.room.message".into())));
        assert!(!power.can(&id("@a:x"), &RoomAction::SetState("m.room.topic".into())));
    }

    #[test]
    fn a_room_without_its_create_event_is_left_to_the_server() {
        let power = RoomPower::from_state(None, Some(&levels(json!({"kick": 100}))));
        assert!(power.can(&id("@a:x"), &RoomAction::Kick(id("@b:x"))));
    }

    #[test]
    fn versions_from_12_make_creators_outrank() {
        for (v, outrank) in [("1", false), ("11", false), ("12", true), ("13", true)] {
            assert_eq!(creators_outrank(v), outrank, "{v}");
        }
        assert!(creators_outrank("org.matrix.hydra.11"));
        assert!(!creators_outrank("org.example.custom"));
    }
}

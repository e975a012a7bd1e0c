//! A room's members from its stored `m.room.member` state.

use quotient_api::{RoomId, UserId};
use serde_json::Value;

use crate::error::Result;
use crate::names::{disambiguated_names, Member};
use crate::store::Store;

/// A member's membership, from their `m.room.member` event's `membership`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberMembership {
    /// `join`
    Joined,
    /// `invite`
    Invited,
    /// `knock`
    Knocked,
    /// `leave` (left, or kicked when the sender is someone else)
    Left,
    /// `ban`
    Banned,
}

impl MemberMembership {
    /// The spec's word for it (`join`, `invite`, `knock`, `leave`, `ban`).
    pub fn as_str(self) -> &'static str {
        match self {
            MemberMembership::Joined => "join",
            MemberMembership::Invited => "invite",
            MemberMembership::Knocked => "knock",
            MemberMembership::Left => "leave",
            MemberMembership::Banned => "ban",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "join" => MemberMembership::Joined,
            "invite" => MemberMembership::Invited,
            "knock" => MemberMembership::Knocked,
            "leave" => MemberMembership::Left,
            "ban" => MemberMembership::Banned,
            _ => return None,
        })
    }
}

/// One member of a room as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomMember {
    /// Their user ID (the member event's state key).
    pub user_id: UserId,
    /// Their membership.
    pub membership: MemberMembership,
    /// The `displayname` of their member event, as set (may be empty).
    pub display_name: Option<String>,
    /// The name to show: disambiguated against the room's joined and
    /// invited members ([`disambiguated_names`]); the user ID if none.
    pub disambiguated_name: String,
    /// The `avatar_url` of their member event (an `mxc://` URI).
    pub avatar_url: Option<String>,
}

fn as_member(m: &RoomMember) -> Member<'_> {
    Member {
        user_id: &m.user_id,
        display_name: m.display_name.as_deref(),
    }
}

fn content_str(event: &Value, key: &str) -> Option<String> {
    event.get("content")?.get(key)?.as_str().map(str::to_owned)
}

impl Store {
    /// A room's members from its stored `m.room.member` state, joined
    /// first, then invited, knocking, left and banned, each by user ID.
    ///
    /// Names are disambiguated against the joined and invited members, as
    /// the spec says: a joined "Alice" beside an invited "Alice" are both
    /// shown with their user IDs; a left "Alice" is not counted (but is
    /// itself disambiguated when it collides with a current one). With
    /// lazy-loading the store may hold fewer members than the room has.
    /// An unknown room has no members. Member events without a known
    /// `membership`, or whose state key is not a user ID, are skipped.
    pub fn members(&self, room_id: &RoomId) -> Result<Vec<RoomMember>> {
        self.members_at(room_id.as_str())
    }

    /// [`members`](Self::members) by the room ID as stored.
    pub(crate) fn members_at(&self, room_id: &str) -> Result<Vec<RoomMember>> {
        let mut members: Vec<RoomMember> = Vec::new();
        for (user_id, event) in self.state_events_at(room_id, "m.room.member")? {
            // A state key that is not a user ID is no member.
            let Ok(user_id) = UserId::parse(user_id) else {
                continue;
            };
            let Some(membership) = event
                .get("content")
                .and_then(|c| c.get("membership"))
                .and_then(Value::as_str)
                .and_then(MemberMembership::parse)
            else {
                continue;
            };
            members.push(RoomMember {
                display_name: content_str(&event, "displayname"),
                avatar_url: content_str(&event, "avatar_url"),
                user_id,
                membership,
                disambiguated_name: String::new(),
            });
        }
        members.sort_by(|a, b| (a.membership, &a.user_id).cmp(&(b.membership, &b.user_id)));
        let current = |m: &RoomMember| {
            matches!(
                m.membership,
                MemberMembership::Joined | MemberMembership::Invited
            )
        };
        // The current members are named among themselves; each other one
        // among the current members plus itself.
        let present: Vec<Member<'_>> = members
            .iter()
            .filter(|m| current(m))
            .map(as_member)
            .collect();
        let mut names = Vec::with_capacity(members.len());
        let mut present_names = disambiguated_names(&present).into_iter();
        for member in &members {
            if current(member) {
                names.push(
                    present_names
                        .next()
                        .unwrap_or_else(|| member.user_id.to_string()),
                );
            } else {
                let mut with_self = present.clone();
                with_self.push(as_member(member));
                let name = disambiguated_names(&with_self).pop();
                names.push(name.unwrap_or_else(|| member.user_id.to_string()));
            }
        }
        for (member, name) in members.iter_mut().zip(names) {
            member.disambiguated_name = name;
        }
        Ok(members)
    }

    /// One member of a room, or `None` if the store has no member event
    /// for them; named as in [`Store::members`].
    pub fn member(&self, room_id: &RoomId, user_id: &UserId) -> Result<Option<RoomMember>> {
        Ok(self
            .members(room_id)?
            .into_iter()
            .find(|m| m.user_id == *user_id))
    }
}

impl crate::store::Store {
    /// Adds the `m.room.member` events of a full member list (`GET
    /// /members`) that the store does not have: with lazy-loading, sync
    /// brings only the members the timeline needs. A member the store
    /// already has keeps its stored event (sync keeps it current).
    pub(crate) fn add_missing_members(&mut self, room_id: &str, events: &[Value]) -> Result<()> {
        let members: Vec<Value> = events
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some("m.room.member"))
            .cloned()
            .collect();
        self.add_missing_state(room_id, &members)
    }

    /// Adds state events fetched from the server (a member list, one
    /// state event) that the store does not have; stored ones are kept
    /// (sync keeps them current).
    pub(crate) fn add_missing_state(&mut self, room_id: &str, events: &[Value]) -> Result<()> {
        let tx = self.write_transaction()?;
        for event in events {
            let (Some(kind), Some(key)) = (
                event.get("type").and_then(Value::as_str),
                event.get("state_key").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !event.get("content").is_some_and(Value::is_object) {
                continue;
            }
            let mut event = event.clone();
            if let Some(map) = event.as_object_mut() {
                map.remove("room_id");
            }
            tx.prepare_cached(
                "INSERT OR IGNORE INTO room_state (room_id, event_type, state_key, event_id, event)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![
                room_id,
                kind,
                key,
                event.get("event_id").and_then(Value::as_str),
                event.to_string()
            ])?;
        }
        tx.commit()?;
        Ok(())
    }
}

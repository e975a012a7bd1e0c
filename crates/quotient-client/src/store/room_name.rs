//! A room's display name from what the store holds.

use quotient_api::{RoomId, UserId};
use serde_json::Value;

use super::Store;
use crate::error::Result;
use crate::names::{room_display_name, Member, RoomNameInput};

/// What a room's display name is computed from, owned, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomNameParts {
    /// `m.room.name`'s `name`.
    pub name: Option<String>,
    /// `m.room.canonical_alias`'s `alias`.
    pub canonical_alias: Option<String>,
    /// The heroes (user ID, display name from their `m.room.member`).
    pub heroes: Vec<(UserId, Option<String>)>,
    /// Joined members, the user included.
    pub joined_member_count: u64,
    /// Invited members.
    pub invited_member_count: u64,
}

impl RoomNameParts {
    /// The display name by the spec's algorithm ([`crate::names`]).
    pub fn display_name(&self) -> String {
        let heroes: Vec<Member<'_>> = self
            .heroes
            .iter()
            .map(|(user_id, display_name)| Member {
                user_id,
                display_name: display_name.as_deref(),
            })
            .collect();
        room_display_name(&RoomNameInput {
            name: self.name.as_deref(),
            canonical_alias: self.canonical_alias.as_deref(),
            heroes: &heroes,
            joined_member_count: self.joined_member_count,
            invited_member_count: self.invited_member_count,
        })
    }
}

fn content_str(event: Option<Value>, key: &str) -> Option<String> {
    event?.get("content")?.get(key)?.as_str().map(str::to_owned)
}

impl Store {
    /// The inputs of a room's display name, or `None` for an unknown room.
    ///
    /// The counts are the summary's; before the server has sent them
    /// (or for an invite, which has no summary) they are counted from the
    /// stored member events, which with lazy-loading may be fewer.
    pub fn room_name_parts(&self, room_id: &RoomId) -> Result<Option<RoomNameParts>> {
        let Some(summary) = self.room_summary(room_id)? else {
            return Ok(None);
        };
        let members = self.state_events(room_id, "m.room.member")?;
        let counted = |membership: &str| {
            members
                .iter()
                .filter(|(_, e)| e["content"]["membership"] == membership)
                .count() as u64
        };
        let mut heroes = Vec::with_capacity(summary.heroes.len());
        for hero in &summary.heroes {
            let event = self.state_event(room_id, "m.room.member", hero.as_str())?;
            heroes.push((hero.clone(), content_str(event, "displayname")));
        }
        Ok(Some(RoomNameParts {
            name: content_str(self.state_event(room_id, "m.room.name", "")?, "name"),
            canonical_alias: content_str(
                self.state_event(room_id, "m.room.canonical_alias", "")?,
                "alias",
            ),
            heroes,
            joined_member_count: summary
                .joined_member_count
                .unwrap_or_else(|| counted("join")),
            invited_member_count: summary
                .invited_member_count
                .unwrap_or_else(|| counted("invite")),
        }))
    }

    /// A room's display name (name, else alias, else its heroes), or
    /// `None` for an unknown room.
    pub fn room_display_name(&self, room_id: &RoomId) -> Result<Option<String>> {
        Ok(self.room_name_parts(room_id)?.map(|p| p.display_name()))
    }
}

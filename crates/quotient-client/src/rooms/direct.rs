//! Direct chats from the global `m.direct` account data.

use quotient_api::{RoomId, UserId};
use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Result;
use crate::store::Store;

/// The account's direct chats: for each user, the rooms that are direct
/// chats with them (`m.direct`), as stored: a view of [`Store`] (a
/// program holding a room asks
/// [`Room::is_direct`](crate::room::Room::is_direct) and
/// [`Room::direct_targets`](crate::room::Room::direct_targets)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectChats {
    by_user: BTreeMap<UserId, Vec<RoomId>>,
}

impl DirectChats {
    /// Users with at least one direct chat, with their rooms, by user ID.
    pub fn by_user(&self) -> &BTreeMap<UserId, Vec<RoomId>> {
        &self.by_user
    }

    /// The direct chats with `user_id` (none when there are none).
    pub fn rooms_with(&self, user_id: &UserId) -> &[RoomId] {
        self.by_user
            .get(user_id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Whether `room_id` is a direct chat with anyone.
    pub fn is_direct(&self, room_id: &RoomId) -> bool {
        self.by_user.values().flatten().any(|r| r == room_id)
    }

    /// The users `room_id` is a direct chat with, by user ID.
    pub fn users_of(&self, room_id: &RoomId) -> Vec<&UserId> {
        self.by_user
            .iter()
            .filter(|(_, rooms)| rooms.contains(room_id))
            .map(|(user, _)| user)
            .collect()
    }

    /// From `m.direct`'s content; a user or room that is not an ID is
    /// skipped.
    fn from_content(content: &Value) -> Self {
        let mut by_user = BTreeMap::new();
        for (user, rooms) in content.as_object().into_iter().flatten() {
            let Ok(user) = UserId::parse(user.as_str()) else {
                continue;
            };
            let rooms: Vec<RoomId> = rooms
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter_map(|r| RoomId::parse(r).ok())
                .collect();
            if !rooms.is_empty() {
                by_user.insert(user, rooms);
            }
        }
        DirectChats { by_user }
    }
}

impl Store {
    /// The direct chats from the stored `m.direct` account data; empty
    /// when there is none. Entries that are not lists of room IDs are
    /// skipped.
    pub fn direct_chats(&self) -> Result<DirectChats> {
        let event = self.account_data("m.direct")?;
        Ok(event
            .as_ref()
            .and_then(|e| e.get("content"))
            .map(DirectChats::from_content)
            .unwrap_or_default())
    }

    /// Whether the room is a direct chat according to `m.direct`.
    pub fn is_direct(&self, room_id: &RoomId) -> Result<bool> {
        Ok(self.direct_chats()?.is_direct(room_id))
    }
}

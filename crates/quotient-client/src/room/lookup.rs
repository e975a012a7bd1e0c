//! Finding rooms in the store: by ID, all of them, the joined ones, by
//! alias or display name.

use quotient_api::{RoomAliasId, RoomId};
use serde_json::Value;

use super::Room;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::store::Membership;

impl Client {
    /// The room `room_id`, if the store knows it (joined, invited, left
    /// or knocked); [`Error::UnknownRoom`] if not. No network.
    ///
    /// ```no_run
    /// # fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// let room = client.room(&"!abc:example.org".parse()?)?;
    /// println!("{}", room.display_name()?);
    /// # Ok(()) }
    /// ```
    pub fn room(&self, room_id: &RoomId) -> Result<Room> {
        match self.store()?.room_summary(room_id)? {
            Some(_) => Ok(Room::new(self.clone(), room_id.clone())),
            None => Err(Error::UnknownRoom(room_id.as_str().to_owned())),
        }
    }

    /// Every room the store knows, by room ID, whatever the membership.
    pub fn rooms(&self) -> Result<Vec<Room>> {
        self.rooms_where(|_| true)
    }

    /// The rooms this account has joined, by room ID.
    pub fn joined_rooms(&self) -> Result<Vec<Room>> {
        self.rooms_where(|m| m == Membership::Joined)
    }

    /// The rooms this account is invited to, by room ID, but for those
    /// an ignored user invited it to.
    pub fn invited_rooms(&self) -> Result<Vec<Room>> {
        let mut out = Vec::new();
        for room in self.rooms_where(|m| m == Membership::Invited)? {
            if !self.invited_by_ignored(room.id())? {
                out.push(room);
            }
        }
        Ok(out)
    }

    /// Whether our invite to `room`, as stored, came from a user this
    /// account ignores now (an invite stored before they were ignored
    /// included).
    pub(crate) fn invited_by_ignored(&self, room: &RoomId) -> Result<bool> {
        let me = self.connection().user_id().ok_or(Error::NotSignedIn)?;
        let store = self.store()?;
        let ignored = store.ignored_user_ids()?;
        if ignored.is_empty() {
            return Ok(false);
        }
        let invite = store.state_event(room, "m.room.member", me.as_str())?;
        let inviter = invite.as_ref().and_then(|e| e.get("sender")?.as_str());
        Ok(inviter.is_some_and(|i| ignored.contains(i)))
    }

    fn rooms_where(&self, keep: impl Fn(Membership) -> bool) -> Result<Vec<Room>> {
        let rooms = self.store()?.rooms()?;
        let mut out = Vec::new();
        for (id, membership) in rooms {
            if !keep(membership) {
                continue;
            }
            out.push(Room::new(self.clone(), id));
        }
        Ok(out)
    }

    /// The rooms whose canonical alias or an alternative alias is
    /// `alias`, as stored (no directory lookup).
    pub fn rooms_with_alias(&self, alias: &RoomAliasId) -> Result<Vec<Room>> {
        let mut out = Vec::new();
        for room in self.rooms()? {
            let event = self
                .store()?
                .state_event(room.id(), "m.room.canonical_alias", "")?;
            let Some(content) = event.as_ref().and_then(|e| e.get("content")) else {
                continue;
            };
            let alt = content.get("alt_aliases").and_then(Value::as_array);
            if content.get("alias").and_then(Value::as_str) == Some(alias.as_str())
                || alt.is_some_and(|a| a.iter().any(|x| x.as_str() == Some(alias.as_str())))
            {
                out.push(room);
            }
        }
        Ok(out)
    }

    /// The rooms whose display name ([`Room::display_name`]) is `name`;
    /// when several match, the ones this account has not left, if any.
    /// A caller naming one room decides what to do with several.
    pub fn rooms_named(&self, name: &str) -> Result<Vec<Room>> {
        let mut all = Vec::new();
        for room in self.rooms()? {
            if room.display_name()? == name {
                let left = room.membership()? == Some(Membership::Left);
                all.push((room, left));
            }
        }
        if all.iter().filter(|(_, left)| !left).count() > 0 && all.len() > 1 {
            all.retain(|(_, left)| !left);
        }
        Ok(all.into_iter().map(|(room, _)| room).collect())
    }
}

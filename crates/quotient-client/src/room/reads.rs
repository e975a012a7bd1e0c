//! What a room is, read from its stored state and account data.

use quotient_api::{MxcUri, RoomAliasId, UserId};
use serde_json::Value;

use super::{Room, RoomPower};
use crate::error::Result;
use crate::events::{
    EncryptionContent, EventContent, HistoryVisibility, HistoryVisibilityContent, JoinRule,
    JoinRulesContent,
};
use crate::rooms::{RoomMember, RoomTag};
use crate::store::Membership;

impl Room {
    /// A current state event's JSON (`state_key` "" for most).
    pub fn state_event(&self, event_type: &str, state_key: &str) -> Result<Option<Value>> {
        self.client
            .store()?
            .state_event(&self.id, event_type, state_key)
    }

    fn content_of<C: EventContent>(&self) -> Result<Option<C>> {
        let event = self.state_event(C::EVENT_TYPE, "")?;
        Ok(event
            .as_ref()
            .and_then(|e| e.get("content"))
            .and_then(|c| C::from_content(c).ok()))
    }

    fn content_str(&self, event_type: &str, key: &str) -> Result<Option<String>> {
        let event = self.state_event(event_type, "")?;
        Ok(event
            .as_ref()
            .and_then(|e| e.get("content")?.get(key)?.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned))
    }

    /// The name to show, by the spec's algorithm: the room's name, else
    /// its canonical alias, else one made of its heroes' names ("Alice
    /// and Bob"), else "Empty Room"; the room ID for a room the store no
    /// longer has.
    pub fn display_name(&self) -> Result<String> {
        let name = self.client.store()?.room_display_name(&self.id)?;
        Ok(name.unwrap_or_else(|| self.id.as_str().to_owned()))
    }

    /// The room's own name (`m.room.name`), if set and not empty.
    pub fn name(&self) -> Result<Option<String>> {
        self.content_str("m.room.name", "name")
    }

    /// The topic (`m.room.topic`), if set and not empty.
    pub fn topic(&self) -> Result<Option<String>> {
        self.content_str("m.room.topic", "topic")
    }

    /// The avatar (`m.room.avatar`), if set and a content URI.
    pub fn avatar(&self) -> Result<Option<MxcUri>> {
        let url = self.content_str("m.room.avatar", "url")?;
        Ok(url.and_then(|u| MxcUri::parse(u).ok()))
    }

    /// The canonical alias (`m.room.canonical_alias`), if set and valid.
    pub fn canonical_alias(&self) -> Result<Option<RoomAliasId>> {
        let alias = self.content_str("m.room.canonical_alias", "alias")?;
        Ok(alias.and_then(|a| RoomAliasId::parse(a).ok()))
    }

    /// The room version (`m.room.create`'s `room_version`; "1" when the
    /// event says none), or `None` when the create event is not stored
    /// (an invite).
    pub fn room_version(&self) -> Result<Option<String>> {
        let create = self.state_event("m.room.create", "")?;
        Ok(create.map(|e| {
            e.get("content")
                .and_then(|c| c.get("room_version"))
                .and_then(Value::as_str)
                .unwrap_or("1")
                .to_owned()
        }))
    }

    /// This account's membership, `None` if the store forgot the room.
    pub fn membership(&self) -> Result<Option<Membership>> {
        let summary = self.client.store()?.room_summary(&self.id)?;
        Ok(summary.map(|s| s.membership))
    }

    /// The encryption settings (`m.room.encryption`), `None` when the
    /// room is not encrypted.
    pub fn encryption(&self) -> Result<Option<EncryptionContent>> {
        self.content_of()
    }

    /// Whether the room is encrypted (nothing turns that off).
    pub fn is_encrypted(&self) -> Result<bool> {
        Ok(self.state_event("m.room.encryption", "")?.is_some())
    }

    /// Who may join (`m.room.join_rules`); `None` when not stored.
    pub fn join_rule(&self) -> Result<Option<JoinRule>> {
        Ok(self.content_of::<JoinRulesContent>()?.map(|c| c.join_rule))
    }

    /// Who may read the history (`m.room.history_visibility`); the
    /// spec's default `shared` when not stored.
    pub fn history_visibility(&self) -> Result<HistoryVisibility> {
        Ok(self
            .content_of::<HistoryVisibilityContent>()?
            .map_or(HistoryVisibility::Shared, |c| c.history_visibility))
    }

    /// The power levels as the room version applies them (creators of a
    /// version 12 room above every level).
    pub fn power_levels(&self) -> Result<RoomPower> {
        let create = self.state_event("m.room.create", "")?;
        let levels = self.state_event("m.room.power_levels", "")?;
        Ok(RoomPower::from_state(create.as_ref(), levels.as_ref()))
    }

    /// The room's tags (`m.tag`), by name.
    pub fn tags(&self) -> Result<Vec<RoomTag>> {
        self.client.store()?.room_tags(&self.id)
    }

    /// Whether `m.direct` lists the room as a direct chat.
    pub fn is_direct(&self) -> Result<bool> {
        self.client.store()?.is_direct(&self.id)
    }

    /// The users `m.direct` says the room is a direct chat with.
    pub fn direct_targets(&self) -> Result<Vec<UserId>> {
        let chats = self.client.store()?.direct_chats()?;
        Ok(chats.users_of(&self.id).into_iter().cloned().collect())
    }

    /// The count of unread notifying events: the server's after a
    /// `/sync` v3 batch, counted from the store after sliding sync
    /// ([`unread_source`](Self::unread_source) says which).
    pub fn unread_count(&self) -> Result<u64> {
        let summary = self.client.store()?.room_summary(&self.id)?;
        Ok(summary.map_or(0, |s| s.notification_count))
    }

    /// The count of unread highlights (mentions), from the same source
    /// as [`unread_count`](Self::unread_count).
    pub fn highlight_count(&self) -> Result<u64> {
        let summary = self.client.store()?.room_summary(&self.id)?;
        Ok(summary.map_or(0, |s| s.highlight_count))
    }

    /// Where the unread counts come from: the server, or counted from
    /// the store, exactly or as a lower bound (a sync gap after the read
    /// marker).
    pub fn unread_source(&self) -> Result<crate::store::UnreadSource> {
        let summary = self.client.store()?.room_summary(&self.id)?;
        Ok(summary.map_or_else(Default::default, |s| s.unread_source))
    }

    /// Whether the user marked the room unread (`m.marked_unread`, or the
    /// unstable `com.famedly.marked_unread` older clients write).
    pub fn is_marked_unread(&self) -> Result<bool> {
        let store = self.client.store()?;
        for kind in ["m.marked_unread", "com.famedly.marked_unread"] {
            if let Some(event) = store.room_account_data(&self.id, kind)? {
                return Ok(event
                    .get("content")
                    .and_then(|c| c.get("unread"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false));
            }
        }
        Ok(false)
    }

    /// The members as stored, joined first, with disambiguated names
    /// (with lazy-loading the store may hold fewer than the room has).
    pub fn members(&self) -> Result<Vec<RoomMember>> {
        self.client.store()?.members(&self.id)
    }

    /// One member as stored, `None` when the store has no member event
    /// for them.
    pub fn member(&self, user_id: &UserId) -> Result<Option<RoomMember>> {
        self.client.store()?.member(&self.id, user_id)
    }
}

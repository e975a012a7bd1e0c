//! Membership actions through the engine: invite, kick, ban, unban,
//! leave, forget. Each is one job; the change comes back through sync.

use quotient_api::generated::banning::{Ban, Unban};
use quotient_api::generated::inviting::InviteUser;
use quotient_api::generated::joining::JoinRoom;
use quotient_api::generated::kicking::Kick;
use quotient_api::generated::leaving::{ForgetRoom, LeaveRoom};
use quotient_api::generated::rooms::GetMembersByRoom;
use quotient_api::{RoomOrAliasId, UserId};

use super::{Room, RoomAction};
use crate::client::{request_error, Client};
use crate::error::Result;

impl Room {
    /// Invites `user_id` (needs the `invite` level).
    pub async fn invite(&self, user_id: &UserId, reason: Option<&str>) -> Result<()> {
        self.ensure_allowed(&RoomAction::Invite)?;
        let mut request = InviteUser::new(self.id.clone(), user_id.clone());
        request.reason = reason.map(str::to_owned);
        self.submit(request).await
    }

    /// Kicks `user_id` out (needs the `kick` level and a level above
    /// theirs; room version 12's creators cannot be kicked).
    ///
    /// ```no_run
    /// # async fn demo(room: quotient_client::room::Room, user: quotient_api::UserId) -> quotient_client::Result<()> {
    /// match room.kick(&user, Some("spam")).await {
    ///     Err(quotient_client::Error::NotAllowed { needed, level, .. }) => {
    ///         println!("cannot kick: needs {needed}, I have {level}");
    ///     }
    ///     other => other?,
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn kick(&self, user_id: &UserId, reason: Option<&str>) -> Result<()> {
        self.ensure_allowed(&RoomAction::Kick(user_id.clone()))?;
        let mut request = Kick::new(self.id.clone(), user_id.clone());
        request.reason = reason.map(str::to_owned);
        self.submit(request).await
    }

    /// Bans `user_id` (needs the `ban` level and a level above theirs).
    pub async fn ban(&self, user_id: &UserId, reason: Option<&str>) -> Result<()> {
        self.ensure_allowed(&RoomAction::Ban(user_id.clone()))?;
        let mut request = Ban::new(self.id.clone(), user_id.clone());
        request.reason = reason.map(str::to_owned);
        self.submit(request).await
    }

    /// Lifts `user_id`'s ban (needs the `ban` and `kick` levels and a
    /// level above theirs).
    pub async fn unban(&self, user_id: &UserId, reason: Option<&str>) -> Result<()> {
        self.ensure_allowed(&RoomAction::Unban(user_id.clone()))?;
        let mut request = Unban::new(self.id.clone(), user_id.clone());
        request.reason = reason.map(str::to_owned);
        self.submit(request).await
    }

    /// Leaves the room (or declines its invite).
    pub async fn leave(&self, reason: Option<&str>) -> Result<()> {
        let mut request = LeaveRoom::new(self.id.clone());
        request.reason = reason.map(str::to_owned);
        self.submit(request).await
    }

    /// Forgets the room on the server (after leaving it): its history is
    /// no longer this account's to read.
    pub async fn forget(&self) -> Result<()> {
        self.submit(ForgetRoom::new(self.id.clone())).await
    }

    /// Fetches the full member list (`GET /members`) and stores the member
    /// events the store lacks (with lazy-loading, sync brings only the
    /// members the timeline needs), then reads the members as
    /// [`members`](Self::members) does. Stored members are kept: sync
    /// keeps them current.
    ///
    /// ```no_run
    /// # async fn demo(room: quotient_client::room::Room) -> quotient_client::Result<()> {
    /// let everyone = room.load_members().await?;
    /// println!("{} members", everyone.len());
    /// # Ok(()) }
    /// ```
    pub async fn load_members(&self) -> Result<Vec<crate::rooms::RoomMember>> {
        let answer = self
            .client
            .connection()
            .submit(GetMembersByRoom::new(self.id.clone()))
            .await
            .map_err(request_error)?
            .into_value();
        let events: Vec<serde_json::Value> = answer
            .chunk
            .unwrap_or_default()
            .iter()
            .map(|e| e.json())
            .collect();
        self.client
            .store()?
            .add_missing_members(self.id.as_str(), &events)?;
        self.members()
    }

    /// Submits one request as a job and waits for it.
    pub(crate) async fn submit<E>(&self, request: E) -> Result<()>
    where
        E: quotient_api::Endpoint,
        E::Response: Send + 'static,
    {
        self.client
            .connection()
            .submit(request)
            .await
            .map_err(request_error)?;
        Ok(())
    }
}

impl Client {
    /// Joins a room by ID or alias (or accepts its invite): the room,
    /// whose state the store has after the next sync.
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// let room = client.join(&"#matrix:example.org".parse()?).await?;
    /// client.sync_once().await?;
    /// println!("joined {}", room.display_name()?);
    /// # Ok(()) }
    /// ```
    pub async fn join(&self, room: &RoomOrAliasId) -> Result<Room> {
        let joined = self
            .connection()
            .submit(JoinRoom::new(room.clone()))
            .await
            .map_err(request_error)?
            .into_value()
            .room_id;
        Ok(Room::new(self.clone(), joined))
    }
}

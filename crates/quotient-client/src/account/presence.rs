//! Presence: this account's, set; anyone's, read.

use quotient_api::generated::presence::{GetPresence, SetPresence};
use quotient_api::UserId;

pub use quotient_api::generated::definitions::PresenceState;

use crate::client::{request_error, Client};
use crate::error::{Error, Result};

/// A user's presence as their server reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    /// Online, unavailable (away) or offline.
    pub state: PresenceState,
    /// Their status message, if any.
    pub status_msg: Option<String>,
    /// Milliseconds since they were last active, if known.
    pub last_active_ago: Option<i64>,
    /// Whether they are active right now, if known.
    pub currently_active: Option<bool>,
}

impl Client {
    /// Sets this account's presence, with an optional status message.
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// use quotient_client::account::PresenceState;
    /// client.set_presence(PresenceState::Unavailable, Some("lunch")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_presence(&self, state: PresenceState, status: Option<&str>) -> Result<()> {
        let me = self.connection().user_id().ok_or(Error::NotSignedIn)?;
        let mut request = SetPresence::new(me.into_string(), state);
        request.status_msg = status.map(str::to_owned);
        self.connection()
            .submit(request)
            .await
            .map_err(request_error)?;
        Ok(())
    }

    /// `user_id`'s presence (one request).
    pub async fn presence(&self, user_id: &UserId) -> Result<Presence> {
        let answer = self
            .connection()
            .submit(GetPresence::new(user_id.as_str().to_owned()))
            .await
            .map_err(request_error)?
            .into_value();
        Ok(Presence {
            state: answer.presence,
            status_msg: answer.status_msg.flatten(),
            last_active_ago: answer.last_active_ago,
            currently_active: answer.currently_active,
        })
    }
}

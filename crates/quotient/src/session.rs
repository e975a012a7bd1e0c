//! Who a connection is signed in as.

use quotient_api::{SecretString, UserId};
use serde::{Deserialize, Serialize};
use url::Url;

/// A signed-in session: enough to use an account again later.
///
/// `Debug` never shows the tokens (they are [`SecretString`]s).
/// [`crate::store::save_session`] writes one to disk with owner-only
/// permissions. Files written before refresh tokens existed (no
/// `refresh_token`, no `soft_logout`) still read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The client-server base URL.
    pub homeserver: Url,
    /// The account.
    pub user_id: UserId,
    /// The device this session belongs to.
    pub device_id: String,
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, when the server issued one: the engine trades
    /// it for a new access token when the old one expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretString>,
    /// The server soft-logged-out the session (`M_UNKNOWN_TOKEN` with
    /// `soft_logout: true`) and there was no refresh token: sign in again
    /// with the same device ID to keep the device.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub soft_logout: bool,
}

impl Session {
    /// A session with an access token only (no refresh token).
    pub fn new(
        homeserver: Url,
        user_id: UserId,
        device_id: impl Into<String>,
        access_token: SecretString,
    ) -> Self {
        Self {
            homeserver,
            user_id,
            device_id: device_id.into(),
            access_token,
            refresh_token: None,
            soft_logout: false,
        }
    }
}

//! Who a connection is signed in as.

use quotient_api::{SecretString, UserId};
use serde::{Deserialize, Serialize};
use url::Url;

/// A signed-in session: enough to use an account again later.
///
/// `Debug` never shows the access token (it is a [`SecretString`]).
/// [`crate::store::save_session`] writes one to disk with owner-only
/// permissions.
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
}

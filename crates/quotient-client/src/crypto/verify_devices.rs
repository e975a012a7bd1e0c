//! Asking another user to verify when there is no direct chat with
//! them. The machine keeps one request per user at a time (a second
//! cancels both), so the request goes to their device when they have
//! exactly one; with several, the caller names one.

use std::sync::Arc;

use matrix_sdk_common::ruma::UserId;

use super::verify::{send, Verification};
use super::{crypto_error, Crypto};
use crate::client::Client;
use crate::error::{Error, Result};

impl Client {
    /// Asks another user: in the direct chat with them when there is
    /// one, else on their only device.
    pub(super) async fn request_other_user(
        &self,
        crypto: Arc<Crypto>,
        user: &UserId,
    ) -> Result<Verification> {
        match self.request_in_room(Arc::clone(&crypto), user).await {
            Err(Error::Verification(why)) if why.starts_with("there is no direct chat") => {}
            other => return other,
        }
        crypto.refresh_keys(user).await?;
        let devices = crypto
            .machine()
            .get_user_devices(user, None)
            .await
            .map_err(crypto_error)?;
        let devices: Vec<_> = devices.devices().filter(|d| !d.is_blacklisted()).collect();
        match devices.as_slice() {
            [] => Err(Error::Verification(format!(
                "{user} has no device this device knows of"
            ))),
            [only] => {
                let (request, out) = only.request_verification();
                send(&crypto, out).await?;
                Verification::start(crypto, request)
            }
            several => {
                let names: Vec<String> =
                    several.iter().map(|d| d.device_id().to_string()).collect();
                Err(Error::Verification(format!(
                    "there is no direct chat with {user}, who has {} devices ({}): name one",
                    names.len(),
                    names.join(", ")
                )))
            }
        }
    }
}

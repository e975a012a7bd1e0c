//! Asking for a verification and taking one asked of this device: the
//! entry points of the flows [`verify`](super::verify) drives.

use std::sync::Arc;
use std::time::Duration;

use matrix_sdk_common::ruma::{OwnedUserId, UserId};
use matrix_sdk_crypto::VerificationRequestState;

use super::verify::{send, Verification};
use super::{crypto_error, Crypto};
use crate::client::Client;
use crate::error::{Error, Result};

impl Crypto {
    /// Records an incoming request (from a to-device event or a timeline
    /// event) so [`Client::next_verification_request`] finds it.
    pub(crate) fn incoming_request(&self, sender: OwnedUserId, flow_id: String) {
        self.verifications.send_modify(|list| {
            if !list.iter().any(|(_, f)| *f == flow_id) {
                list.push((sender, flow_id));
            }
        });
    }
}

impl Client {
    /// Asks `user` to verify by emoji: `device` of theirs, or (for this
    /// user, with `None`) all of this user's other devices, the first to
    /// answer taking the flow. Another user without a device named is
    /// asked in the direct chat with them (`m.direct`), the flow running
    /// in the room (encrypted where it is), or on their only device when
    /// there is no direct chat; verifying them verifies their
    /// cross-signing identity, and with it every device they signed.
    ///
    /// The client must be syncing for the flow to move.
    pub async fn request_verification(
        &self,
        user: &quotient_api::UserId,
        device: Option<&str>,
    ) -> Result<Verification> {
        let user = <&UserId>::try_from(user.as_str())
            .map_err(|e| Error::Verification(format!("{user}: {e}")))?;
        let crypto = self.crypto_for_sync().await?;
        let machine = crypto.machine();
        let (request, out) = match device {
            Some(device) => {
                let device_id: matrix_sdk_common::ruma::OwnedDeviceId = device.into();
                // A user sharing no room with us is not followed yet.
                crypto.refresh_keys(user).await?;
                let found = machine
                    .get_device(user, &device_id, None)
                    .await
                    .map_err(crypto_error)?;
                let Some(found) = found else {
                    return Err(Error::Verification(format!(
                        "{user} has no device {device} that this device knows of"
                    )));
                };
                found.request_verification()
            }
            None if user == machine.user_id() => {
                let own = machine
                    .get_identity(user, None)
                    .await
                    .map_err(crypto_error)?
                    .and_then(|i| i.own());
                let Some(own) = own else {
                    return Err(Error::Verification(
                        "this account has no cross-signing identity yet, so its devices \
                         cannot be verified against it"
                            .into(),
                    ));
                };
                own.request_verification().await.map_err(crypto_error)?
            }
            None => return self.request_other_user(crypto, user).await,
        };
        send(&crypto, out).await?;
        Verification::start(crypto, request)
    }

    /// Waits (at most `limit`) for a verification request to this device
    /// that nothing has taken yet, and returns it unanswered (call
    /// [`Verification::accept`]). `None` when none came in time. The
    /// client must be syncing for requests to arrive.
    pub async fn next_verification_request(&self, limit: Duration) -> Result<Option<Verification>> {
        let crypto = self.crypto_for_sync().await?;
        let mut rx = crypto.verifications.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let pending: Vec<(OwnedUserId, String)> = rx.borrow_and_update().clone();
            for (user, flow) in pending {
                let Some(request) = crypto.machine().get_verification_request(&user, &flow) else {
                    continue;
                };
                if request.we_started() || !crypto.take_flow(&flow) {
                    continue;
                }
                if matches!(request.state(), VerificationRequestState::Requested { .. }) {
                    return Verification::start(Arc::clone(&crypto), request).map(Some);
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return Ok(None),
            }
        }
    }
}

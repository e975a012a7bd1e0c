//! Trust in devices and users as this device sees it: who verified what,
//! who cross-signed what, and whose cross-signing identity changed.
//!
//! A user whose identity changed after we verified them stops room keys
//! from being shared (spec v1.18's recommendation, the machine's
//! identity-based strategy): messages to rooms with them wait in the
//! outbox until the change is acknowledged
//! ([`Client::acknowledge_identity_change`]) or the user is verified
//! again.

use matrix_sdk_common::ruma::UserId;

use super::{crypto_error, requests, Crypto};
use crate::client::Client;
use crate::encryption::{DeviceTrustInfo, UserTrust};
use crate::error::{Error, Result};

fn ruma_user(user: &quotient_api::UserId) -> Result<&UserId> {
    <&UserId>::try_from(user.as_str()).map_err(|e| Error::Crypto(format!("{user}: {e}")))
}

impl Crypto {
    /// Fetches `user`'s device and cross-signing keys now.
    pub(super) async fn refresh_keys(&self, user: &UserId) -> Result<()> {
        let _one = self.requests.lock().await;
        let (id, query) = self.machine.query_keys_for_users([user]);
        requests::keys_query(&self.conn, &self.machine, &id, &query).await
    }
}

impl Client {
    /// `user`'s devices with their trust, fetched from the server first
    /// (this user's own included, this device among them).
    pub async fn devices_of(&self, user: &quotient_api::UserId) -> Result<Vec<DeviceTrustInfo>> {
        let crypto = self.crypto_for_sync().await?;
        let user = ruma_user(user)?;
        crypto.refresh_keys(user).await?;
        let devices = crypto
            .machine()
            .get_user_devices(user, None)
            .await
            .map_err(crypto_error)?;
        let own_device = crypto.machine().device_id();
        let mut out: Vec<DeviceTrustInfo> = devices
            .devices()
            .map(|d| {
                let this_device =
                    d.user_id() == crypto.machine().user_id() && d.device_id() == own_device;
                DeviceTrustInfo {
                    device_id: d.device_id().to_string(),
                    display_name: d.display_name().map(str::to_owned),
                    ed25519: d.ed25519_key().map(|k| k.to_base64()),
                    cross_signed: d.is_cross_signed_by_owner(),
                    // The machine trusts its own device by definition;
                    // for the account, this device is verified once its
                    // owner's identity signed it.
                    verified: if this_device {
                        d.is_cross_signed_by_owner()
                    } else {
                        d.is_verified()
                    },
                    blocked: d.is_blacklisted(),
                    this_device,
                }
            })
            .collect();
        out.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        Ok(out)
    }

    /// Whether `user`'s cross-signing identity is verified by us, and
    /// whether it changed since.
    pub async fn user_trust(&self, user: &quotient_api::UserId) -> Result<UserTrust> {
        let crypto = self.crypto_for_sync().await?;
        let user = ruma_user(user)?;
        crypto.refresh_keys(user).await?;
        let identity = crypto
            .machine()
            .get_identity(user, None)
            .await
            .map_err(crypto_error)?;
        Ok(match identity {
            None => UserTrust::default(),
            Some(identity) => UserTrust {
                has_identity: true,
                verified: identity.is_verified(),
                was_verified: identity.was_previously_verified(),
                identity_changed: identity.has_verification_violation(),
            },
        })
    }

    /// Accepts that `user`'s cross-signing identity changed since we
    /// verified them: their new identity is pinned (not verified), and
    /// messages waiting on it go out. Verify them again to trust it.
    pub async fn acknowledge_identity_change(&self, user: &quotient_api::UserId) -> Result<()> {
        let crypto = self.crypto_for_sync().await?;
        let user = ruma_user(user)?;
        let identity = crypto
            .machine()
            .get_identity(user, None)
            .await
            .map_err(crypto_error)?
            .ok_or_else(|| Error::Crypto(format!("{user} has no cross-signing identity")))?;
        if identity.has_verification_violation() {
            identity
                .withdraw_verification()
                .await
                .map_err(crypto_error)?;
        }
        if let Some(other) = identity.other() {
            if other.identity_needs_user_approval() {
                other.pin_current_master_key().await.map_err(crypto_error)?;
            }
        }
        Ok(())
    }
}

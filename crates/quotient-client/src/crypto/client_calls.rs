//! What a program asks of encryption directly: this device's state, its
//! key requests out now, cross-signing with a password at hand. The rest
//! happens by itself as the client syncs and sends.

use std::time::Duration;

use crate::client::Client;
use crate::error::Result;

/// How long these calls wait for a new machine's first setup.
const SETUP_WAIT: Duration = Duration::from_secs(30);

impl Client {
    /// This device's Ed25519 key and cross-signing state. Builds the
    /// crypto machine if this process owns the store (and fails with
    /// [`Error::StoreOwned`](crate::Error::StoreOwned) if another one does).
    pub async fn device_status(&self) -> Result<crate::encryption::DeviceStatus> {
        self.crypto_for_sync().await?.device_status().await
    }

    /// Sends every key request the crypto machine has waiting (device
    /// keys, key queries, claims, to-device messages), then uploads the
    /// room keys not yet in the key backup (when there is one), and
    /// returns when none are left, or with the first failure. They go out after each
    /// batch anyway; this is for a program that wants them out now. A
    /// process that does not own the store has nothing to send.
    ///
    /// A new machine's first setup (device keys, cross-signing) is waited
    /// for first (at most 30 s), so a short-lived process (`quotient sync
    /// --once`) does not end half-way through it.
    pub async fn send_key_requests(&self) -> Result<()> {
        match self.crypto().await? {
            Some(crypto) => {
                crypto.setup_done(SETUP_WAIT).await;
                crypto.process_outgoing().await?;
                crypto.upload_room_keys().await
            }
            None => Ok(()),
        }
    }

    /// Sets up cross-signing now, answering the server's User-Interactive
    /// Authentication with `password` if it asks (Synapse lets an
    /// account's first cross-signing keys through without; other servers
    /// may not). An account without cross-signing keys gets them and this
    /// device is signed; an account whose keys were made on another device
    /// is left alone ([`device_status`](Self::device_status) says so). The
    /// machine does this by itself at its first start without a password;
    /// call this where a password is at hand (right after signing in).
    pub async fn set_up_cross_signing(
        &self,
        password: &quotient::SecretString,
    ) -> Result<crate::encryption::DeviceStatus> {
        let crypto = self.crypto_for_sync().await?;
        crypto.setup_done(SETUP_WAIT).await;
        crypto.set_up_cross_signing_with(Some(password)).await?;
        crypto.device_status().await
    }
}

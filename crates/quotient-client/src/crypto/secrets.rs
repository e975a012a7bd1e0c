//! The account's secrets on this device, and waiting for them after a
//! verification with another of the user's devices (which sends them
//! through `m.secret.send`, accepted only from a verified own device by
//! the machine).

use std::time::Duration;

use matrix_sdk_common::ruma::events::secret::request::SecretName;

use super::{crypto_error, Crypto};
use crate::client::Client;
use crate::encryption::Secrets;
use crate::error::Result;

impl Crypto {
    /// Which secrets this device holds now.
    pub(crate) async fn secrets(&self) -> Result<Secrets> {
        let status = self.machine.cross_signing_status().await;
        let backup = self
            .machine
            .backup_machine()
            .get_backup_keys()
            .await
            .map_err(crypto_error)?;
        let inbox = self
            .machine
            .store()
            .get_secrets_from_inbox(&SecretName::RecoveryKey)
            .await
            .map_err(crypto_error)?;
        Ok(Secrets {
            cross_signing_keys: status.is_complete(),
            backup_key: backup.decryption_key.is_some() || !inbox.is_empty(),
        })
    }
}

impl Client {
    /// Which of the account's secrets this device holds.
    pub async fn secrets(&self) -> Result<Secrets> {
        self.crypto_for_sync().await?.secrets().await
    }

    /// Asks this user's other devices for the secrets this device lacks
    /// (`m.secret.request`); true when a request went out. A device
    /// answers only if it has verified this one, and this device accepts
    /// secrets only from devices it has verified: done by itself after
    /// an emoji verification with another of this user's devices.
    pub async fn request_secrets(&self) -> Result<bool> {
        let crypto = self.crypto_for_sync().await?;
        let asked = crypto
            .machine()
            .query_missing_secrets_from_other_sessions()
            .await
            .map_err(super::crypto_error)?;
        if asked {
            crypto.process_outgoing().await?;
        }
        Ok(asked)
    }

    /// Waits (at most `limit`, polling while the client syncs) until this
    /// device holds the cross-signing keys and, when the account has a
    /// key backup, its key; returns what it holds by then. Meant for
    /// right after verifying another of this user's devices, which sends
    /// them.
    pub async fn wait_for_secrets(&self, limit: Duration) -> Result<Secrets> {
        let crypto = self.crypto_for_sync().await?;
        let deadline = tokio::time::Instant::now() + limit;
        let wants_backup = self.backup_exists().await.unwrap_or(false);
        loop {
            let secrets = crypto.secrets().await?;
            let done = secrets.cross_signing_keys && (secrets.backup_key || !wants_backup);
            if done || tokio::time::Instant::now() >= deadline {
                if secrets.backup_key {
                    // A backup key that came is checked against the
                    // server's backup and taken into use.
                    if let Err(e) = crypto.take_backup_key_from_inbox().await {
                        tracing::warn!(error = %e, "the backup key that came is not used");
                    }
                }
                return crypto.secrets().await;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

//! Cross-signing at first sign-in, as spec v1.18 recommends: an account
//! without cross-signing keys gets them, and this device is signed with
//! them. An account whose keys were made elsewhere (by Element) is left
//! alone: this device stays unsigned until verified or recovered, and
//! says so.

use matrix_sdk_common::ruma::TransactionId;

use super::{crypto_error, requests, Crypto};
use crate::encryption::DeviceStatus;
use crate::error::Result;

impl Crypto {
    /// Creates and uploads cross-signing keys when the account has none,
    /// and signs this device. Nothing when this device holds the keys
    /// already, or when the account's keys were made elsewhere.
    pub(crate) async fn set_up_cross_signing(&self) -> Result<()> {
        self.set_up_cross_signing_with(None).await
    }

    /// [`set_up_cross_signing`](Self::set_up_cross_signing), answering
    /// UIA with `password` when the server asks for it.
    pub(crate) async fn set_up_cross_signing_with(
        &self,
        password: Option<&quotient::SecretString>,
    ) -> Result<()> {
        let _one = self.requests.lock().await;
        let machine = &self.machine;
        let own = machine.user_id().to_owned();
        if machine.cross_signing_status().await.is_complete() {
            // The keys are ours; a run that ended between uploading them
            // and signing this device left it unsigned: sign it now.
            return self.sign_own_device().await;
        }
        let (id, query) = machine.query_keys_for_users([&*own]);
        requests::keys_query(&self.conn, machine, &id, &query).await?;
        if machine
            .get_identity(&own, None)
            .await
            .map_err(crypto_error)?
            .is_some()
        {
            tracing::info!(
                "the account's cross-signing keys were made on another device; this device stays \
                 unsigned until it is verified or recovers them"
            );
            return Ok(());
        }
        let bootstrap = machine
            .bootstrap_cross_signing(false)
            .await
            .map_err(crypto_error)?;
        if let Some(upload) = &bootstrap.upload_keys_req {
            requests::send(&self.conn, machine, upload).await?;
        }
        // Synapse lets an account's first cross-signing keys through
        // without UIA; a server that asks for it gets the password when
        // one was given, and otherwise leaves this device unsigned, said
        // by `device_status`.
        match password {
            Some(password) => {
                requests::signing_keys_upload_uia(
                    &self.conn,
                    machine,
                    &bootstrap.upload_signing_keys_req,
                    password,
                )
                .await?
            }
            None => {
                requests::signing_keys_upload(
                    &self.conn,
                    machine,
                    &bootstrap.upload_signing_keys_req,
                    None,
                )
                .await?
            }
        }
        self.upload_signatures(&bootstrap.upload_signatures_req)
            .await?;
        tracing::info!("cross-signing keys created; this device is signed with them");
        Ok(())
    }

    /// Uploads signatures of this device (a bootstrap's, by the new
    /// self-signing key, or a late signing's); the device then learns its
    /// new signature from the server.
    async fn upload_signatures(
        &self,
        signatures: &matrix_sdk_common::ruma::api::client::keys::upload_signatures::v3::Request,
    ) -> Result<()> {
        let machine = &self.machine;
        requests::signature_upload(&self.conn, machine, &TransactionId::new(), signatures).await?;
        let own = machine.user_id().to_owned();
        let (id, query) = machine.query_keys_for_users([&*own]);
        requests::keys_query(&self.conn, machine, &id, &query).await
    }

    /// Replaces the account's cross-signing keys with new ones (the old
    /// ones lost, or compromised), answering the server's UIA with
    /// `password`, and signs this device with them. Every device and user
    /// verified under the old keys has to be verified again; other users
    /// see this identity as changed.
    pub(crate) async fn reset_cross_signing(
        &self,
        password: &quotient::SecretString,
    ) -> Result<()> {
        let _one = self.requests.lock().await;
        let machine = &self.machine;
        let bootstrap = machine
            .bootstrap_cross_signing(true)
            .await
            .map_err(crypto_error)?;
        if let Some(upload) = &bootstrap.upload_keys_req {
            requests::send(&self.conn, machine, upload).await?;
        }
        requests::signing_keys_upload_uia(
            &self.conn,
            machine,
            &bootstrap.upload_signing_keys_req,
            password,
        )
        .await?;
        self.upload_signatures(&bootstrap.upload_signatures_req)
            .await?;
        tracing::info!("cross-signing keys replaced; this device is signed with the new ones");
        Ok(())
    }

    /// Signs this device with our self-signing key if the server does not
    /// have that signature yet.
    pub(super) async fn sign_own_device(&self) -> Result<()> {
        let machine = &self.machine;
        let own = machine.user_id().to_owned();
        let (id, query) = machine.query_keys_for_users([&*own]);
        requests::keys_query(&self.conn, machine, &id, &query).await?;
        let Some(device) = machine
            .get_device(&own, machine.device_id(), None)
            .await
            .map_err(crypto_error)?
        else {
            return Ok(());
        };
        if device.is_cross_signed_by_owner() {
            return Ok(());
        }
        let upload = device.verify().await.map_err(crypto_error)?;
        self.upload_signatures(&upload).await?;
        tracing::info!("this device, left unsigned by an interrupted setup, is signed now");
        Ok(())
    }

    /// This device's keys and cross-signing state, once the first setup
    /// was tried (waiting at most 30 s for it).
    pub(crate) async fn device_status(&self) -> Result<DeviceStatus> {
        self.setup_done(std::time::Duration::from_secs(30)).await;
        let machine = &self.machine;
        let own = machine.user_id();
        let device = machine
            .get_device(own, machine.device_id(), None)
            .await
            .map_err(crypto_error)?;
        let identity = machine
            .get_identity(own, None)
            .await
            .map_err(crypto_error)?;
        Ok(DeviceStatus {
            ed25519: machine.identity_keys().ed25519.to_base64(),
            cross_signed: device.is_some_and(|d| d.is_cross_signed_by_owner()),
            account_has_cross_signing: identity.is_some(),
            holds_cross_signing_keys: machine.cross_signing_status().await.is_complete(),
        })
    }
}

//! Secret storage and the recovery key
//! ([`m.secret_storage.v1.aes-hmac-sha2`](https://spec.matrix.org/v1.19/client-server-api/#secret-storage)):
//! the account's secrets (the three cross-signing private keys and the
//! key backup's key) kept encrypted in the account data under one key,
//! which the user holds as a recovery key (base58, shown once) or
//! derives from a passphrase.
//!
//! A new device given the recovery key reads the secrets back, becomes
//! cross-signed, takes the backup key into use, and restores the backup:
//! it reads the history sent before it existed.

use matrix_sdk_common::ruma::events::secret::request::SecretName;
use matrix_sdk_common::ruma::events::secret_storage::key::SecretStorageKeyEventContent;
use matrix_sdk_crypto::secret_storage::{AesHmacSha2EncryptedData, SecretStorageKey};
use matrix_sdk_crypto::store::types::{BackupDecryptionKey, CrossSigningKeyExport};
use quotient::SecretString;
use quotient_api::{encode_path_segment, Method};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{crypto_error, requests, Crypto};
use crate::client::Client;
use crate::encryption::{RecoveryStatus, RoomKeyImport};
use crate::error::{Error, Result};

const DEFAULT_KEY: &str = "m.secret_storage.default_key";

/// The secrets kept in secret storage, by their account data types.
fn secret_names() -> [SecretName; 4] {
    [
        SecretName::CrossSigningMasterKey,
        SecretName::CrossSigningSelfSigningKey,
        SecretName::CrossSigningUserSigningKey,
        SecretName::RecoveryKey,
    ]
}

impl Crypto {
    fn account_data_path(&self, event_type: &str) -> String {
        format!(
            "/_matrix/client/v3/user/{}/account_data/{}",
            encode_path_segment(self.machine.user_id().as_str()),
            encode_path_segment(event_type)
        )
    }

    /// One global account data event's content; `None` when unset.
    async fn account_data(&self, event_type: &str) -> Result<Option<Value>> {
        let path = self.account_data_path(event_type);
        match requests::call(&self.conn, Method::Get, path, &json!({})).await {
            Ok(body) => {
                let content: Value = serde_json::from_slice(&body).map_err(Error::Json)?;
                // An emptied event (`{}`) is how a client deletes one.
                Ok(content
                    .as_object()
                    .is_some_and(|o| !o.is_empty())
                    .then_some(content))
            }
            Err(Error::Request(e)) if e.http_status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn set_account_data(&self, event_type: &str, content: &Value) -> Result<()> {
        let path = self.account_data_path(event_type);
        requests::call(&self.conn, Method::Put, path, content).await?;
        Ok(())
    }

    /// The default secret storage key's ID and description.
    async fn default_key(&self) -> Result<Option<(String, SecretStorageKeyEventContent)>> {
        #[derive(Deserialize)]
        struct Default {
            key: String,
        }
        let Some(default) = self.account_data(DEFAULT_KEY).await? else {
            return Ok(None);
        };
        let Ok(Default { key }) = serde_json::from_value(default) else {
            return Ok(None);
        };
        let Some(content) = self
            .account_data(&format!("m.secret_storage.key.{key}"))
            .await?
        else {
            return Ok(None);
        };
        use matrix_sdk_common::ruma::events::EventContentFromType;
        // The key ID comes from the event type, not the content.
        let raw = serde_json::value::to_raw_value(&content).map_err(Error::Json)?;
        let description =
            SecretStorageKeyEventContent::from_parts(&format!("m.secret_storage.key.{key}"), &raw)
                .map_err(|e| Error::Crypto(format!("the secret storage key description: {e}")))?;
        Ok(Some((key, description)))
    }

    /// The secret `name`, decrypted with `key`; `None` when it is not
    /// stored under that key.
    async fn read_secret(
        &self,
        key: &SecretStorageKey,
        name: &SecretName,
    ) -> Result<Option<SecretString>> {
        let Some(content) = self.account_data(name.as_str()).await? else {
            return Ok(None);
        };
        let Some(encrypted) = content.get("encrypted").and_then(|e| e.get(key.key_id())) else {
            return Ok(None);
        };
        let data: AesHmacSha2EncryptedData = serde_json::from_value(encrypted.clone())
            .map_err(|e| Error::Crypto(format!("the stored secret {name}: {e}")))?;
        let plain = key.decrypt(&data, name).map_err(|_| {
            Error::Crypto(format!(
                "the stored secret {name} does not decrypt with the key"
            ))
        })?;
        let text = String::from_utf8(plain)
            .map_err(|_| Error::Crypto(format!("the stored secret {name} is not text")))?;
        Ok(Some(SecretString::new(text)))
    }

    async fn write_secret(
        &self,
        key: &SecretStorageKey,
        name: &SecretName,
        secret: &str,
    ) -> Result<()> {
        let encrypted = key.encrypt(secret.as_bytes().to_vec(), name);
        let content = json!({ "encrypted": { key.key_id(): encrypted } });
        self.set_account_data(name.as_str(), &content).await
    }
}

impl Client {
    /// Sets up secret storage: a new key (random, or from `passphrase`),
    /// the cross-signing keys and the backup key stored under it, and the
    /// key made the account's default. A backup is created first when the
    /// account has none this device can read. Returns the recovery key
    /// (the spec's base58 form, in groups of four): show it once, it is
    /// not stored anywhere else.
    ///
    /// This device must hold the cross-signing keys (it set them up, or
    /// received them after a verification, or restored them).
    pub async fn enable_recovery(&self, passphrase: Option<&SecretString>) -> Result<SecretString> {
        let crypto = self.crypto_for_sync().await?;
        let machine = crypto.machine();
        let cross_signing = machine
            .export_cross_signing_keys()
            .await
            .map_err(crypto_error)?
            .filter(|k| {
                k.master_key.is_some()
                    && k.self_signing_key.is_some()
                    && k.user_signing_key.is_some()
            })
            .ok_or_else(|| {
                Error::Recovery(
                    "this device does not hold the cross-signing keys: verify it with a device \
                     that does, or restore with the recovery key"
                        .into(),
                )
            })?;
        let backup_key = match self.backup_status().await? {
            s if s.has_key => machine
                .backup_machine()
                .get_backup_keys()
                .await
                .map_err(crypto_error)?
                .decryption_key
                .ok_or(Error::NoBackupKey)?,
            _ => {
                self.create_backup().await?;
                machine
                    .backup_machine()
                    .get_backup_keys()
                    .await
                    .map_err(crypto_error)?
                    .decryption_key
                    .ok_or(Error::NoBackupKey)?
            }
        };
        let key = match passphrase {
            Some(p) => SecretStorageKey::new_from_passphrase(p.expose()),
            None => SecretStorageKey::new(),
        };
        let mut description = serde_json::to_value(key.event_content()).map_err(Error::Json)?;
        if let Some(o) = description.as_object_mut() {
            o.remove("key_id");
        }
        crypto
            .set_account_data(
                &format!("m.secret_storage.key.{}", key.key_id()),
                &description,
            )
            .await?;
        let secrets = [
            (
                SecretName::CrossSigningMasterKey,
                cross_signing.master_key.clone().map(SecretString::new),
            ),
            (
                SecretName::CrossSigningSelfSigningKey,
                cross_signing
                    .self_signing_key
                    .clone()
                    .map(SecretString::new),
            ),
            (
                SecretName::CrossSigningUserSigningKey,
                cross_signing
                    .user_signing_key
                    .clone()
                    .map(SecretString::new),
            ),
            (
                SecretName::RecoveryKey,
                Some(SecretString::new(backup_key.to_base64())),
            ),
        ];
        for (name, secret) in &secrets {
            if let Some(secret) = secret {
                crypto.write_secret(&key, name, secret.expose()).await?;
            }
        }
        // Last: until the default points at the new key, the old one
        // (if any) still opens everything.
        crypto
            .set_account_data(DEFAULT_KEY, &json!({ "key": key.key_id() }))
            .await?;
        Ok(SecretString::new(key.to_base58()))
    }

    /// Restores from secret storage with the recovery key (with or without
    /// its spaces) or the passphrase: the cross-signing keys are imported
    /// and this device is signed with them, the backup key is taken into
    /// use, and the backup is restored (stored events it opens decrypt).
    /// A wrong key fails with [`Error::WrongRecoveryKey`] and changes
    /// nothing.
    pub async fn restore_recovery(
        &self,
        key_or_passphrase: &SecretString,
    ) -> Result<RoomKeyImport> {
        let crypto = self.crypto_for_sync().await?;
        let (_, description) = crypto.default_key().await?.ok_or(Error::NoRecovery)?;
        let input = key_or_passphrase.expose().trim();
        let key = SecretStorageKey::from_account_data(input, description)
            .map_err(|_| Error::WrongRecoveryKey)?;
        // Read everything before changing anything.
        let mut read = Vec::new();
        for name in secret_names() {
            read.push((name.clone(), crypto.read_secret(&key, &name).await?));
        }
        let take = |name: &SecretName| {
            read.iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, s)| s.as_ref().map(|s| s.expose().to_owned()))
        };
        let export = CrossSigningKeyExport {
            master_key: take(&SecretName::CrossSigningMasterKey),
            self_signing_key: take(&SecretName::CrossSigningSelfSigningKey),
            user_signing_key: take(&SecretName::CrossSigningUserSigningKey),
        };
        let backup_key = take(&SecretName::RecoveryKey)
            .map(|k| {
                BackupDecryptionKey::from_base64(&k)
                    .map_err(|_| Error::Crypto("the stored backup key is damaged".into()))
            })
            .transpose()?;
        if export.master_key.is_some() {
            crypto.import_cross_signing(export).await?;
        }
        match backup_key {
            Some(backup_key) => {
                let backup = crypto.server_backup().await?.ok_or(Error::NoBackup)?;
                if !backup_key.backup_key_matches(&backup.info) {
                    return Err(Error::BackupKeyMismatch);
                }
                crypto.take_backup_key(backup_key, backup.version).await?;
                self.restore_backup().await
            }
            None => Ok(RoomKeyImport {
                imported: 0,
                total: 0,
            }),
        }
    }

    /// Starts the account's encryption identity over, for when the
    /// recovery key is lost and no device holds the secrets: new
    /// cross-signing keys (the server asks for `password`, User-Interactive
    /// Authentication), this device signed with them, a new key backup
    /// (history only this device's keys can open goes into it) and a new
    /// recovery key, returned once. Other devices must be verified again,
    /// and other users see the identity as changed.
    pub async fn reset_identity(&self, password: &SecretString) -> Result<SecretString> {
        let crypto = self.crypto_for_sync().await?;
        crypto.reset_cross_signing(password).await?;
        self.create_backup().await?;
        self.enable_recovery(None).await
    }

    /// Whether the account has secret storage, and what it holds.
    pub async fn recovery_status(&self) -> Result<RecoveryStatus> {
        let crypto = self.crypto_for_sync().await?;
        let Some((key_id, description)) = crypto.default_key().await? else {
            return Ok(RecoveryStatus::default());
        };
        let mut stored = Vec::new();
        for name in secret_names() {
            let held = crypto
                .account_data(name.as_str())
                .await?
                .is_some_and(|c| c.get("encrypted").and_then(|e| e.get(&key_id)).is_some());
            if held {
                stored.push(name.as_str().to_owned());
            }
        }
        Ok(RecoveryStatus {
            enabled: true,
            passphrase: description.passphrase.is_some(),
            secrets: stored,
        })
    }
}

impl Crypto {
    /// Imports the account's cross-signing private keys (checked against
    /// the public ones the server has) and signs this device with them.
    async fn import_cross_signing(&self, export: CrossSigningKeyExport) -> Result<()> {
        let own = self.machine.user_id().to_owned();
        {
            let _one = self.requests.lock().await;
            let (id, query) = self.machine.query_keys_for_users([&*own]);
            requests::keys_query(&self.conn, &self.machine, &id, &query).await?;
        }
        self.machine
            .import_cross_signing_keys(export)
            .await
            .map_err(|e| {
                Error::Recovery(format!(
                    "the stored cross-signing keys do not match the account's: {e}"
                ))
            })?;
        let _one = self.requests.lock().await;
        self.sign_own_device().await
    }

    async fn take_backup_key(&self, key: BackupDecryptionKey, version: String) -> Result<()> {
        self.use_backup_key(key, version).await
    }
}

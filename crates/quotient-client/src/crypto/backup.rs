//! Server-side key backup
//! ([`m.megolm_backup.v1.curve25519-aes-sha2`](https://spec.matrix.org/v1.19/client-server-api/#server-side-key-backups)):
//! creating one, uploading room keys to it as they come, checking its
//! signature, and restoring from it.
//!
//! The machine encrypts each room key for the backup's public key and
//! remembers which keys went up; a key counts as backed up only once the
//! server acknowledged the request that carried it, so a crash or a
//! failing server (5xx) leaves it to go with the next upload, which runs
//! after every sync batch.

use std::collections::BTreeMap;

use matrix_sdk_common::ruma::api::client::backup::{add_backup_keys, KeyBackupData};
use matrix_sdk_common::ruma::serde::Raw;
use matrix_sdk_common::ruma::OwnedRoomId;
use matrix_sdk_crypto::olm::ExportedRoomKey;
use matrix_sdk_crypto::store::types::BackupDecryptionKey;
use matrix_sdk_crypto::types::requests::AnyIncomingResponse;
use matrix_sdk_crypto::types::RoomKeyBackupInfo;
use quotient_api::{encode_path_segment, Method};
use serde::Deserialize;
use serde_json::json;

use super::sync_changes::NewRoomKey;
use super::{crypto_error, requests, Crypto};
use crate::client::Client;
use crate::encryption::{BackupStatus, RoomKeyImport};
use crate::error::{Error, Result};

const ROOM_KEYS: &str = "/_matrix/client/v3/room_keys";

/// The account's current backup, as the server describes it.
#[derive(Deserialize)]
pub(crate) struct ServerBackup {
    pub version: String,
    #[serde(flatten)]
    pub info: RoomKeyBackupInfo,
    #[serde(default)]
    pub count: u64,
}

impl Crypto {
    /// The account's current backup, `None` when it has none.
    pub(crate) async fn server_backup(&self) -> Result<Option<ServerBackup>> {
        let path = format!("{ROOM_KEYS}/version");
        match requests::call(&self.conn, Method::Get, path, &json!({})).await {
            Ok(body) => Ok(Some(serde_json::from_slice(&body).map_err(Error::Json)?)),
            Err(Error::Request(e)) if e.http_status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Starts uploading to the backup this device holds the key of (from
    /// an earlier run). The server is not asked: an upload to a backup
    /// that was replaced fails and turns the backup off.
    pub(crate) async fn resume_backup(&self) -> Result<()> {
        let keys = self
            .machine
            .backup_machine()
            .get_backup_keys()
            .await
            .map_err(crypto_error)?;
        if let (Some(key), Some(version)) = (keys.decryption_key, keys.backup_version) {
            let public = key.megolm_v1_public_key();
            public.set_version(version);
            self.machine
                .backup_machine()
                .enable_backup_v1(public)
                .await
                .map_err(crypto_error)?;
        }
        Ok(())
    }

    /// Takes `key` into use for the backup `version`: kept in the crypto
    /// store (so it can be shared with this user's other devices and
    /// resumed after a restart) and used for uploads from now on.
    pub(super) async fn use_backup_key(
        &self,
        key: BackupDecryptionKey,
        version: String,
    ) -> Result<()> {
        let public = key.megolm_v1_public_key();
        public.set_version(version.clone());
        let backups = self.machine.backup_machine();
        // A key of another backup leaves the old one's upload marks behind.
        if backups.backup_version().await.as_deref() != Some(version.as_str()) {
            backups.disable_backup().await.map_err(crypto_error)?;
        }
        backups
            .save_decryption_key(Some(key), Some(version))
            .await
            .map_err(crypto_error)?;
        backups.enable_backup_v1(public).await.map_err(crypto_error)
    }

    /// Uploads every room key not yet in the backup, one batch at a time
    /// (the machine's batches), each marked only once the server took it.
    /// Nothing to do without an active backup.
    pub(crate) async fn upload_room_keys(&self) -> Result<()> {
        if !self.machine.backup_machine().enabled().await {
            return Ok(());
        }
        // Bounded: the rest goes with the next batch.
        for _batch in 0..32 {
            let _one = self.requests.lock().await;
            let next = self
                .machine
                .backup_machine()
                .backup()
                .await
                .map_err(crypto_error)?;
            let Some((id, request)) = next else {
                return Ok(());
            };
            let path = format!(
                "{ROOM_KEYS}/keys?version={}",
                encode_path_segment(&request.version)
            );
            let body = json!({ "rooms": request.rooms });
            match requests::call(&self.conn, Method::Put, path, &body).await {
                Ok(answer) => {
                    requests::pause_in_backup_upload();
                    let response: add_backup_keys::v3::Response = requests::parse(answer)?;
                    self.machine
                        .mark_request_as_sent(&id, AnyIncomingResponse::KeysBackup(&response))
                        .await
                        .map_err(crypto_error)?;
                }
                Err(Error::Request(e)) if backup_gone(&e) => {
                    // The backup was replaced or deleted elsewhere: stop
                    // uploading to it; the keys stay marked not backed up.
                    tracing::warn!(
                        "the key backup was replaced or deleted elsewhere; backing up stopped"
                    );
                    self.machine
                        .backup_machine()
                        .disable_backup()
                        .await
                        .map_err(crypto_error)?;
                    return Err(Error::Request(e));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Downloads and decrypts every key of the backup with `key`, and
    /// imports them as from that backup (so they are not uploaded again).
    async fn restore_with(
        &self,
        key: &BackupDecryptionKey,
        version: &str,
    ) -> Result<RoomKeyImport> {
        #[derive(Deserialize)]
        struct Keys {
            #[serde(default)]
            rooms: BTreeMap<OwnedRoomId, RoomKeys>,
        }
        #[derive(Deserialize)]
        struct RoomKeys {
            #[serde(default)]
            sessions: BTreeMap<String, Raw<KeyBackupData>>,
        }
        let path = format!("{ROOM_KEYS}/keys?version={}", encode_path_segment(version));
        let body = requests::call(&self.conn, Method::Get, path, &json!({})).await?;
        let keys: Keys = serde_json::from_slice(&body).map_err(Error::Json)?;
        let mut exported = Vec::new();
        let mut undecryptable = 0usize;
        for (room_id, room) in keys.rooms {
            for (session_id, data) in room.sessions {
                let decrypted = data
                    .deserialize()
                    .ok()
                    .and_then(|d| key.decrypt_session_data(d.session_data).ok());
                match decrypted {
                    Some(backed_up) => exported.push(ExportedRoomKey::from_backed_up_room_key(
                        room_id.clone(),
                        session_id,
                        backed_up,
                    )),
                    None => undecryptable += 1,
                }
            }
        }
        if undecryptable > 0 {
            tracing::warn!(
                undecryptable,
                "backed-up keys that did not decrypt were skipped"
            );
        }
        let total = exported.len() + undecryptable;
        let result = self
            .machine
            .store()
            .import_room_keys(exported, Some(version), |_, _| {})
            .await
            .map_err(crypto_error)?;
        Ok(RoomKeyImport {
            imported: result.imported_count,
            total,
        })
    }

    /// A backup key another of our devices sent (it waits in the
    /// machine's inbox): used if it is the key of the account's current
    /// backup, dropped otherwise.
    pub(crate) async fn take_backup_key_from_inbox(&self) -> Result<bool> {
        use matrix_sdk_common::ruma::events::secret::request::SecretName;
        let store = self.machine.store();
        let secrets = store
            .get_secrets_from_inbox(&SecretName::RecoveryKey)
            .await
            .map_err(crypto_error)?;
        if secrets.is_empty() {
            return Ok(false);
        }
        let Some(backup) = self.server_backup().await? else {
            return Ok(false);
        };
        let mut taken = false;
        for secret in secrets {
            let Ok(key) = BackupDecryptionKey::from_base64(&secret) else {
                continue;
            };
            if key.backup_key_matches(&backup.info) {
                self.use_backup_key(key, backup.version.clone()).await?;
                taken = true;
                break;
            }
        }
        store
            .delete_secrets_from_inbox(&SecretName::RecoveryKey)
            .await
            .map_err(crypto_error)?;
        Ok(taken)
    }
}

impl Crypto {
    /// Fetches the room keys of `sessions` from the backup (one request
    /// each; a session the backup lacks is skipped) and imports them.
    /// Each session is asked for once per process. Returns the keys that
    /// came.
    pub(crate) async fn fetch_from_backup(
        &self,
        sessions: Vec<(String, String)>,
    ) -> Result<Vec<NewRoomKey>> {
        let keys = self
            .machine
            .backup_machine()
            .get_backup_keys()
            .await
            .map_err(crypto_error)?;
        let (Some(key), Some(version)) = (keys.decryption_key, keys.backup_version) else {
            return Ok(Vec::new());
        };
        let mut exported = Vec::new();
        let mut came = Vec::new();
        for (room, session) in sessions {
            if !self.ask_backup_once(&room, &session) {
                continue;
            }
            let Ok(room_id) = OwnedRoomId::try_from(room.as_str()) else {
                continue;
            };
            let path = format!(
                "{ROOM_KEYS}/keys/{}/{}?version={}",
                encode_path_segment(&room),
                encode_path_segment(&session),
                encode_path_segment(&version)
            );
            let data = match requests::call(&self.conn, Method::Get, path, &json!({})).await {
                Ok(body) => body,
                Err(Error::Request(e)) if e.http_status() == Some(404) => continue,
                Err(e) => return Err(e),
            };
            let Some(backed_up) = serde_json::from_slice::<KeyBackupData>(&data)
                .ok()
                .and_then(|d| key.decrypt_session_data(d.session_data).ok())
            else {
                tracing::warn!("a backed-up room key did not decrypt; skipped");
                continue;
            };
            exported.push(ExportedRoomKey::from_backed_up_room_key(
                room_id,
                session.clone(),
                backed_up,
            ));
            came.push(NewRoomKey {
                room_id: room,
                session_id: session,
            });
        }
        if !exported.is_empty() {
            self.machine
                .store()
                .import_room_keys(exported, Some(&version), |_, _| {})
                .await
                .map_err(crypto_error)?;
        }
        Ok(came)
    }
}

impl Client {
    /// Events that did not decrypt: their keys are fetched from the key
    /// backup (when this device holds its key), and what decrypts now is
    /// stored and told to watchers. At most 50 sessions per call, each
    /// asked for once per process.
    pub(crate) async fn decrypt_from_backup(&self, crypto: &Crypto) -> Result<bool> {
        let sessions = {
            let store = self.store()?;
            crate::sync::decryptions::waiting_sessions(store.connection(), 50)?
        };
        if sessions.is_empty() {
            return Ok(false);
        }
        let keys = crypto.fetch_from_backup(sessions).await?;
        if keys.is_empty() {
            return Ok(false);
        }
        let changed = self.retry_waiting(crypto, Some(&keys)).await?;
        if changed {
            self.tell_changed(Default::default())?;
        }
        Ok(changed)
    }

    /// Whether the account has a key backup on the server.
    pub async fn backup_exists(&self) -> Result<bool> {
        Ok(self
            .crypto_for_sync()
            .await?
            .server_backup()
            .await?
            .is_some())
    }

    /// Creates a new key backup, signed by this device and (when it holds
    /// it) the account's master key, and starts uploading every room key
    /// to it; returns its version. An existing backup is replaced as the
    /// current one (its keys stay on the server until it is deleted).
    /// Keep the backup's key with [`enable_recovery`](Self::enable_recovery)
    /// (secret storage), or the backup can only be read by this user's
    /// devices that already hold the key.
    pub async fn create_backup(&self) -> Result<String> {
        let crypto = self.crypto_for_sync().await?;
        let key = BackupDecryptionKey::new();
        let version = crypto.create_backup_with(&key).await?;
        crypto.use_backup_key(key, version.clone()).await?;
        crypto.upload_room_keys().await?;
        Ok(version)
    }

    /// Downloads the current backup's keys and imports them (this device
    /// must hold the backup key: from secret storage, or sent by another
    /// of this user's devices after a verification), then decrypts the
    /// stored events they open.
    pub async fn restore_backup(&self) -> Result<RoomKeyImport> {
        let crypto = self.crypto_for_sync().await?;
        crypto.take_backup_key_from_inbox().await?;
        let backup = crypto.server_backup().await?.ok_or(Error::NoBackup)?;
        let keys = crypto
            .machine()
            .backup_machine()
            .get_backup_keys()
            .await
            .map_err(crypto_error)?;
        let key = keys.decryption_key.ok_or(Error::NoBackupKey)?;
        if !key.backup_key_matches(&backup.info) {
            return Err(Error::BackupKeyMismatch);
        }
        if keys.backup_version.as_deref() != Some(backup.version.as_str()) {
            crypto
                .use_backup_key(key.clone(), backup.version.clone())
                .await?;
        }
        let import = crypto.restore_with(&key, &backup.version).await?;
        self.retry_waiting(&crypto, None).await?;
        self.retry_withheld(&crypto).await?;
        Ok(import)
    }

    /// The backup as the server and this device know it.
    pub async fn backup_status(&self) -> Result<BackupStatus> {
        let crypto = self.crypto_for_sync().await?;
        let server = crypto.server_backup().await?;
        let backups = crypto.machine().backup_machine();
        let keys = backups.get_backup_keys().await.map_err(crypto_error)?;
        let counts = backups.room_key_counts().await.map_err(crypto_error)?;
        let (trusted, key_matches) = match &server {
            Some(b) => {
                let check = backups
                    .verify_backup(b.info.clone(), false)
                    .await
                    .map_err(crypto_error)?;
                let matches = keys
                    .decryption_key
                    .as_ref()
                    .is_some_and(|k| k.backup_key_matches(&b.info));
                (check.trusted(), matches)
            }
            None => (false, false),
        };
        Ok(BackupStatus {
            version: server.as_ref().map(|b| b.version.clone()),
            server_count: server.as_ref().map(|b| b.count),
            trusted,
            has_key: key_matches,
            uploading: backups.enabled().await,
            keys_local: counts.total,
            keys_backed_up: counts.backed_up,
        })
    }
}

impl Crypto {
    /// Posts a new backup version for `key`, signed, and returns its
    /// version.
    pub(crate) async fn create_backup_with(&self, key: &BackupDecryptionKey) -> Result<String> {
        #[derive(Deserialize)]
        struct Created {
            version: String,
        }
        let mut info = key.to_backup_info();
        self.machine
            .backup_machine()
            .sign_backup(&mut info)
            .await
            .map_err(crypto_error)?;
        let body = serde_json::to_value(&info).map_err(Error::Json)?;
        let path = format!("{ROOM_KEYS}/version");
        let answer = requests::call(&self.conn, Method::Post, path, &body).await?;
        let created: Created = serde_json::from_slice(&answer).map_err(Error::Json)?;
        Ok(created.version)
    }
}

/// The backup an upload went to was replaced (`M_WRONG_ROOM_KEYS_VERSION`)
/// or deleted (404).
fn backup_gone(e: &quotient::Error) -> bool {
    e.http_status() == Some(404) || e.server_error().is_some() && e.http_status() == Some(403)
}

//! Room keys in and out of the standard key export file (`-----BEGIN
//! MEGOLM SESSION DATA-----`, what Element's "Export E2E room keys"
//! writes): matrix-sdk-crypto encrypts and decrypts it under a
//! passphrase (PBKDF2, then AES-CTR and an HMAC), quotient reads the
//! keys from and into the machine's store, writes the file owner-only
//! and atomically, and decrypts the stored events the imported keys
//! open at once.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use matrix_sdk_crypto::{decrypt_room_key_export, encrypt_room_key_export, KeyExportError};
use quotient::SecretString;

use super::crypto_error;
use crate::client::Client;
use crate::encryption::RoomKeyImport;
use crate::error::{Error, Result};

/// PBKDF2 rounds of an export: what the crate's documentation
/// recommends (about 100 000; at least 10 000).
const EXPORT_ROUNDS: u32 = 100_000;

/// The error of a file that does not decrypt, in words a user can act
/// on. The crate's own messages are not passed on: a JSON error inside
/// the decrypted payload could quote a key.
fn import_error(path: &Path, e: KeyExportError) -> Error {
    let reason = match e {
        KeyExportError::InvalidMac => "wrong passphrase or not a key export".to_owned(),
        KeyExportError::InvalidHeaders => {
            "not a key export (no -----BEGIN MEGOLM SESSION DATA----- block)".to_owned()
        }
        KeyExportError::UnsupportedVersion => {
            "a key export version this build cannot read".to_owned()
        }
        KeyExportError::Io(e) => format!("cannot read it: {e}"),
        KeyExportError::InvalidUtf8(_) | KeyExportError::Json(_) | KeyExportError::Decode(_) => {
            "damaged: it decrypts to something that is not a list of room keys".to_owned()
        }
    };
    Error::KeyExport {
        path: path.to_owned(),
        reason,
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::TaskLost(e.to_string()))
}

impl Client {
    /// Writes every room key this device holds to `path` as a key export
    /// file encrypted under `passphrase`; returns how many. The file is
    /// written owner-only (mode 0600 on Unix) to a temporary name beside
    /// `path` and renamed over it once complete and on disk, so `path`
    /// never holds a partial export. Fails with [`Error::StoreOwned`]
    /// when another process owns the store (and its keys).
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// use quotient::SecretString;
    /// let passphrase = SecretString::new("correct horse battery staple");
    /// let n = client.export_room_keys("keys.txt".as_ref(), &passphrase).await?;
    /// // On another device of the account:
    /// let import = client.import_room_keys("keys.txt".as_ref(), &passphrase).await?;
    /// println!("{n} exported, {} of {} imported", import.imported, import.total);
    /// # Ok(()) }
    /// ```
    pub async fn export_room_keys(&self, path: &Path, passphrase: &SecretString) -> Result<usize> {
        let crypto = self.crypto_for_sync().await?;
        let keys = crypto
            .machine()
            .store()
            .export_room_keys(|_| true)
            .await
            .map_err(crypto_error)?;
        let count = keys.len();
        let passphrase = passphrase.clone();
        let text = blocking(move || {
            encrypt_room_key_export(&keys, passphrase.expose(), EXPORT_ROUNDS)
                .map(SecretString::new)
        })
        .await?
        .map_err(|_| Error::KeyExport {
            path: path.to_owned(),
            reason: "the keys could not be written as JSON".into(),
        })?;
        let path_owned = path.to_owned();
        blocking(move || write_private(&path_owned, text.expose().as_bytes())).await??;
        Ok(count)
    }

    /// Reads the room keys of the key export file at `path` (encrypted
    /// under `passphrase`) into this device's store, then decrypts every
    /// stored event they open; timeline watchers hear of each as
    /// [`EventChange::Decrypted`](crate::store::EventChange::Decrypted).
    /// A wrong passphrase fails with [`Error::KeyExport`] ("wrong
    /// passphrase or not a key export") and imports nothing. Keys already
    /// held (as good or better) are not counted as imported.
    pub async fn import_room_keys(
        &self,
        path: &Path,
        passphrase: &SecretString,
    ) -> Result<RoomKeyImport> {
        let crypto = self.crypto_for_sync().await?;
        let data = tokio::fs::read(path).await.map_err(|source| Error::File {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        let passphrase = passphrase.clone();
        let keys = blocking(move || decrypt_room_key_export(data.as_slice(), passphrase.expose()))
            .await?
            .map_err(|e| import_error(path, e))?;
        let result = crypto
            .machine()
            .store()
            .import_room_keys(keys, None, |_, _| {})
            .await
            .map_err(crypto_error)?;
        let rooms = result.keys.keys().map(|r| r.as_str().to_owned()).collect();
        // An imported key does not say whose device made it: the machine
        // finds the sender's device among the keys it has queried. Any
        // query still waiting goes out first, so the trust setting judges
        // the senders on what the server says of them.
        if let Err(e) = crypto.process_outgoing().await {
            tracing::warn!(error = %e, "device keys not queried before decrypting with imported keys");
        }
        if self.retry_waiting(&crypto, None).await? {
            self.tell_changed(rooms)?;
        }
        Ok(RoomKeyImport {
            imported: result.imported_count,
            total: result.total_count,
        })
    }
}

/// Writes `data` to `path` owner-only and atomically: a new temporary
/// file beside it (mode 0600 from its creation on Unix), synced, renamed
/// over `path`, the directory synced.
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let failed = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| Error::File {
            action,
            path,
            source,
        }
    };
    let name = path
        .file_name()
        .ok_or_else(|| {
            failed("write the key export to", path)(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file name",
            ))
        })?
        .to_owned();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(&name);
    temp_name.push(format!(".{:08x}.part", fastrand::u32(..)));
    let temp = dir.join(temp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&temp)
        .map_err(failed("create a file in the directory of", path))?;
    let written = file.write_all(data).and_then(|()| file.sync_all());
    drop(file);
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&temp);
        return Err(failed("write the key export to", path)(e));
    }
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_owner_only_and_replaces_the_old_one_whole() {
        let dir = std::env::temp_dir().join(format!("quotient-keys-{:x}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.txt");
        std::fs::write(&path, "old").unwrap();
        write_private(&path, b"new export").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new export");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_wrong_passphrase_says_so_and_a_non_export_says_what_it_is() {
        let export = encrypt_room_key_export(&[], "right", 1000).unwrap();
        let Err(e) = decrypt_room_key_export(export.as_bytes(), "wrong") else {
            panic!("a wrong passphrase decrypted the export")
        };
        let e = import_error(Path::new("k.txt"), e);
        assert_eq!(
            e.to_string(),
            "the key export k.txt: wrong passphrase or not a key export"
        );
        let Err(e) = decrypt_room_key_export(&b"hello"[..], "right") else {
            panic!("a non-export decrypted")
        };
        assert!(import_error(Path::new("k.txt"), e)
            .to_string()
            .contains("not a key export"));
        assert!(matches!(
            decrypt_room_key_export(export.as_bytes(), "right").as_deref(),
            Ok([])
        ));
    }
}

//! Building the crypto machine over its persistent store.
//!
//! The crypto store is matrix-sdk-sqlite's (its own SQLite file, written
//! by the machine in its own transactions) in a directory per device:
//! `crypto/<device>/` inside the store directory, mode 0700 on Unix, the
//! database pre-created mode 0600 so it never exists with a wider mode.
//! A new device ID (a sign-in again) gets a new directory and a new
//! machine; the old device's keys stay where they were, unused.

use std::path::{Path, PathBuf};

use matrix_sdk_common::ruma::{DeviceId, UserId};
use matrix_sdk_crypto::store::CryptoStoreError;
use matrix_sdk_crypto::OlmMachine;
use matrix_sdk_sqlite::SqliteCryptoStore;

use super::{crypto_error, Crypto};
use crate::encryption::DeviceTrust;
use crate::error::{Error, Result};
use crate::store::owner::OwnerLock;

/// The crypto store's database file, as matrix-sdk-sqlite names it.
const CRYPTO_DB: &str = "matrix-sdk-crypto.sqlite3";

/// The crypto store directory of `device` inside the store directory.
/// Device IDs are the server's strings: anything but ASCII letters,
/// digits, `-` and `_` is hex-escaped so the name is one safe segment.
pub(crate) fn crypto_dir(store_dir: &Path, device: &str) -> PathBuf {
    let mut name = String::with_capacity(device.len());
    for b in device.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    store_dir.join("crypto").join(name)
}

fn private_dir(dir: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io)?;
    let path = dir.join(CRYPTO_DB);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mode = file.metadata().map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
    }
    #[cfg(not(unix))]
    options.open(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(())
}

impl Crypto {
    /// Builds the machine of `conn`'s device: over the store directory's
    /// crypto store when `owner` is given (this process owns it), in
    /// memory otherwise (an in-memory client).
    pub(crate) async fn open(
        conn: quotient::Connection,
        store_dir: Option<(&Path, OwnerLock)>,
        trust: DeviceTrust,
    ) -> Result<Crypto> {
        let session = conn.session().ok_or(Error::NotSignedIn)?;
        let user = UserId::parse(session.user_id.as_str()).map_err(crypto_error)?;
        let device: &DeviceId = session.device_id.as_str().into();
        let (machine, owner) = match store_dir {
            Some((dir, owner)) => {
                let dir = crypto_dir(dir, device.as_str());
                private_dir(&dir)?;
                let store = SqliteCryptoStore::open(&dir, None).await.map_err(|e| {
                    Error::Crypto(format!("the crypto store {}: {e}", dir.display()))
                })?;
                let machine = match OlmMachine::with_store(&user, device, store, None).await {
                    Ok(machine) => machine,
                    Err(CryptoStoreError::MismatchedAccount { expected, got }) => {
                        return Err(Error::Crypto(format!(
                            "the crypto store {} holds the keys of {} device {}, not of {} \
                             device {}; it was left untouched",
                            dir.display(),
                            expected.0,
                            expected.1,
                            got.0,
                            got.1
                        )))
                    }
                    Err(e) => return Err(crypto_error(e)),
                };
                (machine, Some(owner))
            }
            None => (OlmMachine::new(&user, device).await, None),
        };
        Ok(Crypto {
            machine,
            conn,
            trust,
            requests: tokio::sync::Mutex::new(()),
            claims: tokio::sync::Mutex::new(()),
            rooms: Default::default(),
            members_fetched: Default::default(),
            verifications: tokio::sync::watch::channel(Vec::new()).0,
            taken: Default::default(),
            client: Default::default(),
            asked_backup: Default::default(),
            secret_requests: tokio::sync::watch::channel(0).0,
            setup: tokio::sync::watch::channel(false).0,
            _owner: owner,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_id_is_one_safe_path_segment() {
        let base = Path::new("/s");
        assert_eq!(
            crypto_dir(base, "ABCDEF_1-2"),
            Path::new("/s/crypto/ABCDEF_1-2")
        );
        assert_eq!(crypto_dir(base, "../x"), Path::new("/s/crypto/%2E%2E%2Fx"));
    }
}

//! A file bound for an encrypted room is encrypted before it is uploaded
//! (matrix-sdk-crypto's `AttachmentEncryptor`: AES-256-CTR with a random
//! key and IV, SHA-256 over the ciphertext), and the server gets only the
//! ciphertext. The event then carries `file` (the spec's `EncryptedFile`:
//! the URI with the key, IV and hash) instead of `url`.
//!
//! Exactly once, as for plain files: the key is stored in the entry
//! **before** the upload starts, in the same write that forgets any
//! earlier reservation (whatever went there was not this ciphertext).
//! A later try — after a lost answer, a SIGKILL, a restart — makes the
//! same ciphertext again from the stored key and sends it to the same
//! reserved URI, so a server that already has it answers
//! `M_CANNOT_OVERWRITE_MEDIA` and nothing is uploaded twice. The event
//! never names a key other than the one its ciphertext was made with.
//!
//! Making the same ciphertext again: AES-CTR XORs the data with a key
//! stream fixed by the key and IV, so encrypting and decrypting are the
//! same operation. The crate's `AttachmentDecryptor`, run over the
//! plaintext with the stored key and read only as far as its length (so
//! its end-of-stream hash check is not reached), gives the ciphertext;
//! running it again over that ciphertext to the end checks the stored
//! SHA-256, which proves byte for byte that it is the ciphertext the key
//! was made for (a file changed since it was queued fails here).
//!
//! The key never reaches a log line, an error or a `Debug` output: it is
//! kept in a [`SecretString`] and the errors name only what failed.

use quotient::SecretString;

use super::entry::{Attachment, OutboxEntry};
#[cfg(feature = "e2e-encryption")]
use super::stop::store_failed;
use super::stop::Stop;
use crate::client::Client;

/// A file ready to upload to an encrypted room.
pub(super) struct Sealed {
    /// The bytes to upload.
    pub ciphertext: Vec<u8>,
    /// The spec's `EncryptedFile` without `url`, as JSON.
    pub key: SecretString,
    /// The entry's attachment as stored now (a new key forgets an earlier
    /// reservation).
    pub attachment: Attachment,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("ciphertext_len", &self.ciphertext.len())
            .field("attachment", &self.attachment)
            .finish_non_exhaustive()
    }
}

/// The `file` object of the event: `key` (an `EncryptedFile` without
/// `url`) with `url` added.
pub(super) fn file_object(key: &SecretString, uri: &str) -> Result<serde_json::Value, Stop> {
    let mut value: serde_json::Value = serde_json::from_str(key.expose())
        .map_err(|_| Stop::Fail("the stored file key is not JSON".into()))?;
    match value.as_object_mut() {
        Some(object) => {
            object.insert("url".into(), uri.into());
            Ok(value)
        }
        None => Err(Stop::Fail("the stored file key is not an object".into())),
    }
}

/// Encrypts `plaintext` (the attachment's file) for the entry: with the
/// key stored for it if there is one, else with a fresh key stored
/// before this returns.
#[cfg(feature = "e2e-encryption")]
pub(super) async fn seal(
    client: &Client,
    entry: &OutboxEntry,
    attachment: &Attachment,
    plaintext: Vec<u8>,
) -> Result<Sealed, Stop> {
    let stored = client
        .store()
        .and_then(|s| s.outbox_file_key(&entry.txn_id))
        .map_err(store_failed)?;
    let key = match stored {
        Some(key) => key,
        None => {
            let (ciphertext, plaintext, key) = blocking(move || fresh(plaintext)).await??;
            let kept = client
                .store()
                .and_then(|mut s| s.set_outbox_file_key(&entry.txn_id, &key, attachment))
                .map_err(store_failed)?;
            let attachment = client
                .store()
                .and_then(|s| s.outbox_entry(&entry.txn_id))
                .map_err(store_failed)?
                .and_then(|e| e.attachment)
                .ok_or_else(|| Stop::Fail("the entry's attachment is gone".into()))?;
            if kept == key {
                return Ok(Sealed {
                    ciphertext,
                    key,
                    attachment,
                });
            }
            // Another key was stored first: that one is used.
            return again(plaintext, kept, attachment).await;
        }
    };
    again(plaintext, key, attachment.clone()).await
}

#[cfg(feature = "e2e-encryption")]
async fn again(
    plaintext: Vec<u8>,
    key: SecretString,
    attachment: Attachment,
) -> Result<Sealed, Stop> {
    let (ciphertext, key) = blocking(move || remake(&plaintext, key)).await??;
    Ok(Sealed {
        ciphertext,
        key,
        attachment,
    })
}

/// Without the `e2e-encryption` feature nothing can be encrypted, so the
/// file is not uploaded at all.
#[cfg(not(feature = "e2e-encryption"))]
pub(super) async fn seal(
    _client: &Client,
    entry: &OutboxEntry,
    _attachment: &Attachment,
    _plaintext: Vec<u8>,
) -> Result<Sealed, Stop> {
    Err(Stop::Fail(
        crate::error::Error::CannotEncrypt {
            room_id: entry.room_id.clone(),
            reason: "this build has no encryption (the e2e-encryption feature is off); \
                     nothing was uploaded"
                .into(),
        }
        .to_string(),
    ))
}

#[cfg(feature = "e2e-encryption")]
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Stop> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Stop::Retry(format!("the encryption task was lost: {e}")))
}

/// Encrypts with a fresh key: (ciphertext, the plaintext back, the key).
#[cfg(feature = "e2e-encryption")]
fn fresh(plaintext: Vec<u8>) -> Result<(Vec<u8>, Vec<u8>, SecretString), Stop> {
    use std::io::Read as _;
    let mut reader = plaintext.as_slice();
    let mut encryptor = matrix_sdk_crypto::AttachmentEncryptor::new(&mut reader);
    let mut ciphertext = Vec::with_capacity(plaintext.len());
    encryptor
        .read_to_end(&mut ciphertext)
        .map_err(|e| Stop::Fail(format!("the file could not be encrypted: {e}")))?;
    let info = encryptor.finish();
    let key = serde_json::to_string(&info)
        .map_err(|_| Stop::Fail("the file's key could not be written as JSON".into()))?;
    Ok((ciphertext, plaintext, SecretString::new(key)))
}

/// The ciphertext `key` made of `plaintext` (see the module's doc), its
/// hash checked against the stored one.
#[cfg(feature = "e2e-encryption")]
fn remake(plaintext: &[u8], key: SecretString) -> Result<(Vec<u8>, SecretString), Stop> {
    use matrix_sdk_crypto::{AttachmentDecryptor, MediaEncryptionInfo};
    use std::io::Read as _;
    let info = || {
        serde_json::from_str::<MediaEncryptionInfo>(key.expose())
            .map_err(|_| Stop::Fail("the stored file key is unreadable".into()))
    };
    let unusable = |e: matrix_sdk_crypto::DecryptorError| {
        Stop::Fail(format!("the stored file key cannot be used: {e}"))
    };
    let mut ciphertext = vec![0; plaintext.len()];
    let mut input = plaintext;
    // Read exactly the length: the stream's end (and its hash check,
    // which is over the input, here the plaintext) is never reached.
    AttachmentDecryptor::new(&mut input, info()?)
        .map_err(unusable)?
        .read_exact(&mut ciphertext)
        .map_err(|e| Stop::Fail(format!("the file could not be encrypted: {e}")))?;
    let mut check = ciphertext.as_slice();
    std::io::copy(
        &mut AttachmentDecryptor::new(&mut check, info()?).map_err(unusable)?,
        &mut std::io::sink(),
    )
    .map_err(|_| {
        Stop::Fail(
            "the file changed since it was queued: its ciphertext no longer matches the hash \
             stored with its key"
                .into(),
        )
    })?;
    Ok((ciphertext, key))
}

#[cfg(all(test, feature = "e2e-encryption"))]
mod tests {
    use super::*;

    fn ok<T>(r: Result<T, Stop>) -> T {
        match r {
            Ok(t) => t,
            Err(
                Stop::Fail(e) | Stop::Retry(e) | Stop::Elsewhere(e) | Stop::Halt { reason: e, .. },
            ) => panic!("{e}"),
        }
    }

    #[test]
    fn the_stored_key_makes_the_same_ciphertext_again() {
        let plaintext = b"the same bytes, every try".repeat(1000);
        let (first, back, key) = ok(fresh(plaintext.clone()));
        assert_eq!(back, plaintext);
        assert_ne!(first, plaintext, "the upload is not the plaintext");
        let (again, _) = ok(remake(&plaintext, key.clone()));
        assert_eq!(again, first);
        // And a fresh key makes another ciphertext.
        let (other, _, other_key) = ok(fresh(plaintext.clone()));
        assert_ne!(other, first);
        assert_ne!(other_key, key);
    }

    #[test]
    fn a_file_changed_since_it_was_queued_is_refused() {
        let (_, _, key) = ok(fresh(b"original".to_vec()));
        match remake(b"changed!", key) {
            Err(Stop::Fail(reason)) => assert!(reason.contains("changed"), "{reason}"),
            Err(_) => panic!("expected a failure of the entry"),
            Ok(_) => panic!("a changed file was encrypted under the old hash"),
        }
    }

    #[test]
    fn an_empty_file_round_trips() {
        let (first, _, key) = ok(fresh(Vec::new()));
        assert!(first.is_empty());
        assert_eq!(ok(remake(&[], key)).0, first);
    }

    #[test]
    fn the_file_object_is_the_key_with_the_url_and_debug_shows_no_key() {
        let (ciphertext, _, key) = ok(fresh(b"x".to_vec()));
        let file = ok(file_object(&key, "mxc://hs/abc"));
        assert_eq!(file["url"], "mxc://hs/abc");
        assert_eq!(file["v"], "v2");
        assert_eq!(file["key"]["alg"], "A256CTR");
        let k = file["key"]["k"].as_str().unwrap().to_owned();
        let sealed = Sealed {
            ciphertext,
            key,
            attachment: Attachment {
                path: "/f".into(),
                content_type: "text/plain".into(),
                size: 1,
                content_uri: None,
                uploaded: false,
            },
        };
        let debug = format!("{sealed:?}");
        assert!(!debug.contains(&k), "{debug}");
        assert!(!debug.contains("A256CTR"), "{debug}");
    }
}

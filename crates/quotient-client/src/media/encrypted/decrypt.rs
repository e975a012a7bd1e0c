//! Decrypting a downloaded ciphertext with matrix-sdk-crypto's
//! `AttachmentDecryptor`, on the blocking pool (it is synchronous). The
//! decryptor checks the ciphertext's SHA-256 only when its input ends,
//! so the plaintext it hands out before that is not trusted until then.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use matrix_sdk_crypto::{AttachmentDecryptor, MediaEncryptionInfo};
use quotient::SecretString;

use super::EncryptedFile;
use crate::error::{Error, Result};

/// The key, IV and hash of an `EncryptedFile` object, checked. The
/// errors name what is wrong, never the values.
pub(super) fn info(json: &SecretString) -> Result<MediaEncryptionInfo> {
    let parse = || {
        serde_json::from_str::<MediaEncryptionInfo>(json.expose()).map_err(|_| {
            Error::EncryptedFile(
                "it is not an EncryptedFile (version 2, an A256CTR key, an IV and hashes)".into(),
            )
        })
    };
    // Checks the version and the hash's presence, as a download would
    // (the type is not Clone: it is read twice).
    AttachmentDecryptor::new(&mut io::empty(), parse()?).map_err(|e| {
        Error::EncryptedFile(match e {
            matrix_sdk_crypto::DecryptorError::MissingHash => "it has no SHA-256 hash".into(),
            matrix_sdk_crypto::DecryptorError::UnknownVersion => "its version is not v2".into(),
            other => other.to_string(),
        })
    })?;
    parse()
}

/// The input of the decryptor, remembering whether reading it failed:
/// a read error of the decryptor is then the file's, else the hash's.
struct Source<R> {
    inner: R,
    failed: Option<io::Error>,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.failed = Some(io::Error::new(e.kind(), e.to_string()));
        })
    }
}

/// Decrypts all of `input` into `output`; the end of `input` checks the
/// hash. Returns the plaintext's length.
fn decrypt(
    info: MediaEncryptionInfo,
    input: impl Read,
    output: &mut impl io::Write,
    input_path: &Path,
) -> Result<u64> {
    let mut source = Source {
        inner: input,
        failed: None,
    };
    let mut decryptor = AttachmentDecryptor::new(&mut source, info)
        .map_err(|e| Error::EncryptedFile(e.to_string()))?;
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0u64;
    let failure = loop {
        match decryptor.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => {
                output.write_all(&buf[..n]).map_err(Error::Write)?;
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break Some(()),
        }
    };
    drop(decryptor);
    match (failure, source.failed) {
        (None, _) => Ok(total),
        (Some(()), Some(source)) => Err(Error::File {
            action: "read the downloaded ciphertext",
            path: input_path.to_owned(),
            source,
        }),
        (Some(()), None) => Err(Error::FileHashMismatch),
    }
}

/// Decrypts the ciphertext in `cipher` into `plain` (an existing empty
/// file), synced to disk. Its length, or the error (the hash's included).
pub(super) async fn file_to_file(file: &EncryptedFile, cipher: &Path, plain: &Path) -> Result<u64> {
    let info = info(&file.json)?;
    let (cipher, plain): (PathBuf, PathBuf) = (cipher.to_owned(), plain.to_owned());
    tokio::task::spawn_blocking(move || {
        let input = std::fs::File::open(&cipher).map_err(|source| Error::File {
            action: "open the downloaded ciphertext",
            path: cipher.clone(),
            source,
        })?;
        let out = std::fs::OpenOptions::new()
            .write(true)
            .open(&plain)
            .map_err(|source| Error::File {
                action: "open",
                path: plain.clone(),
                source,
            })?;
        let mut out = io::BufWriter::new(out);
        let size = decrypt(info, io::BufReader::new(input), &mut out, &cipher)?;
        let out = out.into_inner().map_err(|e| Error::Write(e.into_error()))?;
        out.sync_all().map_err(Error::Write)?;
        Ok(size)
    })
    .await
    .map_err(|e| Error::TaskLost(e.to_string()))?
}

/// Decrypts the ciphertext in `cipher` into memory.
pub(super) async fn file_to_memory(file: &EncryptedFile, cipher: &Path) -> Result<Vec<u8>> {
    let info = info(&file.json)?;
    let cipher = cipher.to_owned();
    tokio::task::spawn_blocking(move || {
        let input = std::fs::File::open(&cipher).map_err(|source| Error::File {
            action: "open the downloaded ciphertext",
            path: cipher.clone(),
            source,
        })?;
        let mut plain = Vec::new();
        decrypt(info, io::BufReader::new(input), &mut plain, &cipher)?;
        Ok(plain)
    })
    .await
    .map_err(|e| Error::TaskLost(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk_crypto::AttachmentEncryptor;

    fn encrypt(plaintext: &[u8]) -> (Vec<u8>, EncryptedFile) {
        let mut reader = plaintext;
        let mut encryptor = AttachmentEncryptor::new(&mut reader);
        let mut ciphertext = Vec::new();
        encryptor.read_to_end(&mut ciphertext).unwrap();
        let mut json = serde_json::to_value(encryptor.finish()).unwrap();
        json["url"] = "mxc://example.org/abc".into();
        (ciphertext, EncryptedFile::from_json(&json).unwrap())
    }

    #[test]
    fn the_ciphertext_decrypts_to_the_plaintext() {
        let plaintext = b"attachment bytes ".repeat(10_000);
        let (ciphertext, file) = encrypt(&plaintext);
        let mut out = Vec::new();
        let n = decrypt(
            info(&file.json).unwrap(),
            ciphertext.as_slice(),
            &mut out,
            Path::new("c"),
        )
        .unwrap();
        assert_eq!(n, plaintext.len() as u64);
        assert_eq!(out, plaintext);
    }

    #[test]
    fn a_flipped_byte_is_a_hash_mismatch() {
        let (mut ciphertext, file) = encrypt(b"the plaintext");
        ciphertext[3] ^= 1;
        let mut out = Vec::new();
        let e = decrypt(
            info(&file.json).unwrap(),
            ciphertext.as_slice(),
            &mut out,
            Path::new("c"),
        )
        .unwrap_err();
        assert!(matches!(e, Error::FileHashMismatch), "{e}");
    }

    #[test]
    fn a_file_object_that_is_not_an_encrypted_file_is_refused_without_its_values() {
        let (_, file) = encrypt(b"x");
        let mut json: serde_json::Value = serde_json::from_str(file.json.expose()).unwrap();
        let key = json["key"]["k"].as_str().unwrap().to_owned();
        json["v"] = "v1".into();
        let e = EncryptedFile::from_json(&json).unwrap_err();
        assert!(e.to_string().contains("not v2"), "{e}");
        json["v"] = "v2".into();
        json["key"]["alg"] = "A128CBC".into();
        let e = EncryptedFile::from_json(&json).unwrap_err();
        assert!(!e.to_string().contains(&key), "{e}");
        json.as_object_mut().unwrap().remove("url");
        assert!(EncryptedFile::from_json(&json).is_err());
    }
}

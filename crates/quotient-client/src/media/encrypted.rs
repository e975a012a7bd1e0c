//! Files of encrypted rooms: the event carries the spec's
//! [`EncryptedFile`](https://spec.matrix.org/v1.19/client-server-api/#extensions-to-mroommessage-msgtypes)
//! (`url`, and the AES-256-CTR key, IV and SHA-256 of the ciphertext)
//! instead of a plain `url`, and the server holds only ciphertext.
//!
//! A download fetches the ciphertext to a temporary file beside the
//! target, decrypts it (matrix-sdk-crypto's `AttachmentDecryptor`) into
//! a second temporary file there, and renames that over the target only
//! when the ciphertext matched its hash (the decryptor checks it at the
//! end of the stream). On a mismatch both are removed and
//! [`Error::FileHashMismatch`] says so: nothing is written under the
//! target's name. To a writer, the plaintext is checked whole in memory
//! before a byte is written.

use std::path::Path;

use quotient::SecretString;
use quotient_api::MxcUri;
use serde_json::Value;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use super::{Downloaded, Media};
use crate::error::{Error, Result};

/// An event's encrypted file: its `mxc://` URI and the key to decrypt
/// it. Its `Debug` shows the URI only.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedFile {
    url: MxcUri,
    // The whole `EncryptedFile` object, as JSON: key material.
    json: SecretString,
}

impl std::fmt::Debug for EncryptedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedFile")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl EncryptedFile {
    /// Reads an `EncryptedFile` object (an event's `content.file` or
    /// `content.info.thumbnail_file`). Fails with
    /// [`Error::EncryptedFile`] when it is not one (version 2 with an
    /// A256CTR key, an IV and a SHA-256 hash).
    ///
    /// ```
    /// use quotient_client::media::EncryptedFile;
    /// let file = serde_json::json!({"url": "mxc://example.org/abc", "v": "v2",
    ///     "key": {"kty": "oct", "key_ops": ["encrypt", "decrypt"], "alg": "A256CTR",
    ///             "k": "qcHVMSgYg-71CauWBezXI5qkaRb0LuIy-Wx5kIaHMIA", "ext": true},
    ///     "iv": "X85+XgHN+HEAAAAAAAAAAA",
    ///     "hashes": {"sha256": "5qG4fFnbbVdlAB1Q72JDKwCagV6Dbkx9uds4rSak37c"}});
    /// let file = EncryptedFile::from_json(&file).unwrap();
    /// assert_eq!(file.url().as_str(), "mxc://example.org/abc");
    /// assert!(!format!("{file:?}").contains("qcHV"));
    /// ```
    pub fn from_json(file: &Value) -> Result<EncryptedFile> {
        let url = file
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::EncryptedFile("it has no `url`".into()))?;
        let url = MxcUri::parse(url)
            .map_err(|e| Error::EncryptedFile(format!("its `url` is not a content URI: {e}")))?;
        let json = SecretString::new(file.to_string());
        #[cfg(feature = "e2e-encryption")]
        decrypt::info(&json)?;
        Ok(EncryptedFile { url, json })
    }

    /// Where the ciphertext is.
    pub fn url(&self) -> &MxcUri {
        &self.url
    }
}

/// Where an event's file (or its thumbnail) is: a plain `url`, or an
/// encrypted `file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSource {
    /// Plain media at this URI (an unencrypted room).
    Plain(MxcUri),
    /// Encrypted media (an encrypted room).
    Encrypted(EncryptedFile),
}

impl FileSource {
    /// The file of a message's `content` (`file`, else `url`), or with
    /// `thumbnail` its thumbnail's (`info.thumbnail_file`, else
    /// `info.thumbnail_url`). `None` when it has none; an error when what
    /// it has is not usable.
    pub fn of_content(content: &Value, thumbnail: bool) -> Result<Option<FileSource>> {
        let (holder, file, url) = if thumbnail {
            (content.get("info"), "thumbnail_file", "thumbnail_url")
        } else {
            (Some(content), "file", "url")
        };
        let Some(holder) = holder else {
            return Ok(None);
        };
        if let Some(file) = holder.get(file).filter(|f| f.is_object()) {
            return EncryptedFile::from_json(file).map(|f| Some(FileSource::Encrypted(f)));
        }
        match holder.get(url).and_then(Value::as_str) {
            Some(uri) => MxcUri::parse(uri)
                .map(|u| Some(FileSource::Plain(u)))
                .map_err(|e| Error::EncryptedFile(format!("`{url}` is not a content URI: {e}"))),
            None => Ok(None),
        }
    }

    /// The `mxc://` URI the bytes are downloaded from.
    pub fn uri(&self) -> &MxcUri {
        match self {
            FileSource::Plain(uri) => uri,
            FileSource::Encrypted(file) => file.url(),
        }
    }
}

impl Media<'_> {
    /// Downloads `source` to `path`: plain media as
    /// [`download_to_path`](Self::download_to_path), encrypted media as
    /// [`download_encrypted_to_path`](Self::download_encrypted_to_path).
    pub async fn download_source_to_path(
        &self,
        source: &FileSource,
        path: &Path,
    ) -> Result<Downloaded> {
        match source {
            FileSource::Plain(uri) => self.download_to_path(uri, path).await,
            FileSource::Encrypted(file) => self.download_encrypted_to_path(file, path).await,
        }
    }

    /// Downloads `source` to `writer` (see
    /// [`download_encrypted_to_writer`](Self::download_encrypted_to_writer)
    /// for an encrypted one).
    pub async fn download_source_to_writer<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        source: &FileSource,
        writer: &mut W,
    ) -> Result<Downloaded> {
        match source {
            FileSource::Plain(uri) => self.download_to_writer(uri, writer).await,
            FileSource::Encrypted(file) => self.download_encrypted_to_writer(file, writer).await,
        }
    }

    /// Downloads an encrypted file, decrypts it and puts the plaintext at
    /// `path` only once its hash matched (see the module's doc); on
    /// [`Error::FileHashMismatch`] or any other failure `path` is as it
    /// was. The answer's `size` is the plaintext's; its `content_type` is
    /// `None` (the server only knows the ciphertext's: the event's
    /// `info.mimetype` says what the file is).
    pub async fn download_encrypted_to_path(
        &self,
        file: &EncryptedFile,
        path: &Path,
    ) -> Result<Downloaded> {
        let (cipher, downloaded) = self
            .download(file.url())
            .await?
            .into_temp_file(path)
            .await?;
        let plain = match super::temp_file::TempFile::create(path).await {
            Ok(plain) => plain,
            Err(e) => {
                cipher.remove().await;
                return Err(e);
            }
        };
        let result = decrypt::file_to_file(file, cipher.path(), plain.path()).await;
        cipher.remove().await;
        match result {
            Ok(size) => {
                plain.persist(path).await?;
                Ok(Downloaded {
                    size,
                    content_type: None,
                    content_disposition: downloaded.content_disposition,
                })
            }
            Err(e) => {
                plain.remove().await;
                Err(e)
            }
        }
    }

    /// Downloads an encrypted file and writes its plaintext to `writer`,
    /// only once it is whole and its hash matched (so it is held in
    /// memory once). The ciphertext waits in a temporary file in the
    /// system's temporary directory meanwhile.
    pub async fn download_encrypted_to_writer<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        file: &EncryptedFile,
        writer: &mut W,
    ) -> Result<Downloaded> {
        let beside = std::env::temp_dir().join("quotient-download");
        let (cipher, downloaded) = self
            .download(file.url())
            .await?
            .into_temp_file(&beside)
            .await?;
        let result = decrypt::file_to_memory(file, cipher.path()).await;
        cipher.remove().await;
        let plaintext = result?;
        writer.write_all(&plaintext).await.map_err(Error::Write)?;
        writer.flush().await.map_err(Error::Write)?;
        Ok(Downloaded {
            size: plaintext.len() as u64,
            content_type: None,
            content_disposition: downloaded.content_disposition,
        })
    }
}

#[cfg(feature = "e2e-encryption")]
mod decrypt;

#[cfg(not(feature = "e2e-encryption"))]
mod decrypt {
    //! Without the `e2e-encryption` feature nothing is decrypted.
    use std::path::Path;

    use super::EncryptedFile;
    use crate::error::{Error, Result};

    fn no_encryption() -> Error {
        Error::EncryptedFile(
            "this build has no encryption (the e2e-encryption feature is off)".into(),
        )
    }

    pub(super) async fn file_to_file(_: &EncryptedFile, _: &Path, _: &Path) -> Result<u64> {
        Err(no_encryption())
    }

    pub(super) async fn file_to_memory(_: &EncryptedFile, _: &Path) -> Result<Vec<u8>> {
        Err(no_encryption())
    }
}

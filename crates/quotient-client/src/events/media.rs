//! Where a media file is and what it is: a plain `mxc://` URL or an
//! encrypted file, and the `info` block that describes it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::lenient::or_none;

/// Where a media file can be downloaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaSource {
    /// An unencrypted file (`url`, an `mxc://` URI).
    Plain(String),
    /// A file encrypted for an encrypted room (`file`).
    Encrypted(Box<EncryptedFile>),
}

impl MediaSource {
    /// The `mxc://` URI to download, whichever the kind.
    pub fn mxc_uri(&self) -> &str {
        match self {
            MediaSource::Plain(url) => url,
            MediaSource::Encrypted(file) => &file.url,
        }
    }
}

/// An encrypted attachment: what a client needs to download, check and
/// decrypt it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EncryptedFile {
    /// The `mxc://` URI of the ciphertext.
    pub url: String,
    /// The AES key as a JSON Web Key.
    pub key: JsonWebKey,
    /// The AES-CTR counter block, unpadded base64.
    pub iv: String,
    /// Hashes of the ciphertext by algorithm (`sha256`), unpadded base64.
    pub hashes: BTreeMap<String, String>,
    /// The encryption scheme's version (`v2`).
    pub v: String,
}

/// The key of an [`EncryptedFile`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct JsonWebKey {
    /// Key type (`oct`).
    pub kty: String,
    /// Permitted operations (`encrypt`, `decrypt`).
    pub key_ops: Vec<String>,
    /// Algorithm (`A256CTR`).
    pub alg: String,
    /// The key itself, unpadded url-safe base64.
    pub k: String,
    /// Extractable; always true.
    pub ext: bool,
}

/// The key stays out of logs: whoever holds an event's `Debug` output
/// should not be able to decrypt its attachment.
impl std::fmt::Debug for JsonWebKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonWebKey")
            .field("kty", &self.kty)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .field("k", &"<redacted>")
            .field("ext", &self.ext)
            .finish()
    }
}

/// A media file's `info`: every field optional, and one that does not fit
/// reads as absent rather than failing the event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MediaInfo {
    /// The file's MIME type.
    #[serde(default, deserialize_with = "or_none")]
    pub mimetype: Option<String>,
    /// The size in bytes.
    #[serde(default, deserialize_with = "or_none")]
    pub size: Option<u64>,
    /// Width in pixels (images, videos).
    #[serde(default, deserialize_with = "or_none")]
    pub w: Option<u64>,
    /// Height in pixels (images, videos).
    #[serde(default, deserialize_with = "or_none")]
    pub h: Option<u64>,
    /// Duration in milliseconds (audio, video).
    #[serde(default, deserialize_with = "or_none")]
    pub duration: Option<u64>,
    /// Whether an image is animated, when the sender knows.
    #[serde(default, deserialize_with = "or_none")]
    pub is_animated: Option<bool>,
    /// An unencrypted thumbnail's `mxc://` URI.
    #[serde(default, deserialize_with = "or_none")]
    pub thumbnail_url: Option<String>,
    /// An encrypted thumbnail.
    #[serde(default, deserialize_with = "or_none")]
    pub thumbnail_file: Option<Box<EncryptedFile>>,
    /// What the thumbnail is.
    #[serde(default, deserialize_with = "or_none")]
    pub thumbnail_info: Option<ThumbnailInfo>,
}

impl MediaInfo {
    /// The thumbnail's source, if there is one (encrypted preferred, as a
    /// client in an encrypted room sends both only by mistake).
    pub fn thumbnail_source(&self) -> Option<MediaSource> {
        match (&self.thumbnail_file, &self.thumbnail_url) {
            (Some(file), _) => Some(MediaSource::Encrypted(file.clone())),
            (None, Some(url)) => Some(MediaSource::Plain(url.clone())),
            (None, None) => None,
        }
    }
}

/// A thumbnail's `thumbnail_info`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ThumbnailInfo {
    /// The thumbnail's MIME type.
    #[serde(default, deserialize_with = "or_none")]
    pub mimetype: Option<String>,
    /// The size in bytes.
    #[serde(default, deserialize_with = "or_none")]
    pub size: Option<u64>,
    /// Width in pixels.
    #[serde(default, deserialize_with = "or_none")]
    pub w: Option<u64>,
    /// Height in pixels.
    #[serde(default, deserialize_with = "or_none")]
    pub h: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file() -> serde_json::Value {
        json!({"url": "mxc://x/enc", "iv": "iv", "v": "v2", "hashes": {"sha256": "h"},
               "key": {"kty": "oct", "key_ops": ["encrypt", "decrypt"], "alg": "A256CTR",
                       "k": "secretkey", "ext": true}})
    }

    #[test]
    fn an_encrypted_file_decodes_and_its_key_is_not_logged() {
        let f: EncryptedFile = serde_json::from_value(file()).unwrap();
        assert_eq!(f.key.k, "secretkey");
        assert_eq!(f.hashes["sha256"], "h");
        assert!(!format!("{f:?}").contains("secretkey"));
    }

    #[test]
    fn odd_info_fields_read_as_absent() {
        let info: MediaInfo = serde_json::from_value(json!({
            "w": 1920.5, "h": "tall", "size": 10, "mimetype": "image/png",
            "thumbnail_info": {"w": 3}, "thumbnail_file": {"url": 1}
        }))
        .unwrap();
        assert_eq!((info.w, info.h, info.size), (None, None, Some(10)));
        assert_eq!(info.thumbnail_info.and_then(|t| t.w), Some(3));
        assert_eq!(info.thumbnail_file, None);
    }

    #[test]
    fn the_thumbnail_source_prefers_the_encrypted_file() {
        let info: MediaInfo = serde_json::from_value(json!({
            "thumbnail_url": "mxc://x/plain", "thumbnail_file": file()
        }))
        .unwrap();
        assert_eq!(
            info.thumbnail_source()
                .map(|s| s.mxc_uri().to_owned())
                .as_deref(),
            Some("mxc://x/enc")
        );
    }
}

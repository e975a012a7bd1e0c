//! `m.room.message`: the body every client can show, and what kind of
//! message it is.

use serde::Deserialize;
use serde_json::Value;

use super::content::decode;
use super::lenient::or_none;
use super::{ContentError, EncryptedFile, EventContent, MediaInfo, MediaSource};

const EVENT_TYPE: &str = "m.room.message";

/// The content of an `m.room.message` event.
///
/// `body` is required of every message whatever its kind: it is the
/// fallback a client shows for a kind it does not know.
///
/// ```
/// use quotient_client::events::{EventContent, MessageContent, MessageKind};
/// let content = serde_json::json!({"msgtype": "m.image", "body": "cat.png",
///                                  "url": "mxc://example.org/cat"});
/// let message = MessageContent::from_content(&content).unwrap();
/// let MessageKind::Image(image) = &message.kind else { panic!() };
/// assert_eq!(image.source.mxc_uri(), "mxc://example.org/cat");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageContent {
    /// The plain-text body (for media, the file name or a caption).
    pub body: String,
    /// The kind (`msgtype`) and what it adds.
    pub kind: MessageKind,
}

/// What kind of message it is (`msgtype`) and the fields that kind adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// `m.text`.
    Text(Formatted),
    /// `m.notice`: sent by bots; clients do not answer it automatically.
    Notice(Formatted),
    /// `m.emote`: an action, shown as "* Alice waves".
    Emote(Formatted),
    /// `m.image`.
    Image(Media),
    /// `m.file`.
    File(Media),
    /// `m.audio`.
    Audio(Media),
    /// `m.video`.
    Video(Media),
    /// `m.location`.
    Location(Location),
    /// Any other `msgtype` (`m.server_notice`, a custom one): the body is
    /// what to show, the raw JSON has the rest.
    Other {
        /// The `msgtype` as sent.
        msgtype: String,
    },
}

impl MessageKind {
    /// The `msgtype` keyword.
    pub fn msgtype(&self) -> &str {
        match self {
            MessageKind::Text(_) => "m.text",
            MessageKind::Notice(_) => "m.notice",
            MessageKind::Emote(_) => "m.emote",
            MessageKind::Image(_) => "m.image",
            MessageKind::File(_) => "m.file",
            MessageKind::Audio(_) => "m.audio",
            MessageKind::Video(_) => "m.video",
            MessageKind::Location(_) => "m.location",
            MessageKind::Other { msgtype } => msgtype,
        }
    }
}

/// A formatted version of the body (`format` and `formatted_body`), which
/// a client may show instead of `body`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Formatted {
    /// The format; the spec defines `org.matrix.custom.html`.
    #[serde(default, deserialize_with = "or_none")]
    pub format: Option<String>,
    /// The body in that format.
    #[serde(default, deserialize_with = "or_none")]
    pub formatted_body: Option<String>,
}

impl Formatted {
    /// The HTML body, when the format is the spec's HTML subset.
    pub fn html(&self) -> Option<&str> {
        match self.format.as_deref() {
            Some("org.matrix.custom.html") => self.formatted_body.as_deref(),
            _ => None,
        }
    }
}

/// An image, file, audio clip or video.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// Where to download it.
    pub source: MediaSource,
    /// What it is, when the sender said.
    pub info: Option<MediaInfo>,
    /// The original file name; when present, `body` is a caption.
    pub filename: Option<String>,
    /// A formatted caption.
    pub caption: Formatted,
}

#[derive(Deserialize)]
struct MediaFields {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    file: Option<Box<EncryptedFile>>,
    #[serde(default, deserialize_with = "or_none")]
    info: Option<MediaInfo>,
    #[serde(default, deserialize_with = "or_none")]
    filename: Option<String>,
    #[serde(flatten)]
    caption: Formatted,
}

impl Media {
    fn from_content(content: &Value) -> Result<Media, ContentError> {
        let fields: MediaFields = decode(EVENT_TYPE, content)?;
        // An encrypted room's client sends `file`; `url` beside it would
        // point at the ciphertext too, so `file` is what can be shown.
        let source = match (fields.file, fields.url) {
            (Some(file), _) => MediaSource::Encrypted(file),
            (None, Some(url)) => MediaSource::Plain(url),
            (None, None) => {
                return Err(ContentError::new(
                    EVENT_TYPE,
                    "media without `url` or `file`",
                ))
            }
        };
        Ok(Media {
            source,
            info: fields.info,
            filename: fields.filename,
            caption: fields.caption,
        })
    }
}

/// A location (`m.location`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Location {
    /// The place as a `geo:` URI (RFC 5870).
    pub geo_uri: String,
    /// A thumbnail of the place, when the sender made one.
    #[serde(default, deserialize_with = "or_none")]
    pub info: Option<MediaInfo>,
}

#[derive(Deserialize)]
struct Head {
    msgtype: String,
    body: String,
}

impl EventContent for MessageContent {
    const EVENT_TYPE: &'static str = EVENT_TYPE;

    fn from_content(content: &Value) -> Result<Self, ContentError> {
        let Head { msgtype, body } = decode(EVENT_TYPE, content)?;
        let kind = match msgtype.as_str() {
            "m.text" => MessageKind::Text(decode(EVENT_TYPE, content)?),
            "m.notice" => MessageKind::Notice(decode(EVENT_TYPE, content)?),
            "m.emote" => MessageKind::Emote(decode(EVENT_TYPE, content)?),
            "m.image" => MessageKind::Image(Media::from_content(content)?),
            "m.file" => MessageKind::File(Media::from_content(content)?),
            "m.audio" => MessageKind::Audio(Media::from_content(content)?),
            "m.video" => MessageKind::Video(Media::from_content(content)?),
            "m.location" => MessageKind::Location(decode(EVENT_TYPE, content)?),
            _ => MessageKind::Other { msgtype },
        };
        Ok(MessageContent { body, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(content: Value) -> Result<MessageContent, ContentError> {
        MessageContent::from_content(&content)
    }

    #[test]
    fn text_notice_and_emote_keep_their_format() {
        for (msgtype, pick) in [
            (
                "m.text",
                (|k| matches!(k, MessageKind::Text(_))) as fn(&MessageKind) -> bool,
            ),
            ("m.notice", |k| matches!(k, MessageKind::Notice(_))),
            ("m.emote", |k| matches!(k, MessageKind::Emote(_))),
        ] {
            let m = decode(json!({"msgtype": msgtype, "body": "*hi*",
                "format": "org.matrix.custom.html", "formatted_body": "<em>hi</em>"}))
            .unwrap();
            assert!(pick(&m.kind), "{msgtype}");
            assert_eq!(m.kind.msgtype(), msgtype);
            let (MessageKind::Text(f) | MessageKind::Notice(f) | MessageKind::Emote(f)) = &m.kind
            else {
                unreachable!()
            };
            assert_eq!(f.html(), Some("<em>hi</em>"));
        }
    }

    #[test]
    fn plain_text_has_no_html() {
        let m = decode(json!({"msgtype": "m.text", "body": "hi"})).unwrap();
        assert_eq!(m.kind, MessageKind::Text(Formatted::default()));
    }

    #[test]
    fn media_from_a_url_or_an_encrypted_file() {
        let plain = decode(
            json!({"msgtype": "m.file", "body": "a.doc", "filename": "a.doc",
            "url": "mxc://x/a", "info": {"size": 5, "mimetype": "application/msword"}}),
        )
        .unwrap();
        let MessageKind::File(file) = plain.kind else {
            panic!("{plain:?}")
        };
        assert_eq!(file.source, MediaSource::Plain("mxc://x/a".into()));
        assert_eq!(file.filename.as_deref(), Some("a.doc"));
        assert_eq!(file.info.and_then(|i| i.size), Some(5));

        let encrypted = decode(json!({"msgtype": "m.video", "body": "v.mp4", "file": {
            "url": "mxc://x/v", "iv": "i", "v": "v2", "hashes": {"sha256": "h"},
            "key": {"kty": "oct", "key_ops": ["decrypt"], "alg": "A256CTR", "k": "k", "ext": true}
        }}))
        .unwrap();
        let MessageKind::Video(video) = encrypted.kind else {
            panic!()
        };
        assert!(matches!(video.source, MediaSource::Encrypted(_)));
        assert_eq!(video.source.mxc_uri(), "mxc://x/v");
    }

    #[test]
    fn media_without_a_source_is_an_error() {
        let err = decode(json!({"msgtype": "m.image", "body": "x"})).unwrap_err();
        assert!(err.reason.contains("url"), "{err}");
    }

    #[test]
    fn a_media_caption_is_kept() {
        let m = decode(
            json!({"msgtype": "m.audio", "body": "listen", "filename": "a.ogg",
            "url": "mxc://x/a", "format": "org.matrix.custom.html",
            "formatted_body": "<b>listen</b>"}),
        )
        .unwrap();
        let MessageKind::Audio(audio) = m.kind else {
            panic!()
        };
        assert_eq!(audio.caption.html(), Some("<b>listen</b>"));
    }

    #[test]
    fn a_location() {
        let m = decode(json!({"msgtype": "m.location", "body": "Big Ben",
            "geo_uri": "geo:51.5008,0.1247"}))
        .unwrap();
        let MessageKind::Location(loc) = m.kind else {
            panic!()
        };
        assert_eq!(loc.geo_uri, "geo:51.5008,0.1247");
    }

    #[test]
    fn an_unknown_msgtype_keeps_its_body() {
        let m = decode(json!({"msgtype": "org.example.poll", "body": "Vote!"})).unwrap();
        assert_eq!(m.body, "Vote!");
        assert_eq!(m.kind.msgtype(), "org.example.poll");
    }

    #[test]
    fn a_message_without_body_or_msgtype_is_an_error() {
        assert!(decode(json!({"msgtype": "m.text"})).is_err());
        assert!(decode(json!({"body": "x"})).is_err());
        assert!(decode(json!({"msgtype": "m.text", "body": 5})).is_err());
        assert!(decode(json!({"msgtype": "m.location", "body": "x"})).is_err());
    }
}

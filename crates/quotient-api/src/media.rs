//! Bytes answered by the content repository.

use crate::{DecodeError, IncomingResponse, ResponseParts};

/// A media download: the bytes with their content type and disposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// `Content-Type` of the answer.
    pub content_type: Option<String>,
    /// `Content-Disposition` of the answer (file name, inline/attachment).
    pub content_disposition: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

impl IncomingResponse for Media {
    fn decode(parts: &ResponseParts<'_>) -> Result<Self, DecodeError> {
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Self {
            content_type: header(http::header::CONTENT_TYPE),
            content_disposition: header(http::header::CONTENT_DISPOSITION),
            data: parts.body.to_vec(),
        })
    }
}

/// A response that is not decoded at all: for calls whose shape is not
/// known ahead (`quotient api`). The bytes are in the job's `Response`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unparsed;

impl IncomingResponse for Unparsed {
    fn decode(_: &ResponseParts<'_>) -> Result<Self, DecodeError> {
        Ok(Self)
    }
}

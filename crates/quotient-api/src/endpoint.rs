//! What one Client-Server API operation is, independent of any transport.

use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};
use zeroize::Zeroizing;

/// An HTTP method used by the Client-Server API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`
    Get,
    /// `PUT`
    Put,
    /// `POST`
    Post,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }

    /// Whether HTTP defines the method as idempotent (RFC 9110 §9.2.2):
    /// sending it twice has the effect of sending it once.
    pub const fn is_idempotent(self) -> bool {
        !matches!(self, Self::Post)
    }
}

/// Whether an operation needs an access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthRequirement {
    /// The request fails without a token; the library refuses to send it.
    Required,
    /// A token is sent when the client has one.
    Optional,
    /// No token is ever sent.
    None,
}

/// Compile-time facts about an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The spec's `operationId`, e.g. `generateLoginToken`.
    pub operation_id: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The full path template, e.g. `/_matrix/client/v3/rooms/{roomId}/join`.
    pub path: &'static str,
    /// Whether an access token is needed.
    pub auth: AuthRequirement,
    /// Whether the spec says the server may answer 429.
    pub rate_limited: bool,
    /// The spec version that added the operation (`"1.7"`), when recorded.
    pub added_in: Option<&'static str>,
    /// Whether the spec deprecates the operation.
    pub deprecated: bool,
    /// Whether resending a request that may have reached the server is
    /// harmless. See [`Metadata::idempotent_by_method`].
    pub idempotent: bool,
    /// Content types a successful response may have.
    pub response_content_types: &'static [&'static str],
    /// Whether a redirect answer is followed: the spec gives the operation
    /// a 3xx answer (media downloads and thumbnails, which may send the
    /// client to another host), or it is the client `.well-known`, whose
    /// redirects HTTP and spec v1.20 allow. See
    /// [`follows_redirects`](Self::follows_redirects).
    pub follows_redirects: bool,
    /// The query parameter that carries the operation's server-side wait
    /// in milliseconds (`timeout` of `/sync`, `timeout_ms` of media
    /// downloads), if it has one.
    pub server_wait_param: Option<&'static str>,
}

impl Metadata {
    /// The default idempotency: true for GET/PUT/DELETE, false for POST.
    /// A POST endpoint that is safe to repeat declares `idempotent: true`.
    pub const fn idempotent_by_method(method: Method) -> bool {
        method.is_idempotent()
    }

    /// Whether a redirect answer to this operation is followed. Only GETs
    /// the spec lets redirect: media downloads and thumbnails, and the
    /// client `.well-known`. Everywhere else a redirect could carry the
    /// request (and its token) somewhere unintended, so the 3xx is the
    /// answer.
    ///
    /// ```
    /// use quotient_api::find_operation;
    /// use quotient_api::Method::Get;
    /// let media = find_operation(Get, "/_matrix/client/v1/media/download/example.org/abc").unwrap();
    /// assert!(media.follows_redirects());
    /// let profile = find_operation(Get, "/_matrix/client/v3/profile/@a:x").unwrap();
    /// assert!(!profile.follows_redirects());
    /// ```
    pub fn follows_redirects(&self) -> bool {
        self.method == Method::Get && self.follows_redirects
    }

    /// Checks that `path_and_query`, built for this operation, names the
    /// resource its template says: no path parameter is `.` or `..`, and
    /// none but the last is empty. The engine checks every request with
    /// this before sending; a generated `build()` may call it too.
    ///
    /// ```
    /// use quotient_api::find_operation;
    /// use quotient_api::Method::Get;
    /// let op = find_operation(Get, "/_matrix/client/v3/profile/x").unwrap();
    /// assert!(op.check_path("/_matrix/client/v3/profile/%40a%3Ax").is_ok());
    /// assert!(op.check_path("/_matrix/client/v3/profile/..").is_err());
    /// ```
    pub fn check_path(&self, path_and_query: &str) -> Result<(), BuildError> {
        crate::path::check_path(self.path, path_and_query)
    }

    /// The query parameter that carries the operation's server-side wait
    /// in milliseconds (`timeout` of `/sync`, `timeout_ms` of media
    /// downloads), for requests known only as a path and query (see
    /// [`server_wait_in`](Self::server_wait_in)). Typed requests have
    /// [`Endpoint::server_wait`].
    pub fn server_wait_parameter(&self) -> Option<&'static str> {
        self.server_wait_param
    }

    /// The server-side wait a built request asks for, read from its query
    /// (see [`server_wait_parameter`](Self::server_wait_parameter)); a
    /// negative value is no wait, one that is not a number is ignored.
    ///
    /// ```
    /// use std::time::Duration;
    /// use quotient_api::find_operation;
    /// use quotient_api::Method::Get;
    /// let sync = find_operation(Get, "/_matrix/client/v3/sync").unwrap();
    /// let wait = sync.server_wait_in("/_matrix/client/v3/sync?since=s1&timeout=31000");
    /// assert_eq!(wait, Some(Duration::from_secs(31)));
    /// ```
    pub fn server_wait_in(&self, path_and_query: &str) -> Option<Duration> {
        let name = self.server_wait_parameter()?;
        let (_, query) = path_and_query.split_once('?')?;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| value.parse::<i64>().ok())
            .map(|ms| Duration::from_millis(ms.max(0) as u64))
    }
}

/// The body of an outgoing request.
///
/// JSON bodies may carry secrets (passwords, UIA `auth`), so their bytes
/// are zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// No body.
    Empty,
    /// `application/json` bytes.
    Json(Zeroizing<Vec<u8>>),
    /// Raw bytes with their content type (media uploads).
    ///
    /// [`bytes::Bytes`] so that every attempt (and every retry) sends the
    /// same buffer without copying it: cloning is a reference count, and
    /// the transport slices it into the upload stream.
    Bytes {
        /// The `Content-Type` to send.
        content_type: String,
        /// The bytes.
        data: bytes::Bytes,
    },
}

impl RequestBody {
    /// Serialises `value` as a JSON body.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, BuildError> {
        serde_json::to_vec(value)
            .map(|bytes| Self::Json(Zeroizing::new(bytes)))
            .map_err(|e| BuildError::Body(e.to_string()))
    }

    /// The body's bytes (empty for [`RequestBody::Empty`]).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Empty => &[],
            Self::Json(bytes) => bytes,
            Self::Bytes { data, .. } => data,
        }
    }

    /// The content type to announce, if there is a body.
    pub fn content_type(&self) -> Option<&str> {
        match self {
            Self::Empty => None,
            Self::Json(_) => Some("application/json"),
            Self::Bytes { content_type, .. } => Some(content_type),
        }
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Json(bytes) => write!(f, "Json({} bytes)", bytes.len()),
            Self::Bytes { content_type, data } => {
                write!(f, "Bytes({content_type}, {} bytes)", data.len())
            }
        }
    }
}

/// A request built from an endpoint value: everything but the host and
/// the access token, which belong to the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// Path with every parameter percent-encoded, plus the query string.
    pub path_and_query: String,
    /// Extra headers (e.g. `Content-Type` of a media upload is in the body;
    /// these are header *parameters* of the operation).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: RequestBody,
}

/// A response as the transport received it, for decoding.
#[derive(Clone, Copy, Debug)]
pub struct ResponseParts<'a> {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: &'a http::HeaderMap,
    /// The whole body.
    pub body: &'a [u8],
}

impl ResponseParts<'_> {
    /// The `Content-Type` header, if it is valid text.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }
}

/// A response type that can be decoded from a successful answer.
pub trait IncomingResponse: Sized {
    /// Decodes the response; a missing required field or a wrong type is a
    /// [`DecodeError`].
    fn decode(parts: &ResponseParts<'_>) -> Result<Self, DecodeError>;
}

/// Decodes a JSON body into `T`; the usual [`IncomingResponse::decode`].
pub fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(body).map_err(|e| DecodeError(e.to_string()))
}

/// One operation of the Client-Server API.
///
/// Generated request types implement this; building is a pure function, so
/// every retry of a job sends the very same bytes.
pub trait Endpoint {
    /// Facts about the operation.
    const METADATA: Metadata;
    /// What a successful answer decodes into.
    type Response: IncomingResponse;

    /// Builds method, path and query, headers and body.
    fn build(&self) -> Result<HttpRequest, BuildError>;

    /// How long the server may hold the request before answering (the
    /// `timeout` query parameter of long-polls such as `/sync`), so the
    /// client's own timeout can leave room for it.
    fn server_wait(&self) -> Option<Duration> {
        None
    }
}

/// An operation that takes User-Interactive Authentication: its body has
/// an `auth` property. The generator implements this for every such
/// operation (`register`, `deleteDevice`, `generateLoginToken`, …), so one
/// UIA driver serves them all.
pub trait UiaEndpoint: Endpoint + Clone {
    /// Sets (or clears) the `auth` object sent with the request.
    fn set_auth(&mut self, auth: Option<crate::AuthData>);
}

/// A request could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The body could not be serialised.
    #[error("cannot serialise the request body: {0}")]
    Body(String),
    /// A parameter's value is not allowed.
    #[error("invalid parameter `{name}`: {reason}")]
    Parameter {
        /// The parameter's name.
        name: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The built path would not name the operation's resource (a path
    /// parameter of `.`, `..` or an empty one inside the path).
    #[error("invalid path: {0}")]
    Path(String),
}

/// A successful answer could not be decoded into the response type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_follows_the_method() {
        assert!(Metadata::idempotent_by_method(Method::Get));
        assert!(Metadata::idempotent_by_method(Method::Put));
        assert!(Metadata::idempotent_by_method(Method::Delete));
        assert!(!Metadata::idempotent_by_method(Method::Post));
    }

    #[test]
    fn json_body_debug_does_not_show_contents() {
        let body = RequestBody::json(&serde_json::json!({"password": "hunter2"})).unwrap();
        assert!(!format!("{body:?}").contains("hunter2"));
        assert_eq!(body.content_type(), Some("application/json"));
    }
}

//! The Matrix Client-Server API, described without doing any I/O.
//!
//! This crate says *what* a request is — method, path, auth, rate limits,
//! body — and *how* to read what comes back; the `quotient` crate sends it.
//! Nothing here depends on an async runtime or an HTTP client, so it can be
//! used (and fuzzed) on its own.
//!
//! ```
//! use quotient_api::{Endpoint, encode_path_segment};
//! assert_eq!(encode_path_segment("@me:example.org"), "%40me%3Aexample.org");
//! ```

#![warn(missing_docs)]

mod auth_data;
mod endpoint;
mod error_body;
pub mod generated;
mod ids;
#[doc(hidden)]
pub mod lenient;
mod lenient_event;
mod media;
#[doc(hidden)]
pub mod nullable;
mod path;
mod redact;
mod secret;
mod string_enum;
mod uia;
pub mod unstable;

pub use auth_data::AuthData;
/// The buffer type of media upload bodies (re-exported so callers need not
/// depend on `bytes` to build one).
pub use bytes::Bytes;
pub use endpoint::{
    decode_json, AuthRequirement, BuildError, DecodeError, Endpoint, HttpRequest, IncomingResponse,
    Metadata, Method, RequestBody, ResponseParts, UiaEndpoint,
};
pub use error_body::{ErrorBody, ErrorCode};
pub use generated::OPERATIONS;
pub use ids::{EventId, IdError, MxcUri, RoomAliasId, RoomId, RoomOrAliasId, ServerName, UserId};
pub use lenient_event::{strict_events, Lenient};
pub use media::{Media, Unparsed};
pub use path::{encode_path_segment, QueryBuilder, QueryValue};
pub use redact::{is_secret_key, redacted_sample};
pub use secret::SecretString;

/// The operation whose path template matches `path` (without query) for
/// `method`, if any: `{param}` matches exactly one non-empty segment.
///
/// ```
/// use quotient_api::{find_operation, Method};
/// let op = find_operation(Method::Get, "/_matrix/client/v3/profile/@a:x").unwrap();
/// assert_eq!(op.operation_id, "getUserProfile");
/// ```
pub fn find_operation(method: Method, path: &str) -> Option<&'static Metadata> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    OPERATIONS.iter().find(|op| {
        let template: Vec<&str> = op.path.split('/').collect();
        op.method == method
            && template.len() == segments.len()
            && template.iter().zip(&segments).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    !s.is_empty()
                } else {
                    t == s
                }
            })
    })
}
#[doc(hidden)]
pub use string_enum::json_query_text;
pub use string_enum::JsonObject;
pub use uia::{AuthFlow, UiaChallenge};

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

mod endpoint;
mod error_body;
mod path;
mod redact;
mod secret;
mod uia;

pub use endpoint::{
    decode_json, AuthRequirement, BuildError, DecodeError, Endpoint, HttpRequest, IncomingResponse,
    Metadata, Method, RequestBody, ResponseParts,
};
pub use error_body::{ErrorBody, ErrorCode};
pub use path::{encode_path_segment, QueryBuilder, QueryValue};
pub use redact::{is_secret_key, redacted_sample};
pub use secret::SecretString;
pub use uia::{AuthFlow, UiaChallenge};

//! Build Matrix clients, bots and tools in async Rust.
//!
//! Every Client-Server API call is a [`Job`]: submitted to a
//! [`Connection`], it runs attempts with libQuotient's status model,
//! honest retries (never resending a POST whose answer was lost), per-endpoint
//! rate-limit pauses that honour `Retry-After`, timeouts that leave room for
//! long-polls, cancellation and a stream of [`JobEvent`]s.
//!
//! ```no_run
//! use quotient::{Connection, StatusCode};
//! # use quotient_api::{Endpoint, Metadata, Method, AuthRequirement, HttpRequest,
//! #     RequestBody, BuildError, IncomingResponse, ResponseParts, DecodeError, decode_json};
//! # #[derive(serde::Deserialize)] struct Versions { versions: Vec<String> }
//! # impl IncomingResponse for Versions {
//! #     fn decode(p: &ResponseParts<'_>) -> Result<Self, DecodeError> { decode_json(p.body) }
//! # }
//! # struct GetVersions;
//! # impl Endpoint for GetVersions {
//! #     const METADATA: Metadata = Metadata { operation_id: "getVersions", method: Method::Get,
//! #         path: "/_matrix/client/versions", auth: AuthRequirement::Optional, rate_limited: false,
//! #         added_in: None, deprecated: false, idempotent: true,
//! #         response_content_types: &["application/json"],
//! #         follows_redirects: false, server_wait_param: None };
//! #     type Response = Versions;
//! #     fn build(&self) -> Result<HttpRequest, BuildError> {
//! #         Ok(HttpRequest { method: Method::Get, path_and_query: Self::METADATA.path.into(),
//! #             headers: vec![], body: RequestBody::Empty })
//! #     }
//! # }
//! # async fn demo() -> Result<(), quotient::Error> {
//! let conn = Connection::builder("https://matrix.example.org".parse().unwrap()).build()?;
//! let job = conn.submit(GetVersions); // returns at once; the job runs
//! let mut events = job.events(); // AboutToSend, Sent, …, Finished
//! let versions = job.await?;
//! assert_eq!(events.next().await, Some(quotient::JobEvent::StatusChanged { status: StatusCode::Pending }));
//! println!("{:?}", versions.versions);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod auth;
mod connection;
pub mod jobs;
pub mod server;
mod session;
pub mod store;

pub use auth::{
    Device, LoginOptions, LoginToken, LoginTokenOptions, LoginTokenUri, PasswordHandler,
    SessionUpdate, SsoLogin, SsoOptions, UiaAnswer, UiaHandler, UiaStep, DEFAULT_SSO_TIMEOUT,
    LOGIN_TOKEN_URI_SCHEME,
};
pub use connection::{
    Connection, ConnectionBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONCURRENT_JOBS,
};
pub use jobs::{
    BackoffStrategy, Error, Job, JobEvent, JobEvents, JobOptions, Priority, RateLimitPolicy,
    Response, StatusCode,
};
pub use quotient_api as api;
pub use quotient_api::SecretString;
pub use session::Session;

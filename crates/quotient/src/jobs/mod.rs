//! The job engine: every API call is a job with a status, retries,
//! rate-limit handling, timeouts, events and cancellation.
//!
//! The contract (classification table, default strategy, event order) is
//! written down in `docs/jobs.md`.

mod abandon;
mod answer;
pub(crate) mod bearer;
mod classify;
mod clock;
mod error;
mod events;
pub(crate) mod gate;
mod handle;
mod outcome;
pub(crate) mod pauses;
mod policy;
mod queue;
mod redirect;
pub(crate) mod retry_after;
pub(crate) mod runner;
mod shared;
mod sink;
mod status;
mod transport;

pub use error::Error;
pub use events::{JobEvent, JobEvents};
pub use handle::{Job, Response};
pub use policy::{BackoffStrategy, JobOptions, Priority, RateLimitPolicy, DEFAULT_MAX_BODY_SIZE};
pub(crate) use shared::{EventSink, JobShared};
pub(crate) use sink::SinkSlot;
pub use sink::{BodySink, SinkFuture};
pub use status::StatusCode;

/// Pure pieces of the engine, public for fuzzing and property tests.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::answer::error_from_answer;
    pub use super::retry_after::parse_retry_after;
}

//! The caller's side of a job: await it, watch it, abandon it.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;

use super::events::JobEvents;
use super::runner::lost_job;
use super::shared::JobShared;
use super::{Error, StatusCode};

/// A running (or finished) job, returned at once by
/// [`Connection::submit`](crate::Connection::submit).
///
/// Await it for the outcome. While it runs, [`status`](Self::status),
/// [`attempt`](Self::attempt) and [`events`](Self::events) tell what it is
/// doing, and [`abandon`](Self::abandon) stops it.
///
/// Dropping the handle does **not** cancel the job (as with
/// `tokio::task::JoinHandle`): a request that is on its way finishes, so
/// a dropped handle never leaves a server-side action half-known. Call
/// `abandon()` to stop it.
#[must_use = "a job does nothing useful unless its result is awaited or its events are watched"]
pub struct Job<T> {
    shared: Arc<JobShared<T>>,
    operation_id: &'static str,
}

impl<T> Job<T> {
    pub(crate) fn new(shared: Arc<JobShared<T>>, operation_id: &'static str) -> Self {
        Self {
            shared,
            operation_id,
        }
    }

    /// The operation this job performs (its spec `operationId`).
    pub fn operation_id(&self) -> &'static str {
        self.operation_id
    }

    /// The current status: `Pending` while running, the final one after.
    pub fn status(&self) -> StatusCode {
        self.shared.snapshot().status
    }

    /// The number of the current (or last) attempt, from 1; 0 before the
    /// first attempt.
    pub fn attempt(&self) -> u32 {
        self.shared.snapshot().attempt
    }

    /// Whether the job has finished.
    pub fn is_finished(&self) -> bool {
        self.shared.snapshot().finished
    }

    /// Stops the job as soon as possible, whatever it is doing: in flight,
    /// waiting to retry, waiting for a rate limit or a connection slot.
    /// The job then resolves to an `Abandoned` error, unless it had already
    /// finished. Calling it again does nothing.
    pub fn abandon(&self) {
        self.shared.abandon();
    }
}

impl<T: Send + 'static> Job<T> {
    /// All of the job's events, from the start, ending after `Finished`.
    pub fn events(&self) -> JobEvents {
        JobEvents::new(self.shared.clone())
    }
}

impl<T> Future for Job<T> {
    type Output = Result<Response<T>, Error>;

    /// Polling after the result was returned gives a `NetworkError` (as a
    /// lost job would), never a panic.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.shared
            .poll_result(cx)
            .map(|r| r.unwrap_or_else(|| Err(lost_job())))
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        self.shared.drop_handle();
    }
}

impl<T> std::fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let now = self.shared.snapshot();
        f.debug_struct("Job")
            .field("operation_id", &self.operation_id)
            .field("status", &now.status)
            .field("attempt", &now.attempt)
            .finish()
    }
}

/// A successful answer: the typed value, plus the raw body and headers.
///
/// It dereferences to the typed value.
#[derive(Debug, Clone)]
pub struct Response<T> {
    value: T,
    http_status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl<T> Response<T> {
    pub(crate) fn new(value: T, http_status: u16, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            value,
            http_status,
            headers,
            body,
        }
    }

    /// The typed response.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The typed response, consuming the wrapper.
    pub fn into_value(self) -> T {
        self.value
    }

    /// The HTTP status of the answer (200, 201, …).
    pub fn http_status(&self) -> u16 {
        self.http_status
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body exactly as received.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body parsed as JSON, for fields the typed response lacks.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl<T> Deref for Response<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

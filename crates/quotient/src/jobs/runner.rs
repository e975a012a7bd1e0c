//! The attempt loop: send → classify → decide → report, until one outcome.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use quotient_api::{
    AuthRequirement, ErrorBody, HttpRequest, IncomingResponse, Metadata, ResponseParts,
    SecretString,
};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::classify::classify_failure;
use super::events::{EventSink, JobEvent};
use super::retry_after::parse_retry_after;
use super::transport::{self, AttemptRequest, RawResponse, TransportError};
use super::{Error, JobOptions, Response, StatusCode};
use crate::connection::ConnectionInner;

/// Everything a job needs, fixed when it is submitted.
pub(crate) struct JobSpec {
    pub meta: Metadata,
    pub request: Result<HttpRequest, Error>,
    pub server_wait: Option<Duration>,
    pub options: JobOptions,
}

/// What one attempt leads to.
enum Verdict<R> {
    Done(Result<Response<R>, Error>),
    /// Try again after the back-off wait (or at once).
    Retry {
        error: Error,
        immediate: bool,
    },
    /// Rate-limited; the server's wait when it named one.
    RateLimited {
        error: Error,
        wait: Option<Duration>,
    },
}

pub(crate) async fn run<R: IncomingResponse>(
    conn: Arc<ConnectionInner>,
    mut spec: JobSpec,
    sink: EventSink,
    cancel: watch::Receiver<bool>,
) -> Result<Response<R>, Error> {
    let span = tracing::debug_span!(
        "job",
        op = spec.meta.operation_id,
        method = spec.meta.method.as_str(),
        path = spec.meta.path,
        attempt = tracing::field::Empty,
    );
    let request = std::mem::replace(&mut spec.request, Err(abandoned()));
    let mut runner = Runner {
        conn,
        spec,
        sink,
        cancel,
        span: span.clone(),
    };
    let mut result = runner.run_attempts(request).instrument(span.clone()).await;
    let status = match &mut result {
        Ok(_) => StatusCode::Success,
        Err(e) => {
            e.set_attempts(runner.sink.0.borrow().attempt);
            e.status()
        }
    };
    span.in_scope(|| tracing::debug!(%status, "job finished"));
    runner.sink.finish(status);
    result
}

struct Runner {
    conn: Arc<ConnectionInner>,
    spec: JobSpec,
    sink: EventSink,
    cancel: watch::Receiver<bool>,
    span: tracing::Span,
}

fn abandoned() -> Error {
    Error::new(StatusCode::Abandoned, "the job was abandoned")
}

impl Runner {
    /// Runs `fut` unless the job is abandoned first.
    async fn unless_abandoned<F: Future>(&self, fut: F) -> Result<F::Output, Error> {
        let mut cancel = self.cancel.clone();
        let cancelled = async move {
            // A dropped handle cannot abandon any more: wait forever then.
            if cancel.wait_for(|c| *c).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            biased;
            () = cancelled => Err(abandoned()),
            out = fut => Ok(out),
        }
    }

    async fn sleep_until(&self, until: Instant) -> Result<(), Error> {
        self.unless_abandoned(tokio::time::sleep_until(until)).await
    }

    async fn run_attempts<R: IncomingResponse>(
        &mut self,
        request: Result<HttpRequest, Error>,
    ) -> Result<Response<R>, Error> {
        self.sink.emit(JobEvent::StatusChanged {
            status: StatusCode::Pending,
        });
        if *self.cancel.borrow() {
            return Err(abandoned());
        }
        let request = request?;
        let meta = self.spec.meta;
        let token = self.token_for(&meta)?;
        let url = self.conn.url_for(&request.path_and_query)?;
        let started = Instant::now();
        let deadline = self.spec.options.backoff.deadline.map(|d| started + d);
        let key = (meta.method, meta.path);
        let (mut attempt, mut retries, mut rate_rounds) = (0u32, 0u32, 0u32);
        loop {
            attempt += 1;
            if let Some(until) = self.conn.pauses.paused_until(key) {
                if deadline.is_some_and(|d| until > d) {
                    return Err(Error::new(
                        StatusCode::TooManyRequests,
                        "the endpoint is rate-limited beyond this job's deadline",
                    )
                    .with_retry_after(Some(until - Instant::now())));
                }
                self.sleep_until(until).await?;
            }
            let gate = self.conn.gate.clone();
            let permit = self
                .unless_abandoned(gate.acquire(self.spec.options.priority))
                .await?;
            self.span.record("attempt", attempt);
            self.sink.emit(JobEvent::AboutToSend { attempt });
            let timeout = self.attempt_timeout(retries, deadline);
            if timeout.is_zero() {
                return Err(Error::new(
                    StatusCode::Timeout,
                    "the job's deadline has passed",
                ));
            }
            // Boxed: the transport's state is large, and keeping it out of the
            // job's own future keeps spawning a job cheap.
            let send = Box::pin(transport::send(AttemptRequest {
                client: &self.conn.http,
                url: &url,
                method: meta.method,
                headers: &request.headers,
                token: token.as_ref(),
                body: &request.body,
                max_body_size: self.spec.options.max_body_size,
                events: &self.sink,
                attempt,
            }));
            let outcome = self
                .unless_abandoned(tokio::time::timeout(timeout, send))
                .await?;
            drop(permit);
            let verdict = match outcome {
                Err(_elapsed) => self.transport_failure(
                    Error::new(
                        StatusCode::Timeout,
                        format!("no complete answer within {}", fmt_duration(timeout)),
                    ),
                    true,
                ),
                Ok(Err(e)) => self.transport_error(e),
                Ok(Ok(raw)) => self.interpret::<R>(raw),
            };
            match verdict {
                Verdict::Done(result) => return result,
                Verdict::Retry { error, immediate } => {
                    let backoff = &self.spec.options.backoff;
                    if retries >= backoff.max_retries {
                        return Err(error);
                    }
                    let wait = if immediate {
                        Duration::ZERO
                    } else {
                        backoff.jittered(backoff.retry_wait(retries))
                    };
                    let resume = Instant::now() + wait;
                    if deadline.is_some_and(|d| resume >= d) {
                        return Err(error);
                    }
                    retries += 1;
                    tracing::debug!(status = %error.status(), ?wait, "retry scheduled: {error}");
                    self.sink.emit(JobEvent::RetryScheduled {
                        status: error.status(),
                        next_attempt: attempt + 1,
                        wait,
                    });
                    self.sleep_until(resume).await?;
                }
                Verdict::RateLimited { error, wait } => {
                    rate_rounds += 1;
                    let policy = &self.spec.options.rate_limit;
                    let wait =
                        wait.unwrap_or_else(|| self.spec.options.backoff.retry_wait(retries));
                    let error = error.with_retry_after(Some(wait));
                    if wait > policy.max_wait {
                        let message = format!(
                            "rate-limited: the server asks to wait {}, longer than this job may wait ({})",
                            fmt_duration(wait),
                            fmt_duration(policy.max_wait)
                        );
                        return Err(error.with_status(StatusCode::TooManyRequests, message));
                    }
                    if rate_rounds > policy.max_rounds {
                        let message = format!("rate-limited {rate_rounds} times in a row");
                        return Err(error.with_status(StatusCode::TooManyRequests, message));
                    }
                    let resume = Instant::now() + wait;
                    if deadline.is_some_and(|d| resume >= d) {
                        let message = "rate-limited: the wait would pass the job's deadline";
                        return Err(error.with_status(StatusCode::TooManyRequests, message));
                    }
                    self.conn.pauses.pause(key, resume);
                    tracing::debug!(?wait, "rate-limited");
                    self.sink.emit(JobEvent::RateLimited { wait });
                    self.sleep_until(resume).await?;
                }
            }
        }
    }

    fn token_for(&self, meta: &Metadata) -> Result<Option<SecretString>, Error> {
        let token = match meta.auth {
            AuthRequirement::None => None,
            AuthRequirement::Optional | AuthRequirement::Required => self.conn.access_token(),
        };
        if meta.auth == AuthRequirement::Required && token.is_none() {
            return Err(Error::new(
                StatusCode::Unauthorised,
                format!(
                    "{} needs an access token and the connection has none",
                    meta.operation_id
                ),
            ));
        }
        Ok(token)
    }

    fn attempt_timeout(&self, retries: u32, deadline: Option<Instant>) -> Duration {
        let backoff = &self.spec.options.backoff;
        let mut timeout = backoff.attempt_timeout(retries);
        if let Some(wait) = self.spec.server_wait {
            timeout = timeout.max(wait.saturating_add(backoff.long_poll_margin));
        }
        match deadline {
            Some(d) => timeout.min(d.saturating_duration_since(Instant::now())),
            None => timeout,
        }
    }

    fn transport_error<R>(&self, e: TransportError) -> Verdict<R> {
        let message = e.to_string();
        match e {
            TransportError::NotSent(source) => Verdict::Retry {
                error: Error::new(StatusCode::NetworkError, message).with_source(source),
                immediate: false,
            },
            TransportError::MaybeSent(source) => self.transport_failure(
                Error::new(StatusCode::NetworkError, message).with_source(source),
                false,
            ),
            TransportError::BodyTooLarge { .. } => {
                Verdict::Done(Err(Error::new(StatusCode::IncorrectResponse, message)))
            }
            TransportError::InvalidHeader(_) => {
                Verdict::Done(Err(Error::new(StatusCode::IncorrectRequest, message)))
            }
        }
    }

    /// The request may have reached the server: resend only if that is safe.
    fn transport_failure<R>(&self, error: Error, immediate: bool) -> Verdict<R> {
        if self.spec.meta.idempotent {
            Verdict::Retry { error, immediate }
        } else {
            Verdict::Done(Err(not_resent(error)))
        }
    }

    fn interpret<R: IncomingResponse>(&self, raw: RawResponse) -> Verdict<R> {
        let parts = ResponseParts {
            status: raw.status,
            headers: &raw.headers,
            body: &raw.body,
        };
        if (200..300).contains(&raw.status) {
            return match R::decode(&parts) {
                Ok(value) => {
                    Verdict::Done(Ok(Response::new(value, raw.status, raw.headers, raw.body)))
                }
                Err(e) => {
                    let error = Error::new(
                        StatusCode::IncorrectResponse,
                        format!("the answer does not match the expected response: {e}"),
                    )
                    .with_server_answer(raw.status, None, raw.body.clone());
                    // The server did act on the request; a non-idempotent
                    // one must not run twice just because its answer is odd.
                    if self.spec.meta.idempotent {
                        Verdict::Retry {
                            error,
                            immediate: false,
                        }
                    } else {
                        Verdict::Done(Err(error))
                    }
                }
            };
        }
        let error = error_from_shared_answer(raw.status, &raw.headers, raw.body.clone());
        let status = error.status();
        // A UIA challenge is an expected step, not a failure worth noise.
        tracing::debug!(http_status = raw.status, %status, errcode = ?error.errcode(), uia = error.uia_challenge().is_some(), "server answered with an error");
        match status {
            StatusCode::TooManyRequests => Verdict::RateLimited {
                wait: error.retry_after(),
                error,
            },
            StatusCode::NetworkError => self.transport_failure(error, false),
            _ => Verdict::Done(Err(error)),
        }
    }
}

/// The error for a non-2xx answer: classification (docs/jobs.md), the
/// error body's fields, the UIA challenge, `Retry-After`, a redacted
/// sample. A pure function of the answer, so it can be fuzzed.
pub fn error_from_answer(http_status: u16, headers: &http::HeaderMap, body: &[u8]) -> Error {
    error_from_shared_answer(http_status, headers, bytes::Bytes::copy_from_slice(body))
}

fn error_from_shared_answer(
    http_status: u16,
    headers: &http::HeaderMap,
    body: bytes::Bytes,
) -> Error {
    let parsed = ErrorBody::parse(&body);
    let status = classify_failure(
        http_status,
        parsed.as_ref().and_then(|b| b.errcode.as_ref()),
    );
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    Error::new(status, failure_message(status, http_status))
        .with_retry_after(retry_after)
        .with_server_answer(http_status, parsed.as_ref(), body)
}

fn not_resent(error: Error) -> Error {
    let message = format!(
        "{}; the request may have reached the server and is not resent because it is not idempotent",
        error.message()
    );
    let status = error.status();
    error.with_status(status, message).with_outcome_unknown()
}

fn failure_message(status: StatusCode, http_status: u16) -> String {
    let what = match status {
        StatusCode::Unauthorised => "the server did not accept the credentials",
        StatusCode::ContentAccessError => "the server refused the request",
        StatusCode::NotFound => "the server has no such resource",
        StatusCode::IncorrectRequest => "the server rejected the request as invalid",
        StatusCode::TooManyRequests => "the server is rate-limiting this request",
        StatusCode::RequestNotImplemented => "the server does not implement this request",
        StatusCode::UnsupportedRoomVersion => "the room version is not supported",
        StatusCode::NetworkAuthRequired => "the network requires authentication first",
        StatusCode::UserConsentRequired => "the user has to give consent first",
        StatusCode::CannotLeaveRoom => "this room cannot be left",
        StatusCode::UserDeactivated => "the account is deactivated",
        StatusCode::AccountLocked => "the account is locked",
        StatusCode::NetworkError => "the server failed to handle the request",
        _ => "the server sent an unexpected answer",
    };
    format!("{what} (HTTP {http_status})")
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

/// Used by the handle when a job's result cannot be delivered.
pub(crate) fn lost_job() -> Error {
    Error::new(
        StatusCode::NetworkError,
        "the job's task ended without a result (runtime shut down?)",
    )
}

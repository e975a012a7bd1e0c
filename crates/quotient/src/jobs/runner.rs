//! The attempt loop: send → classify → decide → report, until one outcome.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use quotient_api::{
    AuthRequirement, HttpRequest, IncomingResponse, Metadata, ResponseParts, SecretString,
};
use tokio::time::{Instant, Sleep};
use tracing::Instrument as _;
use url::Url;

pub(crate) use super::abandon::CloseOnDrop;
use super::abandon::UnlessAbandoned;
use super::answer::error_from_shared_answer;
use super::clock::{fmt_duration, later, AttemptClock, Expired};
use super::events::JobEvent;
use super::outcome::{abandoned, abandoned_on_the_wire, not_resent, LostAnswers};
use super::shared::EventSink;
use super::sink::SinkSlot;
use super::transport::{self, AttemptRequest, RawResponse, TransportError};
use super::{Error, JobOptions, Response, StatusCode};
use crate::connection::ConnectionInner;

/// A job ready to run: what was fixed when it was submitted, in one
/// allocation the runner reads from.
pub(crate) struct Prepared {
    pub meta: Metadata,
    pub request: HttpRequest,
    pub url: Url,
    pub token: Option<SecretString>,
    pub server_wait: Option<Duration>,
    /// Shared with the connection's defaults unless the job has its own.
    pub options: Arc<JobOptions>,
    /// Where a 2xx body goes instead of memory (a download to a file).
    pub sink: Option<SinkSlot>,
}

/// Checks what can be checked before anything runs: the request was built,
/// the access token is there if the endpoint needs one, the URL is valid.
/// A job failing here finishes at once, without a task.
pub(crate) fn prepare(
    conn: &ConnectionInner,
    meta: Metadata,
    request: Result<HttpRequest, Error>,
    server_wait: Option<Duration>,
    options: Arc<JobOptions>,
) -> Result<Box<Prepared>, Error> {
    let request = request?;
    meta.check_path(&request.path_and_query).map_err(|e| {
        Error::new(
            StatusCode::IncorrectRequest,
            format!("cannot build the request: {e}"),
        )
    })?;
    let token = match meta.auth {
        AuthRequirement::None => None,
        AuthRequirement::Optional | AuthRequirement::Required => conn.access_token(),
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
    let url = conn.url_for(&request.path_and_query)?;
    Ok(Box::new(Prepared {
        meta,
        request,
        url,
        token,
        server_wait,
        options,
        sink: None,
    }))
}

/// How one attempt on the wire ended.
enum Attempt {
    Answered(Result<RawResponse, TransportError>),
    TimedOut(Expired),
}

/// How long to wait before resending.
#[derive(Clone, Copy)]
enum RetryWait {
    /// The next back-off wait.
    Backoff,
    /// None: a timed-out attempt has waited long enough.
    Immediate,
    /// What the server asked for (`Retry-After` on a 503).
    Server(Duration),
}

/// What one attempt leads to.
enum Verdict<R> {
    Done(Result<Response<R>, Error>),
    /// Try again after a wait.
    Retry {
        error: Error,
        wait: RetryWait,
    },
    /// Rate-limited; the server's wait when it named one.
    RateLimited {
        error: Error,
        wait: Option<Duration>,
    },
    /// The access token expired (401 `M_UNKNOWN_TOKEN`, `soft_logout`):
    /// refresh it and resend. Safe for any request: a 401 is a refusal
    /// before anything took effect.
    Refresh(Error),
}

/// What comes after an attempt that did not end the job.
enum Next {
    /// The next attempt, at this time.
    At(Instant),
    /// The next attempt, with a refreshed access token.
    Refresh(Error),
}

/// Runs a job to its end and hands the outcome to its handle. This is the
/// future that is spawned. It stays small — a queued job is mostly this —
/// because what is large is elsewhere: the job's fixed data in
/// [`Prepared`], and an attempt on the wire or a wait in a box that lives
/// only as long as it does.
pub(crate) async fn run<R: IncomingResponse + Send + 'static>(
    conn: Arc<ConnectionInner>,
    spec: Box<Prepared>,
    job: CloseOnDrop<R>,
) {
    let span = tracing::debug_span!(
        "job",
        op = spec.meta.operation_id,
        method = spec.meta.method.as_str(),
        path = spec.meta.path,
        attempt = tracing::field::Empty,
    );
    let mut runner = Runner {
        conn,
        spec,
        job,
        span,
        lost: LostAnswers::default(),
        refreshed: false,
    };
    let span = runner.span.clone();
    let mut result = runner.run_attempts().instrument(span).await;
    if let Err(e) = result {
        result = Err(runner.lost.honest(runner.spec.meta.method, e));
    }
    let status = match &mut result {
        Ok(_) => StatusCode::Success,
        Err(e) => {
            e.set_attempts(runner.job.snapshot().attempt);
            e.status()
        }
    };
    runner
        .span
        .in_scope(|| tracing::debug!(%status, "job finished"));
    runner.job.finish(status, result);
}

struct Runner<R> {
    conn: Arc<ConnectionInner>,
    spec: Box<Prepared>,
    job: CloseOnDrop<R>,
    span: tracing::Span,
    lost: LostAnswers,
    /// The job refreshed its token once; a second refusal is final.
    refreshed: bool,
}

impl Attempt {
    /// Whether the request may have reached the server and acted without
    /// the answer saying so: a timeout, a connection broken after sending,
    /// or a 5xx (a gateway's 502 or 504 says nothing of what the server
    /// behind it did). 501 is a clear "not done".
    fn lost_answer(&self) -> bool {
        match self {
            Attempt::TimedOut(_) => true,
            Attempt::Answered(Err(TransportError::MaybeSent(_))) => true,
            Attempt::Answered(Ok(raw)) => (500..600).contains(&raw.status) && raw.status != 501,
            Attempt::Answered(Err(_)) => false,
        }
    }
}

impl<R: IncomingResponse + Send + 'static> Runner<R> {
    fn unless_abandoned<F: Future + Unpin>(&self, fut: F) -> UnlessAbandoned<'_, F, R> {
        UnlessAbandoned {
            fut,
            job: &self.job,
        }
    }

    fn sleep_until(&self, until: Instant) -> UnlessAbandoned<'_, Pin<Box<Sleep>>, R> {
        // Boxed: a timer is large, and only retries and rate limits wait.
        self.unless_abandoned(Box::pin(tokio::time::sleep_until(until)))
    }

    async fn run_attempts(&mut self) -> Result<Response<R>, Error> {
        self.job.emit(JobEvent::StatusChanged {
            status: StatusCode::Pending,
        });
        if self.job.is_cancelled() {
            return Err(abandoned());
        }
        let deadline = self
            .spec
            .options
            .backoff
            .deadline
            .and_then(|d| later(Instant::now(), d));
        let (mut attempt, mut retries, mut rate_rounds) = (0u32, 0u32, 0u32);
        loop {
            attempt += 1;
            let key = (self.spec.meta.method, self.spec.meta.path);
            let permit = loop {
                if let Some(until) = self.conn.pauses.paused_until(key) {
                    if deadline.is_some_and(|d| until > d) {
                        return Err(Error::new(
                            StatusCode::TooManyRequests,
                            "the endpoint is rate-limited beyond this job's deadline",
                        )
                        .with_retry_after(Some(until.saturating_duration_since(Instant::now()))));
                    }
                    self.sleep_until(until).await?;
                }
                let permit = self
                    .unless_abandoned(self.conn.gate.acquire(self.spec.options.priority))
                    .await?;
                // While this job queued for a slot, another job on the same
                // endpoint may have been rate-limited: look again.
                if self.conn.pauses.paused_until(key).is_none() {
                    break permit;
                }
            };
            self.span.record("attempt", attempt);
            self.job.emit(JobEvent::AboutToSend { attempt });
            if deadline.is_some_and(|d| d <= Instant::now()) {
                return Err(Error::new(
                    StatusCode::Timeout,
                    "the job's deadline has passed",
                ));
            }
            let outcome = self
                .send(attempt, self.head_timeout(retries), deadline)
                .await
                .map_err(abandoned_on_the_wire)?;
            drop(permit);
            // Decided outside any await, so that a large response type does
            // not make the job's future large while it waits.
            // Matched in place: a named result would keep its storage (as
            // large as the response type) alive across the wait below.
            let next = match self.decide(outcome, attempt, deadline, &mut retries, &mut rate_rounds)
            {
                ControlFlow::Break(result) => return result,
                ControlFlow::Continue(next) => next,
            };
            match next {
                Next::At(resume) => self.sleep_until(resume).await?,
                Next::Refresh(refusal) => self.refresh(refusal, attempt).await?,
            }
        }
    }

    /// Swaps the job's refused token for a refreshed one (one refresh for
    /// all the jobs that were refused at once; docs/login.md). The flight
    /// is boxed: only jobs that meet an expired token need its state.
    async fn refresh(&mut self, refusal: Error, attempt: u32) -> Result<(), Error> {
        self.refreshed = true;
        let Some(failed) = self.spec.token.clone() else {
            return Err(refusal);
        };
        let status = refusal.status();
        let flight = Box::pin(crate::auth::refresh::after_refusal(
            self.conn.clone(),
            failed,
            refusal,
        ));
        let token = self.unless_abandoned(flight).await??;
        self.spec.token = Some(token);
        self.job.emit(JobEvent::RetryScheduled {
            status,
            next_attempt: attempt + 1,
            wait: Duration::ZERO,
        });
        Ok(())
    }

    /// One attempt on the wire, until its answer is complete or its clock
    /// (docs/jobs.md, "Timeouts") runs out.
    async fn send(
        &self,
        attempt: u32,
        head_timeout: Duration,
        deadline: Option<Instant>,
    ) -> Result<Attempt, Error> {
        let spec = &*self.spec;
        let events: Arc<dyn EventSink> = self.job.0.clone();
        let clock = AttemptClock::new(head_timeout, spec.options.backoff.idle_timeout, deadline);
        // Boxed: an attempt's state is large, and keeping it out of the
        // job's own future keeps a queued job small.
        let mut send = Box::pin(transport::send(AttemptRequest {
            client: &self.conn.http,
            url: &spec.url,
            method: spec.meta.method,
            headers: &spec.request.headers,
            token: spec.token.as_ref(),
            body: &spec.request.body,
            max_body_size: spec.options.max_body_size,
            events: &events,
            attempt,
            clock: &clock,
            follow_redirects: spec.meta.follows_redirects(),
            sink: spec.sink.as_ref(),
        }));
        let mut timer = Box::pin(tokio::time::sleep_until(
            clock.expiry().map_or_else(never, |(at, _)| at),
        ));
        let outcome = self
            .unless_abandoned(std::future::poll_fn(|cx| {
                // The answer first: one that is there wins over the timer.
                if let Poll::Ready(answer) = send.as_mut().poll(cx) {
                    return Poll::Ready(Attempt::Answered(answer));
                }
                // A phase change can bring the expiry forward (the head
                // arrived: from the attempt timeout to the shorter idle
                // timeout). Only then is the timer moved here; progress
                // within a phase only moves the expiry later, which the
                // loop below catches when the timer fires.
                if let Some((at, _)) = clock.expiry() {
                    if at < timer.deadline() {
                        timer.as_mut().reset(at);
                    }
                }
                // The timer was set for the expiry as it stood; progress
                // since then may have moved it on.
                loop {
                    std::task::ready!(timer.as_mut().poll(cx));
                    match clock.expiry() {
                        Some((at, why)) if at <= Instant::now() => {
                            return Poll::Ready(Attempt::TimedOut(why))
                        }
                        Some((at, _)) => timer.as_mut().reset(at),
                        None => timer.as_mut().reset(never()),
                    }
                }
            }))
            .await;
        drop(send);
        self.conn.keep_timer(timer);
        outcome
    }

    /// What an attempt's outcome leads to: the job's end, or the time of
    /// the next attempt (after reporting why there is one).
    fn decide(
        &mut self,
        outcome: Attempt,
        attempt: u32,
        deadline: Option<Instant>,
        retries: &mut u32,
        rate_rounds: &mut u32,
    ) -> ControlFlow<Result<Response<R>, Error>, Next> {
        self.lost.record(outcome.lost_answer());
        let verdict = match outcome {
            Attempt::TimedOut(why) => self.transport_failure(
                Error::new(StatusCode::Timeout, why.message()),
                RetryWait::Immediate,
            ),
            Attempt::Answered(Err(e)) => self.transport_error(e),
            Attempt::Answered(Ok(raw)) => self.interpret(raw),
        };
        let options = &self.spec.options;
        match verdict {
            Verdict::Done(result) => ControlFlow::Break(result),
            Verdict::Refresh(error) => ControlFlow::Continue(Next::Refresh(error)),
            Verdict::Retry { error, wait } => {
                let backoff = &options.backoff;
                if *retries >= backoff.max_retries {
                    return ControlFlow::Break(Err(error));
                }
                let wait = match wait {
                    RetryWait::Immediate => Duration::ZERO,
                    RetryWait::Backoff => backoff.jittered(backoff.retry_wait(*retries)),
                    // Clamped like a rate limit's: a longer wait is not made.
                    RetryWait::Server(wait) if wait > options.rate_limit.max_wait => {
                        let message = format!(
                            "{}; the server asks to wait {} before trying again, longer than this job may wait ({})",
                            error.message(),
                            fmt_duration(wait),
                            fmt_duration(options.rate_limit.max_wait)
                        );
                        let status = error.status();
                        return ControlFlow::Break(Err(error.with_status(status, message)));
                    }
                    RetryWait::Server(wait) => wait,
                };
                let Some(resume) = later(Instant::now(), wait) else {
                    return ControlFlow::Break(Err(error));
                };
                if deadline.is_some_and(|d| resume >= d) {
                    return ControlFlow::Break(Err(error));
                }
                *retries += 1;
                tracing::debug!(status = %error.status(), ?wait, "retry scheduled: {error}");
                self.job.emit(JobEvent::RetryScheduled {
                    status: error.status(),
                    next_attempt: attempt + 1,
                    wait,
                });
                ControlFlow::Continue(Next::At(resume))
            }
            Verdict::RateLimited { error, wait } => {
                *rate_rounds += 1;
                let policy = &options.rate_limit;
                let wait = wait.unwrap_or_else(|| options.backoff.retry_wait(*retries));
                let error = error.with_retry_after(Some(wait));
                let refuse = |message: String| {
                    ControlFlow::Break(Err(error.with_status(StatusCode::TooManyRequests, message)))
                };
                if wait > policy.max_wait {
                    return refuse(format!(
                        "rate-limited: the server asks to wait {}, longer than this job may wait ({})",
                        fmt_duration(wait),
                        fmt_duration(policy.max_wait)
                    ));
                }
                if *rate_rounds > policy.max_rounds {
                    return refuse(format!("rate-limited {rate_rounds} times in a row"));
                }
                let Some(resume) = later(Instant::now(), wait) else {
                    return refuse("rate-limited: the server asks to wait for ever".into());
                };
                if deadline.is_some_and(|d| resume >= d) {
                    return refuse("rate-limited: the wait would pass the job's deadline".into());
                }
                self.conn
                    .pauses
                    .pause((self.spec.meta.method, self.spec.meta.path), resume);
                tracing::debug!(?wait, "rate-limited");
                self.job.emit(JobEvent::RateLimited { wait });
                ControlFlow::Continue(Next::At(resume))
            }
        }
    }

    /// Time the attempt after `retries` retries may wait for its head: a
    /// long-poll gets its server-side wait plus the margin.
    fn head_timeout(&self, retries: u32) -> Duration {
        let backoff = &self.spec.options.backoff;
        let timeout = backoff.attempt_timeout(retries);
        match self.spec.server_wait {
            Some(wait) => timeout.max(wait.saturating_add(backoff.long_poll_margin)),
            None => timeout,
        }
    }

    fn transport_error(&self, e: TransportError) -> Verdict<R> {
        let message = e.to_string();
        match e {
            TransportError::NotSent(source) => Verdict::Retry {
                error: Error::new(StatusCode::NetworkError, message).with_source(source),
                wait: RetryWait::Backoff,
            },
            TransportError::MaybeSent(source) => self.transport_failure(
                Error::new(StatusCode::NetworkError, message).with_source(source),
                RetryWait::Backoff,
            ),
            TransportError::BodyTooLarge { .. } => {
                Verdict::Done(Err(Error::new(StatusCode::IncorrectResponse, message)))
            }
            // Not retried: a sink that failed once (a full disk, a writer
            // that cannot start over) fails the same way again.
            TransportError::Sink(_) => {
                Verdict::Done(Err(Error::new(StatusCode::FileError, message)))
            }
            TransportError::InvalidHeader(_) => {
                Verdict::Done(Err(Error::new(StatusCode::IncorrectRequest, message)))
            }
            TransportError::Redirect { status, .. } => {
                Verdict::Done(Err(Error::new(StatusCode::IncorrectResponse, message)
                    .with_server_answer(status, None, bytes::Bytes::new())))
            }
        }
    }

    /// The request may have reached the server: resend only if that is safe.
    fn transport_failure(&self, error: Error, wait: RetryWait) -> Verdict<R> {
        if self.spec.meta.idempotent {
            Verdict::Retry { error, wait }
        } else {
            Verdict::Done(Err(not_resent(error)))
        }
    }

    fn interpret(&self, raw: RawResponse) -> Verdict<R> {
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
                // Not resent, whatever the method: the server did act, and
                // asked again it would most likely send the same bytes.
                Err(e) => Verdict::Done(Err(Error::new(
                    StatusCode::IncorrectResponse,
                    format!("the answer does not match the expected response: {e}"),
                )
                .with_server_answer(raw.status, None, raw.body.clone()))),
            };
        }
        let error = error_from_shared_answer(raw.status, &raw.headers, raw.body.clone());
        let status = error.status();
        // A UIA challenge is an expected step, not a failure worth noise.
        tracing::debug!(http_status = raw.status, %status, errcode = ?error.errcode(), uia = error.uia_challenge().is_some(), "server answered with an error");
        if status == StatusCode::Unauthorised
            && error.soft_logout()
            && self.spec.token.is_some()
            && !self.refreshed
        {
            return Verdict::Refresh(error);
        }
        match status {
            StatusCode::TooManyRequests => Verdict::RateLimited {
                wait: error.retry_after(),
                error,
            },
            // A 503's `Retry-After` says when the server expects to be back.
            StatusCode::NetworkError => {
                let wait = error
                    .retry_after()
                    .map_or(RetryWait::Backoff, RetryWait::Server);
                self.transport_failure(error, wait)
            }
            _ => Verdict::Done(Err(error)),
        }
    }
}

/// An instant no attempt reaches, for a timer with nothing to time
/// (tokio's own `sleep(Duration::MAX)` uses the same 30 years).
fn never() -> Instant {
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// Used by the handle when a job's result cannot be delivered.
pub(crate) fn lost_job() -> Error {
    Error::new(
        StatusCode::NetworkError,
        "the job's task ended without a result (runtime shut down?)",
    )
}

#[cfg(test)]
mod tests {
    use quotient_api::generated::{sync, versions};
    use quotient_api::Endpoint;

    use super::*;
    use crate::jobs::JobShared;
    use crate::Connection;

    fn queued_size<E: Endpoint>(conn: &Connection, request: E) -> usize
    where
        E::Response: Send + 'static,
    {
        let inner = conn.inner();
        let spec = prepare(
            inner,
            E::METADATA,
            Ok(request.build().unwrap()),
            request.server_wait(),
            Arc::new(JobOptions::default()),
        )
        .unwrap();
        let job = Arc::new(JobShared::<E::Response>::new());
        std::mem::size_of_val(&run(inner.clone(), spec, CloseOnDrop(job)))
    }

    /// Every queued job is one of these futures, so its size is memory per
    /// pending job (benchmark S4). It used to be 2.5 KB, and a result held
    /// across an await made it grow with the response type.
    #[tokio::test]
    async fn a_queued_job_future_is_small_whatever_the_response_type() {
        let conn = Connection::builder("http://127.0.0.1:1".parse().unwrap())
            .build()
            .unwrap();
        conn.set_access_token(Some("token".into()));
        let versions = queued_size(&conn, versions::GetVersions::new());
        let sync = queued_size(&conn, sync::SyncRequest::default());
        assert!(versions <= 512, "{versions} bytes");
        assert_eq!(
            versions, sync,
            "the response type leaks into the job's state"
        );
    }
}

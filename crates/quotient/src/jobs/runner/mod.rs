//! The attempt loop: send → classify → decide → report, until one outcome.

mod decide;
mod record;

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use quotient_api::{IncomingResponse, ResponseParts};
use tokio::time::{Instant, Sleep};
use tracing::Instrument as _;

pub(crate) use super::abandon::CloseOnDrop;
use super::abandon::UnlessAbandoned;
use super::answer::error_from_shared_answer;
use super::bearer::Bearer;
use super::clock::{fmt_duration, later, AttemptClock, Expired};
use super::events::JobEvent;
use super::gate::Permit;
use super::outcome::{abandoned, abandoned_on_the_wire, not_resent, LostAnswers};
use super::queue::QueuedJob;
use super::shared::EventSink;
use super::transport::{self, AttemptRequest, RawResponse, TransportError};
use super::{Error, Response, StatusCode};
use record::NO_BODY;
pub(crate) use record::{launch, prepare, MetaRef, Record};

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
/// future that is spawned: with the slot the job was let in with, or
/// without one for a job that waits as a task. It stays small, because
/// what is large is elsewhere: the job's fixed data in its [`Record`], and
/// an attempt on the wire or a wait in a box that lives only as long as
/// it does.
pub(crate) async fn run<R: IncomingResponse + Send + 'static>(
    rec: Box<Record<R>>,
    permit: Option<Permit>,
) {
    let span = tracing::debug_span!(
        "job",
        op = rec.spec.meta.operation_id,
        method = rec.spec.meta.method.as_str(),
        path = rec.spec.meta.path,
        attempt = tracing::field::Empty,
    );
    let mut runner = Runner {
        rec,
        span,
        lost: LostAnswers::default(),
        refreshed: false,
    };
    let span = runner.span.clone();
    let mut result = runner.run_attempts(permit).instrument(span).await;
    if let Err(e) = result {
        result = Err(runner.lost.honest(runner.rec.spec.meta.method, e));
    }
    let status = match &mut result {
        Ok(_) => StatusCode::Success,
        Err(e) => {
            e.set_attempts(runner.rec.job.snapshot().attempt);
            e.status()
        }
    };
    runner
        .span
        .in_scope(|| tracing::debug!(%status, "job finished"));
    runner.rec.job.finish(status, result);
}

struct Runner<R> {
    rec: Box<Record<R>>,
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
            job: &self.rec.job,
        }
    }

    fn sleep_until(&self, until: Instant) -> UnlessAbandoned<'_, Pin<Box<Sleep>>, R> {
        // Boxed: a timer is large, and only retries and rate limits wait.
        self.unless_abandoned(Box::pin(tokio::time::sleep_until(until)))
    }

    /// The attempts, the first with `ready` if the job was let in before
    /// its task started.
    async fn run_attempts(&mut self, mut ready: Option<Permit>) -> Result<Response<R>, Error> {
        if self.rec.job.is_cancelled() {
            return Err(abandoned());
        }
        if self.rec.spec.token.is_some() && self.rec.conn.refresh_due() {
            // The refresh is a job of its own: it needs a slot, so this
            // one must not sit on the one it was given.
            ready = None;
            self.refresh_ahead().await?;
        }
        let deadline = self
            .rec
            .spec
            .options
            .backoff
            .deadline
            .and_then(|d| later(Instant::now(), d));
        let (mut attempt, mut retries, mut rate_rounds) = (0u32, 0u32, 0u32);
        loop {
            attempt += 1;
            let key = (self.rec.spec.meta.method, self.rec.spec.meta.path);
            let permit = loop {
                if let Some(until) = self.rec.conn.pauses.paused_until(key) {
                    // No slot is held while paused.
                    ready = None;
                    if deadline.is_some_and(|d| until > d) {
                        return Err(Error::new(
                            StatusCode::TooManyRequests,
                            "the endpoint is rate-limited beyond this job's deadline",
                        )
                        .with_retry_after(Some(until.saturating_duration_since(Instant::now()))));
                    }
                    self.sleep_until(until).await?;
                }
                let permit = match ready.take() {
                    Some(permit) => permit,
                    None => self.acquire(deadline).await?,
                };
                // While this job queued for a slot, another job on the same
                // endpoint may have been rate-limited: look again.
                if self.rec.conn.pauses.paused_until(key).is_none() {
                    break permit;
                }
                ready = Some(permit);
            };
            self.span.record("attempt", attempt);
            self.rec.job.emit(JobEvent::AboutToSend { attempt });
            if deadline.is_some_and(|d| d <= Instant::now()) {
                return Err(Error::new(
                    StatusCode::Timeout,
                    "the job's deadline has passed",
                ));
            }
            let outcome = self
                .send(attempt, self.head_timeout(retries), deadline, &permit)
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

    /// Waits for a connection slot, until the job's deadline if it has one.
    async fn acquire(&self, deadline: Option<Instant>) -> Result<Permit, Error> {
        let mut acquire = self
            .rec
            .conn
            .gate
            .acquire(self.rec.spec.options.priority, self.rec.long_poll());
        let Some(at) = deadline else {
            return self.unless_abandoned(acquire).await;
        };
        let mut timer = Box::pin(tokio::time::sleep_until(at));
        self.unless_abandoned(std::future::poll_fn(|cx| {
            if let Poll::Ready(permit) = Pin::new(&mut acquire).poll(cx) {
                return Poll::Ready(Ok(permit));
            }
            timer.as_mut().poll(cx).map(|()| {
                Err(Error::new(
                    StatusCode::Timeout,
                    "the job's deadline passed while it waited for a connection slot",
                ))
            })
        }))
        .await?
    }

    /// Swaps the job's token for a fresh one before its first attempt,
    /// when it is about to expire (boxed, as a refresh is: only jobs that
    /// find the token due need its state).
    async fn refresh_ahead(&mut self) -> Result<(), Error> {
        let Some(current) = self.rec.spec.token.as_ref().map(|t| t.secret().clone()) else {
            return Ok(());
        };
        let flight = Box::pin(crate::auth::refresh::ahead_of_expiry(
            self.rec.conn.clone(),
            current,
        ));
        let token = self.unless_abandoned(flight).await??;
        self.rec.spec.token = Some(Arc::new(Bearer::new(token)));
        Ok(())
    }

    /// Swaps the job's refused token for a refreshed one (one refresh for
    /// all the jobs that were refused at once; docs/login.md). The flight
    /// is boxed: only jobs that meet an expired token need its state.
    async fn refresh(&mut self, refusal: Error, attempt: u32) -> Result<(), Error> {
        self.refreshed = true;
        let Some(failed) = self.rec.spec.token.as_ref().map(|t| t.secret().clone()) else {
            return Err(refusal);
        };
        let status = refusal.status();
        let flight = Box::pin(crate::auth::refresh::after_refusal(
            self.rec.conn.clone(),
            failed,
            refusal,
        ));
        let token = self.unless_abandoned(flight).await??;
        self.rec.spec.token = Some(Arc::new(Bearer::new(token)));
        self.rec.job.emit(JobEvent::RetryScheduled {
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
        permit: &Permit,
    ) -> Result<Attempt, Error> {
        let spec = &self.rec.spec;
        let events: Arc<dyn EventSink> = self.rec.job.0.clone();
        let clock = AttemptClock::new(head_timeout, spec.options.backoff.idle_timeout, deadline);
        // Boxed: an attempt's state is large, and keeping it out of the
        // job's own future keeps a queued job small.
        let mut send = Box::pin(transport::send(AttemptRequest {
            client: &self.rec.conn.http,
            url: &spec.url,
            method: spec.meta.method,
            headers: spec.payload.as_ref().map_or(&[], |p| &p.headers),
            token: spec.token.as_deref(),
            body: spec.payload.as_ref().map_or(&NO_BODY, |p| &p.body),
            max_body_size: spec.options.max_body_size,
            events: &events,
            attempt,
            clock: &clock,
            follow_redirects: spec.meta.follows_redirects(),
            sink: spec.sink.as_deref(),
            permit,
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
        self.rec.conn.keep_timer(timer);
        outcome
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
    use crate::jobs::{JobOptions, JobShared};
    use crate::Connection;

    fn queued_size<E: Endpoint>(conn: &Connection, request: E) -> usize
    where
        E::Response: Send + 'static,
    {
        let inner = conn.inner();
        let spec = prepare(
            inner,
            MetaRef::Static(const { &E::METADATA }),
            Ok(request.build().unwrap()),
            request.server_wait(),
            Arc::new(JobOptions::default()),
        )
        .unwrap();
        let job = Arc::new(JobShared::<E::Response>::new());
        let record = Box::new(Record {
            conn: inner.clone(),
            spec,
            job: CloseOnDrop(job),
            runtime: tokio::runtime::Handle::current(),
        });
        std::mem::size_of_val(&run(record, None))
    }

    /// Every running job (and every job waiting as a task) is one of these
    /// futures. It used to be 2.5 KB, and a result held across an await
    /// made it grow with the response type. (A job queued for its first
    /// slot is a `Record`, not this.)
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

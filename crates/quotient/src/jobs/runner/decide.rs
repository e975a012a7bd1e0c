//! What one attempt's outcome means for the job: its end, or the time of
//! the next attempt, and why (the table in docs/jobs.md).

use super::*;

impl<R: IncomingResponse + Send + 'static> Runner<R> {
    /// What an attempt's outcome leads to: the job's end, or the time of
    /// the next attempt (after reporting why there is one).
    pub(super) fn decide(
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
        let options = &self.rec.spec.options;
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
                self.rec.job.emit(JobEvent::RetryScheduled {
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
                self.rec
                    .conn
                    .pauses
                    .pause((self.rec.spec.meta.method, self.rec.spec.meta.path), resume);
                tracing::debug!(?wait, "rate-limited");
                self.rec.job.emit(JobEvent::RateLimited { wait });
                ControlFlow::Continue(Next::At(resume))
            }
        }
    }

    /// Time the attempt after `retries` retries may wait for its head: a
    /// long-poll gets its server-side wait plus the margin.
    pub(super) fn head_timeout(&self, retries: u32) -> Duration {
        let backoff = &self.rec.spec.options.backoff;
        let timeout = backoff.attempt_timeout(retries);
        match self.rec.spec.server_wait {
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
        if self.rec.spec.meta.idempotent {
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
            && self.rec.spec.token.is_some()
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

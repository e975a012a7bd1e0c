//! Retry, timeout and rate-limit settings as plain data.

use std::time::Duration;

/// When and how often a job tries again, and how long each try may take.
///
/// The default is libQuotient's table: attempt timeouts 30 s, 60 s, 150 s;
/// waits 2 s, 5 s, 30 s before the next attempt; 3 retries (4 attempts).
/// In both lists the last entry repeats when there are more attempts.
/// A body in motion may pause up to 30 s between chunks.
///
/// ```
/// use std::time::Duration;
/// use quotient::BackoffStrategy;
/// let quick = BackoffStrategy {
///     max_retries: 1,
///     deadline: Some(Duration::from_secs(10)),
///     ..BackoffStrategy::default()
/// };
/// assert_eq!(quick.attempt_timeout(0), Duration::from_secs(30));
/// assert_eq!(quick.retry_wait(7), Duration::from_secs(30));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BackoffStrategy {
    /// Time attempt *n* (0-based) may wait for the answer's head (status
    /// and headers): from the start of the attempt, or from when the last
    /// chunk of a streamed request body went out. Moving bodies is not
    /// capped by it (see [`idle_timeout`](Self::idle_timeout)), so a large
    /// upload or download is not cut short just because it takes long.
    pub attempt_timeouts: Vec<Duration>,
    /// While a body is moving (the request's going out, the answer's
    /// coming in), the longest time without a chunk before the attempt
    /// fails with `Timeout`: a stalled transfer ends, a slow but steady
    /// one goes on.
    pub idle_timeout: Duration,
    /// Wait before retry *n* (0-based) after a failed attempt. A timed-out
    /// attempt is retried at once.
    pub retry_waits: Vec<Duration>,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Randomises each wait by up to ± this fraction (0.0–1.0), so many
    /// clients do not come back at the same instant.
    pub jitter: Option<f64>,
    /// Time allowed for the whole job, waits included. Attempt timeouts
    /// and waits are cut short to fit.
    pub deadline: Option<Duration>,
    /// Added to the server-side wait of a long-poll (`/sync?timeout=…`):
    /// such an attempt may take that wait plus this margin.
    pub long_poll_margin: Duration,
}

impl Default for BackoffStrategy {
    fn default() -> Self {
        Self {
            attempt_timeouts: [30, 60, 150].map(Duration::from_secs).to_vec(),
            idle_timeout: Duration::from_secs(30),
            retry_waits: [2, 5, 30].map(Duration::from_secs).to_vec(),
            max_retries: 3,
            jitter: None,
            deadline: None,
            long_poll_margin: Duration::from_secs(15),
        }
    }
}

fn nth_or_last(list: &[Duration], n: u32, fallback: Duration) -> Duration {
    list.get(n as usize)
        .or(list.last())
        .copied()
        .unwrap_or(fallback)
}

impl BackoffStrategy {
    /// Timeout of attempt `n` (0-based), ignoring long-polls and deadline.
    pub fn attempt_timeout(&self, n: u32) -> Duration {
        nth_or_last(&self.attempt_timeouts, n, Duration::from_secs(30))
    }

    /// Wait before retry `n` (0-based), without jitter.
    pub fn retry_wait(&self, n: u32) -> Duration {
        nth_or_last(&self.retry_waits, n, Duration::ZERO)
    }

    /// Applies the configured jitter to `wait`: layers above the engine
    /// that wait between jobs of their own (the client's sync loop) spread
    /// their retries the same way the engine does.
    ///
    /// ```
    /// use std::time::Duration;
    /// let strategy = quotient::BackoffStrategy::default();
    /// let wait = strategy.jittered(strategy.retry_wait(0));
    /// assert!(wait <= strategy.retry_wait(0) * 2);
    /// ```
    pub fn jittered(&self, wait: Duration) -> Duration {
        match self.jitter {
            Some(j) if j > 0.0 && !wait.is_zero() => {
                let j = j.min(1.0);
                let factor = 1.0 + j * (fastrand::f64() * 2.0 - 1.0);
                // `mul_f64` panics past `Duration::MAX`; a huge wait stays huge.
                Duration::try_from_secs_f64(wait.as_secs_f64() * factor.max(0.0))
                    .unwrap_or(Duration::MAX)
            }
            _ => wait,
        }
    }
}

/// How a job deals with `429` / `M_LIMIT_EXCEEDED`.
///
/// The wait is the server's `Retry-After` header, else its `retry_after_ms`,
/// else the next back-off wait. Waits longer than `max_wait` are not made:
/// the job fails with `TooManyRequests` and the error carries the wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// The longest wait the job accepts. Zero: never wait, fail at once.
    pub max_wait: Duration,
    /// How many 429 answers a job sits out before giving up.
    pub max_rounds: u32,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(60),
            max_rounds: 3,
        }
    }
}

/// Which jobs get a connection slot first when the connection's
/// concurrency limit is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Priority {
    /// What a user waits for.
    #[default]
    Foreground,
    /// Work nobody watches (prefetching, sync in the background).
    Background,
}

/// Everything that shapes how one job runs. A connection has a default;
/// [`crate::Connection::submit_with`] overrides it for one job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobOptions {
    /// Retries and timeouts.
    pub backoff: BackoffStrategy,
    /// Rate-limit handling.
    pub rate_limit: RateLimitPolicy,
    /// Queue priority.
    pub priority: Priority,
    /// Largest response body accepted, in bytes; a larger one fails the
    /// attempt with `IncorrectResponse` instead of filling memory.
    pub max_body_size: u64,
}

/// Default cap on a response body: 128 MiB.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 128 * 1024 * 1024;

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            backoff: BackoffStrategy::default(),
            rate_limit: RateLimitPolicy::default(),
            priority: Priority::Foreground,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_libquotients_table() {
        let b = BackoffStrategy::default();
        let secs = |d: Duration| d.as_secs();
        assert_eq!(
            (0..4)
                .map(|n| secs(b.attempt_timeout(n)))
                .collect::<Vec<_>>(),
            [30, 60, 150, 150]
        );
        assert_eq!(
            (0..4).map(|n| secs(b.retry_wait(n))).collect::<Vec<_>>(),
            [2, 5, 30, 30]
        );
        assert_eq!(b.max_retries, 3);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let b = BackoffStrategy {
            jitter: Some(0.25),
            ..Default::default()
        };
        for _ in 0..1000 {
            let w = b.jittered(Duration::from_secs(4));
            assert!(
                w >= Duration::from_secs(3) && w <= Duration::from_secs(5),
                "{w:?}"
            );
        }
        assert!(b.jittered(Duration::MAX) >= Duration::from_secs(u64::MAX / 2));
        let none = BackoffStrategy::default();
        assert_eq!(
            none.jittered(Duration::from_secs(4)),
            Duration::from_secs(4)
        );
    }
}

//! When an attempt gives up.
//!
//! One timeout for the whole attempt would cap every transfer: a 50 MB
//! upload at 10 Mbit/s takes 40 s, longer than the first 30 s attempt
//! timeout, and would fail though nothing is wrong. So an attempt has two
//! limits, and which one applies depends on what it is doing:
//!
//! - **waiting for the answer's head** (status and headers): the attempt
//!   timeout, counted from the start of the attempt, or from when the last
//!   chunk of a streamed request body was handed to the transport;
//! - **moving a body** (the request's, being sent; the answer's, being
//!   read): the idle timeout, counted from the last chunk that moved.
//!
//! The transport reports progress here; the runner's single timer asks
//! when the attempt expires and re-arms itself when progress moved that
//! time on. Progress is cheap to report (a short uncontended lock per
//! chunk) and the timer is reset only when it fires, not per chunk.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// What the attempt was doing when it ran out of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    /// No chunk of the request body went out for this long.
    UploadIdle(Duration),
    /// No answer head within this long.
    Head(Duration),
    /// No chunk of the answer's body arrived for this long.
    DownloadIdle(Duration),
    /// The job's deadline passed during the attempt.
    Deadline,
}

impl Expired {
    /// One line for the job's error.
    pub(crate) fn message(self) -> String {
        match self {
            Self::UploadIdle(d) => format!(
                "the request body stalled: nothing could be sent for {}",
                fmt_duration(d)
            ),
            Self::Head(d) => format!("no answer within {}", fmt_duration(d)),
            Self::DownloadIdle(d) => format!(
                "the answer stalled: nothing arrived for {}",
                fmt_duration(d)
            ),
            Self::Deadline => "the job's deadline passed before the answer was complete".into(),
        }
    }
}

/// Progress of a streamed request body. Shared with the body stream,
/// which hyper owns and may keep past the attempt.
#[derive(Debug)]
pub(crate) struct UploadState {
    /// When the last chunk was handed over, and whether it was the last.
    progress: Mutex<(Instant, bool)>,
}

impl UploadState {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            progress: Mutex::new((Instant::now(), false)),
        })
    }

    /// A chunk was handed to the transport; `last` when it ends the body.
    pub(crate) fn chunk_sent(&self, last: bool) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = (Instant::now(), last);
    }

    fn get(&self) -> (Instant, bool) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
enum Phase {
    /// A streamed body is going out.
    Uploading(Arc<UploadState>),
    /// Waiting for the head, since the instant held.
    AwaitingHead(Instant),
    /// Reading the answer's body; the instant of the last chunk.
    Downloading(Instant),
    /// Handing a chunk to the job's body sink: the caller's disk or
    /// reader is slow, not the server, so no limit but the deadline.
    Sinking,
}

/// The two limits of one attempt and how far it has got.
#[derive(Debug)]
pub(crate) struct AttemptClock {
    head: Duration,
    idle: Duration,
    deadline: Option<Instant>,
    phase: Mutex<Phase>,
}

impl AttemptClock {
    /// A clock for an attempt starting now, waiting for its head (a
    /// streamed body switches it to uploading).
    pub(crate) fn new(head: Duration, idle: Duration, deadline: Option<Instant>) -> Self {
        Self {
            head,
            idle,
            deadline,
            phase: Mutex::new(Phase::AwaitingHead(Instant::now())),
        }
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner) = phase;
    }

    /// A streamed request body starts; its own progress decides.
    pub(crate) fn uploading(&self, upload: Arc<UploadState>) {
        self.set(Phase::Uploading(upload));
    }

    /// A new request is waiting for its answer's head from now on: the
    /// next hop of a redirect gets the whole attempt timeout again.
    pub(crate) fn awaiting_head(&self) {
        self.set(Phase::AwaitingHead(Instant::now()));
    }

    /// The head or a chunk of the body arrived.
    pub(crate) fn received(&self) {
        self.set(Phase::Downloading(Instant::now()));
    }

    /// A chunk is being written to the job's body sink; `received`
    /// starts the idle timeout again once it is written.
    pub(crate) fn sinking(&self) {
        self.set(Phase::Sinking);
    }

    /// When the attempt expires as things stand, and why; `None` when it
    /// never does (limits of `Duration::MAX`).
    pub(crate) fn expiry(&self) -> Option<(Instant, Expired)> {
        let by_phase = {
            let phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
            match &*phase {
                Phase::Uploading(upload) => match upload.get() {
                    (done, true) => later(done, self.head).map(|t| (t, Expired::Head(self.head))),
                    (last, false) => {
                        later(last, self.idle).map(|t| (t, Expired::UploadIdle(self.idle)))
                    }
                },
                Phase::AwaitingHead(since) => {
                    later(*since, self.head).map(|t| (t, Expired::Head(self.head)))
                }
                Phase::Downloading(last) => {
                    later(*last, self.idle).map(|t| (t, Expired::DownloadIdle(self.idle)))
                }
                Phase::Sinking => None,
            }
        };
        match (by_phase, self.deadline) {
            (Some((t, why)), Some(d)) if t < d => Some((t, why)),
            (_, Some(d)) => Some((d, Expired::Deadline)),
            (by_phase, None) => by_phase,
        }
    }
}

/// `since + wait`, or `None` when that is past what an `Instant` can hold.
pub(crate) fn later(since: Instant, wait: Duration) -> Option<Instant> {
    since.checked_add(wait)
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_limit_follows_the_phase() {
        let s = Duration::from_secs;
        let start = Instant::now();
        let clock = AttemptClock::new(s(30), s(10), None);
        assert_eq!(clock.expiry(), Some((start + s(30), Expired::Head(s(30)))));

        let upload = UploadState::new();
        clock.uploading(upload.clone());
        tokio::time::advance(s(8)).await;
        upload.chunk_sent(false);
        assert_eq!(
            clock.expiry(),
            Some((start + s(18), Expired::UploadIdle(s(10))))
        );
        tokio::time::advance(s(40)).await;
        upload.chunk_sent(true);
        assert_eq!(clock.expiry(), Some((start + s(78), Expired::Head(s(30)))));

        tokio::time::advance(s(1)).await;
        clock.received();
        assert_eq!(
            clock.expiry(),
            Some((start + s(59), Expired::DownloadIdle(s(10))))
        );

        clock.sinking();
        assert_eq!(clock.expiry(), None, "a slow sink is not a stalled server");
        tokio::time::advance(s(100)).await;
        clock.received();
        assert_eq!(
            clock.expiry(),
            Some((start + s(159), Expired::DownloadIdle(s(10))))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_wins_and_huge_limits_never_overflow() {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(5);
        let clock = AttemptClock::new(Duration::from_secs(30), Duration::MAX, Some(deadline));
        assert_eq!(clock.expiry(), Some((deadline, Expired::Deadline)));
        let clock = AttemptClock::new(Duration::MAX, Duration::MAX, None);
        assert_eq!(clock.expiry(), None);
        clock.received();
        assert_eq!(clock.expiry(), None);
    }
}

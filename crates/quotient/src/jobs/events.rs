//! What a job reports while it runs, and how callers watch it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;

use super::StatusCode;

/// One thing that happened to a job. The order is a contract, written down
/// in docs/jobs.md: per attempt `AboutToSend`, progress, `Sent`, progress,
/// then `RetryScheduled`, `RateLimited` or the end; a job ends with
/// `StatusChanged` to its final status and then `Finished`, exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobEvent {
    /// The job's status changed (to `Pending` at start, to the final
    /// status at the end).
    StatusChanged {
        /// The new status.
        status: StatusCode,
    },
    /// Attempt `attempt` (1-based) is about to go on the wire.
    AboutToSend {
        /// The attempt number.
        attempt: u32,
    },
    /// Bytes of the request body handed to the transport.
    UploadProgress {
        /// Bytes sent so far.
        sent: u64,
        /// Total body size.
        total: u64,
    },
    /// The request has been sent in full (reported when the body is
    /// consumed, at the latest when the answer's head arrives).
    Sent {
        /// The attempt number.
        attempt: u32,
    },
    /// Bytes of the response body received.
    DownloadProgress {
        /// Bytes received so far.
        received: u64,
        /// `Content-Length`, when the server sent one.
        total: Option<u64>,
    },
    /// The attempt failed; attempt `next_attempt` starts after `wait`.
    RetryScheduled {
        /// The failed attempt's status.
        status: StatusCode,
        /// The number of the coming attempt.
        next_attempt: u32,
        /// The wait before it.
        wait: Duration,
    },
    /// The server rate-limited the request; the job waits before resending.
    RateLimited {
        /// The wait before the request is sent again.
        wait: Duration,
    },
    /// The job is over; nothing follows this event.
    Finished {
        /// The final status.
        status: StatusCode,
    },
}

/// The shared, watchable state of a job.
#[derive(Debug)]
pub(crate) struct JobState {
    pub(crate) status: StatusCode,
    pub(crate) attempt: u32,
    pub(crate) log: Vec<JobEvent>,
    pub(crate) finished: bool,
}

impl JobState {
    pub(crate) fn new() -> Self {
        Self {
            status: StatusCode::Unprepared,
            attempt: 0,
            log: Vec::new(),
            finished: false,
        }
    }
}

/// Where a job's runner writes its events.
#[derive(Clone, Debug)]
pub(crate) struct EventSink(pub(crate) watch::Sender<JobState>);

impl EventSink {
    pub(crate) fn emit(&self, event: JobEvent) {
        self.0.send_modify(|state| {
            if state.finished {
                return;
            }
            match &event {
                JobEvent::StatusChanged { status } => state.status = *status,
                JobEvent::AboutToSend { attempt } => state.attempt = *attempt,
                JobEvent::Finished { .. } => state.finished = true,
                _ => {}
            }
            state.log.push(event);
        });
    }

    pub(crate) fn finish(&self, status: StatusCode) {
        self.emit(JobEvent::StatusChanged { status });
        self.emit(JobEvent::Finished { status });
    }
}

type Changed = Pin<Box<dyn Future<Output = (watch::Receiver<JobState>, bool)> + Send>>;

/// The events of one job, from its first to `Finished`, then the end.
///
/// Every subscriber sees the whole history, even when it subscribes after
/// the job started or ended. Use [`JobEvents::next`], or the
/// [`futures_core::Stream`] implementation with any stream combinators.
pub struct JobEvents {
    rx: Option<watch::Receiver<JobState>>,
    changed: Option<Changed>,
    cursor: usize,
}

impl JobEvents {
    pub(crate) fn new(rx: watch::Receiver<JobState>) -> Self {
        Self {
            rx: Some(rx),
            changed: None,
            cursor: 0,
        }
    }

    /// The next event, or `None` after `Finished`.
    pub async fn next(&mut self) -> Option<JobEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<JobEvent>> {
        loop {
            if let Some(changed) = self.changed.as_mut() {
                let (rx, alive) = std::task::ready!(changed.as_mut().poll(cx));
                self.changed = None;
                self.rx = Some(rx);
                if !alive {
                    // The runner is gone; drain what is left and stop.
                    return Poll::Ready(self.take_logged());
                }
            }
            let Some(rx) = self.rx.as_mut() else {
                return Poll::Ready(None);
            };
            let (next, finished) = {
                let state = rx.borrow_and_update();
                (state.log.get(self.cursor).cloned(), state.finished)
            };
            if let Some(event) = next {
                self.cursor += 1;
                return Poll::Ready(Some(event));
            }
            if finished {
                return Poll::Ready(None);
            }
            let mut rx = self.rx.take().expect("checked above");
            self.changed = Some(Box::pin(async move {
                let alive = rx.changed().await.is_ok();
                (rx, alive)
            }));
        }
    }

    fn take_logged(&mut self) -> Option<JobEvent> {
        let rx = self.rx.as_ref()?;
        let event = rx.borrow().log.get(self.cursor).cloned();
        self.cursor += usize::from(event.is_some());
        event
    }
}

impl futures_core::Stream for JobEvents {
    type Item = JobEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<JobEvent>> {
        self.get_mut().poll_event(cx)
    }
}

impl std::fmt::Debug for JobEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEvents")
            .field("cursor", &self.cursor)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn late_subscribers_replay_and_nothing_follows_finished() {
        let (tx, rx) = watch::channel(JobState::new());
        let sink = EventSink(tx);
        let mut early = JobEvents::new(rx.clone());
        sink.emit(JobEvent::StatusChanged {
            status: StatusCode::Pending,
        });
        let waiter = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(e) = early.next().await {
                seen.push(e);
            }
            seen
        });
        tokio::task::yield_now().await;
        sink.emit(JobEvent::AboutToSend { attempt: 1 });
        sink.finish(StatusCode::Success);
        sink.emit(JobEvent::AboutToSend { attempt: 2 });
        let expected = vec![
            JobEvent::StatusChanged {
                status: StatusCode::Pending,
            },
            JobEvent::AboutToSend { attempt: 1 },
            JobEvent::StatusChanged {
                status: StatusCode::Success,
            },
            JobEvent::Finished {
                status: StatusCode::Success,
            },
        ];
        assert_eq!(waiter.await.unwrap(), expected);
        let mut late = JobEvents::new(rx);
        let mut seen = Vec::new();
        while let Some(e) = late.next().await {
            seen.push(e);
        }
        assert_eq!(seen, expected);
    }
}

//! What a job reports while it runs, and how callers watch it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::shared::EventSource;
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

/// The events of one job, from its first to `Finished`, then the end.
///
/// Every subscriber sees the whole history, even when it subscribes after
/// the job started or ended. Use [`JobEvents::next`], or the
/// [`futures_core::Stream`] implementation with any stream combinators.
pub struct JobEvents {
    source: Arc<dyn EventSource>,
    cursor: usize,
    slot: Option<usize>,
}

impl JobEvents {
    pub(crate) fn new(source: Arc<dyn EventSource>) -> Self {
        Self {
            source,
            cursor: 0,
            slot: None,
        }
    }

    /// The next event, or `None` after `Finished`.
    pub async fn next(&mut self) -> Option<JobEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<JobEvent>> {
        self.source.poll_event(&mut self.cursor, &mut self.slot, cx)
    }
}

impl Drop for JobEvents {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.source.unsubscribe(slot);
        }
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
    use crate::jobs::shared::{EventSink, JobShared};

    type Shared = JobShared<()>;

    async fn drain(mut events: JobEvents) -> Vec<JobEvent> {
        let mut seen = Vec::new();
        while let Some(e) = events.next().await {
            seen.push(e);
        }
        seen
    }

    #[tokio::test]
    async fn late_subscribers_replay_and_nothing_follows_finished() {
        let job = Arc::new(Shared::new());
        let early = JobEvents::new(job.clone());
        job.emit(JobEvent::StatusChanged {
            status: StatusCode::Pending,
        });
        let waiter = tokio::spawn(drain(early));
        tokio::task::yield_now().await;
        job.emit(JobEvent::AboutToSend { attempt: 1 });
        job.finish(
            StatusCode::Abandoned,
            Err(crate::Error::new(StatusCode::Abandoned, "test")),
        );
        job.emit(JobEvent::AboutToSend { attempt: 2 });
        let expected = vec![
            JobEvent::StatusChanged {
                status: StatusCode::Pending,
            },
            JobEvent::AboutToSend { attempt: 1 },
            JobEvent::StatusChanged {
                status: StatusCode::Abandoned,
            },
            JobEvent::Finished {
                status: StatusCode::Abandoned,
            },
        ];
        assert_eq!(waiter.await.unwrap(), expected);
        assert_eq!(drain(JobEvents::new(job.clone())).await, expected);
        assert_eq!(job.snapshot().attempt, 1);
    }

    #[tokio::test]
    async fn subscribers_end_when_the_runner_disappears() {
        let job = Arc::new(Shared::new());
        job.emit(JobEvent::AboutToSend { attempt: 1 });
        let waiter = tokio::spawn(drain(JobEvents::new(job.clone())));
        tokio::task::yield_now().await;
        job.close();
        assert_eq!(
            waiter.await.unwrap(),
            vec![JobEvent::AboutToSend { attempt: 1 }]
        );
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(matches!(job.poll_result(&mut cx), Poll::Ready(None)));
    }

    #[tokio::test]
    async fn many_subscribers_each_see_every_event() {
        let job = Arc::new(Shared::new());
        let waiters: Vec<_> = (0..5)
            .map(|_| tokio::spawn(drain(JobEvents::new(job.clone()))))
            .collect();
        for attempt in 1..=50 {
            job.emit(JobEvent::AboutToSend { attempt });
            if attempt % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        job.finish(
            StatusCode::Timeout,
            Err(crate::Error::new(StatusCode::Timeout, "test")),
        );
        for w in waiters {
            let seen = w.await.unwrap();
            assert_eq!(seen.len(), 52, "{seen:?}");
            assert_eq!(seen[49], JobEvent::AboutToSend { attempt: 50 });
        }
    }
}

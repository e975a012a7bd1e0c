//! Waiting for a slot as a running job's task (a retry, the end of a
//! rate-limit pause): the future of [`Gate::acquire`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use super::{Gate, Permit};
use crate::jobs::queue::TaskWaiter;
use crate::jobs::Priority;

/// The future of [`Gate::acquire`].
pub(crate) struct Acquire<'a> {
    pub(super) gate: &'a Arc<Gate>,
    pub(super) priority: Priority,
    pub(super) long_poll: bool,
    /// Where the permit arrives once queued, and the place in the queue.
    pub(super) queued: Option<(oneshot::Receiver<Permit>, u64)>,
}

impl Future for Acquire<'_> {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = &mut *self;
        if this.queued.is_none() {
            let mut state = this.gate.lock();
            if let Some(flag) = state.admit_now(this.priority, this.long_poll) {
                drop(state);
                return Poll::Ready(this.gate.permit(flag));
            }
            let (tx, rx) = oneshot::channel();
            let seq = state.queue(this.priority).push(Box::new(TaskWaiter {
                tx,
                long_poll: this.long_poll,
            }));
            this.queued = Some((rx, seq));
        }
        let (rx, _) = this.queued.as_mut().expect("queued above");
        match Pin::new(rx).poll(cx) {
            Poll::Ready(Ok(permit)) => {
                this.queued = None;
                Poll::Ready(permit)
            }
            Poll::Pending => Poll::Pending,
            // The sender was dropped without a permit (it should not be:
            // only this future withdraws its entry). Queue again rather
            // than wait for nothing.
            Poll::Ready(Err(_)) => {
                this.queued = None;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some((_, seq)) = self.queued.take() {
            let mut state = self.gate.lock();
            let entry = state.queue(self.priority).withdraw(seq);
            // Dropped outside the lock (a task waiter is a oneshot sender).
            self.gate.pump(state);
            drop(entry);
        }
    }
}

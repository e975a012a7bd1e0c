//! Abandonment: a job stops at once when abandoned, and ends, not hangs,
//! when its runner goes away.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::outcome::abandoned;
use super::shared::JobShared;
use super::Error;

/// The runner's hold on its job. If it is dropped before the job finished
/// — its runtime shut down, before or after the job started — the handle
/// and the event subscribers must not wait forever. After `finish` this
/// does nothing.
pub(crate) struct CloseOnDrop<R>(pub(crate) Arc<JobShared<R>>);

impl<R> std::ops::Deref for CloseOnDrop<R> {
    type Target = Arc<JobShared<R>>;

    fn deref(&self) -> &Arc<JobShared<R>> {
        &self.0
    }
}

impl<R> Drop for CloseOnDrop<R> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// `fut`, unless the job is abandoned first. Abandonment is checked before
/// each poll, so an abandoned job never acts on a late answer.
pub(crate) struct UnlessAbandoned<'a, F, R> {
    pub(crate) fut: F,
    pub(crate) job: &'a JobShared<R>,
}

impl<F: Future + Unpin, R> Future for UnlessAbandoned<'_, F, R> {
    type Output = Result<F::Output, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.job.is_cancelled() {
            return Poll::Ready(Err(abandoned()));
        }
        if let Poll::Ready(out) = Pin::new(&mut this.fut).poll(cx) {
            return Poll::Ready(Ok(out));
        }
        this.job.register_runner(cx.waker());
        // An abandon between the first check and the registration found no
        // waker to wake: look again.
        if this.job.is_cancelled() {
            Poll::Ready(Err(abandoned()))
        } else {
            Poll::Pending
        }
    }
}

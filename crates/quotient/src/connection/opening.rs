//! Tells the gate when the HTTP client opens a connection, so that it can
//! bound how many are being opened at once (see `jobs/gate.rs`).
//!
//! A tower layer around reqwest's connector: every call is a connection
//! the client's pool decided to open, because none was idle.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use crate::jobs::gate::Gate;

/// The layer given to `reqwest::ClientBuilder::connector_layer`.
#[derive(Clone)]
pub(crate) struct CountConnects {
    gate: Weak<Gate>,
}

impl CountConnects {
    pub(crate) fn new(gate: &Arc<Gate>) -> Self {
        // Weak: the client lives inside the connection that owns the gate.
        Self {
            gate: Arc::downgrade(gate),
        }
    }
}

impl<S> tower_layer::Layer<S> for CountConnects {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            gate: self.gate.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Counted<S> {
    inner: S,
    gate: Weak<Gate>,
}

impl<S, R> tower_service::Service<R> for Counted<S>
where
    S: tower_service::Service<R>,
    S::Future: Unpin,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Connecting<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let gate = self.gate.upgrade();
        if let Some(gate) = &gate {
            gate.connect_started();
        }
        Connecting {
            inner: self.inner.call(request),
            gate,
        }
    }
}

/// A connect under way; tells the gate how it ended, also when dropped
/// before it did.
pub(crate) struct Connecting<F> {
    inner: F,
    /// Taken once the end is told.
    gate: Option<Arc<Gate>>,
}

impl<F: Future<Output = Result<T, E>> + Unpin, T, E> Future for Connecting<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let out = std::task::ready!(Pin::new(&mut self.inner).poll(cx));
        if let Some(gate) = self.gate.take() {
            gate.connect_finished(out.is_ok());
        }
        Poll::Ready(out)
    }
}

impl<F> Drop for Connecting<F> {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.connect_finished(false);
        }
    }
}

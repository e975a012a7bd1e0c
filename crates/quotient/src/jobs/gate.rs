//! Connection-wide limits: a concurrency gate with priorities, and
//! per-endpoint pauses after a rate limit.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use quotient_api::Method;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::Priority;

/// At most `limit` attempts on the wire at once; when full, foreground
/// jobs are let in before background ones, each in arrival order.
#[derive(Debug)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
}

#[derive(Debug)]
struct GateState {
    limit: usize,
    in_use: usize,
    foreground: VecDeque<oneshot::Sender<Permit>>,
    background: VecDeque<oneshot::Sender<Permit>>,
}

/// A slot on the connection; dropping it lets the next job in.
#[derive(Debug)]
pub(crate) struct Permit {
    gate: Option<Arc<Gate>>,
}

impl Gate {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(GateState {
                limit: limit.max(1),
                in_use: 0,
                foreground: VecDeque::new(),
                background: VecDeque::new(),
            }),
        })
    }

    /// Waits for a slot. The future is small and `Unpin`: a queued job
    /// holds it for as long as it waits.
    pub(crate) fn acquire(self: &Arc<Self>, priority: Priority) -> Acquire<'_> {
        Acquire {
            gate: self,
            priority,
            queued: None,
        }
    }

    /// Hands the slot to the next waiter, or frees it.
    fn release(self: &Arc<Self>) {
        loop {
            let next = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                match state
                    .foreground
                    .pop_front()
                    .or_else(|| state.background.pop_front())
                {
                    Some(tx) => tx,
                    None => {
                        state.in_use -= 1;
                        return;
                    }
                }
            };
            match next.send(Permit {
                gate: Some(self.clone()),
            }) {
                Ok(()) => return,
                // That waiter gave up (its job was abandoned). Keep the slot
                // counted and offer it to the next one, without re-entering
                // release through the permit's Drop.
                Err(mut permit) => permit.gate = None,
            }
        }
    }

    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.state.lock().unwrap().in_use
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.release();
        }
    }
}

/// The future of [`Gate::acquire`].
pub(crate) struct Acquire<'a> {
    gate: &'a Arc<Gate>,
    priority: Priority,
    /// Where the permit arrives once the job is queued.
    queued: Option<oneshot::Receiver<Permit>>,
}

impl Future for Acquire<'_> {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = &mut *self;
        if this.queued.is_none() {
            let mut state = this
                .gate
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if state.in_use < state.limit {
                state.in_use += 1;
                return Poll::Ready(Permit {
                    gate: Some(this.gate.clone()),
                });
            }
            let (tx, rx) = oneshot::channel();
            match this.priority {
                Priority::Foreground => state.foreground.push_back(tx),
                Priority::Background => state.background.push_back(tx),
            }
            this.queued = Some(rx);
        }
        let rx = this.queued.as_mut().expect("queued above");
        // The sender is only dropped inside `release`, after a failed hand
        // over, which cannot happen while we still hold `rx`.
        Pin::new(rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Permit { gate: None }))
    }
}

/// Until when each endpoint is paused after a 429, so that other jobs on
/// the same endpoint wait too while unrelated endpoints go on.
#[derive(Debug, Default)]
pub(crate) struct EndpointPauses {
    until: Mutex<HashMap<(Method, &'static str), Instant>>,
}

impl EndpointPauses {
    pub(crate) fn pause(&self, key: (Method, &'static str), until: Instant) {
        let mut map = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = map.entry(key).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// When the endpoint may be used again, if it is paused now.
    pub(crate) fn paused_until(&self, key: (Method, &'static str)) -> Option<Instant> {
        let mut map = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        map.retain(|_, until| *until > now);
        map.get(&key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn foreground_waiters_go_first_and_abandoned_waiters_are_skipped() {
        let gate = Gate::new(1);
        let held = gate.acquire(Priority::Foreground).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |name: &'static str, p: Priority| {
            let gate = gate.clone();
            let order = order.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire(p).await;
                order.lock().unwrap().push(name);
            })
        };
        let bg = spawn("background", Priority::Background);
        tokio::task::yield_now().await;
        let abandoned = spawn("abandoned", Priority::Foreground);
        tokio::task::yield_now().await;
        let fg = spawn("foreground", Priority::Foreground);
        tokio::task::yield_now().await;
        abandoned.abort();
        let _ = abandoned.await;
        drop(held);
        fg.await.unwrap();
        bg.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["foreground", "background"]);
        assert_eq!(gate.in_use(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_are_per_endpoint_and_expire() {
        let pauses = EndpointPauses::default();
        let a = (Method::Post, "/a");
        pauses.pause(a, Instant::now() + std::time::Duration::from_secs(5));
        assert!(pauses.paused_until(a).is_some());
        assert!(pauses.paused_until((Method::Get, "/a")).is_none());
        tokio::time::advance(std::time::Duration::from_secs(6)).await;
        assert!(pauses.paused_until(a).is_none());
    }
}

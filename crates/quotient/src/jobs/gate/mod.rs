//! The connection's gate: at most `limit` attempts on the wire, foreground
//! before background, and a bound on connections being opened at once.
//!
//! **Opening connections** (docs/jobs.md, "Concurrency and priority"). An
//! attempt that finds every HTTP connection busy makes the HTTP client
//! open a new one. A burst of a thousand jobs would open a thousand,
//! though most of them would have found a connection free a moment later,
//! and opening one costs more than the request (TCP, TLS, buffers on both
//! sides). So the gate keeps count of the connections (told by the
//! connector, `connection/opening.rs`) and lets an attempt in
//!
//! - at once while a connection should be idle;
//! - as an *opener* while fewer than [`MAX_OPENING`] openers are opening:
//!   an opener stops counting when a connect finishes (the oldest opener
//!   is credited: connects are not tied to attempts), when its answer's
//!   head arrives, or when its attempt ends;
//! - otherwise not yet: it waits for a connection to come free or to be
//!   made.
//!
//! The count of open connections is corrected down whenever a connect
//! shows that none was idle, and forgotten after the connection has been
//! idle as long as the HTTP client keeps idle connections.
//!
//! A long-poll holds its connection for as long as the server waits, so it
//! is always let in as an opener of its own, not counted. Over HTTP/2 one
//! connection carries every request and the bound is off.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::time::Instant;

mod acquire;

pub(crate) use acquire::Acquire;

use super::queue::{Entry, Queue, QueuedJob};
use super::Priority;

/// Attempts that may be opening a connection at once (awaiting the head
/// of their answer on a connection made for them).
pub(crate) const MAX_OPENING: usize = 8;

/// How long the HTTP client keeps an idle connection (reqwest's default,
/// set explicitly in the connection builder).
pub(crate) const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
}

struct GateState {
    limit: usize,
    /// Attempts on the wire.
    in_use: usize,
    /// Openers still opening.
    opening: usize,
    /// The openers' flags, oldest first (some already cleared): a finished
    /// connect clears the oldest one still set.
    openers: VecDeque<Arc<AtomicBool>>,
    /// Since when no attempt has been on the wire.
    idle_since: Option<Instant>,
    /// Connections being opened (connect started, not finished).
    connecting: usize,
    /// Connections believed open: one more per connect, corrected down
    /// whenever a connect shows that none was idle.
    open: usize,
    /// The server speaks HTTP/2: requests share connections.
    multiplexed: bool,
    foreground: Queue,
    background: Queue,
    /// A hand-over is under way (see `pump`).
    pumping: bool,
    /// Something changed during a hand-over: look at the queues again.
    again: bool,
}

impl std::fmt::Debug for GateState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateState")
            .field("limit", &self.limit)
            .field("in_use", &self.in_use)
            .field("opening", &self.opening)
            .finish_non_exhaustive()
    }
}

/// Where a queued job waits, so that abandoning it can take it out.
#[derive(Debug)]
pub(crate) struct Ticket {
    gate: Weak<Gate>,
    priority: Priority,
    seq: u64,
}

/// A slot on the connection; dropping it lets the next job in.
#[derive(Debug)]
pub(crate) struct Permit {
    gate: Arc<Gate>,
    /// Set while counted in `opening` (shared with the gate's `openers`).
    opener: Option<Arc<AtomicBool>>,
}

/// What `Gate::admit` decided.
pub(crate) enum Admission {
    /// Go now.
    Now(Permit),
    /// The job waits in the queue.
    Queued(Ticket),
}

impl GateState {
    fn queue(&mut self, priority: Priority) -> &mut Queue {
        match priority {
            Priority::Foreground => &mut self.foreground,
            Priority::Background => &mut self.background,
        }
    }

    /// Whether an attempt may go now, and if so whether as an opener.
    fn admits(&self, long_poll: bool) -> Option<bool> {
        if self.in_use >= self.limit {
            return None;
        }
        // Attempts that hold a connection: the others await a connect.
        let holding = self.in_use.saturating_sub(self.connecting);
        if self.multiplexed || holding < self.open {
            return Some(false);
        }
        if long_poll {
            return Some(false);
        }
        (self.opening < MAX_OPENING).then_some(true)
    }

    /// Lets an arriving attempt in now if a slot is free and nobody of the
    /// same or a higher priority waits: `Some` with its opener flag.
    fn admit_now(
        &mut self,
        priority: Priority,
        long_poll: bool,
    ) -> Option<Option<Arc<AtomicBool>>> {
        self.forget_stale();
        let nobody_ahead = self.foreground.is_empty()
            && (priority == Priority::Foreground || self.background.is_empty());
        if !nobody_ahead {
            return None;
        }
        let opener = self.admits(long_poll)?;
        Some(self.enter(opener))
    }

    /// Counts a new attempt in; its opener flag, if it is one.
    fn enter(&mut self, opener: bool) -> Option<Arc<AtomicBool>> {
        self.in_use += 1;
        self.idle_since = None;
        if !opener {
            return None;
        }
        self.opening += 1;
        let flag = Arc::new(AtomicBool::new(true));
        if self.openers.len() > 2 * self.opening + 16 {
            self.openers.retain(|f| f.load(Ordering::Acquire));
        }
        self.openers.push_back(flag.clone());
        Some(flag)
    }

    /// Stops counting an opener, once.
    fn opened(&mut self, flag: &AtomicBool) {
        if flag.swap(false, Ordering::AcqRel) {
            self.opening -= 1;
        }
    }

    /// Forgets the connections once they have been idle for as long as the
    /// HTTP client keeps them.
    fn forget_stale(&mut self) {
        if self
            .idle_since
            .is_some_and(|since| since.elapsed() >= POOL_IDLE_TIMEOUT)
        {
            self.open = 0;
            self.idle_since = None;
        }
    }

    /// The next waiter, if it may go now, and its opener flag.
    fn next(&mut self) -> Option<(Entry, Option<Arc<AtomicBool>>)> {
        let priority = if !self.foreground.is_empty() {
            Priority::Foreground
        } else {
            Priority::Background
        };
        let long_poll = self.queue(priority).front()?.long_poll();
        let opener = self.admits(long_poll)?;
        let entry = self.queue(priority).pop()?;
        let flag = self.enter(opener);
        Some((entry, flag))
    }
}

impl Gate {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(GateState {
                limit: limit.max(1),
                in_use: 0,
                opening: 0,
                openers: VecDeque::new(),
                idle_since: None,
                connecting: 0,
                open: 0,
                multiplexed: false,
                foreground: Queue::default(),
                background: Queue::default(),
                pumping: false,
                again: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn permit(self: &Arc<Self>, opener: Option<Arc<AtomicBool>>) -> Permit {
        Permit {
            gate: self.clone(),
            opener,
        }
    }

    /// A slot now if one is free and nobody of the same or a higher
    /// priority waits; otherwise `job()` is queued.
    pub(crate) fn admit(
        self: &Arc<Self>,
        priority: Priority,
        long_poll: bool,
        job: impl FnOnce() -> Box<dyn QueuedJob>,
    ) -> Admission {
        let mut state = self.lock();
        if let Some(flag) = state.admit_now(priority, long_poll) {
            return Admission::Now(self.permit(flag));
        }
        let seq = state.queue(priority).push(job());
        Admission::Queued(Ticket {
            gate: Arc::downgrade(self),
            priority,
            seq,
        })
    }

    /// Takes a queued job out before it started; `None` if it has already
    /// been let in.
    pub(crate) fn withdraw(ticket: &Ticket) -> Option<Box<dyn QueuedJob>> {
        let gate = ticket.gate.upgrade()?;
        let mut state = gate.lock();
        let entry = state.queue(ticket.priority).withdraw(ticket.seq)?;
        // Tickets are only given for jobs, and numbers are never reused.
        debug_assert!(!entry.is_task());
        // The entry may have been the one holding the others back.
        gate.pump(state);
        Some(entry)
    }

    /// Waits for a slot, as a running job's task. The future is small and
    /// `Unpin`; dropping it leaves the queue.
    pub(crate) fn acquire(self: &Arc<Self>, priority: Priority, long_poll: bool) -> Acquire<'_> {
        Acquire {
            gate: self,
            priority,
            long_poll,
            queued: None,
        }
    }

    /// Lets in every waiter that may go now. The hand-over happens outside
    /// the lock: starting a job spawns it, and a permit dropped during the
    /// hand-over (its waiter gave up, or the runtime is shutting down and
    /// drops what is spawned) comes back here. Such a nested call only
    /// marks that something changed; the loop below goes on, so a queue of
    /// any length is worked through without recursion.
    fn pump<'a>(self: &'a Arc<Self>, mut state: MutexGuard<'a, GateState>) {
        if state.pumping {
            state.again = true;
            return;
        }
        state.pumping = true;
        // Should starting a waiter panic, the gate must not stay "pumping"
        // (nothing would ever be let in again). Disarmed on the way out,
        // where the lock is held: it only acts while the lock is not.
        struct Unwinding<'a>(&'a Gate);
        impl Drop for Unwinding<'_> {
            fn drop(&mut self) {
                self.0.lock().pumping = false;
            }
        }
        let guard = Unwinding(self);
        loop {
            let Some((entry, flag)) = state.next() else {
                if std::mem::take(&mut state.again) {
                    continue;
                }
                state.pumping = false;
                std::mem::forget(guard);
                return;
            };
            drop(state);
            entry.start(self.permit(flag));
            state = self.lock();
        }
    }

    /// A connect started: the HTTP client found no idle connection.
    pub(crate) fn connect_started(&self) {
        let mut state = self.lock();
        state.connecting += 1;
        let holding = state.in_use.saturating_sub(state.connecting);
        state.open = state.open.min(holding);
    }

    /// A connect ended, with a connection (`opened`) or without.
    pub(crate) fn connect_finished(self: &Arc<Self>, opened: bool) {
        let mut state = self.lock();
        state.connecting = state.connecting.saturating_sub(1);
        state.open += usize::from(opened);
        // Whether it made a connection or failed, some opener is done.
        while let Some(flag) = state.openers.pop_front() {
            if flag.load(Ordering::Acquire) {
                state.opened(&flag);
                break;
            }
        }
        self.pump(state);
    }

    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.lock().in_use
    }
}

impl Permit {
    /// The attempt's answer head arrived (over HTTP/2 when `multiplexed`):
    /// an opener's connection is made.
    pub(crate) fn head_arrived(&self, multiplexed: bool) {
        let opener = self
            .opener
            .as_ref()
            .filter(|flag| flag.load(Ordering::Acquire));
        if opener.is_none() && !multiplexed {
            return;
        }
        let mut state = self.gate.lock();
        if let Some(flag) = opener {
            state.opened(flag);
        }
        state.multiplexed |= multiplexed;
        self.gate.pump(state);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.gate.lock();
        state.in_use -= 1;
        if state.in_use == 0 {
            state.idle_since = Some(Instant::now());
        }
        if let Some(flag) = &self.opener {
            state.opened(flag);
        }
        self.gate.pump(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    #[tokio::test]
    async fn foreground_waiters_go_first_and_abandoned_waiters_are_skipped() {
        let gate = Gate::new(1);
        gate.lock().open = 1;
        let held = gate.acquire(Priority::Foreground, false).await;
        let order = Arc::new(StdMutex::new(Vec::new()));
        let spawn = |name: &'static str, p: Priority| {
            let gate = gate.clone();
            let order = order.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire(p, false).await;
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
        assert_eq!(gate.lock().foreground.len(), 1, "the abandoned waiter left");
        drop(held);
        fg.await.unwrap();
        bg.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["foreground", "background"]);
        assert_eq!(gate.in_use(), 0);
    }

    #[tokio::test]
    async fn openers_are_bounded_until_a_head_or_a_free_connection() {
        let gate = Gate::new(usize::MAX);
        let mut openers = Vec::new();
        for _ in 0..MAX_OPENING {
            openers.push(gate.acquire(Priority::Foreground, false).await);
        }
        assert_eq!(gate.lock().opening, MAX_OPENING);
        // A long-poll still goes (it needs a connection of its own anyway);
        // the next opener waits.
        let long_poll = gate.acquire(Priority::Foreground, true).await;
        assert!(long_poll.opener.is_none());
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.acquire(Priority::Foreground, false).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        // An opener's head lets the waiter in, as an opener in its place.
        openers[0].head_arrived(false);
        let admitted = waiting.await.unwrap();
        assert!(admitted
            .opener
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed)));
        assert_eq!(gate.lock().opening, MAX_OPENING);
        // Connections made and then free are reused, not reopened.
        for _ in 0..MAX_OPENING + 1 {
            gate.connect_started();
            gate.connect_finished(true);
        }
        drop(openers);
        drop(admitted);
        let reused = gate.acquire(Priority::Foreground, false).await;
        assert!(reused.opener.is_none());
        // A connect while the gate believed one idle corrects the count.
        gate.connect_started();
        let state = gate.lock();
        assert!(state.open <= state.in_use, "{state:?}");
        drop(state);
        drop((reused, long_poll));
        assert_eq!(gate.in_use(), 0);
        assert_eq!(gate.lock().opening, 0);
    }

    #[tokio::test]
    async fn a_permit_dropped_while_unwinding_lets_the_next_waiter_in() {
        let gate = Gate::new(1);
        let held = gate.acquire(Priority::Foreground, false).await;
        let next = tokio::spawn({
            let gate = gate.clone();
            async move { drop(gate.acquire(Priority::Foreground, false).await) }
        });
        tokio::task::yield_now().await;
        // As when a runtime is dropped during a panic: no deadlock.
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = held;
            panic!("unwinding");
        }));
        assert!(unwound.is_err());
        next.await.unwrap();
        assert_eq!(gate.in_use(), 0);
        assert!(!gate.lock().pumping);
    }

    #[tokio::test]
    async fn http2_lifts_the_bound() {
        let gate = Gate::new(usize::MAX);
        let first = gate.acquire(Priority::Foreground, false).await;
        first.head_arrived(true);
        let mut many = Vec::new();
        for _ in 0..100 {
            many.push(gate.acquire(Priority::Foreground, false).await);
        }
        assert_eq!(gate.in_use(), 101);
        assert_eq!(gate.lock().opening, 0);
    }
}

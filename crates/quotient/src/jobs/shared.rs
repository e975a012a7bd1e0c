//! The state one job shares between its runner, its handle and whoever
//! watches its events: one allocation and one lock per job.
//!
//! A job used to be two `watch` channels and a oneshot. Every event then
//! notified eight waiter lists, even when nobody was watching, and a
//! queued job carried three allocations. Here an event wakes only the
//! subscribers that are actually waiting, and a job that nobody watches
//! pays for a `Vec` push under an uncontended lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::events::JobEvent;
use super::gate::{Gate, Ticket};
use super::{Error, Response, StatusCode};

/// Where events go; the transport sees a job only through this.
pub(crate) trait EventSink: Send + Sync + 'static {
    /// Records `event` and wakes the subscribers waiting for one.
    fn emit(&self, event: JobEvent);
}

/// What [`JobEvents`](super::JobEvents) needs from a job, whatever its
/// response type.
pub(crate) trait EventSource: Send + Sync + 'static {
    /// The event at `*cursor`, advancing it; `None` once the log is over.
    /// Registers `cx`'s waker in `slot` (allocated on first use) when the
    /// next event has not happened yet.
    fn poll_event(
        &self,
        cursor: &mut usize,
        slot: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<JobEvent>>;

    /// Forgets a subscriber's waker slot.
    fn unsubscribe(&self, slot: usize);
}

/// The job's state as its handle reports it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot {
    pub status: StatusCode,
    pub attempt: u32,
    pub finished: bool,
}

pub(crate) struct JobShared<T> {
    /// Set by `abandon()`; read without the lock on every runner poll.
    cancelled: AtomicBool,
    /// Set by `finish`, so that closing a finished job takes no lock.
    done: AtomicBool,
    state: Mutex<State<T>>,
}

struct State<T> {
    log: EventLog,
    /// The runner's waker, woken by `abandon()`.
    runner: Option<Waker>,
    /// Where the job waits for its first slot, if it was queued.
    ticket: Option<Ticket>,
    result: Option<Outcome<T>>,
    /// The waker of whoever awaits the handle.
    awaiting: Option<Waker>,
    /// False once the handle is dropped: a result then has nowhere to go.
    handle_alive: bool,
}

/// A finished job's result as kept for the handle. A response is boxed, so
/// that a pending job carries no room for one; an error is a box already.
enum Outcome<T> {
    Done(Box<Response<T>>),
    Failed(Error),
}

impl<T> Outcome<T> {
    fn into_result(self) -> Result<Response<T>, Error> {
        match self {
            Outcome::Done(response) => Ok(*response),
            Outcome::Failed(error) => Err(error),
        }
    }
}

/// The non-generic part: status, the event log and its subscribers.
struct EventLog {
    status: StatusCode,
    attempt: u32,
    /// The first event, `StatusChanged { Pending }`, happened.
    started: bool,
    /// The events between the first and the last two. The ends are not
    /// stored, only known (`started`, `finished` and `status`): a job that
    /// waits in the queue, or is abandoned there, has no log to allocate.
    events: Vec<JobEvent>,
    /// `StatusChanged { status }` and `Finished { status }` happened.
    finished: bool,
    /// The runner went away without finishing (its runtime shut down).
    closed: bool,
    subscribers: Vec<Option<Waker>>,
}

impl EventLog {
    /// Appends `event` (nothing after the end) and returns whether a
    /// subscriber waits for it.
    fn push(&mut self, event: JobEvent) -> bool {
        if self.finished {
            return false;
        }
        match &event {
            JobEvent::StatusChanged { status } if !self.started => {
                debug_assert_eq!(*status, StatusCode::Pending);
                self.started = true;
                self.status = StatusCode::Pending;
            }
            JobEvent::StatusChanged { status } | JobEvent::Finished { status } => {
                // A job ends with `end`; these would be out of order.
                debug_assert!(false, "{status:?} pushed as an event");
                return false;
            }
            JobEvent::AboutToSend { attempt } => {
                self.attempt = *attempt;
                self.events.push(event);
            }
            _ => self.events.push(event),
        }
        self.subscribers.iter().any(Option::is_some)
    }

    /// The last two events, `StatusChanged { status }` and `Finished`;
    /// returns whether a subscriber waits for them.
    fn end(&mut self, status: StatusCode) -> bool {
        if self.finished {
            return false;
        }
        self.finished = true;
        self.status = status;
        self.subscribers.iter().any(Option::is_some)
    }

    /// The wakers of waiting subscribers, taken so they wake outside the lock.
    fn take_wakers(&mut self) -> Vec<Waker> {
        self.subscribers
            .iter_mut()
            .filter_map(Option::take)
            .collect()
    }

    /// The event at `index` of the whole log, ends included.
    fn event(&self, index: usize) -> Option<JobEvent> {
        let first = usize::from(self.started);
        if index < first {
            return Some(JobEvent::StatusChanged {
                status: StatusCode::Pending,
            });
        }
        let index = index - first;
        if let Some(event) = self.events.get(index) {
            return Some(event.clone());
        }
        let status = self.status;
        match (self.finished, index - self.events.len()) {
            (true, 0) => Some(JobEvent::StatusChanged { status }),
            (true, 1) => Some(JobEvent::Finished { status }),
            _ => None,
        }
    }

    fn poll_event(
        &mut self,
        cursor: &mut usize,
        slot: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<JobEvent>> {
        if let Some(event) = self.event(*cursor) {
            *cursor += 1;
            return Poll::Ready(Some(event));
        }
        if self.finished || self.closed {
            return Poll::Ready(None);
        }
        let index = *slot.get_or_insert_with(|| {
            self.subscribers.push(None);
            self.subscribers.len() - 1
        });
        match &mut self.subscribers[index] {
            Some(w) if w.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

impl<T> JobShared<T> {
    pub(crate) fn new() -> Self {
        Self {
            cancelled: AtomicBool::new(false),
            done: AtomicBool::new(false),
            state: Mutex::new(State {
                log: EventLog {
                    status: StatusCode::Unprepared,
                    attempt: 0,
                    started: false,
                    events: Vec::new(),
                    finished: false,
                    closed: false,
                    subscribers: Vec::new(),
                },
                runner: None,
                ticket: None,
                result: None,
                awaiting: None,
                handle_alive: true,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        Snapshot {
            status: state.log.status,
            attempt: state.log.attempt,
            finished: state.log.finished,
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Asks the runner to stop; a job still queued for its first slot is
    /// taken out of the queue and ends here.
    pub(crate) fn abandon(&self) {
        if self.cancelled.swap(true, Ordering::SeqCst) {
            return;
        }
        let (runner, ticket) = {
            let mut state = self.lock();
            (state.runner.take(), state.ticket.take())
        };
        if let Some(w) = runner {
            w.wake();
        }
        if let Some(job) = ticket.as_ref().and_then(Gate::withdraw) {
            job.abandon();
        }
    }

    /// Remembers where the job waits in the queue.
    pub(crate) fn set_ticket(&self, ticket: Ticket) {
        self.lock().ticket = Some(ticket);
    }

    /// Remembers the runner's waker for `abandon()`. The caller checks
    /// `is_cancelled` after this, so an abandon in between is not missed.
    pub(crate) fn register_runner(&self, waker: &Waker) {
        let mut state = self.lock();
        match &mut state.runner {
            Some(w) if w.will_wake(waker) => {}
            other => *other = Some(waker.clone()),
        }
    }

    /// Ends the job: `StatusChanged` and `Finished`, then the result to the
    /// handle. Both under one lock, so a handle that sees the result also
    /// sees the job finished.
    pub(crate) fn finish(&self, status: StatusCode, result: Result<Response<T>, Error>) {
        self.end(
            status,
            match result {
                Ok(response) => Outcome::Done(Box::new(response)),
                Err(error) => Outcome::Failed(error),
            },
        );
    }

    /// [`finish`](Self::finish) with an error (no response-sized moves).
    pub(crate) fn fail(&self, error: Error) {
        self.end(error.status(), Outcome::Failed(error));
    }

    fn end(&self, status: StatusCode, result: Outcome<T>) {
        let (subscribers, awaiting, dropped) = {
            let mut state = self.lock();
            let subscribers = if state.log.end(status) {
                state.log.take_wakers()
            } else {
                Vec::new()
            };
            state.runner = None;
            let dropped = if state.handle_alive {
                state.result = Some(result);
                None
            } else {
                Some(result)
            };
            // Under the lock, after the result is in place: a handle
            // dropped from now on has nothing to discard.
            self.done.store(true, Ordering::Release);
            (subscribers, state.awaiting.take(), dropped)
        };
        // A result nobody can receive is dropped outside the lock.
        drop(dropped);
        wake_all(subscribers);
        if let Some(w) = awaiting {
            w.wake();
        }
    }

    /// The runner is gone without finishing (its task was dropped): the
    /// handle and the subscribers must not wait forever.
    pub(crate) fn close(&self) {
        if self.done.load(Ordering::Acquire) {
            return;
        }
        let (subscribers, awaiting) = {
            let mut state = self.lock();
            if state.log.finished {
                return;
            }
            state.log.closed = true;
            (state.log.take_wakers(), state.awaiting.take())
        };
        wake_all(subscribers);
        if let Some(w) = awaiting {
            w.wake();
        }
    }

    /// The handle's side: the result once it is there.
    pub(crate) fn poll_result(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Response<T>, Error>>> {
        let mut state = self.lock();
        if let Some(result) = state.result.take() {
            drop(state);
            return Poll::Ready(Some(result.into_result()));
        }
        if state.log.closed || state.log.finished {
            // Closed, or the result was already taken.
            return Poll::Ready(None);
        }
        match &mut state.awaiting {
            Some(w) if w.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The handle was dropped: a result arriving later is discarded.
    pub(crate) fn drop_handle(&self) {
        if self.done.load(Ordering::Acquire) {
            // The job has ended and nothing more will be stored; a result
            // not taken goes with the shared state (when the last event
            // stream lets go of it).
            return;
        }
        let result = {
            let mut state = self.lock();
            state.handle_alive = false;
            state.awaiting = None;
            state.result.take()
        };
        drop(result);
    }
}

impl<T: Send + 'static> EventSink for JobShared<T> {
    fn emit(&self, event: JobEvent) {
        let subscribers = {
            let mut state = self.lock();
            if !state.log.push(event) {
                return;
            }
            state.log.take_wakers()
        };
        wake_all(subscribers);
    }
}

impl<T: Send + 'static> EventSource for JobShared<T> {
    fn poll_event(
        &self,
        cursor: &mut usize,
        slot: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<JobEvent>> {
        self.lock().log.poll_event(cursor, slot, cx)
    }

    fn unsubscribe(&self, slot: usize) {
        let waker = self
            .lock()
            .log
            .subscribers
            .get_mut(slot)
            .and_then(Option::take);
        drop(waker);
    }
}

//! The line of jobs waiting for a connection slot, one per priority.
//!
//! A job that waits before its first attempt is a record here, not a
//! task: its [`QueuedJob`] is started (spawned with the slot in hand) when
//! the slot is there, or finished on the spot if it is abandoned first.
//! A job that already runs and needs a slot again (a retry, the end of a
//! rate-limit pause) waits as a task, with a oneshot sender here.
//!
//! Entries are numbered in arrival order, so that one can be taken out of
//! the middle in constant time (an abandoned job): it leaves an empty
//! place, dropped once it reaches the front or nothing else waits. A
//! number is never given twice, so a stale ticket takes nothing.

use std::collections::VecDeque;

use tokio::sync::oneshot;

use super::gate::Permit;

/// A waiter: a job not started yet (whatever its response type), or a
/// running job's task.
pub(crate) trait QueuedJob: Send {
    /// Lets the waiter go with the slot it waited for: a job's task is
    /// spawned, a task is handed the permit.
    fn start(self: Box<Self>, permit: Permit);
    /// Ends the job as abandoned: it never started.
    fn abandon(self: Box<Self>);
    /// A long-poll keeps its connection for as long as the server waits,
    /// so it always gets a connection of its own (see `Gate`).
    fn long_poll(&self) -> bool;
    /// Whether this is a running job's task (taken out only by itself).
    fn is_task(&self) -> bool {
        false
    }
}

/// A running job's task waiting for a slot again.
pub(crate) struct TaskWaiter {
    pub tx: oneshot::Sender<Permit>,
    pub long_poll: bool,
}

impl QueuedJob for TaskWaiter {
    fn start(self: Box<Self>, permit: Permit) {
        // A task that gave up hands the permit back: dropped here.
        drop(self.tx.send(permit));
    }

    fn abandon(self: Box<Self>) {}

    fn long_poll(&self) -> bool {
        self.long_poll
    }

    fn is_task(&self) -> bool {
        true
    }
}

/// One place in the line (one pointer: a burst of ten thousand is
/// ten thousand of these).
pub(crate) type Entry = Box<dyn QueuedJob>;

#[derive(Default)]
pub(crate) struct Queue {
    /// The number of the entry at the front.
    base: u64,
    entries: VecDeque<Option<Entry>>,
    /// Entries that are not empty places.
    live: usize,
}

impl Queue {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends `entry` and returns its number.
    pub(crate) fn push(&mut self, entry: Entry) -> u64 {
        let seq = self.base + self.entries.len() as u64;
        self.entries.push_back(Some(entry));
        self.live += 1;
        seq
    }

    /// The entry that is next, if any.
    pub(crate) fn front(&self) -> Option<&Entry> {
        // The front is never an empty place (see `trim`).
        self.entries.front().and_then(Option::as_ref)
    }

    pub(crate) fn pop(&mut self) -> Option<Entry> {
        let entry = self.entries.pop_front()?;
        self.base += 1;
        self.live -= usize::from(entry.is_some());
        self.trim();
        entry
    }

    /// Takes entry `seq` out, if it is still waiting.
    pub(crate) fn withdraw(&mut self, seq: u64) -> Option<Entry> {
        let index = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        let entry = self.entries.get_mut(index)?.take();
        self.live -= usize::from(entry.is_some());
        self.trim();
        entry
    }

    fn trim(&mut self) {
        if self.live == 0 {
            self.base += self.entries.len() as u64;
            self.entries.clear();
            if self.entries.capacity() > 64 {
                // A burst of thousands is over: give the memory back.
                self.entries = VecDeque::new();
            }
            return;
        }
        while matches!(self.entries.front(), Some(None)) {
            self.entries.pop_front();
            self.base += 1;
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Entry {
        let (tx, _rx) = oneshot::channel();
        Box::new(TaskWaiter {
            tx,
            long_poll: false,
        })
    }

    #[test]
    fn entries_leave_in_order_and_from_the_middle() {
        let mut q = Queue::default();
        let seqs: Vec<u64> = (0..5).map(|_| q.push(task())).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4]);
        assert!(q.withdraw(2).is_some());
        assert!(q.withdraw(2).is_none(), "taken once");
        assert!(q.pop().is_some() && q.pop().is_some());
        // Entry 2's empty place went with the front.
        assert_eq!(q.len(), 2);
        assert!(q.withdraw(4).is_some());
        assert!(q.withdraw(3).is_some());
        assert!(q.is_empty() && q.front().is_none());
        assert!(q.withdraw(0).is_none() && q.withdraw(99).is_none());
        assert_eq!(q.push(task()), 5, "numbers go on");
    }
}

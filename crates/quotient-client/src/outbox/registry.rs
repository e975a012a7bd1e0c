//! Which rooms have a sender running, and who is told of outbox changes.
//!
//! Lock order: the registry before the store, never the store before the
//! registry.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::broadcast;

use super::entry::OutboxState;
use crate::client::Client;
use crate::error::Result;

/// How many outbox notices a slow receiver may fall behind by.
const CHANGES_CAPACITY: usize = 1024;

/// A change of an outbox entry, told after it was stored.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxChange {
    /// The entry's room.
    pub room_id: quotient_api::RoomId,
    /// The entry's transaction ID (empty in a room-wide halt notice that
    /// is about no entry in particular).
    pub txn_id: String,
    /// Where it stands now.
    pub state: OutboxState,
    /// Why the last try did not send it, while it waits to try again
    /// (network down, server busy); `None` otherwise.
    pub retry_reason: Option<String>,
    /// Sending in this room stopped with its entries unsent: why. Every
    /// waiter of the room is concerned, whatever `txn_id` says.
    pub halted: Option<Halt>,
    /// An attachment's upload moving: (bytes sent, total).
    pub upload: Option<(u64, u64)>,
}

/// Why a room's sending stopped; its entries are kept and sent when
/// sending resumes ([`Client::resume_outbox`], the next send, the next
/// committed sync batch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// The session is gone (401), or the account locked or waiting for
    /// consent: nothing goes out until the user acts.
    pub session: bool,
    /// What happened.
    pub reason: String,
    /// Another process (the store's owner) sends the room's entries: a
    /// waiter keeps waiting, reading the store, instead of giving up.
    pub elsewhere: bool,
}

#[derive(Debug, Default)]
struct Running {
    /// Room → the generation of its sender.
    rooms: HashMap<String, u64>,
    next_generation: u64,
}

/// The client's part of the outbox.
#[derive(Debug)]
pub(crate) struct Outbox {
    running: Mutex<Running>,
    changes: broadcast::Sender<OutboxChange>,
}

impl Outbox {
    pub(crate) fn new() -> Outbox {
        Outbox {
            running: Mutex::new(Running::default()),
            changes: broadcast::channel(CHANGES_CAPACITY).0,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<OutboxChange> {
        self.changes.subscribe()
    }

    pub(crate) fn tell(&self, change: OutboxChange) {
        // Nobody listening is not an error.
        let _ = self.changes.send(change);
    }

    /// Tells that `txn_id` of `room` now stands at `state`.
    pub(crate) fn tell_state(&self, room: &quotient_api::RoomId, txn_id: &str, state: OutboxState) {
        self.tell(OutboxChange {
            room_id: room.clone(),
            txn_id: txn_id.to_owned(),
            state,
            retry_reason: None,
            halted: None,
            upload: None,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running sender's registration: gone when the sender ends, however
/// it ends (returned, panicked, its runtime dropped), so a room is never
/// left marked as running with no sender.
pub(super) struct Registration {
    client: Client,
    room: String,
    generation: u64,
}

impl Registration {
    pub(super) fn room(&self) -> &str {
        &self.room
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `next` (a store read) under the registry lock and ends the
    /// registration when it finds nothing to send: an entry committed
    /// before [`ensure_sender`] is then either seen here or given a new
    /// sender by it.
    pub(super) fn next_or_end<T>(
        &self,
        next: impl FnOnce() -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let mut running = self.client.outbox().lock();
        let found = next();
        if !matches!(found, Ok(Some(_))) {
            remove(&mut running, &self.room, self.generation);
        }
        found
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        remove(
            &mut self.client.outbox().lock(),
            &self.room,
            self.generation,
        );
    }
}

fn remove(running: &mut Running, room: &str, generation: u64) {
    if running.rooms.get(room) == Some(&generation) {
        running.rooms.remove(room);
    }
}

impl Registration {
    /// Registers a sender for `room` unless one runs: the registration
    /// the new sender is to hold, `None` when one runs already.
    pub(super) fn claim(client: &Client, room: &str) -> Option<Registration> {
        let mut running = client.outbox().lock();
        if running.rooms.contains_key(room) {
            return None;
        }
        let generation = running.next_generation;
        running.next_generation += 1;
        running.rooms.insert(room.to_owned(), generation);
        Some(Registration {
            client: client.clone(),
            room: room.to_owned(),
            generation,
        })
    }
}

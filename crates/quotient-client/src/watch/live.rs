//! The live timeline as a client shows it: each local echo when it is
//! queued, its changes, then the synced event that replaces it.

use std::collections::HashSet;

use tokio::sync::broadcast::{self, error::RecvError};

use super::TimelineWatcher;
use crate::client::Client;
use crate::error::Result;
use crate::outbox::{OutboxChange, OutboxEntry, OutboxState};
use crate::store::LiveEvent;

/// One update of a [`LiveTimeline`].
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineUpdate {
    /// An event we queued: show it at the end, marked as pending.
    Echo(Box<OutboxEntry>),
    /// A local echo's state changed (sending, sent, failed).
    EchoState {
        /// The echo's room.
        room_id: quotient_api::RoomId,
        /// The echo's transaction ID.
        txn_id: String,
        /// Its new state.
        state: OutboxState,
    },
    /// An event from the server. When `replaces` names one of our echoes
    /// (by its transaction ID), it takes the echo's place: the echo is
    /// not shown any more, so the event appears once.
    Event {
        /// The event, as the timeline watcher hands it over.
        event: LiveEvent,
        /// The transaction ID of the local echo it replaces, if any.
        replaces: Option<String>,
    },
}

/// A timeline watcher ([`Client::watch_timeline`]) with the local echoes
/// of what this client sends; made by [`Client::live_timeline`].
///
/// Events come as the watcher hands them over (in order, each once
/// across restarts, under its name); echoes are live only (an echo queued
/// before the view was made is in
/// [`Store::local_echoes`](crate::Store::local_echoes), and its synced
/// event still says which echo it replaces).
#[derive(Debug)]
pub struct LiveTimeline {
    events: TimelineWatcher,
    outbox: broadcast::Receiver<OutboxChange>,
    client: Client,
    echoes: HashSet<String>,
}

impl LiveTimeline {
    /// The next update. Calling it again after an
    /// [`Event`](TimelineUpdate::Event) commits that event as handled, as
    /// [`TimelineWatcher::next`] does.
    pub async fn next(&mut self) -> Result<TimelineUpdate> {
        loop {
            // Both waits are cancel-safe: the watcher loses nothing while
            // it waits for a batch, and a broadcast receiver keeps its place.
            tokio::select! {
                biased;
                change = self.outbox.recv() => match change {
                    Ok(change) => {
                        if let Some(update) = self.echo_update(change)? {
                            return Ok(update);
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "live timeline lagged; re-read the local echoes");
                    }
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                },
                event = self.events.next() => {
                    let event = event?;
                    let replaces = event.transaction_id().map(str::to_owned);
                    if let Some(txn) = &replaces {
                        self.echoes.remove(txn);
                    }
                    return Ok(TimelineUpdate::Event { event, replaces });
                }
            }
        }
    }

    fn echo_update(&mut self, change: OutboxChange) -> Result<Option<TimelineUpdate>> {
        if change.txn_id.is_empty() || change.upload.is_some() {
            return Ok(None);
        }
        if change.state == OutboxState::Queued && !self.echoes.contains(&change.txn_id) {
            let Some(entry) = self.client.store()?.outbox_entry(&change.txn_id)? else {
                return Ok(None);
            };
            self.echoes.insert(change.txn_id);
            return Ok(Some(TimelineUpdate::Echo(Box::new(entry))));
        }
        if !self.echoes.contains(&change.txn_id) {
            return Ok(None);
        }
        Ok(Some(TimelineUpdate::EchoState {
            room_id: change.room_id,
            txn_id: change.txn_id,
            state: change.state,
        }))
    }

    /// Commits the event last returned as handled now (see
    /// [`TimelineWatcher::ack`]).
    pub fn ack(&mut self) -> Result<()> {
        self.events.ack()
    }
}

impl Client {
    /// The timeline watcher `name` with this client's local echoes: what
    /// a chat window shows. An echo comes once, when queued; the synced
    /// event replaces it ([`TimelineUpdate::Event::replaces`]), so a view
    /// that appends echoes and swaps them for their events shows each
    /// message once.
    pub fn live_timeline(&self, name: &str) -> Result<LiveTimeline> {
        // Subscribed before the watcher starts: no echo falls in between.
        let outbox = self.outbox_changes();
        Ok(LiveTimeline {
            events: self.watch_timeline(name)?,
            outbox,
            client: self.clone(),
            echoes: HashSet::new(),
        })
    }
}

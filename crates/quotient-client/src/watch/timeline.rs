//! The timeline watcher: each live event once, in order, across restarts.

use std::collections::VecDeque;
use std::future::Future;

use quotient_api::RoomId;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::error::Result;
use crate::store::LiveEvent;
use crate::sync::SyncChanges;

/// How many events one store read brings.
const PAGE: u32 = 100;

/// Hands over the timeline events stored by `/sync`, in the order they
/// were stored, each once, across restarts; made by
/// [`Client::watch_timeline`]. See the [module](crate::watch) for what
/// "once" means precisely.
#[derive(Debug)]
pub struct TimelineWatcher {
    client: Client,
    name: String,
    changes: broadcast::Receiver<SyncChanges>,
    pending: VecDeque<LiveEvent>,
    // Handed over by `next`, not yet committed as handled.
    handed: Option<(String, i64)>,
    // Read with each page: their events are committed unseen.
    ignored: std::collections::BTreeSet<String>,
}

impl TimelineWatcher {
    /// The next live event (those of ignored users are skipped, and
    /// committed as handled). Calling it again means the event it returned
    /// before was handled: that one's cursor is committed first. Waits for
    /// the next committed batch when every stored event was handed over.
    pub async fn next(&mut self) -> Result<LiveEvent> {
        self.ack()?;
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.handed = Some((event.room_id.as_str().to_owned(), event.seq));
                let sender = event.event.json.get("sender").and_then(|s| s.as_str());
                if sender.is_some_and(|s| self.ignored.contains(s)) {
                    self.ack()?;
                    continue;
                }
                return Ok(event);
            }
            let page = self.client.store()?.live_events_after(&self.name, PAGE)?;
            self.ignored = self.client.store()?.ignored_user_ids()?;
            if !page.is_empty() {
                self.pending = page.into();
                continue;
            }
            match self.changes.recv().await {
                // Lagged: the store has it all; read it again.
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                // Cannot happen while this watcher holds the client.
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// Commits the event last returned by [`next`](Self::next) as handled
    /// now (before a shutdown, say); without it, that event is handed
    /// over again by the next watcher of this name.
    pub fn ack(&mut self) -> Result<()> {
        if let Some((room, seq)) = self.handed.take() {
            if let Err(e) = self.client.store()?.advance_watcher(&self.name, &room, seq) {
                self.handed = Some((room, seq));
                return Err(e);
            }
        }
        Ok(())
    }

    /// The watcher's name: its cursors in the store are kept under it.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Client {
    /// The timeline watcher `name`. Its cursors are stored: a watcher of
    /// the same name after a restart goes on where it was. A name never
    /// used before starts after the newest stored event (it is not handed
    /// the history).
    pub fn watch_timeline(&self, name: &str) -> Result<TimelineWatcher> {
        // Subscribed before the first read: no commit falls in between.
        let changes = self.changes();
        self.store()?.start_watcher(name)?;
        Ok(TimelineWatcher {
            client: self.clone(),
            name: name.to_owned(),
            changes,
            pending: VecDeque::new(),
            handed: None,
            ignored: Default::default(),
        })
    }

    /// Runs `handler(room_id, event)` for each live event of the watcher
    /// `name`, one at a time, in order; an event's cursor is committed
    /// when its handler's future returns. The task ends only on a store
    /// error (abort the handle to stop it). Must be called within a Tokio
    /// runtime.
    pub fn on_timeline_event<F, Fut>(
        &self,
        name: &str,
        mut handler: F,
    ) -> Result<JoinHandle<Result<()>>>
    where
        F: FnMut(RoomId, LiveEvent) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let mut watcher = self.watch_timeline(name)?;
        Ok(tokio::spawn(async move {
            loop {
                let event = watcher.next().await?;
                handler(event.room_id.clone(), event).await;
                watcher.ack()?;
            }
        }))
    }
}

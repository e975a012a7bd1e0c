//! Rooms new and changed, our membership, invites, and members.

use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::client::Client;
use crate::store::{LiveEvent, Membership};
use crate::sync::SyncChanges;

/// A room a committed batch told about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomUpdate {
    /// The room.
    pub room_id: String,
    /// Our membership before the batch, when the batch changed it;
    /// `None` for a room new to the store (and when unchanged).
    pub before: Option<Membership>,
    /// Our membership after the batch, when the batch changed it (or the
    /// room is new); `None` when only its state, timeline or counts did.
    pub membership: Option<Membership>,
}

impl RoomUpdate {
    /// A room the store did not know.
    pub fn is_new(&self) -> bool {
        self.before.is_none() && self.membership.is_some()
    }

    /// We were invited (newly: not an invite told again).
    pub fn is_invite(&self) -> bool {
        self.membership == Some(Membership::Invited)
    }
}

/// New and changed rooms, after each commit; made by
/// [`Client::watch_rooms`]. Live only: what was committed while nobody
/// watched is in the store, not here.
#[derive(Debug)]
pub struct RoomWatcher {
    changes: broadcast::Receiver<SyncChanges>,
    pending: std::collections::VecDeque<RoomUpdate>,
}

impl RoomWatcher {
    /// The next room update; `None` when the client is gone. A watcher
    /// more than 256 batches behind skips the ones it missed (with a WARN):
    /// re-read [`Store::rooms`](crate::Store::rooms) then.
    pub async fn next(&mut self) -> Option<RoomUpdate> {
        loop {
            if let Some(update) = self.pending.pop_front() {
                return Some(update);
            }
            match self.changes.recv().await {
                Ok(changes) => self.pending = updates(&changes).into(),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "room watcher lagged; re-read the store")
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// The room updates of one batch, by room ID.
fn updates(changes: &SyncChanges) -> Vec<RoomUpdate> {
    changes
        .rooms
        .iter()
        .map(|room| {
            let (before, membership) = match changes.memberships.get(room) {
                Some((before, after)) => (*before, Some(*after)),
                None => (None, None),
            };
            RoomUpdate {
                room_id: room.clone(),
                before,
                membership,
            }
        })
        .collect()
}

impl Client {
    /// Watches new and changed rooms from now on.
    pub fn watch_rooms(&self) -> RoomWatcher {
        RoomWatcher {
            changes: self.changes(),
            pending: Default::default(),
        }
    }

    /// Runs `handler(update)` for each room update from now on, one at a
    /// time, in order (an invite: `update.is_invite()`). The task ends when
    /// the client is gone (abort the handle to stop it sooner). Must be
    /// called within a Tokio runtime.
    pub fn on_room_update<F, Fut>(&self, mut handler: F) -> tokio::task::JoinHandle<()>
    where
        F: FnMut(RoomUpdate) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let mut watcher = self.watch_rooms();
        tokio::spawn(async move {
            while let Some(update) = watcher.next().await {
                handler(update).await;
            }
        })
    }
}

/// A member's membership changed (an `m.room.member` timeline event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberChange {
    /// The member (the event's `state_key`).
    pub user_id: String,
    /// Who changed it (the event's `sender`).
    pub sender: String,
    /// `join`, `invite`, `leave`, `ban`, `knock`.
    pub membership: String,
}

impl MemberChange {
    /// The member change a live event is, if it is one; from the timeline
    /// watcher, so each is handed over once, like any event.
    pub fn from_event(event: &LiveEvent) -> Option<MemberChange> {
        let json = &event.event.json;
        if json.get("type").and_then(Value::as_str) != Some("m.room.member") {
            return None;
        }
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        Some(MemberChange {
            user_id: text(json.get("state_key"))?,
            sender: text(json.get("sender"))?,
            membership: text(json.get("content").and_then(|c| c.get("membership")))?,
        })
    }
}

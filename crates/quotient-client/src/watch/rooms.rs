//! Rooms new and changed, our membership, invites, and members.

use quotient_api::{RoomId, UserId};
use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::client::Client;
use crate::store::{LiveEvent, Membership};
use crate::sync::SyncChanges;

/// A room a committed batch told about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomUpdate {
    /// The room.
    pub room_id: RoomId,
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
/// watched is in the store, not here. An invite from a user this
/// account ignores is not handed over.
#[derive(Debug)]
pub struct RoomWatcher {
    client: Client,
    changes: broadcast::Receiver<SyncChanges>,
    pending: std::collections::VecDeque<RoomUpdate>,
}

/// Whether `update` is an invite from an ignored user, which no watcher
/// hands over (the server drops those that come after the ignore; this
/// catches one stored before it).
fn from_ignored(client: &Client, update: &RoomUpdate) -> crate::Result<bool> {
    Ok(update.is_invite() && client.invited_by_ignored(&update.room_id)?)
}

impl RoomWatcher {
    /// The next room update; `None` when the client is gone. A watcher
    /// more than 256 batches behind skips the ones it missed (with a WARN):
    /// re-read [`Store::rooms`](crate::Store::rooms) then.
    pub async fn next(&mut self) -> Option<RoomUpdate> {
        loop {
            if let Some(update) = self.pending.pop_front() {
                match from_ignored(&self.client, &update) {
                    Ok(true) => continue,
                    Ok(false) => return Some(update),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read who sent an invite; handing it over");
                        return Some(update);
                    }
                }
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
            client: self.clone(),
            changes: self.changes(),
            pending: Default::default(),
        }
    }

    /// The durable room watcher `name`: every room update committed since
    /// it last handled one, in order, each once across restarts (see
    /// [`DurableRoomWatcher`]). A name never used before starts after the
    /// newest stored update. Invites and membership changes that came
    /// while the app was down are handed over when it is back, but for
    /// invites from users this account ignores by then.
    pub fn watch_rooms_durably(&self, name: &str) -> crate::Result<DurableRoomWatcher> {
        // Subscribed before the first read: no commit falls in between.
        let changes = self.changes();
        self.store()?.start_room_watcher(name)?;
        Ok(DurableRoomWatcher {
            client: self.clone(),
            name: name.to_owned(),
            changes,
            pending: Default::default(),
            handed: None,
        })
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

/// Room updates handed over in order, each once across restarts, under a
/// name; made by [`Client::watch_rooms_durably`]. Delivered, then
/// committed, as the [`TimelineWatcher`](super::TimelineWatcher) is: the
/// update last handed over is committed by the next
/// [`next`](Self::next) (or [`ack`](Self::ack)); a crash before that hands
/// it over again, and no update is skipped.
#[derive(Debug)]
pub struct DurableRoomWatcher {
    client: Client,
    name: String,
    changes: broadcast::Receiver<SyncChanges>,
    pending: std::collections::VecDeque<(i64, RoomUpdate)>,
    handed: Option<i64>,
}

/// How many room updates one store read brings.
const PAGE: u32 = 100;

impl DurableRoomWatcher {
    /// The next room update; waits for the next committed batch when
    /// every stored one was handed over. Calling it again commits the one
    /// it returned before.
    pub async fn next(&mut self) -> crate::Result<RoomUpdate> {
        self.ack()?;
        loop {
            if let Some((seq, update)) = self.pending.pop_front() {
                self.handed = Some(seq);
                if from_ignored(&self.client, &update)? {
                    // Passed over, for good.
                    self.ack()?;
                    continue;
                }
                return Ok(update);
            }
            let page = self.client.store()?.room_changes_after(&self.name, PAGE)?;
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

    /// Commits the update last returned as handled now.
    pub fn ack(&mut self) -> crate::Result<()> {
        if let Some(seq) = self.handed.take() {
            if let Err(e) = self.client.store()?.advance_room_watcher(&self.name, seq) {
                self.handed = Some(seq);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// A member's membership changed (an `m.room.member` timeline event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberChange {
    /// The member (the event's `state_key`).
    pub user_id: UserId,
    /// Who changed it (the event's `sender`).
    pub sender: UserId,
    /// `join`, `invite`, `leave`, `ban`, `knock`.
    pub membership: String,
}

impl MemberChange {
    /// The member change a live event is, if it is one (and its IDs
    /// parse); from the timeline watcher, so each is handed over once,
    /// like any event.
    pub fn from_event(event: &LiveEvent) -> Option<MemberChange> {
        let json = &event.event.json;
        if json.get("type").and_then(Value::as_str) != Some("m.room.member") {
            return None;
        }
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let user = |v: Option<&Value>| UserId::parse(v?.as_str()?).ok();
        Some(MemberChange {
            user_id: user(json.get("state_key"))?,
            sender: user(json.get("sender"))?,
            membership: text(json.get("content").and_then(|c| c.get("membership")))?,
        })
    }
}

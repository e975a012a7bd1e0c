//! The room senders: one task per room with entries to send, taking them
//! strictly in the order queued.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use quotient::StatusCode;
use quotient_api::generated::redaction::RedactEvent;
use quotient_api::generated::room_send::SendMessage;
use quotient_api::generated::room_state::SetRoomStateWithKey;
use quotient_api::{EventId, RoomId};
use tokio::sync::broadcast;

use super::entry::{OutboxEntry, OutboxState, OutgoingEvent};
use crate::client::Client;
use crate::error::{Error, Result};

/// How many outbox notices a slow receiver may fall behind by.
const CHANGES_CAPACITY: usize = 1024;

/// A change of an outbox entry, told after it was stored.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxChange {
    /// The entry's room.
    pub room_id: String,
    /// The entry's transaction ID.
    pub txn_id: String,
    /// Where it stands now.
    pub state: OutboxState,
    /// Why the last try did not send it, while it waits to try again
    /// (network down, server busy); `None` otherwise.
    pub retrying_after: Option<String>,
    /// Sending in this room stopped with the entry unsent: the session is
    /// gone or the store failed (the reason). It is sent when sending
    /// resumes ([`Client::resume_outbox`], the next send or sync loop).
    pub halted: Option<String>,
}

/// The client's part of the outbox: which rooms have a sender running,
/// and who is told of changes.
///
/// Lock order: the registry (`running`) before the store, never the
/// store before the registry.
#[derive(Debug)]
pub(crate) struct Outbox {
    running: Mutex<HashSet<String>>,
    changes: broadcast::Sender<OutboxChange>,
}

impl Outbox {
    pub(crate) fn new() -> Outbox {
        Outbox {
            running: Mutex::new(HashSet::new()),
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
}

/// Starts the room's sender unless one runs. Must be called within a
/// Tokio runtime, after the entry it is for was committed: a sender that
/// is about to end checks the store again under the same lock, so an
/// entry committed before this call is never left behind.
pub(crate) fn ensure_sender(client: &Client, room: &str) {
    let outbox = client.outbox();
    let mut running = outbox
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if running.insert(room.to_owned()) {
        tokio::spawn(run_room(client.clone(), room.to_owned()));
    }
}

/// What a failed send means for the entry.
enum Verdict {
    /// Worth trying again with the same transaction ID.
    Transient,
    /// The session is gone: nothing can be sent until a new sign-in.
    SessionGone,
    /// The server refused the event itself: trying again will not help.
    Permanent,
}

fn verdict(e: &quotient::Error) -> Verdict {
    use StatusCode as S;
    match e.status() {
        S::Unauthorised => Verdict::SessionGone,
        S::NetworkError
        | S::Timeout
        | S::TooManyRequests
        | S::NetworkAuthRequired
        | S::IncorrectResponse => Verdict::Transient,
        _ => Verdict::Permanent,
    }
}

/// The next entry to send, or `None` after deregistering the sender —
/// both under the registry lock, so [`ensure_sender`] after a commit
/// either finds this sender still registered (and it will see the entry)
/// or starts a new one.
fn next_or_end(client: &Client, room: &str) -> Result<Option<OutboxEntry>> {
    let outbox = client.outbox();
    let mut running = outbox
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let next = client.store().and_then(|s| s.next_unsent(room));
    if !matches!(next, Ok(Some(_))) {
        running.remove(room);
    }
    next
}

async fn run_room(client: Client, room: String) {
    let backoff = client.connection().default_job_options().backoff.clone();
    let mut failures: u32 = 0;
    loop {
        let entry = match next_or_end(&client, &room) {
            Ok(Some(entry)) => entry,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(room, error = %e, "outbox: the store failed; sending stopped");
                return;
            }
        };
        match send_entry(&client, &entry).await {
            Ok(()) => failures = 0,
            Err(Stop::Retry(reason)) => {
                let wait = backoff.jittered(backoff.retry_wait(failures));
                failures = failures.saturating_add(1);
                tracing::warn!(
                    room,
                    txn_id = entry.txn_id,
                    failures,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    reason,
                    "outbox: not sent yet; trying again after a wait"
                );
                client.outbox().tell(OutboxChange {
                    room_id: room.clone(),
                    txn_id: entry.txn_id.clone(),
                    state: OutboxState::Sending,
                    retrying_after: Some(reason),
                    halted: None,
                });
                tokio::time::sleep(wait).await;
            }
            Err(Stop::Fail(error)) => {
                tracing::warn!(
                    room,
                    txn_id = entry.txn_id,
                    error,
                    "outbox: it cannot be sent as it is; failed"
                );
                if let Err(e) = set_state(&client, &entry, OutboxState::Failed { error }) {
                    halt(&client, &room, &entry, format!("the store failed: {e}"));
                    return;
                }
            }
            Err(Stop::Halt(reason)) => {
                tracing::warn!(
                    room,
                    txn_id = entry.txn_id,
                    reason,
                    "outbox: sending stopped"
                );
                halt(&client, &room, &entry, reason);
                return;
            }
        }
    }
}

/// Deregisters the sender and tells the waiters; the entry stays unsent.
fn halt(client: &Client, room: &str, entry: &OutboxEntry, reason: String) {
    let outbox = client.outbox();
    outbox
        .running
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(room);
    let state = client
        .store()
        .and_then(|s| s.outbox_entry(&entry.txn_id))
        .ok()
        .flatten()
        .map_or(OutboxState::Sending, |e| e.state);
    outbox.tell(OutboxChange {
        room_id: room.to_owned(),
        txn_id: entry.txn_id.clone(),
        state,
        retrying_after: None,
        halted: Some(reason),
    });
}

pub(super) enum Stop {
    /// Wait and try this entry again.
    Retry(String),
    /// The entry can never be sent as it is: it fails, the room goes on.
    Fail(String),
    /// Stop sending in this room; the entry stays unsent.
    Halt(String),
}

impl Stop {
    /// What a failed request means for the entry.
    pub(super) fn from_request(e: quotient::Error) -> Stop {
        match verdict(&e) {
            Verdict::Transient => Stop::Retry(e.to_string()),
            Verdict::SessionGone => Stop::Halt(format!("the session is gone: {e}")),
            Verdict::Permanent => Stop::Fail(e.to_string()),
        }
    }
}

fn store_failed(e: Error) -> Stop {
    Stop::Halt(format!("the store failed: {e}"))
}

/// One try at `entry`: records each step before the next one starts.
async fn send_entry(client: &Client, entry: &OutboxEntry) -> Result<(), Stop> {
    let device = client
        .connection()
        .session()
        .map(|s| s.device_id)
        .ok_or_else(|| Stop::Halt("not signed in".into()))?;
    if device != entry.device_id {
        if entry.state == OutboxState::Sending {
            // The old device's transaction ID means nothing to the server
            // for this one: a resend could be a duplicate.
            return Err(Stop::Fail(format!(
                "queued on device {} and perhaps sent from it; now signed in as device {device}: \
                 retry to send it again (it may then appear twice)",
                entry.device_id
            )));
        }
        client
            .store()
            .and_then(|mut s| s.adopt_device(&entry.txn_id, &device))
            .map_err(store_failed)?;
    }
    if entry.state != OutboxState::Sending {
        set_state(client, entry, OutboxState::Sending).map_err(store_failed)?;
    }
    let event = super::attachment::prepare(client, entry).await?;
    let job = submit(client, entry, event).map_err(Stop::Fail)?;
    let event_id = job.await.map_err(Stop::from_request)?;
    pause_after_send();
    set_state(client, entry, OutboxState::Sent { event_id }).map_err(store_failed)
}

type EventJob =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, quotient::Error>> + Send>>;

/// The job that sends `event` (the entry's, with its attachment's URI
/// filled in). An entry whose IDs do not parse fails: it can never be sent.
fn submit(client: &Client, entry: &OutboxEntry, event: OutgoingEvent) -> Result<EventJob, String> {
    let room = RoomId::parse(entry.room_id.as_str()).map_err(|e| e.to_string())?;
    let conn = client.connection().clone();
    let txn = entry.txn_id.clone();
    Ok(match event {
        OutgoingEvent::Message {
            event_type,
            content,
        } => {
            let job = conn.submit(SendMessage::new(room, event_type, txn, content));
            Box::pin(async move { Ok(job.await?.into_value().event_id.into_string()) })
        }
        OutgoingEvent::State {
            event_type,
            state_key,
            content,
        } => {
            let job = conn.submit(SetRoomStateWithKey::new(
                room, event_type, state_key, content,
            ));
            Box::pin(async move { Ok(job.await?.into_value().event_id.into_string()) })
        }
        OutgoingEvent::Redaction { redacts, reason } => {
            let target = EventId::parse(redacts).map_err(|e| e.to_string())?;
            let mut request = RedactEvent::new(room, target, txn);
            request.reason = reason;
            let job = conn.submit(request);
            Box::pin(async move {
                Ok(job
                    .await?
                    .into_value()
                    .event_id
                    .map(EventId::into_string)
                    .unwrap_or_default())
            })
        }
    })
}

/// Stores the entry's new state, then tells the watchers.
pub(crate) fn set_state(client: &Client, entry: &OutboxEntry, state: OutboxState) -> Result<()> {
    client.store()?.set_outbox_state(&entry.txn_id, &state)?;
    let state = client
        .store()?
        .outbox_entry(&entry.txn_id)?
        .map_or(state, |e| e.state);
    client.outbox().tell(OutboxChange {
        room_id: entry.room_id.clone(),
        txn_id: entry.txn_id.clone(),
        state,
        retrying_after: None,
        halted: None,
    });
    Ok(())
}

/// **Test-only.** When `QUOTIENT_CLIENT_TEST_PAUSE_AFTER_SEND` names a
/// file (read once per process), each send, once the server answered and
/// before the answer is stored, creates that file and sleeps 30 s: a test
/// kills the process there to check the next run resends the same
/// transaction ID and the room gets one copy. Never set it outside tests.
fn pause_after_send() {
    static MARKER: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let marker = MARKER
        .get_or_init(|| std::env::var_os("QUOTIENT_CLIENT_TEST_PAUSE_AFTER_SEND").map(Into::into));
    if let Some(marker) = marker {
        let _ = std::fs::write(marker, b"paused");
        std::thread::sleep(Duration::from_secs(30));
    }
}

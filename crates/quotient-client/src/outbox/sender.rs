//! The room senders: one task per room with entries to send, taking them
//! strictly in the order queued.

use std::time::Duration;

use super::entry::{OutboxEntry, OutboxState, OutgoingEvent};
use super::registry::{Halt, OutboxChange, Registration};
use super::stop::{store_failed, Stop};
use crate::client::Client;
use crate::error::{Error, Result};
use quotient_api::generated::redaction::RedactEvent;
use quotient_api::generated::room_send::SendMessage;
use quotient_api::generated::room_state::SetRoomStateWithKey;
use quotient_api::{EventId, RoomId};

pub(super) async fn run_room(registration: Registration) {
    let (client, room) = (
        registration.client().clone(),
        registration.room().to_owned(),
    );
    // Registered from a RoomId (`ensure_sender`).
    let Ok(room_id) = RoomId::parse(room.as_str()) else {
        return;
    };
    let backoff = client.connection().default_job_options().backoff.clone();
    let mut failures: u32 = 0;
    loop {
        let next = registration.next_or_end(|| client.store().and_then(|s| s.next_unsent(&room)));
        let entry = match next {
            Ok(Some(entry)) => entry,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(room, error = %e, "outbox: the store failed; sending stopped");
                halt(&client, &room_id, false, format!("the store failed: {e}"));
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
                    room_id: room_id.clone(),
                    txn_id: entry.txn_id.clone(),
                    state: OutboxState::Sending,
                    retry_reason: Some(reason),
                    halted: None,
                    upload: None,
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
                    halt(&client, &room_id, false, format!("the store failed: {e}"));
                    return;
                }
            }
            Err(Stop::Elsewhere(reason)) => {
                tracing::info!(
                    room,
                    txn_id = entry.txn_id,
                    reason,
                    "outbox: left to the store's owner"
                );
                client.outbox().tell(OutboxChange {
                    room_id: room_id.clone(),
                    txn_id: String::new(),
                    state: OutboxState::Queued,
                    retry_reason: None,
                    halted: Some(Halt {
                        session: false,
                        reason,
                        elsewhere: true,
                    }),
                    upload: None,
                });
                return;
            }
            Err(Stop::Halt { session, reason }) => {
                tracing::warn!(
                    room,
                    txn_id = entry.txn_id,
                    reason,
                    "outbox: sending stopped"
                );
                halt(&client, &room_id, session, reason);
                return;
            }
        }
    }
}

/// Tells every waiter of `room` that its sending stopped (the sender's
/// registration ends when it returns); the entries stay unsent.
fn halt(client: &Client, room: &RoomId, session: bool, reason: String) {
    client.outbox().tell(OutboxChange {
        room_id: room.clone(),
        txn_id: String::new(),
        state: OutboxState::Queued,
        retry_reason: None,
        halted: Some(Halt {
            session,
            reason,
            elsewhere: false,
        }),
        upload: None,
    });
}

/// One try at `entry`: records each step before the next one starts.
async fn send_entry(client: &Client, entry: &OutboxEntry) -> Result<(), Stop> {
    let device = client
        .connection()
        .session()
        .map(|s| s.device_id)
        .ok_or_else(|| Stop::Halt {
            session: true,
            reason: "not signed in".into(),
        })?;
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
        // Queued → sending only if still queued: a cancel that came first
        // wins, and the entry is not sent.
        if !client
            .store()
            .and_then(|mut s| s.start_sending(&entry.txn_id))
            .map_err(store_failed)?
        {
            return Ok(());
        }
        client
            .outbox()
            .tell_state(&entry.room_id, &entry.txn_id, OutboxState::Sending);
    }
    let encrypted = super::encrypting::room_is_encrypted(client, entry.room_id.as_str()).await?;
    // Plaintext never goes into an encrypted room: not even the file,
    // which is encrypted before it is uploaded.
    let event = super::attachment::prepare(client, entry, encrypted).await?;
    let event = if encrypted {
        super::encrypting::encrypt(client, entry, event).await?
    } else {
        event
    };
    let job = submit(client, entry, event).map_err(Stop::Fail)?;
    let event_id = job.await.map_err(Stop::from_request)?;
    pause_after_send();
    // The answer's ID parsed when it was decoded; a redaction's may be absent.
    let event_id = EventId::parse(event_id).ok();
    set_state(client, entry, OutboxState::Sent { event_id }).map_err(store_failed)
}

type EventJob =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, quotient::Error>> + Send>>;

/// The job that sends `event` (the entry's, with its attachment's URI
/// filled in). An entry whose IDs do not parse fails: it can never be sent.
fn submit(client: &Client, entry: &OutboxEntry, event: OutgoingEvent) -> Result<EventJob, String> {
    let room = entry.room_id.clone();
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
            let mut request = RedactEvent::new(room, redacts, txn);
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
    client
        .outbox()
        .tell_state(&entry.room_id, &entry.txn_id, state);
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

/// Starts `room`'s sender unless one runs, on the current Tokio runtime
/// ([`Error::NoRuntime`] outside one). Call it after the entry it is for
/// was committed.
pub(crate) fn ensure_sender(client: &Client, room: &RoomId) -> Result<()> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
    if let Some(registration) = Registration::claim(client, room.as_str()) {
        runtime.spawn(run_room(registration));
    }
    Ok(())
}

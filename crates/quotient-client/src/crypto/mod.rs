//! End-to-end encryption through matrix-sdk-crypto's `OlmMachine`
//! (docs/encryption.md).
//!
//! The machine is sans-IO: it says what to send, and is told what came.
//! This module drives it — every request it asks for goes out as a job
//! through the engine ([`requests`]), `/sync`'s to-device events and
//! key counts reach it before the batch's `since` is committed
//! ([`sync_changes`]), timeline events are decrypted as they are stored
//! ([`decrypt`]), and the outbox encrypts through it ([`encrypt`]).
//!
//! Only the process that owns the store directory
//! ([`OwnerLock`](crate::store::owner::OwnerLock)) ever builds a machine:
//! two machines over one crypto store would hand out the same one-time
//! keys twice.

mod backup;
mod client_calls;
mod cross_signing;
pub(crate) mod decrypt;
pub(crate) mod encrypt;
mod keys;
mod lifecycle;
mod open;
mod recovery;
mod requests;
mod secrets;
pub(crate) mod sync_changes;
mod trust;
pub(crate) mod verify;
mod verify_asking;
mod verify_devices;
mod verify_in_room;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use matrix_sdk_crypto::OlmMachine;

use crate::error::{Error, Result};
use crate::store::owner::OwnerLock;

use crate::encryption::DeviceTrust;

/// The crypto machine of this process and what drives it.
pub(crate) struct Crypto {
    machine: OlmMachine,
    conn: quotient::Connection,
    trust: DeviceTrust,
    // One round of outgoing requests at a time: the machine returns the
    // same request until it is marked sent, and `receive_sync_changes`
    // must not run beside `mark_request_as_sent`.
    requests: tokio::sync::Mutex<()>,
    // One key claim in flight.
    claims: tokio::sync::Mutex<()>,
    // One share-then-encrypt at a time per room.
    rooms: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    // Rooms whose full member list was fetched by this process.
    members_fetched: Mutex<std::collections::HashSet<String>>,
    // Verification requests to this device, as (sender, flow ID), in
    // the order they came; and the flows a program already took.
    verifications: tokio::sync::watch::Sender<Vec<(matrix_sdk_common::ruma::OwnedUserId, String)>>,
    taken: Mutex<std::collections::HashSet<String>>,
    // (room, session) pairs already asked of the key backup.
    asked_backup: Mutex<std::collections::HashSet<(String, String)>>,
    // How many `m.secret.request`s this device has received.
    secret_requests: tokio::sync::watch::Sender<u64>,
    // True once the first key upload and cross-signing setup were tried.
    setup: tokio::sync::watch::Sender<bool>,
    // The client that owns this machine, for in-room messages (which go
    // through its outbox); set right after the machine is built.
    client: std::sync::OnceLock<crate::client::WeakClient>,
    // Held for the machine's life; `None` for an in-memory client.
    _owner: Option<OwnerLock>,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the machine: it holds key material.
        f.debug_struct("Crypto")
            .field("user_id", &self.machine.user_id().as_str())
            .field("device_id", &self.machine.device_id().as_str())
            .field("trust", &self.trust)
            .finish_non_exhaustive()
    }
}

impl Crypto {
    pub(crate) fn machine(&self) -> &OlmMachine {
        &self.machine
    }

    /// Sends every request the machine has waiting, one round at a time,
    /// until it has none. A failed request is left for the next round
    /// (the machine asks again until it is marked sent).
    pub(crate) async fn process_outgoing(&self) -> Result<()> {
        let _one = self.requests.lock().await;
        // Bounded: a machine that keeps asking (a server that keeps
        // failing) is served again at the next batch, not in a loop here.
        for _round in 0..8 {
            let pending = self
                .machine
                .outgoing_requests()
                .await
                .map_err(crypto_error)?;
            if pending.is_empty() {
                return Ok(());
            }
            let mut failed = None;
            for request in &pending {
                let sent = match request.request() {
                    // In-room messages (verification) go through the
                    // outbox, encrypted where the room is.
                    matrix_sdk_crypto::types::requests::AnyOutgoingRequest::RoomMessage(r) => {
                        self.send_in_room(r).await
                    }
                    _ => requests::send(&self.conn, &self.machine, request).await,
                };
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "a key request failed; it is asked again later");
                    failed = Some(e);
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }

    pub(crate) fn setup_tried(&self) {
        self.setup.send_replace(true);
    }

    /// Waits (at most `limit`) until the first key upload and
    /// cross-signing setup were tried.
    pub(crate) async fn setup_done(&self, limit: std::time::Duration) {
        let mut rx = self.setup.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|done| *done)).await;
    }

    /// Marks a flow as taken by a program; false if it already was.
    pub(crate) fn take_flow(&self, flow: &str) -> bool {
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        taken.insert(flow.to_owned())
    }

    /// Marks a session as asked of the backup; false if it already was.
    pub(crate) fn ask_backup_once(&self, room: &str, session: &str) -> bool {
        let mut asked = self.asked_backup.lock().unwrap_or_else(|p| p.into_inner());
        asked.insert((room.to_owned(), session.to_owned()))
    }

    fn room_lock(&self, room: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(rooms.entry(room.to_owned()).or_default())
    }
}

/// A crypto error, as text without key material (the crate's errors name
/// IDs and reasons, never keys).
pub(crate) fn crypto_error(e: impl std::fmt::Display) -> Error {
    Error::Crypto(e.to_string())
}

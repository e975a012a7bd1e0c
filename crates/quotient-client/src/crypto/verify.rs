//! Emoji verification flows: asking, answering, and the driver that
//! takes each flow's protocol steps as the machine's state changes.
//!
//! The machine holds the cryptography and the state of every flow
//! (matrix-sdk-crypto's `VerificationRequest` and `Sas`); the other
//! side's messages reach it through `/sync` (to-device) or the timeline
//! (in-room). What is ours: sending what each step produces through the
//! engine, the step a side must take by itself (start the exchange when
//! asked and ready; accept an exchange the other side started), the
//! states a program sees, and asking an own device that was just
//! verified for the secrets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use matrix_sdk_common::ruma::events::key::verification::cancel::CancelCode;
use matrix_sdk_crypto::types::requests::{OutgoingRequest, OutgoingVerificationRequest};
use matrix_sdk_crypto::{
    CancelInfo, EmojiShortAuthString, Sas, SasState, VerificationRequest, VerificationRequestState,
};
use tokio::sync::watch;

use super::{crypto_error, requests, Crypto};
use crate::error::{Error, Result};
use crate::verification::{Cancellation, Emoji, ShortCode, States, VerificationState};

/// One emoji verification flow with another device; see
/// [`crate::verification`].
#[derive(Clone)]
pub struct Verification {
    crypto: Arc<Crypto>,
    request: VerificationRequest,
    other_user: quotient_api::UserId,
    sas: Arc<Mutex<Option<Sas>>>,
    state: watch::Receiver<VerificationState>,
    // `m.secret.request`s received before the flow began.
    secret_requests_before: u64,
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification")
            .field("flow_id", &self.flow_id())
            .field("other_user", &self.other_user.as_str())
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Verification {
    /// The user on the other side (this user, for one's own devices).
    pub fn other_user(&self) -> &quotient_api::UserId {
        &self.other_user
    }

    /// The device on the other side, once known (a request sent to all of
    /// one's devices learns it from the one that answers).
    pub fn other_device(&self) -> Option<String> {
        let sas = self.sas.lock().unwrap_or_else(|p| p.into_inner()).clone();
        sas.map(|s| s.other_device_id().to_string())
            .or_else(|| self.request.other_device_id().map(|d| d.to_string()))
    }

    /// The flow's ID (the request's transaction ID, or its event ID in a
    /// room).
    pub fn flow_id(&self) -> &str {
        self.request.flow_id().as_str()
    }

    /// True when this side asked.
    pub fn we_started(&self) -> bool {
        self.request.we_started()
    }

    /// True when both sides are this user's devices.
    pub fn is_self_verification(&self) -> bool {
        self.request.is_self_verification()
    }

    /// The flow's current state.
    pub fn state(&self) -> VerificationState {
        self.state.borrow().clone()
    }

    /// The states from the current one on, ending with a final one.
    pub fn states(&self) -> States {
        States {
            rx: self.state.clone(),
            first: true,
            ended: false,
        }
    }

    /// Waits for the flow to end (at most `limit`), and returns its final
    /// state; on the way, [`Compare`](VerificationState::Compare) must be
    /// answered by someone else holding this flow.
    pub async fn finished(&self, limit: Duration) -> Result<VerificationState> {
        let mut rx = self.state.clone();
        let ended = tokio::time::timeout(limit, rx.wait_for(VerificationState::is_final))
            .await
            .map(|r| r.map(|state| state.clone()));
        match ended {
            Ok(Ok(state)) => Ok(state),
            Ok(Err(_)) => Ok(self.state()),
            Err(_) => Err(Error::Verification(format!(
                "the flow did not end within {} s",
                limit.as_secs()
            ))),
        }
    }

    /// Answers a request from the other side: this device is ready to
    /// compare emoji. Does nothing for a flow this side asked for, or one
    /// already answered.
    pub async fn accept(&self) -> Result<()> {
        if let Some(out) = self.request.accept() {
            send(&self.crypto, out).await?;
        }
        Ok(())
    }

    /// The emoji match: mark the other side verified (and sign it, where
    /// this device holds the keys to) and tell it. Fails unless the flow
    /// is at [`Compare`](VerificationState::Compare).
    pub async fn confirm(&self) -> Result<()> {
        let sas = self.sas_to_compare()?;
        let (out, signatures) = sas.confirm().await.map_err(crypto_error)?;
        for request in out {
            send(&self.crypto, request).await?;
        }
        if let Some(upload) = signatures {
            let request = OutgoingRequest::from(upload);
            requests::send(&self.crypto.conn, &self.crypto.machine, &request).await?;
        }
        Ok(())
    }

    /// The emoji differ: cancel with `m.mismatched_sas`. Nothing is
    /// verified on either side.
    pub async fn mismatch(&self) -> Result<()> {
        let sas = self.sas_to_compare()?;
        if let Some(out) = sas.cancel_with_code(CancelCode::MismatchedSas) {
            send(&self.crypto, out).await?;
        }
        Ok(())
    }

    /// Cancels the flow (`m.user`), at any step before it ends.
    pub async fn cancel(&self) -> Result<()> {
        let sas = self.sas.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let out = match sas {
            Some(sas) => sas.cancel(),
            None => self.request.cancel(),
        };
        if let Some(out) = out {
            send(&self.crypto, out).await?;
        }
        Ok(())
    }

    /// For the device that holds the secrets, once a flow with another of
    /// this user's devices is done: waits (at most `limit`, while the
    /// client syncs) until that device has asked for the secrets, and
    /// sends the answers out. True when a request came. The machine
    /// answers only verified devices of this user.
    pub async fn answer_secret_requests(&self, limit: Duration) -> Result<bool> {
        let mut rx = self.crypto.secret_requests.subscribe();
        let before = self.secret_requests_before;
        let came = tokio::time::timeout(limit, rx.wait_for(|n| *n > before))
            .await
            .is_ok();
        if came {
            // The other requests of the batch come with the first.
            tokio::time::sleep(Duration::from_millis(500)).await;
            self.crypto.process_outgoing().await?;
        }
        Ok(came)
    }

    fn sas_to_compare(&self) -> Result<Sas> {
        let sas = self.sas.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match sas {
            Some(sas) if sas.can_be_presented() => Ok(sas),
            _ => Err(Error::Verification(format!(
                "the flow is not at the emoji comparison (it is {})",
                self.state().step()
            ))),
        }
    }

    /// Wraps a machine request and starts its driver.
    pub(crate) fn start(crypto: Arc<Crypto>, request: VerificationRequest) -> Result<Self> {
        let other_user = quotient_api::UserId::parse(request.other_user().as_str())
            .map_err(|e| Error::Verification(e.to_string()))?;
        let (tx, rx) = watch::channel(VerificationState::Requested);
        let sas = Arc::new(Mutex::new(None));
        let flow = Verification {
            crypto: Arc::clone(&crypto),
            request: request.clone(),
            other_user,
            sas: Arc::clone(&sas),
            state: rx,
            secret_requests_before: *crypto.secret_requests.borrow(),
        };
        tokio::spawn(async move {
            if let Err(e) = drive(&crypto, &request, &sas, &tx).await {
                tracing::warn!(error = %e, flow = request.flow_id().as_str(), "verification step failed");
                // A step that could not go out leaves the other side
                // waiting: cancel, so both sides end.
                if let Some(out) = request.cancel() {
                    let _ = send(&crypto, out).await;
                }
                tx.send_replace(VerificationState::Cancelled(Cancellation {
                    code: "m.user".into(),
                    reason: format!("a step could not be sent: {e}"),
                    by_us: true,
                }));
            }
        });
        Ok(flow)
    }
}

/// Follows the request, then its emoji exchange, publishing each state
/// and taking the steps this side takes by itself.
async fn drive(
    crypto: &Crypto,
    request: &VerificationRequest,
    slot: &Mutex<Option<Sas>>,
    tx: &watch::Sender<VerificationState>,
) -> Result<()> {
    let mut changes = request.changes();
    let mut current = request.state();
    let sas = loop {
        match current {
            VerificationRequestState::Created { .. }
            | VerificationRequestState::Requested { .. } => {
                publish(tx, VerificationState::Requested);
            }
            VerificationRequestState::Ready { .. } => {
                publish(tx, VerificationState::Ready);
                // The side that asked starts the exchange.
                if request.we_started() {
                    if let Some((sas, out)) = request.start_sas().await.map_err(crypto_error)? {
                        send(crypto, out).await?;
                        break sas;
                    }
                }
            }
            VerificationRequestState::Transitioned { verification, .. } => {
                match verification.sas_v1() {
                    Some(sas) => break *sas,
                    None => {
                        // A QR flow: not offered by this client.
                        if let Some(out) = request.cancel() {
                            send(crypto, out).await?;
                        }
                    }
                }
            }
            VerificationRequestState::Done => {
                publish(tx, VerificationState::Done);
                return Ok(());
            }
            VerificationRequestState::Cancelled(info) => {
                publish(tx, cancelled(&info));
                return Ok(());
            }
        }
        current = match changes.next().await {
            Some(state) => state,
            None => return Ok(()),
        };
    };
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(sas.clone());
    let mut changes = sas.changes();
    let mut current = sas.state();
    loop {
        match current {
            SasState::Created { .. } | SasState::Accepted { .. } => {
                publish(tx, VerificationState::Started);
            }
            SasState::Started { .. } => {
                publish(tx, VerificationState::Started);
                // The other side started the exchange: accept it.
                if let Some(out) = sas.accept() {
                    send(crypto, out).await?;
                }
            }
            SasState::KeysExchanged { emojis, decimals } => {
                if !sas.have_we_confirmed() {
                    publish(tx, compare(emojis, decimals));
                }
            }
            SasState::Confirmed => {
                publish(tx, VerificationState::Confirmed);
            }
            SasState::Done { .. } => {
                // The signatures of what was verified (the other device,
                // or the other user's master key) go out before anyone
                // hears it is done, and the machine reads them back: it
                // records a user as verified (and so notices a later
                // change of identity) from the keys the server gives.
                settle(crypto, &sas).await;
                if sas.is_self_verification() {
                    ask_for_secrets(crypto).await;
                }
                publish(tx, VerificationState::Done);
                return Ok(());
            }
            SasState::Cancelled(info) => {
                publish(tx, cancelled(&info));
                return Ok(());
            }
        }
        current = match changes.next().await {
            Some(state) => state,
            None => return Ok(()),
        };
    }
}

/// At Done: the signatures of what was verified go out and the other
/// user's keys are read back until the machine records the device (or
/// the other user's identity) as verified, bounded (5 s). The machine
/// queues its signature upload only after it reports Done, so one round
/// may come too early.
async fn settle(crypto: &Crypto, sas: &Sas) {
    for _ in 0..20 {
        if let Err(e) = crypto.process_outgoing().await {
            tracing::warn!(error = %e, "verification signatures not uploaded yet; they go with the next batch");
        }
        if let Err(e) = crypto.refresh_keys(sas.other_user_id()).await {
            tracing::warn!(error = %e, "the verified user's keys not read back yet");
        }
        if verified_now(crypto, sas).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tracing::warn!("the verification's signatures are not on the server yet");
}

async fn verified_now(crypto: &Crypto, sas: &Sas) -> bool {
    let machine = &crypto.machine;
    if !sas.is_self_verification() {
        if let Ok(Some(identity)) = machine.get_identity(sas.other_user_id(), None).await {
            return identity.is_verified();
        }
    }
    matches!(
        machine
            .get_device(sas.other_user_id(), sas.other_device_id(), None)
            .await,
        Ok(Some(device)) if device.is_verified()
    )
}

/// After verifying another of our own devices: ask our devices for the
/// secrets this one lacks (cross-signing keys, the backup key). Only a
/// verified own device answers, and only one is accepted from.
async fn ask_for_secrets(crypto: &Crypto) {
    match crypto
        .machine
        .query_missing_secrets_from_other_sessions()
        .await
    {
        Ok(true) => {
            if let Err(e) = crypto.process_outgoing().await {
                tracing::warn!(error = %e, "secret requests not sent yet; they go with the next batch");
            }
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "secrets not asked for"),
    }
}

/// Publishes `state` unless it is the current one (several of the
/// machine's steps look the same from outside).
fn publish(tx: &watch::Sender<VerificationState>, state: VerificationState) {
    tx.send_if_modified(|current| {
        if *current == state {
            false
        } else {
            *current = state;
            true
        }
    });
}

fn compare(emojis: Option<EmojiShortAuthString>, decimals: (u16, u16, u16)) -> VerificationState {
    let emoji = emojis.map(|e| {
        std::array::from_fn(|i| Emoji {
            number: e.indices[i],
            symbol: e.emojis[i].symbol,
            name: e.emojis[i].description,
        })
    });
    match emoji {
        Some(emoji) => VerificationState::Compare(ShortCode {
            emoji: Arc::new(emoji),
            decimals,
        }),
        // Both sides offer emoji (this client always does); an exchange
        // agreed without them was not one this client offered.
        None => VerificationState::Cancelled(Cancellation {
            code: "m.unknown_method".into(),
            reason: "the other side does not show emoji".into(),
            by_us: true,
        }),
    }
}

fn cancelled(info: &CancelInfo) -> VerificationState {
    VerificationState::Cancelled(Cancellation {
        code: info.cancel_code().as_str().to_owned(),
        reason: info.reason().to_owned(),
        by_us: info.cancelled_by_us(),
    })
}

pub(super) async fn send(crypto: &Crypto, out: OutgoingVerificationRequest) -> Result<()> {
    match out {
        OutgoingVerificationRequest::InRoom(r) => crypto.send_in_room(&r).await,
        out => {
            let request = OutgoingRequest::from(out);
            requests::send(&crypto.conn, &crypto.machine, &request).await
        }
    }
}

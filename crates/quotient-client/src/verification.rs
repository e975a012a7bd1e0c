//! Interactive verification by emoji (the spec's SAS method,
//! [`m.sas.v1`](https://spec.matrix.org/v1.19/client-server-api/#short-authentication-string-sas-verification)):
//! two devices agree on seven emoji, their people compare them, and each
//! side marks the other verified.
//!
//! A [`Verification`] is one flow, asked for with
//! [`Client::request_verification`](crate::Client::request_verification)
//! or taken from [`Client::next_verification_request`](crate::Client::next_verification_request).
//! Its [`states`](Verification::states) go from
//! [`Requested`](VerificationState::Requested) to
//! [`Compare`](VerificationState::Compare), where the program shows the
//! emoji and calls [`confirm`](Verification::confirm) or
//! [`mismatch`](Verification::mismatch), and end at
//! [`Done`](VerificationState::Done) or
//! [`Cancelled`](VerificationState::Cancelled). The protocol steps
//! between them (ready, start, accept, key, MAC, done) are taken by the
//! flow itself; the client must be syncing for the other side's answers
//! to arrive.
//!
//! Verifying another user verifies their cross-signing identity, as spec
//! v1.18 asks: their devices they cross-signed are then verified too.
//!
//! ```no_run
//! # async fn run(client: quotient_client::Client) -> quotient_client::Result<()> {
//! use quotient_client::verification::VerificationState;
//!
//! let sync = client.start_sync_loop();
//! let verification = client
//!     .next_verification_request(std::time::Duration::from_secs(120))
//!     .await?
//!     .expect("no one asked within two minutes");
//! verification.accept().await?;
//! let mut states = verification.states();
//! while let Some(state) = states.next().await {
//!     match state {
//!         VerificationState::Compare(code) => {
//!             for emoji in code.emoji() {
//!                 println!("{} {}", emoji.symbol, emoji.name);
//!             }
//!             // Ask the person; here they said they match.
//!             verification.confirm().await?;
//!         }
//!         VerificationState::Done => break,
//!         VerificationState::Cancelled(why) => {
//!             eprintln!("cancelled: {}", why.reason);
//!             break;
//!         }
//!         _ => {}
//!     }
//! }
//! sync.stop().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

pub use crate::crypto::verify::Verification;

/// Where a verification flow is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerificationState {
    /// Asked for; the other side has not answered yet.
    Requested,
    /// Both sides are ready; the emoji exchange is being started.
    Ready,
    /// The emoji exchange started; the keys are being exchanged.
    Started,
    /// The seven emoji are known: show them, and call
    /// [`Verification::confirm`] if the other side shows the same ones or
    /// [`Verification::mismatch`] if not.
    Compare(ShortCode),
    /// This side confirmed; waiting for the other side to.
    Confirmed,
    /// Both sides confirmed: the other device (and, for another user,
    /// their cross-signing identity) is verified, and signed where this
    /// device holds the keys to sign it.
    Done,
    /// The flow ended without verifying anything.
    Cancelled(Cancellation),
}

impl VerificationState {
    /// Whether the flow is over ([`Done`](Self::Done) or
    /// [`Cancelled`](Self::Cancelled)).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Done | Self::Cancelled(_))
    }

    /// The step's name as the CLI prints it (`requested`, `ready`,
    /// `started`, `compare`, `confirmed`, `done`, `cancelled`).
    pub fn step(&self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Ready => "ready",
            Self::Started => "started",
            Self::Compare(_) => "compare",
            Self::Confirmed => "confirmed",
            Self::Done => "done",
            Self::Cancelled(_) => "cancelled",
        }
    }
}

/// Why a flow was cancelled, and by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    /// The spec's cancel code (`m.user`, `m.mismatched_sas`,
    /// `m.timeout`, …).
    pub code: String,
    /// The reason in words.
    pub reason: String,
    /// True when this side cancelled.
    pub by_us: bool,
}

/// The short authentication string both sides show: seven emoji and the
/// same as three numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortCode {
    pub(crate) emoji: Arc<[Emoji; 7]>,
    pub(crate) decimals: (u16, u16, u16),
}

impl ShortCode {
    /// The seven emoji, in order.
    pub fn emoji(&self) -> &[Emoji; 7] {
        &self.emoji
    }

    /// The same code as three four-digit numbers (the spec's decimal
    /// method), for a device that cannot show emoji.
    pub fn decimals(&self) -> (u16, u16, u16) {
        self.decimals
    }
}

/// One emoji of a [`ShortCode`], as the spec's
/// [table](https://spec.matrix.org/v1.19/client-server-api/#sas-method-emoji)
/// gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emoji {
    /// Its number in the table (0–63).
    pub number: u8,
    /// The emoji itself.
    pub symbol: &'static str,
    /// Its English name in the table ("Dog", "Rocket", …).
    pub name: &'static str,
}

/// A stream of a flow's states; see [`Verification::states`].
pub struct States {
    pub(crate) rx: tokio::sync::watch::Receiver<VerificationState>,
    pub(crate) first: bool,
    pub(crate) ended: bool,
}

impl States {
    /// The next state: the current one first, then each change. `None`
    /// after a final state.
    pub async fn next(&mut self) -> Option<VerificationState> {
        if self.ended {
            return None;
        }
        if self.first {
            self.first = false;
        } else if self.rx.changed().await.is_err() {
            // The flow's driver is gone: whatever it last said is final.
            self.ended = true;
            let last = self.rx.borrow().clone();
            return (!last.is_final()).then(|| {
                VerificationState::Cancelled(Cancellation {
                    code: "m.user".into(),
                    reason: "the client stopped before the flow ended".into(),
                    by_us: true,
                })
            });
        }
        let state = self.rx.borrow_and_update().clone();
        self.ended = state.is_final();
        Some(state)
    }
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("States")
            .field("current", &*self.rx.borrow())
            .finish_non_exhaustive()
    }
}

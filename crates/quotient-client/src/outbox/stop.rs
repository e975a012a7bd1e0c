//! What ends one try at an entry, and what a failed request means for it.

use quotient::StatusCode;

use crate::error::Error;

/// What a failed send means for the entry.
enum Verdict {
    /// Worth trying again with the same transaction ID.
    Transient,
    /// The session cannot send (gone, account locked, consent needed):
    /// nothing can be sent until the user acts.
    Session,
    /// The server refused the event itself: trying again will not help.
    Permanent,
}

fn verdict(e: &quotient::Error) -> Verdict {
    use StatusCode as S;
    // A proxy's 408 is about the connection, not the event.
    if e.http_status() == Some(408) {
        return Verdict::Transient;
    }
    match e.status() {
        S::Unauthorised | S::AccountLocked | S::UserDeactivated | S::UserConsentRequired => {
            Verdict::Session
        }
        // Unreadable answers (a proxy's HTML, a captive portal) may be
        // gone next time; the transaction ID makes asking again safe.
        S::NetworkError
        | S::Timeout
        | S::TooManyRequests
        | S::NetworkAuthRequired
        | S::IncorrectResponse
        | S::UnexpectedResponseType => Verdict::Transient,
        _ => Verdict::Permanent,
    }
}

/// What ends one try at an entry.
pub(crate) enum Stop {
    /// Another process owns the store's crypto machine: it sends this
    /// room's encrypted entries; this process stops trying.
    #[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
    Elsewhere(String),
    /// Wait and try this entry again.
    Retry(String),
    /// The entry can never be sent as it is: it fails, the room goes on.
    Fail(String),
    /// Stop sending in this room; its entries stay unsent.
    Halt {
        /// Because of the session (401, locked, consent), not the store.
        session: bool,
        /// What happened.
        reason: String,
    },
}

impl Stop {
    /// What a failed request means for the entry.
    pub(super) fn from_request(e: quotient::Error) -> Stop {
        match verdict(&e) {
            Verdict::Transient => Stop::Retry(e.to_string()),
            Verdict::Session => Stop::Halt {
                session: true,
                reason: format!("the session cannot send: {e}"),
            },
            Verdict::Permanent => Stop::Fail(e.to_string()),
        }
    }
}

pub(super) fn store_failed(e: Error) -> Stop {
    Stop::Halt {
        session: false,
        reason: format!("the store failed: {e}"),
    }
}

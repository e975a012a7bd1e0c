//! Failures as one line on stderr and a documented exit code.

use quotient::{Error, StatusCode};

/// What `main` reports: the exit code and one line for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

pub const USAGE: u8 = 2;
pub const NOT_SUPPORTED: u8 = 3;
pub const AUTH_FAILED: u8 = 4;
pub const RATE_LIMITED: u8 = 5;
pub const NETWORK: u8 = 6;
pub const NOT_SIGNED_IN: u8 = 7;
pub const OTHER: u8 = 1;

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    pub fn not_signed_in() -> Self {
        Self::new(NOT_SIGNED_IN, "not signed in: run `quotient login` first")
    }

    /// A library error, in the words of `what` ("login failed").
    pub fn from_error(what: &str, e: &Error) -> Self {
        let code = code_for(e);
        let mut message = describe(what, e);
        if code == NOT_SIGNED_IN {
            message += "; sign in again with `quotient login`";
        }
        Self::new(code, message)
    }
}

/// The exit code for a library error.
pub fn code_for(e: &Error) -> u8 {
    use StatusCode as S;
    // A session the server refused to refresh, or a token it no longer
    // knows (the device was logged out elsewhere): only a new sign-in helps.
    if e.session_ended()
        || (e.status() == S::Unauthorised
            && matches!(
                e.errcode().map(|c| c.as_str()),
                Some("M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN")
            ))
    {
        return NOT_SIGNED_IN;
    }
    match e.status() {
        S::Unauthorised | S::AccountLocked | S::UserDeactivated => AUTH_FAILED,
        S::ContentAccessError
        | S::RequestNotImplemented
        | S::UserConsentRequired
        | S::UnsupportedRoomVersion => NOT_SUPPORTED,
        S::TooManyRequests => RATE_LIMITED,
        S::NetworkError | S::Timeout | S::NetworkAuthRequired => NETWORK,
        S::IncorrectRequest if e.http_status().is_none() => USAGE,
        _ => OTHER,
    }
}

/// "what: why (server says: …, M_CODE)". No secrets: library messages and
/// server texts carry none, and bodies are never printed here.
pub fn describe(what: &str, e: &Error) -> String {
    let mut line = format!("{what}: {}", e.message());
    match (e.errcode(), e.server_error()) {
        (Some(code), Some(text)) => line.push_str(&format!(" — the server says: {text} ({code})")),
        (Some(code), None) => line.push_str(&format!(" ({code})")),
        (None, Some(text)) => line.push_str(&format!(" — the server says: {text}")),
        (None, None) => {}
    }
    if let Some(uri) = e.consent_uri() {
        line.push_str(&format!("; give consent at {uri} and try again"));
    }
    if e.status() == StatusCode::IncorrectResponse {
        line += "; is this URL a Matrix homeserver?";
    }
    if e.outcome_unknown() {
        line += "; it may have taken effect on the server";
    }
    line
}

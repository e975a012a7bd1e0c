//! The error a failed job resolves to.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use quotient_api::{redacted_sample, ErrorBody, ErrorCode, UiaChallenge};

use super::StatusCode;

/// Characters of the response body kept, redacted, in an error.
pub(crate) const BODY_SAMPLE_CHARS: usize = 1024;

/// Why a job failed, with everything a caller needs to act on it.
///
/// `Display` gives one line without secrets: the status, the library's
/// message and, when there is one, the server's errcode and text. The
/// fields live behind one box, so `Result<T, Error>` stays small.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    status: StatusCode,
    /// Most messages are fixed text, not allocated.
    message: Cow<'static, str>,
    http_status: Option<u16>,
    errcode: Option<ErrorCode>,
    server_error: Option<String>,
    retry_after: Option<Duration>,
    soft_logout: bool,
    consent_uri: Option<String>,
    uia: Option<UiaChallenge>,
    /// The answer's body, kept (a cheap shared handle) so the redacted
    /// sample is only computed when someone asks for it. Never printed.
    body: Option<Bytes>,
    body_sample: OnceLock<Option<String>>,
    outcome_unknown: bool,
    session_ended: bool,
    attempts: u32,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("status", &i.status)
            .field("message", &i.message)
            .field("http_status", &i.http_status)
            .field("errcode", &i.errcode)
            .field("server_error", &i.server_error)
            .field("retry_after", &i.retry_after)
            .field("soft_logout", &i.soft_logout)
            .field("consent_uri", &i.consent_uri)
            .field("uia", &i.uia)
            .field("body_sample", &self.body_sample())
            .field("outcome_unknown", &i.outcome_unknown)
            .field("session_ended", &i.session_ended)
            .field("attempts", &i.attempts)
            .field("source", &i.source)
            .finish()
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        write!(
            f,
            "{}: {}{}",
            i.status,
            i.message,
            server_suffix(i.errcode.as_ref(), i.server_error.as_deref())
        )
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

fn server_suffix(errcode: Option<&ErrorCode>, text: Option<&str>) -> String {
    match (errcode, text) {
        (Some(code), Some(text)) => format!(" ({code}: {text})"),
        (Some(code), None) => format!(" ({code})"),
        (None, Some(text)) => format!(" ({text})"),
        (None, None) => String::new(),
    }
}

impl Error {
    /// An error with a status and the library's message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self::with_message(status, Cow::Owned(message.into()))
    }

    /// [`new`](Self::new) with a fixed message.
    pub(crate) fn fixed(status: StatusCode, message: &'static str) -> Self {
        Self::with_message(status, Cow::Borrowed(message))
    }

    fn with_message(status: StatusCode, message: Cow<'static, str>) -> Self {
        Self {
            inner: Box::new(Inner {
                status,
                message,
                http_status: None,
                errcode: None,
                server_error: None,
                retry_after: None,
                soft_logout: false,
                consent_uri: None,
                uia: None,
                body: None,
                body_sample: OnceLock::new(),
                outcome_unknown: false,
                session_ended: false,
                attempts: 0,
                source: None,
            }),
        }
    }

    /// Fills in what the server said: HTTP status, the error body's fields,
    /// the UIA challenge if the body carries `flows`, and a redacted sample.
    pub(crate) fn with_server_answer(
        mut self,
        http_status: u16,
        body: Option<&ErrorBody>,
        raw_body: Bytes,
    ) -> Self {
        self.inner.http_status = Some(http_status);
        if let Some(body) = body {
            self.inner.errcode = body.errcode.clone();
            self.inner.server_error = body.error.clone();
            self.inner.soft_logout = body.soft_logout.unwrap_or(false);
            self.inner.consent_uri = body.consent_uri.clone();
            self.inner.uia = UiaChallenge::from_error_body(body);
            if self.inner.retry_after.is_none() {
                self.inner.retry_after = body.retry_after_ms.map(Duration::from_millis);
            }
        }
        self.inner.body = (!raw_body.is_empty()).then_some(raw_body);
        self
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        if retry_after.is_some() {
            self.inner.retry_after = retry_after;
        }
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn with_outcome_unknown(mut self) -> Self {
        self.inner.outcome_unknown = true;
        self
    }

    pub(crate) fn with_session_ended(mut self) -> Self {
        self.inner.session_ended = true;
        self
    }

    /// A copy for the other jobs that waited on the same refresh: what a
    /// caller reads (status, message, what the server said), without the
    /// body or the source, which cannot be copied.
    pub(crate) fn duplicate(&self) -> Self {
        let i = &self.inner;
        let mut copy = Error::with_message(i.status, i.message.clone());
        copy.inner.http_status = i.http_status;
        copy.inner.errcode = i.errcode.clone();
        copy.inner.server_error = i.server_error.clone();
        copy.inner.retry_after = i.retry_after;
        copy.inner.soft_logout = i.soft_logout;
        copy.inner.outcome_unknown = i.outcome_unknown;
        copy.inner.session_ended = i.session_ended;
        copy
    }

    pub(crate) fn set_attempts(&mut self, attempts: u32) {
        self.inner.attempts = attempts;
    }

    pub(crate) fn with_status(mut self, status: StatusCode, message: impl Into<String>) -> Self {
        self.inner.status = status;
        self.inner.message = Cow::Owned(message.into());
        self
    }

    /// The job's status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The library's description of what went wrong.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The HTTP status of the last answer, if one arrived.
    pub fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// The server's `errcode`.
    pub fn errcode(&self) -> Option<&ErrorCode> {
        self.inner.errcode.as_ref()
    }

    /// The server's `error` text.
    pub fn server_error(&self) -> Option<&str> {
        self.inner.server_error.as_deref()
    }

    /// How long the server asked the client to wait (`Retry-After`, else
    /// `retry_after_ms`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether the session is over: the server refused to refresh it (the
    /// device was logged out, the refresh token revoked). Only a new
    /// sign-in helps.
    pub fn session_ended(&self) -> bool {
        self.inner.session_ended
    }

    /// `soft_logout` on an `M_UNKNOWN_TOKEN` answer: the session can be
    /// refreshed by logging in again without losing the device.
    pub fn soft_logout(&self) -> bool {
        self.inner.soft_logout
    }

    /// Where the user can give consent (`M_CONSENT_NOT_GIVEN`).
    pub fn consent_uri(&self) -> Option<&str> {
        self.inner.consent_uri.as_deref()
    }

    /// The UIA challenge, when the answer was a 401 with `flows`.
    pub fn uia_challenge(&self) -> Option<&UiaChallenge> {
        self.inner.uia.as_ref()
    }

    /// A redacted, size-bounded sample of the response body (computed on
    /// first use).
    pub fn body_sample(&self) -> Option<&str> {
        self.inner
            .body_sample
            .get_or_init(|| {
                let body = self.inner.body.as_ref()?;
                Some(redacted_sample(body, BODY_SAMPLE_CHARS)).filter(|s| !s.is_empty())
            })
            .as_deref()
    }

    /// True when the request may have reached the server and taken effect
    /// without the job learning how: not resent after a lost answer because
    /// it is not idempotent; abandoned on its way or after a lost answer; or
    /// a PUT/DELETE whose resend after a lost answer got 404/409 or no
    /// answer either (docs/jobs.md, "Outcome unknown"). The status, HTTP
    /// status and errcode still say what the last answer was. The caller
    /// must check the state before trying again.
    pub fn outcome_unknown(&self) -> bool {
        self.inner.outcome_unknown
    }

    /// How many attempts were made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_server_details() {
        let body = ErrorBody::parse(br#"{"errcode":"M_FORBIDDEN","error":"Invalid login token"}"#);
        let e = Error::new(
            StatusCode::ContentAccessError,
            "the server refused the request",
        )
        .with_server_answer(403, body.as_ref(), Bytes::new());
        assert_eq!(
            e.to_string(),
            "ContentAccessError: the server refused the request (M_FORBIDDEN: Invalid login token)"
        );
        assert_eq!(e.http_status(), Some(403));
        assert_eq!(e.body_sample(), None);
    }

    #[test]
    fn retry_after_header_wins_over_body() {
        let body = ErrorBody::parse(br#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":9000}"#);
        let e = Error::new(StatusCode::TooManyRequests, "x")
            .with_retry_after(Some(Duration::from_secs(3)))
            .with_server_answer(429, body.as_ref(), Bytes::new());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = Error::new(StatusCode::TooManyRequests, "x").with_server_answer(
            429,
            body.as_ref(),
            Bytes::new(),
        );
        assert_eq!(e.retry_after(), Some(Duration::from_millis(9000)));
    }
}

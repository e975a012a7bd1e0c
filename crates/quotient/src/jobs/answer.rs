//! What a server's error answer means: the error a job reports for it.

use std::time::SystemTime;

use quotient_api::ErrorBody;

use super::classify::classify_failure;
use super::retry_after::parse_retry_after;
use super::{Error, StatusCode};

/// The error for a non-2xx answer: classification (docs/jobs.md), the
/// error body's fields, the UIA challenge, `Retry-After`, a redacted
/// sample. A pure function of the answer, so it can be fuzzed.
pub fn error_from_answer(http_status: u16, headers: &http::HeaderMap, body: &[u8]) -> Error {
    error_from_shared_answer(http_status, headers, bytes::Bytes::copy_from_slice(body))
}

pub(crate) fn error_from_shared_answer(
    http_status: u16,
    headers: &http::HeaderMap,
    body: bytes::Bytes,
) -> Error {
    let parsed = ErrorBody::parse(&body);
    let status = classify_failure(
        http_status,
        parsed.as_ref().and_then(|b| b.errcode.as_ref()),
    );
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    Error::new(status, failure_message(status, http_status))
        .with_retry_after(retry_after)
        .with_server_answer(http_status, parsed.as_ref(), body)
}

fn failure_message(status: StatusCode, http_status: u16) -> String {
    let what = match status {
        StatusCode::Unauthorised => "the server did not accept the credentials",
        StatusCode::ContentAccessError => "the server refused the request",
        StatusCode::NotFound => "the server has no such resource",
        StatusCode::IncorrectRequest => "the server rejected the request as invalid",
        StatusCode::TooManyRequests => "the server is rate-limiting this request",
        StatusCode::RequestNotImplemented => "the server does not implement this request",
        StatusCode::UnsupportedRoomVersion => "the room version is not supported",
        StatusCode::NetworkAuthRequired => "the network requires authentication first",
        StatusCode::UserConsentRequired => "the user has to give consent first",
        StatusCode::CannotLeaveRoom => "this room cannot be left",
        StatusCode::UserDeactivated => "the account is deactivated",
        StatusCode::AccountLocked => "the account is locked",
        StatusCode::NetworkError => "the server failed to handle the request",
        _ => "the server sent an unexpected answer",
    };
    format!("{what} (HTTP {http_status})")
}

//! What a failed job can honestly say about what it did on the server.
//!
//! A request whose answer was lost may have taken effect. The job says so
//! (`Error::outcome_unknown`) instead of reporting a plain failure, so the
//! caller checks before trying again.

use quotient_api::Method;

use super::{Error, StatusCode};

/// Whether attempts of this job may have taken effect without the job
/// learning how, so that its final error can say the outcome is unknown.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LostAnswers {
    /// Some attempt before the last one lost its answer.
    before_last: bool,
    /// Some attempt, the last one included, lost its answer.
    any: bool,
}

impl LostAnswers {
    pub(crate) fn record(&mut self, lost: bool) {
        self.before_last = self.any;
        self.any |= lost;
    }

    /// `error`, marked outcome-unknown when that is the honest reading:
    ///
    /// - abandoned after an answer was lost (abandoned while on the wire is
    ///   marked where it happens);
    /// - a PUT or DELETE resent after a lost answer that then gets 404 or
    ///   409: the lost attempt may have done it already (the media is
    ///   there, the alias is set, the thing is gone);
    /// - a PUT or DELETE whose attempts end without an answer after one
    ///   was lost.
    ///
    /// The status, HTTP status and errcode stay as they were.
    pub(crate) fn honest(self, method: Method, error: Error) -> Error {
        if error.outcome_unknown() || !self.any {
            return error;
        }
        let changes = matches!(method, Method::Put | Method::Delete);
        let why = match (error.status(), error.http_status()) {
            (StatusCode::Abandoned, _) => "an earlier attempt's answer was lost, so it may have taken effect",
            (_, Some(404 | 409)) if changes && self.before_last => {
                "this may be the result of an earlier attempt, whose answer was lost, having taken effect"
            }
            (StatusCode::Timeout | StatusCode::NetworkError, _) if changes => {
                "an attempt's answer was lost, so the request may have taken effect"
            }
            _ => return error,
        };
        let message = format!("{}; {why}", error.message());
        let status = error.status();
        error.with_status(status, message).with_outcome_unknown()
    }
}

pub(crate) fn abandoned() -> Error {
    Error::fixed(StatusCode::Abandoned, "the job was abandoned")
}

/// Abandoned while an attempt was on the wire: the request, or part of it,
/// may have reached the server and been acted on.
pub(crate) fn abandoned_on_the_wire(error: Error) -> Error {
    let message = format!(
        "{} while its request was on its way; it may have reached the server and taken effect",
        error.message()
    );
    error
        .with_status(StatusCode::Abandoned, message)
        .with_outcome_unknown()
}

pub(crate) fn not_resent(error: Error) -> Error {
    let message = format!(
        "{}; the request may have reached the server and is not resent because it is not idempotent",
        error.message()
    );
    let status = error.status();
    error.with_status(status, message).with_outcome_unknown()
}

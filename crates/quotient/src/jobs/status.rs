//! libQuotient's job status codes, kept with their names and numbers.

use std::fmt;

/// The status of a job. Numbers match libQuotient's `BaseJob::StatusCode`,
/// so logs and UIs that know those numbers keep working.
///
/// ```
/// use quotient::StatusCode;
/// assert!(StatusCode::Success.is_good());
/// assert!(!StatusCode::TooManyRequests.is_good());
/// assert_eq!(StatusCode::AccountLocked.code(), 116);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum StatusCode {
    /// The job finished successfully.
    Success = 0,
    /// The job is running.
    Pending = 1,
    /// Start of the warning range (not an actual status).
    WarningLevel = 20,
    /// The response was not of the expected content type.
    UnexpectedResponseType = 21,
    /// The job was never started.
    Unprepared = 25,
    /// The job was abandoned by the caller.
    Abandoned = 50,
    /// Start of the error range (not an actual status).
    ErrorLevel = 100,
    /// Transport failure or a 5xx answer.
    NetworkError = 101,
    /// No answer within the attempt timeout or the job's deadline.
    Timeout = 102,
    /// Missing, unknown or expired access token (401).
    Unauthorised = 103,
    /// Forbidden (403, `M_FORBIDDEN`).
    ContentAccessError = 104,
    /// Not found (404, `M_NOT_FOUND`).
    NotFound = 105,
    /// The server rejected the request as malformed.
    IncorrectRequest = 106,
    /// The answer could not be understood.
    IncorrectResponse = 107,
    /// Rate-limited (429, `M_LIMIT_EXCEEDED`) beyond what the job may wait.
    TooManyRequests = 108,
    /// The server does not implement the operation.
    RequestNotImplemented = 109,
    /// The room version is not supported.
    UnsupportedRoomVersion = 110,
    /// A captive portal or proxy asks for authentication (511).
    NetworkAuthRequired = 111,
    /// The user has to accept terms first (`M_CONSENT_NOT_GIVEN`).
    UserConsentRequired = 112,
    /// The room cannot be left (`M_CANNOT_LEAVE_SERVER_NOTICE_ROOM`).
    CannotLeaveRoom = 113,
    /// The account is deactivated.
    UserDeactivated = 114,
    /// A local file could not be read or written.
    FileError = 115,
    /// The account is locked (`M_USER_LOCKED`).
    AccountLocked = 116,
    /// Start of the range for application-defined errors.
    UserDefinedError = 256,
}

impl StatusCode {
    /// The libQuotient number.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// Whether the status is not an error (below 100).
    pub const fn is_good(self) -> bool {
        self.code() < 100
    }

    /// The status for a libQuotient number, when it names one.
    pub fn from_code(code: u16) -> Option<Self> {
        use StatusCode::*;
        [
            Success,
            Pending,
            WarningLevel,
            UnexpectedResponseType,
            Unprepared,
            Abandoned,
            ErrorLevel,
            NetworkError,
            Timeout,
            Unauthorised,
            ContentAccessError,
            NotFound,
            IncorrectRequest,
            IncorrectResponse,
            TooManyRequests,
            RequestNotImplemented,
            UnsupportedRoomVersion,
            NetworkAuthRequired,
            UserConsentRequired,
            CannotLeaveRoom,
            UserDeactivated,
            FileError,
            AccountLocked,
            UserDefinedError,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_libquotient() {
        let expected = [
            (StatusCode::Success, 0),
            (StatusCode::Pending, 1),
            (StatusCode::WarningLevel, 20),
            (StatusCode::UnexpectedResponseType, 21),
            (StatusCode::Unprepared, 25),
            (StatusCode::Abandoned, 50),
            (StatusCode::ErrorLevel, 100),
            (StatusCode::NetworkError, 101),
            (StatusCode::Timeout, 102),
            (StatusCode::Unauthorised, 103),
            (StatusCode::ContentAccessError, 104),
            (StatusCode::NotFound, 105),
            (StatusCode::IncorrectRequest, 106),
            (StatusCode::IncorrectResponse, 107),
            (StatusCode::TooManyRequests, 108),
            (StatusCode::RequestNotImplemented, 109),
            (StatusCode::UnsupportedRoomVersion, 110),
            (StatusCode::NetworkAuthRequired, 111),
            (StatusCode::UserConsentRequired, 112),
            (StatusCode::CannotLeaveRoom, 113),
            (StatusCode::UserDeactivated, 114),
            (StatusCode::FileError, 115),
            (StatusCode::AccountLocked, 116),
            (StatusCode::UserDefinedError, 256),
        ];
        for (status, code) in expected {
            assert_eq!(status.code(), code);
            assert_eq!(StatusCode::from_code(code), Some(status));
            assert_eq!(status.is_good(), code < 100);
        }
        assert_eq!(StatusCode::from_code(117), None);
    }
}

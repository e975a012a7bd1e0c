//! From an HTTP answer to a status code: the table in docs/jobs.md.

use quotient_api::ErrorCode;

use super::StatusCode;

/// Classifies a non-2xx answer. The errcode wins over the HTTP status,
/// because it is the more precise of the two; the HTTP status decides only
/// when the errcode is absent or not one the table names.
pub(crate) fn classify_failure(http_status: u16, errcode: Option<&ErrorCode>) -> StatusCode {
    errcode
        .and_then(by_errcode)
        .unwrap_or_else(|| by_http_status(http_status))
}

fn by_errcode(errcode: &ErrorCode) -> Option<StatusCode> {
    use ErrorCode as E;
    use StatusCode as S;
    Some(match errcode {
        E::LimitExceeded => S::TooManyRequests,
        E::UnknownToken | E::MissingToken => S::Unauthorised,
        E::Forbidden => S::ContentAccessError,
        E::NotFound => S::NotFound,
        E::Unrecognized => S::RequestNotImplemented,
        E::BadJson | E::NotJson | E::InvalidParam | E::MissingParam | E::TooLarge => {
            S::IncorrectRequest
        }
        E::ConsentNotGiven => S::UserConsentRequired,
        E::UnsupportedRoomVersion | E::IncompatibleRoomVersion => S::UnsupportedRoomVersion,
        E::CannotLeaveServerNoticeRoom => S::CannotLeaveRoom,
        E::UserDeactivated => S::UserDeactivated,
        E::UserLocked => S::AccountLocked,
        _ => return None,
    })
}

fn by_http_status(http_status: u16) -> StatusCode {
    use StatusCode as S;
    match http_status {
        401 => S::Unauthorised,
        403 => S::ContentAccessError,
        404 => S::NotFound,
        429 => S::TooManyRequests,
        400 | 405 | 406 | 410 | 413 => S::IncorrectRequest,
        501 => S::RequestNotImplemented,
        511 => S::NetworkAuthRequired,
        500..=599 => S::NetworkError,
        // Other client errors (409, 415, 418, …) are still the request's fault.
        400..=499 => S::IncorrectRequest,
        // 1xx and 3xx reach us only from a misbehaving server or proxy
        // (redirects are not followed for API calls).
        _ => S::IncorrectResponse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusCode as S;

    #[test]
    fn errcodes_map_as_documented() {
        let rows = [
            ("M_LIMIT_EXCEEDED", S::TooManyRequests),
            ("M_UNKNOWN_TOKEN", S::Unauthorised),
            ("M_MISSING_TOKEN", S::Unauthorised),
            ("M_FORBIDDEN", S::ContentAccessError),
            ("M_NOT_FOUND", S::NotFound),
            ("M_UNRECOGNIZED", S::RequestNotImplemented),
            ("M_BAD_JSON", S::IncorrectRequest),
            ("M_NOT_JSON", S::IncorrectRequest),
            ("M_INVALID_PARAM", S::IncorrectRequest),
            ("M_MISSING_PARAM", S::IncorrectRequest),
            ("M_TOO_LARGE", S::IncorrectRequest),
            ("M_CONSENT_NOT_GIVEN", S::UserConsentRequired),
            ("M_UNSUPPORTED_ROOM_VERSION", S::UnsupportedRoomVersion),
            ("M_INCOMPATIBLE_ROOM_VERSION", S::UnsupportedRoomVersion),
            ("M_CANNOT_LEAVE_SERVER_NOTICE_ROOM", S::CannotLeaveRoom),
            ("M_USER_DEACTIVATED", S::UserDeactivated),
            ("M_USER_LOCKED", S::AccountLocked),
        ];
        for (code, status) in rows {
            // An unusual HTTP status must not override the errcode.
            assert_eq!(
                classify_failure(418, Some(&ErrorCode::from(code))),
                status,
                "{code}"
            );
        }
        // libQuotient's misspelling is not a known code: the HTTP status decides.
        assert_eq!(
            classify_failure(401, Some(&ErrorCode::from("M_ACCOUNT_LOCKED"))),
            S::Unauthorised
        );
    }

    #[test]
    fn http_statuses_map_as_documented() {
        let rows = [
            (401, S::Unauthorised),
            (403, S::ContentAccessError),
            (404, S::NotFound),
            (429, S::TooManyRequests),
            (400, S::IncorrectRequest),
            (405, S::IncorrectRequest),
            (406, S::IncorrectRequest),
            (410, S::IncorrectRequest),
            (413, S::IncorrectRequest),
            (409, S::IncorrectRequest),
            (501, S::RequestNotImplemented),
            (511, S::NetworkAuthRequired),
            (500, S::NetworkError),
            (502, S::NetworkError),
            (503, S::NetworkError),
            (504, S::NetworkError),
            (302, S::IncorrectResponse),
        ];
        for (http, status) in rows {
            assert_eq!(classify_failure(http, None), status, "{http}");
            assert_eq!(
                classify_failure(http, Some(&ErrorCode::Unknown)),
                status,
                "{http} with M_UNKNOWN"
            );
        }
    }
}

//! The standard error body every Matrix endpoint may answer with.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::uia::AuthFlow;

macro_rules! error_codes {
    ($($variant:ident => $code:literal,)*) => {
        /// A Matrix `errcode`. Unknown codes are kept in [`ErrorCode::Other`],
        /// so nothing the server said is lost.
        ///
        /// ```
        /// use quotient_api::ErrorCode;
        /// assert_eq!(ErrorCode::from("M_USER_LOCKED"), ErrorCode::UserLocked);
        /// assert_eq!(ErrorCode::from("ORG_X_CUSTOM").as_str(), "ORG_X_CUSTOM");
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $code, "`")]
                $variant,
            )*
            /// An errcode this version of the library does not name.
            Other(String),
        }

        impl ErrorCode {
            /// The errcode as it travels on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Other(code) => code,
                }
            }
        }

        impl From<&str> for ErrorCode {
            fn from(code: &str) -> Self {
                match code {
                    $($code => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    Forbidden => "M_FORBIDDEN",
    UnknownToken => "M_UNKNOWN_TOKEN",
    MissingToken => "M_MISSING_TOKEN",
    UserLocked => "M_USER_LOCKED",
    UserSuspended => "M_USER_SUSPENDED",
    BadJson => "M_BAD_JSON",
    NotJson => "M_NOT_JSON",
    NotFound => "M_NOT_FOUND",
    LimitExceeded => "M_LIMIT_EXCEEDED",
    Unrecognized => "M_UNRECOGNIZED",
    Unknown => "M_UNKNOWN",
    Unauthorized => "M_UNAUTHORIZED",
    UserDeactivated => "M_USER_DEACTIVATED",
    UserInUse => "M_USER_IN_USE",
    InvalidUsername => "M_INVALID_USERNAME",
    RoomInUse => "M_ROOM_IN_USE",
    InvalidRoomState => "M_INVALID_ROOM_STATE",
    ThreepidInUse => "M_THREEPID_IN_USE",
    ThreepidNotFound => "M_THREEPID_NOT_FOUND",
    ThreepidAuthFailed => "M_THREEPID_AUTH_FAILED",
    ThreepidDenied => "M_THREEPID_DENIED",
    ThreepidMediumNotSupported => "M_THREEPID_MEDIUM_NOT_SUPPORTED",
    ServerNotTrusted => "M_SERVER_NOT_TRUSTED",
    UnsupportedRoomVersion => "M_UNSUPPORTED_ROOM_VERSION",
    IncompatibleRoomVersion => "M_INCOMPATIBLE_ROOM_VERSION",
    BadState => "M_BAD_STATE",
    GuestAccessForbidden => "M_GUEST_ACCESS_FORBIDDEN",
    CaptchaNeeded => "M_CAPTCHA_NEEDED",
    CaptchaInvalid => "M_CAPTCHA_INVALID",
    MissingParam => "M_MISSING_PARAM",
    InvalidParam => "M_INVALID_PARAM",
    TooLarge => "M_TOO_LARGE",
    Exclusive => "M_EXCLUSIVE",
    ResourceLimitExceeded => "M_RESOURCE_LIMIT_EXCEEDED",
    CannotLeaveServerNoticeRoom => "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM",
    ConsentNotGiven => "M_CONSENT_NOT_GIVEN",
    TermsNotSigned => "M_TERMS_NOT_SIGNED",
    WrongRoomKeysVersion => "M_WRONG_ROOM_KEYS_VERSION",
    NotYetUploaded => "M_NOT_YET_UPLOADED",
    CannotOverwriteMedia => "M_CANNOT_OVERWRITE_MEDIA",
    UnableToAuthoriseJoin => "M_UNABLE_TO_AUTHORISE_JOIN",
    UnableToGrantJoin => "M_UNABLE_TO_GRANT_JOIN",
    UnknownDevice => "M_UNKNOWN_DEVICE",
    InviteBlocked => "M_INVITE_BLOCKED",
    BadAlias => "M_BAD_ALIAS",
    ProfileTooLarge => "M_PROFILE_TOO_LARGE",
    KeyTooLarge => "M_KEY_TOO_LARGE",
    SessionNotValidated => "M_SESSION_NOT_VALIDATED",
    SessionExpired => "M_SESSION_EXPIRED",
    TokenIncorrect => "M_TOKEN_INCORRECT",
    InvalidSignature => "M_INVALID_SIGNATURE",
    AppserviceLoginUnsupported => "M_APPSERVICE_LOGIN_UNSUPPORTED",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from(code.as_ref()))
    }
}

/// The fields of an error body the library acts on.
///
/// Every field is optional: servers and proxies send all sorts of things,
/// and a body that lacks a field must still be understood as far as it goes.
/// A UIA challenge (a 401 with `flows`) shares this shape, which is why the
/// UIA keys are here too; see [`crate::UiaChallenge::from_error_body`].
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ErrorBody {
    /// `errcode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<ErrorCode>,
    /// `error`: the server's human-readable text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `retry_after_ms` (deprecated since v1.10 in favour of `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// `soft_logout` on `M_UNKNOWN_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_logout: Option<bool>,
    /// `consent_uri` on `M_CONSENT_NOT_GIVEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_uri: Option<String>,
    /// `room_version` on `M_INCOMPATIBLE_ROOM_VERSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_version: Option<String>,
    /// UIA: the flows the server offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flows: Option<Vec<AuthFlow>>,
    /// UIA: per-stage parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    /// UIA: the session to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// UIA: stages already completed in this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Vec<String>>,
}

impl ErrorBody {
    /// Parses an error body leniently: the JSON must be an object, but each
    /// field of the wrong type is dropped rather than failing the whole body.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
            return None;
        };
        let take = |key: &str| map.get(key).cloned();
        fn typed<T: serde::de::DeserializeOwned>(v: Option<serde_json::Value>) -> Option<T> {
            v.and_then(|v| serde_json::from_value(v).ok())
        }
        Some(Self {
            errcode: typed(take("errcode")),
            error: typed(take("error")),
            retry_after_ms: typed(take("retry_after_ms")),
            soft_logout: typed(take("soft_logout")),
            consent_uri: typed(take("consent_uri")),
            room_version: typed(take("room_version")),
            flows: typed(take("flows")),
            params: typed(take("params")),
            session: typed(take("session")),
            completed: typed(take("completed")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_round_trip_and_keep_unknown_ones() {
        for code in [
            "M_USER_LOCKED",
            "M_LIMIT_EXCEEDED",
            "M_FORBIDDEN",
            "M_WHATEVER",
        ] {
            let parsed = ErrorCode::from(code);
            assert_eq!(parsed.as_str(), code);
        }
        assert_eq!(
            ErrorCode::from("M_ACCOUNT_LOCKED"),
            ErrorCode::Other("M_ACCOUNT_LOCKED".into())
        );
    }

    #[test]
    fn lenient_parse_drops_mistyped_fields_only() {
        let body = br#"{"errcode":"M_LIMIT_EXCEEDED","error":5,"retry_after_ms":"soon","soft_logout":true}"#;
        let parsed = ErrorBody::parse(body).unwrap();
        assert_eq!(parsed.errcode, Some(ErrorCode::LimitExceeded));
        assert_eq!(parsed.error, None);
        assert_eq!(parsed.retry_after_ms, None);
        assert_eq!(parsed.soft_logout, Some(true));
        assert!(ErrorBody::parse(b"<html>502</html>").is_none());
        assert!(ErrorBody::parse(b"[1,2]").is_none());
    }
}

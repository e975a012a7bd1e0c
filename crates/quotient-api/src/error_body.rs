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
    /// As in a JSON object read into a map, the last of duplicate keys wins.
    ///
    /// One pass over the body: each known field's text is borrowed and
    /// decoded into its type, other keys are skipped without allocating.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let body = de.deserialize_map(LenientVisitor).ok()?;
        de.end().ok()?;
        Some(body)
    }
}

/// The keys [`ErrorBody`] reads; the rest are skipped.
enum Key {
    Errcode,
    Error,
    RetryAfterMs,
    SoftLogout,
    ConsentUri,
    RoomVersion,
    Flows,
    Params,
    Session,
    Completed,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "errcode" => Key::Errcode,
                    "error" => Key::Error,
                    "retry_after_ms" => Key::RetryAfterMs,
                    "soft_logout" => Key::SoftLogout,
                    "consent_uri" => Key::ConsentUri,
                    "room_version" => Key::RoomVersion,
                    "flows" => Key::Flows,
                    "params" => Key::Params,
                    "session" => Key::Session,
                    "completed" => Key::Completed,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct LenientVisitor;

impl<'de> serde::de::Visitor<'de> for LenientVisitor {
    type Value = ErrorBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ErrorBody, A::Error> {
        /// The field's value as `T`, or `None` when it has another type
        /// (`null` included, as for a missing field).
        fn typed<T: serde::de::DeserializeOwned>(raw: &serde_json::value::RawValue) -> Option<T> {
            serde_json::from_str(raw.get()).ok()
        }
        let mut body = ErrorBody::default();
        while let Some(key) = map.next_key::<Key>()? {
            if let Key::Other = key {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            let raw: &serde_json::value::RawValue = map.next_value()?;
            match key {
                Key::Errcode => body.errcode = typed(raw),
                Key::Error => body.error = typed(raw),
                Key::RetryAfterMs => body.retry_after_ms = typed(raw),
                Key::SoftLogout => body.soft_logout = typed(raw),
                Key::ConsentUri => body.consent_uri = typed(raw),
                Key::RoomVersion => body.room_version = typed(raw),
                Key::Flows => body.flows = typed(raw),
                Key::Params => body.params = typed(raw),
                Key::Session => body.session = typed(raw),
                Key::Completed => body.completed = typed(raw),
                Key::Other => {}
            }
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward reading: the whole body as a `Value` map, then
    /// each field on its own. The one-pass parser must agree with it.
    fn parse_via_value(body: &[u8]) -> Option<ErrorBody> {
        let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
            return None;
        };
        fn typed<T: serde::de::DeserializeOwned>(v: Option<&serde_json::Value>) -> Option<T> {
            v.and_then(|v| serde_json::from_value(v.clone()).ok())
        }
        Some(ErrorBody {
            errcode: typed(map.get("errcode")),
            error: typed(map.get("error")),
            retry_after_ms: typed(map.get("retry_after_ms")),
            soft_logout: typed(map.get("soft_logout")),
            consent_uri: typed(map.get("consent_uri")),
            room_version: typed(map.get("room_version")),
            flows: typed(map.get("flows")),
            params: typed(map.get("params")),
            session: typed(map.get("session")),
            completed: typed(map.get("completed")),
        })
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(serde_json::Value::from),
            "M_[A-Z_]{0,12}|m\\.login\\.[a-z]{1,8}|.{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("stages|type|[a-z.]{1,8}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Objects mixing the known keys (any value type, repeated keys
        /// included) with unknown ones parse as the `Value` reading does.
        #[test]
        fn one_pass_parse_agrees_on_any_object(
            fields in proptest::collection::vec(
                ("errcode|error|retry_after_ms|soft_logout|consent_uri|room_version|flows|params|session|completed|[a-z_]{1,10}", json_value()),
                0..8,
            )
        ) {
            let text = format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            proptest::prop_assert_eq!(ErrorBody::parse(text.as_bytes()), parse_via_value(text.as_bytes()), "{}", text);
        }
    }

    #[test]
    fn one_pass_parse_agrees_with_reading_a_value_map() {
        let bodies: &[&str] = &[
            r#"{"errcode":"M_FORBIDDEN","error":"no"}"#,
            r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":1500,"extra":{"a":[1,2,{"b":null}]}}"#,
            r#"{"flows":[{"stages":["m.login.password"]}],"params":{"m.login.terms":{"policies":{}}},"session":"s","completed":["m.login.dummy"]}"#,
            r#"{"errcode":42,"error":["not","text"],"retry_after_ms":-1,"soft_logout":"yes","flows":{"x":1}}"#,
            r#"{"errcode":null,"error":null,"session":null}"#,
            r#"{"error":"first","error":"second","errcode":"M_A","errcode":7}"#,
            r#"{"err\u0063ode":"M_ESCAPED_KEY","error":"tab\tand \"quote\" and \u00e9"}"#,
            r#"{"retry_after_ms":1.5,"soft_logout":true,"consent_uri":"https://x/y","room_version":"11"}"#,
            r#"  {"errcode":"M_UNKNOWN"}  "#,
            r#"{}"#,
            r#"[]"#,
            r#""text""#,
            r#"null"#,
            r#"{"errcode":"M_X"} trailing"#,
            r#"{"errcode":"M_X""#,
            r#"<html>502</html>"#,
            "",
        ];
        for body in bodies {
            assert_eq!(
                ErrorBody::parse(body.as_bytes()),
                parse_via_value(body.as_bytes()),
                "{body}"
            );
        }
    }

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

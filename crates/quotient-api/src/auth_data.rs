//! The `auth` object of User-Interactive Authentication requests.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::SecretString;

/// What a client sends as `auth` to complete a UIA stage.
///
/// It carries credentials (a password, a token), so `Debug` shows only the
/// stage type and session, and every string it holds is zeroed on drop.
///
/// ```
/// use quotient_api::AuthData;
/// let auth = AuthData::password("@alice:example.org", "hunter2".into(), Some("sess".into()));
/// assert!(!format!("{auth:?}").contains("hunter2"));
/// let json = serde_json::to_value(&auth).unwrap();
/// assert_eq!(json["type"], "m.login.password");
/// assert_eq!(json["identifier"]["user"], "@alice:example.org");
/// assert_eq!(json["password"], "hunter2");
/// assert_eq!(json["session"], "sess");
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthData {
    /// The stage type (`m.login.password`, `m.login.dummy`, …). Absent when
    /// only the session is sent back after an out-of-band stage.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The UIA session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The stage's own keys (`identifier`, `password`, `token`, …).
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl AuthData {
    /// A stage with no keys of its own, e.g. `m.login.dummy`.
    pub fn stage(kind: impl Into<String>, session: Option<String>) -> Self {
        Self {
            kind: Some(kind.into()),
            session,
            fields: serde_json::Map::new(),
        }
    }

    /// The `m.login.password` stage for a user ID (or localpart).
    pub fn password(user: &str, password: SecretString, session: Option<String>) -> Self {
        let mut auth = Self::stage("m.login.password", session);
        auth.fields.insert(
            "identifier".into(),
            serde_json::json!({"type": "m.id.user", "user": user}),
        );
        auth.fields.insert(
            "password".into(),
            serde_json::Value::String(password.expose().to_owned()),
        );
        auth
    }

    /// Only the session: what is sent after an out-of-band (fallback) stage.
    pub fn session_only(session: String) -> Self {
        Self {
            kind: None,
            session: Some(session),
            fields: serde_json::Map::new(),
        }
    }
}

impl fmt::Debug for AuthData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthData")
            .field("kind", &self.kind)
            .field("session", &self.session)
            .field("fields", &"<redacted>")
            .finish()
    }
}

fn zeroize_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(zeroize_value),
        serde_json::Value::Object(map) => map.values_mut().for_each(zeroize_value),
        _ => {}
    }
}

impl Drop for AuthData {
    fn drop(&mut self) {
        self.fields.values_mut().for_each(zeroize_value);
    }
}

//! A string that must never reach a log line, an error message or a panic.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

/// A secret string: an access token, a password, a login token.
///
/// * `Debug` prints `SecretString(<redacted>)`, never the value.
/// * There is no `Display`: the value is only reachable through
///   [`expose`](Self::expose), so every place that reveals it is greppable.
/// * The heap buffer is overwritten with zeros when the value is dropped.
///
/// It serialises as a plain JSON string, because request bodies (a login,
/// a UIA stage) have to carry the value to the server.
///
/// ```
/// use quotient_api::SecretString;
/// let token = SecretString::new("syt_abc");
/// assert_eq!(format!("{token:?}"), "SecretString(<redacted>)");
/// assert_eq!(token.expose(), "syt_abc");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a value; the argument's own buffer is moved, not copied.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret value. Call this only where the value must leave the
    /// process (a request header or body).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl Zeroize for SecretString {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_serde_round_trips() {
        let s = SecretString::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"hunter2\"");
        let back: SecretString = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}

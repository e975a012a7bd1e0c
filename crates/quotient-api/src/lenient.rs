//! Optional identifiers read leniently from server answers.
//!
//! Servers send identifiers that do not parse where one is optional: an
//! `avatar_url` of `""` for a removed avatar is common. One such value
//! must not fail a whole answer (a user directory search, a public room
//! list), so an optional identifier field of a generated type reads a
//! value that is not a valid identifier as absent (`None`). Required
//! identifiers stay strict: a bad `user_id` in `/whoami` is an answer the
//! client cannot use. Event payloads are raw JSON and never fail on an
//! identifier inside them.

use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// `Some(id)` when the value is a string that parses as `T`, `None` for
/// `null`, a string that does not parse, or a non-string.
#[doc(hidden)]
pub fn optional_id<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(match value {
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::MxcUri;

    #[derive(Debug, Deserialize)]
    struct Profile {
        #[serde(default, deserialize_with = "super::optional_id")]
        avatar_url: Option<MxcUri>,
    }

    #[test]
    fn an_unparsable_optional_identifier_reads_as_absent() {
        for json in [
            r#"{"avatar_url":""}"#,
            r#"{"avatar_url":"https://x"}"#,
            r#"{"avatar_url":3}"#,
            "{}",
        ] {
            let p: Profile = serde_json::from_str(json).unwrap();
            assert_eq!(p.avatar_url, None, "{json}");
        }
        let p: Profile = serde_json::from_str(r#"{"avatar_url":"mxc://example.org/abc"}"#).unwrap();
        assert_eq!(p.avatar_url.unwrap().as_str(), "mxc://example.org/abc");
    }
}

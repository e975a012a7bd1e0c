//! Optional fields that may also be `null`.
//!
//! Where the spec lets a field be absent *or* `null` (`PushCondition.value`,
//! `status_msg`), the generated field is `Option<Option<T>>`: `None` when
//! the key is absent, `Some(None)` for an explicit `null`, `Some(Some(v))`
//! for a value. Written back, absent stays absent and `null` stays `null`,
//! so a push rule read from the server and sent again keeps its meaning.

use serde::{Deserialize, Deserializer};

/// Deserializes a present key (value or `null`) into `Some(…)`; the
/// field's `#[serde(default)]` covers the absent key.
#[doc(hidden)]
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "super::present"
        )]
        value: Option<Option<i64>>,
    }

    #[test]
    fn absent_null_and_value_survive_a_round_trip() {
        for (json, expected) in [
            ("{}", None),
            (r#"{"value":null}"#, Some(None)),
            (r#"{"value":3}"#, Some(Some(3))),
        ] {
            let read: Holder = serde_json::from_str(json).unwrap();
            assert_eq!(read.value, expected, "{json}");
            assert_eq!(serde_json::to_string(&read).unwrap(), json);
        }
    }
}

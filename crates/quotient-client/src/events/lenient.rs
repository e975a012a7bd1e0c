//! Field decoders for details that must not cost a whole event.
//!
//! Clients in the wild send `"w": 1920.0` or a malformed thumbnail block;
//! losing the message over such a detail would be worse than losing the
//! detail, and the raw JSON still holds it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An optional field that is `None` when it does not fit `T`, instead of
/// failing the content it sits in. Use with `#[serde(default)]`.
pub(crate) fn or_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    Ok(T::deserialize(&value).ok())
}

/// A power level: an integer, or (room versions before 10 allowed it) a
/// string holding one. `None` when it is neither.
pub(crate) fn power_level(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "or_none")]
        w: Option<u64>,
    }

    #[test]
    fn a_field_of_the_wrong_type_is_none() {
        let p: Probe = serde_json::from_value(json!({"w": "wide"})).unwrap();
        assert_eq!(p.w, None);
        let p: Probe = serde_json::from_value(json!({"w": 3})).unwrap();
        assert_eq!(p.w, Some(3));
        let p: Probe = serde_json::from_value(json!({})).unwrap();
        assert_eq!(p.w, None);
    }

    #[test]
    fn power_levels_may_be_strings() {
        assert_eq!(power_level(&json!(50)), Some(50));
        assert_eq!(power_level(&json!("-5")), Some(-5));
        assert_eq!(power_level(&json!("x")), None);
        assert_eq!(power_level(&json!(1.5)), None);
    }
}

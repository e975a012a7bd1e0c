//! Events in a list that are typed when they can be and kept raw when not.

use std::cell::Cell;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

thread_local! {
    static STRICT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with [`Lenient`] strict on this thread: an event that does not
/// fit its type is a decode error instead of [`Lenient::Invalid`].
///
/// For tests that check the types themselves (spec examples, answers of a
/// real server), where a fallback would hide a wrong type.
#[doc(hidden)]
pub fn strict_events<R>(f: impl FnOnce() -> R) -> R {
    let before = STRICT.with(|s| s.replace(true));
    let result = f();
    STRICT.with(|s| s.set(before));
    result
}

/// An item of an event list (`/sync` timelines and state, `/messages`
/// chunks, `/context`, relations, search results, …).
///
/// One malformed event (a bad `sender`, a missing `event_id`) must not
/// fail the whole answer, or a client could never get past it: a sync
/// loop would fetch the same batch forever. So each event is decoded on
/// its own; one that does not fit its type is kept as
/// [`Lenient::Invalid`] with its JSON untouched and the reason, and
/// written back exactly as it came.
///
/// ```
/// use quotient_api::generated::definitions::TimelineBatch;
/// let timeline: TimelineBatch = serde_json::from_str(r#"{"events": [
///     {"type": "m.room.message", "event_id": "$a", "sender": "@alice:example.org",
///      "origin_server_ts": 1, "content": {"body": "hi"}},
///     {"type": "m.room.message", "event_id": "$b", "sender": "not a user ID",
///      "origin_server_ts": 2, "content": {}}
/// ]}"#).unwrap();
/// assert_eq!(timeline.events[0].typed().unwrap().sender.as_str(), "@alice:example.org");
/// assert!(timeline.events[1].typed().is_none());
/// assert_eq!(timeline.events[1].json()["event_id"], "$b");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Lenient<T> {
    /// The event decoded into its type.
    Typed(T),
    /// The event as it came, because it does not fit the type.
    Invalid {
        /// The event's JSON, untouched.
        json: serde_json::Value,
        /// Why it does not fit (serde's message: the field and the fault).
        reason: String,
    },
}

impl<T> Lenient<T> {
    /// The typed event, if it decoded.
    pub fn typed(&self) -> Option<&T> {
        match self {
            Lenient::Typed(t) => Some(t),
            Lenient::Invalid { .. } => None,
        }
    }

    /// The typed event, if it decoded, by value.
    pub fn into_typed(self) -> Option<T> {
        match self {
            Lenient::Typed(t) => Some(t),
            Lenient::Invalid { .. } => None,
        }
    }
}

impl<T: Serialize> Lenient<T> {
    /// The event as JSON: re-encoded when typed, as it came when not.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Lenient::Typed(t) => serde_json::to_value(t).unwrap_or(serde_json::Value::Null),
            Lenient::Invalid { json, .. } => json.clone(),
        }
    }
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Lenient::Typed(t) => t.serialize(serializer),
            Lenient::Invalid { json, .. } => json.serialize(serializer),
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The item's text first (one copy, no tree), then the type from it:
        // a fault inside the item stays inside the item.
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        match serde_json::from_str::<T>(raw.get()) {
            Ok(t) => Ok(Lenient::Typed(t)),
            Err(e) if STRICT.with(Cell::get) => Err(serde::de::Error::custom(e)),
            Err(e) => Ok(Lenient::Invalid {
                json: serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?,
                reason: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ev {
        event_id: crate::EventId,
    }

    #[test]
    fn a_bad_event_is_kept_raw_and_written_back_as_it_came() {
        let text = r#"[{"event_id":"$a"},{"event_id":"no sigil","x":1},{"event_id":"$c"}]"#;
        let list: Vec<Lenient<Ev>> = serde_json::from_str(text).unwrap();
        assert!(list[0].typed().is_some() && list[2].typed().is_some());
        match &list[1] {
            Lenient::Invalid { json, reason } => {
                assert_eq!(json["x"], 1);
                assert!(reason.contains("event ID"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let back: serde_json::Value = serde_json::to_value(&list).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        // Strict (for type checks), the same list is an error.
        assert!(strict_events(|| serde_json::from_str::<Vec<Lenient<Ev>>>(text)).is_err());
        assert!(
            serde_json::from_str::<Vec<Lenient<Ev>>>(text).is_ok(),
            "strict ends with f"
        );
    }
}

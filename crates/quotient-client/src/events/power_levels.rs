//! `m.room.power_levels`: who may do what in a room.

use std::collections::BTreeMap;
use std::fmt;

use quotient_api::UserId;

use serde_json::{Map, Value};

use super::lenient::power_level;
use super::{ContentError, EventContent};

const EVENT_TYPE: &str = "m.room.power_levels";

/// A user's power level in a room: a number, or above every number (a
/// creator in room version 12 and later).
///
/// ```
/// use quotient_client::events::PowerLevel;
/// assert!(PowerLevel::Creator > PowerLevel::Level(i64::MAX));
/// assert!(PowerLevel::Level(100) > PowerLevel::Level(50));
/// assert_eq!(PowerLevel::Level(50).to_string(), "power level 50");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PowerLevel {
    /// An ordinary level.
    Level(i64),
    /// A creator of a room whose version makes creators outrank everyone.
    Creator,
}

impl fmt::Display for PowerLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PowerLevel::Level(n) => write!(f, "power level {n}"),
            PowerLevel::Creator => f.write_str("the creator's rank (above every level)"),
        }
    }
}

/// The content of `m.room.power_levels`, with the spec's defaults filled
/// in for every key the event leaves out.
///
/// Levels may be integers or, as room versions before 10 allowed, strings
/// holding one; a value that is neither makes the content an error.
///
/// These defaults are those of a power-levels event that omits a key. A
/// room with no power-levels event at all follows other rules (its creator
/// may do everything), and room version 12's creators outrank any level:
/// both are for the caller, who knows the room's create event.
///
/// ```
/// use quotient_client::events::{EventContent, PowerLevelsContent};
/// let pl = PowerLevelsContent::from_content(&serde_json::json!({
///     "users": {"@admin:example.org": 100},
///     "events": {"m.room.name": 100}
/// })).unwrap();
/// let (admin, guest) = ("@admin:example.org".parse()?, "@guest:example.org".parse()?);
/// assert!(pl.can_send(&admin, "m.room.name", true));
/// assert!(!pl.can_send(&guest, "m.room.name", true));
/// assert!(pl.can_send(&guest, "m.room.message", false));
/// # Ok::<(), quotient_api::IdError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PowerLevelsContent {
    /// Level needed to ban; default 50.
    pub ban: i64,
    /// Level needed to invite; default 0.
    pub invite: i64,
    /// Level needed to kick; default 50.
    pub kick: i64,
    /// Level needed to redact someone else's event; default 50.
    pub redact: i64,
    /// Level needed for a message event not in `events`; default 0.
    pub events_default: i64,
    /// Level needed for a state event not in `events`; default 50.
    pub state_default: i64,
    /// Level of a user not in `users`; default 0.
    pub users_default: i64,
    /// Levels needed per event type.
    pub events: BTreeMap<String, i64>,
    /// Levels per user ID.
    pub users: BTreeMap<String, i64>,
    /// Level needed per notification kind (`room`: to mention `@room`;
    /// default 50).
    pub notifications: BTreeMap<String, i64>,
}

impl PowerLevelsContent {
    /// A user's level (as listed; room version 12's creators, never
    /// listed, are [`RoomPower`](crate::room::RoomPower)'s to rank).
    pub fn user_level(&self, user_id: &UserId) -> i64 {
        self.users
            .get(user_id.as_str())
            .copied()
            .unwrap_or(self.users_default)
    }

    /// The level needed to send an event of `event_type`.
    pub fn event_level(&self, event_type: &str, is_state: bool) -> i64 {
        self.events.get(event_type).copied().unwrap_or(if is_state {
            self.state_default
        } else {
            self.events_default
        })
    }

    /// Whether `user_id` may send an event of `event_type` (a state event
    /// when `is_state`).
    pub fn can_send(&self, user_id: &UserId, event_type: &str, is_state: bool) -> bool {
        self.user_level(user_id) >= self.event_level(event_type, is_state)
    }

    /// The level needed for a notification kind such as `room`.
    pub fn notification_level(&self, kind: &str) -> i64 {
        // The spec defines only `room` (default 50); an unknown kind is
        // guarded as much.
        self.notifications.get(kind).copied().unwrap_or(50)
    }
}

fn level(content: &Map<String, Value>, key: &str, default: i64) -> Result<i64, ContentError> {
    match content.get(key) {
        None => Ok(default),
        Some(value) => power_level(value)
            .ok_or_else(|| ContentError::new(EVENT_TYPE, format!("`{key}` is not a power level"))),
    }
}

fn levels(content: &Map<String, Value>, key: &str) -> Result<BTreeMap<String, i64>, ContentError> {
    let Some(value) = content.get(key) else {
        return Ok(BTreeMap::new());
    };
    let Some(map) = value.as_object() else {
        return Err(ContentError::new(
            EVENT_TYPE,
            format!("`{key}` is not an object"),
        ));
    };
    map.iter()
        .map(|(k, v)| match power_level(v) {
            Some(level) => Ok((k.clone(), level)),
            None => Err(ContentError::new(
                EVENT_TYPE,
                format!("`{key}.{k}` is not a power level"),
            )),
        })
        .collect()
}

impl EventContent for PowerLevelsContent {
    const EVENT_TYPE: &'static str = EVENT_TYPE;

    fn from_content(content: &Value) -> Result<Self, ContentError> {
        let Some(c) = content.as_object() else {
            return Err(ContentError::new(EVENT_TYPE, "content is not an object"));
        };
        Ok(PowerLevelsContent {
            ban: level(c, "ban", 50)?,
            invite: level(c, "invite", 0)?,
            kick: level(c, "kick", 50)?,
            redact: level(c, "redact", 50)?,
            events_default: level(c, "events_default", 0)?,
            state_default: level(c, "state_default", 50)?,
            users_default: level(c, "users_default", 0)?,
            events: levels(c, "events")?,
            users: levels(c, "users")?,
            notifications: levels(c, "notifications")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn u(s: &str) -> UserId {
        s.parse().unwrap()
    }

    fn decode(content: Value) -> Result<PowerLevelsContent, ContentError> {
        PowerLevelsContent::from_content(&content)
    }

    #[test]
    fn an_empty_event_has_the_spec_defaults() {
        let pl = decode(json!({})).unwrap();
        assert_eq!((pl.ban, pl.invite, pl.kick, pl.redact), (50, 0, 50, 50));
        assert_eq!(
            (pl.events_default, pl.state_default, pl.users_default),
            (0, 50, 0)
        );
        assert_eq!(pl.notification_level("room"), 50);
        assert_eq!(pl.user_level(&u("@a:x")), 0);
        assert!(pl.can_send(&u("@a:x"), "m.room.message", false));
        assert!(!pl.can_send(&u("@a:x"), "m.room.topic", true));
    }

    #[test]
    fn users_and_events_override_the_defaults() {
        let pl = decode(json!({"users": {"@mod:x": 50}, "users_default": 10,
            "events": {"m.room.topic": 10, "m.reaction": 20}, "notifications": {"room": 20}}))
        .unwrap();
        assert_eq!(pl.user_level(&u("@mod:x")), 50);
        assert_eq!(pl.user_level(&u("@a:x")), 10);
        assert!(pl.can_send(&u("@a:x"), "m.room.topic", true));
        assert!(!pl.can_send(&u("@a:x"), "m.reaction", false));
        assert!(pl.can_send(&u("@mod:x"), "m.room.name", true));
        assert_eq!(pl.notification_level("room"), 20);
    }

    #[test]
    fn string_levels_from_old_rooms_are_read() {
        let pl = decode(json!({"ban": "75", "users": {"@a:x": "100"}})).unwrap();
        assert_eq!((pl.ban, pl.user_level(&u("@a:x"))), (75, 100));
    }

    #[test]
    fn a_level_that_is_not_one_is_an_error() {
        assert!(decode(json!({"kick": true})).is_err());
        assert!(decode(json!({"users": {"@a:x": "lots"}})).is_err());
        assert!(decode(json!({"events": []})).is_err());
        assert!(decode(json!([])).is_err());
    }
}

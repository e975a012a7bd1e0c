//! The redaction algorithm: what is left of an event once it is redacted,
//! by room version.
//!
//! A client strips stored events itself when it sees a redaction (the
//! server only sends the stripped copy to later readers), so it must strip
//! exactly as the server does or the stored copy and a re-fetched one
//! disagree. The rules are the room versions' "Redactions" sections
//! ([v1](https://spec.matrix.org/v1.19/rooms/v1/#redactions),
//! [v6](https://spec.matrix.org/v1.19/rooms/v6/#redactions),
//! [v8](https://spec.matrix.org/v1.19/rooms/v8/#redactions),
//! [v9](https://spec.matrix.org/v1.19/rooms/v9/#redactions),
//! [v11](https://spec.matrix.org/v1.19/rooms/v11/#redactions)), kept here
//! as data: one [`Rules`] per version.

use serde_json::{Map, Value};

/// What one room version's algorithm keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rules {
    /// Top-level keys kept besides `content`.
    top_level: &'static [&'static str],
    /// `m.room.aliases` keeps `aliases` (versions 1–5).
    aliases: bool,
    /// `m.room.join_rules` keeps `allow` (8 on: restricted rooms).
    join_rules_allow: bool,
    /// `m.room.member` keeps `join_authorised_via_users_server` (9 on).
    join_authorised: bool,
    /// Version 11's changes: `m.room.create` keeps all its content,
    /// `m.room.redaction` keeps `redacts`, `m.room.power_levels` keeps
    /// `invite`, and `m.room.member` keeps `third_party_invite.signed`.
    v11: bool,
}

const TOP_LEVEL_V1: &[&str] = &[
    "event_id",
    "type",
    "room_id",
    "sender",
    "state_key",
    "hashes",
    "signatures",
    "depth",
    "prev_events",
    "prev_state",
    "auth_events",
    "origin",
    "origin_server_ts",
    "membership",
];

/// Version 11 stops protecting `origin`, `membership` and `prev_state`.
const TOP_LEVEL_V11: &[&str] = &[
    "event_id",
    "type",
    "room_id",
    "sender",
    "state_key",
    "hashes",
    "signatures",
    "depth",
    "prev_events",
    "auth_events",
    "origin_server_ts",
];

const POWER_LEVELS_V1: &[&str] = &[
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
];

const POWER_LEVELS_V11: &[&str] = &[
    "ban",
    "events",
    "events_default",
    "invite",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
];

/// The newest version whose rules are known; 12 changed nothing here.
const NEWEST: Rules = rules_for(11);

const fn rules_for(version: u32) -> Rules {
    Rules {
        top_level: if version >= 11 {
            TOP_LEVEL_V11
        } else {
            TOP_LEVEL_V1
        },
        aliases: version <= 5,
        join_rules_allow: version >= 8,
        join_authorised: version >= 9,
        v11: version >= 11,
    }
}

/// The rules of `room_version`. Versions 1–12 are known; any other
/// (a future version, an experimental `org.example.*` one) gets the newest
/// rules: a new version is most likely built on the newest, as 12 was on
/// 11, and guessing an old version's rules would keep `origin` and
/// `membership` the newer versions strip.
fn rules(room_version: &str) -> Rules {
    match room_version.parse::<u32>() {
        Ok(v @ 1..=12) => rules_for(v),
        _ => NEWEST,
    }
}

/// `event` as its room version's redaction algorithm leaves it.
///
/// Every top-level key the version does not protect goes (`unsigned`
/// included), and `content` keeps only the keys the version protects for
/// the event's type, so an unknown type's content is emptied. The result
/// always has a `content` object, even when the event had none, as every
/// reader expects one. A value that is not an object is returned as it is:
/// there is nothing to strip.
///
/// To mark the event redacted for readers, see [`apply_redaction`].
///
/// ```
/// use quotient_client::events::redact;
/// use serde_json::json;
/// let message = json!({"type": "m.room.message", "event_id": "$1", "sender": "@a:x",
///     "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "oops"},
///     "unsigned": {"age": 5}});
/// assert_eq!(redact(&message, "11"), json!({"type": "m.room.message", "event_id": "$1",
///     "sender": "@a:x", "origin_server_ts": 1, "content": {}}));
/// ```
pub fn redact(event: &Value, room_version: &str) -> Value {
    let Some(map) = event.as_object() else {
        return event.clone();
    };
    let rules = rules(room_version);
    let mut out: Map<String, Value> = rules
        .top_level
        .iter()
        .filter_map(|key| Some(((*key).to_owned(), map.get(*key)?.clone())))
        .collect();
    let event_type = map.get("type").and_then(Value::as_str).unwrap_or_default();
    let content = match map.get("content").and_then(Value::as_object) {
        Some(content) => redact_content(event_type, content, rules),
        None => Map::new(),
    };
    out.insert("content".to_owned(), Value::Object(content));
    Value::Object(out)
}

/// [`redact`], then `unsigned.redacted_because` set to the redaction event,
/// as servers present a redacted event to clients: it is how a reader
/// (and [`Event::is_redacted`](super::Event::is_redacted)) tells a
/// redacted event from one that was sent empty.
pub fn apply_redaction(event: &Value, room_version: &str, redaction: &Value) -> Value {
    let mut redacted = redact(event, room_version);
    if let Some(map) = redacted.as_object_mut() {
        let mut unsigned = Map::new();
        unsigned.insert("redacted_because".to_owned(), redaction.clone());
        map.insert("unsigned".to_owned(), Value::Object(unsigned));
    }
    redacted
}

fn redact_content(
    event_type: &str,
    content: &Map<String, Value>,
    rules: Rules,
) -> Map<String, Value> {
    let keep = |keys: &[&str]| -> Map<String, Value> {
        keys.iter()
            .filter_map(|key| Some(((*key).to_owned(), content.get(*key)?.clone())))
            .collect()
    };
    match event_type {
        "m.room.member" => {
            let mut kept = if rules.join_authorised {
                keep(&["membership", "join_authorised_via_users_server"])
            } else {
                keep(&["membership"])
            };
            if rules.v11 {
                if let Some(signed) = content
                    .get("third_party_invite")
                    .and_then(|invite| invite.get("signed"))
                {
                    let mut invite = Map::new();
                    invite.insert("signed".to_owned(), signed.clone());
                    kept.insert("third_party_invite".to_owned(), Value::Object(invite));
                }
            }
            kept
        }
        "m.room.create" if rules.v11 => content.clone(),
        "m.room.create" => keep(&["creator"]),
        "m.room.join_rules" if rules.join_rules_allow => keep(&["join_rule", "allow"]),
        "m.room.join_rules" => keep(&["join_rule"]),
        "m.room.power_levels" if rules.v11 => keep(POWER_LEVELS_V11),
        "m.room.power_levels" => keep(POWER_LEVELS_V1),
        "m.room.history_visibility" => keep(&["history_visibility"]),
        "m.room.aliases" if rules.aliases => keep(&["aliases"]),
        "m.room.redaction" if rules.v11 => keep(&["redacts"]),
        _ => Map::new(),
    }
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;

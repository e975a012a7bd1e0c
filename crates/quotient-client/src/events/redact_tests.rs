//! Table-driven tests of [`redact`]: per event type, per room version, and
//! where version 11 changed the rules.

use super::*;
use serde_json::json;

const ALL_VERSIONS: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
];

fn event(event_type: &str, content: Value) -> Value {
    json!({
        "type": event_type, "event_id": "$e", "room_id": "!r:x", "sender": "@a:x",
        "state_key": "", "origin_server_ts": 1, "content": content,
        "unsigned": {"age": 1}
    })
}

/// One row: an event type and content, the versions it applies to, and
/// the content expected to be left.
struct Case {
    name: &'static str,
    event_type: &'static str,
    content: Value,
    versions: std::ops::RangeInclusive<usize>,
    kept: Value,
}

fn versions(from: &str, to: &str) -> std::ops::RangeInclusive<usize> {
    let at = |v: &str| {
        ALL_VERSIONS
            .iter()
            .position(|x| *x == v)
            .unwrap_or_default()
    };
    at(from)..=at(to)
}

fn cases() -> Vec<Case> {
    let member = json!({"membership": "join", "displayname": "A", "avatar_url": "mxc://x/a",
        "reason": "r", "is_direct": true, "join_authorised_via_users_server": "@b:y",
        "third_party_invite": {"display_name": "a", "signed": {"mxid": "@a:x", "token": "t"}}});
    let power_levels = json!({"ban": 50, "events": {"m.room.name": 100}, "events_default": 0,
        "invite": 0, "kick": 50, "redact": 50, "state_default": 50, "users": {"@a:x": 100},
        "users_default": 0, "notifications": {"room": 50}, "org.example": 1});
    let create = json!({"creator": "@a:x", "room_version": "11", "m.federate": false,
        "predecessor": {"room_id": "!old:x"}, "type": "m.space"});
    let join_rules = json!({"join_rule": "restricted", "allow": [{"type": "m.room_membership",
        "room_id": "!s:x"}], "extra": 1});
    vec![
        Case {
            name: "a message loses all its content",
            event_type: "m.room.message",
            content: json!({"msgtype": "m.text", "body": "b", "m.relates_to": {}}),
            versions: versions("1", "12"),
            kept: json!({}),
        },
        Case {
            name: "an unknown type loses all its content",
            event_type: "org.example.custom",
            content: json!({"membership": "join", "redacts": "$x"}),
            versions: versions("1", "12"),
            kept: json!({}),
        },
        Case {
            name: "a member keeps only membership before v9",
            event_type: "m.room.member",
            content: member.clone(),
            versions: versions("1", "8"),
            kept: json!({"membership": "join"}),
        },
        Case {
            name: "a member keeps join_authorised_via_users_server from v9",
            event_type: "m.room.member",
            content: member.clone(),
            versions: versions("9", "10"),
            kept: json!({"membership": "join", "join_authorised_via_users_server": "@b:y"}),
        },
        Case {
            name: "a member keeps third_party_invite.signed from v11",
            event_type: "m.room.member",
            content: member,
            versions: versions("11", "12"),
            kept: json!({"membership": "join", "join_authorised_via_users_server": "@b:y",
                "third_party_invite": {"signed": {"mxid": "@a:x", "token": "t"}}}),
        },
        Case {
            name: "a member's third_party_invite without signed goes entirely",
            event_type: "m.room.member",
            content: json!({"membership": "invite", "third_party_invite": {"display_name": "a"}}),
            versions: versions("11", "12"),
            kept: json!({"membership": "invite"}),
        },
        Case {
            name: "create keeps only creator before v11",
            event_type: "m.room.create",
            content: create.clone(),
            versions: versions("1", "10"),
            kept: json!({"creator": "@a:x"}),
        },
        Case {
            name: "create keeps all its content from v11",
            event_type: "m.room.create",
            content: create.clone(),
            versions: versions("11", "12"),
            kept: create,
        },
        Case {
            name: "join rules keep only join_rule before v8",
            event_type: "m.room.join_rules",
            content: join_rules.clone(),
            versions: versions("1", "7"),
            kept: json!({"join_rule": "restricted"}),
        },
        Case {
            name: "join rules keep allow from v8",
            event_type: "m.room.join_rules",
            content: join_rules,
            versions: versions("8", "12"),
            kept: json!({"join_rule": "restricted", "allow": [{"type": "m.room_membership",
                "room_id": "!s:x"}]}),
        },
        Case {
            name: "power levels lose invite and notifications before v11",
            event_type: "m.room.power_levels",
            content: power_levels.clone(),
            versions: versions("1", "10"),
            kept: json!({"ban": 50, "events": {"m.room.name": 100}, "events_default": 0,
                "kick": 50, "redact": 50, "state_default": 50, "users": {"@a:x": 100},
                "users_default": 0}),
        },
        Case {
            name: "power levels keep invite from v11",
            event_type: "m.room.power_levels",
            content: power_levels,
            versions: versions("11", "12"),
            kept: json!({"ban": 50, "events": {"m.room.name": 100}, "events_default": 0,
                "invite": 0, "kick": 50, "redact": 50, "state_default": 50,
                "users": {"@a:x": 100}, "users_default": 0}),
        },
        Case {
            name: "history visibility is kept in every version",
            event_type: "m.room.history_visibility",
            content: json!({"history_visibility": "shared", "extra": 1}),
            versions: versions("1", "12"),
            kept: json!({"history_visibility": "shared"}),
        },
        Case {
            name: "aliases are kept before v6",
            event_type: "m.room.aliases",
            content: json!({"aliases": ["#a:x"], "extra": 1}),
            versions: versions("1", "5"),
            kept: json!({"aliases": ["#a:x"]}),
        },
        Case {
            name: "aliases go from v6",
            event_type: "m.room.aliases",
            content: json!({"aliases": ["#a:x"]}),
            versions: versions("6", "12"),
            kept: json!({}),
        },
        Case {
            name: "a redaction's content redacts goes before v11",
            event_type: "m.room.redaction",
            content: json!({"redacts": "$x", "reason": "spam"}),
            versions: versions("1", "10"),
            kept: json!({}),
        },
        Case {
            name: "a redaction keeps its content redacts from v11",
            event_type: "m.room.redaction",
            content: json!({"redacts": "$x", "reason": "spam"}),
            versions: versions("11", "12"),
            kept: json!({"redacts": "$x"}),
        },
        Case {
            name: "a name is emptied",
            event_type: "m.room.name",
            content: json!({"name": "N"}),
            versions: versions("1", "12"),
            kept: json!({}),
        },
    ]
}

#[test]
fn content_is_kept_per_event_type_and_room_version() {
    for case in cases() {
        assert!(
            !case.versions.is_empty(),
            "{}: empty version range",
            case.name
        );
        for version in &ALL_VERSIONS[case.versions.clone()] {
            let redacted = redact(&event(case.event_type, case.content.clone()), version);
            assert_eq!(redacted["content"], case.kept, "{} (v{version})", case.name);
        }
    }
}

#[test]
fn the_other_state_events_are_emptied_in_every_version() {
    for (event_type, content) in [
        ("m.room.topic", json!({"topic": "t"})),
        ("m.room.avatar", json!({"url": "mxc://x/a"})),
        ("m.room.canonical_alias", json!({"alias": "#a:x"})),
        (
            "m.room.encryption",
            json!({"algorithm": "m.megolm.v1.aes-sha2"}),
        ),
        ("m.room.tombstone", json!({"replacement_room": "!n:x"})),
        (
            "m.reaction",
            json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$a", "key": "k"}}),
        ),
        (
            "m.room.encrypted",
            json!({"algorithm": "a", "ciphertext": "c"}),
        ),
    ] {
        for version in ALL_VERSIONS {
            let redacted = redact(&event(event_type, content.clone()), version);
            assert_eq!(redacted["content"], json!({}), "{event_type} v{version}");
        }
    }
}

fn full_envelope() -> Value {
    json!({
        "event_id": "$e", "type": "m.room.redaction", "room_id": "!r:x", "sender": "@a:x",
        "state_key": "s", "content": {}, "hashes": {"sha256": "h"}, "signatures": {},
        "depth": 3, "prev_events": [], "prev_state": [], "auth_events": [], "origin": "x",
        "origin_server_ts": 1, "membership": "join", "redacts": "$x",
        "unsigned": {"age": 1}, "org.example.extra": true
    })
}

fn kept_top_level(version: &str) -> Vec<String> {
    let redacted = redact(&full_envelope(), version);
    let mut keys: Vec<String> = redacted
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

#[test]
fn top_level_keys_before_v11_keep_origin_membership_and_prev_state() {
    let mut expected = vec![
        "auth_events",
        "content",
        "depth",
        "event_id",
        "hashes",
        "membership",
        "origin",
        "origin_server_ts",
        "prev_events",
        "prev_state",
        "room_id",
        "sender",
        "signatures",
        "state_key",
        "type",
    ];
    expected.sort_unstable();
    for version in &ALL_VERSIONS[versions("1", "10")] {
        assert_eq!(kept_top_level(version), expected, "v{version}");
    }
}

#[test]
fn top_level_keys_from_v11_drop_origin_membership_and_prev_state() {
    let mut expected = vec![
        "auth_events",
        "content",
        "depth",
        "event_id",
        "hashes",
        "origin_server_ts",
        "prev_events",
        "room_id",
        "sender",
        "signatures",
        "state_key",
        "type",
    ];
    expected.sort_unstable();
    for version in &ALL_VERSIONS[versions("11", "12")] {
        assert_eq!(kept_top_level(version), expected, "v{version}");
    }
}

#[test]
fn a_redactions_top_level_redacts_goes_in_every_version() {
    // Not on the protected list in any version; v11 keeps it in the content.
    for version in ALL_VERSIONS {
        assert!(
            redact(&full_envelope(), version).get("redacts").is_none(),
            "v{version}"
        );
    }
}

#[test]
fn unknown_and_future_versions_get_the_newest_rules() {
    for version in ["13", "99", "0", "", "org.matrix.msc9999", "1.5", "-1"] {
        assert_eq!(kept_top_level(version), kept_top_level("11"), "{version:?}");
        let create = json!({"creator": "@a:x", "room_version": "x"});
        let redacted = redact(&event("m.room.create", create.clone()), version);
        assert_eq!(redacted["content"], create, "{version:?}");
    }
}

#[test]
fn odd_input_never_panics() {
    assert_eq!(redact(&json!("string"), "11"), json!("string"));
    assert_eq!(redact(&json!(null), "1"), json!(null));
    assert_eq!(redact(&json!({}), "11"), json!({"content": {}}));
    let no_content = redact(&json!({"type": "m.room.member", "sender": "@a:x"}), "11");
    assert_eq!(
        no_content,
        json!({"type": "m.room.member", "sender": "@a:x", "content": {}})
    );
    let odd = redact(&json!({"type": 5, "content": "text"}), "10");
    assert_eq!(odd, json!({"type": 5, "content": {}}));
    let bad_invite = redact(
        &event(
            "m.room.member",
            json!({"membership": "invite",
        "third_party_invite": "nope"}),
        ),
        "11",
    );
    assert_eq!(bad_invite["content"], json!({"membership": "invite"}));
}

#[test]
fn a_redacted_event_redacts_to_itself() {
    for version in ALL_VERSIONS {
        let once = redact(&full_envelope(), version);
        assert_eq!(redact(&once, version), once, "v{version}");
    }
}

#[test]
fn apply_redaction_marks_the_event_redacted() {
    let redaction =
        json!({"type": "m.room.redaction", "event_id": "$r", "content": {"redacts": "$e"}});
    let message = event("m.room.message", json!({"msgtype": "m.text", "body": "b"}));
    let redacted = apply_redaction(&message, "11", &redaction);
    assert_eq!(redacted["unsigned"], json!({"redacted_because": redaction}));
    let event = crate::events::Event::new(redacted);
    assert!(event.is_redacted());
    assert_eq!(event.content(), Ok(crate::events::Content::Redacted));
}

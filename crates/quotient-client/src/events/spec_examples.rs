//! Every spec example of a typed event decodes into its typed content,
//! and its key fields read back.
//!
//! The examples are read at test time from `../shared` beside the clone
//! (they are the spec's, not copied here). Without them the test prints
//! SKIPPED, unless `QUOTIENT_REQUIRE_SPEC=1` makes that a failure.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/matrix-spec/v1.19/data/event-schemas/examples"
);

/// The event types this module types; every example named after one of
/// them (`m.room.message$m.text.yaml`, …) is checked.
const TYPED: &[&str] = &[
    "m.room.message",
    "m.room.member",
    "m.room.create",
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.join_rules",
    "m.room.history_visibility",
    "m.room.power_levels",
    "m.room.encryption",
    "m.room.tombstone",
    "m.reaction",
    "m.room.redaction",
    "m.room.encrypted",
];

fn examples_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(EXAMPLES);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("QUOTIENT_REQUIRE_SPEC").as_deref() == Ok("1") {
        panic!(
            "QUOTIENT_REQUIRE_SPEC=1 but the spec's event examples are missing at {}",
            dir.display()
        );
    }
    println!(
        "SKIPPED: spec event examples not found at {}",
        dir.display()
    );
    None
}

/// Reads an example, replacing each `{"$ref": file, …}` by that file with
/// the object's other keys laid over it, as the spec's examples mean.
fn load(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    resolve(value, path.parent().unwrap_or(Path::new(".")))
}

fn resolve(value: Value, dir: &Path) -> Value {
    match value {
        Value::Object(mut map) => {
            let reference = map.remove("$ref");
            let map: serde_json::Map<String, Value> =
                map.into_iter().map(|(k, v)| (k, resolve(v, dir))).collect();
            match reference.as_ref().and_then(Value::as_str) {
                None => Value::Object(map),
                Some(file) => match load(&dir.join(file)) {
                    Value::Object(mut base) => {
                        base.extend(map);
                        Value::Object(base)
                    }
                    other => other,
                },
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| resolve(v, dir)).collect()),
        other => other,
    }
}

/// The event type an example file is named after, if this module types it.
fn typed_event_type(file_name: &str) -> Option<&'static str> {
    let stem = file_name.strip_suffix(".yaml")?;
    let event_type = stem.split('$').next()?;
    TYPED.iter().copied().find(|t| *t == event_type)
}

/// Key fields of one example, by file name; `false` when no specific check
/// is written for it (the generic checks still ran).
fn check_key_fields(name: &str, event: &Event, content: &Content) -> bool {
    match (name, content) {
        ("m.room.message$m.text.yaml", Content::Message(m)) => {
            let MessageKind::Text(f) = &m.kind else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(m.body, "This is an example text message");
            assert_eq!(f.html(), Some("<b>This is an example text message</b>"));
        }
        ("m.room.message$m.notice.yaml", Content::Message(m)) => {
            let MessageKind::Notice(f) = &m.kind else {
                panic!("{name}: {m:?}")
            };
            assert!(f.html().is_some_and(|h| h.contains("<strong>")));
        }
        ("m.room.message$m.emote.yaml", Content::Message(m)) => {
            assert!(matches!(m.kind, MessageKind::Emote(_)), "{name}");
            assert_eq!(m.body, "thinks this is an example emote");
        }
        ("m.room.message$m.image.yaml", Content::Message(m)) => {
            let MessageKind::Image(media) = &m.kind else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(
                media.source.mxc_uri(),
                "mxc://example.org/JWEIFJgwEIhweiWJE"
            );
            let info = media.info.clone().unwrap_or_default();
            assert_eq!(
                (info.w, info.h, info.size),
                (Some(394), Some(398), Some(31037))
            );
            assert_eq!(info.is_animated, Some(false));
        }
        ("m.room.message$m.file.yaml", Content::Message(m)) => {
            let MessageKind::File(media) = &m.kind else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(media.filename.as_deref(), Some("something-important.doc"));
            assert_eq!(
                media.info.as_ref().and_then(|i| i.mimetype.as_deref()),
                Some("application/msword")
            );
        }
        ("m.room.message$m.audio.yaml", Content::Message(m)) => {
            let MessageKind::Audio(media) = &m.kind else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(media.info.as_ref().and_then(|i| i.duration), Some(2140786));
        }
        ("m.room.message$m.video.yaml", Content::Message(m)) => {
            let MessageKind::Video(media) = &m.kind else {
                panic!("{name}: {m:?}")
            };
            let info = media.info.clone().unwrap_or_default();
            assert_eq!(
                (info.w, info.h, info.duration),
                (Some(480), Some(320), Some(2140786))
            );
            assert_eq!(info.thumbnail_info.and_then(|t| t.w), Some(300));
            assert!(info.thumbnail_url.is_some());
        }
        ("m.room.message$m.location.yaml", Content::Message(m)) => {
            let MessageKind::Location(loc) = &m.kind else {
                panic!("{name}: {m:?}")
            };
            assert_eq!(loc.geo_uri, "geo:51.5008,0.1247");
            assert!(loc.info.as_ref().is_some_and(|i| i.thumbnail_url.is_some()));
        }
        ("m.room.message$m.server_notice.yaml", Content::Message(m)) => {
            assert_eq!(m.kind.msgtype(), "m.server_notice");
            assert_eq!(m.body, "Human-readable message to explain the notice");
        }
        ("m.room.message$m.key.verification.request.yaml", Content::Message(m)) => {
            assert_eq!(m.kind.msgtype(), "m.key.verification.request");
        }
        (n, Content::Member(m)) if n.starts_with("m.room.member") => {
            assert_eq!(event.state_key(), Some("@alice:example.org"), "{name}");
            assert_eq!(m.displayname.as_deref(), Some("Alice Margatroid"), "{name}");
            assert_eq!(
                m.avatar_url.as_deref(),
                Some("mxc://example.org/SEsfnsuifSDFSSEF")
            );
            let expected = match n {
                "m.room.member$knock_room_state.yaml" => Membership::Knock,
                "m.room.member$invite_room_state.yaml"
                | "m.room.member$third_party_invite.yaml" => Membership::Invite,
                _ => Membership::Join,
            };
            assert_eq!(m.membership, expected, "{name}");
            match n {
                "m.room.member$join_authorised_via_users_server.yaml" => assert_eq!(
                    m.join_authorised_via_users_server.as_deref(),
                    Some("@bob:other.example.org")
                ),
                "m.room.member$third_party_invite.yaml" => assert!(m.third_party_invite.is_some()),
                "m.room.member.yaml" => {
                    assert_eq!(m.reason.as_deref(), Some("Looking for support"))
                }
                _ => {}
            }
        }
        ("m.room.create.yaml", Content::Create(c)) => {
            assert_eq!(c.room_version, "11");
            assert!(c.federate);
            assert_eq!(
                c.predecessor.as_ref().map(|p| p.room_id.as_str()),
                Some("!oldroom:example.org")
            );
        }
        ("m.room.name.yaml", Content::Name(n)) => {
            assert_eq!(n.name.as_deref(), Some("The room name"));
        }
        ("m.room.topic.yaml", Content::Topic(t)) => {
            assert_eq!(t.topic.as_deref(), Some("An interesting room topic"));
            let rich = t.rich.clone().unwrap_or_default();
            assert_eq!(rich.text.len(), 2);
            assert_eq!(rich.text[0].mimetype.as_deref(), Some("text/html"));
        }
        ("m.room.avatar.yaml", Content::Avatar(a)) => {
            assert_eq!(
                a.url.as_deref(),
                Some("mxc://example.org/JWEIFJgwEIhweiWJE")
            );
            assert_eq!(a.info.as_ref().and_then(|i| i.size), Some(31037));
        }
        ("m.room.canonical_alias.yaml", Content::CanonicalAlias(c)) => {
            assert_eq!(c.alias.as_deref(), Some("#somewhere:localhost"));
            assert_eq!(c.alt_aliases.as_ref().map(Vec::len), Some(2));
        }
        ("m.room.join_rules.yaml", Content::JoinRules(j)) => {
            assert_eq!(j.join_rule, JoinRule::Public);
        }
        ("m.room.join_rules$restricted.yaml", Content::JoinRules(j)) => {
            assert_eq!(j.join_rule, JoinRule::Restricted);
            let allow = j.allow.clone().unwrap_or_default();
            assert_eq!(allow[0].kind, "m.room_membership");
            assert_eq!(allow[1].room_id.as_deref(), Some("!elsewhere:example.org"));
        }
        ("m.room.history_visibility.yaml", Content::HistoryVisibility(h)) => {
            assert_eq!(h.history_visibility, HistoryVisibility::Shared);
        }
        ("m.room.power_levels.yaml", Content::PowerLevels(p)) => {
            assert_eq!(p.user_level(&"@example:localhost".parse().unwrap()), 100);
            assert_eq!(p.event_level("m.room.name", true), 100);
            assert_eq!((p.invite, p.notification_level("room")), (50, 20));
        }
        ("m.room.encryption.yaml", Content::Encryption(e)) => {
            assert_eq!(e.algorithm, "m.megolm.v1.aes-sha2");
            assert_eq!(
                (e.rotation_period_ms, e.rotation_period_msgs),
                (Some(604800000), Some(100))
            );
        }
        ("m.room.tombstone.yaml", Content::Tombstone(t)) => {
            assert_eq!(t.replacement_room, "!newroom:example.org");
            assert_eq!(t.body.as_deref(), Some("This room has been replaced"));
        }
        ("m.reaction.yaml", Content::Reaction(r)) => {
            assert_eq!(
                (r.event_id.as_str(), r.key.as_str()),
                ("$some_event_id", "👍")
            );
            assert!(matches!(
                event.relation(),
                Some(Ok(Relation::Annotation { .. }))
            ));
        }
        ("m.room.redaction.yaml", Content::Redaction(r)) => {
            assert_eq!(r.redacts.as_str(), "$fukweghifu23:localhost");
            assert_eq!(r.reason.as_deref(), Some("Spamming"));
        }
        ("m.room.encrypted$megolm.yaml", Content::Encrypted(e)) => {
            assert!(e.is_megolm());
            assert!(e.ciphertext.is_string());
            assert_eq!(e.device_id.as_deref(), Some("RJYKSTBOIE"));
            assert!(e.session_id.is_some() && e.sender_key.is_some());
        }
        ("m.room.encrypted$olm.yaml", Content::Encrypted(e)) => {
            assert_eq!(e.algorithm, "m.olm.v1.curve25519-aes-sha2");
            assert!(e.ciphertext.is_object());
        }
        _ => return false,
    }
    true
}

#[test]
fn every_spec_example_of_a_typed_event_decodes_with_its_key_fields() {
    let Some(dir) = examples_dir() else { return };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| typed_event_type(name).is_some())
        .collect();
    names.sort();
    let mut unchecked = Vec::new();
    for name in &names {
        let json = load(&dir.join(name));
        let event = Event::new(json.clone());
        assert_eq!(event.event_type(), typed_event_type(name), "{name}");
        let content = event
            .content()
            .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
        assert!(
            !matches!(content, Content::Unknown | Content::Redacted),
            "{name} decoded as {content:?}"
        );
        assert_eq!(
            event.json(),
            &json,
            "{name}: the raw JSON must be kept as it came"
        );
        if !check_key_fields(name, &event, &content) {
            unchecked.push(name.clone());
        }
    }
    // Every example has its key fields checked: one without a check written
    // (say, added to v1.19's data later) fails here by name, so none is
    // passed over with only the generic checks.
    assert!(
        names.len() >= 30,
        "only {} examples found: {names:?}",
        names.len()
    );
    assert!(
        unchecked.is_empty(),
        "examples without key-field checks: {unchecked:?}"
    );
}

#[test]
fn every_spec_example_once_redacted_still_decodes_in_every_room_version() {
    let Some(dir) = examples_dir() else { return };
    let redaction = serde_json::json!({"type": "m.room.redaction", "event_id": "$r",
        "sender": "@mod:example.org", "content": {"redacts": "$x"}});
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| typed_event_type(name).is_some())
        .collect();
    names.sort();
    for name in &names {
        let json = load(&dir.join(name));
        for version in ["1", "6", "8", "9", "10", "11", "12"] {
            let event = Event::new(apply_redaction(&json, version, &redaction));
            let content = event
                .content()
                .unwrap_or_else(|e| panic!("{name} redacted in v{version}: {e}"));
            // What the algorithm keeps is enough for the state a client
            // needs: a redacted member is still a member.
            if name.starts_with("m.room.member") {
                assert!(
                    matches!(content, Content::Member(_)),
                    "{name} v{version}: {content:?}"
                );
            }
            if name == "m.room.power_levels.yaml" {
                let Content::PowerLevels(p) = content else {
                    panic!("{name} v{version}")
                };
                assert_eq!(p.user_level(&"@example:localhost".parse().unwrap()), 100);
            }
        }
    }
}

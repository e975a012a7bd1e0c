//! Keys of Synapse's answers that the typed responses are allowed to lose.
//!
//! Both tables are `(operationId or "*", key path, why)`. A key path is
//! `/`-separated from the body's root; `[]` stands for any array element
//! and `*` for a room, user or event ID used as a key. In patterns `*`
//! matches any one segment and `**` any number of them. An entry that no
//! answer needed during a run fails the suite, so neither table can rot.

/// What Synapse sends that the spec's OpenAPI schema for the operation
/// does not define, so a generated type rightly has no field for it.
pub const OUTSIDE_THE_SCHEMA: &[(&str, &str, &str)] = &[
    // Synapse's legacy event format: `age` and `user_id` beside `unsigned`
    // and `sender`, `replaces_state` and `redacted_because` outside
    // `unsigned`. (`redacts` at the top of a redaction is typed: room
    // versions 1-10 put it there, see xtask's PROSE_PROPERTIES.)
    ("*", "/**/[]/age", "Synapse legacy: copy of unsigned.age"),
    ("*", "/**/[]/user_id", "Synapse legacy: copy of sender"),
    (
        "getEventContext",
        "/event/age",
        "Synapse legacy: copy of unsigned.age",
    ),
    (
        "getEventContext",
        "/event/user_id",
        "Synapse legacy: copy of sender",
    ),
    (
        "getOneRoomEvent",
        "/age",
        "Synapse legacy: copy of unsigned.age",
    ),
    (
        "getOneRoomEvent",
        "/user_id",
        "Synapse legacy: copy of sender",
    ),
    (
        "getOneEvent",
        "/age",
        "Synapse legacy: copy of unsigned.age",
    ),
    ("getOneEvent", "/user_id", "Synapse legacy: copy of sender"),
    (
        "*",
        "/**/replaces_state",
        "Synapse legacy: copy of unsigned.replaces_state",
    ),
    (
        "*",
        "/**/redacted_because",
        "Synapse legacy: copy of unsigned.redacted_because",
    ),
    (
        "*",
        "/**/[]/prev_content",
        "Synapse legacy: copy of unsigned.prev_content",
    ),
    (
        "*",
        "/**/unsigned/prev_sender",
        "Synapse extra: the sender of the state event this one replaced",
    ),
    (
        "*",
        "/**/unsigned/redacted_by",
        "Synapse extra: the redaction's event ID",
    ),
    (
        "search",
        "/search_categories/room_events/results/[]/result/age",
        "Synapse legacy: copy of unsigned.age",
    ),
    (
        "search",
        "/search_categories/room_events/results/[]/result/user_id",
        "Synapse legacy: copy of sender",
    ),
    (
        "getDevice",
        "/user_id",
        "Synapse extra: the device's owner (getDevices sends it too, under `[]`)",
    ),
    (
        "generateLoginToken",
        "/expires_in",
        "Synapse legacy: expires_in_ms in seconds (MSC3882's first draft)",
    ),
    (
        "getPushRules",
        "/global/postcontent",
        "Synapse extra: its internal rule kind",
    ),
    (
        "getPushRulesGlobal",
        "/postcontent",
        "Synapse extra: its internal rule kind",
    ),
    ("initialSync", "/receipts", "Synapse extra"),
    ("roomInitialSync", "/receipts", "Synapse extra"),
    ("roomInitialSync", "/presence", "Synapse extra"),
    (
        "sync",
        "/rooms/join/*/**/events/[]/room_id",
        "Synapse extra: the m.room.create event of a version 12 room (whose ID is the create \
         event's hash) keeps its room_id in /sync, where events are ClientEventWithoutRoomID",
    ),
];

/// Keys (or whole answers, path `<decode>`) the generated types lose
/// although the spec defines them: generator bugs, each written up under
/// "Findings" in docs/conformance.md. The generator's developer empties this
/// list as the bugs are fixed; an entry that is no longer needed fails the
/// suite.
pub const KNOWN_GENERATOR_BUGS: &[(&str, &str, &str)] = &[];

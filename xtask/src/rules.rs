//! The generator's deliberate rules: each table says what it changes and
//! why, so a reader finds every departure from the plain mapping here.

use crate::yaml::Node;

/// Names of the std prelude (types, traits, derive macros) that a
/// generated public type must not take: a user's `use generated::sync::*`
/// would shadow them (`Sync`).
pub const STD_PRELUDE: &[&str] = &[
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Default",
    "DoubleEndedIterator",
    "Drop",
    "Eq",
    "ExactSizeIterator",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Hash",
    "Into",
    "IntoIterator",
    "Iterator",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Send",
    "Sized",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Debug",
];

/// Names used unqualified in generated modules (std prelude and the
/// `prelude` the modules import).
pub(crate) const RESERVED_NAMES: &[&str] = &[
    "Result",
    "Option",
    "Some",
    "None",
    "Ok",
    "Err",
    "Vec",
    "String",
    "Box",
    "BTreeMap",
    "AuthRequirement",
    "BuildError",
    "DecodeError",
    "Endpoint",
    "HttpRequest",
    "IncomingResponse",
    "JsonObject",
    "Metadata",
    "Method",
    "QueryBuilder",
    "RequestBody",
    "ResponseParts",
];

/// Objects (by `title`) that keep keys their schema does not declare, in
/// a flattened `additional` map, and why. Other structs drop such keys.
pub const KEEPS_UNDECLARED_KEYS: &[(&str, &str)] = &[
    // Signed JSON: a signature covers every key, so verifying or
    // re-publishing one needs them all. One-time and fallback keys carry
    // `fallback: true`, which the schema only mentions in prose.
    ("KeyObject", "signed JSON"),
    ("DeviceKeys", "signed JSON"),
    (
        "DeviceInformation",
        "signed JSON (DeviceKeys and `unsigned`)",
    ),
    ("CrossSigningKey", "signed JSON"),
];

/// Joins the parts of a name derived from where a schema sits
/// (`GetPushRuleActions·Response·Actions·Item`), so their number can be
/// checked; it never reaches the output.
pub const SEP: char = '\u{b7}';

/// Parts a derived name may add to its root (an operation or a named
/// schema): `GetPushRuleActionsResponseActionsItem` adds three.
pub const MAX_NAME_PARTS: usize = 3;

/// Short names for derived names that nest deeper than
/// [`MAX_NAME_PARTS`]: (the long name, the name used). Empty while every
/// derived name is short enough; the generator names what to add.
pub const NAME_OVERRIDES: &[(&str, &str)] = &[];

/// Property names whose string values are credentials.
pub(crate) fn is_secret_property(name: &str) -> bool {
    matches!(
        name,
        "access_token"
            | "refresh_token"
            | "login_token"
            | "password"
            | "new_password"
            | "token"
            | "id_access_token"
            | "client_secret"
    )
}

/// Whether a hand-written type is one of the identifiers of [`id_type`].
pub fn is_identifier(name: &str) -> bool {
    matches!(
        name,
        "UserId" | "RoomId" | "EventId" | "RoomAliasId" | "ServerName" | "MxcUri"
    )
}

pub(crate) fn id_type(format: &str) -> Option<&'static str> {
    Some(match format {
        "mx-user-id" => "UserId",
        "mx-room-id" => "RoomId",
        "mx-event-id" => "EventId",
        "mx-room-alias" => "RoomAliasId",
        "mx-server-name" => "ServerName",
        "mx-mxc-uri" => "MxcUri",
        _ => return None,
    })
}

/// Inline string enums that the spec repeats operation by operation, by
/// their set of values, and the one shared type each becomes: a user
/// passes `Direction::Backward` to `/messages`, `/relations` and
/// `/timestamp_to_event` alike instead of a type per operation.
pub(crate) const SHARED_ENUMS: &[(&[&str], &str)] = &[
    (&["b", "f"], "Direction"),
    (
        &["content", "override", "room", "sender", "underride"],
        "PushRuleKind",
    ),
    (&["private", "public"], "RoomVisibility"),
    (&["no-support", "success"], "IdServerUnbindResult"),
    (&["email", "msisdn"], "Medium"),
    (&["crop", "scale"], "ThumbnailMethod"),
    (&["ban", "invite", "join", "knock", "leave"], "Membership"),
    (&["offline", "online", "unavailable"], "PresenceState"),
    (&["client", "federation"], "EventFormat"),
    (&["login", "register"], "SsoAction"),
];

pub(crate) fn shared_enum(values: &[String]) -> Option<&'static str> {
    let mut sorted: Vec<&str> = values.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    SHARED_ENUMS
        .iter()
        .find(|(set, _)| {
            let mut set = set.to_vec();
            set.sort_unstable();
            set == sorted
        })
        .map(|(_, name)| *name)
}

/// Whether a schema describes an event (it has `type`, `content` and
/// `sender`: client events with or without a room ID, stripped state).
/// Lists of events hold each item as `Lenient`: one malformed event must
/// not fail a sync batch or a page of messages.
pub(crate) fn is_event_schema(schema: &Node) -> bool {
    let props = schema.get("properties");
    ["type", "content", "sender"]
        .iter()
        .all(|k| props.is_some_and(|p| p.get(k).is_some()))
}

/// How a [`PROSE_PROPERTIES`] entry finds its schema.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Every schema with this `title`, as written in the spec.
    Title(&'static str),
    /// The generated struct of this name (an operation's `…Response`, or
    /// a shared type), whatever titles other schemas carry: the
    /// `redacted_because` inside an event is titled like an event but is
    /// any event, and must stay raw.
    Type(&'static str),
}

/// Properties the spec defines outside an operation's schema (in its
/// prose, or in an event's own schema) that a client needs: (whose; the
/// property; its schema in YAML; where the spec defines it). Without these
/// the generated types would drop keys every server sends.
pub const PROSE_PROPERTIES: &[(Owner, &str, &str, &str)] = &[
    (
        Owner::Type("SyncResponse"),
        "device_unused_fallback_key_types",
        "{type: array, items: {type: string}}",
        "client-server-api/#e2e-extensions-to-sync",
    ),
    (
        Owner::Title("DeviceLists"),
        "changed",
        "{type: array, items: {type: string, format: mx-user-id}}",
        "client-server-api/#e2e-extensions-to-sync",
    ),
    (
        Owner::Title("DeviceLists"),
        "left",
        "{type: array, items: {type: string, format: mx-user-id}}",
        "client-server-api/#e2e-extensions-to-sync",
    ),
    (
        Owner::Title("ToDevice"),
        "events",
        "{type: array, items: {type: object}}",
        "client-server-api/#extensions-to-sync (send-to-device events)",
    ),
    (
        Owner::Title("UnsignedData"),
        "m.relations",
        "{type: object}",
        "client-server-api/#aggregations-of-child-events (bundled aggregations)",
    ),
    (
        Owner::Type("ClientEvent"),
        "redacts",
        "{type: string, format: mx-event-id}",
        "client-server-api/#mroomredaction (top level in room versions 1-10)",
    ),
    (
        Owner::Type("ClientEventWithoutRoomId"),
        "redacts",
        "{type: string, format: mx-event-id}",
        "client-server-api/#mroomredaction (top level in room versions 1-10)",
    ),
];

/// `schema` with the [`PROSE_PROPERTIES`] it owns added, as optional
/// properties (one the schema declares already is left alone). `type_name`
/// is the struct it becomes, when known.
pub fn with_prose_properties(schema: &Node, type_name: Option<&str>) -> Result<Node, String> {
    let title = schema.str("title");
    let extra: Vec<_> = PROSE_PROPERTIES
        .iter()
        .filter(|(owner, ..)| match owner {
            Owner::Title(t) => title == Some(*t),
            Owner::Type(t) => type_name == Some(*t),
        })
        .collect();
    if extra.is_empty() {
        return Ok(schema.clone());
    }
    let mut entries = schema.entries().to_vec();
    let mut props = schema
        .get("properties")
        .map(|p| p.entries().to_vec())
        .unwrap_or_default();
    for (_, name, yaml, _) in extra {
        if props.iter().any(|(k, _)| k == name) {
            continue;
        }
        let node = crate::yaml::parse(yaml).map_err(|e| format!("PROSE_PROPERTIES {name}: {e}"))?;
        props.push(((*name).to_owned(), node));
    }
    entries.retain(|(k, _)| k != "properties");
    entries.push(("properties".to_owned(), Node::Map(props)));
    Ok(Node::Map(entries))
}

/// Operations whose spec lists a 3xx answer that the client does not
/// follow: the SSO redirects send the user's browser to the identity
/// provider; a client opens them in a browser, never through the engine.
pub const BROWSER_REDIRECTS: &[&str] = &["redirectToSSO", "redirectToIdP"];

/// Operations whose redirects are followed although their spec lists no
/// 3xx: the client `.well-known` (HTTP allows it, and spec v1.20 says to
/// follow).
pub const FOLLOWED_WITHOUT_3XX: &[&str] = &["getWellknown"];

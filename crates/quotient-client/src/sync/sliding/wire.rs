//! Simplified sliding sync on the wire, in the shape Synapse 1.114–1.163
//! serves (`POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync`):
//! the request, the response, and nothing else. The store and the room
//! model never see these types; [`super::translate`] turns a response
//! into the `/sync` v3 shape the store already folds. The merged MSC4186
//! (`/v4/sync`, `pos` in the body, one `range`, `required_state` as
//! include/exclude) would be another module beside this one.
//!
//! Where Synapse differs from the MSC text (docs/client.md lists them):
//! `pos` and `timeout` are query parameters (in the body they are
//! ignored and the request starts a new connection); a list has
//! `ranges`, and one without them returns no rooms; `required_state` and
//! `timeline_limit` must always be sent; invites carry `invite_state`;
//! `notification_count` and `highlight_count` are always 0; a removed
//! room name is left out rather than null; `lists.*.ops` still come (and
//! are ignored here); the rooms' order is ours, by `bump_stamp`.

use std::collections::BTreeMap;

use quotient_api::{encode_path_segment, AuthRequirement, Metadata, Method};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// The unstable endpoint, and `/versions`' `unstable_features` key for it.
pub(crate) const PATH: &str = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync";
pub(crate) const FEATURE: &str = "org.matrix.simplified_msc3575";

/// The connection's ID: one room-list connection per device.
pub(crate) const CONN_ID: &str = "quotient";

/// The room list's key in requests and responses.
pub(crate) const LIST: &str = "all";

/// The endpoint as the engine sees it. A retry with the same `pos` is
/// safe (Synapse keeps that position until a newer one is used), so it is
/// idempotent; `timeout` is its long-poll wait.
pub(crate) fn metadata() -> Metadata {
    Metadata {
        operation_id: "slidingSync",
        method: Method::Post,
        path: PATH,
        auth: AuthRequirement::Required,
        rate_limited: true,
        added_in: None,
        deprecated: false,
        idempotent: true,
        response_content_types: &["application/json"],
        follows_redirects: false,
        server_wait_param: Some("timeout"),
    }
}

/// The path and query of one request.
pub(crate) fn path(pos: Option<&str>, timeout_ms: u64) -> String {
    match pos {
        Some(pos) => format!(
            "{PATH}?pos={}&timeout={timeout_ms}",
            encode_path_segment(pos)
        ),
        None => format!("{PATH}?timeout={timeout_ms}"),
    }
}

/// The state every room of the list comes with: what names it, shows it
/// and says how to talk in it, our own membership, and the members its
/// timeline needs.
const REQUIRED_STATE: &[(&str, &str)] = &[
    ("m.room.create", ""),
    ("m.room.name", ""),
    ("m.room.avatar", ""),
    ("m.room.topic", ""),
    ("m.room.canonical_alias", ""),
    ("m.room.encryption", ""),
    ("m.room.join_rules", ""),
    ("m.room.history_visibility", ""),
    ("m.room.power_levels", ""),
    ("m.room.tombstone", ""),
    ("m.room.member", "$ME"),
    ("m.room.member", "$LAZY"),
];

/// What one request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ask<'a> {
    /// How many rooms of the list, from the most recent: `[0, window-1]`.
    pub window: u32,
    /// Timeline events per room of the list.
    pub list_timeline: u32,
    /// Rooms a program opened, with their larger timeline.
    pub subscriptions: &'a [(String, u32)],
    /// The to-device extension's `since`.
    pub to_device_since: Option<&'a str>,
    /// Whether to ask for the encryption extensions (to-device, e2ee).
    pub encryption: bool,
}

/// The request body.
pub(crate) fn body(ask: &Ask<'_>) -> Value {
    let required: Vec<[&str; 2]> = REQUIRED_STATE.iter().map(|(t, k)| [*t, *k]).collect();
    let mut subscriptions = serde_json::Map::new();
    for (room, limit) in ask.subscriptions {
        subscriptions.insert(
            room.clone(),
            json!({ "timeline_limit": limit, "required_state": required }),
        );
    }
    let mut extensions = json!({
        "account_data": { "enabled": true },
        "receipts": { "enabled": true },
        "typing": { "enabled": true },
    });
    if ask.encryption {
        let mut to_device = json!({ "enabled": true, "limit": 100 });
        if let Some(since) = ask.to_device_since {
            to_device["since"] = json!(since);
        }
        extensions["to_device"] = to_device;
        extensions["e2ee"] = json!({ "enabled": true });
    }
    json!({
        "conn_id": CONN_ID,
        "lists": {
            LIST: {
                "ranges": [[0, ask.window.saturating_sub(1)]],
                "timeline_limit": ask.list_timeline,
                "required_state": required,
            }
        },
        "room_subscriptions": subscriptions,
        "extensions": extensions,
    })
}

/// A response, its events kept as the JSON text they came in.
#[derive(Debug, Deserialize)]
pub(crate) struct Response<'a> {
    pub pos: String,
    #[serde(default)]
    pub lists: BTreeMap<String, ListResult>,
    #[serde(borrow, default)]
    pub rooms: BTreeMap<String, RoomResult<'a>>,
    #[serde(borrow, default)]
    pub extensions: Extensions<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListResult {
    #[serde(default)]
    pub count: u64,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RoomResult<'a> {
    #[serde(borrow, default)]
    pub required_state: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    pub timeline: Vec<&'a RawValue>,
    #[serde(default)]
    pub limited: Option<bool>,
    #[serde(default)]
    pub prev_batch: Option<String>,
    #[serde(default)]
    pub bump_stamp: Option<i64>,
    /// The timeline is the newest `timeline_limit` events again (the
    /// room's timeline limit grew, as when a program subscribes), not the
    /// events since the last response.
    #[serde(default)]
    pub unstable_expanded_timeline: bool,
    #[serde(default)]
    pub joined_count: Option<u64>,
    #[serde(default)]
    pub invited_count: Option<u64>,
    #[serde(default)]
    pub heroes: Option<Vec<Hero>>,
    #[serde(borrow, default)]
    pub invite_state: Option<Vec<&'a RawValue>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Hero {
    pub user_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Extensions<'a> {
    #[serde(borrow, default)]
    pub to_device: Option<ToDevice<'a>>,
    #[serde(borrow, default)]
    pub e2ee: Option<E2ee<'a>>,
    #[serde(borrow, default)]
    pub account_data: Option<AccountData<'a>>,
    #[serde(borrow, default)]
    pub receipts: Option<PerRoom<'a>>,
    #[serde(borrow, default)]
    pub typing: Option<PerRoom<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ToDevice<'a> {
    pub next_batch: String,
    #[serde(borrow, default)]
    pub events: Vec<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct E2ee<'a> {
    #[serde(borrow, default)]
    pub device_lists: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub device_one_time_keys_count: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub device_unused_fallback_key_types: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AccountData<'a> {
    #[serde(borrow, default)]
    pub global: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    pub rooms: BTreeMap<String, Vec<&'a RawValue>>,
}

/// Receipts and typing: one event per room.
#[derive(Debug, Deserialize)]
pub(crate) struct PerRoom<'a> {
    #[serde(borrow, default)]
    pub rooms: BTreeMap<String, &'a RawValue>,
}

impl Response<'_> {
    /// How many rooms the list has on the server.
    pub(crate) fn list_count(&self) -> Option<u64> {
        self.lists.get(LIST).map(|l| l.count)
    }
}

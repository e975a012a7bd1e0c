//! A sliding-sync response in the shape of a `/sync` v3 answer, so the
//! store folds it with the same writer, in one transaction, with the
//! same guarantees (each event stored once, gaps from `limited` and
//! `prev_batch`, watchers told after the commit) and the crypto machine
//! fed from its extensions exactly as from v3.
//!
//! Each event is carried over as the JSON text it came in. What v3 has
//! and sliding sync does not say directly is derived: a room is an
//! invite when it has `invite_state`, left when our own latest
//! membership (requested as `$ME`) says leave or ban, joined otherwise.
//! The server's `required_state` is the room's current state; v3's
//! `state` is the state before the timeline, but the timeline's own state
//! events are applied after it in order, so the result is the same.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use super::wire::{Response, RoomResult};

#[derive(Serialize)]
struct Answer<'a> {
    next_batch: &'a str,
    rooms: Rooms<'a>,
    account_data: Events<'a>,
    to_device: Events<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_lists: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_one_time_keys_count: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_unused_fallback_key_types: Option<&'a RawValue>,
}

#[derive(Default, Serialize)]
struct Rooms<'a> {
    join: BTreeMap<&'a str, Joined<'a>>,
    invite: BTreeMap<&'a str, Invited<'a>>,
    leave: BTreeMap<&'a str, Left<'a>>,
}

#[derive(Default, Serialize)]
struct Events<'a> {
    events: Vec<&'a RawValue>,
}

#[derive(Serialize)]
struct Timeline<'a> {
    events: Vec<&'a RawValue>,
    limited: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_batch: Option<&'a str>,
}

#[derive(Serialize)]
struct Summary {
    #[serde(rename = "m.heroes", skip_serializing_if = "Option::is_none")]
    heroes: Option<Vec<String>>,
    #[serde(
        rename = "m.joined_member_count",
        skip_serializing_if = "Option::is_none"
    )]
    joined: Option<u64>,
    #[serde(
        rename = "m.invited_member_count",
        skip_serializing_if = "Option::is_none"
    )]
    invited: Option<u64>,
}

#[derive(Serialize)]
struct Joined<'a> {
    state: Events<'a>,
    timeline: Timeline<'a>,
    ephemeral: Events<'a>,
    account_data: Events<'a>,
    summary: Summary,
}

#[derive(Serialize)]
struct Invited<'a> {
    invite_state: Events<'a>,
}

#[derive(Serialize)]
struct Left<'a> {
    state: Events<'a>,
    timeline: Timeline<'a>,
    account_data: Events<'a>,
}

/// What the translation gives beside the v3 body.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Extras {
    /// Each room's `bump_stamp`, where the server sent one.
    pub bump_stamps: Vec<(String, i64)>,
    /// The to-device extension's `next_batch`.
    pub to_device_since: Option<String>,
    /// The joined rooms the response says something about: their unread
    /// counts are worked out on our side (Synapse sends 0).
    pub joined: Vec<String>,
}

/// Our own membership as the room's events in this response say it
/// (the latest wins); `None` when they do not say.
fn own_membership(room: &RoomResult<'_>, user: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Member {
        #[serde(rename = "type")]
        kind: String,
        state_key: Option<String>,
        content: Option<Content>,
    }
    #[derive(serde::Deserialize)]
    struct Content {
        membership: Option<String>,
    }
    room.required_state
        .iter()
        .chain(room.timeline.iter())
        .rev()
        .filter_map(|e| serde_json::from_str::<Member>(e.get()).ok())
        .filter(|m| m.kind == "m.room.member" && m.state_key.as_deref() == Some(user))
        .find_map(|m| m.content?.membership)
}

/// The event IDs of the expanded timelines of `response` (see
/// [`to_v3`]), for the caller to say which are stored.
pub(crate) fn expanded_event_ids<'a>(response: &'a Response<'_>) -> Vec<&'a str> {
    #[derive(serde::Deserialize)]
    struct Id<'b> {
        #[serde(borrow)]
        event_id: Option<&'b str>,
    }
    response
        .rooms
        .values()
        .filter(|r| r.unstable_expanded_timeline)
        .flat_map(|r| r.timeline.iter())
        .filter_map(|e| serde_json::from_str::<Id<'_>>(e.get()).ok()?.event_id)
        .collect()
}

/// The rooms the receipts and typing extensions speak of that the
/// response's room list does not (rooms sent before, with nothing new in
/// their timelines), for the caller to say which the store has joined.
pub(crate) fn ephemeral_only_rooms<'a>(response: &'a Response<'_>) -> Vec<&'a str> {
    let ext = &response.extensions;
    [&ext.receipts, &ext.typing]
        .into_iter()
        .flatten()
        .flat_map(|per_room| per_room.rooms.keys())
        .filter(|id| !response.rooms.contains_key(*id))
        .map(String::as_str)
        .collect()
}

/// An expanded timeline (the newest events again) holds events older
/// than ones the store has: appended, they would come after them. Only
/// the events after the newest stored one are kept (the older ones are
/// back-paginated into their place); with none stored, all are kept.
fn trim_expanded<'a>(
    timeline: &[&'a RawValue],
    stored: &std::collections::HashSet<String>,
) -> (Vec<&'a RawValue>, bool) {
    #[derive(serde::Deserialize)]
    struct Id {
        event_id: Option<String>,
    }
    let last_stored = timeline.iter().rposition(|e| {
        serde_json::from_str::<Id>(e.get())
            .ok()
            .and_then(|i| i.event_id)
            .is_some_and(|id| stored.contains(&id))
    });
    match last_stored {
        Some(i) => (timeline[i + 1..].to_vec(), true),
        None => (timeline.to_vec(), false),
    }
}

/// Translates `response` for `user` into a v3 `/sync` body whose
/// `next_batch` is the response's `pos`; `stored` holds which events of
/// the expanded timelines the store already has, `joined` which of the
/// [`ephemeral_only_rooms`] the store has as joined (receipts and typing
/// for any other room are left out: folded, they would make it a joined
/// room).
pub(crate) fn to_v3(
    response: &Response<'_>,
    user: &str,
    stored: &std::collections::HashSet<String>,
    joined: &std::collections::HashSet<String>,
) -> serde_json::Result<(Vec<u8>, Extras)> {
    let mut rooms = Rooms::default();
    let mut extras = Extras::default();
    let ext = &response.extensions;
    let account_data_of = |room: &str| -> Events<'_> {
        Events {
            events: ext
                .account_data
                .as_ref()
                .and_then(|a| a.rooms.get(room))
                .cloned()
                .unwrap_or_default(),
        }
    };
    for (id, room) in &response.rooms {
        if let Some(stamp) = room.bump_stamp {
            extras.bump_stamps.push((id.clone(), stamp));
        }
        if let Some(invite) = &room.invite_state {
            rooms.invite.insert(
                id,
                Invited {
                    invite_state: Events {
                        events: invite.clone(),
                    },
                },
            );
            continue;
        }
        let timeline = if room.unstable_expanded_timeline {
            let (events, follows_stored) = trim_expanded(&room.timeline, stored);
            Timeline {
                events,
                // Right after a stored event there is no hole.
                limited: !follows_stored && room.limited.unwrap_or(false),
                prev_batch: room.prev_batch.as_deref(),
            }
        } else {
            Timeline {
                events: room.timeline.clone(),
                limited: room.limited.unwrap_or(false),
                prev_batch: room.prev_batch.as_deref(),
            }
        };
        let state = Events {
            events: room.required_state.clone(),
        };
        let left = matches!(own_membership(room, user).as_deref(), Some("leave" | "ban"));
        if left {
            rooms.leave.insert(
                id,
                Left {
                    state,
                    timeline,
                    account_data: account_data_of(id),
                },
            );
            continue;
        }
        let mut ephemeral = Vec::new();
        for per_room in [&ext.receipts, &ext.typing].into_iter().flatten() {
            if let Some(event) = per_room.rooms.get(id) {
                ephemeral.push(*event);
            }
        }
        rooms.join.insert(
            id,
            Joined {
                state,
                timeline,
                ephemeral: Events { events: ephemeral },
                account_data: account_data_of(id),
                summary: Summary {
                    heroes: room
                        .heroes
                        .as_ref()
                        .map(|h| h.iter().map(|h| h.user_id.clone()).collect()),
                    joined: room.joined_count,
                    invited: room.invited_count,
                },
            },
        );
    }
    // Receipts and typing of joined rooms the response did not list
    // (already sent, nothing new in their timeline).
    for per_room in [&ext.receipts, &ext.typing].into_iter().flatten() {
        for (id, event) in &per_room.rooms {
            if response.rooms.contains_key(id) || !joined.contains(id) {
                continue;
            }
            let entry = rooms.join.entry(id).or_insert_with(|| Joined {
                state: Events::default(),
                timeline: Timeline {
                    events: Vec::new(),
                    limited: false,
                    prev_batch: None,
                },
                ephemeral: Events::default(),
                account_data: Events::default(),
                summary: Summary {
                    heroes: None,
                    joined: None,
                    invited: None,
                },
            });
            entry.ephemeral.events.push(*event);
        }
    }
    extras.joined = rooms.join.keys().map(|id| (*id).to_owned()).collect();
    let e2ee = ext.e2ee.as_ref();
    extras.to_device_since = ext.to_device.as_ref().map(|t| t.next_batch.clone());
    let answer = Answer {
        next_batch: &response.pos,
        rooms,
        account_data: Events {
            events: ext
                .account_data
                .as_ref()
                .map(|a| a.global.clone())
                .unwrap_or_default(),
        },
        to_device: Events {
            events: ext
                .to_device
                .as_ref()
                .map(|t| t.events.clone())
                .unwrap_or_default(),
        },
        device_lists: e2ee.and_then(|e| e.device_lists),
        device_one_time_keys_count: e2ee.and_then(|e| e.device_one_time_keys_count),
        device_unused_fallback_key_types: e2ee.and_then(|e| e.device_unused_fallback_key_types),
    };
    Ok((serde_json::to_vec(&answer)?, extras))
}

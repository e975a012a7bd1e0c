//! Reading a `/sync` answer room by room, straight from its bytes.
//!
//! Joined rooms (nearly all of a large initial sync) are decoded one at a
//! time and handed to the [`BatchSink`] (the writer) before the next is read; their
//! events stay borrowed JSON text of the body (`&RawValue`), stored as
//! they are. Invited, knocked and left rooms and the global account data
//! are small: they are decoded as they come and written after the joined
//! rooms, in that order, as the batch has always been applied. Anything
//! else in the answer (presence, to-device, device lists) is skipped.

use std::collections::BTreeMap;
use std::fmt;

use quotient_api::generated::definitions::EventBatch;
use quotient_api::generated::sync::{
    InvitedRoom, KnockedRoom, RoomSummary, UnreadNotificationCounts,
};
use quotient_api::RoomId;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::store::Membership;

/// Where a read answer goes, piece by piece, in the order the batch is
/// applied: the writer implements it (so this reader never names it, and
/// the arrows between the two run one way).
pub(super) trait BatchSink {
    /// Our membership of a room.
    fn membership(&mut self, room: &str, membership: Membership) -> Result<()>;
    /// A room's summary (heroes, member counts).
    fn summary(&mut self, room: &str, summary: &RoomSummary) -> Result<()>;
    /// A room's unread counts.
    fn unread(&mut self, room: &str, counts: &UnreadNotificationCounts) -> Result<()>;
    /// State events, in order.
    fn state(&mut self, room: &str, events: &[&RawValue]) -> Result<()>;
    /// An invite's or knock's stripped state.
    fn stripped_state(&mut self, room: &str, events: &[serde_json::Value]) -> Result<()>;
    /// Timeline events, with the gap before them when `limited`.
    fn timeline(
        &mut self,
        room: &str,
        limited: bool,
        prev_batch: Option<&str>,
        events: &[&RawValue],
    ) -> Result<()>;
    /// A room's account data.
    fn room_account_data(&mut self, room: &str, batch: Option<&EventBatch>) -> Result<()>;
    /// A joined room's ephemeral events (receipts, typing).
    fn ephemeral(&mut self, room: &str, batch: Option<&EventBatch>) -> Result<()>;
    /// The global account data.
    fn global_account_data(&mut self, batch: Option<&EventBatch>) -> Result<()>;
}

/// A list of events as their JSON texts.
#[derive(Default, Deserialize)]
struct RawEvents<'a> {
    #[serde(borrow, default)]
    events: Option<Vec<&'a RawValue>>,
}

impl RawEvents<'_> {
    fn list(batch: &Option<Self>) -> &[&RawValue] {
        batch
            .as_ref()
            .and_then(|b| b.events.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct RawTimeline<'a> {
    #[serde(default)]
    limited: Option<bool>,
    #[serde(default)]
    prev_batch: Option<String>,
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// A joined or left room; a left room has no summary, counts or ephemeral.
#[derive(Deserialize)]
struct RawRoom<'a> {
    #[serde(default)]
    summary: Option<RoomSummary>,
    #[serde(default)]
    unread_notifications: Option<UnreadNotificationCounts>,
    #[serde(borrow, default)]
    state: Option<RawEvents<'a>>,
    #[serde(borrow, default)]
    timeline: Option<RawTimeline<'a>>,
    #[serde(borrow, default)]
    state_after: Option<RawEvents<'a>>,
    #[serde(default)]
    account_data: Option<EventBatch>,
    #[serde(default)]
    ephemeral: Option<EventBatch>,
}

/// What waits for the joined rooms to be written.
#[derive(Default)]
struct Later<'a> {
    invite: BTreeMap<RoomId, InvitedRoom>,
    knock: BTreeMap<RoomId, KnockedRoom>,
    leave: BTreeMap<RoomId, RawRoom<'a>>,
    account_data: Option<EventBatch>,
    next_batch: Option<String>,
}

/// Folds the answer `body` into `w`; returns its `next_batch`.
pub(super) fn fold(w: &mut dyn BatchSink, body: &[u8]) -> Result<String> {
    let mut ctx = Ctx {
        w: &mut *w,
        failed: None,
        later: Later::default(),
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let read = Top(&mut ctx).deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = ctx.failed {
        return Err(e);
    }
    read?;
    let later = ctx.later;
    let next_batch = later
        .next_batch
        .ok_or_else(|| Error::Json(de::Error::missing_field("next_batch")))?;
    for (id, room) in later.invite {
        w.membership(id.as_str(), Membership::Invited)?;
        let events = room.invite_state.and_then(|s| s.events).unwrap_or_default();
        w.stripped_state(id.as_str(), &events)?;
    }
    for (id, room) in later.knock {
        w.membership(id.as_str(), Membership::Knocked)?;
        let events = room.knock_state.and_then(|s| s.events).unwrap_or_default();
        w.stripped_state(id.as_str(), &events)?;
    }
    for (id, room) in &later.leave {
        write_room(w, id.as_str(), room, Membership::Left)?;
    }
    w.global_account_data(later.account_data.as_ref())?;
    Ok(next_batch)
}

/// One joined or left room, in the order the batch has always been
/// applied: membership, summary, counts, state, timeline, state after,
/// account data, then (joined) receipts and typing.
fn write_room(w: &mut dyn BatchSink, id: &str, room: &RawRoom<'_>, m: Membership) -> Result<()> {
    w.membership(id, m)?;
    if let Some(summary) = &room.summary {
        w.summary(id, summary)?;
    }
    if let Some(counts) = &room.unread_notifications {
        w.unread(id, counts)?;
    }
    w.state(id, RawEvents::list(&room.state))?;
    if let Some(t) = &room.timeline {
        let limited = t.limited == Some(true);
        w.timeline(id, limited, t.prev_batch.as_deref(), &t.events)?;
    }
    w.state(id, RawEvents::list(&room.state_after))?;
    w.room_account_data(id, room.account_data.as_ref())?;
    if m == Membership::Joined {
        w.ephemeral(id, room.ephemeral.as_ref())?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum TopKey {
    NextBatch,
    Rooms,
    AccountData,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum RoomsKey {
    Join,
    Invite,
    Knock,
    Leave,
    #[serde(other)]
    Other,
}

/// The state of one read: where joined rooms are written, the first
/// store error (it stops the read), and what is written after.
struct Ctx<'r, 'a> {
    w: &'r mut dyn BatchSink,
    failed: Option<Error>,
    later: Later<'a>,
}

/// The whole answer.
struct Top<'x, 'r, 'a>(&'x mut Ctx<'r, 'a>);
/// `rooms`.
struct Rooms<'x, 'r, 'a>(&'x mut Ctx<'r, 'a>);
/// `rooms.join`: each room written as soon as it is read.
struct Joined<'x, 'r, 'a>(&'x mut Ctx<'r, 'a>);

impl<'a> DeserializeSeed<'a> for Top<'_, '_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for Top<'_, '_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a /sync answer")
    }
    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::NextBatch => self.0.later.next_batch = Some(map.next_value()?),
                TopKey::Rooms => map.next_value_seed(Rooms(&mut *self.0))?,
                TopKey::AccountData => self.0.later.account_data = map.next_value()?,
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `null` or absent reads as empty, as the API's `Option` fields do.
macro_rules! optional_map {
    ($seed:ident, $what:literal) => {
        impl<'a> DeserializeSeed<'a> for $seed<'_, '_, 'a> {
            type Value = ();
            fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_option(self)
            }
        }

        impl<'a> Visitor<'a> for $seed<'_, '_, 'a> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($what)
            }
            fn visit_none<E: de::Error>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_unit<E: de::Error>(self) -> Result<(), E> {
                Ok(())
            }
            fn visit_some<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_map(self)
            }
            fn visit_map<M: MapAccess<'a>>(self, map: M) -> Result<(), M::Error> {
                self.entries(map)
            }
        }
    };
}

optional_map!(Rooms, "the rooms of a /sync answer");
optional_map!(Joined, "the joined rooms of a /sync answer");

impl<'a> Rooms<'_, '_, 'a> {
    fn entries<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<RoomsKey>()? {
            let later = &mut self.0.later;
            match key {
                RoomsKey::Join => map.next_value_seed(Joined(&mut *self.0))?,
                RoomsKey::Invite => {
                    let rooms: Option<BTreeMap<RoomId, InvitedRoom>> = map.next_value()?;
                    later.invite.extend(rooms.into_iter().flatten());
                }
                RoomsKey::Knock => {
                    let rooms: Option<BTreeMap<RoomId, KnockedRoom>> = map.next_value()?;
                    later.knock.extend(rooms.into_iter().flatten());
                }
                RoomsKey::Leave => {
                    let rooms: Option<BTreeMap<RoomId, RawRoom<'a>>> = map.next_value()?;
                    later.leave.extend(rooms.into_iter().flatten());
                }
                RoomsKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'a> Joined<'_, '_, 'a> {
    fn entries<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(id) = map.next_key::<RoomId>()? {
            let room: RawRoom<'a> = map.next_value()?;
            if let Err(e) = write_room(self.0.w, id.as_str(), &room, Membership::Joined) {
                self.0.failed = Some(e);
                return Err(de::Error::custom("the store failed"));
            }
        }
        Ok(())
    }
}

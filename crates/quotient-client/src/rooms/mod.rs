//! Views of a room read from the store with no network: its members with
//! disambiguated display names, tags, and direct chats.
//!
//! Everything here is a read over what sync batches already stored
//! (current `m.room.member` state, per-room `m.tag` and global `m.direct`
//! account data); nothing sends a request. Malformed entries (a member
//! event without a `membership`, a tag whose `order` is not a number, a
//! direct-chat list that is not an array) are skipped or read leniently,
//! never a failure: a server or another client may write anything.

mod direct;
mod members;
mod tags;

#[cfg(test)]
mod tests;

pub use direct::DirectChats;
pub use members::{MemberMembership, RoomMember};
pub use tags::RoomTag;

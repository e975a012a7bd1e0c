//! The client layer over [`quotient`]'s job engine: sync, rooms,
//! timelines and typed events, kept in an embedded SQLite store.
//!
//! It sits on top of the engine and never reaches around it: every
//! request is a job submitted through a [`quotient::Connection`]. One sync
//! batch travels one way: the long-poll job's typed answer is folded into
//! the store in one transaction (its `next_batch` included), and only after
//! the commit are watchers told.

#![warn(missing_docs)]

pub mod account;
mod client;
#[cfg(feature = "e2e-encryption")]
mod crypto;
pub mod encryption;
mod error;
pub mod events;
pub mod media;
pub mod names;
pub mod outbox;
pub mod room;
pub mod rooms;
mod sign_in;
pub mod store;
pub mod sync;
#[cfg(feature = "e2e-encryption")]
pub mod verification;
pub mod watch;

pub use client::{Client, ClientBuilder};
pub use error::{Error, Result};
pub use sign_in::SESSION_FILE;
pub use store::Store;

/// Room IDs the unit tests write as text.
#[cfg(test)]
pub(crate) mod test_ids {
    pub fn room_id(text: &str) -> quotient_api::RoomId {
        quotient_api::RoomId::parse(text).unwrap()
    }
}

//! The account itself: its profile (display name, avatar), the users it
//! ignores (`m.ignored_user_list`) and its presence. Each change is one
//! job through the engine.
//!
//! Ignored users' events are left out of [`Room::latest_events`](crate::room::Room::latest_events),
//! the timeline watchers and the typed handlers, and rooms they invited
//! this account to out of [`Client::invited_rooms`](crate::Client::invited_rooms)
//! (the server drops their new invites itself).

mod ignored;
mod presence;
mod profile;

pub use presence::{Presence, PresenceState};
pub use profile::Profile;

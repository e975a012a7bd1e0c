//! Watching: rooms, timeline events and members, read from the store
//! after each commit, never from the network directly.
//!
//! - [`TimelineWatcher`] ([`Client::watch_timeline`](crate::Client::watch_timeline),
//!   [`Client::on_timeline_event`](crate::Client::on_timeline_event)): every timeline event first stored by
//!   a `/sync` batch, in the order stored, **handled once across
//!   restarts**: each watcher (by name) keeps a cursor per room in the
//!   store, committed when the event is handled (the next
//!   [`next`](TimelineWatcher::next), or [`ack`](TimelineWatcher::ack), or
//!   the handler's future returning). Delivered, then committed: a crash
//!   (or a drop) after an event was handed over and before its commit
//!   hands that one event over again on restart — at-least-once for the
//!   event in flight, never an event skipped, never an event committed
//!   redelivered. Events back-paginated are history, not handed over.
//! - [`RoomWatcher`] ([`Client::watch_rooms`](crate::Client::watch_rooms)): rooms new and changed,
//!   our membership changes and invites, live (from now on);
//!   [`DurableRoomWatcher`] ([`Client::watch_rooms_durably`](crate::Client::watch_rooms_durably)) the same
//!   from the store, each once across restarts, by name.
//! - [`LiveTimeline`] ([`Client::live_timeline`](crate::Client::live_timeline)): a timeline watcher
//!   with this client's local echoes, each replaced by its synced event
//!   (never shown twice).
//! - [`MemberChange::from_event`]: the member changes among the timeline
//!   watcher's events (so each once, as they are).

mod live;
mod rooms;
mod timeline;
mod typed;

pub use live::{LiveTimeline, TimelineUpdate};
pub use rooms::{DurableRoomWatcher, MemberChange, RoomUpdate, RoomWatcher};
pub use timeline::TimelineWatcher;
pub use typed::HandlerOutcome;

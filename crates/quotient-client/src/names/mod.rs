//! Display names: a room's (the spec's algorithm, heroes when unnamed) and
//! a member's (disambiguated when two members share one).
//!
//! Both are pure functions over borrowed data so that the store, the CLI
//! and tests compute names the same way, without any I/O and without
//! knowing where the members came from.
//!
//! The rules follow the Client-Server API's
//! [room display name](https://spec.matrix.org/v1.19/client-server-api/#calculating-the-display-name-for-a-room)
//! and
//! [user display name](https://spec.matrix.org/v1.19/client-server-api/#calculating-the-display-name-for-a-user)
//! sections; where the spec leaves a choice, the choice is documented on
//! the function that makes it.

mod member;
mod room;

pub use member::{disambiguated_names, Member};
pub use room::{room_display_name, RoomNameInput};

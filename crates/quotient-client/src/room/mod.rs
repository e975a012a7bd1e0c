//! A room a program holds: [`Room`], the client plus a room ID.
//!
//! Everything a program reads about a room comes from the store (no
//! network): its name by the spec's algorithm, topic, avatar, alias,
//! membership, encryption, join rule, history visibility, power levels,
//! tags, direct-ness, unread counts, members, timeline and relations.
//! Everything it does goes through the engine as a job, and every event
//! it sends through the outbox (stored before it goes out, sent once).
//! An action the stored power levels refuse fails with
//! [`Error::NotAllowed`] before any request.
//!
//! ```no_run
//! # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
//! use quotient_client::outbox::OutgoingEvent;
//! for room in client.joined_rooms()? {
//!     println!("{}: {} unread", room.display_name()?, room.unread_count()?);
//! }
//! let room = client.room(&"!abc:example.org".parse()?)?;
//! room.send(OutgoingEvent::text("hello")).await?.sent().await?;
//! room.set_topic("Greetings").await?;
//! # Ok(()) }
//! ```

mod lookup;
mod markers;
mod membership;
mod power;
mod reads;
mod sending;
mod threads;
mod timeline;

pub use crate::events::PowerLevel;
pub use markers::{ReceiptKind, ReceiptThread};
pub use power::{creators_outrank, Refusal, RoomAction, RoomPower};
pub use threads::{ThreadPage, ThreadSummary};

use quotient_api::{RoomId, UserId};

use crate::client::Client;
use crate::error::{Error, Result};

/// A room: the client and a room ID. Cheap to clone; reads the store and
/// acts through the engine and the outbox. Got from
/// [`Client::room`], [`Client::rooms`], [`Client::joined_rooms`] or
/// [`Client::rooms_named`].
#[derive(Clone, Debug)]
pub struct Room {
    client: Client,
    id: RoomId,
}

impl Room {
    pub(crate) fn new(client: Client, id: RoomId) -> Room {
        Room { client, id }
    }

    /// The room's ID.
    pub fn id(&self) -> &RoomId {
        &self.id
    }

    /// The client it belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// This account's user ID.
    pub(crate) fn own_user(&self) -> Result<UserId> {
        self.client.connection().user_id().ok_or(Error::NotSignedIn)
    }

    /// Checks `action` against the stored power levels for this account:
    /// [`Error::NotAllowed`] when they refuse it (nothing was sent).
    pub fn ensure_allowed(&self, action: &RoomAction) -> Result<()> {
        let me = self.own_user()?;
        self.power_levels()?
            .check(&me, action)
            .map_err(|refusal| Error::NotAllowed {
                room_id: self.id.clone(),
                action: action.to_string(),
                needed: refusal.needed,
                level: refusal.level,
                target: refusal
                    .target
                    .map(|(user, level)| format!("{user} has {level}")),
            })
    }

    /// Whether this account may do `action`, by the stored power levels.
    ///
    /// ```no_run
    /// # fn demo(room: quotient_client::room::Room, spammer: quotient_api::UserId) -> quotient_client::Result<()> {
    /// use quotient_client::room::RoomAction;
    /// if room.can(&RoomAction::Kick(spammer))? { /* … */ }
    /// # Ok(()) }
    /// ```
    pub fn can(&self, action: &RoomAction) -> Result<bool> {
        let me = self.own_user()?;
        Ok(self.power_levels()?.can(&me, action))
    }
}

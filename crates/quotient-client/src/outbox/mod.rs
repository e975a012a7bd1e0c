//! The outbox: sending that never loses or duplicates an event.
//!
//! [`Client::send`](crate::Client::send) stores the event with a fresh
//! transaction ID and **commits it before anything goes on the wire**;
//! a room's sender task then sends the room's entries one at a time, in
//! the order queued, through the engine. What that gives:
//!
//! - **Nothing lost.** Once `send` returned, the entry is on disk. A
//!   process that stops or is killed at any point leaves it queued (or
//!   `sending`), and the next process sends it
//!   ([`Client::resume_outbox`](crate::Client::resume_outbox), which
//!   sending and the sync loop call).
//! - **Nothing twice.** Every try of an entry uses its one transaction
//!   ID, and the server deduplicates a transaction ID per device (see the
//!   spec on [transaction identifiers](https://spec.matrix.org/v1.19/client-server-api/#transaction-identifiers)).
//!   The entry remembers its device: if the session now belongs to
//!   another device and the entry may already have reached the server,
//!   it fails with a message saying so instead of risking a duplicate
//!   (retry it to send it anyway). State events have no transaction ID;
//!   setting the same state again is harmless.
//! - **In order.** A room's later entry never goes out before an earlier
//!   one is sent or has failed for good.
//! - **States:** queued → sending → sent (event ID), or failed (the error)
//!   until [`retry_send`](crate::Client::retry_send) or
//!   [`cancel_send`](crate::Client::cancel_send). A permanent refusal
//!   (403, 413 `M_TOO_LARGE`, a bad event) fails that entry only; the
//!   room's next entries go on. A transient failure (network down, 5xx,
//!   timeout, rate limit beyond the engine's patience) is tried again, after
//!   the engine's own retries, with the connection's back-off waits and
//!   jitter, for as long as it takes. A 401 (the session is gone) stops
//!   the room's sender with its entries kept.
//! - **Answer lost, event synced.** An event the server sends back by
//!   `/sync` with our transaction ID (`unsigned.transaction_id`) marks its
//!   entry sent in the same transaction as the batch, even if the send's
//!   own answer never arrived.
//! - **Local echo.** [`Store::timeline_items`](crate::Store::timeline_items)
//!   is the stored timeline followed by the room's entries not yet synced
//!   back ([`TimelineItem::Pending`](crate::store::TimelineItem)); once the
//!   synced event is stored, its echo is gone, so it is never shown twice.
//!   A timeline watcher's [`LiveEvent::transaction_id`](crate::store::LiveEvent::transaction_id)
//!   names the echo an event replaces.
//! - **Files** ([`send_file`](crate::Client::send_file)) are uploaded
//!   first and the event sent after, as one entry: see `attachment.rs`
//!   for how a crash between the two neither loses the message nor
//!   uploads twice without need. In an encrypted room the file is
//!   encrypted first and only its ciphertext is uploaded; its key is
//!   stored with the entry before the upload (`sealed_file.rs`).
//!
//! Sent entries stay in the outbox for an hour after they were sent (for
//! whoever still waits on them); then a sync batch removes those whose
//! event it has stored.

mod attachment;
mod content;
pub(crate) mod elsewhere;
mod encrypting;
mod entry;
mod registry;
mod sealed_file;
mod send;
mod sender;
mod stop;
mod thread;

pub use content::HTML_FORMAT;
pub use entry::{Attachment, OutboxEntry, OutboxState, OutgoingEvent};
pub(crate) use registry::Outbox;
pub use registry::{Halt, OutboxChange};
pub use send::{FileMessage, PendingSend};

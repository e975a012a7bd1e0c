//! Typed event content, with the original JSON always kept.
//!
//! An [`Event`] wraps an event's JSON as it came and reads its envelope
//! (type, IDs, sender, timestamp, state key, unsigned) on demand;
//! [`Event::content`] types the content by the event type, and
//! [`Event::relation`] its `m.relates_to`. Nothing here fails a batch: an
//! unknown type is [`Content::Unknown`] and the JSON is the value, and
//! content that does not fit its type is a [`ContentError`] for that
//! event alone.
//!
//! [`redact`] strips an event as its room version says, for applying a
//! redaction to a stored event.
//!
//! The shapes follow the spec's
//! [event schemas](https://spec.matrix.org/v1.19/client-server-api/#events).

mod content;
mod encrypted;
mod error;
mod event;
mod keyword;
mod lenient;
mod media;
mod member;
mod message;
mod power_levels;
mod reaction;
mod redact;
mod redaction;
mod relation;
mod room_event;
mod state;

#[cfg(test)]
mod spec_examples;

pub use content::{Content, EventContent};
pub use encrypted::EncryptedContent;
pub use error::ContentError;
pub use event::Event;
pub use media::{EncryptedFile, JsonWebKey, MediaInfo, MediaSource, ThumbnailInfo};
pub use member::{MemberContent, Membership};
pub use message::{Formatted, Location, Media, MessageContent, MessageKind};
pub use power_levels::{PowerLevel, PowerLevelsContent};
pub use reaction::ReactionContent;
pub use redact::{apply_redaction, redact};
pub use redaction::RedactionContent;
pub use relation::Relation;
pub use room_event::RoomEvent;
pub use state::{
    AllowCondition, AvatarContent, CanonicalAliasContent, CreateContent, EncryptionContent,
    HistoryVisibility, HistoryVisibilityContent, JoinRule, JoinRulesContent, NameContent,
    Predecessor, TextRepresentation, TombstoneContent, TopicBlock, TopicContent,
};

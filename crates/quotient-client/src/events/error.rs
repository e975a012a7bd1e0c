//! The one error of typed content: this event's content does not fit.

/// An event's content does not fit the type its `type` names.
///
/// It concerns that one event only: the event is still kept, its JSON
/// untouched (see [`Event::json`](super::Event::json)), so a client can
/// show or store it and carry on with the next one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{event_type} content does not fit its type: {reason}")]
pub struct ContentError {
    /// The event type whose content was expected (`m.room.message`, …).
    pub event_type: String,
    /// What does not fit (serde's message: the field and the fault).
    pub reason: String,
}

impl ContentError {
    pub(crate) fn new(event_type: &str, reason: impl std::fmt::Display) -> Self {
        ContentError {
            event_type: event_type.to_owned(),
            reason: reason.to_string(),
        }
    }
}

//! Typed handlers: the timeline watcher's events of one content type,
//! handed over as [`RoomEvent`]s with their [`Room`].

use std::future::Future;

use quotient_api::EventId;
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::error::Result;
use crate::events::{EventContent, RoomEvent};
use crate::room::Room;
use crate::store::LiveEvent;

impl LiveEvent {
    /// This event typed as `C`: `None` when it is of another type, or its
    /// content, event ID or sender does not fit (logged at WARN).
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// use quotient_client::events::MessageContent;
    /// let mut watcher = client.watch_timeline("bot")?;
    /// loop {
    ///     let live = watcher.next().await?;
    ///     if let Some(message) = live.typed::<MessageContent>() {
    ///         println!("{}: {}", message.sender(), message.content().body);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn typed<C: EventContent>(&self) -> Option<RoomEvent<C>> {
        match RoomEvent::from_json(self.room_id.clone(), self.event.json.clone()) {
            Ok(typed) => typed,
            Err(e) => {
                tracing::warn!(error = %e, room = %self.room_id, "an event not handed to a typed handler");
                None
            }
        }
    }
}

/// What a typed handler's future gives back: nothing, or a `Result`
/// whose error is logged (at WARN, with the event's ID). Either way the
/// event counts as handled.
pub trait HandlerOutcome {
    /// Reports the outcome of handling `event_id`.
    fn report(self, event_id: &EventId);
}

impl HandlerOutcome for () {
    fn report(self, _: &EventId) {}
}

impl<T, E: std::fmt::Display> HandlerOutcome for std::result::Result<T, E> {
    fn report(self, event_id: &EventId) {
        if let Err(e) = self {
            tracing::warn!(error = %e, event = %event_id, "a handler failed on an event");
        }
    }
}

impl Client {
    /// Runs `handler(event, room)` for each live event whose content is
    /// `C` (an `m.room.message` for [`MessageContent`](crate::events::MessageContent)),
    /// through the timeline watcher `name`: in order, one at a time, each
    /// once across restarts (an event's cursor is committed when its
    /// handler's future returns; see [`watch`](crate::watch)). Encrypted
    /// events come decrypted; those never decrypted never come. Events
    /// of other types, of ignored users, or whose content does not fit
    /// `C` are passed over. This account's own events come too. The
    /// handler returns `()` or a `Result` ([`HandlerOutcome`]): an error
    /// is logged, and the event counts as handled all the same.
    ///
    /// The task ends only on a store error; abort its handle to stop it.
    /// Must be called within a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// use quotient_client::events::MessageContent;
    /// client.on::<MessageContent, _, _>("logger", |event, room| async move {
    ///     println!("{} in {}: {}", event.sender(), room.id(), event.content().body);
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn on<C, F, Fut>(&self, name: &str, mut handler: F) -> Result<JoinHandle<Result<()>>>
    where
        C: EventContent + Send + 'static,
        F: FnMut(RoomEvent<C>, Room) -> Fut + Send + 'static,
        Fut: Future + Send,
        Fut::Output: HandlerOutcome,
    {
        let mut watcher = self.watch_timeline(name)?;
        let client = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                let live = watcher.next().await?;
                if let Some(event) = live.typed::<C>() {
                    let room = Room::new(client.clone(), event.room_id().clone());
                    let id = event.event_id().clone();
                    handler(event, room).await.report(&id);
                }
                watcher.ack()?;
            }
        }))
    }
}

//! The file of a room event: the event found in the store, or fetched
//! and decrypted, then its `file` or `url` (or its thumbnail's).

use quotient_api::generated::rooms::GetOneRoomEvent;
use quotient_api::{EventId, RoomId};
use serde_json::Value;

use super::FileSource;
use crate::client::{request_error, Client};
use crate::error::{Error, Result};

impl Client {
    /// The event `event_id` of `room_id` as a program reads it: the
    /// stored event when the store has it (decrypted, if it came
    /// encrypted and decrypted), else fetched (`GET
    /// /rooms/{room}/event/{event}`) and, if encrypted, decrypted by this
    /// process's crypto machine (a fetched event is not stored).
    ///
    /// An encrypted event that is not shown decrypted (its key has not
    /// come, or the trust setting withholds it) fails with
    /// [`Error::Undecryptable`] and the reason.
    pub async fn room_event(&self, room_id: &RoomId, event_id: &EventId) -> Result<Value> {
        let stored = self.store()?.event(room_id, event_id)?;
        if let Some(event) = stored {
            return match event.encryption.and_then(|e| e.error) {
                Some(reason) => Err(Error::Undecryptable {
                    event_id: event_id.clone(),
                    reason,
                }),
                None => Ok(event.json),
            };
        }
        let answer = self
            .connection()
            .submit(GetOneRoomEvent::new(room_id.clone(), event_id.clone()))
            .await
            .map_err(request_error)?;
        let event = serde_json::to_value(answer.into_value())?;
        if event.get("type").and_then(Value::as_str) != Some("m.room.encrypted") {
            return Ok(event);
        }
        self.decrypt_fetched(room_id, event_id, &event).await
    }

    /// The file of the message `event_id` (found as
    /// [`room_event`](Self::room_event) finds it), or with `thumbnail`
    /// its thumbnail's: an encrypted `file` in an encrypted room, else
    /// its `url`. Download it with
    /// [`Media::download_source_to_path`](crate::media::Media::download_source_to_path).
    /// An event without one fails with [`Error::NoFile`].
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client, room: quotient_api::RoomId,
    /// #               event: quotient_api::EventId) -> quotient_client::Result<()> {
    /// let source = client.event_file(&room, &event, false).await?;
    /// client.media().download_source_to_path(&source, "cat.png".as_ref()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn event_file(
        &self,
        room_id: &RoomId,
        event_id: &EventId,
        thumbnail: bool,
    ) -> Result<FileSource> {
        let event = self.room_event(room_id, event_id).await?;
        let none = || Error::NoFile {
            event_id: event_id.clone(),
            what: if thumbnail { "thumbnail" } else { "file" },
        };
        let content = event.get("content").ok_or_else(none)?;
        FileSource::of_content(content, thumbnail)?.ok_or_else(none)
    }

    #[cfg(feature = "e2e-encryption")]
    pub(crate) async fn decrypt_fetched(
        &self,
        room_id: &RoomId,
        event_id: &EventId,
        event: &Value,
    ) -> Result<Value> {
        let undecryptable = |reason: String| Error::Undecryptable {
            event_id: event_id.clone(),
            reason,
        };
        let Some(crypto) = self.crypto().await? else {
            return Err(undecryptable(
                "another process owns this store's crypto machine".into(),
            ));
        };
        let d = crypto.decrypt(room_id.as_str(), &event.to_string()).await?;
        match (d.clear, d.error) {
            (Some(clear), None) => Ok(serde_json::from_str(&clear)?),
            (_, error) => Err(undecryptable(
                error.unwrap_or_else(|| "the machine gave no reason".into()),
            )),
        }
    }

    #[cfg(not(feature = "e2e-encryption"))]
    pub(crate) async fn decrypt_fetched(
        &self,
        _room_id: &RoomId,
        event_id: &EventId,
        _event: &Value,
    ) -> Result<Value> {
        Err(Error::Undecryptable {
            event_id: event_id.clone(),
            reason: "this build has no encryption (the e2e-encryption feature is off)".into(),
        })
    }
}

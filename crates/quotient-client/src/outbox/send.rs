//! The client's sending calls: queue, wait, retry, cancel, resume.

use std::path::PathBuf;

use quotient_api::{EventId, RoomId};
use tokio::sync::broadcast::{self, error::RecvError};

use super::entry::{Attachment, OutboxEntry, OutboxState, OutgoingEvent};
use super::registry::{Halt, OutboxChange};
use super::sender::ensure_sender;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::media::guess_content_type;

/// How long [`Client::send_file`] waits for the server's upload limit.
const CONFIG_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How often a waiter reads the store for an entry another process sends.
const ELSEWHERE_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// An event queued by [`Client::send`]: its transaction ID, and a way to
/// wait until the server took it.
#[derive(Debug)]
pub struct PendingSend {
    room_id: RoomId,
    txn_id: String,
    client: Client,
    changes: broadcast::Receiver<OutboxChange>,
}

impl PendingSend {
    /// The entry's transaction ID (its local echo's key).
    pub fn txn_id(&self) -> &str {
        &self.txn_id
    }

    /// The room it goes to.
    pub fn room_id(&self) -> &RoomId {
        &self.room_id
    }

    /// Waits until the server took the event: its event ID. Fails with
    /// [`Error::SendFailed`] when the server refused it for good (the
    /// entry stays, failed), and with [`Error::SendInterrupted`] when
    /// sending stopped (the session is gone, the store failed) with the
    /// entry still queued. Dropping this future changes nothing: the
    /// entry is sent anyway.
    ///
    /// An entry for an encrypted room queued by a process that does not
    /// own the store is sent by the owner (its sync loop notices it within
    /// a second): this waits, reading the store, until the owner has sent
    /// it. Bound the wait with a timeout if no owner may be running.
    pub async fn sent(mut self) -> Result<EventId> {
        // An entry left by an earlier process has no sender yet.
        if let Err(e) = ensure_sender(&self.client, &self.room_id) {
            tracing::warn!(error = %e, "no sender could be started for the entry waited on");
        }
        let mut halted: Option<Halt> = None;
        loop {
            let entry = self.client.store()?.outbox_entry(&self.txn_id)?;
            match entry.map(|e| e.state) {
                None => return Err(Error::NoSuchSend(self.txn_id)),
                Some(OutboxState::Sent {
                    event_id: Some(event_id),
                }) => return Ok(event_id),
                // Sent, its ID not known yet: the sync brings it.
                Some(OutboxState::Sent { event_id: None }) => {}
                Some(OutboxState::Failed { error }) => {
                    return Err(Error::SendFailed {
                        txn_id: self.txn_id,
                        error,
                    })
                }
                Some(_) => {
                    if let Some(halt) = halted.take() {
                        if halt.elsewhere {
                            // The owner sends it and writes its state to
                            // the store: read the store until it does.
                            tokio::time::sleep(ELSEWHERE_POLL).await;
                            halted = Some(halt);
                            continue;
                        }
                        return Err(Error::SendInterrupted {
                            txn_id: self.txn_id,
                            session: halt.session,
                            reason: halt.reason,
                        });
                    }
                }
            }
            loop {
                match self.changes.recv().await {
                    // The room's sending stopped: if this entry is still
                    // unsent (read again above), it is interrupted.
                    Ok(change) if change.room_id == self.room_id && change.halted.is_some() => {
                        halted = change.halted;
                        break;
                    }
                    Ok(change) if change.txn_id != self.txn_id => continue,
                    // This entry changed, or notices were missed: read it again.
                    Ok(_) | Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => {
                        return Err(Error::TaskLost("the client is gone".into()))
                    }
                }
            }
        }
    }
}

/// A file to send with [`Client::send_file`], with optional settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMessage {
    path: PathBuf,
    content_type: Option<String>,
    caption: Option<String>,
    reply_to: Option<EventId>,
}

impl FileMessage {
    /// The file at `path`; its content type is guessed from its name
    /// ([`guess_content_type`]) and its name is the message's body.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            content_type: None,
            caption: None,
            reply_to: None,
        }
    }

    /// The content type to upload it with, instead of the guess.
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(content_type.to_owned());
        self
    }

    /// A caption: the message's body, the file name going in `filename`.
    pub fn caption(mut self, caption: &str) -> Self {
        self.caption = Some(caption.to_owned());
        self
    }

    /// Makes the message a reply to `event_id`.
    pub fn reply_to(mut self, event_id: &EventId) -> Self {
        self.reply_to = Some(event_id.clone());
        self
    }
}

impl Client {
    /// Queues `event` for `room_id` and starts sending it: it is stored
    /// with a fresh transaction ID before anything goes on the wire, then
    /// sent after every earlier entry of the room. See
    /// [`outbox`](crate::outbox) for the guarantees. Must be called
    /// within a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client, room: quotient_api::RoomId) -> quotient_client::Result<()> {
    /// use quotient_client::outbox::OutgoingEvent;
    /// let event_id = client.send(&room, OutgoingEvent::text("hello")).await?.sent().await?;
    /// println!("sent as {event_id}");
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, room_id: &RoomId, event: OutgoingEvent) -> Result<PendingSend> {
        self.queue(room_id, event, None)
    }

    /// Like [`send`](Client::send), but at most once per `key`: the
    /// transaction ID is made from `key`, and while the outbox holds an
    /// entry of that key, sending it again returns that entry instead of
    /// queuing another. A bot answering events keys each answer by the
    /// event it answers (`reply:{event_id}`): an event handed over again
    /// after a crash is not answered twice. Entries are kept an hour
    /// after their event was synced back, and the server deduplicates the
    /// transaction ID for its own while.
    pub async fn send_keyed(
        &self,
        room_id: &RoomId,
        key: &str,
        event: OutgoingEvent,
    ) -> Result<PendingSend> {
        self.queue_as(Some(key), room_id, event, None)
    }

    /// Queues a file message: the file is uploaded, then an `m.image`,
    /// `m.video`, `m.audio` or `m.file` message (by its content type) is
    /// sent pointing at it, as one entry; see [`FileMessage`] for the
    /// options. The file must stay until the entry is sent.
    ///
    /// A file over the server's upload limit (`m.upload.size`) fails here
    /// with [`Error::TooLarge`], and nothing is queued or sent. When the
    /// limit cannot be had within 5 s (offline), the file is queued anyway.
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client, room: quotient_api::RoomId) -> quotient_client::Result<()> {
    /// use quotient_client::outbox::FileMessage;
    /// let file = FileMessage::new("cat.png").caption("my cat");
    /// let event_id = client.send_file(&room, file).await?.sent().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_file(&self, room_id: &RoomId, file: FileMessage) -> Result<PendingSend> {
        let path = file.path.as_path();
        let size = std::fs::metadata(path)
            .map_err(|source| Error::File {
                action: "read",
                path: path.to_owned(),
                source,
            })?
            .len();
        // Checked when the server can say, briefly: offline, the entry is
        // queued anyway and a 413 at upload would fail it then.
        let config = tokio::time::timeout(CONFIG_WAIT, self.media().config()).await;
        match config {
            Ok(Ok(config)) => {
                if let Some(limit) = config.upload_size {
                    if size > limit {
                        return Err(Error::TooLarge {
                            size: Some(size),
                            limit,
                        });
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "upload limit unknown; queuing the file anyway")
            }
            Err(_) => tracing::warn!("upload limit not known in time; queuing the file anyway"),
        }
        let content_type = file
            .content_type
            .as_deref()
            .unwrap_or_else(|| guess_content_type(path));
        let name = path
            .file_name()
            .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
        let attachment = Attachment {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
            content_type: content_type.to_owned(),
            size,
            content_uri: None,
            uploaded: false,
        };
        let mut event = OutgoingEvent::file(content_type, &name, file.caption.as_deref());
        if let Some(target) = &file.reply_to {
            event = event.reply_to(target);
        }
        self.queue(room_id, event, Some(attachment))
    }

    fn queue(
        &self,
        room_id: &RoomId,
        event: OutgoingEvent,
        attachment: Option<Attachment>,
    ) -> Result<PendingSend> {
        self.queue_as(None, room_id, event, attachment)
    }

    fn queue_as(
        &self,
        key: Option<&str>,
        room_id: &RoomId,
        event: OutgoingEvent,
        attachment: Option<Attachment>,
    ) -> Result<PendingSend> {
        let device = self
            .connection()
            .session()
            .ok_or(Error::NotSignedIn)?
            .device_id;
        // Subscribed before the entry exists: no change is missed.
        let changes = self.outbox().subscribe();
        let entry = match key {
            Some(key) => self
                .store()?
                .enqueue_keyed(key, room_id.as_str(), &device, &event)?,
            None => {
                self.store()?
                    .enqueue(room_id.as_str(), &device, &event, attachment.as_ref())?
            }
        };
        self.outbox()
            .tell_state(&entry.room_id, &entry.txn_id, OutboxState::Queued);
        // The entry is committed: from here on an error would invite the
        // caller to queue it twice. Without a sender now, the next batch,
        // send or wait starts one.
        if let Err(e) = ensure_sender(self, &entry.room_id) {
            tracing::warn!(error = %e, "the entry is queued; its sender starts later");
        }
        Ok(PendingSend {
            room_id: room_id.clone(),
            txn_id: entry.txn_id,
            client: self.clone(),
            changes,
        })
    }

    /// Turns end-to-end encryption on in `room_id` (an `m.room.encryption`
    /// state event, through the outbox) and returns the event's ID once
    /// sent. Nothing turns it off again: from the moment the store has
    /// that state, every message this client sends there is encrypted.
    pub async fn enable_encryption(&self, room_id: &RoomId) -> Result<EventId> {
        let event = OutgoingEvent::state(
            "m.room.encryption",
            "",
            crate::encryption::encryption_content(),
        );
        self.send(room_id, event).await?.sent().await
    }

    /// Waits on an entry queued earlier (by this process or one before
    /// it) as [`PendingSend::sent`] does.
    pub fn pending_send(&self, txn_id: &str) -> Result<PendingSend> {
        let changes = self.outbox().subscribe();
        let entry = self
            .store()?
            .outbox_entry(txn_id)?
            .ok_or_else(|| Error::NoSuchSend(txn_id.to_owned()))?;
        Ok(PendingSend {
            room_id: entry.room_id,
            txn_id: entry.txn_id,
            client: self.clone(),
            changes,
        })
    }

    /// Starts sending every room's unsent entries (queued by this process
    /// or left by one that stopped), each room in its order. Sending and
    /// [`start_sync_loop`](Client::start_sync_loop) call it; call it
    /// after a new sign-in to send what waited. Must be called within a
    /// Tokio runtime.
    pub fn resume_outbox(&self) -> Result<()> {
        // The store guard must be gone before a sender is registered: a
        // sender takes the registry lock, then the store (never the
        // other way round).
        let rooms = self.store()?.rooms_with_unsent()?;
        for room in rooms {
            ensure_sender(self, &room)?;
        }
        Ok(())
    }

    /// Puts a failed entry back in the queue and starts sending it.
    pub fn retry_send(&self, txn_id: &str) -> Result<()> {
        if !self.store()?.requeue(txn_id)? {
            return Err(Error::NoSuchSend(txn_id.to_owned()));
        }
        let room = self.store()?.outbox_entry(txn_id)?.map(|e| e.room_id);
        if let Some(room) = room {
            if let Err(e) = ensure_sender(self, &room) {
                tracing::warn!(error = %e, "the entry is queued again; its sender starts later");
            }
        }
        Ok(())
    }

    /// Removes a queued or failed entry (its local echo goes with it).
    pub fn cancel_send(&self, txn_id: &str) -> Result<()> {
        self.store()?.cancel(txn_id)
    }

    /// Notices of outbox changes (queued, sending, retrying, sent, failed,
    /// halted), each after it was stored.
    pub fn outbox_changes(&self) -> broadcast::Receiver<OutboxChange> {
        self.outbox().subscribe()
    }

    /// The outbox, in the order queued (every room's, or one room's).
    pub fn outbox_entries(&self, room_id: Option<&RoomId>) -> Result<Vec<OutboxEntry>> {
        self.store()?.outbox(room_id)
    }
}

//! Read markers, typing notices and a room's account data: receipts and
//! `m.fully_read`, typing, tags and `m.marked_unread`. Each is one job.

use std::time::Duration;

use quotient_api::generated::account_data::SetAccountDataPerRoom;
use quotient_api::generated::definitions::Tag;
use quotient_api::generated::read_markers::SetReadMarker;
use quotient_api::generated::receipts::{PostReceipt, PostReceiptReceiptType};
use quotient_api::generated::tags::{DeleteRoomTag, SetRoomTag};
use quotient_api::generated::typing::SetTyping;
use quotient_api::{EventId, JsonObject};
use serde_json::Value;

use super::Room;
use crate::error::{Error, Result};

/// Which timeline a receipt is for (threaded receipts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptThread<'a> {
    /// The room as a whole (an unthreaded receipt).
    Unthreaded,
    /// The main timeline, outside every thread (`main`).
    Main,
    /// The thread rooted at this event.
    Thread(&'a EventId),
}

/// Which receipt to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptKind {
    /// `m.read`: others see how far this account has read.
    Read,
    /// `m.read.private`: only this account's own clients see it.
    ReadPrivate,
}

impl Room {
    /// Marks the room read up to `event_id`: a public read receipt and
    /// the `m.fully_read` marker, in one request (`/read_markers`).
    pub async fn read_up_to(&self, event_id: &EventId) -> Result<()> {
        let mut request = SetReadMarker::new(self.id.as_str().to_owned());
        request.m_fully_read = Some(event_id.as_str().to_owned());
        request.m_read = Some(event_id.as_str().to_owned());
        self.submit(request).await
    }

    /// Marks the room read up to its newest stored event, and clears a
    /// "marked unread" flag; the event read, `None` if the timeline is
    /// empty (then nothing is sent).
    ///
    /// ```no_run
    /// # async fn demo(room: quotient_client::room::Room) -> quotient_client::Result<()> {
    /// room.mark_read().await?;
    /// # Ok(()) }
    /// ```
    pub async fn mark_read(&self) -> Result<Option<EventId>> {
        let Some(newest) = self.latest_event_id()? else {
            return Ok(None);
        };
        self.read_up_to(&newest).await?;
        if self.is_marked_unread()? {
            self.set_marked_unread(false).await?;
        }
        Ok(Some(newest))
    }

    /// Sends one receipt for `event_id`, for the room as a whole, its main
    /// timeline or one thread.
    ///
    /// ```no_run
    /// # async fn demo(room: quotient_client::room::Room, root: quotient_api::EventId,
    /// #               reply: quotient_api::EventId) -> quotient_client::Result<()> {
    /// use quotient_client::room::{ReceiptKind, ReceiptThread};
    /// room.send_receipt(ReceiptKind::Read, &reply, ReceiptThread::Thread(&root)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_receipt(
        &self,
        kind: ReceiptKind,
        event_id: &EventId,
        thread: ReceiptThread<'_>,
    ) -> Result<()> {
        let receipt_type = match kind {
            ReceiptKind::Read => PostReceiptReceiptType::Read,
            ReceiptKind::ReadPrivate => PostReceiptReceiptType::ReadPrivate,
        };
        let mut request = PostReceipt::new(self.id.clone(), receipt_type, event_id.clone());
        request.thread_id = match thread {
            ReceiptThread::Unthreaded => None,
            ReceiptThread::Main => Some("main".to_owned()),
            ReceiptThread::Thread(root) => Some(root.as_str().to_owned()),
        };
        self.submit(request).await
    }

    /// Tells the room this account is typing, for `timeout` at most (the
    /// server stops it then), or that it stopped (`None`).
    pub async fn typing(&self, timeout: Option<Duration>) -> Result<()> {
        let me = self.own_user()?;
        let mut request = SetTyping::new(me, self.id.clone(), timeout.is_some());
        request.timeout = timeout.map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
        self.submit(request).await
    }

    /// Tags the room (`m.favourite`, `m.lowpriority`, `u.work`, …) with an
    /// optional `order` between 0 and 1.
    pub async fn tag(&self, tag: &str, order: Option<f64>) -> Result<()> {
        let me = self.own_user()?;
        let request = SetRoomTag::new(
            me.into_string(),
            self.id.as_str().to_owned(),
            tag.to_owned(),
            Tag { order },
        );
        self.submit(request).await
    }

    /// Removes a tag.
    pub async fn untag(&self, tag: &str) -> Result<()> {
        let me = self.own_user()?;
        let request = DeleteRoomTag::new(
            me.into_string(),
            self.id.as_str().to_owned(),
            tag.to_owned(),
        );
        self.submit(request).await
    }

    /// Marks the room unread (`m.marked_unread`), or clears the mark.
    pub async fn set_marked_unread(&self, unread: bool) -> Result<()> {
        self.set_account_data("m.marked_unread", serde_json::json!({ "unread": unread }))
            .await
    }

    /// Sets one of the room's account-data events for this account.
    pub async fn set_account_data(&self, event_type: &str, content: Value) -> Result<()> {
        let Value::Object(content) = content else {
            return Err(Error::UnusableEvent(format!(
                "the content of {event_type} must be a JSON object"
            )));
        };
        let me = self.own_user()?;
        let request = SetAccountDataPerRoom::new(
            me.into_string(),
            self.id.as_str().to_owned(),
            event_type.to_owned(),
            JsonObject::from_iter(content),
        );
        self.submit(request).await
    }
}

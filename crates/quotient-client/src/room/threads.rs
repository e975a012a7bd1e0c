//! Threads (`m.thread`): a room's thread roots with their latest reply
//! and reply count, a thread's events back-paginated through
//! `/relations`, and what the store already has of a thread.
//!
//! Sending into a thread is [`Room::send_in_thread`] (with the reply
//! fallback the spec describes), a thread read receipt
//! [`Room::send_receipt`] with [`ReceiptThread::Thread`](super::ReceiptThread::Thread).

use std::collections::HashSet;

use quotient_api::generated::definitions::Direction;
use quotient_api::generated::relations::GetRelatingEventsWithRelType;
use quotient_api::generated::threads_list::{GetThreadRoots, GetThreadRootsInclude};
use quotient_api::EventId;
use serde_json::Value;

use super::Room;
use crate::client::request_error;
use crate::error::Result;
use crate::store::StoredEvent;

/// A thread as the server sums it up.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadSummary {
    /// The root event's ID.
    pub root_id: EventId,
    /// The root event.
    pub root: Value,
    /// The newest event of the thread, if the server said.
    pub latest: Option<Value>,
    /// How many events the thread has (the root not counted).
    pub count: u64,
}

/// One page of a thread's events, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadPage {
    /// The events, oldest first.
    pub events: Vec<Value>,
    /// Where older events continue (`None`: this page reached the root).
    pub older: Option<String>,
}

const THREAD: &str = "m.thread";

impl Room {
    /// The room's threads, most recently active first (`GET
    /// /rooms/{room}/threads`, at most `limit`), each with its latest
    /// event and reply count.
    ///
    /// ```no_run
    /// # async fn demo(room: quotient_client::room::Room) -> quotient_client::Result<()> {
    /// for thread in room.threads(20).await? {
    ///     println!("{}: {} replies", thread.root_id, thread.count);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn threads(&self, limit: u32) -> Result<Vec<ThreadSummary>> {
        let mut request = GetThreadRoots::new(self.id.as_str().to_owned());
        request.include = Some(GetThreadRootsInclude::All);
        request.limit = Some(i64::from(limit.max(1)));
        let page = self
            .client
            .connection()
            .submit(request)
            .await
            .map_err(request_error)?
            .into_value();
        let mut out = Vec::new();
        for root in page.chunk {
            let root = root.json();
            let Some(root_id) = root
                .get("event_id")
                .and_then(Value::as_str)
                .and_then(|id| EventId::parse(id).ok())
            else {
                continue;
            };
            let summary = root
                .get("unsigned")
                .and_then(|u| u.get("m.relations"))
                .and_then(|r| r.get(THREAD));
            out.push(ThreadSummary {
                root_id,
                latest: summary.and_then(|s| s.get("latest_event")).cloned(),
                count: summary
                    .and_then(|s| s.get("count"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                root,
            });
        }
        Ok(out)
    }

    /// One page of the thread rooted at `root` (at most `limit` events,
    /// before `older`, or the newest when `None`), through `/relations`
    /// with the thread filter; encrypted events are decrypted when this
    /// process can. Fetched events are not stored.
    pub async fn thread_page(
        &self,
        root: &EventId,
        older: Option<&str>,
        limit: u32,
    ) -> Result<ThreadPage> {
        let mut request =
            GetRelatingEventsWithRelType::new(self.id.clone(), root.clone(), THREAD.into());
        request.dir = Some(Direction::Backward);
        request.from = older.map(str::to_owned);
        request.limit = Some(i64::from(limit.max(1)));
        let page = self
            .client
            .connection()
            .submit(request)
            .await
            .map_err(request_error)?
            .into_value();
        let mut events = Vec::with_capacity(page.chunk.len());
        for event in page.chunk.iter().rev() {
            events.push(self.readable(event.json()).await);
        }
        Ok(ThreadPage {
            events,
            older: page.next_batch,
        })
    }

    /// A fetched event as a program reads it: decrypted if it came
    /// encrypted and this process can (else as it came, with a WARN).
    async fn readable(&self, event: Value) -> Value {
        if event.get("type").and_then(Value::as_str) != Some("m.room.encrypted") {
            return event;
        }
        let Some(id) = event
            .get("event_id")
            .and_then(Value::as_str)
            .and_then(|id| EventId::parse(id).ok())
        else {
            return event;
        };
        match self.client.decrypt_fetched(&self.id, &id, &event).await {
            Ok(decrypted) => decrypted,
            Err(e) => {
                tracing::warn!(error = %e, event = %id, "a thread event stays encrypted");
                event
            }
        }
    }

    /// Every event of the thread rooted at `root`, oldest first, each
    /// once: pages of `page_size` fetched back to the root. Events of
    /// ignored users are left out.
    pub async fn thread_events(&self, root: &EventId, page_size: u32) -> Result<Vec<Value>> {
        let mut pages: Vec<Vec<Value>> = Vec::new();
        let mut older: Option<String> = None;
        loop {
            let page = self.thread_page(root, older.as_deref(), page_size).await?;
            let done = page.older.is_none() || page.events.is_empty() || page.older == older;
            pages.push(page.events);
            if done {
                break;
            }
            older = page.older;
        }
        let ignored = self.client.store()?.ignored_user_ids()?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for event in pages.into_iter().rev().flatten() {
            let id = event
                .get("event_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let sender = event.get("sender").and_then(Value::as_str);
            if sender.is_some_and(|s| ignored.contains(s)) {
                continue;
            }
            if id.is_none_or(|id| seen.insert(id)) {
                out.push(event);
            }
        }
        Ok(out)
    }

    /// The events of the thread rooted at `root` the store has, in
    /// timeline order (synced or back-paginated with the room).
    pub fn stored_thread(&self, root: &EventId) -> Result<Vec<StoredEvent>> {
        let events = self.client.store()?.thread_replies(root)?;
        self.client.without_ignored(events)
    }
}

//! Simplified sliding sync (MSC4186) beside `/sync` v3, on the same
//! store with the same guarantees (docs/client.md, "Two sync loops").
//!
//! One connection serves the room list: a window over all rooms from
//! the most recent, starting at [`FIRST_WINDOW`] and growing by
//! [`GROWTH`] per response (without waiting) until it covers the
//! account, then long-polling; rooms a program subscribes to come with a
//! larger timeline. Each response is folded in one transaction with its
//! `pos` (apart from v3's `since`), after the crypto machine took its
//! to-device and e2ee extensions, exactly as for a v3 batch. An
//! `M_UNKNOWN_POS` forgets the `pos` and starts a new connection: what is
//! stored stays, and events that come again are stored once.

mod translate;
pub(crate) mod wire;

use std::time::Duration;

use quotient::StatusCode;
use quotient_api::{HttpRequest, RequestBody};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::store::sliding::{self, SlidingPosition};
use crate::sync::SyncChanges;

/// The room list's first window: what a program shows first.
pub const FIRST_WINDOW: u32 = 20;
/// How many rooms the window grows by per response.
pub const GROWTH: u32 = 100;
/// Timeline events per room of the list: the newest ten when a room
/// first comes, and up to ten new ones per response after (a burst
/// larger than that between two responses leaves a gap, recorded as v3's
/// do). One, as Element X asks, would leave a gap at every second event
/// that arrives between two responses, and the watchers of a program
/// that reads everything (a bot) would miss the others.
const LIST_TIMELINE: u32 = 10;
/// Timeline events per subscribed room.
const SUBSCRIPTION_TIMELINE: u32 = 20;

/// What one sliding-sync step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlidingStep {
    /// What the committed response changed, as a v3 batch reports it.
    pub changes: SyncChanges,
    /// Whether this response began a new connection (the first, or one
    /// after the server forgot the position).
    pub new_connection: bool,
    /// Rooms the room list has on the server.
    pub rooms_total: u64,
    /// Rooms the window covers now.
    pub window: u32,
}

impl SlidingStep {
    /// Whether the window covers the whole room list.
    pub fn covers_all(&self) -> bool {
        u64::from(self.window) >= self.rooms_total
    }
}

impl Client {
    /// Whether the server offers simplified sliding sync (its `/versions`
    /// lists `org.matrix.simplified_msc3575`).
    pub async fn server_has_sliding_sync(&self) -> Result<bool> {
        let versions = self
            .connection()
            .versions()
            .await
            .map_err(crate::client::request_error)?;
        Ok(versions.unstable_feature(wire::FEATURE))
    }

    /// Subscribes to `room`, for the room a program opens: its newest
    /// 20 events are fetched now (back-paginated into their place before
    /// what the store has), and from the next sliding-sync response on it
    /// comes with up to 20 new events per response whether or not it is
    /// in the room list's window.
    pub async fn subscribe_room(&self, room: &quotient_api::RoomId) -> Result<()> {
        self.paginate_back(room, SUBSCRIPTION_TIMELINE).await?;
        self.sliding_subscriptions()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room.as_str().to_owned());
        Ok(())
    }

    /// One sliding-sync request and its response folded into the store.
    /// The window grows after each response until it covers the account;
    /// `wait` is how long the server may hold the request when the
    /// window already covers everything.
    pub async fn sliding_sync_once_with(&self, wait: Duration) -> Result<SlidingStep> {
        #[cfg(feature = "e2e-encryption")]
        self.crypto_for_sync().await?;
        let position = self.store()?.sliding_position()?;
        let covered = position.pos.is_some() && position.window > 0;
        let window = if position.pos.is_none() {
            FIRST_WINDOW
        } else {
            position.window.max(FIRST_WINDOW)
        };
        let subscriptions: Vec<(String, u32)> = self
            .sliding_subscriptions()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|r| (r.clone(), SUBSCRIPTION_TIMELINE))
            .collect();
        let ask = wire::Ask {
            window,
            list_timeline: LIST_TIMELINE,
            subscriptions: &subscriptions,
            to_device_since: position.to_device_since.as_deref(),
            encryption: cfg!(feature = "e2e-encryption"),
        };
        let growing = self.sliding_growing();
        let timeout = if covered && !growing {
            wait
        } else {
            Duration::ZERO
        };
        let first_try = self.sliding_request(&position, &ask, timeout).await;
        let (body, served, restarted) = match first_try {
            Err(Error::Request(e)) if is_unknown_pos(&e) => {
                tracing::warn!(
                    "the server forgot the sliding-sync position; starting a new connection"
                );
                self.store()?.forget_sliding_pos()?;
                let fresh = SlidingPosition {
                    pos: None,
                    ..position.clone()
                };
                let ask = wire::Ask {
                    window: FIRST_WINDOW,
                    ..ask
                };
                let body = self.sliding_request(&fresh, &ask, Duration::ZERO).await?;
                (body, FIRST_WINDOW, true)
            }
            other => (other?, ask.window, position.pos.is_none()),
        };
        let response: wire::Response<'_> = serde_json::from_slice(&body).map_err(|e| {
            Error::Request(quotient::Error::new(
                StatusCode::IncorrectResponse,
                format!("the sliding-sync answer does not decode: {e}"),
            ))
        })?;
        let user = self.connection().user_id().ok_or(Error::NotSignedIn)?;
        let stored = {
            let ids = translate::expanded_event_ids(&response);
            if ids.is_empty() {
                Default::default()
            } else {
                self.store()?.held_events(&ids)?
            }
        };
        let joined = {
            let only = translate::ephemeral_only_rooms(&response);
            if only.is_empty() {
                Default::default()
            } else {
                self.store()?.joined_among(&only)?
            }
        };
        let (v3, extras) =
            translate::to_v3(&response, user.as_str(), &stored, &joined).map_err(Error::Json)?;
        let total = response.list_count().unwrap_or(0);
        // The next window: grown by a step, never past the list.
        let next_window = if u64::from(served) >= total {
            served
        } else {
            u32::try_from((u64::from(served) + u64::from(GROWTH)).min(total)).unwrap_or(u32::MAX)
        };
        let place = SlidingPosition {
            pos: Some(response.pos.clone()),
            to_device_since: extras.to_device_since.clone().or(position.to_device_since),
            window: next_window,
        };
        drop(response);
        let stamps = extras.bump_stamps;
        let joined = extras.joined;
        let me = user.to_string();
        let changes = self
            .commit_with(v3, restarted, move |tx, _| {
                sliding::set(tx, &place)?;
                sliding::set_bump_stamps(tx, &stamps)?;
                crate::store::unread::count_locally(tx, &me, &joined)
            })
            .await?;
        self.set_sliding_growing(u64::from(served) < total);
        Ok(SlidingStep {
            changes,
            new_connection: restarted,
            rooms_total: total,
            window: served.min(u32::try_from(total).unwrap_or(u32::MAX)),
        })
    }

    /// [`sliding_sync_once_with`](Self::sliding_sync_once_with) without
    /// a long-poll.
    pub async fn sliding_sync_once(&self) -> Result<SlidingStep> {
        self.sliding_sync_once_with(Duration::ZERO).await
    }

    async fn sliding_request(
        &self,
        position: &SlidingPosition,
        ask: &wire::Ask<'_>,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let body = RequestBody::json(&wire::body(ask))
            .map_err(|e| Error::Crypto(format!("the sliding-sync request: {e}")))?;
        let request = HttpRequest {
            method: quotient_api::Method::Post,
            path_and_query: wire::path(
                position.pos.as_deref(),
                u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            ),
            headers: Vec::new(),
            body,
        };
        let options = self.connection().default_job_options().clone();
        let answer = self
            .connection()
            .submit_request(wire::metadata(), request, options)
            .await
            .map_err(crate::client::request_error)?;
        Ok(answer.body().to_vec())
    }
}

/// `400 M_UNKNOWN_POS`: the server no longer has the connection.
fn is_unknown_pos(e: &quotient::Error) -> bool {
    e.errcode().map(|c| c.as_str()) == Some("M_UNKNOWN_POS")
}

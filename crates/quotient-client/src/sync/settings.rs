//! The sync's optional settings.

use std::time::Duration;

use quotient::BackoffStrategy;
use quotient_api::generated::definitions::RoomEventFilter;
use quotient_api::generated::filter::{DefineFilter, RoomFilter};
use quotient_api::UserId;

/// How the client syncs. Build with [`SyncSettings::builder`].
///
/// ```
/// use std::time::Duration;
/// use quotient_client::sync::SyncSettings;
/// let settings = SyncSettings::builder()
///     .timeline_limit(20)
///     .long_poll(Duration::from_secs(10))
///     .build();
/// assert_eq!(settings.timeline_limit(), 20);
/// assert!(settings.lazy_load_members());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SyncSettings {
    mode: SyncMode,
    timeline_limit: u32,
    lazy_load_members: bool,
    long_poll: Duration,
    backoff: BackoffStrategy,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            mode: SyncMode::Auto,
            timeline_limit: 50,
            lazy_load_members: true,
            long_poll: Duration::from_secs(30),
            // Between failed /sync jobs (each already retried by the
            // engine): 2 s, 5 s, then 30 s for as long as it takes.
            backoff: BackoffStrategy::default(),
        }
    }
}

impl SyncSettings {
    /// Starts from the defaults: sliding sync where the server offers it
    /// (else `/sync` v3), 50 timeline events per room per v3 batch,
    /// lazy-loaded members, a 30 s long-poll, the engine's back-off waits.
    pub fn builder() -> SyncSettingsBuilder {
        SyncSettingsBuilder(SyncSettings::default())
    }

    /// Which sync the loop runs.
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// Timeline events per room a batch brings at most.
    pub fn timeline_limit(&self) -> u32 {
        self.timeline_limit
    }

    /// Whether the server sends only the members a timeline needs.
    pub fn lazy_load_members(&self) -> bool {
        self.lazy_load_members
    }

    /// How long the server may hold a `/sync` open waiting for news.
    pub fn long_poll(&self) -> Duration {
        self.long_poll
    }

    /// The waits between failed `/sync` jobs.
    pub fn backoff(&self) -> &BackoffStrategy {
        &self.backoff
    }

    /// The filter these settings ask for.
    pub(crate) fn filter_request(&self, user_id: UserId) -> DefineFilter {
        let events = RoomEventFilter {
            lazy_load_members: Some(self.lazy_load_members),
            ..RoomEventFilter::default()
        };
        let mut filter = DefineFilter::new(user_id);
        filter.room = Some(RoomFilter {
            state: Some(events.clone()),
            timeline: Some(RoomEventFilter {
                limit: Some(i64::from(self.timeline_limit)),
                ..events
            }),
            ..RoomFilter::default()
        });
        filter
    }

    /// The filter as stored beside its ID: a store whose definition
    /// differs gets a new filter.
    pub(crate) fn filter_definition(&self) -> String {
        serde_json::json!({
            "room": {
                "state": {"lazy_load_members": self.lazy_load_members},
                "timeline": {"lazy_load_members": self.lazy_load_members,
                             "limit": self.timeline_limit},
            }
        })
        .to_string()
    }
}

/// Which sync [`Client::start_sync_loop`](crate::Client::start_sync_loop)
/// runs. Both fold into the same store with the same guarantees, and a
/// store may switch between them (docs/client.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// `/sync` v3.
    V3,
    /// Simplified sliding sync (MSC4186): the room list in a growing
    /// window, the most recent rooms first.
    Sliding,
    /// Sliding sync when the server offers it (its `/versions`, asked
    /// once when the loop starts), else v3. The default.
    #[default]
    Auto,
}

/// Builds [`SyncSettings`].
#[derive(Clone, Debug)]
pub struct SyncSettingsBuilder(SyncSettings);

impl SyncSettingsBuilder {
    /// Which sync the loop runs (default [`SyncMode::Auto`]).
    pub fn mode(mut self, mode: SyncMode) -> Self {
        self.0.mode = mode;
        self
    }

    /// Timeline events per room per batch (at least 1). A room with more
    /// news gets a gap, recorded with its `prev_batch`.
    pub fn timeline_limit(mut self, limit: u32) -> Self {
        self.0.timeline_limit = limit.max(1);
        self
    }

    /// Lazy-loaded members (the default): the initial sync of a big room
    /// brings the members its timeline needs, not thousands.
    pub fn lazy_load_members(mut self, lazy: bool) -> Self {
        self.0.lazy_load_members = lazy;
        self
    }

    /// How long the server may hold a `/sync` open (the engine gives the
    /// job that long plus its long-poll margin).
    pub fn long_poll(mut self, wait: Duration) -> Self {
        self.0.long_poll = wait;
        self
    }

    /// The waits between failed `/sync` jobs: `retry_waits` is used (the
    /// last repeats); the loop keeps trying until stopped.
    pub fn backoff(mut self, backoff: BackoffStrategy) -> Self {
        self.0.backoff = backoff;
        self
    }

    /// The settings.
    pub fn build(self) -> SyncSettings {
        self.0
    }
}

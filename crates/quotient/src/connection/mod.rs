//! A connection to one homeserver: where jobs are submitted.

mod builder;
mod opening;

pub(crate) use builder::is_loopback;
pub use builder::ConnectionBuilder;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use quotient_api::generated::capabilities::Capabilities;
use quotient_api::{Endpoint, SecretString, UserId};
use tokio::time::Sleep;
use url::Url;

use crate::auth::refresh::{RefreshFlight, SessionHook};
use crate::jobs::bearer::Bearer;
use crate::jobs::gate::Gate;
use crate::jobs::pauses::EndpointPauses;
use crate::jobs::runner;
use crate::jobs::{Error, EventSink as _, Job, JobEvent, JobOptions, JobShared, StatusCode};
use crate::server::ServerVersions;
use crate::session::Session;

/// Default number of attempts a connection has on the wire at once.
pub const DEFAULT_MAX_CONCURRENT_JOBS: usize = 16;
/// Default time allowed to open a connection (DNS, TCP, TLS), so a dead
/// host fails in seconds rather than at the end of an attempt timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A homeserver, an HTTP client and (once signed in) an access token.
///
/// Cloning is cheap and shares everything: the token, the concurrency
/// limit and the rate-limit pauses.
///
/// ```no_run
/// # async fn demo() -> Result<(), quotient::Error> {
/// use quotient::Connection;
/// let conn = Connection::builder("https://matrix.example.org".parse().unwrap()).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnectionInner>,
}

pub(crate) struct ConnectionInner {
    homeserver: Url,
    pub(crate) http: reqwest::Client,
    /// Shared with the jobs that send it (one allocation, not one per job).
    access_token: RwLock<Option<Arc<Bearer>>>,
    /// Traded for a new access token when the old one expires.
    pub(crate) refresh_token: RwLock<Option<SecretString>>,
    /// The server soft-logged-out the session and there was no refresh
    /// token to recover with.
    pub(crate) soft_logout: AtomicBool,
    /// One refresh at a time, however many jobs hit an expired token.
    pub(crate) refresh: RefreshFlight,
    /// Told of new tokens (before they are used) and of the session's end.
    pub(crate) session_hook: RwLock<Option<SessionHook>>,
    /// When the access token expires and how long it lived, when the
    /// server said (login, refresh): it is refreshed shortly before.
    pub(crate) token_expiry: Mutex<Option<(std::time::Instant, Duration)>>,
    /// User and device of the signed-in session, if any.
    identity: RwLock<Option<(UserId, String)>>,
    versions: RwLock<Option<Arc<ServerVersions>>>,
    capabilities: RwLock<Option<Arc<Capabilities>>>,
    defaults: Arc<JobOptions>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) pauses: EndpointPauses,
    /// The timer of the last attempt, see [`ConnectionInner::keep_timer`].
    spare_timer: Mutex<Option<Pin<Box<Sleep>>>>,
}

impl ConnectionInner {
    pub(crate) fn access_token(&self) -> Option<SecretString> {
        self.shared_access_token().map(|t| t.secret().clone())
    }

    /// The access token, shared: what a job holds.
    pub(crate) fn shared_access_token(&self) -> Option<Arc<Bearer>> {
        self.access_token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Keeps a finished attempt's timer registered until the next attempt
    /// has registered its own (which this then drops).
    ///
    /// Tokio wakes its driver with a system call whenever a timer is
    /// registered while no other timer is pending. Without this, every
    /// attempt of back-to-back requests would pay that call and an extra
    /// turn of the event loop, because the previous attempt's timer is gone
    /// by then. A kept timer fires at most once, at its old deadline, and
    /// wakes nothing that is still running.
    pub(crate) fn keep_timer(&self, timer: Pin<Box<Sleep>>) {
        let previous = self
            .spare_timer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(timer);
        drop(previous);
    }

    /// The full URL for a built path (already percent-encoded), appended to
    /// the homeserver's own path. Built from the parsed base URL, so the
    /// host is not parsed again for every request.
    pub(crate) fn url_for(&self, path_and_query: &str) -> Result<Url, Error> {
        if !path_and_query.starts_with('/') {
            return Err(Error::new(
                StatusCode::IncorrectRequest,
                format!("cannot form the request URL: `{path_and_query}` does not start with `/`"),
            ));
        }
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let mut url = self.homeserver.clone();
        let base = url.path().trim_end_matches('/');
        if base.is_empty() {
            // A homeserver at the root (most are): no joined copy needed.
            url.set_path(path);
        } else {
            let mut full = String::with_capacity(base.len() + path.len());
            full.push_str(base);
            full.push_str(path);
            url.set_path(&full);
        }
        url.set_query(query);
        url.set_fragment(None);
        Ok(url)
    }
}

impl Connection {
    /// The connection a job's runner belongs to.
    pub(crate) fn from_inner(inner: Arc<ConnectionInner>) -> Self {
        Self { inner }
    }

    pub(crate) fn inner(&self) -> &Arc<ConnectionInner> {
        &self.inner
    }

    /// The homeserver's base URL.
    pub fn homeserver(&self) -> &Url {
        &self.inner.homeserver
    }

    /// The options new jobs get unless [`submit_with`](Self::submit_with)
    /// says otherwise.
    pub fn default_job_options(&self) -> &JobOptions {
        &self.inner.defaults
    }

    /// Sets (or clears) the access token sent with authenticated requests.
    pub fn set_access_token(&self, token: Option<SecretString>) {
        *write(&self.inner.access_token) = token.map(|t| Arc::new(Bearer::new(t)));
    }

    /// Whether an access token is set.
    pub fn has_access_token(&self) -> bool {
        read(&self.inner.access_token).is_some()
    }

    /// The signed-in session, if there is one.
    pub fn session(&self) -> Option<Session> {
        let token = self.inner.access_token()?;
        let (user_id, device_id) = read(&self.inner.identity).clone()?;
        Some(Session {
            homeserver: self.inner.homeserver.clone(),
            user_id,
            device_id,
            access_token: token,
            refresh_token: read(&self.inner.refresh_token).clone(),
            soft_logout: self.inner.soft_logout.load(Ordering::Acquire),
        })
    }

    /// Whether the server soft-logged-out the session and there was no
    /// refresh token: signing in again with the same device ID keeps the
    /// device (see docs/login.md).
    pub fn is_soft_logged_out(&self) -> bool {
        self.inner.soft_logout.load(Ordering::Acquire)
    }

    /// The signed-in user, if any.
    pub fn user_id(&self) -> Option<UserId> {
        read(&self.inner.identity)
            .as_ref()
            .map(|(user, _)| user.clone())
    }

    /// Makes `session` the connection's session (tokens, user, device) and
    /// forgets cached capabilities, which are per user.
    pub(crate) fn set_session(&self, session: Option<Session>) {
        let (identity, token, refresh, soft) = match session {
            Some(s) => (
                Some((s.user_id, s.device_id)),
                Some(s.access_token),
                s.refresh_token,
                s.soft_logout,
            ),
            None => (None, None, None, false),
        };
        *write(&self.inner.identity) = identity;
        *write(&self.inner.refresh_token) = refresh;
        self.inner.soft_logout.store(soft, Ordering::Release);
        self.inner.note_expiry(None);
        self.set_access_token(token);
        *write(&self.inner.capabilities) = None;
    }

    pub(crate) fn cached_versions(&self) -> Option<Arc<ServerVersions>> {
        read(&self.inner.versions).clone()
    }

    pub(crate) fn cache_versions(&self, versions: Arc<ServerVersions>) {
        *write(&self.inner.versions) = Some(versions);
    }

    pub(crate) fn cached_capabilities(&self) -> Option<Arc<Capabilities>> {
        read(&self.inner.capabilities).clone()
    }

    pub(crate) fn cache_capabilities(&self, capabilities: Arc<Capabilities>) {
        *write(&self.inner.capabilities) = Some(capabilities);
    }

    /// Starts a job for `request` with the connection's default options and
    /// returns its handle at once.
    ///
    /// Must be called within a Tokio runtime; outside one the job finishes
    /// at once with status `Unprepared`.
    pub fn submit<E>(&self, request: E) -> Job<E::Response>
    where
        E: Endpoint,
        E::Response: Send + 'static,
    {
        self.start(request, self.inner.defaults.clone())
    }

    /// Starts a job with its own options (back-off, rate limits, priority,
    /// body size cap).
    pub fn submit_with<E>(&self, request: E, options: JobOptions) -> Job<E::Response>
    where
        E: Endpoint,
        E::Response: Send + 'static,
    {
        self.start(request, Arc::new(options))
    }

    /// [`submit_with`](Self::submit_with) with options shared between jobs.
    pub(crate) fn start<E>(&self, request: E, options: Arc<JobOptions>) -> Job<E::Response>
    where
        E: Endpoint,
        E::Response: Send + 'static,
    {
        self.spawn_endpoint(request, options, None)
    }

    /// Builds a generated request and starts its job.
    fn spawn_endpoint<E>(
        &self,
        request: E,
        options: Arc<JobOptions>,
        sink: Option<Box<dyn crate::jobs::BodySink>>,
    ) -> Job<E::Response>
    where
        E: Endpoint,
        E::Response: Send + 'static,
    {
        let built = request.build().map_err(|e| {
            Error::new(
                StatusCode::IncorrectRequest,
                format!("cannot build the request: {e}"),
            )
        });
        let meta = runner::MetaRef::Static(const { &E::METADATA });
        self.spawn_job(meta, built, request.server_wait(), options, sink)
    }

    /// Starts a job whose successful answer's body is written to `sink`
    /// chunk by chunk instead of being collected: a media download to a
    /// file or a writer. The [`Response`](crate::Response) then has an
    /// empty body (for [`Media`](quotient_api::Media), empty `data`);
    /// headers, status and `DownloadProgress` events are as usual, and
    /// `options.max_body_size` still caps the body (raise it for large
    /// files). An error answer is read into memory and classified as
    /// usual; it never reaches the sink.
    ///
    /// A retry after a body was cut calls [`BodySink::begin`] with
    /// `restart: true`; a sink that cannot start over fails the job with
    /// `FileError` (see [`BodySink`]).
    ///
    /// [`BodySink::begin`]: crate::jobs::BodySink::begin
    /// [`BodySink`]: crate::jobs::BodySink
    pub fn submit_to_sink<E>(
        &self,
        request: E,
        sink: impl crate::jobs::BodySink,
        options: JobOptions,
    ) -> Job<E::Response>
    where
        E: Endpoint,
        E::Response: Send + 'static,
    {
        self.spawn_endpoint(request, Arc::new(options), Some(Box::new(sink)))
    }

    /// Starts a job for a request known only at run time (a tool calling
    /// arbitrary endpoints). `meta` drives auth, retries and rate-limit
    /// pauses exactly as for generated requests; take it from
    /// [`quotient_api::find_operation`] when the path is a known one. A
    /// known long-poll gets the server-side wait its query asks for
    /// ([`Metadata::server_wait_in`](quotient_api::Metadata::server_wait_in)).
    /// The body is not decoded: read it from the [`Response`](crate::Response).
    pub fn submit_request(
        &self,
        meta: quotient_api::Metadata,
        request: quotient_api::HttpRequest,
        options: JobOptions,
    ) -> Job<quotient_api::Unparsed> {
        // A known long-poll gets the wait its query asks for, as its typed
        // request would: `GET /sync?timeout=31000` is not cut at 30 s.
        let server_wait = meta.server_wait_in(&request.path_and_query);
        let meta = runner::MetaRef::Owned(Box::new(meta));
        self.spawn_job(meta, Ok(request), server_wait, Arc::new(options), None)
    }

    fn spawn_job<R>(
        &self,
        meta: runner::MetaRef,
        request: Result<quotient_api::HttpRequest, Error>,
        server_wait: Option<Duration>,
        options: Arc<JobOptions>,
        sink: Option<Box<dyn crate::jobs::BodySink>>,
    ) -> Job<R>
    where
        R: quotient_api::IncomingResponse + Send + 'static,
    {
        let operation_id = meta.operation_id;
        let shared = Arc::new(JobShared::new());
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let error = Error::new(
                StatusCode::Unprepared,
                "jobs must be submitted from within a Tokio runtime",
            );
            shared.fail(error);
            return Job::new(shared, operation_id);
        };
        match runner::prepare(&self.inner, meta, request, server_wait, options) {
            Ok(mut spec) => {
                spec.sink = sink.map(|sink| Box::new(crate::jobs::SinkSlot::new(sink)));
                shared.emit(JobEvent::StatusChanged {
                    status: StatusCode::Pending,
                });
                let record = Box::new(runner::Record {
                    conn: self.inner.clone(),
                    spec,
                    job: runner::CloseOnDrop(shared.clone()),
                    runtime,
                });
                runner::launch(record, &shared);
            }
            Err(error) => {
                // The same events as a job failing in its runner, minus a task.
                tracing::debug!(op = operation_id, status = %error.status(), "job failed before sending: {error}");
                shared.emit(JobEvent::StatusChanged {
                    status: StatusCode::Pending,
                });
                shared.fail(error);
            }
        }
        Job::new(shared, operation_id)
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("homeserver", &self.inner.homeserver.as_str())
            .field("user_id", &self.user_id())
            .field("has_access_token", &self.has_access_token())
            .finish_non_exhaustive()
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(url: &str, allow: bool) -> Result<Connection, Error> {
        Connection::builder(url.parse().unwrap())
            .allow_insecure_http(allow)
            .build()
    }

    #[test]
    fn request_urls_keep_the_base_path_and_match_a_full_parse() {
        for (base, path) in [
            ("https://example.org", "/_matrix/client/versions"),
            (
                "https://example.org/",
                "/_matrix/client/v3/sync?since=s1&timeout=30000",
            ),
            (
                "https://example.org/prefix/",
                "/_matrix/client/v3/rooms/%21a%3Ab/join",
            ),
            (
                "https://example.org:8448/a/b",
                "/_matrix/media/v3/download/x/y?allow_redirect=true",
            ),
            (
                "http://127.0.0.1:8008",
                "/_matrix/client/v3/rooms/%23alias%3Ax/state/m.room.name/",
            ),
            ("https://[::1]:8448", "/_matrix/client/v3/profile/%40u%3Ax?"),
            (
                "https://xn--mnchen-3ya.example",
                "/_matrix/client/v3/user/%40u%3Ax/filter/1",
            ),
        ] {
            let conn = build(base, true).unwrap();
            let url = conn.inner.url_for(path).unwrap();
            let expected: Url = format!("{}{path}", base.trim_end_matches('/'))
                .parse()
                .unwrap();
            assert_eq!(url, expected, "{base} + {path}");
        }
        let conn = build("https://example.org", false).unwrap();
        let e = conn.inner.url_for("_matrix/client/versions").unwrap_err();
        assert_eq!(e.status(), StatusCode::IncorrectRequest);
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "https://matrix.org",
            "http://127.0.0.1:8008",
            "http://127.5.5.5",
            "http://[::1]:8008",
            "http://localhost:8008",
            "http://a.localhost",
        ] {
            assert!(build(ok, false).is_ok(), "{ok}");
        }
        for refused in [
            "http://matrix.org",
            "http://192.168.1.2:8008",
            "http://localhost.evil.com",
            "ftp://matrix.org",
        ] {
            let err = build(refused, false).unwrap_err();
            assert_eq!(err.status(), StatusCode::IncorrectRequest, "{refused}");
        }
        assert!(build("http://matrix.org", true).is_ok());
        assert!(build("ftp://matrix.org", true).is_err());
    }
}

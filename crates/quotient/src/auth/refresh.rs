//! Refresh tokens: trading an expired access token for a new one, once
//! for all the jobs that hit it, and telling whoever keeps the session.
//!
//! The order is what keeps a session alive through a crash: the server's
//! answer to `/refresh` is handed to the [session hook](SessionUpdate)
//! (which writes it to disk) **before** the connection uses the new access
//! token. Synapse forgets the old refresh token once the new pair is used,
//! so a crash before the hook returns leaves the old, still valid, pair on
//! disk, and a crash after it leaves the new one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quotient_api::generated::refresh::{Refresh, RefreshResponse};
use quotient_api::SecretString;

use crate::connection::{read, write, ConnectionInner};
use crate::{Connection, Error, Session, StatusCode};

/// What changed in a connection's session, told to the hook set with
/// [`Connection::on_session_change`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionUpdate<'a> {
    /// The access token was refreshed. The new session (both new tokens)
    /// must be stored before the hook returns: the connection starts using
    /// it only then, and after that the old refresh token stops working.
    Refreshed(&'a Session),
    /// The server soft-logged-out the session and there is no refresh
    /// token: the session is marked (`soft_logout: true`) so that the next
    /// sign-in can reuse its device ID.
    SoftLoggedOut(&'a Session),
    /// The server refused the refresh token (the device was logged out,
    /// the token revoked or expired): the session is over. The connection
    /// has forgotten its tokens.
    Ended(&'a Session),
}

/// The hook's type: it runs on the job's task, so it should be quick (a
/// small file written and synced is fine).
pub(crate) type SessionHook = Arc<dyn Fn(&SessionUpdate<'_>) -> Result<(), Error> + Send + Sync>;

/// The single flight: jobs whose token was refused queue on the lock, and
/// those that queued while a refresh ran take its outcome.
#[derive(Default)]
pub(crate) struct RefreshFlight {
    lock: tokio::sync::Mutex<Option<Error>>,
    /// Flights finished so far.
    flights: AtomicU64,
}

impl Connection {
    /// Sets the hook told of new tokens and of the session's end (see
    /// [`SessionUpdate`]), replacing any earlier one.
    /// [`store::save_on_change`](crate::store::save_on_change) gives one
    /// that keeps a session file current.
    ///
    /// ```no_run
    /// # fn demo(conn: &quotient::Connection) {
    /// conn.on_session_change(quotient::store::save_on_change("session.json"));
    /// # }
    /// ```
    pub fn on_session_change(
        &self,
        hook: impl Fn(&SessionUpdate<'_>) -> Result<(), Error> + Send + Sync + 'static,
    ) {
        *write(&self.inner().session_hook) = Some(Arc::new(hook));
    }

    /// Trades the refresh token for a new access token now (the engine
    /// also does this by itself when a request meets an expired token).
    pub async fn refresh_access_token(&self) -> Result<(), Error> {
        let current = self.inner().access_token().ok_or_else(|| {
            Error::new(
                StatusCode::Unauthorised,
                "cannot refresh: the connection has no session",
            )
        })?;
        let refusal = Error::new(StatusCode::Unauthorised, "refresh asked for");
        after_refusal(self.inner().clone(), current, refusal)
            .await
            .map(drop)
    }
}

/// How long before its expiry an access token is refreshed: a fifth of
/// its life, at most a minute (a 5-minute token at 4 minutes; a 3 s one
/// 0.6 s before).
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 5).min(Duration::from_secs(60))
}

impl ConnectionInner {
    /// Records when the access token expires (`expires_in_ms` from login
    /// or refresh; `None`: not said, or a new session).
    pub(crate) fn note_expiry(&self, expires_in_ms: Option<i64>) {
        let expiry = expires_in_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map(Duration::from_millis)
            .map(|life| (std::time::Instant::now() + life, life));
        *self
            .token_expiry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = expiry;
    }

    /// Whether the access token expires within its refresh margin and a
    /// refresh token is there to renew it.
    pub(crate) fn refresh_due(&self) -> bool {
        let expiry = *self
            .token_expiry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some((at, life)) = expiry else {
            return false;
        };
        at.saturating_duration_since(std::time::Instant::now()) <= refresh_margin(life)
            && read(&self.refresh_token).is_some()
    }
}

/// Refreshes `current` ahead of its expiry (one flight for every job that
/// finds it due). Only a refused refresh token is an error: any other
/// failure leaves the job to go on with the token it has, which a 401
/// later still refreshes.
pub(crate) async fn ahead_of_expiry(
    inner: Arc<ConnectionInner>,
    current: SecretString,
) -> Result<SecretString, Error> {
    let reason = Error::new(
        StatusCode::Unauthorised,
        "the access token is about to expire",
    );
    match after_refusal(inner, current.clone(), reason).await {
        Ok(token) => Ok(token),
        Err(e) if e.session_ended() => Err(e),
        Err(e) => {
            tracing::debug!(error = %e.message(), "refreshing ahead of the expiry failed; going on with the token as it is");
            Ok(current)
        }
    }
}

/// The access token to resend with after `failed` was refused as expired
/// (`refusal`, a 401 `M_UNKNOWN_TOKEN` with `soft_logout`). Refreshes
/// unless another job already did while this one waited.
pub(crate) async fn after_refusal(
    inner: Arc<ConnectionInner>,
    failed: SecretString,
    refusal: Error,
) -> Result<SecretString, Error> {
    let seen = inner.refresh.flights.load(Ordering::Acquire);
    let mut last_failure = inner.refresh.lock.lock().await;
    match inner.access_token() {
        Some(current) if current != failed => return Ok(current),
        Some(_) => {}
        None => return Err(ended_error(refusal)),
    }
    if inner.refresh.flights.load(Ordering::Acquire) != seen {
        if let Some(e) = last_failure.as_ref() {
            return Err(e.duplicate());
        }
    }
    let outcome = fly(&inner, refusal).await;
    *last_failure = outcome.as_ref().err().map(Error::duplicate);
    inner.refresh.flights.fetch_add(1, Ordering::AcqRel);
    outcome
}

/// One refresh: ask, store, then use.
async fn fly(inner: &Arc<ConnectionInner>, refusal: Error) -> Result<SecretString, Error> {
    let conn = Connection::from_inner(inner.clone());
    let Some(session) = conn.session() else {
        return Err(ended_error(refusal));
    };
    let Some(refresh_token) = session.refresh_token.clone() else {
        // Nothing to refresh with: keep the session, marked, so that the
        // next sign-in can keep the device.
        if !inner.soft_logout.swap(true, Ordering::AcqRel) {
            let marked = Session {
                soft_logout: true,
                ..session
            };
            tracing::info!(user_id = %marked.user_id, device_id = marked.device_id, "soft-logged-out; sign in again to keep the device");
            if let Err(e) = tell(inner, &SessionUpdate::SoftLoggedOut(&marked)) {
                tracing::warn!("cannot record the soft logout: {e}");
            }
        }
        return Err(refusal);
    };
    tracing::debug!("refreshing the access token");
    let answer = conn.submit(Refresh::new(refresh_token.clone())).await;
    let RefreshResponse {
        access_token,
        refresh_token: next_refresh,
        expires_in_ms,
    } = match answer {
        Ok(response) => response.into_value(),
        Err(e)
            if matches!(
                e.status(),
                StatusCode::Unauthorised | StatusCode::ContentAccessError
            ) =>
        {
            tracing::info!(user_id = %session.user_id, device_id = session.device_id, "the server refused the refresh token; the session is over");
            *write(&inner.refresh_token) = None;
            conn.set_access_token(None);
            if let Err(hook) = tell(inner, &SessionUpdate::Ended(&session)) {
                tracing::warn!("cannot record the end of the session: {hook}");
            }
            return Err(ended_error(e));
        }
        Err(e) => {
            let message = format!(
                "the access token expired and refreshing it failed: {}",
                e.message()
            );
            let status = e.status();
            return Err(e.with_status(status, message));
        }
    };
    pause_after_refresh();
    let refreshed = Session {
        access_token: access_token.clone(),
        // The spec lets a server keep the refresh token as it is.
        refresh_token: Some(next_refresh.unwrap_or(refresh_token)),
        soft_logout: false,
        ..session
    };
    tell(inner, &SessionUpdate::Refreshed(&refreshed)).map_err(|e| {
        Error::new(
            StatusCode::FileError,
            format!(
                "the access token was refreshed, but the new session cannot be stored, so it is not used \
                 (the stored one still works): {}",
                e.message()
            ),
        )
    })?;
    *write(&inner.refresh_token) = refreshed.refresh_token;
    inner.soft_logout.store(false, Ordering::Release);
    conn.set_access_token(Some(access_token.clone()));
    inner.note_expiry(expires_in_ms);
    tracing::debug!(expires_in_ms, "access token refreshed");
    Ok(access_token)
}

fn tell(inner: &ConnectionInner, update: &SessionUpdate<'_>) -> Result<(), Error> {
    let hook = read(&inner.session_hook).clone();
    match hook {
        Some(hook) => hook(update),
        None => Ok(()),
    }
}

/// What a job gets once the session is over.
fn ended_error(cause: Error) -> Error {
    let message = format!(
        "signed out: the server refused to refresh the session ({}); sign in again",
        cause.message()
    );
    cause
        .with_status(StatusCode::Unauthorised, message)
        .with_session_ended()
}

/// **Test-only.** When `QUOTIENT_TEST_PAUSE_AFTER_REFRESH` names a file
/// (read once per process), each refresh, once the server answered and
/// before the new session is stored, creates that file and sleeps 30 s:
/// a test kills the process there to check the stored session still
/// works. Never set it outside tests.
fn pause_after_refresh() {
    static MARKER: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let marker = MARKER
        .get_or_init(|| std::env::var_os("QUOTIENT_TEST_PAUSE_AFTER_REFRESH").map(Into::into));
    if let Some(marker) = marker {
        let _ = std::fs::write(marker, b"paused");
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
}

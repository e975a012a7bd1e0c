//! Settings for a [`Connection`], and building it: the checks on the
//! homeserver URL and the HTTP client every job goes through.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use url::Url;

use super::{Connection, ConnectionInner, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONCURRENT_JOBS};
use crate::auth::refresh::RefreshFlight;
use crate::jobs::gate::Gate;
use crate::jobs::pauses::EndpointPauses;
use crate::jobs::{Error, JobOptions, StatusCode};

impl Connection {
    /// Starts configuring a connection to `homeserver` (the client-server
    /// base URL, e.g. `https://matrix.example.org`).
    pub fn builder(homeserver: Url) -> ConnectionBuilder {
        ConnectionBuilder {
            homeserver,
            defaults: JobOptions::default(),
            max_concurrent_jobs: DEFAULT_MAX_CONCURRENT_JOBS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: concat!("quotient/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
        }
    }
}

/// Settings for a [`Connection`].
#[derive(Debug, Clone)]
pub struct ConnectionBuilder {
    homeserver: Url,
    defaults: JobOptions,
    max_concurrent_jobs: usize,
    connect_timeout: Duration,
    user_agent: String,
    allow_insecure_http: bool,
}

/// Whether `url` names this machine: plain HTTP there cannot be
/// intercepted on a network.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

impl ConnectionBuilder {
    /// Allows plain `http://` to hosts other than this machine. Off by
    /// default: the access token would cross the network unencrypted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Default options for every job on the connection.
    pub fn job_options(mut self, options: JobOptions) -> Self {
        self.defaults = options;
        self
    }

    /// How many attempts may be on the wire at once (at least 1).
    pub fn max_concurrent_jobs(mut self, limit: usize) -> Self {
        self.max_concurrent_jobs = limit;
        self
    }

    /// Time allowed to open a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the connection. Fails for a URL that is not `https://`
    /// (or `http://` to a loopback address, or with
    /// [`allow_insecure_http`](Self::allow_insecure_http)).
    pub fn build(self) -> Result<Connection, Error> {
        match self.homeserver.scheme() {
            "https" => {}
            "http" if self.allow_insecure_http || is_loopback(&self.homeserver) => {}
            "http" => {
                return Err(Error::new(
                    StatusCode::IncorrectRequest,
                    format!(
                        "refusing plain http:// to {}: the access token would travel unencrypted; use https:// \
                         (plain http is allowed for loopback addresses, or when explicitly allowed)",
                        self.homeserver.host_str().unwrap_or("?")
                    ),
                ))
            }
            other => {
                return Err(Error::new(
                    StatusCode::IncorrectRequest,
                    format!("`{other}://` is not a homeserver URL scheme; use https://"),
                ))
            }
        }
        if self.homeserver.host().is_none() {
            return Err(Error::new(
                StatusCode::IncorrectRequest,
                "the homeserver URL has no host",
            ));
        }
        let gate = Gate::new(self.max_concurrent_jobs);
        let http = reqwest::Client::builder()
            .user_agent(self.user_agent)
            .connector_layer(super::opening::CountConnects::new(&gate))
            .pool_idle_timeout(crate::jobs::gate::POOL_IDLE_TIMEOUT)
            .connect_timeout(self.connect_timeout)
            // A redirect could carry the token to another host or turn a
            // POST into a GET. The transport follows the few the spec uses
            // itself, checked hop by hop (jobs/redirect.rs); everything
            // else gets the 3xx as an error.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::new(StatusCode::NetworkError, "cannot set up the HTTP client")
                    .with_source(e.without_url())
            })?;
        Ok(Connection {
            inner: Arc::new(ConnectionInner {
                homeserver: self.homeserver,
                http,
                access_token: RwLock::new(None),
                refresh_token: RwLock::new(None),
                soft_logout: AtomicBool::new(false),
                refresh: RefreshFlight::default(),
                session_hook: RwLock::new(None),
                identity: RwLock::new(None),
                versions: RwLock::new(None),
                capabilities: RwLock::new(None),
                defaults: Arc::new(self.defaults),
                gate,
                pauses: EndpointPauses::default(),
                spare_timer: Mutex::new(None),
                token_expiry: Mutex::new(None),
            }),
        })
    }
}

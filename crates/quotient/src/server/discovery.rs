//! Finding a user's homeserver: `/.well-known/matrix/client`, then
//! `/versions` to check the base URL really is a Matrix server.

use std::time::Duration;

use quotient_api::generated::wellknown::GetWellknown;
use quotient_api::UserId;
use url::Url;

use crate::{BackoffStrategy, Connection, Error, JobOptions, StatusCode};

/// How discovery talks to servers.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// Use `http://` instead of `https://` for the server name, and accept
    /// an `http://` base URL from `.well-known` (for local test servers).
    pub insecure_http: bool,
    /// Time allowed per request; discovery of a dead host fails this fast.
    pub timeout: Duration,
    /// The port to ask for `.well-known` on instead of the scheme's own
    /// (443, or 80 with `insecure_http`), for local test servers, which
    /// cannot listen there. The server name's port is never used for it.
    pub well_known_port: Option<u16>,
}

impl Default for Discovery {
    fn default() -> Self {
        Self {
            insecure_http: false,
            timeout: Duration::from_secs(10),
            well_known_port: None,
        }
    }
}

/// Where `.well-known/matrix/client` of `server_name` is: on the server
/// name's *hostname*, without its port (spec, "Well-known URIs": the
/// port of `example.org:8448` is the homeserver's, not the web server's
/// that hosts `.well-known`).
///
/// ```
/// use quotient::server::well_known_url;
/// let url = well_known_url("example.org:8448", "https", None).unwrap();
/// assert_eq!(url.as_str(), "https://example.org/.well-known/matrix/client");
/// let url = well_known_url("[::1]:8448", "https", None).unwrap();
/// assert_eq!(url.as_str(), "https://[::1]/.well-known/matrix/client");
/// ```
pub fn well_known_url(server_name: &str, scheme: &str, port: Option<u16>) -> Result<Url, Error> {
    let unusable = |e: &dyn std::fmt::Display| {
        Error::new(
            StatusCode::IncorrectRequest,
            format!("`{server_name}` is not a usable server name: {e}"),
        )
    };
    let mut url = Url::parse(&format!(
        "{scheme}://{server_name}/.well-known/matrix/client"
    ))
    .map_err(|e| unusable(&e))?;
    url.set_port(port)
        .map_err(|()| unusable(&"it has no host"))?;
    Ok(url)
}

impl Discovery {
    /// Few retries, short timeouts: a person is waiting.
    fn options(&self) -> JobOptions {
        JobOptions {
            backoff: BackoffStrategy {
                attempt_timeouts: vec![self.timeout],
                retry_waits: vec![Duration::from_millis(500)],
                max_retries: 1,
                deadline: Some(self.timeout.saturating_mul(2)),
                ..BackoffStrategy::default()
            },
            ..JobOptions::default()
        }
    }

    fn connection(&self, base: Url) -> Result<Connection, Error> {
        Connection::builder(base)
            .allow_insecure_http(self.insecure_http)
            .connect_timeout(self.timeout)
            .job_options(self.options())
            .build()
    }

    /// The client-server base URL for `user_id`'s server, checked with
    /// `/versions`. A `.well-known` that answers 404 means "the server name
    /// itself"; any other failure of `.well-known` is an error, as the spec
    /// asks (a client must not guess past a broken delegation).
    pub async fn discover(&self, user_id: &UserId) -> Result<Url, Error> {
        let scheme = if self.insecure_http { "http" } else { "https" };
        let name = user_id.server_name();
        let server = Url::parse(&format!("{scheme}://{name}")).map_err(|e| {
            Error::new(
                StatusCode::IncorrectRequest,
                format!("`{name}` is not a usable server name: {e}"),
            )
        })?;
        let mut well_known = well_known_url(name, scheme, self.well_known_port)?;
        well_known.set_path("");
        let base = match self
            .connection(well_known)?
            .submit(GetWellknown::new())
            .await
        {
            Ok(info) => {
                let raw = info.m_homeserver.base_url.clone();
                Url::parse(&raw).map_err(|e| {
                    Error::new(
                        StatusCode::IncorrectResponse,
                        format!(
                            ".well-known names `{raw}` as the homeserver, which is not a URL: {e}"
                        ),
                    )
                })?
            }
            Err(e) if e.http_status() == Some(404) => server,
            Err(e) => return Err(e),
        };
        self.check(base).await
    }

    /// Checks that `base` answers `/versions`; returns it on success.
    pub async fn check(&self, base: Url) -> Result<Url, Error> {
        let conn = self.connection(base.clone())?;
        match conn.versions().await {
            Ok(_) => Ok(base),
            Err(e) => Err(Error::new(
                e.status(),
                format!(
                    "{base} does not answer as a Matrix homeserver: {}",
                    e.message()
                ),
            )),
        }
    }
}

/// Discovers `user_id`'s homeserver with default settings.
pub async fn discover_homeserver(user_id: &UserId) -> Result<Url, Error> {
    Discovery::default().discover(user_id).await
}

//! Single sign-on through the browser, with a loopback callback.
//!
//! [`Connection::login_with_sso`] listens on 127.0.0.1 (a port the system
//! picks; never all interfaces), and gives the URL to open in a browser:
//! the server's SSO redirect, with `redirectUrl` pointing at the
//! listener and carrying a random `state`. [`SsoLogin::finish`] waits for
//! the browser to come back with `loginToken`, refuses callbacks whose
//! `state` is not ours (login CSRF), signs in with the token
//! (`m.login.token`), answers the browser with a short page and closes
//! the listener. Spec: [SSO client login](https://spec.matrix.org/v1.19/client-server-api/#sso-client-loginauthentication).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use quotient_api::generated::sso_login_redirect::{RedirectToIdP, RedirectToSSO};
use quotient_api::{Endpoint, SecretString};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use url::{form_urlencoded, Url};

use crate::{Connection, Error, LoginOptions, Session, StatusCode};

/// How long [`SsoLogin::finish`] waits for the browser by default.
pub const DEFAULT_SSO_TIMEOUT: Duration = Duration::from_secs(300);
/// The listener's path for the browser's return.
const CALLBACK_PATH: &str = "/callback";
/// A request head larger than this is not a browser coming back.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Connections whose request head is still awaited, at most.
const MAX_PENDING_CONNECTIONS: usize = 32;
/// Time a connection gets to send its request head.
const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Optional settings of an SSO sign-in.
#[derive(Clone, Debug)]
pub struct SsoOptions {
    idp: Option<String>,
    timeout: Duration,
    login: LoginOptions,
}

impl Default for SsoOptions {
    fn default() -> Self {
        Self {
            idp: None,
            timeout: DEFAULT_SSO_TIMEOUT,
            login: LoginOptions::new(),
        }
    }
}

impl SsoOptions {
    /// Any identity provider (the server may show a chooser),
    /// [`DEFAULT_SSO_TIMEOUT`], default login options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Go straight to this identity provider (an `id` from
    /// [`Connection::login_flows`]' `identity_providers`).
    pub fn idp(mut self, id: impl Into<String>) -> Self {
        self.idp = Some(id.into());
        self
    }

    /// How long to wait for the browser to come back.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Device name, device ID, refresh token: as for the other logins.
    pub fn login_options(mut self, options: LoginOptions) -> Self {
        self.login = options;
        self
    }
}

/// An SSO sign-in under way: open [`url`](Self::url) in a browser, then
/// await [`finish`](Self::finish).
pub struct SsoLogin {
    conn: Connection,
    listener: TcpListener,
    state: SecretString,
    url: Url,
    options: SsoOptions,
}

impl std::fmt::Debug for SsoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoLogin")
            .field("callback", &self.listener.local_addr().ok())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Starts an SSO sign-in: checks that the server offers SSO (and the
    /// identity provider asked for), binds the loopback listener and
    /// builds the URL for the browser.
    ///
    /// ```no_run
    /// # async fn demo(conn: &quotient::Connection) -> Result<(), quotient::Error> {
    /// use quotient::SsoOptions;
    /// let sso = conn.login_with_sso(SsoOptions::new().idp("oidc-google")).await?;
    /// println!("Open {} in a browser", sso.url());
    /// let session = sso.finish().await?;
    /// println!("signed in as {}", session.user_id);
    /// # Ok(()) }
    /// ```
    pub async fn login_with_sso(&self, options: SsoOptions) -> Result<SsoLogin, Error> {
        let flows = self.login_flows().await?;
        if !flows.has("m.login.sso") {
            return Err(Error::new(
                StatusCode::RequestNotImplemented,
                "the server does not offer SSO sign-in (no m.login.sso flow in GET /login)",
            ));
        }
        if let Some(idp) = &options.idp {
            if !flows.identity_providers().any(|p| &p.id == idp) {
                let known: Vec<String> = flows
                    .identity_providers()
                    .map(|p| format!("{} ({})", p.id, p.name))
                    .collect();
                return Err(Error::new(
                    StatusCode::IncorrectRequest,
                    format!(
                        "the server has no identity provider `{idp}`; it offers: {}",
                        if known.is_empty() {
                            "none by name".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| {
                Error::new(
                    StatusCode::NetworkError,
                    format!("cannot listen on 127.0.0.1 for the browser's return: {e}"),
                )
            })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let state = random_state()?;
        let redirect = format!(
            "http://127.0.0.1:{port}{CALLBACK_PATH}?state={}",
            state.expose()
        );
        let request = match &options.idp {
            Some(idp) => RedirectToIdP::new(idp.clone(), redirect).build(),
            None => RedirectToSSO::new(redirect).build(),
        }
        .map_err(|e| Error::new(StatusCode::IncorrectRequest, e.to_string()))?;
        let base = self.homeserver().as_str().trim_end_matches('/');
        let url = Url::parse(&format!("{base}{}", request.path_and_query)).map_err(|e| {
            Error::new(
                StatusCode::IncorrectRequest,
                format!("cannot build the SSO URL: {e}"),
            )
        })?;
        tracing::debug!(
            port,
            idp = options.idp.as_deref(),
            "SSO: waiting for the browser"
        );
        Ok(SsoLogin {
            conn: self.clone(),
            listener,
            state,
            url,
            options,
        })
    }
}

impl SsoLogin {
    /// The page to open in a browser.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Where the listener waits (127.0.0.1 and the port it got).
    pub fn callback_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Waits for the browser's return, signs in with its login token and
    /// makes the session the connection's. Requests to other paths get a
    /// 404 and a callback with a wrong or missing `state` a 400 (neither
    /// ends the wait). Fails with `Timeout` when nothing valid came within
    /// the timeout; the listener is closed in every case.
    pub async fn finish(self) -> Result<Session, Error> {
        let deadline = Instant::now() + self.options.timeout;
        // Browsers open spare connections and may send nothing on them:
        // each request head is read on its own task, so an idle one
        // cannot hold the callback up.
        let mut heads = tokio::task::JoinSet::new();
        loop {
            let (mut stream, target) = tokio::select! {
                accepted = self.listener.accept() => {
                    // A connection that failed before we got it, or more
                    // waiting at once than any browser opens: dropped.
                    if let Ok((mut stream, _)) = accepted {
                        if heads.len() < MAX_PENDING_CONNECTIONS {
                            heads.spawn(async move {
                                let target = read_request_target(&mut stream).await;
                                (stream, target)
                            });
                        }
                    }
                    continue;
                }
                Some(Ok(read)) = heads.join_next(), if !heads.is_empty() => read,
                () = tokio::time::sleep_until(deadline) => {
                    return Err(Error::new(
                        StatusCode::Timeout,
                        format!(
                            "the browser did not come back within {} s; the SSO sign-in was given up",
                            self.options.timeout.as_secs()
                        ),
                    ));
                }
            };
            let Some(target) = target else {
                respond(
                    &mut stream,
                    400,
                    "Bad request",
                    "This is not a request this page understands.",
                )
                .await;
                continue;
            };
            match self.check_callback(&target) {
                Callback::OtherPath => {
                    respond(&mut stream, 404, "Not found", "Nothing here.").await;
                }
                Callback::Refused(why) => {
                    tracing::warn!(why, "SSO: a callback was refused");
                    respond(&mut stream, 400, "Sign-in refused", why).await;
                }
                Callback::Token(token) => {
                    let result = self
                        .conn
                        .login_with_token_using(token, &self.options.login)
                        .await;
                    match &result {
                        Ok(session) => {
                            let text = format!(
                                "Signed in as {}. You can close this window.",
                                html_escape(session.user_id.as_str())
                            );
                            respond(&mut stream, 200, "Signed in", &text).await;
                        }
                        Err(e) => {
                            let text = format!("Sign-in failed: {}", html_escape(e.message()));
                            respond(&mut stream, 403, "Sign-in failed", &text).await;
                        }
                    }
                    return result;
                }
            }
        }
    }

    fn check_callback(&self, target: &str) -> Callback {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if path != CALLBACK_PATH {
            return Callback::OtherPath;
        }
        let mut state = None;
        let mut token = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "state" => state = Some(SecretString::new(value.into_owned())),
                "loginToken" => token = Some(SecretString::new(value.into_owned())),
                _ => {}
            }
        }
        match (state, token) {
            (Some(state), _) if !same_secret(&state, &self.state) => Callback::Refused(
                "its state is not the one this sign-in sent (a forged or stale link)",
            ),
            (None, _) => Callback::Refused("it carries no state"),
            (Some(_), None) => Callback::Refused("it carries no login token"),
            (Some(_), Some(token)) if token.is_empty() => {
                Callback::Refused("it carries no login token")
            }
            (Some(_), Some(token)) => Callback::Token(token),
        }
    }
}

enum Callback {
    OtherPath,
    Refused(&'static str),
    Token(SecretString),
}

/// 128 random bits from the operating system, as hex.
fn random_state() -> Result<SecretString, Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| {
        Error::new(
            StatusCode::UserDefinedError,
            format!("no randomness for the SSO state: {e}"),
        )
    })?;
    Ok(SecretString::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ))
}

/// Compares without stopping at the first difference.
fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    let (a, b) = (a.expose().as_bytes(), b.expose().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The target of a `GET` request, or `None` for anything else.
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let read = async {
        let mut buf = [0u8; 2048];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(REQUEST_HEAD_TIMEOUT, read)
        .await
        .ok()??;
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            Some(target.to_owned())
        }
        _ => None,
    }
}

async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let reason = match status {
        200 => "OK",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser may have gone; the sign-in's outcome does not depend on it.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_random_and_compared_whole() {
        let (a, b) = (random_state().unwrap(), random_state().unwrap());
        assert_eq!(a.expose().len(), 32);
        assert!(!same_secret(&a, &b));
        assert!(same_secret(&a, &SecretString::new(a.expose().to_owned())));
        assert!(!same_secret(&a, &SecretString::new(&a.expose()[..31])));
    }

    #[test]
    fn escapes_what_goes_into_the_page() {
        assert_eq!(html_escape("<b>&\""), "&lt;b&gt;&amp;&quot;");
    }
}

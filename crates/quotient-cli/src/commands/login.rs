//! `quotient login`

use std::time::Duration;

use quotient::api::UserId;
use quotient::server::Discovery;
use quotient::{LoginOptions, LoginTokenUri, SecretString, Session, SsoOptions, StatusCode};
use url::Url;

use crate::cli::LoginArgs;
use crate::exit::{self, Failure};
use crate::store::Store;
use crate::terminal::{self, Output};
use crate::{connect, parse_homeserver};

pub async fn run(store: &Store, out: &Output, args: LoginArgs) -> Result<(), Failure> {
    store.check_private()?;
    // A login-token URI says which homeserver; a bare token does not.
    let token = if args.token_stdin {
        Some(read_token()?)
    } else {
        None
    };
    let from_uri = token.as_ref().and_then(|t| t.homeserver.clone());
    let previous = check_stored_session(store, out, args.force).await?;
    // A soft-logged-out session signs in again to its own device, so the
    // device (and, later, its keys) is kept; `--new-device` opts out.
    let resume = previous.filter(|s| {
        s.soft_logout
            && !args.new_device
            && same_user(s, args.user.as_deref())
            && from_uri
                .as_ref()
                .is_none_or(|hs| same_server(hs, &s.homeserver))
    });
    let homeserver = match (&args.homeserver, &from_uri, &args.user, &resume) {
        (Some(url), Some(hs), _, _) => {
            let url = parse_homeserver(url)?;
            if !same_server(&url, hs) {
                return Err(Failure::usage(format!(
                    "the login-token URI is for {hs}, but --homeserver says {url}: leave out --homeserver, or use a token from {url}"
                )));
            }
            url
        }
        (Some(url), None, _, _) => parse_homeserver(url)?,
        (None, Some(hs), _, _) => hs.clone(),
        (None, None, _, Some(session)) => session.homeserver.clone(),
        (None, None, Some(user), None) if user.starts_with('@') => {
            let user_id: UserId = user.parse().map_err(|e| Failure::usage(format!("{e}")))?;
            let _spin = out.spinner(&format!("looking up {}", user_id.server_name()));
            Discovery::default().discover(&user_id).await.map_err(|e| {
                Failure::from_error(&format!("cannot find the homeserver of {user_id}"), &e)
            })?
        }
        (None, None, _, None) if args.sso => {
            return Err(Failure::usage("--sso needs --homeserver URL"))
        }
        (None, None, _, None) if args.token_stdin => {
            return Err(Failure::usage(
                "a bare login token does not say which homeserver: pass --homeserver URL, or the matrix-login-token: URI that `quotient login-token` prints",
            ))
        }
        (None, None, _, None) => {
            return Err(Failure::usage(
                "pass --homeserver URL, or a full user ID (@name:server) to look the server up",
            ))
        }
    };
    let conn = connect(homeserver)?;
    let mut options = LoginOptions::new()
        .device_name(args.device_name.as_deref().unwrap_or("quotient CLI"))
        .refresh_token(!args.no_refresh_token);
    if let Some(session) = &resume {
        eprintln!(
            "The stored session of {} was signed out by the server; signing in again to device {}.",
            session.user_id, session.device_id
        );
        options = options.device_id(session.device_id.clone());
    }
    let mut uia_password: Option<SecretString> = None;
    let result = if args.sso {
        let sso = SsoOptions::new()
            .timeout(Duration::from_secs(args.sso_timeout))
            .login_options(options);
        let sso = match &args.idp {
            Some(idp) => sso.idp(idp),
            None => sso,
        };
        super::sso::sign_in(&conn, sso).await
    } else if let Some(token) = token {
        let _spin = out.spinner("signing in");
        conn.login_with_token_using(token.token, &options).await
    } else {
        let user = args.user.as_deref().unwrap_or_default();
        let password = if args.password_stdin {
            terminal::secret_from_stdin("password", true)?
        } else if out.interactive {
            terminal::prompt_password(&format!("Password for {user}: "))?
        } else {
            return Err(Failure::usage(
                "no terminal to ask for the password on: pass it with --password-stdin",
            ));
        };
        let _spin = out.spinner("signing in");
        uia_password = Some(password.clone());
        conn.login_with_password_using(user, password, &options)
            .await
    };
    let session = result.map_err(|e| {
        let mut failure = Failure::from_error("login failed", &e);
        // An invalid, used or expired token (403 M_FORBIDDEN) is a failed
        // authentication here, not a missing permission.
        if e.status() == StatusCode::ContentAccessError {
            failure.code = exit::AUTH_FAILED;
        }
        failure
    })?;
    store.save(&session)?;
    if let Some(password) = &uia_password {
        // The password is at hand: cross-signing is set up now, through
        // UIA if the server asks, so this device starts out cross-signed.
        let spin = out.spinner("setting up encryption");
        let done = match crate::client::open(store) {
            Ok(client) => client
                .set_up_cross_signing(password)
                .await
                .map_err(|e| e.to_string()),
            Err(f) => Err(f.message),
        };
        drop(spin);
        if let Err(why) = done {
            tracing::warn!(error = %why, "cross-signing is not set up yet; the next sync tries again");
        }
    }
    out.print(super::session_json(&session), || {
        format!(
            "Signed in as {} (device {}) on {}",
            session.user_id, session.device_id, session.homeserver
        )
    });
    Ok(())
}

/// What `--token-stdin` read: a bare token, or a login-token URI with
/// its homeserver.
struct StdinToken {
    token: SecretString,
    homeserver: Option<Url>,
}

fn read_token() -> Result<StdinToken, Failure> {
    let text = terminal::secret_from_stdin("login token", false)?;
    if !LoginTokenUri::is_login_token_uri(text.expose()) {
        return Ok(StdinToken {
            token: text,
            homeserver: None,
        });
    }
    let uri = LoginTokenUri::parse(text.expose())
        .map_err(|e| Failure::usage(format!("cannot read stdin: {}", e.message())))?;
    Ok(StdinToken {
        token: uri.token,
        homeserver: Some(uri.homeserver),
    })
}

/// The same base URL, with or without a trailing slash.
fn same_server(a: &Url, b: &Url) -> bool {
    a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/')
}

/// Whether `user` (a user ID, a localpart, or none given) names the
/// stored session's account.
fn same_user(session: &Session, user: Option<&str>) -> bool {
    match user {
        None => true,
        Some(user) => user == session.user_id.as_str() || user == session.user_id.localpart(),
    }
}

/// A store holding a session that still works needs `--force`. Returns
/// the stored session when it no longer works (soft-logged-out sessions
/// come back marked), so that the sign-in can reuse its device.
async fn check_stored_session(
    store: &Store,
    out: &Output,
    force: bool,
) -> Result<Option<Session>, Failure> {
    if !store.has_session() {
        return Ok(None);
    }
    let Ok((conn, session)) = store.connection() else {
        return Ok(None); // unreadable: replacing it is the fix
    };
    if force {
        return Ok(Some(session));
    }
    if session.soft_logout {
        return Ok(Some(session));
    }
    let spin = out.spinner("checking the stored session");
    let checked = conn.whoami().await;
    drop(spin);
    match checked {
        Ok(_) => Err(Failure::usage(format!(
            "{} already holds a live session for {} (device {}): pass --force to replace it, or `quotient logout` first",
            store.dir().display(),
            session.user_id,
            session.device_id
        ))),
        Err(e) if e.status() == StatusCode::Unauthorised => Ok(Some(Session {
            soft_logout: e.soft_logout() && !e.session_ended(),
            ..session
        })),
        Err(e) => Err(Failure::from_error("cannot check the stored session", &e)),
    }
}

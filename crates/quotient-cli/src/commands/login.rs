//! `quotient login`

use quotient::api::UserId;
use quotient::server::Discovery;
use quotient::StatusCode;

use crate::cli::LoginArgs;
use crate::exit::{self, Failure};
use crate::store::Store;
use crate::terminal::{self, Output};
use crate::{connect, parse_homeserver};

pub async fn run(store: &Store, out: &Output, args: LoginArgs) -> Result<(), Failure> {
    store.check_private()?;
    refuse_live_session(store, out, args.force).await?;
    let homeserver = match (&args.homeserver, &args.user) {
        (Some(url), _) => parse_homeserver(url)?,
        (None, Some(user)) if user.starts_with('@') => {
            let user_id: UserId = user.parse().map_err(|e| Failure::usage(format!("{e}")))?;
            let _spin = out.spinner(&format!("looking up {}", user_id.server_name()));
            Discovery::default().discover(&user_id).await.map_err(|e| {
                Failure::from_error(&format!("cannot find the homeserver of {user_id}"), &e)
            })?
        }
        (None, _) => {
            return Err(Failure::usage(
                "pass --homeserver URL, or a full user ID (@name:server) to look the server up",
            ))
        }
    };
    let conn = connect(homeserver)?;
    let device_name = args.device_name.as_deref().or(Some("quotient CLI"));
    let result = if args.token_stdin {
        let token = terminal::secret_from_stdin("login token", false)?;
        let _spin = out.spinner("signing in");
        conn.login_with_token(token, device_name).await
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
        conn.login_with_password(user, password, device_name).await
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
    out.print(super::session_json(&session), || {
        format!(
            "Signed in as {} (device {}) on {}",
            session.user_id, session.device_id, session.homeserver
        )
    });
    Ok(())
}

/// A store holding a session that still works needs `--force`.
async fn refuse_live_session(store: &Store, out: &Output, force: bool) -> Result<(), Failure> {
    if force || !store.has_session() {
        return Ok(());
    }
    let Ok((conn, session)) = store.connection() else {
        return Ok(()); // unreadable: replacing it is the fix
    };
    let _spin = out.spinner("checking the stored session");
    match conn.whoami().await {
        Ok(_) => Err(Failure::usage(format!(
            "{} already holds a live session for {} (device {}): pass --force to replace it, or `quotient logout` first",
            store.dir().display(),
            session.user_id,
            session.device_id
        ))),
        Err(e) if e.status() == StatusCode::Unauthorised => Ok(()),
        Err(e) => Err(Failure::from_error("cannot check the stored session", &e)),
    }
}

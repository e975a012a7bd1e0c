//! `quotient whoami` and `quotient logout`

use quotient::StatusCode;

use crate::cli::LogoutArgs;
use crate::exit::Failure;
use crate::store::Store;
use crate::terminal::Output;

pub async fn whoami(store: &Store, out: &Output) -> Result<(), Failure> {
    let (conn, session) = store.connection()?;
    let _spin = out.spinner("asking the server");
    let owner = conn
        .whoami()
        .await
        .map_err(|e| Failure::from_error("whoami failed", &e))?;
    drop(_spin);
    let device_id = owner.device_id.unwrap_or(session.device_id);
    out.print(
        serde_json::json!({
            "user_id": owner.user_id.as_str(),
            "device_id": device_id,
            "homeserver": session.homeserver.as_str(),
        }),
        || {
            format!(
                "{} (device {device_id}) on {}",
                owner.user_id, session.homeserver
            )
        },
    );
    Ok(())
}

pub async fn logout(store: &Store, out: &Output, args: LogoutArgs) -> Result<(), Failure> {
    let (conn, session) = store.connection()?;
    let spin = out.spinner(if args.all {
        "signing out every device"
    } else {
        "signing out"
    });
    let result = if args.all {
        conn.logout_all().await
    } else {
        conn.logout().await
    };
    drop(spin);
    let note = match result {
        Ok(()) => "",
        // Already invalid on the server: forgetting it here finishes the
        // job. Not for --all: the other devices are still signed in.
        Err(e) if e.status() == StatusCode::Unauthorised && !args.all => {
            " (the server had already invalidated the token)"
        }
        Err(e) => {
            return Err(Failure::from_error(
                "logout failed; the session is kept",
                &e,
            ))
        }
    };
    store.remove()?;
    let all = if args.all {
        " and every other device"
    } else {
        ""
    };
    out.print(
        serde_json::json!({"logged_out": true, "user_id": session.user_id.as_str(), "device_id": session.device_id, "all": args.all}),
        || format!("Signed out {} (device {}){all}{note}", session.user_id, session.device_id),
    );
    Ok(())
}

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
    let status = device_status(store).await;
    let verified = match crate::client::open(store) {
        Ok(client) => client
            .devices_of(&session.user_id)
            .await
            .ok()
            .and_then(|all| all.into_iter().find(|d| d.this_device))
            .map(|d| d.verified),
        Err(_) => None,
    };
    drop(_spin);
    let device_id = owner.device_id.unwrap_or(session.device_id);
    let (key, cross_signed, note) = match &status {
        Ok(s) => (
            Some(s.fingerprint()),
            Some(s.cross_signed),
            cross_signing_note(s),
        ),
        Err(why) => (None, None, format!("encryption state unknown: {why}")),
    };
    out.print(
        serde_json::json!({
            "user_id": owner.user_id.as_str(),
            "device_id": device_id,
            "homeserver": session.homeserver.as_str(),
            "session_key": key,
            "cross_signed": cross_signed,
            "verified": verified,
        }),
        || {
            let key = key
                .as_deref()
                .map(|k| format!("\nSession key: {k}"))
                .unwrap_or_default();
            format!(
                "{} (device {device_id}) on {}{key}\n{note}",
                owner.user_id, session.homeserver
            )
        },
    );
    Ok(())
}

/// This device's encryption state, through the room store's crypto
/// machine (built here if no other process owns the store).
pub async fn device_status(
    store: &Store,
) -> Result<quotient_client::encryption::DeviceStatus, String> {
    let client = crate::client::open(store).map_err(|f| f.message)?;
    client.device_status().await.map_err(|e| e.to_string())
}

/// One line on this device's cross-signing, saying what to do when it
/// is not signed.
pub fn cross_signing_note(s: &quotient_client::encryption::DeviceStatus) -> String {
    if s.cross_signed {
        "This device is cross-signed.".to_owned()
    } else if s.account_has_cross_signing && !s.holds_cross_signing_keys {
        "This device is NOT cross-signed: the account's cross-signing keys were made on another \
         device; verify this device from there (clients that follow spec v1.18 send it no room keys \
         until then)."
            .to_owned()
    } else {
        "This device is NOT cross-signed yet (cross-signing could not be set up; see the log with -v)."
            .to_owned()
    }
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

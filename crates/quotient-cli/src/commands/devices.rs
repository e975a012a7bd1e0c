//! `quotient devices`: list, rename and delete the account's devices.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quotient::{Device, Session};

use crate::cli::{DevicesAction, DevicesArgs};
use crate::exit::Failure;
use crate::reauth::PasswordPrompt;
use crate::store::Store;
use crate::terminal::Output;

pub async fn run(store: &Store, out: &Output, args: DevicesArgs) -> Result<(), Failure> {
    match args.action {
        None => match args.user {
            Some(user) => list_other(store, out, &user).await,
            None => list(store, out).await,
        },
        Some(DevicesAction::Rename { device_id, name }) => {
            rename(store, out, &device_id, &name).await
        }
        Some(DevicesAction::Delete {
            device_id,
            password_stdin,
            force,
        }) => delete(store, out, &device_id, password_stdin, force).await,
    }
}

async fn list(store: &Store, out: &Output) -> Result<(), Failure> {
    let (conn, session) = store.connection()?;
    let spin = out.spinner("asking the server");
    let devices = conn
        .devices()
        .await
        .map_err(|e| Failure::from_error("cannot list the devices", &e))?;
    let status = super::session::device_status(store).await;
    let trust = trust_of(store, &session.user_id).await;
    drop(spin);
    let trust_for = |d: &Device| trust.iter().find(|t| t.device_id == d.device_id);
    let is_current = |d: &Device| d.device_id == session.device_id;
    if out.json {
        let rows: Vec<_> = devices
            .iter()
            .map(|d| {
                serde_json::json!({
                    "device_id": d.device_id,
                    "display_name": d.display_name,
                    "last_seen_ip": d.last_seen_ip,
                    "last_seen_ts": d.last_seen_ts,
                    "last_seen": d.last_seen_ts.and_then(rfc3339),
                    "current": is_current(d),
                    // This device's own encryption state; null for others.
                    "session_key": status.as_ref().ok().filter(|_| is_current(d)).map(|s| s.fingerprint()),
                    "cross_signed": trust_for(d).map(|t| t.cross_signed),
                    "verified": trust_for(d).map(|t| t.verified),
                })
            })
            .collect();
        out.print(serde_json::Value::Array(rows), String::new);
        return Ok(());
    }
    let rows: Vec<[String; 5]> = devices
        .iter()
        .map(|d| {
            [
                d.device_id.clone(),
                trust_for(d).map_or_else(|| "?".into(), |t| trust_word(t).to_owned()),
                d.display_name.clone().unwrap_or_else(|| "-".into()),
                d.last_seen_ip.clone().unwrap_or_else(|| "-".into()),
                d.last_seen_ts
                    .and_then(rfc3339)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = [
        "DEVICE".to_owned(),
        "TRUST".into(),
        "NAME".into(),
        "LAST SEEN IP".into(),
        "LAST SEEN".into(),
    ];
    let mut widths = [0; 5];
    for row in rows.iter().chain([&header]) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |mark: &str, row: &[String; 5]| {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{mark} {}", cells.join("  ").trim_end())
    };
    println!("{}", line(" ", &header));
    for (device, row) in devices.iter().zip(&rows) {
        println!("{}", line(if is_current(device) { "*" } else { " " }, row));
    }
    println!("(* this session's device; {} in all)", devices.len());
    match &status {
        Ok(s) => {
            println!("This device's session key: {}", s.fingerprint());
            println!("{}", super::session::cross_signing_note(s));
        }
        Err(why) => println!("This device's encryption state is unknown: {why}"),
    }
    Ok(())
}

/// `user`'s devices as this device's crypto machine sees them; empty
/// (with a note in the log) when it cannot be asked.
async fn trust_of(
    store: &Store,
    user: &quotient_api::UserId,
) -> Vec<quotient_client::encryption::DeviceTrustInfo> {
    let client = match crate::client::open(store) {
        Ok(c) => c,
        Err(_) => return Vec::new(),
    };
    client.devices_of(user).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "device trust unknown");
        Vec::new()
    })
}

fn trust_word(t: &quotient_client::encryption::DeviceTrustInfo) -> &'static str {
    if t.blocked {
        "blocked"
    } else if t.verified {
        "verified"
    } else if t.cross_signed {
        "cross-signed"
    } else {
        "unsigned"
    }
}

/// `quotient devices USER`: another user's devices from their keys.
async fn list_other(store: &Store, out: &Output, user: &str) -> Result<(), Failure> {
    let user = quotient_api::UserId::parse(user)
        .map_err(|e| Failure::usage(format!("not a user ID: {user}: {e}")))?;
    let client = crate::client::open(store)?;
    let spin = out.spinner("fetching their keys");
    let devices = client
        .devices_of(&user)
        .await
        .map_err(|e| crate::client::failure("cannot read their devices", &e))?;
    let identity = client
        .user_trust(&user)
        .await
        .map_err(|e| crate::client::failure("cannot read their identity", &e))?;
    drop(spin);
    if out.json {
        let rows: Vec<_> = devices
            .iter()
            .map(|d| {
                serde_json::json!({
                    "device_id": d.device_id, "display_name": d.display_name,
                    "session_key": d.ed25519, "cross_signed": d.cross_signed,
                    "verified": d.verified, "blocked": d.blocked,
                })
            })
            .collect();
        out.print(serde_json::Value::Array(rows), String::new);
        return Ok(());
    }
    for d in &devices {
        println!(
            "{:<12} {:<13} {}",
            d.device_id,
            trust_word(d),
            d.display_name.as_deref().unwrap_or("-")
        );
    }
    println!(
        "{user}: {}",
        if !identity.has_identity {
            "no cross-signing identity"
        } else if identity.identity_changed {
            "identity CHANGED since you verified it (acknowledge or verify again)"
        } else if identity.verified {
            "identity verified"
        } else {
            "identity not verified (quotient verify USER DEVICE)"
        }
    );
    Ok(())
}

async fn rename(store: &Store, out: &Output, device_id: &str, name: &str) -> Result<(), Failure> {
    let (conn, _) = store.connection()?;
    let spin = out.spinner("renaming");
    conn.rename_device(device_id, name)
        .await
        .map_err(|e| Failure::from_error(&format!("cannot rename device {device_id}"), &e))?;
    drop(spin);
    out.print(
        serde_json::json!({"device_id": device_id, "display_name": name}),
        || format!("Device {device_id} is now called “{name}”"),
    );
    Ok(())
}

async fn delete(
    store: &Store,
    out: &Output,
    device_id: &str,
    password_stdin: bool,
    force: bool,
) -> Result<(), Failure> {
    let (conn, session) = store.connection()?;
    let current = device_id == session.device_id;
    if current && !force {
        return Err(Failure::usage(format!(
            "{device_id} is this session's own device: deleting it signs this store out (use `quotient logout`, or pass --force to delete it anyway)"
        )));
    }
    let mut handler =
        PasswordPrompt::new(session.user_id.as_str(), password_stdin, out.interactive);
    let result = conn.delete_device(device_id, &mut handler).await;
    if let Err(e) = result {
        return Err(handler.take_failure().unwrap_or_else(|| {
            Failure::from_error(&format!("cannot delete device {device_id}"), &e)
        }));
    }
    if current {
        forget(store, &session)?;
    }
    out.print(
        serde_json::json!({"device_id": device_id, "deleted": true, "current": current}),
        || {
            if current {
                format!("Deleted device {device_id}, this session's own: signed out here")
            } else {
                format!("Deleted device {device_id}")
            }
        },
    );
    Ok(())
}

/// The session's device is gone on the server: the stored token is dead.
fn forget(store: &Store, session: &Session) -> Result<(), Failure> {
    store.remove().map_err(|f| {
        Failure::new(
            f.code,
            format!("deleted device {} but {}", session.device_id, f.message),
        )
    })
}

fn rfc3339(ms: i64) -> Option<String> {
    let ms = u64::try_from(ms).ok()?;
    let at = UNIX_EPOCH.checked_add(Duration::from_millis(ms))?;
    // humantime formats years up to 9999 only.
    (at < SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799))
        .then(|| humantime::format_rfc3339_seconds(at).to_string())
}

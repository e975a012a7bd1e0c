//! The client layer for the room commands: the store beside the session,
//! its errors as exit codes, rooms named by ID, alias or display name,
//! and the signals that end a long-running command.

use quotient::StatusCode;
use quotient_client::encryption::DeviceTrust;
use quotient_client::store::Membership;
use quotient_client::{Client, Error};

use crate::exit::{Failure, NOT_SIGNED_IN, NOT_SUPPORTED, OTHER, USAGE};
use crate::store::Store;

/// The client over the stored session, its SQLite store in the session's
/// directory (owner-only: the directory 0700, the files 0600).
pub fn open(store: &Store) -> Result<Client, Failure> {
    open_with(store, quotient_client::sync::SyncMode::Auto)
}

/// [`open`], its sync loop running `mode`.
pub fn open_with(store: &Store, mode: quotient_client::sync::SyncMode) -> Result<Client, Failure> {
    let (conn, _) = store.connection()?;
    store.check_private()?;
    let settings = quotient_client::sync::SyncSettings::builder()
        .mode(mode)
        .build();
    Client::builder(conn)
        .device_trust(DEVICE_TRUST.get().copied().unwrap_or_default())
        .sync_settings(settings)
        .open(store.dir())
        .map_err(|e| failure("cannot open the room store", &e))
}

static DEVICE_TRUST: std::sync::OnceLock<DeviceTrust> = std::sync::OnceLock::new();

/// The `--device-trust` setting every client of this run is opened with.
pub fn set_device_trust(trust: DeviceTrust) {
    let _ = DEVICE_TRUST.set(trust);
}

/// A client-layer error as one line and an exit code. A session the
/// server no longer accepts is "not signed in" (7).
pub fn failure(what: &str, e: &Error) -> Failure {
    match e {
        Error::SessionGone(e) => gone(e),
        Error::Request(e) => request_failure(what, e),
        Error::NotSignedIn => Failure::not_signed_in(),
        Error::StoreOwned { .. } => Failure::new(OTHER, format!("{what}: {e}")),
        // Refused by the power levels before any request, as the server
        // would have (403).
        Error::NotAllowed { .. } => Failure::new(NOT_SUPPORTED, format!("{what}: {e}")),
        Error::Id(_) => Failure::usage(format!("{what}: {e}")),
        other => Failure::new(OTHER, format!("{what}: {other}")),
    }
}

/// An engine error of a room command: a token the server no longer
/// accepts is "not signed in" (7), everything else as elsewhere.
pub fn request_failure(what: &str, e: &quotient::Error) -> Failure {
    if e.status() == StatusCode::Unauthorised
        && matches!(
            e.errcode().map(|c| c.as_str()),
            Some("M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN") | None
        )
    {
        return gone(e);
    }
    Failure::from_error(what, e)
}

fn gone(e: &quotient::Error) -> Failure {
    let code = e.errcode().map_or("401", |c| c.as_str());
    Failure::new(
        NOT_SIGNED_IN,
        format!(
            "not signed in: the server no longer accepts this session ({code}); run `quotient login --force`"
        ),
    )
}

/// The store failed while reading.
pub fn read_failure(e: &Error) -> Failure {
    failure("cannot read the room store", e)
}

/// `join`, `invite`, … as the spec spells a membership.
pub fn membership_str(m: Membership) -> &'static str {
    match m {
        Membership::Joined => "join",
        Membership::Invited => "invite",
        Membership::Left => "leave",
        Membership::Knocked => "knock",
    }
}

/// A room the user named, found in the store: by room ID, by alias (the
/// canonical alias or an alternative one), or by display name when only
/// one room has it (one the user is in wins over ones they left), as the
/// library finds them (`Client::room`, `rooms_with_alias`, `rooms_named`).
/// An unknown or ambiguous name is a usage error (2); an ambiguous one
/// lists the candidates.
pub fn resolve(client: &Client, name: &str) -> Result<quotient_api::RoomId, Failure> {
    if name.starts_with('!') {
        let Ok(id) = quotient_api::RoomId::parse(name) else {
            return Err(unknown(name));
        };
        return match client.room(&id) {
            Ok(room) => Ok(room.id().clone()),
            Err(Error::UnknownRoom(_)) => Err(unknown(name)),
            Err(e) => Err(read_failure(&e)),
        };
    }
    let candidates = if name.starts_with('#') {
        match quotient_api::RoomAliasId::parse(name) {
            Ok(alias) => client
                .rooms_with_alias(&alias)
                .map_err(|e| read_failure(&e))?,
            Err(_) => Vec::new(),
        }
    } else {
        client.rooms_named(name).map_err(|e| read_failure(&e))?
    };
    match candidates.as_slice() {
        [] => Err(unknown(name)),
        [room] => Ok(room.id().clone()),
        many => {
            let mut list = Vec::new();
            for room in many {
                let membership = room.membership().map_err(|e| read_failure(&e))?;
                list.push(format!(
                    "{} ({})",
                    room.id(),
                    membership.map_or("gone", membership_str)
                ));
            }
            Err(Failure::new(
                USAGE,
                format!(
                    "`{name}` names {} rooms: {}; name one by its room ID",
                    many.len(),
                    list.join(", ")
                ),
            ))
        }
    }
}

fn unknown(name: &str) -> Failure {
    Failure::new(
        USAGE,
        format!("no room `{name}` in the store: use a room ID, an alias or a room's name (`quotient rooms` lists them; `quotient sync` brings new ones)"),
    )
}

/// Resolves once Ctrl-C (SIGINT) or SIGTERM arrives.
pub async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Whether the store has ever synced (an initial sync is the long one).
pub fn has_synced(client: &Client) -> Result<bool, Failure> {
    let store = client.store().map_err(|e| read_failure(&e))?;
    store.has_synced().map_err(|e| read_failure(&e))
}

/// The room the user named (as [`resolve`] finds it), as a `Room`.
pub fn room(client: &Client, name: &str) -> Result<quotient_client::room::Room, Failure> {
    let id = resolve(client, name)?;
    client.room(&id).map_err(|e| read_failure(&e))
}

/// A user ID the user typed; a usage error (2) if it is not one.
pub fn user_id(raw: &str) -> Result<quotient_api::UserId, Failure> {
    quotient_api::UserId::parse(raw)
        .map_err(|e| Failure::usage(format!("`{raw}` is not a user ID (@name:server): {e}")))
}

/// An event ID the user typed; a usage error (2) if it is not one.
pub fn event_id(raw: &str) -> Result<quotient_api::EventId, Failure> {
    quotient_api::EventId::parse(raw)
        .map_err(|e| Failure::usage(format!("`{raw}` is not an event ID ($…): {e}")))
}

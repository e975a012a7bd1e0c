//! `quotient join`, `leave`, `invite` and `create-room`, through the
//! generated operations.

use quotient::StatusCode;
use quotient_api::generated::account_data::{GetAccountData, SetAccountData};
use quotient_api::generated::create_room::{CreateRoom, CreateRoomPreset};
use quotient_api::generated::inviting::InviteUser;
use quotient_api::generated::joining::JoinRoom;
use quotient_api::generated::leaving::LeaveRoom;
use quotient_api::{RoomId, RoomOrAliasId, UserId};
use serde_json::{json, Value};

use crate::cli::{CreateRoomArgs, InviteArgs, JoinArgs, LeaveArgs};
use crate::client::{self, request_failure};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

fn user_id(raw: &str) -> Result<UserId, Failure> {
    UserId::parse(raw)
        .map_err(|e| Failure::usage(format!("`{raw}` is not a user ID (@name:server): {e}")))
}

pub async fn join(store: &SessionStore, out: &Output, args: JoinArgs) -> Result<(), Failure> {
    let target = RoomOrAliasId::parse(args.room.as_str()).map_err(|e| {
        Failure::usage(format!(
            "`{}` is not a room ID (!…) or alias (#…:server): {e}",
            args.room
        ))
    })?;
    let (conn, _) = store.connection()?;
    let _spin = out.spinner("joining");
    let joined = conn
        .submit(JoinRoom::new(target))
        .await
        .map_err(|e| request_failure("join failed", &e))?
        .into_value()
        .room_id;
    drop(_spin);
    out.print(json!({"room_id": joined.as_str(), "joined": true}), || {
        format!("Joined {joined}")
    });
    Ok(())
}

pub async fn leave(store: &SessionStore, out: &Output, args: LeaveArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    let room = client::resolve(&client, &args.room)?;
    let _spin = out.spinner("leaving");
    client
        .connection()
        .submit(LeaveRoom::new(room.clone()))
        .await
        .map_err(|e| request_failure("leave failed", &e))?;
    drop(_spin);
    out.print(json!({"room_id": room.as_str(), "left": true}), || {
        format!("Left {room}")
    });
    Ok(())
}

pub async fn invite(store: &SessionStore, out: &Output, args: InviteArgs) -> Result<(), Failure> {
    let user = user_id(&args.user)?;
    let client = client::open(store)?;
    let room = client::resolve(&client, &args.room)?;
    let _spin = out.spinner("inviting");
    client
        .connection()
        .submit(InviteUser::new(room.clone(), user.clone()))
        .await
        .map_err(|e| request_failure("invite failed", &e))?;
    drop(_spin);
    out.print(
        json!({"room_id": room.as_str(), "invited": user.as_str()}),
        || format!("Invited {user} to {room}"),
    );
    Ok(())
}

pub async fn create(
    store: &SessionStore,
    out: &Output,
    args: CreateRoomArgs,
) -> Result<(), Failure> {
    let invites = args
        .invite
        .iter()
        .map(|u| user_id(u))
        .collect::<Result<Vec<_>, _>>()?;
    if args.direct && invites.is_empty() {
        return Err(Failure::usage(
            "--direct needs --invite USER: whom is it a direct chat with?",
        ));
    }
    let (conn, session) = store.connection()?;
    let mut request = CreateRoom::new();
    request.name = args.name.clone();
    request.preset = Some(if args.direct {
        CreateRoomPreset::TrustedPrivateChat
    } else {
        CreateRoomPreset::PrivateChat
    });
    request.is_direct = args.direct.then_some(true);
    request.invite = (!invites.is_empty()).then(|| invites.clone());
    if !args.unencrypted {
        request.initial_state = Some(vec![quotient_client::encryption::initial_state()]);
    }
    let spin = out.spinner("creating the room");
    let room = conn
        .submit(request)
        .await
        .map_err(|e| request_failure("create-room failed", &e))?
        .into_value()
        .room_id;
    // A direct chat is one in m.direct: the creator records it.
    let mut note = String::new();
    if args.direct {
        if let Err(e) = mark_direct(&conn, session.user_id.as_str(), &room, &invites).await {
            note = format!(" (but m.direct was not updated: {})", e.message);
        }
    }
    drop(spin);
    out.print(
        json!({"room_id": room.as_str(), "direct": args.direct && note.is_empty(),
               "encrypted": !args.unencrypted,
               "invited": invites.iter().map(UserId::as_str).collect::<Vec<_>>()}),
        || format!("Created {room}{note}"),
    );
    Ok(())
}

/// Adds `room` to the account's `m.direct` for each of `users`, starting
/// from the server's current one (the store's may be behind).
async fn mark_direct(
    conn: &quotient::Connection,
    me: &str,
    room: &RoomId,
    users: &[UserId],
) -> Result<(), Failure> {
    let current = conn
        .submit(GetAccountData::new(me.to_owned(), "m.direct".to_owned()))
        .await;
    let mut content = match current {
        Ok(answer) => answer.into_value().0,
        Err(e) if e.status() == StatusCode::NotFound => Default::default(),
        Err(e) => return Err(request_failure("reading m.direct failed", &e)),
    };
    for user in users {
        let rooms = content
            .entry(user.as_str().to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !rooms.is_array() {
            *rooms = Value::Array(Vec::new());
        }
        if let Some(list) = rooms.as_array_mut() {
            if !list.iter().any(|r| r == room.as_str()) {
                list.push(Value::String(room.as_str().to_owned()));
            }
        }
    }
    conn.submit(SetAccountData::new(
        me.to_owned(),
        "m.direct".to_owned(),
        content,
    ))
    .await
    .map_err(|e| request_failure("writing m.direct failed", &e))?;
    Ok(())
}

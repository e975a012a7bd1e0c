//! The shared server and fresh, signed-in users on it.

use quotient::api::{JsonObject, RoomId, UserId};
use quotient::Connection;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::homeserver::{fresh_user, homeserver, Config, Homeserver};

pub fn server() -> &'static Homeserver {
    homeserver(Config::Conformance)
}

/// A user signed in on its own connection.
pub struct Account {
    pub conn: Connection,
    pub user_id: UserId,
    pub localpart: String,
    pub password: String,
    pub device_id: String,
}

impl Account {
    /// The user ID as the string some generated types take.
    pub fn id(&self) -> String {
        self.user_id.as_str().to_owned()
    }
}

/// Registers a fresh user (shared-secret registration) and signs it in
/// with a password.
pub async fn account(prefix: &str) -> Account {
    let hs = server();
    let user = tokio::task::spawn_blocking({
        let prefix = prefix.to_owned();
        move || fresh_user(hs, &prefix)
    })
    .await
    .unwrap();
    let conn = hs.connection();
    let session = conn
        .login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap_or_else(|e| panic!("password login of {}: {e}", user.user_id));
    Account {
        conn,
        user_id: session.user_id,
        localpart: user.localpart,
        password: user.password,
        device_id: session.device_id,
    }
}

/// A JSON object literal, for bodies typed as `JsonObject`.
pub fn obj(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A generated type from JSON: keeps the scenarios independent of the
/// generated names of nested types, which the generator may change.
pub fn from_json<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{value} does not fit {}: {e}", std::any::type_name::<T>()))
}

/// A unique transaction ID.
pub fn txn() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Creates a room through `createRoom` (checked) with `preset` and extra
/// initial state, and returns its ID.
pub async fn create_room(owner: &Account, preset: &str, initial_state: Value) -> RoomId {
    use quotient::api::generated::create_room::CreateRoom;
    let mut request = CreateRoom::new();
    request.preset = Some(preset.into());
    request.name = Some(format!("{preset} room of {}", owner.localpart));
    request.topic = Some("conformance".into());
    request.initial_state = Some(from_json(initial_state));
    crate::check::call(&owner.conn, request)
        .await
        .expect("createRoom decodes")
        .room_id
}

/// Sends an `m.room.message` text event and returns its ID.
pub async fn send_text(from: &Account, room: &RoomId, text: &str) -> quotient::api::EventId {
    send_event(
        from,
        room,
        "m.room.message",
        serde_json::json!({"msgtype": "m.text", "body": text}),
    )
    .await
}

/// Sends any message event and returns its ID.
pub async fn send_event(
    from: &Account,
    room: &RoomId,
    event_type: &str,
    content: Value,
) -> quotient::api::EventId {
    use quotient::api::generated::room_send::SendMessage;
    let request = SendMessage::new(room.clone(), event_type.into(), txn(), obj(content));
    crate::check::call(&from.conn, request)
        .await
        .expect("sendMessage decodes")
        .event_id
}

/// Joins `room` by ID (checked).
pub async fn join(who: &Account, room: &RoomId) {
    use quotient::api::generated::joining::JoinRoomById;
    let joined = crate::check::call(&who.conn, JoinRoomById::new(room.clone()))
        .await
        .expect("joinRoomById decodes");
    assert_eq!(&joined.room_id, room);
}

/// The typed event of a list item (the strict re-decode in `check.rs` has
/// already failed the run if any event did not fit its type).
pub fn typed<T: std::fmt::Debug>(item: &quotient::api::Lenient<T>) -> &T {
    item.typed()
        .unwrap_or_else(|| panic!("an event that does not fit its type: {item:?}"))
}

//! Helpers of the end-to-end encryption suites: encrypted rooms, the
//! server's own copy of an event, syncing until the store has something.

use std::time::Duration;

use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::{find_operation, HttpRequest, Method, RequestBody, RoomId, UserId};
use quotient_client::store::StoredEvent;
use quotient_client::Client;
use serde_json::Value;

/// A room made encrypted from its first event, inviting `invite`.
pub async fn create_encrypted_room(conn: &Connection, invite: Vec<UserId>) -> RoomId {
    let mut request = CreateRoom::new();
    request.name = Some("Secret".into());
    request.invite = Some(invite);
    request.initial_state = Some(vec![quotient_client::encryption::initial_state()]);
    conn.submit(request).await.unwrap().into_value().room_id
}

/// A raw request through `conn`, its answer's JSON.
pub async fn raw(conn: &Connection, method: Method, path: &str, body: Option<Value>) -> Value {
    let meta = *find_operation(method, path).unwrap();
    let request = HttpRequest {
        method,
        path_and_query: path.to_owned(),
        headers: Vec::new(),
        body: match body {
            Some(b) => RequestBody::json(&b).unwrap(),
            None => RequestBody::Empty,
        },
    };
    let answer = conn
        .submit_request(meta, request, conn.default_job_options().clone())
        .await
        .unwrap();
    serde_json::from_slice(answer.body()).unwrap()
}

/// The event as the server holds it.
pub async fn on_server(conn: &Connection, room: &RoomId, event_id: impl AsRef<str>) -> Value {
    let path = format!(
        "/_matrix/client/v3/rooms/{}/event/{}",
        quotient_api::encode_path_segment(room.as_str()),
        quotient_api::encode_path_segment(event_id.as_ref())
    );
    raw(conn, Method::Get, &path, None).await
}

/// The Megolm session an event was encrypted with, as the server has it.
pub async fn session_of(conn: &Connection, room: &RoomId, event_id: impl AsRef<str>) -> String {
    let held = on_server(conn, room, event_id).await;
    assert_eq!(held["type"], "m.room.encrypted", "{held}");
    held["content"]["session_id"].as_str().unwrap().to_owned()
}

/// Syncs `client` until `found` picks something out of the room's stored
/// timeline (at most 20 syncs).
pub async fn sync_until<T>(
    client: &Client,
    room: &RoomId,
    found: impl Fn(&[StoredEvent]) -> Option<T>,
) -> T {
    for _ in 0..20 {
        client.sync_once().await.unwrap();
        let events = client.store().unwrap().timeline(room, 100).unwrap();
        if let Some(t) = found(&events) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("not found after 20 syncs");
}

/// The stored message whose body is `body`, decrypted.
pub fn message<'a>(events: &'a [StoredEvent], body: &str) -> Option<&'a StoredEvent> {
    events
        .iter()
        .find(|e| e.json["type"] == "m.room.message" && e.json["content"]["body"] == body)
}

/// The stored event whose ID is `id`.
pub fn by_id(events: &[StoredEvent], id: impl AsRef<str>) -> Option<StoredEvent> {
    events
        .iter()
        .find(|e| e.event_id.as_ref().map(|id| id.as_str()) == Some(id.as_ref()))
        .cloned()
}

/// The room's events of `kind` as the server has them, oldest first
/// (`/messages`, read apart from the store under test).
pub async fn server_events(conn: &Connection, room: &RoomId, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut from: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!(
            "/_matrix/client/v3/rooms/{}/messages?dir=b&limit=100",
            quotient_api::encode_path_segment(room.as_str())
        );
        if let Some(from) = &from {
            path.push_str(&format!(
                "&from={}",
                quotient_api::encode_path_segment(from)
            ));
        }
        let page = raw(conn, Method::Get, &path, None).await;
        for event in page["chunk"].as_array().into_iter().flatten() {
            if event["type"] == kind {
                out.push(event.clone());
            }
        }
        match page["end"].as_str() {
            Some(end) if Some(end) != from.as_deref() => from = Some(end.to_owned()),
            _ => break,
        }
    }
    out.reverse();
    out
}

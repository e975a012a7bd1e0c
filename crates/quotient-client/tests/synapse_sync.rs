//! The client against a real Synapse: two users, a room, invites, joins,
//! messages both ways, name and topic changes, a restart that resumes
//! from the stored `since`, a gap back-paginated, and a second user's
//! redaction, edit, reactions and read receipt.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_sync`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::generated::joining::JoinRoomById;
use quotient_api::generated::receipts::{PostReceipt, PostReceiptReceiptType};
use quotient_api::generated::redaction::RedactEvent;
use quotient_api::generated::room_send::SendMessage;
use quotient_api::generated::room_state::SetRoomStateWithKey;
use quotient_api::{EventId, JsonObject, RoomId, UserId};
use quotient_client::store::Membership;
use quotient_client::Client;
use serde_json::{json, Value};
use support::TempDir;

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

/// A fresh user signed in on its own connection.
async fn account(prefix: &'static str) -> (Connection, UserId) {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap();
    let conn = hs.connection();
    let session = conn
        .login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap();
    (conn, session.user_id)
}

fn obj(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("an object literal"),
    }
}

async fn send(conn: &Connection, room: &RoomId, txn: &str, body: &str) -> EventId {
    let content = json!({"msgtype": "m.text", "body": body});
    send_event(conn, room, "m.room.message", txn, content).await
}

async fn send_event(
    conn: &Connection,
    room: &RoomId,
    kind: &str,
    txn: &str,
    content: Value,
) -> EventId {
    let request = SendMessage::new(room.clone(), kind.into(), txn.into(), obj(content));
    conn.submit(request).await.unwrap().into_value().event_id
}

async fn react(
    conn: &Connection,
    room: &RoomId,
    txn: &str,
    target: &EventId,
    key: &str,
) -> EventId {
    let content = json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": target.as_str(), "key": key}});
    send_event(conn, room, "m.reaction", txn, content).await
}

async fn redact(conn: &Connection, room: &RoomId, txn: &str, target: &EventId) {
    let request = RedactEvent::new(room.clone(), target.clone(), txn.into());
    conn.submit(request).await.unwrap();
}

async fn set_state(conn: &Connection, room: &RoomId, kind: &str, content: Value) {
    let request = SetRoomStateWithKey::new(room.clone(), kind.into(), String::new(), obj(content));
    conn.submit(request).await.unwrap();
}

async fn create_room(conn: &Connection, name: &str, invite: Vec<UserId>) -> RoomId {
    let mut request = CreateRoom::new();
    request.name = Some(name.into());
    request.invite = Some(invite);
    conn.submit(request).await.unwrap().into_value().room_id
}

/// The bodies of the room's stored messages, in timeline order.
fn bodies(client: &Client, room: &RoomId) -> Vec<String> {
    let store = client.store().unwrap();
    store
        .timeline(room, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.json["type"] == "m.room.message")
        .map(|e| e.json["content"]["body"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn membership(client: &Client, room: &RoomId) -> Option<Membership> {
    let store = client.store().unwrap();
    let rooms = store.rooms().unwrap();
    rooms.into_iter().find(|(r, _)| r == room).map(|(_, m)| m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_a_join_and_messages_both_ways_are_stored_in_order() {
    let (a, _) = account("alice").await;
    let (b, bob) = account("bob").await;
    let dir = TempDir::new("synapse-both-ways");
    let alice = Client::open(dir.path(), a.clone()).unwrap();
    let bobs = Client::in_memory(b.clone()).unwrap();

    let room = create_room(&a, "First", vec![bob]).await;
    bobs.sync_once().await.unwrap();
    assert_eq!(membership(&bobs, &room), Some(Membership::Invited));
    let invite_name = bobs
        .store()
        .unwrap()
        .state_event(&room, "m.room.name", "")
        .unwrap();
    assert_eq!(
        invite_name.unwrap()["content"]["name"],
        "First",
        "invite state stored"
    );

    b.submit(JoinRoomById::new(room.clone())).await.unwrap();
    send(&a, &room, "a1", "one from alice").await;
    send(&b, &room, "b1", "two from bob").await;
    send(&a, &room, "a2", "three from alice").await;

    let want = ["one from alice", "two from bob", "three from alice"];
    alice.sync_once().await.unwrap();
    assert_eq!(membership(&alice, &room), Some(Membership::Joined));
    assert_eq!(bodies(&alice, &room), want);
    bobs.sync_once().await.unwrap();
    assert_eq!(membership(&bobs, &room), Some(Membership::Joined));
    assert_eq!(bodies(&bobs, &room), want);
    let summary = bobs.store().unwrap().room_summary(&room).unwrap().unwrap();
    assert_eq!(summary.joined_member_count, Some(2));

    // Name and topic changes reach the other side's stored state.
    set_state(&a, &room, "m.room.name", json!({"name": "Second"})).await;
    set_state(&a, &room, "m.room.topic", json!({"topic": "About things"})).await;
    bobs.sync_once().await.unwrap();
    let store = bobs.store().unwrap();
    let name = store
        .state_event(&room, "m.room.name", "")
        .unwrap()
        .unwrap();
    assert_eq!(name["content"]["name"], "Second");
    let topic = store
        .state_event(&room, "m.room.topic", "")
        .unwrap()
        .unwrap();
    assert_eq!(topic["content"]["topic"], "About things");
    assert_eq!(
        store.room_display_name(&room).unwrap().as_deref(),
        Some("Second")
    );
    assert_eq!(
        store.malformed_count().unwrap(),
        0,
        "Synapse sends nothing malformed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_client_on_the_reopened_store_resumes_from_the_stored_since() {
    let (a, _) = account("resume").await;
    let dir = TempDir::new("synapse-resume");
    let room = create_room(&a, "Resume", vec![]).await;
    send(&a, &room, "r1", "before the restart").await;
    let since = {
        let client = Client::open(dir.path(), a.clone()).unwrap();
        let changes = client.sync_once().await.unwrap();
        assert!(changes.new_timeline_events > 0);
        assert_eq!(bodies(&client, &room), ["before the restart"]);
        changes.next_batch
    };

    let client = Client::open(dir.path(), a.clone()).unwrap();
    assert_eq!(
        client.store().unwrap().since().unwrap().as_deref(),
        Some(since.as_str())
    );
    assert_eq!(
        bodies(&client, &room),
        ["before the restart"],
        "read with no network"
    );
    send(&a, &room, "r2", "after the restart").await;
    let changes = client.sync_once().await.unwrap();
    assert_eq!(changes.new_timeline_events, 1, "only the new event came");
    assert_eq!(
        bodies(&client, &room),
        ["before the restart", "after the restart"]
    );

    // What Synapse was asked: the stored since.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = server().log();
    assert!(
        log.contains(&format!("since={since}")),
        "the resumed sync sent since={since}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_loop_delivers_new_messages_and_stops_promptly() {
    let (a, _) = account("looper").await;
    let room = create_room(&a, "Loop", vec![]).await;
    let client = Client::in_memory(a.clone()).unwrap();
    client.sync_once().await.unwrap();
    let mut changes = client.changes();
    let sync = client.start_sync_loop();
    tokio::time::sleep(Duration::from_millis(300)).await; // the long-poll is waiting
    send(&a, &room, "l1", "woke the long-poll").await;
    // A batch may bring other news first (the user's own membership,
    // receipts); the message comes within a few.
    for _ in 0..5 {
        let change = tokio::time::timeout(Duration::from_secs(20), changes.recv())
            .await
            .expect("a batch within 20 s")
            .unwrap();
        if change.rooms.contains(&room) && !bodies(&client, &room).is_empty() {
            break;
        }
    }
    assert_eq!(bodies(&client, &room), ["woke the long-poll"]);
    let started = std::time::Instant::now();
    sync.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_is_filled_by_back_pagination_in_order_up_to_the_creation() {
    let (a, _) = account("gap").await;
    let settings = quotient_client::sync::SyncSettings::builder()
        .timeline_limit(3)
        .build();
    let client = Client::builder(a.clone())
        .sync_settings(settings)
        .in_memory()
        .unwrap();
    let room = create_room(&a, "Gap", vec![]).await;
    client.sync_once().await.unwrap();
    let sent: Vec<String> = (0..8).map(|i| format!("offline {i}")).collect();
    for (i, body) in sent.iter().enumerate() {
        send(&a, &room, &format!("g{i}"), body).await;
    }
    client.sync_once().await.unwrap();
    assert!(
        !client
            .store()
            .unwrap()
            .timeline_gaps(&room)
            .unwrap()
            .is_empty(),
        "limited"
    );
    let mut done = false;
    for _ in 0..20 {
        match client.paginate_back(&room, 4).await.unwrap() {
            quotient_client::sync::PaginationOutcome::NoGap => {
                done = true;
                break;
            }
            quotient_client::sync::PaginationOutcome::Page { .. } => {}
        }
    }
    assert!(done, "the gap was filled");
    assert_eq!(
        bodies(&client, &room),
        sent,
        "no duplicate, no hole, server order"
    );
    let store = client.store().unwrap();
    let ids: Vec<_> = store.timeline(&room, 1000).unwrap();
    let unique: std::collections::BTreeSet<_> = ids.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(unique.len(), ids.len());
    assert_eq!(
        ids[0].json["type"], "m.room.create",
        "stops at the creation"
    );
}

/// `(key, count)` of the stored reactions to `target`.
fn reaction_counts(client: &Client, target: &EventId) -> Vec<(String, u64)> {
    let store = client.store().unwrap();
    let groups = store.reactions(target).unwrap();
    groups.into_iter().map(|g| (g.key, g.count)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_users_redaction_edit_reactions_and_receipt_are_stored() {
    let (a, _) = account("redactee").await;
    let (b, bob) = account("redactor").await;
    let alice = Client::in_memory(a.clone()).unwrap();
    let room = create_room(&a, "Relations", vec![bob.clone()]).await;
    b.submit(JoinRoomById::new(room.clone())).await.unwrap();
    let target = send(&a, &room, "t1", "the original").await;
    let doomed = send(&b, &room, "b1", "soon redacted").await;
    react(&b, &room, "b2", &target, "👍").await;
    let party = react(&b, &room, "b3", &target, "🎉").await;
    let edit = json!({"msgtype": "m.text", "body": "* the edit",
        "m.new_content": {"msgtype": "m.text", "body": "the edit"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": target.as_str()}});
    send_event(&a, &room, "m.room.message", "t2", edit).await;
    alice.sync_once().await.unwrap();

    // The edit and the reactions are read with their target.
    let latest = alice.store().unwrap().latest_edit(&target).unwrap();
    let latest = latest.expect("the edit is stored with its target");
    assert_eq!(latest.json["content"]["m.new_content"]["body"], "the edit");
    let want = [("👍".to_owned(), 1), ("🎉".to_owned(), 1)];
    let mut got = reaction_counts(&alice, &target);
    got.sort();
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(got, want);
    let stored = alice.store().unwrap().timeline(&room, 100).unwrap();
    let body = stored
        .iter()
        .find(|e| e.event_id.as_ref().map(|id| id.as_str()) == Some(doomed.as_str()));
    assert_eq!(body.unwrap().json["content"]["body"], "soon redacted");

    // Bob redacts his message and one reaction, and reads the target.
    redact(&b, &room, "b4", &doomed).await;
    redact(&b, &room, "b5", &party).await;
    let receipt = PostReceipt::new(room.clone(), PostReceiptReceiptType::Read, target.clone());
    b.submit(receipt).await.unwrap();
    let mut receipt_seen = false;
    for _ in 0..20 {
        alice.sync_once().await.unwrap();
        let receipts = alice.store().unwrap().receipts(&room).unwrap();
        receipt_seen = receipts.iter().any(|r| {
            r.user_id.as_str() == bob.as_str()
                && r.receipt_type == "m.read"
                && r.event_id.as_str() == target.as_str()
        });
        if receipt_seen {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receipt_seen, "bob's read receipt is stored");

    let stored = alice.store().unwrap().timeline(&room, 100).unwrap();
    let redacted = stored
        .iter()
        .find(|e| e.event_id.as_ref().map(|id| id.as_str()) == Some(doomed.as_str()))
        .unwrap();
    assert_eq!(
        redacted.json["content"],
        json!({}),
        "the stored event's content is stripped: {}",
        redacted.json
    );
    assert_eq!(redacted.json["sender"], bob.as_str(), "what is kept stays");
    assert_eq!(
        reaction_counts(&alice, &target),
        [("👍".to_owned(), 1)],
        "a redacted reaction no longer counts"
    );
}

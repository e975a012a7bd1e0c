//! Threads through the `Room` handle against a real Synapse: 30 replies
//! sent into a thread by one user, back-paginated by the other in order
//! with none twice, the thread list's count and latest reply, a reply
//! sent into the thread appearing there, and a thread read receipt.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_threads`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config};
use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::{EventId, UserId};
use quotient_client::outbox::OutgoingEvent;
use quotient_client::room::{ReceiptKind, ReceiptThread, Room};
use quotient_client::Client;
use serde_json::Value;

async fn account(prefix: &'static str) -> (Connection, UserId) {
    let hs = tokio::task::spawn_blocking(|| homeserver(Config::Default))
        .await
        .unwrap();
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

async fn sync_until(client: &Client, what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..60 {
        client.sync_once().await.unwrap();
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("never synced: {what}");
}

async fn sent(room: &Room, event: OutgoingEvent) -> EventId {
    room.send(event).await.unwrap().sent().await.unwrap()
}

fn body(event: &Value) -> &str {
    event["content"]["body"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_thread_replies_come_back_in_order_once_with_the_right_count() {
    let (a, _) = account("ta").await;
    let (b, bob_id) = account("tb").await;
    let (alice, bob) = (
        Client::in_memory(a.clone()).unwrap(),
        Client::in_memory(b).unwrap(),
    );
    let mut create = CreateRoom::new();
    create.name = Some("Threads".into());
    create.invite = Some(vec![bob_id.clone()]);
    let id = a.submit(create).await.unwrap().into_value().room_id;
    let room_b = bob.join(&id.clone().into()).await.unwrap();
    alice.sync_once().await.unwrap();
    let room_a = alice.room(&id).unwrap();
    let root = sent(&room_a, OutgoingEvent::text("the root")).await;
    sync_until(&bob, "bob has the root", || {
        room_b.stored_event(&root).unwrap().is_some()
    })
    .await;
    for i in 0..30 {
        let reply = OutgoingEvent::text(&format!("reply {i}"));
        room_b
            .send_in_thread(&root, reply)
            .await
            .unwrap()
            .sent()
            .await
            .unwrap();
    }

    let threads = room_a.threads(10).await.unwrap();
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert_eq!(threads[0].root_id, root);
    assert_eq!(threads[0].count, 30);
    assert_eq!(body(threads[0].latest.as_ref().unwrap()), "reply 29");

    let events = room_a.thread_events(&root, 7).await.unwrap();
    let bodies: Vec<&str> = events.iter().map(body).collect();
    let want: Vec<String> = (0..30).map(|i| format!("reply {i}")).collect();
    assert_eq!(bodies, want, "in order, each once, over five pages");

    // A reply sent into the thread appears there, after the newest one.
    sync_until(&alice, "alice has the thread", || {
        room_a.stored_thread(&root).unwrap().len() == 30
    })
    .await;
    let mine = room_a
        .send_in_thread(&root, OutgoingEvent::text("from alice"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let events = room_a.thread_events(&root, 50).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!((events.len(), body(last)), (31, "from alice"));
    assert_eq!(last["event_id"], mine.as_str());
    let relates = &last["content"]["m.relates_to"];
    assert_eq!(relates["rel_type"], "m.thread");
    assert_eq!(relates["is_falling_back"], true);
    assert_eq!(
        relates["m.in_reply_to"]["event_id"], events[29]["event_id"],
        "the fallback points at the thread's newest event"
    );
    let threads = room_b.threads(10).await.unwrap();
    assert_eq!(threads[0].count, 31);

    // A thread read receipt, seen by the other member.
    let newest = mine.clone();
    room_b
        .send_receipt(ReceiptKind::Read, &newest, ReceiptThread::Thread(&root))
        .await
        .unwrap();
    sync_until(&alice, "bob's thread receipt", || {
        room_a.receipts().unwrap().iter().any(|r| {
            r.user_id.as_str() == bob_id.as_str()
                && r.thread_id.as_deref() == Some(root.as_str())
                && r.event_id.as_str() == newest.as_str()
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_thread_is_fetched_decrypted() {
    let (a, _) = account("tea").await;
    let (b, bob_id) = account("teb").await;
    let (dir_a, dir_b) = (
        support::TempDir::new("thread-e2e-a"),
        support::TempDir::new("thread-e2e-b"),
    );
    let alice = Client::open(dir_a.path(), a.clone()).unwrap();
    let bob = Client::open(dir_b.path(), b).unwrap();
    // First syncs build the machines (keys uploaded, cross-signing made).
    alice.sync_once().await.unwrap();
    bob.sync_once().await.unwrap();
    let id = support::e2ee::create_encrypted_room(&a, vec![bob_id]).await;
    bob.sync_once().await.unwrap();
    let room_b = bob.join(&id.clone().into()).await.unwrap();
    bob.sync_once().await.unwrap();
    alice.sync_once().await.unwrap();
    let room_a = alice.room(&id).unwrap();
    assert!(room_a.is_encrypted().unwrap());
    let root = sent(&room_a, OutgoingEvent::text("secret root")).await;
    sync_until(&bob, "bob has the root", || {
        room_b.stored_event(&root).unwrap().is_some()
    })
    .await;
    for i in 0..3 {
        let reply = OutgoingEvent::text(&format!("secret {i}"));
        sent(&room_b, room_b_thread(reply, &root)).await;
    }
    // Alice's machine gets Bob's room key with her next syncs; what the
    // server gives back through /relations is ciphertext all the same.
    sync_until(&alice, "alice has bob's key", || {
        room_a.stored_thread(&root).unwrap().len() == 3
    })
    .await;
    let events = room_a.thread_events(&root, 2).await.unwrap();
    let bodies: Vec<&str> = events.iter().map(body).collect();
    assert_eq!(bodies, ["secret 0", "secret 1", "secret 2"], "{events:?}");
}

/// A message put into the thread rooted at `root` (the fallback to it).
fn room_b_thread(message: OutgoingEvent, root: &EventId) -> OutgoingEvent {
    message.in_thread(root, root)
}

//! The account and typed handlers against a real Synapse, with a second
//! user through the library: a profile change seen in the member event,
//! presence set by one user and read by another, ignored users' events
//! gone from the timeline and the watcher and their invite not
//! surfacing, and typed handlers getting each event in order, once,
//! across a restart.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_account`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::{RoomId, UserId};
use quotient_client::account::PresenceState;
use quotient_client::events::{MessageContent, MessageKind};
use quotient_client::outbox::OutgoingEvent;
use quotient_client::room::Room;
use quotient_client::rooms::MemberMembership;
use quotient_client::store::Membership;
use quotient_client::Client;
use support::TempDir;

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

/// A fresh user signed in on its own connection (through `via`, if given).
async fn account(prefix: &'static str, via: Option<url::Url>) -> (Connection, UserId) {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap();
    let conn = Connection::builder(via.unwrap_or_else(|| hs.url.clone()))
        .build()
        .unwrap();
    let session = conn
        .login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap();
    (conn, session.user_id)
}

async fn create_room(conn: &Connection, name: &str) -> RoomId {
    let mut request = CreateRoom::new();
    request.name = Some(name.into());
    conn.submit(request).await.unwrap().into_value().room_id
}

/// Syncs `client` until `done` holds (at most ~15 s).
async fn sync_until(client: &Client, what: &str, mut done: impl FnMut(&Client) -> bool) {
    for _ in 0..60 {
        client.sync_once().await.unwrap();
        if done(client) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("never synced: {what}");
}

/// Alice's room with Bob in it: both clients synced.
async fn two_in_a_room(
    name: &str,
    bob_via: Option<url::Url>,
) -> (Client, Client, Room, Room, UserId, UserId) {
    let (a, alice_id) = account("ra", None).await;
    let (b, bob_id) = account("rb", bob_via).await;
    let alice = Client::in_memory(a.clone()).unwrap();
    let bob = Client::in_memory(b).unwrap();
    let id = create_room(&a, name).await;
    alice.sync_once().await.unwrap();
    let room_a = alice.room(&id).unwrap();
    room_a.invite(&bob_id, None).await.unwrap();
    let room_b = bob.join(&id.clone().into()).await.unwrap();
    sync_until(&bob, "bob joined", |c| {
        c.room(&id)
            .is_ok_and(|r| r.membership().unwrap() == Some(Membership::Joined))
    })
    .await;
    sync_until(&alice, "alice sees bob", |_| {
        room_a
            .member(&bob_id)
            .unwrap()
            .is_some_and(|m| m.membership == MemberMembership::Joined)
    })
    .await;
    (alice, bob, room_a, room_b, alice_id, bob_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_change_is_seen_in_the_member_event() {
    let (alice, bob, room_a, _room_b, _, bob_id) = two_in_a_room("Profiles", None).await;
    bob.set_display_name("Bobby Tables").await.unwrap();
    let dir = TempDir::new("profile-avatar");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("me.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\nme").unwrap();
    let uri = bob.set_avatar_file(&file).await.unwrap();
    sync_until(&alice, "bob's new name and avatar", |_| {
        room_a.member(&bob_id).unwrap().is_some_and(|m| {
            m.display_name.as_deref() == Some("Bobby Tables")
                && m.avatar_url.as_deref() == Some(uri.as_str())
        })
    })
    .await;
    let profile = alice.profile(&bob_id).await.unwrap();
    assert_eq!(profile.display_name.as_deref(), Some("Bobby Tables"));
    assert_eq!(profile.avatar_url, Some(uri));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_set_by_one_user_is_read_by_another() {
    // The default test server has presence off; this one has it on.
    let hs = tokio::task::spawn_blocking(|| homeserver(Config::Conformance))
        .await
        .unwrap();
    let mut clients = Vec::new();
    for prefix in ["pa", "pb"] {
        let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
            .await
            .unwrap();
        let conn = hs.connection();
        conn.login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
            .await
            .unwrap();
        clients.push(Client::in_memory(conn).unwrap());
    }
    let (alice, bob) = (&clients[0], &clients[1]);
    let bob_id = bob.connection().user_id().unwrap();
    let room = create_room(alice.connection(), "Presence").await;
    alice.sync_once().await.unwrap();
    alice
        .room(&room)
        .unwrap()
        .invite(&bob_id, None)
        .await
        .unwrap();
    bob.join(&room.into()).await.unwrap();
    bob.set_presence(PresenceState::Unavailable, Some("at lunch"))
        .await
        .unwrap();
    let presence = alice.presence(&bob_id).await.unwrap();
    assert_eq!(presence.state, PresenceState::Unavailable);
    assert_eq!(presence.status_msg.as_deref(), Some("at lunch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_users_events_vanish_and_their_invite_does_not_surface() {
    let (alice, bob, room_a, room_b, alice_id, _) = two_in_a_room("Ignoring", None).await;
    let mut watcher = bob.watch_timeline("ignoring").unwrap();
    room_a
        .send(OutgoingEvent::text("before"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    sync_until(&bob, "before", |_| {
        room_b
            .latest_events(10)
            .unwrap()
            .iter()
            .any(|e| e.json["content"]["body"] == "before")
    })
    .await;
    // An invite stored before the ignore, not yet handed over by a
    // durable room watcher.
    let mut rooms_watcher = bob.watch_rooms_durably("ignoring-rooms").unwrap();
    let bob_id = bob.connection().user_id().unwrap();
    let early = create_room(alice.connection(), "Early").await;
    alice.sync_once().await.unwrap();
    alice
        .room(&early)
        .unwrap()
        .invite(&bob_id, None)
        .await
        .unwrap();
    sync_until(&bob, "the early invite", |c| {
        c.store().unwrap().room_summary(&early).unwrap().is_some()
    })
    .await;
    bob.ignore_user(&alice_id).await.unwrap();
    sync_until(&bob, "the ignore list", |c| {
        c.ignored_users().unwrap() == [alice_id.clone()]
    })
    .await;
    assert!(bob.invited_rooms().unwrap().is_empty());
    while let Ok(update) = tokio::time::timeout(Duration::from_secs(2), rooms_watcher.next()).await
    {
        let update = update.unwrap();
        assert!(
            !(update.room_id == early && update.is_invite()),
            "the invite stored before the ignore is not handed over"
        );
    }
    assert!(
        room_b
            .latest_events(50)
            .unwrap()
            .iter()
            .all(|e| e.json["sender"] != alice_id.as_str()),
        "alice's events are hidden"
    );
    assert!(
        room_b
            .timeline_items(50)
            .unwrap()
            .iter()
            .all(|item| match item {
                quotient_client::store::TimelineItem::Event(e) =>
                    e.json["sender"] != alice_id.as_str(),
                quotient_client::store::TimelineItem::Pending(_) => true,
            }),
        "and from the timeline with local echoes"
    );
    // The watcher passes over what was stored from her, and Bob's own
    // message comes.
    room_b
        .send(OutgoingEvent::text("bob alone"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    sync_until(&bob, "bob's own message", |_| {
        room_b
            .latest_events(10)
            .unwrap()
            .iter()
            .any(|e| e.json["content"]["body"] == "bob alone")
    })
    .await;
    loop {
        let live = tokio::time::timeout(Duration::from_secs(10), watcher.next())
            .await
            .expect("bob's message is handed over")
            .unwrap();
        assert_ne!(live.event.json["sender"], alice_id.as_str(), "{:?}", live);
        if live.event.json["content"]["body"] == "bob alone" {
            break;
        }
    }
    // Alice's invite to another room does not surface.
    let other = create_room(alice.connection(), "Lure").await;
    alice.sync_once().await.unwrap();
    alice
        .room(&other)
        .unwrap()
        .invite(&bob.connection().user_id().unwrap(), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    bob.sync_once().await.unwrap();
    assert!(
        bob.invited_rooms().unwrap().is_empty(),
        "no invite surfaces"
    );
    bob.unignore_user(&alice_id).await.unwrap();
    sync_until(&bob, "unignored", |c| c.ignored_users().unwrap().is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_handlers_get_each_event_in_order_once_across_a_restart() {
    let (a, _) = account("ha", None).await;
    let (b, bob_id) = account("hb", None).await;
    let alice = Client::in_memory(a.clone()).unwrap();
    let dir = TempDir::new("typed-handlers");
    let id = create_room(&a, "Handlers").await;
    alice.sync_once().await.unwrap();
    let room_a = alice.room(&id).unwrap();
    room_a.invite(&bob_id, None).await.unwrap();
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let bob = Client::open(dir.path(), b.clone()).unwrap();
    bob.join(&id.clone().into()).await.unwrap();
    let start = |bob: Client, seen: Arc<Mutex<Vec<(String, String)>>>| {
        bob.on::<MessageContent, _, _>("typed", move |event, room| {
            let seen = Arc::clone(&seen);
            async move {
                assert_eq!(event.room_id(), room.id());
                assert!(event.origin_server_ts() > 0);
                if let MessageKind::Text(_) = event.content().kind {
                    seen.lock()
                        .unwrap()
                        .push((event.event_id().to_string(), event.content().body.clone()));
                }
            }
        })
        .unwrap()
    };
    let handler = start(bob.clone(), Arc::clone(&seen));
    for body in ["one", "two", "three"] {
        room_a
            .send(OutgoingEvent::text(body))
            .await
            .unwrap()
            .sent()
            .await
            .unwrap();
    }
    sync_until(&bob, "three messages handled", |_| {
        seen.lock().unwrap().len() == 3
    })
    .await;
    handler.abort();
    let _ = handler.await;
    drop(bob);
    // Two more while Bob is away; then the same handler name again.
    for body in ["four", "five"] {
        room_a
            .send(OutgoingEvent::text(body))
            .await
            .unwrap()
            .sent()
            .await
            .unwrap();
    }
    let bob = Client::open(dir.path(), b).unwrap();
    let handler = start(bob.clone(), Arc::clone(&seen));
    sync_until(&bob, "five messages handled", |_| {
        seen.lock().unwrap().len() >= 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    handler.abort();
    let seen = seen.lock().unwrap().clone();
    let bodies: Vec<&str> = seen.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(
        bodies,
        ["one", "two", "three", "four", "five"],
        "in order, once"
    );
    let mut ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

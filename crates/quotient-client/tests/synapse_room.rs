//! The `Room` handle against a real Synapse, with a second user through
//! the library: every action's effect read back from the server (state,
//! membership, receipts, typing, tags, relations), and an action the
//! power levels refuse failing before any request. The account and the
//! typed handlers are `synapse_account`'s.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_room`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::{RoomId, UserId};
use quotient_client::outbox::OutgoingEvent;
use quotient_client::room::{PowerLevel, Room, RoomAction};
use quotient_client::rooms::MemberMembership;
use quotient_client::store::Membership;
use quotient_client::{Client, Error};
use support::proxy::Proxy;
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

fn upstream() -> std::net::SocketAddr {
    let url = &server().url;
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
        .parse()
        .unwrap()
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
async fn state_set_through_a_room_is_read_back_by_the_other_member() {
    let (_alice, bob, room_a, room_b, alice_id, _) = two_in_a_room("Before", None).await;
    assert_eq!(
        room_a.room_version().unwrap().as_deref(),
        Some("12"),
        "Synapse's default room version (the creators' rules are exercised)"
    );
    assert_eq!(room_b.display_name().unwrap(), "Before");
    room_a.set_name("After").await.unwrap();
    room_a.set_topic("A topic").await.unwrap();
    let png = TempDir::new("room-avatar");
    std::fs::create_dir_all(png.path()).unwrap();
    let file = png.path().join("avatar.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    room_a.set_avatar_file(&file).await.unwrap();
    sync_until(&bob, "name, topic and avatar", |_| {
        room_b.avatar().unwrap().is_some()
    })
    .await;
    assert_eq!(room_b.name().unwrap().as_deref(), Some("After"));
    assert_eq!(room_b.display_name().unwrap(), "After");
    assert_eq!(room_b.topic().unwrap().as_deref(), Some("A topic"));
    let power = room_b.power_levels().unwrap();
    assert_eq!(power.level_of(&alice_id), PowerLevel::Creator);
    assert!(power.creators().any(|c| c == alice_id.as_str()));
    assert!(!room_b.is_encrypted().unwrap());
    assert!(!room_b.is_direct().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_the_power_levels_refuse_fails_before_any_request() {
    let proxy = Proxy::start(upstream(), 7).await;
    let (_alice, _bob, _room_a, room_b, alice_id, _) =
        two_in_a_room("Refusals", Some(proxy.url())).await;
    proxy.capture();
    let refused = room_b.kick(&alice_id, Some("no")).await.unwrap_err();
    let Error::NotAllowed {
        needed,
        level,
        target,
        ..
    } = &refused
    else {
        panic!("not a refusal: {refused}")
    };
    assert_eq!(
        (*needed, *level),
        (PowerLevel::Level(50), PowerLevel::Level(0))
    );
    assert_eq!(target, &None, "the kick level refuses first");
    let refused = room_b.set_name("Mine now").await.unwrap_err();
    assert!(matches!(refused, Error::NotAllowed { .. }), "{refused}");
    let refused = room_b.ban(&alice_id, None).await.unwrap_err();
    assert!(refused.to_string().contains("banning"), "{refused}");
    assert!(!room_b.can(&RoomAction::Kick(alice_id.clone())).unwrap());
    // Only the room's requests count: the crypto machine may talk to the
    // server in the background.
    assert_eq!(
        room_requests(&proxy),
        Vec::<String>::new(),
        "nothing was sent"
    );
    // What the levels allow goes out.
    room_b
        .send(OutgoingEvent::text("allowed"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    assert_eq!(
        room_requests(&proxy).len(),
        1,
        "{:?}",
        room_requests(&proxy)
    );
}

/// The request lines the proxy saw for a room (`/rooms/…`).
fn room_requests(proxy: &Proxy) -> Vec<String> {
    String::from_utf8_lossy(&proxy.sent_bytes())
        .lines()
        .filter(|l| l.ends_with("HTTP/1.1") && l.contains("/rooms/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_ban_and_unban_are_seen_as_membership() {
    let (alice, bob, room_a, room_b, _, bob_id) = two_in_a_room("Moderation", None).await;
    room_a.kick(&bob_id, Some("out")).await.unwrap();
    sync_until(&bob, "bob kicked", |_| {
        room_b.membership().unwrap() == Some(Membership::Left)
    })
    .await;
    sync_until(&alice, "alice sees the kick", |_| {
        room_a.member(&bob_id).unwrap().unwrap().membership == MemberMembership::Left
    })
    .await;
    room_a.ban(&bob_id, Some("gone")).await.unwrap();
    sync_until(&alice, "alice sees the ban", |_| {
        room_a.member(&bob_id).unwrap().unwrap().membership == MemberMembership::Banned
    })
    .await;
    let rejoin = bob.join(&room_a.id().clone().into()).await.unwrap_err();
    assert!(matches!(rejoin, Error::Request(_)), "{rejoin}");
    room_a.unban(&bob_id, None).await.unwrap();
    sync_until(&alice, "alice sees the unban", |_| {
        room_a.member(&bob_id).unwrap().unwrap().membership == MemberMembership::Left
    })
    .await;
    // Bob leaves for good and forgets the room.
    room_a.invite(&bob_id, None).await.unwrap();
    bob.join(&room_a.id().clone().into()).await.unwrap();
    room_b.leave(Some("bye")).await.unwrap();
    room_b.forget().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_a_marker_typing_tags_and_unread_marks_reach_the_server() {
    let (alice, bob, room_a, room_b, _, bob_id) = two_in_a_room("Markers", None).await;
    let sent = room_a
        .send(OutgoingEvent::text("read me"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    sync_until(&bob, "bob has the message", |_| {
        room_b.latest_event_id().unwrap().as_ref() == Some(&sent)
    })
    .await;
    room_b.set_marked_unread(true).await.unwrap();
    sync_until(&bob, "marked unread", |_| {
        room_b.is_marked_unread().unwrap()
    })
    .await;
    assert_eq!(room_b.mark_read().await.unwrap(), Some(sent.clone()));
    sync_until(&alice, "bob's receipt", |_| {
        room_a.receipts().unwrap().iter().any(|r| {
            r.user_id.as_str() == bob_id.as_str()
                && r.event_id.as_str() == sent.as_str()
                && r.receipt_type == "m.read"
        })
    })
    .await;
    sync_until(&bob, "bob's marker and unread mark", |c| {
        let marker = c
            .store()
            .unwrap()
            .room_account_data(room_b.id(), "m.fully_read")
            .unwrap();
        marker.is_some_and(|m| m["content"]["event_id"] == sent.as_str())
            && !room_b.is_marked_unread().unwrap()
    })
    .await;

    room_b.typing(Some(Duration::from_secs(30))).await.unwrap();
    let mut typing_seen = false;
    for _ in 0..40 {
        let changes = alice.sync_once().await.unwrap();
        if changes
            .typing
            .get(room_a.id())
            .is_some_and(|users| users.iter().any(|u| u.as_str() == bob_id.as_str()))
        {
            typing_seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(typing_seen, "alice saw bob typing");
    room_b.typing(None).await.unwrap();

    room_b.tag("m.favourite", Some(0.25)).await.unwrap();
    room_b.tag("u.work", None).await.unwrap();
    sync_until(&bob, "tags", |_| room_b.tags().unwrap().len() == 2).await;
    assert_eq!(room_b.tags().unwrap()[0].order, Some(0.25));
    room_b.untag("u.work").await.unwrap();
    sync_until(&bob, "untagged", |_| {
        room_b
            .tags()
            .unwrap()
            .iter()
            .map(|t| t.name.clone())
            .collect::<Vec<_>>()
            == ["m.favourite"]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_edits_replies_and_redactions_through_the_room() {
    let (alice, bob, room_a, room_b, _, _) = two_in_a_room("Relations", None).await;
    let send = |room: Room, event: OutgoingEvent| async move {
        room.send(event).await.unwrap().sent().await.unwrap()
    };
    let question = send(room_a.clone(), OutgoingEvent::text("question")).await;
    sync_until(&bob, "bob has the question", |_| {
        room_b.stored_event(&question).unwrap().is_some()
    })
    .await;
    room_b
        .react(&question, "👍")
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    room_b
        .reply(&question, OutgoingEvent::text("answer"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    room_a
        .edit(&question, OutgoingEvent::text("better question"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let doomed = send(room_a.clone(), OutgoingEvent::text("oops")).await;
    room_a
        .redact(&doomed, Some("typo"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    sync_until(&alice, "everything came back", |_| {
        room_a
            .stored_event(&doomed)
            .unwrap()
            .is_some_and(|e| e.json["content"].as_object().is_some_and(|c| c.is_empty()))
            && room_a.reactions(&question).unwrap().len() == 1
            && room_a.latest_edit(&question).unwrap().is_some()
    })
    .await;
    let reactions = room_a.reactions(&question).unwrap();
    assert_eq!((reactions[0].key.as_str(), reactions[0].count), ("👍", 1));
    let edit = room_a.latest_edit(&question).unwrap().unwrap();
    assert_eq!(
        edit.json["content"]["m.new_content"]["body"],
        "better question"
    );
    let answer = room_a
        .latest_events(20)
        .unwrap()
        .into_iter()
        .find(|e| e.json["content"]["body"] == "answer")
        .unwrap();
    assert_eq!(
        answer.json["content"]["m.relates_to"]["m.in_reply_to"]["event_id"],
        question.as_str()
    );
    // Bob may not redact Alice's message: refused before sending.
    let refused = room_b.redact(&question, None).await.unwrap_err();
    assert!(matches!(refused, Error::NotAllowed { .. }), "{refused}");
    // One event by ID, from the store or the server.
    let fetched = room_b.event(&question).await.unwrap();
    assert_eq!(fetched["content"]["body"], "question");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_member_list_is_loaded_where_lazy_loading_left_members_out() {
    let (a, _) = account("la", None).await;
    let (b, bob_id) = account("lb", None).await;
    let (c, carol_id) = account("lc", None).await;
    let alice = Client::in_memory(a.clone()).unwrap();
    let (bob, carol) = (Client::in_memory(b).unwrap(), Client::in_memory(c).unwrap());
    let id = create_room(&a, "Crowded").await;
    alice.sync_once().await.unwrap();
    let room_a = alice.room(&id).unwrap();
    room_a.invite(&carol_id, None).await.unwrap();
    carol.join(&id.clone().into()).await.unwrap();
    // Carol's join falls out of the newest 50 events a sync brings.
    let mut last = None;
    for i in 0..60 {
        last = Some(
            room_a
                .send(OutgoingEvent::text(&format!("m{i}")))
                .await
                .unwrap(),
        );
    }
    last.unwrap().sent().await.unwrap();
    room_a.invite(&bob_id, None).await.unwrap();
    let room_b = bob.join(&id.clone().into()).await.unwrap();
    bob.sync_once().await.unwrap();
    assert!(
        room_b.member(&carol_id).unwrap().is_none(),
        "lazy-loading left Carol out: {:?}",
        room_b.members().unwrap()
    );
    let all = room_b.load_members().await.unwrap();
    let carol_row = all
        .iter()
        .find(|m| m.user_id == carol_id)
        .expect("Carol loaded");
    assert_eq!(carol_row.membership, MemberMembership::Joined);
    assert_eq!(room_b.member(&carol_id).unwrap().unwrap().user_id, carol_id);
    assert!(all.iter().any(|m| m.user_id == bob_id));
}

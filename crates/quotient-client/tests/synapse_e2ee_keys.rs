//! Who gets a room key, and when, against a real Synapse with quotient
//! clients: a late joiner reads what was sent after the invite and not
//! what came before it; the key rotates when a member leaves (and the
//! leaver cannot read what follows) but not on a restart or a display-name
//! change; with every one-time key claimed, a new peer still gets a
//! session through the fallback key; key requests failing for a while
//! (the server unreachable) are retried and the message gets through; and
//! no request body sent to the server ever holds the plaintext.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_e2ee_keys`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::Connection;
use quotient_api::generated::inviting::InviteUser;
use quotient_api::generated::joining::JoinRoomById;
use quotient_api::generated::leaving::LeaveRoom;
use quotient_api::generated::room_state::SetRoomStateWithKey;
use quotient_api::{Method, RoomId, UserId};
use quotient_client::outbox::OutgoingEvent;
use quotient_client::Client;
use serde_json::{json, Value};
use support::e2ee::{
    by_id, create_encrypted_room, message, raw, server_events, session_of, sync_until,
};
use support::proxy::Proxy;
use support::TempDir;

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

/// A fresh user signed in through `url` (Synapse itself when `None`).
async fn account(prefix: &'static str, url: Option<url::Url>) -> (Connection, UserId) {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap();
    let conn = Connection::builder(url.unwrap_or_else(|| hs.url.clone()))
        .build()
        .unwrap();
    let session = conn
        .login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap();
    (conn, session.user_id)
}

/// A client of `conn` in `dir`, synced once with its keys out.
async fn client(conn: &Connection, dir: &TempDir) -> Client {
    let client = Client::open(dir.path(), conn.clone()).unwrap();
    client.sync_once().await.unwrap();
    client.send_key_requests().await.unwrap();
    client
}

async fn send(client: &Client, room: &RoomId, body: &str) -> String {
    client
        .send(room, OutgoingEvent::text(body))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap()
        .into_string()
}

async fn join(client: &Client, room: &RoomId) {
    client
        .connection()
        .submit(JoinRoomById::new(room.clone()))
        .await
        .unwrap();
    client.sync_once().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_reads_what_was_sent_after_the_invite_and_not_before() {
    let ((a, _), (b, bob)) = (account("latea", None).await, account("lateb", None).await);
    let (da, db) = (TempDir::new("late-a"), TempDir::new("late-b"));
    let (alice, bobs) = (client(&a, &da).await, client(&b, &db).await);
    let room = create_encrypted_room(&a, vec![]).await;
    alice.sync_once().await.unwrap();
    let before = send(&alice, &room, "before the invite").await;

    a.submit(InviteUser::new(room.clone(), bob)).await.unwrap();
    alice.sync_once().await.unwrap();
    // Invited, not joined yet: history is `shared`, so the invitee gets it.
    let after = send(&alice, &room, "after the invite").await;

    bobs.sync_once().await.unwrap();
    join(&bobs, &room).await;
    let got = sync_until(&bobs, &room, |ev| by_id(ev, &after)).await;
    assert_eq!(got.json["content"]["body"], "after the invite");
    assert_eq!(got.encryption.unwrap().error, None);
    // The earlier one is history Bob may see but was never given a key for.
    for _ in 0..5 {
        if by_id(
            &bobs.store().unwrap().timeline(&room, 100).unwrap(),
            &before,
        )
        .is_some()
        {
            break;
        }
        bobs.paginate_back(&room, 50).await.unwrap();
    }
    let old = by_id(
        &bobs.store().unwrap().timeline(&room, 100).unwrap(),
        &before,
    )
    .expect("the earlier message is in Bob's history");
    assert_eq!(old.json["type"], "m.room.encrypted");
    assert!(old.encryption.unwrap().error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_rotates_when_a_member_leaves_and_not_on_a_restart_or_a_name_change() {
    let (a, _) = account("rota", None).await;
    let (b, bob) = account("rotb", None).await;
    let (c, carol) = account("rotc", None).await;
    let (da, db, dc) = (
        TempDir::new("rot-a"),
        TempDir::new("rot-b"),
        TempDir::new("rot-c"),
    );
    let alice = client(&a, &da).await;
    let (bobs, carols) = (client(&b, &db).await, client(&c, &dc).await);
    let room = create_encrypted_room(&a, vec![bob.clone(), carol]).await;
    bobs.sync_once().await.unwrap();
    carols.sync_once().await.unwrap();
    join(&bobs, &room).await;
    join(&carols, &room).await;
    alice.sync_once().await.unwrap();

    let first = send(&alice, &room, "one").await;
    let session = session_of(&a, &room, &first).await;

    // A restart: the same session goes on.
    drop(alice);
    let alice = Client::open(da.path(), a.clone()).unwrap();
    alice.sync_once().await.unwrap();
    let second = send(&alice, &room, "two").await;
    assert_eq!(
        session_of(&a, &room, &second).await,
        session,
        "a restart rotated"
    );

    // A display-name change is membership state, not a membership change.
    let content = json!({"membership": "join", "displayname": "Robert"});
    let Value::Object(content) = content else {
        unreachable!()
    };
    b.submit(SetRoomStateWithKey::new(
        room.clone(),
        "m.room.member".into(),
        bob.as_str().into(),
        content,
    ))
    .await
    .unwrap();
    alice.sync_once().await.unwrap();
    let third = send(&alice, &room, "three").await;
    assert_eq!(
        session_of(&a, &room, &third).await,
        session,
        "a name change rotated"
    );

    // Carol leaves: a new session, which she cannot read.
    c.submit(LeaveRoom::new(room.clone())).await.unwrap();
    alice.sync_once().await.unwrap();
    let fourth = send(&alice, &room, "after carol left").await;
    assert_ne!(
        session_of(&a, &room, &fourth).await,
        session,
        "no rotation on leave"
    );
    let got = sync_until(&bobs, &room, |ev| message(ev, "after carol left").cloned()).await;
    assert_eq!(got.encryption.unwrap().error, None);
    carols.sync_once().await.unwrap();
    let carol_sees = by_id(
        &carols.store().unwrap().timeline(&room, 100).unwrap(),
        &fourth,
    );
    if let Some(event) = carol_sees {
        assert!(
            event.encryption.unwrap().error.is_some(),
            "the leaver read it"
        );
    }
    // What she was sent while a member she keeps reading.
    let third_for_carol = by_id(
        &carols.store().unwrap().timeline(&room, 100).unwrap(),
        &third,
    )
    .expect("carol has the third message");
    assert_eq!(third_for_carol.json["content"]["body"], "three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_one_time_key_claimed_a_new_peer_gets_a_session_through_the_fallback_key() {
    let (a, _) = account("fba", None).await;
    let (b, bob) = account("fbb", None).await;
    let (claimer, _) = account("fbc", None).await;
    let (da, db) = (TempDir::new("fb-a"), TempDir::new("fb-b"));
    let bobs = client(&b, &db).await;
    let device = b.session().unwrap().device_id;
    // Claim Bob's one-time keys until the server hands out his fallback key.
    let mut fallback = false;
    for _ in 0..200 {
        let answer = raw(
            &claimer,
            Method::Post,
            "/_matrix/client/v3/keys/claim",
            Some(json!({"one_time_keys": {bob.as_str(): {device.as_str(): "signed_curve25519"}}})),
        )
        .await;
        let keys = &answer["one_time_keys"][bob.as_str()][device.as_str()];
        let key = keys.as_object().and_then(|k| k.values().next()).cloned();
        let key = key.expect("a key for Bob's device");
        if key["fallback"] == true {
            fallback = true;
            break;
        }
    }
    assert!(fallback, "the server never handed out a fallback key");

    // Alice's machine claims a key for Bob now: the fallback key, the only
    // one left (Bob has not synced to replenish).
    let alice = client(&a, &da).await;
    let room = create_encrypted_room(&a, vec![bob]).await;
    b.submit(JoinRoomById::new(room.clone())).await.unwrap();
    alice.sync_once().await.unwrap();
    let sent = send(&alice, &room, "through the fallback key").await;
    let got = sync_until(&bobs, &room, |ev| by_id(ev, &sent)).await;
    assert_eq!(
        got.json["content"]["body"], "through the fallback key",
        "{got:?}"
    );
}

fn upstream() -> std::net::SocketAddr {
    let url = &server().url;
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_requests_failing_for_a_while_are_retried_and_no_body_holds_the_plaintext() {
    let mut proxy = Proxy::start(upstream(), 7).await;
    let (a, _) = account("outa", Some(proxy.url())).await;
    let (b, bob) = account("outb", None).await;
    let (da, db) = (TempDir::new("out-a"), TempDir::new("out-b"));
    let bobs = client(&b, &db).await;
    let alice = client(&a, &da).await;
    let room = create_encrypted_room(&a, vec![bob]).await;
    join(&bobs, &room).await;
    alice.sync_once().await.unwrap();

    // Everything Alice's client sends from now on is kept.
    proxy.capture();
    // The server is unreachable when Alice sends: the keys query, the
    // claim of Bob's one-time key and the room key's to-device message
    // all fail, and are retried until it is back.
    proxy.go_down();
    let pending = alice
        .send(
            &room,
            OutgoingEvent::text("PLAINTEXT-MARKER through an outage"),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.come_back().await;
    let sent = tokio::time::timeout(Duration::from_secs(90), pending.sent())
        .await
        .expect("sent once the server was back")
        .unwrap();
    let got = sync_until(&bobs, &room, |ev| by_id(ev, &sent)).await;
    assert_eq!(
        got.json["content"]["body"],
        "PLAINTEXT-MARKER through an outage"
    );

    let bytes = proxy.sent_bytes();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("/send/m.room.encrypted/"),
        "the send went through the proxy"
    );
    assert!(
        !text.contains("PLAINTEXT-MARKER"),
        "a request carried the plaintext"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_an_encrypted_room_messages_through_a_proxy_cutting_answers_arrive_once_each_in_order() {
    const N: usize = 100;
    let proxy = Proxy::start(upstream(), 0xe2e).await;
    // One engine retry only, as the plain-room test: the outbox's own
    // resend (same transaction ID, same stored ciphertext) takes over
    // when both attempts are cut.
    let mut options = quotient::JobOptions::default();
    options.backoff.max_retries = 1;
    options.backoff.retry_waits = vec![Duration::from_millis(20)];
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, "cutenc"))
        .await
        .unwrap();
    let conn = Connection::builder(proxy.url())
        .job_options(options)
        .build()
        .unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some("cutenc"))
        .await
        .unwrap();
    let dir = TempDir::new("cut-enc");
    let alice = client(&conn, &dir).await;
    let room = create_encrypted_room(&conn, vec![]).await;
    alice.sync_once().await.unwrap();
    proxy.cut_answers(0.10);
    let mut pending = Vec::with_capacity(N);
    for i in 0..N {
        let text = OutgoingEvent::text(&format!("m{i}"));
        pending.push(alice.send(&room, text).await.unwrap());
    }
    let mut sent = Vec::with_capacity(N);
    for p in pending {
        let id = tokio::time::timeout(Duration::from_secs(240), p.sent())
            .await
            .expect("each message is sent in time")
            .unwrap();
        sent.push(id);
    }
    proxy.cut_answers(0.0);
    let (cuts, _, _) = proxy.counts();
    assert!(cuts >= 3, "the proxy cut answers: {cuts}");
    // On the server: N encrypted events, each once, in order.
    let direct = server().connection();
    direct.adopt_session(quotient::Session {
        homeserver: server().url.clone(),
        ..conn.session().unwrap()
    });
    let held = server_events(&direct, &room, "m.room.encrypted").await;
    let ids: Vec<&str> = held
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, sent.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert!(server_events(&direct, &room, "m.room.message")
        .await
        .is_empty());
    // Read back with our own key, in order (the sync's timeline is
    // limited: the rest comes by back-pagination, decrypted too).
    let last = sent.last().unwrap().clone();
    sync_until(&alice, &room, |ev| by_id(ev, &last)).await;
    for _ in 0..10 {
        let outcome = alice.paginate_back(&room, 100).await.unwrap();
        if outcome == quotient_client::sync::PaginationOutcome::NoGap {
            break;
        }
    }
    let got: Vec<String> = alice
        .store()
        .unwrap()
        .timeline(&room, 1000)
        .unwrap()
        .iter()
        .filter(|e| e.json["type"] == "m.room.message")
        .map(|e| e.json["content"]["body"].as_str().unwrap_or("").to_owned())
        .collect();
    let want: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(got, want);
}

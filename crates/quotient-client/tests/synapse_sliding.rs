//! Sliding sync (MSC4186) against a real Synapse, on the same store as
//! `/sync` v3, with an account of 300 rooms: the 20 most recent rooms
//! (with names and last messages) after the first response, the whole
//! account once the window grew; a message in a room arrives and is
//! stored once; unread counts are worked out on our side (Synapse sends
//! 0) and a read receipt clears them; a forgotten position
//! (`M_UNKNOWN_POS`) starts a new connection without storing anything
//! twice; and the store then syncs with v3 as before.
//!
//! Run in one process: `cargo test -p quotient-client --test synapse_sliding`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::{Method, RoomId};
use quotient_client::outbox::OutgoingEvent;
use quotient_client::Client;
use serde_json::json;
use support::fault_front::FaultFront;
use support::TempDir;

const ROOMS: usize = 300;

fn server() -> &'static Homeserver {
    // Room creation unthrottled.
    homeserver(Config::Conformance)
}

/// A fresh user signed in through a fault front before Synapse (for an
/// `M_UNKNOWN_POS` on demand).
async fn account(prefix: &'static str) -> (Connection, FaultFront) {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap();
    let upstream = format!("{}:{}", hs.url.host_str().unwrap(), hs.url.port().unwrap())
        .parse()
        .unwrap();
    let front = FaultFront::start(
        upstream,
        "POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync?pos=",
    )
    .await;
    let conn = Connection::builder(front.url.clone()).build().unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap();
    (conn, front)
}

/// `ROOMS` rooms named "Room NNN", each with one message, the last one
/// the most recent. Made four at a time (the order is the messages').
async fn seed(conn: &Connection) -> Vec<RoomId> {
    let mut rooms = Vec::new();
    for chunk in (0..ROOMS).collect::<Vec<_>>().chunks(4) {
        let made = chunk.iter().map(|&n| {
            let conn = conn.clone();
            tokio::spawn(async move {
                let mut request = CreateRoom::new();
                request.name = Some(format!("Room {n:03}"));
                conn.submit(request).await.unwrap().into_value().room_id
            })
        });
        for room in made.collect::<Vec<_>>() {
            rooms.push(room.await.unwrap());
        }
    }
    for (n, room) in rooms.iter().enumerate() {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/send/m.room.message/seed{n}",
            quotient_api::encode_path_segment(room.as_str())
        );
        support::e2ee::raw(
            conn,
            Method::Put,
            &path,
            Some(json!({"msgtype": "m.text", "body": format!("last in {n:03}")})),
        )
        .await;
    }
    rooms
}

fn stored_rooms(client: &Client) -> Vec<String> {
    client
        .store()
        .unwrap()
        .rooms()
        .unwrap()
        .into_iter()
        .map(|(r, _)| r.as_str().to_owned())
        .collect()
}

fn bodies(client: &Client, room: &RoomId) -> Vec<String> {
    client
        .store()
        .unwrap()
        .timeline(room, 100)
        .unwrap()
        .iter()
        .filter(|e| e.json["type"] == "m.room.message")
        .filter_map(|e| e.json["content"]["body"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_list_grows_from_the_most_recent_and_survives_a_forgotten_position() {
    let (conn, front) = account("sliding").await;
    let rooms = seed(&conn).await;
    let dir = TempDir::new("sliding");
    let client = Client::open(dir.path(), conn.clone()).unwrap();
    assert!(client.server_has_sliding_sync().await.unwrap());

    // The first response: the 20 most recent rooms, named, each with its
    // last message.
    let first = client.sliding_sync_once().await.unwrap();
    assert!(first.new_connection);
    assert_eq!(first.rooms_total, ROOMS as u64);
    assert_eq!(first.window, 20);
    assert!(!first.covers_all());
    let mut stored = stored_rooms(&client);
    stored.sort();
    let mut recent: Vec<String> = rooms[ROOMS - 20..].iter().map(|r| r.to_string()).collect();
    recent.sort();
    assert_eq!(stored, recent, "exactly the 20 most recent rooms");
    for (n, room) in rooms.iter().enumerate().skip(ROOMS - 20) {
        let name = client.store().unwrap().room_display_name(room).unwrap();
        assert_eq!(name.as_deref(), Some(format!("Room {n:03}").as_str()));
        assert_eq!(bodies(&client, room), vec![format!("last in {n:03}")]);
    }

    // The window grows until it covers the account.
    let mut steps = 0;
    let mut last = first;
    while !last.covers_all() {
        last = client.sliding_sync_once().await.unwrap();
        steps += 1;
        assert!(steps < 5, "the window did not grow");
    }
    assert_eq!(stored_rooms(&client).len(), ROOMS);
    assert_eq!(bodies(&client, &rooms[0]), vec!["last in 000".to_owned()]);

    // A new message in the oldest room arrives, once.
    client
        .send(&rooms[0], OutgoingEvent::text("news in the oldest room"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    for _ in 0..3 {
        client.sliding_sync_once().await.unwrap();
    }
    let news = |c: &Client| {
        bodies(c, &rooms[0])
            .iter()
            .filter(|b| *b == "news in the oldest room")
            .count()
    };
    assert_eq!(news(&client), 1);

    // Unread counts, worked out on our side: Bob's three messages after
    // our own last event, one of them mentioning us; a read receipt on
    // the newest clears them.
    let (bob, _bob_front) = account("slidebob").await;
    let me = conn.user_id().unwrap();
    let room = &rooms[2];
    let encoded = quotient_api::encode_path_segment(room.as_str());
    support::e2ee::raw(
        &conn,
        Method::Post,
        &format!("/_matrix/client/v3/rooms/{encoded}/invite"),
        Some(json!({"user_id": bob.user_id().unwrap().as_str()})),
    )
    .await;
    support::e2ee::raw(
        &bob,
        Method::Post,
        &format!("/_matrix/client/v3/rooms/{encoded}/join"),
        Some(json!({})),
    )
    .await;
    for (n, content) in [
        json!({"msgtype": "m.text", "body": "one"}),
        json!({"msgtype": "m.text", "body": "look", "m.mentions": {"user_ids": [me.as_str()]}}),
        json!({"msgtype": "m.notice", "body": "a notice does not count"}),
        json!({"msgtype": "m.text", "body": "three"}),
    ]
    .into_iter()
    .enumerate()
    {
        support::e2ee::raw(
            &bob,
            Method::Put,
            &format!("/_matrix/client/v3/rooms/{encoded}/send/m.room.message/bob{n}"),
            Some(content),
        )
        .await;
    }
    client.sliding_sync_once().await.unwrap();
    let opened = client.room(room).unwrap();
    assert_eq!(opened.unread_count().unwrap(), 3);
    assert_eq!(opened.highlight_count().unwrap(), 1);
    assert_eq!(
        opened.unread_source().unwrap(),
        quotient_client::store::UnreadSource::Counted
    );
    opened.mark_read().await.unwrap();
    client.sliding_sync_once().await.unwrap();
    assert_eq!(
        opened.unread_count().unwrap(),
        0,
        "the receipt cleared them"
    );
    assert_eq!(opened.highlight_count().unwrap(), 0);

    // A room a program opens comes with 20 events of its timeline.
    for n in 0..25 {
        let path = format!(
            "/_matrix/client/v3/rooms/{}/send/m.room.message/more{n}",
            quotient_api::encode_path_segment(rooms[1].as_str())
        );
        support::e2ee::raw(
            &conn,
            Method::Put,
            &path,
            Some(json!({"msgtype": "m.text", "body": format!("more {n:02}")})),
        )
        .await;
    }
    client.sliding_sync_once().await.unwrap();
    let before = bodies(&client, &rooms[1]).len();
    assert!(
        before < 20,
        "the list brings the newest event only: {before}"
    );
    client.subscribe_room(&rooms[1]).await.unwrap();
    client.sliding_sync_once().await.unwrap();
    let opened = bodies(&client, &rooms[1]);
    assert!(opened.len() >= 20, "{opened:?}");
    assert_eq!(opened.last().map(String::as_str), Some("more 24"));
    let mut unique = opened.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), opened.len(), "no event stored twice");

    // The server forgets the connection (`400 M_UNKNOWN_POS`, as Synapse
    // answers a position it no longer has): the client starts a new one
    // and stores nothing twice.
    front.fail_once_with(400, "M_UNKNOWN_POS");
    let again = client.sliding_sync_once().await.unwrap();
    assert!(again.new_connection, "M_UNKNOWN_POS began a new connection");
    assert_eq!(
        again.window, 20,
        "a new connection starts with the first window"
    );
    while !client.sliding_sync_once().await.unwrap().covers_all() {}
    assert_eq!(news(&client), 1, "stored once across the new connection");
    for (n, room) in rooms.iter().enumerate() {
        let last = format!("last in {n:03}");
        assert_eq!(
            bodies(&client, room).iter().filter(|b| **b == last).count(),
            1,
            "{room}"
        );
    }

    // The same store syncs with v3 afterwards.
    let v3 = client.sync_once().await.unwrap();
    assert!(!v3.next_batch.is_empty());
    assert_eq!(news(&client), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_room_decrypts_through_the_extensions_and_watchers_keep_their_place() {
    let (alice_conn, _alice_front) = account("slenc-a").await;
    let (bob_conn, _bob_front) = account("slenc-b").await;
    let (a_dir, b_dir) = (TempDir::new("slenc-a"), TempDir::new("slenc-b"));
    let alice = Client::open(a_dir.path(), alice_conn.clone()).unwrap();
    let bob = Client::open(b_dir.path(), bob_conn.clone()).unwrap();
    // Bob syncs by sliding sync only; his keys go up from its first step.
    bob.sliding_sync_once().await.unwrap();
    bob.send_key_requests().await.unwrap();
    alice.sync_once().await.unwrap();
    alice.send_key_requests().await.unwrap();
    let bob_id = bob_conn.session().unwrap().user_id;
    let room = support::e2ee::create_encrypted_room(&alice_conn, vec![bob_id]).await;
    // Bob's watcher, from before he joins.
    let mut watcher = bob.watch_timeline("sliding-watch").unwrap();
    let mut invited = false;
    for _ in 0..20 {
        bob.sliding_sync_once().await.unwrap();
        if bob
            .store()
            .unwrap()
            .rooms()
            .unwrap()
            .iter()
            .any(|(r, _)| r == &room)
        {
            invited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(invited, "the invite came through sliding sync");
    bob_conn
        .submit(quotient_api::generated::joining::JoinRoomById::new(
            room.clone(),
        ))
        .await
        .unwrap();
    alice.sync_once().await.unwrap();
    alice
        .send(&room, OutgoingEvent::text("secret over sliding sync"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let mut found = None;
    for _ in 0..20 {
        bob.sliding_sync_once().await.unwrap();
        let events = bob.store().unwrap().timeline(&room, 50).unwrap();
        if let Some(e) = support::e2ee::message(&events, "secret over sliding sync") {
            found = Some(e.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let found = found.expect("the message decrypted from sliding sync's to-device extension");
    assert!(found.encryption.is_some(), "it came encrypted");
    // The watcher hands it over once, then nothing more after a switch
    // to v3 on the same store.
    let mut seen = 0;
    while let Ok(Ok(event)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), watcher.next()).await
    {
        if event.event.json["content"]["body"] == "secret over sliding sync" {
            seen += 1;
        }
    }
    assert_eq!(seen, 1);
    bob.sync_once().await.unwrap();
    bob.sliding_sync_once().await.unwrap();
    while let Ok(Ok(event)) =
        tokio::time::timeout(std::time::Duration::from_millis(500), watcher.next()).await
    {
        assert_ne!(
            event.event.json["content"]["body"], "secret over sliding sync",
            "handed over again after switching loops"
        );
    }
}

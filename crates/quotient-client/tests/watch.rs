//! Watchers: timeline events handed over in order, each once across a
//! restart (delivered, then committed); rooms new, changed and invited.

mod support;

use std::time::Duration;

use quotient_client::store::Membership;
use quotient_client::watch::{MemberChange, TimelineWatcher};
use quotient_client::Client;
use serde_json::json;
use support::stub::{Reply, Stub};
use support::TempDir;

const ROOM: &str = "!r:stub";

fn message(id: &str) -> serde_json::Value {
    json!({"type": "m.room.message", "event_id": id, "sender": "@you:stub",
           "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": id}})
}

/// none → s1 ($1 $2 $3, an invite), s1 → s2 ($3 again, a member, $4).
fn server(method: &str, path: &str) -> Reply {
    if method == "POST" && path.starts_with("/_matrix/client/v3/user/") {
        return Reply::Json(200, json!({"filter_id": "f1"}));
    }
    let member = json!({"type": "m.room.member", "event_id": "$m", "sender": "@you:stub",
        "state_key": "@you:stub", "origin_server_ts": 1, "content": {"membership": "join"}});
    let invite = json!({"!i:stub": {"invite_state": {"events": []}}});
    if path.contains("since=s1") {
        let events = vec![message("$3"), member, message("$4")];
        Reply::Json(
            200,
            json!({"next_batch": "s2", "rooms": {"join": {ROOM: {"timeline": {"events": events}}}}}),
        )
    } else if path.starts_with("/_matrix/client/v3/sync") {
        let events = vec![message("$1"), message("$2"), message("$3")];
        Reply::Json(
            200,
            json!({"next_batch": "s1", "rooms": {
            "join": {ROOM: {"timeline": {"events": events}}}, "invite": invite}}),
        )
    } else {
        Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}))
    }
}

async fn next_id(watcher: &mut TimelineWatcher) -> String {
    let event = tokio::time::timeout(Duration::from_secs(5), watcher.next())
        .await
        .expect("an event within 5 s")
        .unwrap();
    assert_eq!(event.room_id.as_str(), ROOM);
    event.event.event_id.unwrap().into_string()
}

#[tokio::test]
async fn each_event_is_handled_once_in_order_across_a_restart() {
    let stub = Stub::start(server).await;
    let dir = TempDir::new("watch-restart");
    {
        let client = Client::open(dir.path(), stub.connection()).unwrap();
        let mut watcher = client.watch_timeline("bot").unwrap();
        client.sync_once().await.unwrap();
        assert_eq!(next_id(&mut watcher).await, "$1");
        // $1 handled (committed by this call); $2 handed over, then the
        // client is gone before it is committed.
        assert_eq!(next_id(&mut watcher).await, "$2");
    }
    let client = Client::open(dir.path(), stub.connection()).unwrap();
    let mut watcher = client.watch_timeline("bot").unwrap();
    assert_eq!(next_id(&mut watcher).await, "$2", "the one in flight again");
    assert_eq!(next_id(&mut watcher).await, "$3");
    // A batch bringing $3 again and two new events: only the new ones.
    client.sync_once().await.unwrap();
    assert_eq!(next_id(&mut watcher).await, "$m");
    assert_eq!(next_id(&mut watcher).await, "$4");
    watcher.ack().unwrap();
    drop(watcher);
    let mut again = client.watch_timeline("bot").unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(200), again.next()).await;
    assert!(nothing.is_err(), "everything handled stays handled");
}

#[tokio::test]
async fn a_new_watcher_starts_after_the_stored_events_and_a_handler_sees_the_new_ones() {
    let stub = Stub::start(server).await;
    let client = Client::in_memory(stub.connection()).unwrap();
    client.sync_once().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(10);
    let task = client
        .on_timeline_event("late", move |room, event| {
            let tx = tx.clone();
            async move {
                let member = MemberChange::from_event(&event);
                let _ = tx.send((room, event.event.event_id, member)).await;
            }
        })
        .unwrap();
    client.sync_once().await.unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let (room, id, member) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(room.as_str(), ROOM);
        got.push((id.unwrap().into_string(), member.map(|m| m.membership)));
    }
    assert_eq!(
        got,
        [
            ("$m".to_owned(), Some("join".to_owned())),
            ("$4".to_owned(), None)
        ]
    );
    task.abort();
}

#[tokio::test]
async fn rooms_new_changed_and_invited_are_watched() {
    let stub = Stub::start(server).await;
    let client = Client::in_memory(stub.connection()).unwrap();
    let mut rooms = client.watch_rooms();
    client.sync_once().await.unwrap();
    let mut first = [rooms.next().await.unwrap(), rooms.next().await.unwrap()];
    first.sort_by(|a, b| a.room_id.cmp(&b.room_id));
    assert_eq!(first[0].room_id.as_str(), "!i:stub");
    assert!(first[0].is_new() && first[0].is_invite());
    assert_eq!(first[1].room_id.as_str(), ROOM);
    assert!(first[1].is_new() && !first[1].is_invite());
    assert_eq!(first[1].membership, Some(Membership::Joined));
    client.sync_once().await.unwrap();
    let changed = rooms.next().await.unwrap();
    assert_eq!(changed.room_id.as_str(), ROOM);
    assert!(!changed.is_new(), "known room, membership unchanged");
    assert_eq!(changed.membership, None);
}

#[tokio::test]
async fn a_room_handler_sees_each_update_in_order() {
    let stub = Stub::start(server).await;
    let client = Client::in_memory(stub.connection()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = client.on_room_update(move |update| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(update);
        }
    });
    client.sync_once().await.unwrap();
    client.sync_once().await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let update = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an update within 5 s")
            .unwrap();
        seen.push((
            update.room_id.to_string(),
            update.is_invite(),
            update.is_new(),
        ));
    }
    seen[..2].sort();
    assert_eq!(
        seen,
        [
            ("!i:stub".to_owned(), true, true),
            (ROOM.to_owned(), false, true),
            (ROOM.to_owned(), false, false),
        ]
    );
    task.abort();
}

#[tokio::test]
async fn a_durable_room_watcher_hands_over_each_update_once_across_a_restart_even_those_made_while_down(
) {
    use quotient_client::watch::DurableRoomWatcher;
    async fn next(watcher: &mut DurableRoomWatcher) -> (String, bool, bool) {
        let update = tokio::time::timeout(Duration::from_secs(5), watcher.next())
            .await
            .expect("an update within 5 s")
            .unwrap();
        (
            update.room_id.to_string(),
            update.is_new(),
            update.is_invite(),
        )
    }
    let stub = Stub::start(server).await;
    let dir = TempDir::new("rooms-restart");
    {
        let client = Client::open(dir.path(), stub.connection()).unwrap();
        let mut rooms = client.watch_rooms_durably("bot").unwrap();
        client.sync_once().await.unwrap();
        // In room ID order: the invite, then the joined room.
        assert_eq!(next(&mut rooms).await, ("!i:stub".into(), true, true));
        // The invite handled; the joined room handed over, then gone
        // before it was committed.
        assert_eq!(next(&mut rooms).await, (ROOM.into(), true, false));
    }
    {
        // A batch while the watcher is not running.
        let client = Client::open(dir.path(), stub.connection()).unwrap();
        client.sync_once().await.unwrap();
    }
    let client = Client::open(dir.path(), stub.connection()).unwrap();
    let mut rooms = client.watch_rooms_durably("bot").unwrap();
    assert_eq!(
        next(&mut rooms).await,
        (ROOM.into(), true, false),
        "the one in flight again"
    );
    assert_eq!(
        next(&mut rooms).await,
        (ROOM.into(), false, false),
        "the one made while down"
    );
    rooms.ack().unwrap();
    drop(rooms);
    let mut again = client.watch_rooms_durably("bot").unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(200), again.next()).await;
    assert!(nothing.is_err(), "everything handled stays handled");
    // A new name starts after what is stored.
    let mut fresh = client.watch_rooms_durably("new").unwrap();
    let nothing = tokio::time::timeout(Duration::from_millis(200), fresh.next()).await;
    assert!(nothing.is_err(), "a new watcher is not handed the history");
}

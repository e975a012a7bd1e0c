//! The client and its sync loop against a stub server: the filter
//! uploaded once, `since` resumed after a restart, a malformed event that
//! keeps the loop alive, back-off and recovery, `M_UNKNOWN_TOKEN`, and a
//! prompt stop during a long-poll.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quotient::BackoffStrategy;
use quotient_client::sync::{SyncChanges, SyncSettings};
use quotient_client::{Client, Error};
use serde_json::json;
use support::stub::{Reply, Stub};
use support::TempDir;
use tokio::sync::broadcast;

const ROOM: &str = "!r:stub";

fn message(id: &str, body: &str) -> serde_json::Value {
    json!({"type": "m.room.message", "event_id": id, "sender": "@you:stub",
           "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": body}})
}

fn sync_answer(next: &str, events: Vec<serde_json::Value>) -> Reply {
    Reply::Json(
        200,
        json!({"next_batch": next, "rooms": {"join": {ROOM: {"timeline": {"events": events}}}}}),
    )
}

/// A homeserver whose sync answers by `since`: none → s1, s1 → s2, and
/// then a long-poll that never ends.
fn two_batches(method: &str, path: &str) -> Reply {
    if method == "POST" && path.starts_with("/_matrix/client/v3/user/") {
        return Reply::Json(200, json!({"filter_id": "f1"}));
    }
    if !path.starts_with("/_matrix/client/v3/sync") {
        return Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}));
    }
    if path.contains("since=s2") {
        Reply::Hang
    } else if path.contains("since=s1") {
        sync_answer("s2", vec![message("$2", "two")])
    } else {
        let bad = json!({"type": "m.room.message", "event_id": "$bad", "sender": "nobody",
                         "origin_server_ts": 1, "content": {}});
        sync_answer("s1", vec![message("$1", "one"), bad])
    }
}

async fn next_change(rx: &mut broadcast::Receiver<SyncChanges>) -> SyncChanges {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a batch within 10 s")
        .unwrap()
}

fn ids(client: &Client) -> Vec<String> {
    let store = client.store().unwrap();
    store
        .timeline(&support::room_id(ROOM), 50)
        .unwrap()
        .into_iter()
        .map(|e| e.json["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_malformed_event_is_counted_and_kept_and_the_loop_goes_on() {
    let stub = Stub::start(two_batches).await;
    let client = Client::in_memory(stub.connection()).unwrap();
    let mut changes = client.changes();
    let sync = client.start_sync_loop();
    let first = next_change(&mut changes).await;
    assert_eq!((first.next_batch.as_str(), first.malformed), ("s1", 1));
    let second = next_change(&mut changes).await;
    assert_eq!(second.next_batch, "s2");
    assert!(!sync.is_finished(), "the loop is alive");
    assert_eq!(ids(&client), ["$1", "$bad", "$2"]);
    assert_eq!(client.store().unwrap().malformed_count().unwrap(), 1);
    sync.stop().await.unwrap();

    // One filter, used by every sync; each sync asks from the last batch.
    assert_eq!(stub.requests_to("/_matrix/client/v3/user/").len(), 1);
    let syncs = stub.requests_to("/_matrix/client/v3/sync");
    assert!(syncs.iter().all(|r| r.contains("filter=f1")), "{syncs:?}");
    assert!(!syncs[0].contains("since="), "{syncs:?}");
    assert!(
        syncs[1].contains("since=s1") && syncs[2].contains("since=s2"),
        "{syncs:?}"
    );
}

#[tokio::test]
async fn a_reopened_store_resumes_from_its_since_with_its_filter() {
    let stub = Stub::start(two_batches).await;
    let dir = TempDir::new("resume");
    {
        let client = Client::open(dir.path(), stub.connection()).unwrap();
        assert_eq!(client.sync_once().await.unwrap().next_batch, "s1");
        assert_eq!(client.sync_once().await.unwrap().next_batch, "s2");
    }
    let client = Client::open(dir.path(), stub.connection()).unwrap();
    {
        let store = client.store().unwrap();
        assert_eq!(store.since().unwrap().as_deref(), Some("s2"));
        assert_eq!(store.filter_id().unwrap().as_deref(), Some("f1"));
    }
    assert_eq!(
        ids(&client),
        ["$1", "$bad", "$2"],
        "restored with no network"
    );
    let sync = client.start_sync_loop();
    stub.wait_for("/_matrix/client/v3/sync", 3).await;
    sync.stop().await.unwrap();
    let syncs = stub.requests_to("/_matrix/client/v3/sync");
    assert!(
        syncs[2].contains("since=s2"),
        "resumed from the stored since: {syncs:?}"
    );
    assert_eq!(
        stub.requests_to("/_matrix/client/v3/user/").len(),
        1,
        "filter reused"
    );
    assert_eq!(ids(&client), ["$1", "$bad", "$2"]);
}

#[tokio::test]
async fn a_changed_timeline_limit_uploads_a_new_filter() {
    let stub = Stub::start(two_batches).await;
    let dir = TempDir::new("refilter");
    let client = Client::open(dir.path(), stub.connection()).unwrap();
    client.sync_once().await.unwrap();
    drop(client);
    let settings = SyncSettings::builder().timeline_limit(5).build();
    let client = Client::builder(stub.connection())
        .sync_settings(settings)
        .open(dir.path())
        .unwrap();
    client.sync_once().await.unwrap();
    assert_eq!(stub.requests_to("/_matrix/client/v3/user/").len(), 2);
}

#[tokio::test]
async fn an_unknown_token_stops_the_loop_with_session_gone() {
    let stub = Stub::start(|_, path| {
        if path.starts_with("/_matrix/client/v3/user/") {
            return Reply::Json(200, json!({"filter_id": "f1"}));
        }
        Reply::Json(
            401,
            json!({"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid token"}),
        )
    })
    .await;
    let client = Client::in_memory(stub.connection()).unwrap();
    let sync = client.start_sync_loop();
    let ended = tokio::time::timeout(Duration::from_secs(10), sync.join())
        .await
        .expect("the loop ends by itself");
    match ended {
        Err(Error::SessionGone(e)) => {
            assert_eq!(e.status(), quotient::StatusCode::Unauthorised);
            let text = Error::SessionGone(e).to_string();
            assert!(text.contains("session is gone"), "{text}");
        }
        other => panic!("expected SessionGone, got {other:?}"),
    }
    assert_eq!(
        stub.requests_to("/_matrix/client/v3/sync").len(),
        1,
        "not retried"
    );
}

#[tokio::test]
async fn server_failures_back_off_and_the_loop_recovers_by_itself() {
    let failures = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&failures);
    let stub = Stub::start(move |method, path| {
        if path.starts_with("/_matrix/client/v3/sync")
            && !path.contains("since=")
            && seen.fetch_add(1, Ordering::SeqCst) < 2
        {
            return Reply::Json(502, json!({}));
        }
        two_batches(method, path)
    })
    .await;
    let backoff = BackoffStrategy {
        retry_waits: vec![Duration::from_millis(100), Duration::from_millis(200)],
        ..BackoffStrategy::default()
    };
    let client = Client::builder(stub.connection())
        .sync_settings(SyncSettings::builder().backoff(backoff).build())
        .in_memory()
        .unwrap();
    let mut changes = client.changes();
    let started = Instant::now();
    let sync = client.start_sync_loop();
    assert_eq!(next_change(&mut changes).await.next_batch, "s1");
    // Two failures waited 100 ms then 200 ms before the third try.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failures.load(Ordering::SeqCst), 3);
    assert_eq!(next_change(&mut changes).await.next_batch, "s2");
    sync.stop().await.unwrap();
}

#[tokio::test]
async fn stop_is_prompt_while_a_long_poll_is_pending() {
    let stub = Stub::start(|method, path| {
        if path.starts_with("/_matrix/client/v3/sync") {
            return Reply::Hang;
        }
        two_batches(method, path)
    })
    .await;
    let client = Client::builder(stub.connection())
        .sync_settings(
            SyncSettings::builder()
                .long_poll(Duration::from_secs(30))
                .build(),
        )
        .in_memory()
        .unwrap();
    let mut changes = client.changes();
    let sync = client.start_sync_loop();
    stub.wait_for("/_matrix/client/v3/sync", 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    sync.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "stopped in {:?}",
        started.elapsed()
    );
    assert!(changes.try_recv().is_err(), "nothing was reported");
    assert_eq!(client.store().unwrap().since().unwrap(), None);
}

#[tokio::test]
async fn a_store_of_another_account_is_refused() {
    let stub = Stub::start(two_batches).await;
    let dir = TempDir::new("other");
    drop(Client::open(dir.path(), stub.connection()).unwrap());
    let other = stub.connection();
    other.adopt_session(quotient::Session {
        homeserver: stub.url.clone(),
        user_id: "@else:stub".parse().unwrap(),
        device_id: "D2".into(),
        access_token: "t".into(),
        refresh_token: None,
        soft_logout: false,
    });
    match Client::open(dir.path(), other) {
        Err(Error::OtherAccount { stored, connected }) => {
            assert_eq!(
                (stored.as_str(), connected.as_str()),
                ("@me:stub", "@else:stub")
            );
        }
        other => panic!("expected OtherAccount, got {other:?}"),
    }
}

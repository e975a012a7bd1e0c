//! A process killed with SIGKILL between receiving a batch and committing
//! it: on restart the store is at the previous batch, the same batch is
//! fetched again from the stored `since` and applied exactly once, and a
//! timeline watcher hands each of its events over once: none twice, none
//! skipped.
//!
//! The child is this test binary run again with `QUOTIENT_CLIENT_SIGKILL_CHILD`
//! set, selecting [`sigkill_child`]; the writer's test-only pause point
//! (`QUOTIENT_CLIENT_TEST_PAUSE_BEFORE_COMMIT`) holds it before the commit
//! so the kill lands there.

mod support;

use std::time::Duration;

use quotient::{Connection, JobOptions, Session};
use quotient_client::watch::TimelineWatcher;
use quotient_client::Client;
use serde_json::json;
use support::stub::{Reply, Stub};
use support::TempDir;

const ROOM: &str = "!r:stub";
const WATCHER: &str = "sigkill";

async fn next_id(watcher: &mut TimelineWatcher) -> String {
    let event = tokio::time::timeout(Duration::from_secs(5), watcher.next())
        .await
        .expect("an event within 5 s")
        .unwrap();
    assert_eq!(event.room_id.as_str(), ROOM);
    event.event.event_id.unwrap().into_string()
}

fn message(id: &str) -> serde_json::Value {
    json!({"type": "m.room.message", "event_id": id, "sender": "@me:stub",
           "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": id}})
}

fn server(method: &str, path: &str) -> Reply {
    if method == "POST" && path.starts_with("/_matrix/client/v3/user/") {
        return Reply::Json(200, json!({"filter_id": "f1"}));
    }
    if !path.starts_with("/_matrix/client/v3/sync") {
        return Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}));
    }
    let (next, events) = if path.contains("since=s2") {
        return Reply::Hang;
    } else if path.contains("since=s1") {
        ("s2", vec![message("$3"), message("$4")])
    } else {
        ("s1", vec![message("$1"), message("$2")])
    };
    Reply::Json(
        200,
        json!({"next_batch": next,
        "rooms": {"join": {ROOM: {"timeline": {"events": events}}}}}),
    )
}

fn connection(url: &str) -> Connection {
    let url: url::Url = url.parse().unwrap();
    let mut options = JobOptions::default();
    options.backoff.max_retries = 0;
    let conn = Connection::builder(url.clone())
        .allow_insecure_http(true)
        .job_options(options)
        .build()
        .unwrap();
    conn.adopt_session(Session {
        homeserver: url,
        user_id: "@me:stub".parse().unwrap(),
        device_id: "DEV".into(),
        access_token: "stub-token".into(),
        refresh_token: None,
        soft_logout: false,
    });
    conn
}

/// The child: syncs once into the parent's store; the pause point holds
/// it before the commit until the parent kills it. A no-op when run as an
/// ordinary test.
#[tokio::test]
async fn sigkill_child() {
    let (Some(dir), Some(url)) = (
        std::env::var_os("QUOTIENT_CLIENT_SIGKILL_CHILD"),
        std::env::var_os("QUOTIENT_CLIENT_SIGKILL_URL"),
    ) else {
        return;
    };
    let client = Client::open(
        std::path::Path::new(&dir),
        connection(url.to_str().unwrap()),
    )
    .unwrap();
    client.sync_once().await.unwrap();
    unreachable!("killed before the commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_killed_before_its_commit_is_applied_once_on_restart() {
    let stub = Stub::start(server).await;
    let dir = TempDir::new("sigkill");
    {
        // A watcher from the start, handling the first batch's events.
        let client = Client::open(dir.path(), stub.connection()).unwrap();
        let mut watcher = client.watch_timeline(WATCHER).unwrap();
        client.sync_once().await.unwrap();
        assert_eq!(next_id(&mut watcher).await, "$1");
        assert_eq!(next_id(&mut watcher).await, "$2");
        watcher.ack().unwrap();
    }
    let marker = dir.path().join("paused");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "sigkill_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("QUOTIENT_CLIENT_SIGKILL_CHILD", dir.path())
        .env("QUOTIENT_CLIENT_SIGKILL_URL", stub.url.as_str())
        .env("QUOTIENT_CLIENT_TEST_PAUSE_BEFORE_COMMIT", &marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut paused = false;
    for _ in 0..1000 {
        if marker.exists() {
            paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Child::kill is SIGKILL on Unix.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(paused, "the child reached the pause point");
    assert!(!status.success());
    assert_eq!(
        stub.requests_to("/_matrix/client/v3/sync")
            .iter()
            .filter(|r| r.contains("since=s1"))
            .count(),
        1
    );

    let client = Client::open(dir.path(), stub.connection()).unwrap();
    assert_eq!(
        client.store().unwrap().since().unwrap().as_deref(),
        Some("s1"),
        "not committed"
    );
    let mut watcher = client.watch_timeline(WATCHER).unwrap();
    let changes = client.sync_once().await.unwrap();
    assert_eq!(changes.new_timeline_events, 2);
    // The watcher: the replayed batch's events once each, none skipped,
    // nothing handled before the kill again.
    assert_eq!(next_id(&mut watcher).await, "$3");
    assert_eq!(next_id(&mut watcher).await, "$4");
    watcher.ack().unwrap();
    let more = tokio::time::timeout(Duration::from_millis(300), watcher.next()).await;
    assert!(more.is_err(), "nothing more to hand over: {more:?}");
    drop(watcher);
    let mut again = client.watch_timeline(WATCHER).unwrap();
    let more = tokio::time::timeout(Duration::from_millis(300), again.next()).await;
    assert!(more.is_err(), "nor after reopening the watcher: {more:?}");
    let store = client.store().unwrap();
    assert_eq!(store.since().unwrap().as_deref(), Some("s2"));
    let ids: Vec<_> = store
        .timeline(&support::room_id(ROOM), 100)
        .unwrap()
        .into_iter()
        .map(|e| e.event_id.unwrap().into_string())
        .collect();
    assert_eq!(
        ids,
        ["$1", "$2", "$3", "$4"],
        "the batch once, none missing"
    );
    let asked = stub.requests_to("/_matrix/client/v3/sync");
    assert_eq!(
        asked.iter().filter(|r| r.contains("since=s1")).count(),
        2,
        "{asked:?}"
    );
}

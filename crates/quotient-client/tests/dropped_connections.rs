//! A server that drops the connection mid-answer (headers sent, body cut)
//! or before any byte: the sync loop recovers by itself, and the next good
//! batch is applied once.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quotient::BackoffStrategy;
use quotient_client::sync::SyncSettings;
use quotient_client::Client;
use serde_json::json;
use support::stub::{Reply, Stub};

const ROOM: &str = "!r:stub";

fn batch(next: &str, id: &str) -> serde_json::Value {
    json!({"next_batch": next, "rooms": {"join": {ROOM: {"timeline": {"events": [
        {"type": "m.room.message", "event_id": id, "sender": "@you:stub",
         "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": id}}
    ]}}}}})
}

#[tokio::test]
async fn a_cut_answer_and_a_closed_connection_are_recovered_from_and_the_batch_applied_once() {
    let first_syncs = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&first_syncs);
    let stub = Stub::start(move |method, path| {
        if method == "POST" && path.starts_with("/_matrix/client/v3/user/") {
            return Reply::Json(200, json!({"filter_id": "f1"}));
        }
        if !path.starts_with("/_matrix/client/v3/sync") {
            return Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}));
        }
        if path.contains("since=s1") {
            return Reply::Hang;
        }
        // The same batch each time: cut after its headers, then a
        // connection closed before any byte, then whole.
        match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::CutBody(200, batch("s1", "$1")),
            1 => Reply::Close,
            _ => Reply::Json(200, batch("s1", "$1")),
        }
    })
    .await;
    let backoff = BackoffStrategy {
        retry_waits: vec![Duration::from_millis(50)],
        ..BackoffStrategy::default()
    };
    let client = Client::builder(stub.connection())
        .sync_settings(SyncSettings::builder().backoff(backoff).build())
        .in_memory()
        .unwrap();
    let mut changes = client.changes();
    let sync = client.start_sync_loop();
    let change = tokio::time::timeout(Duration::from_secs(10), changes.recv())
        .await
        .expect("a batch within 10 s")
        .unwrap();
    assert_eq!(change.next_batch, "s1");
    assert_eq!(change.new_timeline_events, 1);
    assert_eq!(
        first_syncs.load(Ordering::SeqCst),
        3,
        "two failures, then the batch"
    );
    // The loop went on to the next long-poll from s1.
    stub.wait_for("/_matrix/client/v3/sync?", 4).await;
    assert!(!sync.is_finished(), "the loop is still running");
    assert!(changes.try_recv().is_err(), "the batch was reported once");
    {
        let store = client.store().unwrap();
        assert_eq!(store.since().unwrap().as_deref(), Some("s1"));
        let timeline = store.timeline(&support::room_id(ROOM), 10).unwrap();
        assert_eq!(timeline.len(), 1, "stored once: {timeline:?}");
    }
    sync.stop().await.unwrap();
}

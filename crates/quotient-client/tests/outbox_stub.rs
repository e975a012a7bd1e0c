//! The outbox against a stub, for what a real server will not do on
//! demand: a file entry's upload cut mid-answer is sent again to the same
//! reserved URI (a server that has the bytes already answers
//! `M_CANNOT_OVERWRITE_MEDIA`, which counts as done), and once the upload
//! is recorded, trying the entry again never uploads again; a 401 stops
//! the room's sending and tells every waiter of the room.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quotient::{BackoffStrategy, Connection, JobOptions, Session};
use quotient_api::RoomId;
use quotient_client::outbox::{FileMessage, OutboxState, OutgoingEvent};
use quotient_client::{Client, Error};
use serde_json::json;
use support::stub::{Reply, Stub};
use support::TempDir;

const ROOM: &str = "!r:stub";

/// A connection to the stub that never resends by itself (so each try is
/// the outbox's) and whose outbox waits are short.
fn connection(stub: &Stub) -> Connection {
    let options = JobOptions {
        backoff: BackoffStrategy {
            max_retries: 0,
            retry_waits: vec![Duration::from_millis(50)],
            ..BackoffStrategy::default()
        },
        ..JobOptions::default()
    };
    let conn = Connection::builder(stub.url.clone())
        .allow_insecure_http(true)
        .job_options(options)
        .build()
        .unwrap();
    conn.adopt_session(Session {
        homeserver: stub.url.clone(),
        user_id: "@me:stub".parse().unwrap(),
        device_id: "DEV".into(),
        access_token: "stub-token".into(),
        refresh_token: None,
        soft_logout: false,
    });
    conn
}

#[tokio::test]
async fn a_file_is_uploaded_once_to_its_reserved_uri_whatever_fails_after() {
    let uploads = Arc::new(AtomicU32::new(0));
    let sends = Arc::new(AtomicU32::new(0));
    let (u, s) = (uploads.clone(), sends.clone());
    let stub = Stub::start(move |method, path| {
        if path.starts_with("/_matrix/client/versions") {
            return Reply::Json(200, json!({"versions": ["v1.11"]}));
        }
        if path.starts_with("/_matrix/client/v1/media/config") {
            return Reply::Json(200, json!({"m.upload.size": 1_000_000}));
        }
        if method == "POST" && path.starts_with("/_matrix/media/v1/create") {
            return Reply::Json(200, json!({"content_uri": "mxc://stub/reserved"}));
        }
        if method == "PUT" && path.starts_with("/_matrix/media/v3/upload/stub/reserved") {
            // The first answer is cut (the bytes did arrive); the server
            // then has them and refuses to overwrite.
            return match u.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::CutBody(200, json!({})),
                _ => Reply::Json(
                    409,
                    json!({"errcode": "M_CANNOT_OVERWRITE_MEDIA", "error": "already uploaded"}),
                ),
            };
        }
        if method == "PUT" && path.contains("/send/m.room.message/") {
            // Refused for good the first time, taken after a retry.
            return match s.fetch_add(1, Ordering::SeqCst) {
                0 => Reply::Json(403, json!({"errcode": "M_FORBIDDEN", "error": "not now"})),
                _ => Reply::Json(200, json!({"event_id": "$file:stub"})),
            };
        }
        Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}))
    })
    .await;
    let dir = TempDir::new("attachment");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("cat.png");
    std::fs::write(&file, vec![7u8; 4096]).unwrap();
    let client = Client::builder(connection(&stub))
        .open(&dir.path().join("store"))
        .unwrap();
    let room = RoomId::parse(ROOM).unwrap();

    let pending = client
        .send_file(&room, FileMessage::new(&file))
        .await
        .unwrap();
    let txn = pending.txn_id().to_owned();
    let outcome = tokio::time::timeout(Duration::from_secs(20), pending.sent())
        .await
        .unwrap();
    assert!(
        matches!(outcome, Err(Error::SendFailed { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        stub.requests_to("/_matrix/media/v1/create").len(),
        1,
        "reserved once"
    );
    assert_eq!(
        uploads.load(Ordering::SeqCst),
        2,
        "cut, then sent again to the same URI"
    );
    let entry = client.store().unwrap().outbox_entry(&txn).unwrap().unwrap();
    let attachment = entry.attachment.clone().unwrap();
    assert!(attachment.uploaded);
    assert_eq!(
        attachment.content_uri.as_deref(),
        Some("mxc://stub/reserved")
    );
    assert_eq!(attachment.content_type, "image/png");

    // Retried (by a new client on the same store, as after a restart), the
    // message goes out without a new upload, pointing at the same URI.
    drop(client);
    let client = Client::builder(connection(&stub))
        .open(&dir.path().join("store"))
        .unwrap();
    client.retry_send(&txn).unwrap();
    let event_id = tokio::time::timeout(
        Duration::from_secs(20),
        client.pending_send(&txn).unwrap().sent(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(event_id.as_str(), "$file:stub");
    assert_eq!(uploads.load(Ordering::SeqCst), 2, "no upload again");
    assert_eq!(stub.requests_to("/_matrix/media/v1/create").len(), 1);
    assert_eq!(sends.load(Ordering::SeqCst), 2);
    let entry = client.store().unwrap().outbox_entry(&txn).unwrap().unwrap();
    assert_eq!(
        entry.state,
        OutboxState::Sent {
            event_id: Some(quotient_api::EventId::parse("$file:stub").unwrap())
        }
    );
}

#[tokio::test]
async fn a_file_over_the_servers_limit_is_refused_before_anything_is_queued_or_sent() {
    let stub = Stub::start(|_, path| {
        if path.starts_with("/_matrix/client/versions") {
            return Reply::Json(200, json!({"versions": ["v1.11"]}));
        }
        if path.starts_with("/_matrix/client/v1/media/config") {
            return Reply::Json(200, json!({"m.upload.size": 1000}));
        }
        Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}))
    })
    .await;
    let dir = TempDir::new("attachment-limit");
    std::fs::create_dir_all(dir.path()).unwrap();
    let file = dir.path().join("big.bin");
    std::fs::write(&file, vec![0u8; 1001]).unwrap();
    let client = Client::in_memory(connection(&stub)).unwrap();
    let room = RoomId::parse(ROOM).unwrap();
    match client.send_file(&room, FileMessage::new(&file)).await {
        Err(Error::TooLarge { size, limit }) => assert_eq!((size, limit), (Some(1001), 1000)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(client.outbox_entries(None).unwrap().is_empty());
    assert!(
        stub.requests_to("/_matrix/media").is_empty(),
        "{:?}",
        stub.requests()
    );
}

#[tokio::test]
async fn a_401_halts_the_room_and_every_waiter_of_it_hears_with_the_entries_kept() {
    let stub = Stub::start(|method, path| {
        if method == "PUT" && path.contains("/send/") {
            return Reply::Json(
                401,
                json!({"errcode": "M_UNKNOWN_TOKEN", "error": "gone", "soft_logout": false}),
            );
        }
        Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}))
    })
    .await;
    let client = Client::in_memory(connection(&stub)).unwrap();
    let room = RoomId::parse(ROOM).unwrap();
    let first = client
        .send(&room, OutgoingEvent::text("one"))
        .await
        .unwrap();
    let second = client
        .send(&room, OutgoingEvent::text("two"))
        .await
        .unwrap();
    for pending in [first, second] {
        let outcome = tokio::time::timeout(Duration::from_secs(10), pending.sent())
            .await
            .expect("every waiter hears of the halt");
        match outcome {
            Err(Error::SendInterrupted { session, .. }) => assert!(session),
            other => panic!("expected SendInterrupted, got {other:?}"),
        }
    }
    let entries = client.outbox_entries(None).unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.state.is_unsent()), "{entries:?}");
    // Only the first went out: the second waits behind it. (The room's
    // encryption is asked first, the store not knowing the room.)
    let sends: Vec<String> = stub
        .requests_to("/_matrix/client/v3/rooms")
        .into_iter()
        .filter(|r| r.contains("/send/"))
        .collect();
    assert_eq!(sends.len(), 1, "{sends:?}");
}

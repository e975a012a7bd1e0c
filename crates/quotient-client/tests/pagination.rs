//! Back-pagination against a stub: a gap in the middle of a stored
//! timeline (an earlier batch, then a limited one) filled page by page in
//! the server's order, with no duplicate, until the page meets the events
//! stored before the gap; a gap at the start filled up to `m.room.create`;
//! a second call with no gap left asks nothing.

mod support;

use quotient_api::RoomId;
use quotient_client::sync::{GapAfterPage, PaginationOutcome};
use quotient_client::Client;
use serde_json::{json, Value};
use support::stub::{Reply, Stub};
use support::TempDir;

const ROOM: &str = "!r:stub";

fn message(id: &str) -> Value {
    json!({"type": "m.room.message", "event_id": id, "sender": "@you:stub", "room_id": ROOM,
           "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": id}})
}

fn create() -> Value {
    json!({"type": "m.room.create", "state_key": "", "event_id": "$create", "room_id": ROOM,
           "sender": "@you:stub", "origin_server_ts": 1, "content": {"room_version": "11"}})
}

fn ids(client: &Client) -> Vec<String> {
    let store = client.store().unwrap();
    store
        .timeline(&support::room_id(ROOM), 100)
        .unwrap()
        .into_iter()
        .map(|e| e.event_id.unwrap().into_string())
        .collect()
}

/// History: $create $1 … $9. The first sync saw $create $1 $2 (unlimited);
/// the second, limited, $8 $9 with prev_batch t7; /messages from t7 gives
/// $7 $6 $5 (end t4), from t4 gives $4 $3 $2 $1 (end t0).
fn middle_gap(method: &str, path: &str) -> Reply {
    if method == "POST" && path.starts_with("/_matrix/client/v3/user/") {
        return Reply::Json(200, json!({"filter_id": "f1"}));
    }
    if path.starts_with("/_matrix/client/v3/sync") {
        let (next, timeline) = if path.contains("since=s1") {
            (
                "s2",
                json!({"limited": true, "prev_batch": "t7",
                          "events": [message("$8"), message("$9")]}),
            )
        } else {
            (
                "s1",
                json!({"events": [create(), message("$1"), message("$2")]}),
            )
        };
        return Reply::Json(
            200,
            json!({"next_batch": next,
            "rooms": {"join": {ROOM: {"timeline": timeline}}}}),
        );
    }
    if path.contains("/messages") {
        assert!(
            path.contains("dir=b") && path.contains("lazy_load_members"),
            "{path}"
        );
        if path.contains("from=t7") {
            return Reply::Json(
                200,
                json!({"start": "t7", "end": "t4",
                "chunk": [message("$7"), message("$6"), message("$5")]}),
            );
        }
        if path.contains("from=t4") {
            return Reply::Json(
                200,
                json!({"start": "t4", "end": "t0",
                "chunk": [message("$4"), message("$3"), message("$2"), message("$1")]}),
            );
        }
    }
    Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}))
}

#[tokio::test]
async fn a_gap_in_the_middle_is_filled_in_order_once_until_it_meets_stored_events() {
    let stub = Stub::start(middle_gap).await;
    let dir = TempDir::new("paginate-middle");
    let room: RoomId = ROOM.parse().unwrap();
    {
        let client = Client::open(dir.path(), stub.connection()).unwrap();
        client.sync_once().await.unwrap();
        client.sync_once().await.unwrap();
        assert_eq!(ids(&client), ["$create", "$1", "$2", "$8", "$9"]);
        let first = client.paginate_back(&room, 3).await.unwrap();
        assert_eq!(
            first,
            PaginationOutcome::Page {
                new_events: 3,
                gap: GapAfterPage::Remaining
            }
        );
    }
    // Reopened: the moved gap was committed with its page.
    let client = Client::open(dir.path(), stub.connection()).unwrap();
    let second = client.paginate_back(&room, 3).await.unwrap();
    assert_eq!(
        second,
        PaginationOutcome::Page {
            new_events: 2,
            gap: GapAfterPage::Filled
        }
    );
    let want = [
        "$create", "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9",
    ];
    assert_eq!(ids(&client), want, "server order, no duplicate, no hole");
    assert!(client
        .store()
        .unwrap()
        .timeline_gaps(&support::room_id(ROOM))
        .unwrap()
        .is_empty());
    let before = stub
        .requests_to(&format!("/_matrix/client/v3/rooms/{ROOM}/messages"))
        .len();
    assert_eq!(
        client.paginate_back(&room, 3).await.unwrap(),
        PaginationOutcome::NoGap
    );
    let after = stub
        .requests_to(&format!("/_matrix/client/v3/rooms/{ROOM}/messages"))
        .len();
    assert_eq!(before, after, "no request once the gap is filled");
}

/// The first sync is limited: $3 with prev_batch t2; /messages gives
/// $2 $1 $create (and an `end`, which the creation event overrides), and
/// a redaction of $1 that came with the sync applies when $1 arrives.
fn start_gap(method: &str, path: &str) -> Reply {
    if method == "POST" && path.starts_with("/_matrix/client/v3/user/") {
        return Reply::Json(200, json!({"filter_id": "f1"}));
    }
    if path.starts_with("/_matrix/client/v3/sync") {
        let redaction = json!({"type": "m.room.redaction", "event_id": "$red", "sender": "@you:stub",
            "origin_server_ts": 1, "redacts": "$1", "content": {"redacts": "$1"}});
        return Reply::Json(
            200,
            json!({"next_batch": "s1", "rooms": {"join": {ROOM: {
            "timeline": {"limited": true, "prev_batch": "t2", "events": [message("$3"), redaction]}}}}}),
        );
    }
    if path.contains("/messages") && path.contains("from=t2") {
        return Reply::Json(
            200,
            json!({"start": "t2", "end": "tx",
            "chunk": [message("$2"), {"type": "m.room.message", "event_id": "$1", "sender": "@you:stub",
                      "room_id": ROOM, "origin_server_ts": 1,
                      "content": {"msgtype": "m.text", "body": "secret"}}, create()]}),
        );
    }
    Reply::Json(404, json!({"errcode": "M_UNRECOGNIZED"}))
}

#[tokio::test]
async fn a_gap_at_the_start_is_removed_at_the_creation_event() {
    let stub = Stub::start(start_gap).await;
    let client = Client::in_memory(stub.connection()).unwrap();
    let room: RoomId = ROOM.parse().unwrap();
    client.sync_once().await.unwrap();
    let outcome = client.paginate_back(&room, 10).await.unwrap();
    assert_eq!(
        outcome,
        PaginationOutcome::Page {
            new_events: 3,
            gap: GapAfterPage::ReachedStart
        }
    );
    assert_eq!(ids(&client), ["$create", "$1", "$2", "$3", "$red"]);
    let (gaps, one) = {
        let store = client.store().unwrap();
        let gaps = store.timeline_gaps(&support::room_id(ROOM)).unwrap();
        (
            gaps,
            store
                .timeline(&support::room_id(ROOM), 100)
                .unwrap()
                .remove(1),
        )
    };
    assert!(gaps.is_empty());
    assert_eq!(
        one.json["content"],
        json!({}),
        "the waiting redaction applied"
    );
    assert!(one.json.get("room_id").is_none(), "stored as from /sync");
    assert_eq!(
        client.paginate_back(&room, 10).await.unwrap(),
        PaginationOutcome::NoGap
    );
}

//! Redactions and relations folded from `/sync` batches into a store
//! file: a redaction strips its stored target (by the room's version),
//! waits for a target not stored yet, drops the target's relation; edits,
//! reactions and thread replies are read with their target.

mod support;

use quotient_api::generated::sync::SyncResponse;
use quotient_client::store::ReactionGroup;
use quotient_client::sync::apply_batch;
use quotient_client::Store;
use serde_json::{json, Value};
use support::TempDir;

const ROOM: &str = "!room:example.org";
const ALICE: &str = "@alice:example.org";
const BOB: &str = "@bob:example.org";

fn event(id: &str, sender: &str, kind: &str, content: Value) -> Value {
    json!({"type": kind, "event_id": id, "sender": sender, "origin_server_ts": 1,
           "content": content})
}

fn message(id: &str, sender: &str, body: &str) -> Value {
    event(
        id,
        sender,
        "m.room.message",
        json!({"msgtype": "m.text", "body": body}),
    )
}

fn redaction(id: &str, target: &str) -> Value {
    let mut e = event(id, ALICE, "m.room.redaction", json!({"redacts": target}));
    e["redacts"] = json!(target);
    e
}

fn reaction(id: &str, sender: &str, target: &str, key: &str) -> Value {
    event(
        id,
        sender,
        "m.reaction",
        json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}),
    )
}

fn create(version: Option<&str>) -> Value {
    let content = match version {
        Some(v) => json!({"room_version": v}),
        None => json!({}),
    };
    let mut e = event("$create", ALICE, "m.room.create", content);
    e["state_key"] = json!("");
    e
}

fn batch(next: &str, state: Vec<Value>, timeline: Vec<Value>) -> SyncResponse {
    serde_json::from_value(json!({
        "next_batch": next,
        "rooms": {"join": {ROOM: {
            "state": {"events": state},
            "timeline": {"events": timeline},
        }}}
    }))
    .unwrap()
}

fn stored(store: &Store, id: &str) -> Value {
    store
        .timeline(&support::room_id(ROOM), 100)
        .unwrap()
        .into_iter()
        .find(|e| e.event_id.as_ref().map(|id| id.as_str()) == Some(id))
        .unwrap_or_else(|| panic!("{id} stored"))
        .json
}

#[test]
fn a_redaction_in_the_same_batch_strips_the_stored_target_and_survives_a_reopen() {
    let dir = TempDir::new("redact-same-batch");
    {
        let mut store = Store::open(dir.path()).unwrap();
        let b = batch(
            "s1",
            vec![create(Some("11"))],
            vec![message("$m", BOB, "secret"), redaction("$r", "$m")],
        );
        apply_batch(&mut store, &b).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let m = stored(&store, "$m");
    assert_eq!(m["content"], json!({}), "content stripped");
    assert_eq!(m["sender"], BOB, "envelope kept");
    assert_eq!(m["unsigned"]["redacted_because"]["event_id"], "$r");
    assert_eq!(
        store.timeline(&support::room_id(ROOM), 100).unwrap().len(),
        2
    );
}

#[test]
fn the_room_version_decides_what_is_kept_and_defaults_to_1() {
    let power = |id: &str| {
        let mut e = event(
            id,
            ALICE,
            "m.room.power_levels",
            json!({"ban": 50, "invite": 0, "x": 1}),
        );
        e["state_key"] = json!("");
        e
    };
    for (version, want) in [
        (Some("11"), json!({"ban": 50, "invite": 0})),
        (None, json!({"ban": 50})),
    ] {
        let mut store = Store::in_memory().unwrap();
        let b = batch(
            "s1",
            vec![create(version)],
            vec![power("$p"), redaction("$r", "$p")],
        );
        apply_batch(&mut store, &b).unwrap();
        assert_eq!(stored(&store, "$p")["content"], want, "version {version:?}");
        // The current state is the stripped copy too.
        let state = store
            .state_event(&support::room_id(ROOM), "m.room.power_levels", "")
            .unwrap()
            .unwrap();
        assert_eq!(state["content"], want, "state, version {version:?}");
    }
}

#[test]
fn a_redaction_before_its_target_is_applied_when_the_target_arrives() {
    let dir = TempDir::new("redact-pending");
    {
        let mut store = Store::open(dir.path()).unwrap();
        let b = batch(
            "s1",
            vec![create(Some("10"))],
            vec![redaction("$r", "$late")],
        );
        apply_batch(&mut store, &b).unwrap();
    }
    let mut store = Store::open(dir.path()).unwrap();
    let b = batch(
        "s2",
        vec![],
        vec![reaction("$late", BOB, "$x", "👍"), message("$x", BOB, "hi")],
    );
    apply_batch(&mut store, &b).unwrap();
    let late = stored(&store, "$late");
    assert_eq!(late["content"], json!({}));
    assert_eq!(late["unsigned"]["redacted_because"]["event_id"], "$r");
    assert!(
        store
            .reactions(&support::event_id("$x"))
            .unwrap()
            .is_empty(),
        "a redacted reaction does not count"
    );
    assert_eq!(
        stored(&store, "$x")["content"]["body"],
        "hi",
        "others untouched"
    );
}

#[test]
fn reactions_are_grouped_by_key_and_a_redacted_one_stops_counting() {
    let mut store = Store::in_memory().unwrap();
    let b = batch(
        "s1",
        vec![create(Some("11"))],
        vec![
            message("$m", ALICE, "vote"),
            reaction("$a1", ALICE, "$m", "👍"),
            reaction("$b1", BOB, "$m", "👍"),
            reaction("$b2", BOB, "$m", "🎉"),
            reaction("$c1", BOB, "$m", "x"),
            // An annotation without a key fits no relation: stored, not counted.
            event(
                "$bad",
                BOB,
                "m.reaction",
                json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$m"}}),
            ),
        ],
    );
    apply_batch(&mut store, &b).unwrap();
    let groups = store.reactions(&support::event_id("$m")).unwrap();
    assert_eq!(
        groups,
        vec![
            ReactionGroup {
                key: "👍".into(),
                count: 2,
                senders: vec![support::user_id(ALICE), support::user_id(BOB)]
            },
            ReactionGroup {
                key: "x".into(),
                count: 1,
                senders: vec![support::user_id(BOB)]
            },
            ReactionGroup {
                key: "🎉".into(),
                count: 1,
                senders: vec![support::user_id(BOB)]
            },
        ]
    );
    apply_batch(
        &mut store,
        &batch("s2", vec![], vec![redaction("$r", "$b1")]),
    )
    .unwrap();
    let groups = store.reactions(&support::event_id("$m")).unwrap();
    assert_eq!(groups.len(), 3);
    let thumbs = groups.iter().find(|g| g.key == "👍").unwrap();
    assert_eq!(
        *thumbs,
        ReactionGroup {
            key: "👍".into(),
            count: 1,
            senders: vec![support::user_id(ALICE)]
        }
    );
}

#[test]
fn the_newest_edit_by_the_targets_sender_is_the_valid_one() {
    let edit = |id: &str, sender: &str, body: &str| {
        event(
            id,
            sender,
            "m.room.message",
            json!({
            "msgtype": "m.text", "body": format!("* {body}"),
            "m.new_content": {"msgtype": "m.text", "body": body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$m"}}),
        )
    };
    let mut store = Store::in_memory().unwrap();
    let b = batch(
        "s1",
        vec![create(Some("11"))],
        vec![
            message("$m", ALICE, "tpyo"),
            edit("$e1", ALICE, "typo"),
            edit("$e2", ALICE, "typo!"),
            edit("$evil", BOB, "hacked"),
        ],
    );
    apply_batch(&mut store, &b).unwrap();
    let latest = store
        .latest_edit(&support::event_id("$m"))
        .unwrap()
        .unwrap();
    assert_eq!(latest.event_id.as_ref().map(|id| id.as_str()), Some("$e2"));
    assert_eq!(latest.json["content"]["m.new_content"]["body"], "typo!");
    assert_eq!(
        store.edits(&support::event_id("$m")).unwrap().len(),
        2,
        "the other sender's edit is ignored"
    );
    assert!(store
        .latest_edit(&support::event_id("$unknown"))
        .unwrap()
        .is_none());
    // Redacting the newest edit makes the one before it the newest.
    apply_batch(
        &mut store,
        &batch("s2", vec![], vec![redaction("$r", "$e2")]),
    )
    .unwrap();
    assert_eq!(
        store
            .latest_edit(&support::event_id("$m"))
            .unwrap()
            .unwrap()
            .event_id
            .map(|id| id.into_string())
            .as_deref(),
        Some("$e1")
    );
}

#[test]
fn thread_replies_are_read_in_timeline_order() {
    let in_thread = |id: &str, body: &str| {
        event(
            id,
            BOB,
            "m.room.message",
            json!({"msgtype": "m.text", "body": body,
            "m.relates_to": {"rel_type": "m.thread", "event_id": "$root",
                             "is_falling_back": true, "m.in_reply_to": {"event_id": "$root"}}}),
        )
    };
    let mut store = Store::in_memory().unwrap();
    let b = batch(
        "s1",
        vec![],
        vec![
            message("$root", ALICE, "root"),
            in_thread("$t1", "a"),
            message("$x", ALICE, "x"),
            in_thread("$t2", "b"),
        ],
    );
    apply_batch(&mut store, &b).unwrap();
    let ids: Vec<_> = store
        .thread_replies(&support::event_id("$root"))
        .unwrap()
        .into_iter()
        .map(|e| e.event_id.unwrap().into_string())
        .collect();
    assert_eq!(ids, ["$t1", "$t2"]);
}

#[test]
fn receipts_are_stored_latest_per_user_type_and_thread_and_typing_is_reported_only() {
    let dir = TempDir::new("receipts");
    let with_ephemeral = |next: &str, events: Value| -> SyncResponse {
        serde_json::from_value(json!({"next_batch": next, "rooms": {"join": {ROOM: {
            "ephemeral": {"events": events}}}}}))
        .unwrap()
    };
    let mut store = Store::open(dir.path()).unwrap();
    let changes = apply_batch(
        &mut store,
        &with_ephemeral(
            "s1",
            json!([
                {"type": "m.receipt", "content": {
                    "$1": {"m.read": {BOB: {"ts": 10}}, "m.read.private": {ALICE: {"ts": 11}}},
                    "$2": {"m.read": {ALICE: {"ts": 12, "thread_id": "main"}}}}},
                {"type": "m.typing", "content": {"user_ids": [BOB]}},
                {"type": "m.receipt", "content": "not an object"},
            ]),
        ),
    )
    .unwrap();
    assert_eq!(
        changes.typing.get(&support::room_id(ROOM)).unwrap(),
        &vec![support::user_id(BOB)]
    );
    let changes = apply_batch(
        &mut store,
        &with_ephemeral(
            "s2",
            json!([
                {"type": "m.receipt", "content": {"$3": {"m.read": {BOB: {"ts": 20}}}}},
                {"type": "m.typing", "content": {"user_ids": []}},
            ]),
        ),
    )
    .unwrap();
    assert_eq!(
        changes.typing.get(&support::room_id(ROOM)).unwrap(),
        &Vec::<quotient_api::UserId>::new()
    );
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let got: Vec<_> = store
        .receipts(&support::room_id(ROOM))
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.user_id.into_string(),
                r.receipt_type,
                r.thread_id,
                r.event_id.into_string(),
                r.ts,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                ALICE.into(),
                "m.read".into(),
                Some("main".into()),
                "$2".into(),
                Some(12)
            ),
            (
                ALICE.into(),
                "m.read.private".into(),
                None,
                "$1".into(),
                Some(11)
            ),
            (BOB.into(), "m.read".into(), None, "$3".into(), Some(20)),
        ]
    );
}

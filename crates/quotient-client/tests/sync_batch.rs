//! Folding `/sync` batches into a store file: rooms, state, timelines,
//! gaps, account data, counts, malformed items, and a batch applied twice.

mod support;

use quotient_api::generated::sync::SyncResponse;
use quotient_client::store::Membership;
use quotient_client::sync::apply_batch;
use quotient_client::Store;
use serde_json::{json, Value};
use support::TempDir;

fn batch(value: Value) -> SyncResponse {
    serde_json::from_value(value).unwrap()
}

fn message(id: &str, body: &str) -> Value {
    json!({"type": "m.room.message", "event_id": id, "sender": "@alice:example.org",
           "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": body}})
}

fn state(kind: &str, key: &str, id: &str, content: Value) -> Value {
    json!({"type": kind, "state_key": key, "event_id": id, "sender": "@alice:example.org",
           "origin_server_ts": 1, "content": content})
}

const ROOM: &str = "!room:example.org";

fn first_batch() -> SyncResponse {
    batch(json!({
        "next_batch": "s1",
        "account_data": {"events": [{"type": "m.direct", "content": {"@bob:example.org": [ROOM]}}]},
        "rooms": {"join": {ROOM: {
            "summary": {"m.heroes": ["@bob:example.org"], "m.joined_member_count": 2,
                        "m.invited_member_count": 0},
            "unread_notifications": {"notification_count": 3, "highlight_count": 1},
            "state": {"events": [
                state("m.room.create", "", "$create", json!({"room_version": "11"})),
                state("m.room.name", "", "$name1", json!({"name": "Old name"})),
            ]},
            "timeline": {"limited": true, "prev_batch": "p1", "events": [
                message("$m1", "one"),
                state("m.room.name", "", "$name2", json!({"name": "New name"})),
                message("$m2", "two"),
            ]},
            "account_data": {"events": [{"type": "m.tag", "content": {"tags": {"u.work": {}}}}]},
        }}}
    }))
}

fn bodies(store: &Store, room: &str) -> Vec<String> {
    store
        .timeline(&support::room_id(room), 100)
        .unwrap()
        .iter()
        .map(|e| e.json["event_id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn a_batch_fills_rooms_state_timeline_counts_and_account_data() {
    let mut store = Store::in_memory().unwrap();
    let changes = apply_batch(&mut store, &first_batch()).unwrap();
    assert_eq!(changes.next_batch, "s1");
    assert_eq!(changes.new_timeline_events, 3);
    assert!(changes.rooms.contains(&support::room_id(ROOM)));
    assert_eq!(store.since().unwrap().as_deref(), Some("s1"));

    assert_eq!(
        store.rooms().unwrap(),
        vec![(support::room_id(ROOM), Membership::Joined)]
    );
    let summary = store
        .room_summary(&support::room_id(ROOM))
        .unwrap()
        .unwrap();
    assert_eq!(summary.heroes, vec![support::user_id("@bob:example.org")]);
    assert_eq!(summary.joined_member_count, Some(2));
    assert_eq!(summary.invited_member_count, Some(0));
    assert_eq!(
        (summary.notification_count, summary.highlight_count),
        (3, 1)
    );

    // The timeline's state event is applied after the `state` block.
    let name = store
        .state_event(&support::room_id(ROOM), "m.room.name", "")
        .unwrap()
        .unwrap();
    assert_eq!(name["content"]["name"], "New name");
    assert!(store
        .state_event(&support::room_id(ROOM), "m.room.create", "")
        .unwrap()
        .is_some());
    assert_eq!(bodies(&store, ROOM), ["$m1", "$name2", "$m2"]);
    let newest = store.timeline(&support::room_id(ROOM), 2).unwrap();
    assert_eq!(newest.len(), 2);
    assert_eq!(newest[1].json["content"]["body"], "two");
    assert!(newest[0].position < newest[1].position);

    // The gap sits before the batch's first event.
    let first = store.timeline(&support::room_id(ROOM), 100).unwrap()[0].position;
    assert_eq!(
        store.timeline_gaps(&support::room_id(ROOM)).unwrap(),
        vec![(first, "p1".to_owned())]
    );

    let direct = store.account_data("m.direct").unwrap().unwrap();
    assert_eq!(direct["content"]["@bob:example.org"][0], ROOM);
    let tags = store
        .room_account_data(&support::room_id(ROOM), "m.tag")
        .unwrap()
        .unwrap();
    assert!(tags["content"]["tags"]["u.work"].is_object());
    assert_eq!(store.malformed_count().unwrap(), 0);
}

#[test]
fn a_batch_applied_again_after_reopening_the_file_stores_no_event_twice() {
    let dir = TempDir::new("replay");
    {
        let mut store = Store::open(dir.path()).unwrap();
        apply_batch(&mut store, &first_batch()).unwrap();
    }
    let mut store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.since().unwrap().as_deref(),
        Some("s1"),
        "since survived"
    );
    assert_eq!(bodies(&store, ROOM), ["$m1", "$name2", "$m2"]);

    // What a server answering the stored since with overlapping events sends.
    let again = batch(json!({"next_batch": "s2", "rooms": {"join": {ROOM: {
        "timeline": {"events": [message("$m2", "two"), message("$m3", "three")]}}}}}));
    let changes = apply_batch(&mut store, &again).unwrap();
    assert_eq!(changes.new_timeline_events, 1);
    let changes = apply_batch(&mut store, &again).unwrap();
    assert_eq!(changes.new_timeline_events, 0);
    assert_eq!(bodies(&store, ROOM), ["$m1", "$name2", "$m2", "$m3"]);
    assert_eq!(store.since().unwrap().as_deref(), Some("s2"));
}

#[test]
fn malformed_events_state_and_account_data_are_counted_and_kept_and_the_batch_applies() {
    let mut store = Store::in_memory().unwrap();
    let bad_event = json!({"type": "m.room.message", "event_id": "$bad", "sender": "not a user",
                           "origin_server_ts": 2, "content": {}});
    let bad_state = json!({"type": "m.room.topic", "state_key": "", "content": {"topic": 1}});
    let changes = apply_batch(&mut store, &batch(json!({
        "next_batch": "s1",
        "account_data": {"events": [{"content": {}}, {"type": "m.ok", "content": {}}]},
        "rooms": {"join": {ROOM: {
            "state": {"events": [bad_state]},
            "timeline": {"events": [message("$m1", "one"), bad_event.clone(), message("$m2", "two")]},
        }}}
    })))
    .unwrap();
    assert_eq!(changes.malformed, 3);
    assert_eq!(store.malformed_count().unwrap(), 3);
    assert_eq!(store.since().unwrap().as_deref(), Some("s1"));
    // The bad event keeps its place, raw, and the good ones are around it.
    let timeline = store.timeline(&support::room_id(ROOM), 10).unwrap();
    assert_eq!(bodies(&store, ROOM), ["$m1", "$bad", "$m2"]);
    assert!(timeline[1].malformed && !timeline[0].malformed);
    assert_eq!(timeline[1].json, bad_event);
    assert!(store
        .state_event(&support::room_id(ROOM), "m.room.topic", "")
        .unwrap()
        .is_none());
    assert!(store.account_data("m.ok").unwrap().is_some());
    let items = store.malformed_items().unwrap();
    let kinds: Vec<&str> = items.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["state", "timeline", "account_data"]);
    assert!(!items[1].reason.is_empty());
    assert_eq!(
        serde_json::from_str::<Value>(&items[1].json).unwrap(),
        bad_event
    );
}

#[test]
fn invites_knocks_joins_and_leaves_set_the_membership() {
    let mut store = Store::in_memory().unwrap();
    let invite = "!invite:example.org";
    let knock = "!knock:example.org";
    apply_batch(
        &mut store,
        &batch(json!({"next_batch": "s1", "rooms": {
            "invite": {invite: {"invite_state": {"events": [
                {"type": "m.room.name", "state_key": "", "sender": "@bob:example.org",
                 "content": {"name": "Come in"}},
                {"type": "m.room.member", "sender": "@bob:example.org", "content": {}},
            ]}}},
            "knock": {knock: {"knock_state": {"events": []}}},
        }})),
    )
    .unwrap();
    let rooms = store.rooms().unwrap();
    assert_eq!(
        rooms,
        vec![
            (support::room_id(invite), Membership::Invited),
            (support::room_id(knock), Membership::Knocked)
        ]
    );
    let name = store
        .state_event(&support::room_id(invite), "m.room.name", "")
        .unwrap()
        .unwrap();
    assert_eq!(name["content"]["name"], "Come in");
    assert_eq!(
        store.malformed_count().unwrap(),
        1,
        "the member event has no state_key"
    );

    apply_batch(
        &mut store,
        &batch(json!({"next_batch": "s2", "rooms": {
            "join": {invite: {"timeline": {"events": [message("$j1", "hello")]}}},
            "leave": {knock: {"timeline": {"events": []}}},
        }})),
    )
    .unwrap();
    let rooms = store.rooms().unwrap();
    assert_eq!(
        rooms,
        vec![
            (support::room_id(invite), Membership::Joined),
            (support::room_id(knock), Membership::Left)
        ]
    );
    assert_eq!(bodies(&store, invite), ["$j1"]);
}

#[test]
fn summary_fields_missing_from_a_batch_keep_their_stored_values() {
    let mut store = Store::in_memory().unwrap();
    apply_batch(&mut store, &first_batch()).unwrap();
    apply_batch(
        &mut store,
        &batch(json!({"next_batch": "s2", "rooms": {"join": {ROOM: {
            "summary": {"m.joined_member_count": 3},
            "unread_notifications": {"notification_count": 0},
        }}}})),
    )
    .unwrap();
    let summary = store
        .room_summary(&support::room_id(ROOM))
        .unwrap()
        .unwrap();
    assert_eq!(summary.heroes, vec![support::user_id("@bob:example.org")]);
    assert_eq!(summary.joined_member_count, Some(3));
    assert_eq!(
        (summary.notification_count, summary.highlight_count),
        (0, 1)
    );
}

#[test]
fn a_room_is_named_by_its_name_else_its_alias_else_its_heroes() {
    let mut store = Store::in_memory().unwrap();
    let member = |user: &str, name: &str| {
        state(
            "m.room.member",
            user,
            &format!("${user}"),
            json!({"membership": "join", "displayname": name}),
        )
    };
    apply_batch(&mut store, &batch(json!({"next_batch": "s1", "rooms": {"join": {ROOM: {
        "summary": {"m.heroes": ["@bob:example.org", "@carol:example.org"],
                    "m.joined_member_count": 3, "m.invited_member_count": 0},
        "state": {"events": [member("@bob:example.org", "Bob"), member("@carol:example.org", "Carol")]},
    }}}}))).unwrap();
    assert_eq!(
        store
            .room_display_name(&support::room_id(ROOM))
            .unwrap()
            .as_deref(),
        Some("Bob and Carol")
    );
    let parts = store
        .room_name_parts(&support::room_id(ROOM))
        .unwrap()
        .unwrap();
    assert_eq!(
        parts.heroes[0],
        (support::user_id("@bob:example.org"), Some("Bob".to_owned()))
    );

    apply_batch(&mut store, &batch(json!({"next_batch": "s2", "rooms": {"join": {ROOM: {
        "timeline": {"events": [state("m.room.canonical_alias", "", "$a", json!({"alias": "#r:example.org"}))]},
    }}}}))).unwrap();
    assert_eq!(
        store
            .room_display_name(&support::room_id(ROOM))
            .unwrap()
            .as_deref(),
        Some("#r:example.org")
    );

    apply_batch(
        &mut store,
        &batch(json!({"next_batch": "s3", "rooms": {"join": {ROOM: {
            "timeline": {"events": [state("m.room.name", "", "$n", json!({"name": "Kitchen"}))]},
        }}}})),
    )
    .unwrap();
    assert_eq!(
        store
            .room_display_name(&support::room_id(ROOM))
            .unwrap()
            .as_deref(),
        Some("Kitchen")
    );
    assert_eq!(
        store
            .room_display_name(&support::room_id("!unknown:example.org"))
            .unwrap(),
        None
    );
}

//! The room views over a real SQLite store file filled by sync batches.

use serde_json::{json, Value};

use super::MemberMembership;
use crate::store::Store;
use crate::sync::apply_batch;

const ROOM: &str = "!room:example.org";
const OTHER: &str = "!other:example.org";

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        Dir(std::env::temp_dir().join(format!(
            "quotient-client-rooms-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        )))
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn member(user: &str, membership: &str, name: Option<&str>, avatar: Option<&str>) -> Value {
    let mut content = json!({"membership": membership});
    if let Some(name) = name {
        content["displayname"] = json!(name);
    }
    if let Some(avatar) = avatar {
        content["avatar_url"] = json!(avatar);
    }
    json!({"type": "m.room.member", "state_key": user, "sender": user,
           "event_id": format!("$m-{user}-{membership}"), "origin_server_ts": 1,
           "content": content})
}

fn apply(store: &mut Store, batch: Value) {
    apply_batch(store, &serde_json::from_value(batch).unwrap()).unwrap();
}

fn store_with(dir: &Dir, batch: Value) -> Store {
    let mut store = Store::open(&dir.0).unwrap();
    apply(&mut store, batch);
    store
}

fn joined(room: &str, state: Vec<Value>, timeline: Vec<Value>, account_data: Vec<Value>) -> Value {
    json!({"next_batch": "s1", "rooms": {"join": {room: {
        "state": {"events": state},
        "timeline": {"events": timeline},
        "account_data": {"events": account_data},
    }}}})
}

#[test]
fn members_are_grouped_named_and_disambiguated() {
    let dir = Dir::new("members");
    let store = store_with(
        &dir,
        joined(
            ROOM,
            vec![
                member("@alice:a.example", "join", Some("Alice"), Some("mxc://a/1")),
                member("@alice:evil.example", "invite", Some("Alice"), None),
                member("@bob:example.org", "join", Some("Bob"), None),
                member("@carol:example.org", "join", None, None),
                member("@dave:example.org", "leave", Some("Bob"), None),
                member("@erin:example.org", "ban", Some("Erin"), None),
                member(
                    "@mallory:example.org",
                    "join",
                    Some("@bob:example.org"),
                    None,
                ),
                json!({"type": "m.room.member", "state_key": "@odd:example.org",
                       "sender": "@odd:example.org", "event_id": "$odd",
                       "origin_server_ts": 1, "content": {"membership": 7}}),
            ],
            vec![],
            vec![],
        ),
    );
    let members = store.members(&crate::test_ids::room_id(ROOM)).unwrap();
    let view: Vec<(&str, MemberMembership, &str)> = members
        .iter()
        .map(|m| {
            (
                m.user_id.as_str(),
                m.membership,
                m.disambiguated_name.as_str(),
            )
        })
        .collect();
    use MemberMembership::*;
    assert_eq!(
        view,
        [
            ("@alice:a.example", Joined, "Alice (@alice:a.example)"),
            ("@bob:example.org", Joined, "Bob"),
            ("@carol:example.org", Joined, "@carol:example.org"),
            (
                "@mallory:example.org",
                Joined,
                "@bob:example.org (@mallory:example.org)"
            ),
            (
                "@alice:evil.example",
                Invited,
                "Alice (@alice:evil.example)"
            ),
            // Left: named against the current members, so a former
            // member cannot pass as the current "Bob"…
            ("@dave:example.org", Left, "Bob (@dave:example.org)"),
            ("@erin:example.org", Banned, "Erin"),
        ],
        "a member event without a usable membership is skipped"
    );
    assert_eq!(members[0].avatar_url.as_deref(), Some("mxc://a/1"));
    assert_eq!(members[0].display_name.as_deref(), Some("Alice"));
    // …and the current "Bob" is not disambiguated by a member who left.
    let bob = store
        .member(&crate::test_ids::room_id(ROOM), &user("@bob:example.org"))
        .unwrap()
        .unwrap();
    assert_eq!(bob.disambiguated_name, "Bob");
    assert!(store
        .member(&crate::test_ids::room_id(ROOM), &user("@nobody:x"))
        .unwrap()
        .is_none());
    assert!(store
        .members(&crate::test_ids::room_id("!unknown:x"))
        .unwrap()
        .is_empty());
}

#[test]
fn a_later_batch_changes_a_members_name_and_membership() {
    let dir = Dir::new("members-later");
    let mut store = store_with(
        &dir,
        joined(
            ROOM,
            vec![
                member("@a:x", "join", Some("Sam"), None),
                member("@b:x", "join", Some("Sam"), None),
            ],
            vec![],
            vec![],
        ),
    );
    let names = |s: &Store| -> Vec<String> {
        s.members(&crate::test_ids::room_id(ROOM))
            .unwrap()
            .into_iter()
            .map(|m| format!("{} {}", m.membership.as_str(), m.disambiguated_name))
            .collect()
    };
    assert_eq!(names(&store), ["join Sam (@a:x)", "join Sam (@b:x)"]);
    // In the timeline: state changes that arrive as events count too.
    apply(
        &mut store,
        json!({"next_batch": "s2", "rooms": {"join": {ROOM: {
            "timeline": {"events": [member("@b:x", "leave", Some("Sam"), None)]}}}}}),
    );
    assert_eq!(names(&store), ["join Sam", "leave Sam (@b:x)"]);
    drop(store);
    // Reopened from the file: the same view.
    let store = Store::open(&dir.0).unwrap();
    assert_eq!(names(&store), ["join Sam", "leave Sam (@b:x)"]);
}

#[test]
fn tags_come_from_room_account_data() {
    let dir = Dir::new("tags");
    let mut store = store_with(
        &dir,
        joined(
            ROOM,
            vec![],
            vec![],
            vec![json!({"type": "m.tag", "content": {"tags": {
                "u.work": {"order": 0.25},
                "m.favourite": {},
                "u.odd": {"order": "first"},
                "u.weird": 5,
            }}})],
        ),
    );
    let tags: Vec<(String, Option<f64>)> = store
        .room_tags(&crate::test_ids::room_id(ROOM))
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.order))
        .collect();
    assert_eq!(
        tags,
        [
            ("m.favourite".to_owned(), None),
            ("u.odd".to_owned(), None),
            ("u.weird".to_owned(), None),
            ("u.work".to_owned(), Some(0.25)),
        ]
    );
    assert!(store
        .room_tags(&crate::test_ids::room_id("!unknown:x"))
        .unwrap()
        .is_empty());
    // A later m.tag replaces the whole set.
    apply(
        &mut store,
        json!({"next_batch": "s2", "rooms": {"join": {ROOM: {"account_data": {"events": [
            {"type": "m.tag", "content": {"tags": {}}}]}}}}}),
    );
    assert!(store
        .room_tags(&crate::test_ids::room_id(ROOM))
        .unwrap()
        .is_empty());
}

#[test]
fn direct_chats_come_from_m_direct() {
    let dir = Dir::new("direct");
    let mut store = store_with(&dir, joined(ROOM, vec![], vec![], vec![]));
    assert!(
        !store.is_direct(&crate::test_ids::room_id(ROOM)).unwrap(),
        "no m.direct yet"
    );
    assert!(store.direct_chats().unwrap().by_user().is_empty());
    apply(
        &mut store,
        json!({"next_batch": "s2", "account_data": {"events": [{"type": "m.direct", "content": {
            "@bob:example.org": [ROOM, OTHER],
            "@carol:example.org": [OTHER, 12],
            "@dan:example.org": "not a list",
        }}]}}),
    );
    let direct = store.direct_chats().unwrap();
    let room = crate::test_ids::room_id;
    assert_eq!(
        direct.rooms_with(&user("@bob:example.org")),
        [room(ROOM), room(OTHER)]
    );
    assert_eq!(
        direct.rooms_with(&user("@carol:example.org")),
        [room(OTHER)]
    );
    assert!(direct.rooms_with(&user("@dan:example.org")).is_empty());
    assert_eq!(
        direct.users_of(&room(OTHER)),
        [&user("@bob:example.org"), &user("@carol:example.org")]
    );
    assert!(store.is_direct(&crate::test_ids::room_id(ROOM)).unwrap());
    assert!(!store
        .is_direct(&crate::test_ids::room_id("!group:example.org"))
        .unwrap());
}

fn user(text: &str) -> quotient_api::UserId {
    quotient_api::UserId::parse(text).unwrap()
}

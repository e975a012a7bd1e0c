//! The room commands end to end against a real Synapse: two users, a room
//! created with an invite, joined on the other side, messages from the
//! library in `messages` and `tail --json`, `rooms` and `room`
//! (disambiguated members), an ambiguous name (exit 2), leave, and a
//! revoked token (exit 7).
//!
//! Run with `cargo test -p quotient-cli --test rooms` (one process).

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use quotient::Connection;
use quotient_api::generated::account_data::GetAccountData;
use quotient_api::generated::room_send::SendMessage;
use quotient_api::generated::room_state::SetRoomStateWithKey;
use quotient_api::{JsonObject, RoomId};
use serde_json::{json, Value};
use support::homeserver::{fresh_user, homeserver, Config, User};
use support::{code, json, login, quotient, stderr, store, Running};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn obj(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("an object literal"),
    }
}

/// A library connection signed in as `user` (its own device).
fn library_login(rt: &tokio::runtime::Runtime, user: &User) -> Connection {
    let conn = homeserver(Config::Default).connection();
    rt.block_on(conn.login_with_password(&user.user_id, user.password.clone().into(), Some("lib")))
        .unwrap();
    conn
}

fn send(rt: &tokio::runtime::Runtime, conn: &Connection, room: &str, txn: &str, body: &str) {
    let content = obj(json!({"msgtype": "m.text", "body": body}));
    let request = SendMessage::new(
        RoomId::parse(room).unwrap(),
        "m.room.message".into(),
        txn.into(),
        content,
    );
    rt.block_on(async { conn.submit(request).await }).unwrap();
}

fn ok(out: &std::process::Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

fn sync_once(store: &Path) {
    ok(&quotient(store, &["sync", "--once"], ""));
}

/// `messages --json`: one JSON object per line.
fn lines(out: &std::process::Output) -> Vec<Value> {
    ok(out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn room_row(rooms: &Value, id: &str) -> Value {
    rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in {rooms}"))
}

#[test]
fn two_users_a_room_messages_tail_names_leave_and_a_revoked_token() {
    let rt = runtime();
    let hs = homeserver(Config::Default);
    let alice = fresh_user(hs, "ralice");
    let bob = fresh_user(hs, "rbob");
    let (a, b) = (store("rooms-a"), store("rooms-b"));
    login(&a, Config::Default, &alice);
    login(&b, Config::Default, &bob);
    let bob_lib = library_login(&rt, &bob);

    // Alice creates a named room inviting Bob; Bob joins from his store.
    let created = json(&quotient(
        &a,
        &[
            "--json",
            "create-room",
            "--unencrypted",
            "--name",
            "Team Room",
            "--invite",
            &bob.user_id,
        ],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    // Bob's library sends plain events below: a room made without encryption.
    assert_eq!(created["encrypted"], false);
    assert_eq!(created["invited"], json!([bob.user_id]));
    sync_once(&b);
    let bobs_rooms = json(&quotient(&b, &["--json", "rooms"], ""));
    assert_eq!(room_row(&bobs_rooms, &room)["membership"], "invite");
    let joined = json(&quotient(&b, &["--json", "join", &room], ""));
    assert_eq!(joined["room_id"], room);

    // Bob, through the library, takes Alice's display name in the room
    // and sends two messages.
    let same_name = obj(json!({"membership": "join", "displayname": alice.localpart}));
    let request = SetRoomStateWithKey::new(
        RoomId::parse(room.as_str()).unwrap(),
        "m.room.member".into(),
        bob.user_id.clone(),
        same_name,
    );
    rt.block_on(async { bob_lib.submit(request).await })
        .unwrap();
    send(&rt, &bob_lib, &room, "t1", "hello from bob");
    send(&rt, &bob_lib, &room, "t2", "second from bob");

    sync_once(&a);
    // The room store is beside the session, owner-only.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&a.join("client.sqlite3")), 0o600);

    let rooms = json(&quotient(&a, &["--json", "rooms"], ""));
    let row = room_row(&rooms, &room);
    assert_eq!(row["name"], "Team Room");
    assert_eq!(row["membership"], "join");
    assert!(row["notification_count"].is_u64());

    // By display name; both members named "alice…" are disambiguated.
    let messages = lines(&quotient(
        &a,
        &["--json", "messages", "Team Room", "--limit", "50"],
        "",
    ));
    let bodies: Vec<&str> = messages
        .iter()
        .filter(|m| m["type"] == "m.room.message")
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["hello from bob", "second from bob"]);
    let from_bob = messages
        .iter()
        .find(|m| m["body"] == "hello from bob")
        .unwrap();
    assert_eq!(from_bob["sender"], bob.user_id);
    assert_eq!(from_bob["room_id"], room);
    let disambiguated = |user: &str| format!("{} ({user})", alice.localpart);
    assert_eq!(from_bob["sender_name"], disambiguated(&bob.user_id));
    // --limit counts events, the newest last.
    let last = lines(&quotient(
        &a,
        &["--json", "messages", &room, "--limit", "1"],
        "",
    ));
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["body"], "second from bob");

    let shown = json(&quotient(&a, &["--json", "room", &room], ""));
    assert_eq!(shown["name"], "Team Room");
    assert_eq!(shown["membership"], "join");
    assert!(shown["encryption"].is_null());
    assert_eq!(shown["join_rule"], "invite");
    let mut names: Vec<(String, String)> = shown["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    names.sort();
    let mut want = vec![
        (alice.user_id.clone(), disambiguated(&alice.user_id)),
        (bob.user_id.clone(), disambiguated(&bob.user_id)),
    ];
    want.sort();
    assert_eq!(names, want);
    let text = quotient(&a, &["room", "Team Room"], "");
    ok(&text);
    assert!(String::from_utf8_lossy(&text.stdout).contains(&disambiguated(&bob.user_id)));

    // tail --json follows what Bob sends next, one JSON line each, and
    // SIGTERM ends it cleanly.
    let mut tail = Running::start(&a, &["--json", "tail", &room]);
    send(&rt, &bob_lib, &room, "t3", "live from bob");
    let seen: Vec<Value> = tail
        .lines_until(|l| l.contains("live from bob"))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("non-JSON ({e}): {l}")))
        .collect();
    let live = seen.last().unwrap();
    assert_eq!(live["sender"], bob.user_id);
    assert_eq!(live["room_id"], room);
    assert!(
        seen.iter().all(|v| v["body"] != "hello from bob"),
        "tail prints new events only: {seen:?}"
    );
    assert_eq!(tail.terminate().0, Some(0), "tail ends cleanly on SIGTERM");

    // A second room with the same name: the name is ambiguous (exit 2,
    // both candidates listed) until Alice leaves one.
    let second = json(&quotient(
        &a,
        &["--json", "create-room", "--name", "Team Room"],
        "",
    ));
    let second = second["room_id"].as_str().unwrap().to_owned();
    sync_once(&a);
    let ambiguous = quotient(&a, &["messages", "Team Room"], "");
    assert_eq!(code(&ambiguous), 2, "{}", stderr(&ambiguous));
    assert!(stderr(&ambiguous).contains(&room) && stderr(&ambiguous).contains(&second));
    let unknown = quotient(&a, &["room", "No Such Room"], "");
    assert_eq!(code(&unknown), 2, "{}", stderr(&unknown));

    let left = json(&quotient(&a, &["--json", "leave", &second], ""));
    assert_eq!(left["left"], true);
    sync_once(&a);
    let rooms = json(&quotient(&a, &["--json", "rooms"], ""));
    assert_eq!(room_row(&rooms, &second)["membership"], "leave");
    // A room left is a weaker match: the name now means the first room.
    let messages = lines(&quotient(&a, &["--json", "messages", "Team Room"], ""));
    assert!(messages.iter().all(|m| m["room_id"] == room));

    // Alice's token revoked through the library: sync exits 7.
    let session = quotient::store::load_session(&a.join("session.json")).unwrap();
    let conn = hs.connection();
    conn.adopt_session(session);
    rt.block_on(async { conn.logout().await }).unwrap();
    let revoked = quotient(&a, &["sync", "--once"], "");
    assert_eq!(code(&revoked), 7, "{}", stderr(&revoked));
    assert!(
        stderr(&revoked).contains("M_UNKNOWN_TOKEN"),
        "{}",
        stderr(&revoked)
    );
}

/// `tail` restarted: what came while it was stopped is printed once, what
/// it printed before is not printed again; member events say what changed.
#[test]
fn tail_across_a_restart_prints_each_event_once() {
    let rt = runtime();
    let hs = homeserver(Config::Default);
    let carol = fresh_user(hs, "tcarol");
    let a = store("tail-a");
    login(&a, Config::Default, &carol);
    let lib = library_login(&rt, &carol);
    let created = json(&quotient(
        &a,
        &["--json", "create-room", "--name", "Tail"],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    sync_once(&a);

    let mut tail = Running::start(&a, &["tail"]);
    send(&rt, &lib, &room, "u1", "one");
    let mut first = tail.lines_until(|l| l.ends_with(": one"));
    let (status, rest) = tail.terminate();
    assert_eq!(status, Some(0));
    first.extend(rest);

    // While tail is stopped: a message and a display name change.
    send(&rt, &lib, &room, "u2", "two");
    let renamed = obj(json!({"membership": "join", "displayname": "Caz"}));
    let request = SetRoomStateWithKey::new(
        RoomId::parse(room.as_str()).unwrap(),
        "m.room.member".into(),
        carol.user_id.clone(),
        renamed,
    );
    rt.block_on(async { lib.submit(request).await }).unwrap();

    let mut tail = Running::start(&a, &["tail"]);
    send(&rt, &lib, &room, "u3", "three");
    let mut second = tail.lines_until(|l| l.ends_with(": three"));
    let (status, rest) = tail.terminate();
    assert_eq!(status, Some(0));
    second.extend(rest);

    // The first run: "one" once, none of the history before it.
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].ends_with(": one"), "{first:?}");
    // The restarted one: what came while stopped, once, in order, then
    // the live one; nothing printed before is printed again.
    assert_eq!(second.len(), 3, "{second:?}");
    assert!(second[0].ends_with(": two"), "{second:?}");
    let renamed = format!(" {} changed their name to Caz", carol.localpart);
    assert!(second[1].ends_with(&renamed), "{second:?}");
    assert!(second[2].ends_with("Caz: three"), "{second:?}");
}

/// `messages --limit N` with more history than the sync brought (the
/// timeline limit is 50): back-paginates, N events in order, no
/// duplicate; `create-room --direct` is in `m.direct` and shown direct.
#[test]
fn messages_back_paginates_and_a_direct_room_is_direct() {
    let rt = runtime();
    let hs = homeserver(Config::Default);
    let dave = fresh_user(hs, "mdave");
    let erin = fresh_user(hs, "merin");
    let a = store("messages-a");
    login(&a, Config::Default, &dave);
    let lib = library_login(&rt, &dave);
    let created = json(&quotient(
        &a,
        &["--json", "create-room", "--name", "Long"],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    sync_once(&a);
    for i in 0..60 {
        send(&rt, &lib, &room, &format!("m{i}"), &format!("m{i}"));
    }
    sync_once(&a);
    let messages = lines(&quotient(
        &a,
        &["--json", "messages", &room, "--limit", "55"],
        "",
    ));
    let bodies: Vec<&str> = messages.iter().filter_map(|m| m["body"].as_str()).collect();
    let want: Vec<String> = (5..60).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies, want, "the newest 55, oldest first");
    let mut ids: Vec<&str> = messages
        .iter()
        .map(|m| m["event_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 55, "no duplicate");

    let direct = json(&quotient(
        &a,
        &[
            "--json",
            "create-room",
            "--direct",
            "--invite",
            &erin.user_id,
        ],
        "",
    ));
    assert_eq!(direct["direct"], true);
    let dm = direct["room_id"].as_str().unwrap().to_owned();
    let request = GetAccountData::new(dave.user_id.clone(), "m.direct".into());
    let m_direct = rt.block_on(async { lib.submit(request).await }).unwrap();
    let m_direct = Value::Object(m_direct.0.clone());
    assert_eq!(m_direct[&erin.user_id], json!([dm]), "{m_direct}");
    sync_once(&a);
    let rooms = json(&quotient(&a, &["--json", "rooms"], ""));
    assert_eq!(room_row(&rooms, &dm)["direct"], true);
    assert_eq!(room_row(&rooms, &room)["direct"], false);
    let shown = json(&quotient(&a, &["--json", "room", &dm], ""));
    assert_eq!(shown["direct"], true);
    let text = quotient(&a, &["room", &dm], "");
    ok(&text);
    assert!(String::from_utf8_lossy(&text.stdout).contains("direct:     yes"));
}

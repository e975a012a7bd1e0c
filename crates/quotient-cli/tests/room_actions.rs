//! The room and account commands of issue #22 end to end against a real
//! Synapse: a kick the power levels refuse (exit 3, nothing sent), the
//! room's name and topic set and read back by the other member, a
//! message sent into a thread and read back with `threads` and
//! `messages --thread`, `read`, `profile`, `ignore`/`unignore`, and
//! kick, ban and unban.
//!
//! Run with `cargo test -p quotient-cli --test room_actions` (one process).

mod support;

use std::path::Path;

use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, login, quotient, stderr, store};

fn ok(out: &std::process::Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

fn sync_once(store: &Path) {
    ok(&quotient(store, &["sync", "--once"], ""));
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    ok(out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn room_changes_threads_markers_profile_ignoring_and_moderation_through_the_cli() {
    let hs = homeserver(Config::Default);
    let alice = fresh_user(hs, "caalice");
    let bob = fresh_user(hs, "cabob");
    let (a, b) = (store("actions-a"), store("actions-b"));
    login(&a, Config::Default, &alice);
    login(&b, Config::Default, &bob);
    let created = json(&quotient(
        &a,
        &[
            "--json",
            "create-room",
            "--unencrypted",
            "--name",
            "Actions",
            "--invite",
            &bob.user_id,
        ],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    ok(&quotient(&b, &["join", &room], ""));
    sync_once(&a);
    sync_once(&b);

    // Bob may not kick Alice (the room's creator): refused, exit 3.
    let refused = quotient(&b, &["kick", &room, &alice.user_id], "");
    assert_eq!(code(&refused), 3, "stderr: {}", stderr(&refused));
    assert!(
        stderr(&refused).contains("needs power level 50"),
        "{}",
        stderr(&refused)
    );

    // Alice renames the room and sets its topic; Bob reads both back.
    let named = json(&quotient(
        &a,
        &["--json", "room", &room, "set-name", "Renamed"],
        "",
    ));
    assert_eq!(named["room_id"], room.as_str());
    assert!(named["event_id"].as_str().unwrap().starts_with('$'));
    ok(&quotient(
        &a,
        &["room", &room, "set-topic", "What we do"],
        "",
    ));
    sync_once(&b);
    let shown = json(&quotient(&b, &["--json", "room", &room], ""));
    assert_eq!(
        (&shown["name"], &shown["topic"]),
        (&Value::from("Renamed"), &Value::from("What we do"))
    );

    // A thread: Alice's root, Bob's reply in it.
    let root = json(&quotient(
        &a,
        &["--json", "send", &room, "root message"],
        "",
    ));
    let root = root["event_id"].as_str().unwrap().to_owned();
    sync_once(&b);
    ok(&quotient(
        &b,
        &["send", &room, "--thread", &root, "in the thread"],
        "",
    ));
    let threads = json(&quotient(&a, &["--json", "threads", &room], ""));
    assert_eq!(threads[0]["root_id"], root.as_str());
    assert_eq!(threads[0]["count"], 1);
    assert_eq!(threads[0]["latest_body"], "in the thread");
    let thread = lines(&quotient(
        &a,
        &["--json", "messages", &room, "--thread", &root],
        "",
    ));
    let bodies: Vec<&str> = thread.iter().map(|l| l["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["root message", "in the thread"]);

    // Bob reads the room up to its newest event.
    sync_once(&b);
    let read = json(&quotient(&b, &["--json", "read", &room], ""));
    assert!(
        read["event_id"]
            .as_str()
            .is_some_and(|e| e.starts_with('$')),
        "{read}"
    );

    // Bob's profile.
    let profile = json(&quotient(&b, &["--json", "profile", "--name", "Bobby"], ""));
    assert_eq!(profile["display_name"], "Bobby");
    assert_eq!(profile["user_id"], bob.user_id.as_str());

    // Ignoring and back.
    let ignored = json(&quotient(&a, &["--json", "ignore", &bob.user_id], ""));
    assert_eq!(ignored["ignored"], true);
    sync_once(&a);
    let shown = lines(&quotient(
        &a,
        &["--json", "messages", &room, "--limit", "50"],
        "",
    ));
    assert!(!shown.is_empty());
    assert!(
        shown.iter().all(|l| l["sender"] != bob.user_id.as_str()),
        "an ignored user's events are not shown: {shown:?}"
    );
    let unignored = json(&quotient(&a, &["--json", "unignore", &bob.user_id], ""));
    assert_eq!(unignored["ignored"], false);
    let bad = quotient(&a, &["ignore", "bob"], "");
    assert_eq!(code(&bad), 2, "not a user ID: a usage error");

    // Alice moderates Bob.
    for action in ["kick", "ban", "unban"] {
        sync_once(&a);
        let done = json(&quotient(
            &a,
            &["--json", action, &room, &bob.user_id, "--reason", "testing"],
            "",
        ));
        assert_eq!(done["action"], action);
        assert_eq!(done["user_id"], bob.user_id.as_str());
    }
    sync_once(&a);
    let shown = json(&quotient(&a, &["--json", "room", &room], ""));
    let bob_row = shown["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == bob.user_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(bob_row["membership"], "leave", "unbanned: left");
}

//! Sliding sync from the command line against a real Synapse, which
//! offers it: `sync --once` uses it without being asked and grows the
//! room list until it covers the account (one JSON line per response,
//! with the window), after a run killed (SIGKILL) before its first
//! commit left nothing behind; `rooms` lists them the most recently
//! active first, with unread counts worked out on our side, and
//! `sync --once --v3` goes on from the same store.
//!
//! Run with `cargo test -p quotient-cli --test sliding`.

mod support;

use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, kill_at_pause, login, quotient, stderr, store};

const ROOMS: usize = 30;

fn ok(out: &std::process::Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

#[test]
fn the_room_list_comes_whole_and_most_recent_first() {
    // Room creation unthrottled.
    let hs = homeserver(Config::Conformance);
    let user = fresh_user(hs, "slidecli");
    let s = store("slidecli");
    login(&s, Config::Conformance, &user);
    let mut made = Vec::new();
    for n in 0..ROOMS {
        let created = json(&quotient(
            &s,
            &[
                "--json",
                "create-room",
                "--unencrypted",
                "--name",
                &format!("Talk {n:02}"),
            ],
            "",
        ));
        made.push(created["room_id"].as_str().unwrap().to_owned());
    }
    // Killed with the first response folded but not committed: nothing
    // of it is kept, and the next run starts over from nothing.
    kill_at_pause(
        &s,
        &["sync", "--once"],
        "QUOTIENT_CLIENT_TEST_PAUSE_BEFORE_COMMIT",
    );
    let none = json(&quotient(&s, &["--json", "rooms"], ""));
    assert_eq!(none.as_array().unwrap().len(), 0, "{none}");
    let out = quotient(&s, &["--json", "sync", "--once"], "");
    ok(&out);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 2, "the list grew over responses: {lines:?}");
    assert_eq!(lines[0]["window"], 20, "{lines:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["window"], ROOMS, "{last}");
    assert_eq!(last["rooms_total"], ROOMS, "{last}");

    let rooms = json(&quotient(&s, &["--json", "rooms"], ""));
    let listed: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["room_id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = made.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first, "most recently active first");
    assert_eq!(rooms[0]["name"], format!("Talk {:02}", ROOMS - 1));
    for room in rooms.as_array().unwrap() {
        // Our own creation events are the newest: nothing unread, and the
        // count is ours, exact.
        assert_eq!(room["notification_count"], 0, "{room}");
        assert_eq!(room["unread_source"], "counted", "{room}");
    }

    // v3 goes on from the same store, and its counts are the server's.
    ok(&quotient(&s, &["sync", "--once", "--v3"], ""));
    let again = json(&quotient(&s, &["--json", "rooms"], ""));
    assert_eq!(again.as_array().unwrap().len(), ROOMS);
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["unread_source"] == "server"),
        "{again}"
    );

    // --v3 with --sliding is a usage error.
    let both = quotient(&s, &["sync", "--once", "--v3", "--sliding"], "");
    assert_eq!(code(&both), 2, "stderr: {}", stderr(&both));
}

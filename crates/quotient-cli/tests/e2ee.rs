//! End-to-end encryption from the command line against a real Synapse,
//! with processes killed (SIGKILL) where clients lose keys:
//!
//! - after `/sync` brought a room key and the crypto machine stored it,
//!   before the batch was committed: the next run reads the message;
//! - after `/keys/upload` reached the server, before its answer was
//!   handed to the machine: the next run uploads the same keys (no
//!   one-time key ID reused with another key), and a new peer still
//!   builds a session with the device and is read.
//!
//! Run with `cargo test -p quotient-cli --test e2ee` (one process).

mod support;

use std::path::Path;

use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, kill_at_pause, login, quotient, quotient_with, stderr, store};

fn ok(out: &std::process::Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

fn signed_in(name: &str) -> (std::path::PathBuf, String) {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, name);
    let s = store(name);
    login(&s, Config::Default, &user);
    // Signed in with a password: cross-signed from the start.
    let who = json(&quotient(&s, &["--json", "whoami"], ""));
    assert_eq!(who["cross_signed"], true, "{who}");
    (s, user.user_id)
}

/// The decrypted messages of `room` as `messages --json` prints them.
fn messages(s: &Path, room: &str) -> Vec<Value> {
    let out = quotient(s, &["--json", "messages", room, "--limit", "50"], "");
    ok(&out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn body_of<'a>(lines: &'a [Value], body: &str) -> Option<&'a Value> {
    lines.iter().find(|m| m["body"] == body)
}

/// Alice's encrypted room with Bob joined, both synced.
fn shared_room(a: &Path, b: &Path, bob: &str) -> String {
    let created = json(&quotient(
        a,
        &["--json", "create-room", "--name", "Kill", "--invite", bob],
        "",
    ));
    assert_eq!(created["encrypted"], true);
    let room = created["room_id"].as_str().unwrap().to_owned();
    ok(&quotient(b, &["sync", "--once"], ""));
    ok(&quotient(b, &["join", &room], ""));
    ok(&quotient(b, &["sync", "--once"], ""));
    ok(&quotient(a, &["sync", "--once"], ""));
    room
}

/// Syncs `s` until its `messages` show `body` (at most 20 syncs).
fn sync_until_body(s: &Path, room: &str, body: &str) -> Value {
    for _ in 0..20 {
        ok(&quotient(s, &["sync", "--once"], ""));
        let lines = messages(s, room);
        if let Some(m) = body_of(&lines, body) {
            return m.clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("{body:?} never showed: {:#?}", messages(s, room));
}

#[test]
fn a_room_key_delivered_by_a_batch_killed_before_its_commit_is_not_lost() {
    let (a, _) = signed_in("e2ekilla");
    let (b, bob) = signed_in("e2ekillb");
    ok(&quotient(&a, &["sync", "--once"], ""));
    let room = shared_room(&a, &b, &bob);

    // A new room key for Bob travels with this message.
    ok(&quotient(&a, &["send", &room, "the key rides with me"], ""));
    kill_at_pause(
        &b,
        &["sync", "--once"],
        "QUOTIENT_CLIENT_TEST_PAUSE_BEFORE_COMMIT",
    );
    // Not committed: nothing of the batch in the store.
    assert!(body_of(&messages(&b, &room), "the key rides with me").is_none());

    let got = sync_until_body(&b, &room, "the key rides with me");
    assert_eq!(got["encrypted"], true, "{got}");
    assert!(got["decryption_error"].is_null(), "{got}");
}

#[test]
fn a_keys_upload_killed_before_its_answer_reuses_no_one_time_key_id() {
    let (a, _) = signed_in("e2eotka");
    let (b, bob) = signed_in("e2eotkb");
    // Bob's very first run uploads the device's keys; the server takes
    // them, and the process dies before the machine hears the answer.
    kill_at_pause(
        &b,
        &["sync", "--once"],
        "QUOTIENT_CLIENT_TEST_PAUSE_AFTER_KEYS_UPLOAD",
    );
    // The next run uploads what is still unacknowledged: the same keys,
    // which the server accepts (a reused ID with another key it would
    // refuse with "one time key already exists").
    let out = quotient(&b, &["-v", "sync", "--once"], "");
    ok(&out);
    assert!(!stderr(&out).contains("already exists"), "{}", stderr(&out));
    let who = json(&quotient(&b, &["--json", "whoami"], ""));
    assert_eq!(who["cross_signed"], true, "{who}");

    // A new peer claims one of those one-time keys, builds a session and
    // is read.
    ok(&quotient(&a, &["sync", "--once"], ""));
    let room = shared_room(&a, &b, &bob);
    ok(&quotient(&a, &["send", &room, "after the kill"], ""));
    let got = sync_until_body(&b, &room, "after the kill");
    assert!(got["decryption_error"].is_null(), "{got}");
}

/// `quotient ARGS` with every log line of every crate on stderr (TRACE).
fn traced(s: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_quotient"));
    command.env("RUST_LOG", "trace");
    let out = quotient_with(command, s, args, stdin);
    ok(&out);
    out
}

#[test]
fn no_log_line_at_any_level_holds_a_message_a_passphrase_or_a_token() {
    let (a, _) = signed_in("e2eloga");
    let (b, bob) = signed_in("e2elogb");
    ok(&quotient(&a, &["sync", "--once"], ""));
    let room = shared_room(&a, &b, &bob);
    let mut logs = Vec::new();
    logs.push(traced(&a, &["send", &room, "SECRET-BODY-31337"], ""));
    logs.push(traced(&b, &["sync", "--once"], ""));
    logs.push(traced(&b, &["--json", "messages", &room], ""));
    let keys = b.join("keys.txt");
    logs.push(traced(
        &b,
        &[
            "keys",
            "export",
            keys.to_str().unwrap(),
            "--passphrase-stdin",
        ],
        "PASSPHRASE-4242\n",
    ));
    // The message did reach Bob, decrypted (so the logs had the chance).
    let shown = String::from_utf8_lossy(&logs[2].stdout).into_owned();
    assert!(shown.contains("SECRET-BODY-31337"), "{shown}");
    let session: Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("session.json")).unwrap()).unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    for (i, out) in logs.iter().enumerate() {
        let log = stderr(out);
        // `messages` reads the store alone when the sync left no gap, and
        // may log little.
        if i != 2 {
            assert!(log.lines().count() > 10, "run {i} logged at TRACE: {log}");
        }
        for secret in ["SECRET-BODY-31337", "PASSPHRASE-4242", token.as_str()] {
            assert!(!log.contains(secret), "run {i} logged {secret:?}");
        }
    }
}

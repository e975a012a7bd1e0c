//! Sending from the command line against a real Synapse: every kind of
//! message read back; a `send` killed after the server took the message
//! but before the answer was stored is resent with the same transaction
//! ID by the next run and lands once; a `send` to an unreachable server
//! exits 6 with the message queued, and the next one delivers both, in
//! order; `download ROOM EVENT` taking a message's file; in an encrypted
//! room, a file sent with `send --file` reaching the server as
//! ciphertext, and room keys exported and imported with `keys`.
//!
//! Run with `cargo test -p quotient-cli --test send` (one process).

mod support;

use std::path::Path;

use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, kill_at_pause, login, quotient, stderr, store};

fn ok(out: &std::process::Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

/// A signed-in store and a fresh room in it, made without encryption
/// (these tests read the bodies on the server).
fn room_for(name: &str) -> (std::path::PathBuf, String) {
    made_room(name, &["--unencrypted"])
}

/// A signed-in store and a fresh room in it, as `create-room` makes it
/// with `extra` arguments.
fn made_room(name: &str, extra: &[&str]) -> (std::path::PathBuf, String) {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, name);
    let s = store(name);
    login(&s, Config::Default, &user);
    let mut args = vec!["--json", "create-room", "--name", name];
    args.extend_from_slice(extra);
    let created = json(&quotient(&s, &args, ""));
    assert_eq!(created["encrypted"], extra.is_empty());
    (s, created["room_id"].as_str().unwrap().to_owned())
}

/// The room's events of `kind` as Synapse has them, oldest first.
fn server_events(s: &Path, room: &str, kind: &str) -> Vec<Value> {
    let path = format!("/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=100");
    let page = json(&quotient(s, &["api", "GET", &path], ""));
    let mut events: Vec<Value> = page["chunk"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect();
    events.reverse();
    events
}

/// The room's m.room.message events as Synapse has them, oldest first,
/// read with `quotient api` (not through the outbox under test).
fn server_messages(s: &Path, room: &str) -> Vec<Value> {
    server_events(s, room, "m.room.message")
}

fn bodies(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["content"]["body"].as_str().unwrap_or(""))
        .collect()
}

fn outbox(s: &Path) -> Vec<Value> {
    json(&quotient(s, &["--json", "outbox"], ""))
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn every_kind_of_message_is_sent_and_read_back() {
    let (s, room) = room_for("sendkinds");
    let sent = json(&quotient(&s, &["--json", "send", &room, "hello"], ""));
    assert_eq!(sent["state"], "sent");
    let hello = sent["event_id"].as_str().unwrap().to_owned();
    ok(&quotient(&s, &["send", &room, "--notice"], "from stdin\n"));
    ok(&quotient(&s, &["send", &room, "--emote", "waves"], ""));
    ok(&quotient(
        &s,
        &["send", &room, "--html", "<b>bold</b> &amp; more"],
        "",
    ));
    let reply = json(&quotient(
        &s,
        &["--json", "send", &room, "--reply-to", &hello, "a reply"],
        "",
    ));
    ok(&quotient(&s, &["react", &room, &hello, "👍"], ""));
    ok(&quotient(&s, &["edit", &room, &hello, "hello, edited"], ""));
    let doomed = json(&quotient(&s, &["--json", "send", &room, "doomed"], ""));
    let doomed = doomed["event_id"].as_str().unwrap();
    ok(&quotient(
        &s,
        &["redact", &room, doomed, "--reason", "a test"],
        "",
    ));
    let file = s.with_extension("notes.txt");
    std::fs::write(&file, "file contents\n").unwrap();
    let file_arg = file.to_str().unwrap();
    ok(&quotient(&s, &["send", &room, "--file", file_arg], ""));

    let messages = server_messages(&s, &room);
    let find = |body: &str| {
        messages
            .iter()
            .find(|m| m["content"]["body"] == body)
            .unwrap_or_else(|| panic!("{body} in {messages:?}"))
    };
    assert_eq!(find("hello")["event_id"], hello.as_str());
    assert_eq!(find("from stdin")["content"]["msgtype"], "m.notice");
    assert_eq!(find("waves")["content"]["msgtype"], "m.emote");
    let html = find("bold & more");
    assert_eq!(html["content"]["formatted_body"], "<b>bold</b> &amp; more");
    assert_eq!(html["content"]["format"], "org.matrix.custom.html");
    let reply_event = find("a reply");
    assert_eq!(reply_event["event_id"], reply["event_id"]);
    assert_eq!(
        reply_event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"],
        hello.as_str()
    );
    let edit = find("* hello, edited");
    assert_eq!(edit["content"]["m.new_content"]["body"], "hello, edited");
    let file_name = file.file_name().unwrap().to_str().unwrap();
    let sent_file = find(file_name);
    assert_eq!(sent_file["content"]["msgtype"], "m.file");
    assert_eq!(sent_file["content"]["info"]["mimetype"], "text/plain");
    assert_eq!(sent_file["content"]["info"]["size"], 14);
    let uri = sent_file["content"]["url"].as_str().unwrap();
    let got = s.with_extension("downloaded.txt");
    ok(&quotient(
        &s,
        &["download", uri, "-o", got.to_str().unwrap()],
        "",
    ));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "file contents\n");
    let redacted = messages.iter().find(|m| m["event_id"] == doomed).unwrap();
    assert!(
        redacted["content"].as_object().unwrap().is_empty(),
        "{redacted}"
    );

    // Read through the store as well: the reaction is there, once.
    ok(&quotient(&s, &["sync", "--once"], ""));
    let out = quotient(&s, &["--json", "messages", &room, "--limit", "30"], "");
    ok(&out);
    let reactions = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"m.reaction\""))
        .count();
    assert_eq!(reactions, 1);
    // Everything went out: nothing unsent in the outbox.
    assert!(
        outbox(&s).iter().all(|e| e["state"] == "sent"),
        "{:?}",
        outbox(&s)
    );
}

#[test]
fn a_send_killed_after_the_server_took_it_is_resent_with_the_same_transaction_id_and_lands_once() {
    let (s, room) = room_for("sendkill");
    // The server has the event; its answer is not stored yet.
    kill_at_pause(
        &s,
        &["send", &room, "first"],
        "QUOTIENT_CLIENT_TEST_PAUSE_AFTER_SEND",
    );
    let entries = outbox(&s);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["state"], "sending");
    let txn = entries[0]["txn_id"].as_str().unwrap().to_owned();
    assert_eq!(bodies(&server_messages(&s, &room)), ["first"]);

    // The next run sends the first again (same transaction ID), then its own.
    ok(&quotient(&s, &["send", &room, "second"], ""));
    let messages = server_messages(&s, &room);
    assert_eq!(
        bodies(&messages),
        ["first", "second"],
        "one copy each, in order"
    );
    assert_eq!(messages[0]["unsigned"]["transaction_id"], txn.as_str());
    let entries = outbox(&s);
    assert_eq!(entries[0]["txn_id"], txn.as_str());
    assert_eq!(entries[0]["state"], "sent");
    assert_eq!(entries[0]["event_id"], messages[0]["event_id"]);
}

#[test]
fn in_an_encrypted_room_a_killed_send_is_resent_as_the_same_ciphertext_and_lands_once() {
    // Encrypted: create-room's default. The send is made before any sync,
    // so the room's encryption is learnt from the server, not the store.
    let (s, room) = made_room("sendkillenc", &[]);
    kill_at_pause(
        &s,
        &["send", &room, "first secret"],
        "QUOTIENT_CLIENT_TEST_PAUSE_AFTER_SEND",
    );
    let entries = outbox(&s);
    assert_eq!(entries[0]["state"], "sending");
    let txn = entries[0]["txn_id"].as_str().unwrap().to_owned();
    let held = server_events(&s, &room, "m.room.encrypted");
    assert_eq!(held.len(), 1, "{held:?}");
    // Nothing in the clear on the server, not even once.
    assert!(server_events(&s, &room, "m.room.message").is_empty());
    assert!(!serde_json::to_string(&held)
        .unwrap()
        .contains("first secret"));

    ok(&quotient(&s, &["send", &room, "second secret"], ""));
    let held = server_events(&s, &room, "m.room.encrypted");
    assert_eq!(held.len(), 2, "one copy each: {held:?}");
    assert_eq!(held[0]["unsigned"]["transaction_id"], txn.as_str());
    assert_eq!(outbox(&s)[0]["event_id"], held[0]["event_id"]);

    // Synced back and decrypted, in order.
    ok(&quotient(&s, &["sync", "--once"], ""));
    let out = quotient(&s, &["--json", "messages", &room, "--limit", "50"], "");
    ok(&out);
    let all: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<Value> = all
        .iter()
        .filter(|m| m["type"] == "m.room.message")
        .cloned()
        .collect();
    assert_eq!(lines.len(), 2, "{all:#?}");
    let bodies: Vec<&str> = lines.iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(bodies, ["first secret", "second secret"]);
    // Our own device, signed by our own (trusted) identity: verified.
    for m in &lines {
        assert_eq!(m["encrypted"], true, "{m}");
        assert!(m["decryption_error"].is_null(), "{m}");
        assert_eq!(m["sender_trust"], "verified", "{m}");
    }
}

#[test]
fn a_send_to_an_unreachable_server_exits_6_queued_and_the_next_send_delivers_both_in_order() {
    let (s, room) = room_for("senddown");
    let session_file = s.join("session.json");
    let real = std::fs::read_to_string(&session_file).unwrap();
    let mut session: Value = serde_json::from_str(&real).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    session["homeserver"] = Value::String(dead);
    std::fs::write(&session_file, session.to_string()).unwrap();

    let out = quotient(&s, &["send", &room, "while down", "--wait", "3"], "");
    assert_eq!(code(&out), 6, "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("safely queued"), "{}", stderr(&out));
    assert!(outbox(&s)[0]["state"] != "sent");

    std::fs::write(&session_file, real).unwrap();
    ok(&quotient(&s, &["send", &room, "back again"], ""));
    assert_eq!(
        bodies(&server_messages(&s, &room)),
        ["while down", "back again"]
    );
}

#[test]
fn download_room_event_takes_the_message_file_and_mxc_still_works() {
    let (s, room) = room_for("clidl");
    ok(&quotient(&s, &["sync", "--once"], ""));
    let file = s.join("notes.txt");
    std::fs::write(&file, "some notes\n").unwrap();
    let sent = json(&quotient(
        &s,
        &["--json", "send", &room, "--file", file.to_str().unwrap()],
        "",
    ));
    let event = sent["event_id"].as_str().unwrap().to_owned();
    // Not synced yet: the event is fetched from the server.
    let out = s.join("got.txt");
    let got = json(&quotient(
        &s,
        &[
            "--json",
            "download",
            &room,
            &event,
            "-o",
            out.to_str().unwrap(),
        ],
        "",
    ));
    assert_eq!(got["encrypted"], false, "{got}");
    assert_eq!(
        (got["room_id"].as_str(), got["event_id"].as_str()),
        (Some(room.as_str()), Some(event.as_str()))
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "some notes\n");
    let uri = got["content_uri"].as_str().unwrap().to_owned();
    let again = s.join("again.txt");
    ok(&quotient(
        &s,
        &["download", &uri, "-o", again.to_str().unwrap()],
        "",
    ));
    assert_eq!(std::fs::read_to_string(&again).unwrap(), "some notes\n");
    // The two forms, and nothing else.
    for args in [
        vec!["download", room.as_str()],
        vec!["download", uri.as_str(), event.as_str()],
        vec!["download", uri.as_str(), "--thumbnail"],
    ] {
        let bad = quotient(&s, &args, "");
        assert_eq!(code(&bad), 2, "{args:?}: {}", stderr(&bad));
    }
    // A message without a file says so.
    let text = json(&quotient(
        &s,
        &["--json", "send", &room, "no file here"],
        "",
    ));
    let none = quotient(
        &s,
        &[
            "download",
            &room,
            text["event_id"].as_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code(&none), 1, "{}", stderr(&none));
    assert!(stderr(&none).contains("has no file"), "{}", stderr(&none));
}

#[test]
fn in_an_encrypted_room_the_server_gets_ciphertext_and_keys_go_out_and_back_in() {
    let (s, room) = room_for("clienc");
    let state = format!("/_matrix/client/v3/rooms/{room}/state/m.room.encryption/");
    ok(&quotient(
        &s,
        &[
            "api",
            "PUT",
            &state,
            "--body",
            r#"{"algorithm":"m.megolm.v1.aes-sha2"}"#,
        ],
        "",
    ));
    ok(&quotient(&s, &["sync", "--once"], ""));
    let file = s.join("plans.txt");
    let plaintext = "TOP SECRET PLANS\n".repeat(500);
    std::fs::write(&file, &plaintext).unwrap();
    let sent = json(&quotient(
        &s,
        &[
            "--json",
            "send",
            &room,
            "the plans",
            "--file",
            file.to_str().unwrap(),
        ],
        "",
    ));
    let event = sent["event_id"].as_str().unwrap().to_owned();
    let held = json(&quotient(
        &s,
        &[
            "api",
            "GET",
            &format!("/_matrix/client/v3/rooms/{room}/event/{event}"),
        ],
        "",
    ));
    assert_eq!(held["type"], "m.room.encrypted", "{held}");
    assert!(!held.to_string().contains("plans.txt"), "{held}");

    let keys = s.join("keys.txt");
    let keys_arg = keys.to_str().unwrap();
    let exported = json(&quotient(
        &s,
        &["--json", "keys", "export", keys_arg, "--passphrase-stdin"],
        "a passphrase\n",
    ));
    assert!(exported["exported"].as_u64().unwrap() >= 1, "{exported}");
    assert!(std::fs::read_to_string(&keys)
        .unwrap()
        .starts_with("-----BEGIN MEGOLM SESSION DATA-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let wrong = quotient(
        &s,
        &["keys", "import", keys_arg, "--passphrase-stdin"],
        "not it\n",
    );
    assert_eq!(code(&wrong), 2, "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("wrong passphrase or not a key export"),
        "{}",
        stderr(&wrong)
    );
    let imported = json(&quotient(
        &s,
        &["--json", "keys", "import", keys_arg, "--passphrase-stdin"],
        "a passphrase\n",
    ));
    // This device holds them all already.
    assert_eq!(imported["total"], exported["exported"], "{imported}");
    assert_eq!(imported["imported"], 0, "{imported}");
}

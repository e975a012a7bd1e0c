//! The login-token handoff finished from the command line, against a
//! real Synapse: a device signed in with `login --token-stdin` is
//! verified by emoji with the old one (`verify` / `verify --accept`,
//! answered on stdin with --json), receives the secrets, restores the
//! key backup and reads the message sent before it existed; a third
//! device does the same with the recovery key alone, after a wrong key
//! changed nothing (exit 2). No recovery key reaches stderr at TRACE.
//!
//! Run with `cargo test -p quotient-cli --test trust` (one process).

mod support;

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, kill_at_pause, login, quotient, quotient_with, stderr, store};

fn ok(out: &std::process::Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

/// Runs `quotient --json verify ARGS` on `store`, answering `answer`
/// (`yes`/`no`) at the comparison; returns the exit code, the JSON lines
/// and stderr.
fn verify(
    store: &Path,
    args: &[&str],
    answer: &'static str,
) -> std::thread::JoinHandle<(i32, Vec<Value>, String)> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quotient"));
    command
        .arg("--store")
        .arg(store)
        .args(["--json", "verify", "--timeout", "90"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::thread::spawn(move || {
        let mut child = command.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if line["step"] == "compare" {
                writeln!(stdin, "{answer}").unwrap();
            }
            lines.push(line);
        }
        let deadline = Instant::now() + Duration::from_secs(100);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "verify did not end");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code().unwrap_or(-1), lines, err)
    })
}

fn emoji_of(lines: &[Value]) -> Vec<Value> {
    let compare = lines
        .iter()
        .find(|l| l["step"] == "compare")
        .expect("a compare step");
    let emoji = compare["emoji"].as_array().unwrap().clone();
    assert_eq!(emoji.len(), 7);
    assert!(emoji
        .iter()
        .all(|e| e["name"].as_str().is_some_and(|n| !n.is_empty())));
    emoji.iter().map(|e| e["number"].clone()).collect()
}

/// `quotient -vv ARGS` with every crate's log at TRACE.
fn traced(store: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut verbose = Command::new(env!("CARGO_BIN_EXE_quotient"));
    verbose.env("RUST_LOG", "trace").arg("-vv");
    quotient_with(verbose, store, args, stdin)
}

fn messages(s: &Path, room: &str) -> Vec<Value> {
    let out = quotient(s, &["--json", "messages", room, "--limit", "50"], "");
    ok(&out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn handoff_then_emoji_or_recovery_key_reads_history() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "handoff");
    let (old, new, third) = (store("ho-old"), store("ho-new"), store("ho-third"));
    login(&old, Config::Default, &user);
    let created = json(&quotient(
        &old,
        &["--json", "create-room", "--name", "History"],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    ok(&quotient(&old, &["sync", "--once"], ""));
    ok(&quotient(
        &old,
        &["send", &room, "written before the handoff"],
        "",
    ));
    // Recovery: a backup is made and the recovery key printed once.
    let enabled = traced(&old, &["--json", "recovery", "enable"], "");
    ok(&enabled);
    let recovery_key = json(&enabled)["recovery_key"].as_str().unwrap().to_owned();
    assert!(recovery_key.len() > 40, "{recovery_key}");
    assert!(
        !stderr(&enabled).contains(&recovery_key)
            && !stderr(&enabled).contains(&recovery_key.replace(' ', "")),
        "the recovery key reached the log"
    );
    let status = json(&quotient(&old, &["--json", "backup", "status"], ""));
    assert_eq!(status["has_key"], true, "{status}");
    assert_eq!(status["trusted"], true, "{status}");

    // The handoff: a login token from the old device signs the new one in.
    let token = json(&quotient(
        &old,
        &["--json", "login-token", "--password-stdin"],
        &format!("{}\n", user.password),
    ));
    let url = hs.url.to_string();
    ok(&quotient(
        &new,
        &["--json", "login", "--homeserver", &url, "--token-stdin"],
        token["login_token"].as_str().unwrap(),
    ));
    ok(&quotient(&new, &["sync", "--once"], ""));
    let who = json(&quotient(&new, &["--json", "whoami"], ""));
    assert_eq!(who["cross_signed"], false, "{who}");

    // Emoji verification: the old device waits, the new one asks.
    let answering = verify(&old, &["--accept"], "yes");
    std::thread::sleep(Duration::from_secs(2));
    let asking = verify(&new, &[], "yes");
    let (asked_code, asked, asked_err) = asking.join().unwrap();
    let (answered_code, answered, answered_err) = answering.join().unwrap();
    assert_eq!(asked_code, 0, "{asked_err}\n{asked:?}");
    assert_eq!(answered_code, 0, "{answered_err}\n{answered:?}");
    assert_eq!(
        emoji_of(&asked),
        emoji_of(&answered),
        "the same emoji on both"
    );
    let secrets = asked
        .iter()
        .find(|l| l["step"] == "secrets")
        .expect("secrets step");
    assert_eq!(secrets["cross_signing_keys"], true, "{secrets}");
    assert_eq!(secrets["backup_key"], true, "{secrets}");
    let who = json(&quotient(&new, &["--json", "whoami"], ""));
    assert_eq!(who["cross_signed"], true, "{who}");
    assert_eq!(who["verified"], true, "{who}");
    let restored = json(&quotient(&new, &["--json", "backup", "restore"], ""));
    assert!(restored["imported"].as_u64().unwrap() >= 1, "{restored}");
    let read = messages(&new, &room);
    assert!(
        read.iter()
            .any(|m| m["body"] == "written before the handoff"),
        "{read:?}"
    );
    // The old device sees the new one verified.
    let devices = json(&quotient(&old, &["--json", "devices"], ""));
    let new_id = who["device_id"].as_str().unwrap();
    let row = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == new_id)
        .unwrap();
    assert_eq!(row["verified"], true, "{row}");
    assert_eq!(row["cross_signed"], true, "{row}");

    // A third device, with the recovery key alone.
    login(&third, Config::Default, &user);
    ok(&quotient(&third, &["sync", "--once"], ""));
    let wrong = quotient(
        &third,
        &["recovery", "restore"],
        "EsTc LW2K PGiF wKEA 3As5 g5c4 BXwk qeeJ ZJV8 Q9fu gUMN UE4d\n",
    );
    assert_eq!(code(&wrong), 2, "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("wrong"), "{}", stderr(&wrong));
    let right = traced(
        &third,
        &["--json", "recovery", "restore"],
        &format!("{recovery_key}\n"),
    );
    ok(&right);
    assert!(
        !stderr(&right).contains(&recovery_key),
        "the recovery key reached the log"
    );
    let who = json(&quotient(&third, &["--json", "whoami"], ""));
    assert_eq!(who["cross_signed"], true, "{who}");
    let read = messages(&third, &room);
    assert!(
        read.iter()
            .any(|m| m["body"] == "written before the handoff"),
        "{read:?}"
    );
}

#[test]
fn a_no_at_the_comparison_ends_both_sides_unverified() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "nope");
    let (a, b) = (store("no-a"), store("no-b"));
    login(&a, Config::Default, &user);
    login(&b, Config::Default, &user);
    ok(&quotient(&b, &["sync", "--once"], ""));
    let answering = verify(&a, &["--accept"], "no");
    std::thread::sleep(Duration::from_secs(2));
    let asking = verify(&b, &[], "yes");
    let (asked_code, asked, asked_err) = asking.join().unwrap();
    let (answered_code, _, answered_err) = answering.join().unwrap();
    assert_eq!(answered_code, 1, "{answered_err}");
    assert_eq!(asked_code, 1, "{asked_err}");
    assert!(asked_err.contains("other side cancelled"), "{asked_err}");
    let last = asked.last().unwrap();
    assert_eq!(last["step"], "cancelled");
    assert_eq!(last["code"], "m.mismatched_sas");
    let who = json(&quotient(&b, &["--json", "whoami"], ""));
    assert_eq!(who["verified"], false, "{who}");
}

#[test]
fn a_sigkill_in_the_middle_of_a_backup_upload_leaves_no_key_out_of_the_backup() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "killup");
    let s = store("killup");
    login(&s, Config::Default, &user);
    let status = json(&quotient(&s, &["--json", "recovery", "enable"], ""));
    assert!(status["recovery_key"].is_string());
    let created = json(&quotient(
        &s,
        &["--json", "create-room", "--name", "Killed"],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    ok(&quotient(&s, &["sync", "--once"], ""));
    ok(&quotient(
        &s,
        &["send", &room, "its key goes up when the process is killed"],
        "",
    ));
    // Killed after the server took the batch, before it was marked.
    kill_at_pause(
        &s,
        &["sync", "--once"],
        "QUOTIENT_CLIENT_TEST_PAUSE_IN_BACKUP_UPLOAD",
    );
    let killed = json(&quotient(&s, &["--json", "backup", "status"], ""));
    let local = killed["keys_local"].as_u64().unwrap();
    assert!(local >= 1, "{killed}");
    assert!(
        killed["keys_backed_up"].as_u64().unwrap() < local,
        "not marked: {killed}"
    );
    ok(&quotient(&s, &["sync", "--once"], ""));
    let after = json(&quotient(&s, &["--json", "backup", "status"], ""));
    assert_eq!(after["keys_backed_up"], after["keys_local"], "{after}");
    assert_eq!(after["server_count"], after["keys_local"], "{after}");
}

#[test]
fn a_reset_takes_the_password_and_the_old_recovery_key_opens_nothing_after() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "reset");
    let (s, other) = (store("reset"), store("reset-other"));
    login(&s, Config::Default, &user);
    let old = json(&quotient(&s, &["--json", "recovery", "enable"], ""));
    let old_key = old["recovery_key"].as_str().unwrap().to_owned();
    let refused = quotient(&s, &["recovery", "reset", "--password-stdin"], "wrong\n");
    assert_eq!(code(&refused), 4, "{}", stderr(&refused));
    let reset = traced(
        &s,
        &["--json", "recovery", "reset", "--password-stdin"],
        &format!("{}\n", user.password),
    );
    ok(&reset);
    assert!(
        !stderr(&reset).contains(&user.password),
        "the password reached the log"
    );
    let new_key = json(&reset)["recovery_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);
    let status = json(&quotient(&s, &["--json", "recovery", "status"], ""));
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["secrets"].as_array().unwrap().len(), 4, "{status}");
    // Another device: the old key is wrong now, the new one works.
    login(&other, Config::Default, &user);
    let stale = quotient(&other, &["recovery", "restore"], &format!("{old_key}\n"));
    assert_eq!(code(&stale), 2, "{}", stderr(&stale));
    ok(&quotient(
        &other,
        &["recovery", "restore"],
        &format!("{new_key}\n"),
    ));
    let who = json(&quotient(&other, &["--json", "whoami"], ""));
    assert_eq!(who["cross_signed"], true, "{who}");
}

#[test]
fn recovery_under_a_passphrase_restores_with_it_and_never_logs_it() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "phrase");
    let (s, other) = (store("phrase"), store("phrase-other"));
    login(&s, Config::Default, &user);
    let created = json(&quotient(
        &s,
        &["--json", "create-room", "--name", "Phrase"],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    ok(&quotient(&s, &["sync", "--once"], ""));
    ok(&quotient(
        &s,
        &["send", &room, "kept under a passphrase"],
        "",
    ));
    let passphrase = "correct horse battery staple 4711";
    let enabled = traced(
        &s,
        &[
            "--json",
            "recovery",
            "enable",
            "--passphrase",
            "--passphrase-stdin",
        ],
        &format!("{passphrase}\n"),
    );
    ok(&enabled);
    assert_eq!(json(&enabled)["recovery_key"], Value::Null);
    assert!(
        !stderr(&enabled).contains(passphrase),
        "the passphrase reached the log"
    );
    let status = json(&quotient(&s, &["--json", "recovery", "status"], ""));
    assert_eq!(status["passphrase"], true, "{status}");

    login(&other, Config::Default, &user);
    ok(&quotient(&other, &["sync", "--once"], ""));
    let wrong = quotient(
        &other,
        &["recovery", "restore", "--passphrase"],
        "not it at all\n",
    );
    assert_eq!(code(&wrong), 2, "{}", stderr(&wrong));
    let right = traced(
        &other,
        &["--json", "recovery", "restore", "--passphrase"],
        &format!("{passphrase}\n"),
    );
    ok(&right);
    assert!(
        !stderr(&right).contains(passphrase),
        "the passphrase reached the log"
    );
    let read = messages(&other, &room);
    assert!(
        read.iter().any(|m| m["body"] == "kept under a passphrase"),
        "{read:?}"
    );
}

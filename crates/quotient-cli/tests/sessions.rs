//! Sessions that outlive their access tokens, against a real Synapse
//! whose login tokens live 3 seconds: a `quotient` killed right after the
//! server answered `/refresh` leaves a session that works on the next
//! run; a device logged out from another session exits 7; a
//! soft-logged-out session without a refresh token signs in again to the
//! same device.
//!
//! Run with `cargo test -p quotient-cli --test sessions` (one process).

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config, User};
use support::{code, json, kill_at_pause, quotient, stderr, store};

/// Longer than the server's 3 s token lifetime.
const EXPIRED: Duration = Duration::from_millis(3500);

fn session_file(store: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(store.join("session.json")).unwrap()).unwrap()
}

fn login(store: &Path, user: &User, extra: &[&str]) -> Value {
    let url = homeserver(Config::ShortAccessTokens).url.to_string();
    let mut args = vec![
        "--json",
        "login",
        "--homeserver",
        &url,
        "--user",
        &user.localpart,
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    json(&quotient(store, &args, &format!("{}\n", user.password)))
}

#[test]
fn a_run_killed_right_after_refresh_answered_leaves_a_session_that_works() {
    let hs = homeserver(Config::ShortAccessTokens);
    let user = fresh_user(hs, "refreshkill");
    let s = store("refreshkill");
    login(&s, &user, &[]);
    let before = session_file(&s);
    assert!(before["refresh_token"].is_string(), "{before}");

    std::thread::sleep(EXPIRED);
    // The server has handed out a new pair; it is not stored yet.
    kill_at_pause(&s, &["whoami"], "QUOTIENT_TEST_PAUSE_AFTER_REFRESH");
    assert_eq!(session_file(&s), before, "nothing half-written");

    // The next run refreshes with the stored (still valid) refresh token.
    let out = quotient(&s, &["--json", "whoami"], "");
    assert_eq!(json(&out)["user_id"], user.user_id.as_str());
    let after = session_file(&s);
    assert_ne!(after["refresh_token"], before["refresh_token"]);
    assert_eq!(after["device_id"], before["device_id"]);
    // And the pair it stored works through the next expiry too.
    std::thread::sleep(EXPIRED);
    let out = quotient(&s, &["--json", "whoami"], "");
    assert_eq!(json(&out)["user_id"], user.user_id.as_str());
    assert_ne!(session_file(&s)["refresh_token"], after["refresh_token"]);
}

#[test]
fn a_device_logged_out_from_another_session_exits_7() {
    let hs = homeserver(Config::ShortAccessTokens);
    let user = fresh_user(hs, "revoked");
    let (a, b) = (store("revoked-a"), store("revoked-b"));
    login(&a, &user, &[]);
    login(&b, &user, &[]);
    let out = quotient(&b, &["api", "POST", "/_matrix/client/v3/logout/all"], "");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::thread::sleep(EXPIRED);
    let out = quotient(&a, &["whoami"], "");
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("quotient login"),
        "says what to do: {}",
        stderr(&out)
    );
}

#[test]
fn a_soft_logged_out_session_signs_in_again_to_the_same_device() {
    let hs = homeserver(Config::ShortAccessTokens);
    let user = fresh_user(hs, "softlogout");
    let s = store("softlogout");
    let first = login(&s, &user, &["--no-refresh-token"]);
    let device = first["device_id"].as_str().unwrap().to_owned();
    assert!(session_file(&s)["refresh_token"].is_null());

    std::thread::sleep(EXPIRED);
    let out = quotient(&s, &["whoami"], "");
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert_eq!(session_file(&s)["soft_logout"], true, "marked in the file");

    // No --homeserver, no --force: the stored session says where and who.
    let out = quotient(
        &s,
        &[
            "--json",
            "login",
            "--user",
            &user.localpart,
            "--password-stdin",
        ],
        &format!("{}\n", user.password),
    );
    let again = json(&out);
    assert_eq!(again["device_id"], device.as_str(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signing in again to device"),
        "{}",
        stderr(&out)
    );
    assert!(session_file(&s)["soft_logout"].is_null());
    let out = quotient(&s, &["--json", "whoami"], "");
    assert_eq!(json(&out)["device_id"], device.as_str());
}

#[test]
fn new_device_opts_out_of_reusing_a_soft_logged_out_device() {
    let hs = homeserver(Config::ShortAccessTokens);
    let user = fresh_user(hs, "newdevice");
    let s = store("newdevice");
    let first = login(&s, &user, &["--no-refresh-token"]);
    std::thread::sleep(EXPIRED);
    assert_eq!(code(&quotient(&s, &["whoami"], "")), 7);
    let other = login(&s, &user, &["--new-device"]);
    assert_ne!(other["device_id"], first["device_id"]);
}

//! `quotient devices` and `quotient logout --all` end to end against a
//! real Synapse: one user signed in from two stores sees both devices,
//! renames one, deletes the other through UIA (a wrong password exits 4,
//! the right one ends that device's session), and logs every device out.
//!
//! Run with `cargo test -p quotient-cli --test devices` (one process
//! shares the server).

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config, User};
use support::{code, json, login, quotient, stderr, store};

/// A fresh user signed in twice: stores A and B and their device IDs.
fn signed_in_twice(name: &str) -> (User, [(PathBuf, String); 2]) {
    let user = fresh_user(homeserver(Config::Default), name);
    let signed_in = |suffix: &str| {
        let s = store(&format!("{name}-{suffix}"));
        let device = login(&s, Config::Default, &user)["device_id"]
            .as_str()
            .unwrap()
            .to_owned();
        (s, device)
    };
    let a = signed_in("a");
    let b = signed_in("b");
    (user, [a, b])
}

fn devices(store: &Path) -> Vec<Value> {
    json(&quotient(store, &["--json", "devices"], ""))
        .as_array()
        .expect("an array")
        .clone()
}

fn find<'a>(list: &'a [Value], device: &str) -> Option<&'a Value> {
    list.iter().find(|d| d["device_id"] == device)
}

#[test]
fn the_list_shows_both_devices_and_marks_this_one() {
    let (_, [(a, dev_a), (b, dev_b)]) = signed_in_twice("list");
    let list = devices(&a);
    // Three: shared-secret registration made a device of its own.
    assert_eq!(list.len(), 3, "{list:?}");
    let current: Vec<_> = list.iter().filter(|d| d["current"] == true).collect();
    assert_eq!(current.len(), 1, "{list:?}");
    let (mine, other) = (find(&list, &dev_a).unwrap(), find(&list, &dev_b).unwrap());
    assert_eq!(mine["current"], true);
    assert_eq!(other["current"], false);
    assert_eq!(mine["display_name"], "quotient CLI");
    assert_eq!(mine["last_seen_ip"], "127.0.0.1");
    assert!(
        mine["last_seen_ts"].as_i64().is_some_and(|t| t > 0),
        "{mine}"
    );
    assert!(
        humantime::parse_rfc3339(mine["last_seen"].as_str().unwrap()).is_ok(),
        "{mine}"
    );
    // From B the marks swap.
    let from_b = devices(&b);
    assert_eq!(find(&from_b, &dev_b).unwrap()["current"], true);

    let out = quotient(&a, &["devices"], "");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line_of = |device: &str| {
        text.lines()
            .find(|l| l.contains(device))
            .unwrap_or_else(|| panic!("{device} listed:\n{text}"))
            .to_owned()
    };
    assert!(line_of(&dev_a).starts_with("* "), "{text}");
    assert!(line_of(&dev_b).starts_with("  "), "{text}");
    assert!(line_of(&dev_a).contains("127.0.0.1"), "{text}");
}

#[test]
fn rename_shows_the_new_name() {
    let (_, [(a, _), (b, dev_b)]) = signed_in_twice("rename");
    let out = quotient(&a, &["--json", "devices", "rename", &dev_b, "Phone ☎"], "");
    assert_eq!(json(&out)["display_name"], "Phone ☎");
    assert_eq!(
        find(&devices(&b), &dev_b).unwrap()["display_name"],
        "Phone ☎"
    );
    // An unknown device is the server's 404, not a success.
    let out = quotient(&a, &["devices", "rename", "NOSUCHDEVICE", "x"], "");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("M_NOT_FOUND"), "{}", stderr(&out));
}

#[test]
fn delete_takes_the_password_and_ends_the_other_devices_session() {
    let (user, [(a, dev_a), (b, dev_b)]) = signed_in_twice("delete");
    let delete = |device: &str, password: &str| {
        quotient(
            &a,
            &["devices", "delete", device, "--password-stdin"],
            &format!("{password}\n"),
        )
    };

    let wrong = delete(&dev_b, "not-the-password");
    assert_eq!(code(&wrong), 4, "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("cannot delete device"),
        "{}",
        stderr(&wrong)
    );
    assert!(find(&devices(&a), &dev_b).is_some(), "still there");
    assert_eq!(code(&quotient(&b, &["whoami"], "")), 0);

    let right = delete(&dev_b, &user.password);
    assert_eq!(code(&right), 0, "{}", stderr(&right));
    let list = devices(&a);
    assert!(find(&list, &dev_b).is_none(), "{list:?}");
    let gone = quotient(&b, &["whoami"], "");
    assert_eq!(code(&gone), 7, "{}", stderr(&gone));

    // This store's own device: refused without --force, before any request.
    let own = delete(&dev_a, &user.password);
    assert_eq!(code(&own), 2, "{}", stderr(&own));
    assert!(stderr(&own).contains("--force"), "{}", stderr(&own));
    assert_eq!(code(&quotient(&a, &["whoami"], "")), 0);
    let forced = quotient(
        &a,
        &[
            "--json",
            "devices",
            "delete",
            &dev_a,
            "--password-stdin",
            "--force",
        ],
        &format!("{}\n", user.password),
    );
    assert_eq!(json(&forced)["current"], true);
    assert!(!a.join("session.json").exists(), "signed out here");
}

#[test]
fn logout_all_ends_the_sessions_of_both_stores() {
    let (_, [(a, dev_a), (b, _)]) = signed_in_twice("logoutall");
    let out = quotient(&a, &["--json", "logout", "--all"], "");
    let answer = json(&out);
    assert_eq!(answer["all"], true);
    assert_eq!(answer["device_id"], dev_a.as_str());
    assert!(!a.join("session.json").exists());
    let b_after = quotient(&b, &["whoami"], "");
    assert_eq!(code(&b_after), 7, "{}", stderr(&b_after));
    assert!(
        stderr(&b_after).contains("quotient login"),
        "{}",
        stderr(&b_after)
    );
    assert_eq!(code(&quotient(&a, &["whoami"], "")), 7);
}

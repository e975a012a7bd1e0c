//! Several processes on one store, in an encrypted room, against a real
//! Synapse: two `quotient sync` and a `quotient tail` on the same store
//! while another user sends 200 messages and 20 `quotient send`s run.
//! One process owns the store (it syncs and holds the crypto machine),
//! the others follow its commits; no process dies, every message is
//! printed by `tail` once and stored once, and every send is delivered.
//!
//! Run with `cargo test -p quotient-cli --test store_sharing` (one process).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use quotient_api::generated::joining::JoinRoomById;
use quotient_api::RoomId;
use quotient_client::outbox::OutgoingEvent;
use quotient_client::Client;
use serde_json::Value;
use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, login, quotient, stderr, store, Running};

const FROM_BOB: usize = 200;
const SENDS: usize = 20;

#[test]
fn two_syncs_and_a_tail_share_a_store_while_messages_arrive_and_sends_run() {
    let hs = homeserver(Config::Default);
    let (alice, bob) = (fresh_user(hs, "sharea"), fresh_user(hs, "shareb"));
    let a = store("share-a");
    login(&a, Config::Default, &alice);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Bob: a library client of his own.
    let bob_dir = store("share-b");
    let bobs = rt.block_on(async {
        let c = Client::login_or_restore(
            &bob_dir,
            hs.url.clone(),
            &bob.user_id.parse().unwrap(),
            bob.password.clone(),
        )
        .await
        .unwrap();
        c.sync_once().await.unwrap();
        c.send_key_requests().await.unwrap();
        c
    });
    let created = json(&quotient(
        &a,
        &[
            "--json",
            "create-room",
            "--name",
            "Shared",
            "--invite",
            &bob.user_id,
        ],
        "",
    ));
    let room = created["room_id"].as_str().unwrap().to_owned();
    let room_id = RoomId::parse(room.as_str()).unwrap();
    rt.block_on(async {
        bobs.connection()
            .submit(JoinRoomById::new(room_id.clone()))
            .await
            .unwrap();
        bobs.sync_once().await.unwrap();
    });
    assert_eq!(code(&quotient(&a, &["sync", "--once"], "")), 0);

    let first = Running::start(&a, &["sync"]);
    std::thread::sleep(Duration::from_millis(1500));
    let second = Running::start(&a, &["sync"]);
    let mut tail = Running::start(&a, &["--json", "tail", &room]);
    std::thread::sleep(Duration::from_millis(1500));

    // 20 sends from Alice's store, beside the running processes.
    let senders: Vec<_> = (0..SENDS)
        .map(|i| {
            let (a, room) = (a.clone(), room.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(150 * i as u64));
                quotient(&a, &["send", &room, &format!("from alice {i}")], "")
            })
        })
        .collect();
    // 200 messages from Bob, queued at once, each sent once in order.
    rt.block_on(async {
        let mut last = None;
        for i in 0..FROM_BOB {
            let text = OutgoingEvent::text(&format!("from bob {i}"));
            last = Some(bobs.send(&room_id, text).await.unwrap());
        }
        tokio::time::timeout(Duration::from_secs(120), last.unwrap().sent())
            .await
            .expect("Bob's messages sent within 2 minutes")
            .unwrap();
    });
    for (i, s) in senders.into_iter().enumerate() {
        let out = s.join().unwrap();
        assert_eq!(code(&out), 0, "send {i}: {}", stderr(&out));
    }

    // `tail` prints every message once.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    while seen.len() < FROM_BOB + SENDS {
        for line in tail.lines_until(|_| true) {
            let event: Value = serde_json::from_str(&line).unwrap();
            if let Some(body) = event["body"].as_str() {
                *seen.entry(body.to_owned()).or_default() += 1;
                assert_eq!(event["encrypted"], true, "{event}");
                assert!(event["decryption_error"].is_null(), "{event}");
            }
        }
    }
    assert!(seen.values().all(|n| *n == 1), "printed twice: {seen:?}");

    // Nobody died: each ends cleanly when asked to.
    for (name, process) in [
        ("first sync", first),
        ("second sync", second),
        ("tail", tail),
    ] {
        let (status, _) = process.terminate();
        assert_eq!(status, Some(0), "{name} did not end cleanly");
    }
    // The store holds each message once.
    let out = quotient(&a, &["--json", "messages", &room, "--limit", "1000"], "");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if let Some(body) = event["body"].as_str() {
            *stored.entry(body.to_owned()).or_default() += 1;
        }
    }
    for i in 0..FROM_BOB {
        assert_eq!(
            stored.get(&format!("from bob {i}")),
            Some(&1),
            "from bob {i}"
        );
    }
    for i in 0..SENDS {
        assert_eq!(
            stored.get(&format!("from alice {i}")),
            Some(&1),
            "from alice {i}"
        );
    }
}

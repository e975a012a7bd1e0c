//! End-to-end encryption against a real Synapse, with two quotient
//! clients: encrypted rooms read and written while the server holds only
//! ciphertext, cross-signing set up at first use, a key that arrives
//! after its message, and the store's ownership between processes.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_e2ee`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::Connection;
use quotient_api::generated::joining::JoinRoomById;
use quotient_api::UserId;
use quotient_client::encryption::SenderTrust;
use quotient_client::outbox::OutgoingEvent;
use quotient_client::{Client, Error};

use support::e2ee::{create_encrypted_room, message, on_server, sync_until};
use support::TempDir;

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

async fn account(prefix: &'static str) -> (Connection, UserId) {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap();
    let conn = hs.connection();
    let session = conn
        .login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap();
    (conn, session.user_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_talk_in_an_encrypted_room_while_the_server_holds_only_ciphertext() {
    let (a, _) = account("e2ea").await;
    let (b, bob) = account("e2eb").await;
    let (dir_a, dir_b) = (TempDir::new("e2e-a"), TempDir::new("e2e-b"));
    let alice = Client::open(dir_a.path(), a.clone()).unwrap();
    let bobs = Client::open(dir_b.path(), b.clone()).unwrap();
    // First syncs build the machines: keys uploaded, cross-signing made.
    alice.sync_once().await.unwrap();
    bobs.sync_once().await.unwrap();
    for client in [&alice, &bobs] {
        let status = client.device_status().await.unwrap();
        assert!(status.account_has_cross_signing, "{status:?}");
        assert!(status.holds_cross_signing_keys, "{status:?}");
        assert!(status.cross_signed, "the device is signed: {status:?}");
        assert_eq!(status.ed25519.len(), 43, "unpadded base64 of 32 bytes");
        assert_eq!(status.fingerprint().split(' ').count(), 11);
    }

    // The crypto store is the owner's only: directories 0700, files 0600
    // (the database, and SQLite's -wal and -shm beside it).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let crypto = dir_a.path().join("crypto");
        assert_eq!(mode(&crypto), 0o700);
        let mut files = 0;
        for device in std::fs::read_dir(&crypto).unwrap() {
            let device = device.unwrap().path();
            assert_eq!(mode(&device), 0o700, "{}", device.display());
            for file in std::fs::read_dir(&device).unwrap() {
                let file = file.unwrap().path();
                assert_eq!(mode(&file), 0o600, "{}", file.display());
                files += 1;
            }
        }
        assert!(files >= 1, "the crypto database is there");
    }

    let room = create_encrypted_room(&a, vec![bob]).await;
    bobs.sync_once().await.unwrap();
    b.submit(JoinRoomById::new(room.clone())).await.unwrap();
    bobs.sync_once().await.unwrap();
    alice.sync_once().await.unwrap();
    assert!(alice.store().unwrap().is_encrypted(&room).unwrap());

    let sent = alice
        .send(&room, OutgoingEvent::text("the secret plan"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let held = on_server(&a, &room, &sent).await;
    assert_eq!(held["type"], "m.room.encrypted", "{held}");
    assert!(!held.to_string().contains("secret plan"), "{held}");

    let got = sync_until(&bobs, &room, |ev| message(ev, "the secret plan").cloned()).await;
    assert_eq!(
        got.event_id.as_ref().map(|id| id.as_str()),
        Some(sent.as_str())
    );
    let enc = got.encryption.expect("it came encrypted");
    assert_eq!(enc.error, None);
    assert_eq!(enc.sender_trust, Some(SenderTrust::CrossSigned));

    // And back.
    let reply = bobs
        .send(&room, OutgoingEvent::text("agreed"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    assert!(!on_server(&b, &room, &reply)
        .await
        .to_string()
        .contains("agreed"));
    let back = sync_until(&alice, &room, |ev| message(ev, "agreed").cloned()).await;
    assert_eq!(
        back.encryption.unwrap().sender_trust,
        Some(SenderTrust::CrossSigned)
    );
    // Our own message, synced back, reads as sent.
    let own = alice.store().unwrap().timeline(&room, 100).unwrap();
    assert!(message(&own, "the secret plan").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_client_on_an_owned_store_neither_syncs_nor_builds_a_machine() {
    let (a, _) = account("e2eo").await;
    let dir = TempDir::new("e2e-owned");
    let first = Client::open(dir.path(), a.clone()).unwrap();
    first.sync_once().await.unwrap();
    // Another handle on the same directory, as another process would
    // have: the lock is per open file, so it is refused like one.
    let second = Client::open(dir.path(), a.clone()).unwrap();
    match second.sync_once().await {
        Err(Error::StoreOwned { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        other => panic!("expected StoreOwned, got {other:?}"),
    }
    // Once the first is gone (its background key requests finish with
    // it), the second takes over.
    drop(first);
    for attempt in 0.. {
        match second.sync_once().await {
            Ok(_) => break,
            Err(Error::StoreOwned { .. }) if attempt < 50 => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => panic!("the store was not handed over: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_from_a_process_that_does_not_own_the_store_is_sent_by_the_owner() {
    let (a, _) = account("e2es").await;
    let (b, bob) = account("e2et").await;
    let (dir_a, dir_b) = (TempDir::new("e2e-owner-a"), TempDir::new("e2e-owner-b"));
    let owner = Client::open(dir_a.path(), a.clone()).unwrap();
    let bobs = Client::open(dir_b.path(), b.clone()).unwrap();
    owner.sync_once().await.unwrap();
    bobs.sync_once().await.unwrap();
    // The crypto store is the owner's only: directories 0700, files 0600
    // (the database, and SQLite's -wal and -shm beside it).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let crypto = dir_a.path().join("crypto");
        assert_eq!(mode(&crypto), 0o700);
        let mut files = 0;
        for device in std::fs::read_dir(&crypto).unwrap() {
            let device = device.unwrap().path();
            assert_eq!(mode(&device), 0o700, "{}", device.display());
            for file in std::fs::read_dir(&device).unwrap() {
                let file = file.unwrap().path();
                assert_eq!(mode(&file), 0o600, "{}", file.display());
                files += 1;
            }
        }
        assert!(files >= 1, "the crypto database is there");
    }

    let room = create_encrypted_room(&a, vec![bob]).await;
    bobs.sync_once().await.unwrap();
    b.submit(JoinRoomById::new(room.clone())).await.unwrap();
    owner.sync_once().await.unwrap();
    let sync = owner.start_sync_loop();

    // Another handle on the owner's directory, as `quotient send` would be.
    let other = Client::open(dir_a.path(), a.clone()).unwrap();
    let pending = other
        .send(&room, OutgoingEvent::text("sent by the owner"))
        .await
        .unwrap();
    let event_id = tokio::time::timeout(Duration::from_secs(60), pending.sent())
        .await
        .expect("the owner sent it within 60 s")
        .unwrap();
    let held = on_server(&a, &room, &event_id).await;
    assert_eq!(held["type"], "m.room.encrypted");
    let got = sync_until(&bobs, &room, |ev| message(ev, "sent by the owner").cloned()).await;
    assert_eq!(
        got.event_id.as_ref().map(|id| id.as_str()),
        Some(event_id.as_str())
    );
    sync.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_run_sent_before_any_sync_the_next_run_reads() {
    // The send comes before cross-signing is set up (a fresh machine): it
    // waits for that, and the room key it makes is kept for our own
    // later reading, in the crypto store.
    let (a, _) = account("e2er").await;
    let dir = TempDir::new("e2e-restart");
    let room = create_encrypted_room(&a, vec![]).await;
    {
        let first = Client::open(dir.path(), a.clone()).unwrap();
        first
            .send(&room, OutgoingEvent::text("before any sync"))
            .await
            .unwrap()
            .sent()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = Client::open(dir.path(), a.clone()).unwrap();
    let got = sync_until(&second, &room, |ev| {
        ev.iter().find(|e| e.encryption.is_some()).cloned()
    })
    .await;
    assert_eq!(got.encryption.as_ref().unwrap().error, None, "{got:?}");
    assert_eq!(got.json["content"]["body"], "before any sync");
}

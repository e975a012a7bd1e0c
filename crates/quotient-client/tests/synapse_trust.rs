//! Trust and recovery against a real Synapse, with quotient devices of
//! one user: emoji verification between two devices (the same seven
//! emoji on both sides, both verified, the secrets sent to the new one),
//! a mismatch that verifies nothing, a key backup the new device fetches
//! the keys of its undecryptable history from after verification, and a recovery key that brings a
//! third device the same history (a wrong one changing nothing).
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_trust`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver, User};
use quotient::{Connection, SecretString};
use quotient_api::RoomId;
use quotient_client::outbox::OutgoingEvent;
use quotient_client::verification::{Verification, VerificationState};
use quotient_client::{Client, Error};
use support::e2ee::{create_encrypted_room, message, sync_until};
use support::TempDir;

const FLOW: Duration = Duration::from_secs(60);

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

async fn new_user(prefix: &'static str) -> User {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap()
}

/// A new device of `user`, its client in `dir`, synced once with its
/// keys out (and cross-signing set up, or found made elsewhere).
async fn device(user: &User, name: &str, dir: &TempDir) -> Client {
    device_with(user, name, dir, quotient::JobOptions::default()).await
}

async fn device_with(
    user: &User,
    name: &str,
    dir: &TempDir,
    options: quotient::JobOptions,
) -> Client {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let conn = Connection::builder(hs.url.clone())
        .job_options(options)
        .build()
        .unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some(name))
        .await
        .unwrap();
    let client = Client::open(dir.path(), conn).unwrap();
    client.sync_once().await.unwrap();
    client.send_key_requests().await.unwrap();
    client
}

async fn send(client: &Client, room: &RoomId, body: &str) -> String {
    client
        .send(room, OutgoingEvent::text(body))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap()
        .as_str()
        .to_owned()
}

/// Follows `flow` to its end, answering the comparison with `answer`;
/// returns the emoji numbers it was shown and the final state.
async fn run_flow(flow: Verification, answer: bool) -> (Option<Vec<u8>>, VerificationState) {
    let mut shown = None;
    let mut states = flow.states();
    let ended = tokio::time::timeout(FLOW, async {
        while let Some(state) = states.next().await {
            if let VerificationState::Compare(code) = &state {
                shown = Some(code.emoji().iter().map(|e| e.number).collect());
                assert!(code.emoji().iter().all(|e| !e.name.is_empty()));
                if answer {
                    flow.confirm().await.unwrap();
                } else {
                    flow.mismatch().await.unwrap();
                }
            }
            if state.is_final() {
                return state;
            }
        }
        flow.state()
    })
    .await
    .expect("the flow ended within a minute");
    (shown, ended)
}

/// Device `asker` asks its user's other devices; `answerer` takes the
/// request. The answerer starts syncing only after the request went out,
/// so the request comes in its first batch, from a device its machine
/// may not know yet. Both run their sync loops meanwhile.
async fn verify_pair(
    asker: &Client,
    answerer: &Client,
    asker_says: bool,
    answerer_says: bool,
) -> (
    (Option<Vec<u8>>, VerificationState),
    (Option<Vec<u8>>, VerificationState),
) {
    let user = asker.connection().session().unwrap().user_id.clone();
    let asker_loop = asker.start_sync_loop();
    let asked = asker.request_verification(&user, None).await.unwrap();
    let loops = (asker_loop, answerer.start_sync_loop());
    assert!(asked.we_started());
    let taken = answerer
        .next_verification_request(FLOW)
        .await
        .unwrap()
        .expect("the request reached the other device");
    assert!(!taken.we_started());
    assert_eq!(taken.flow_id(), asked.flow_id());
    taken.accept().await.unwrap();
    let outcome = tokio::join!(run_flow(asked, asker_says), run_flow(taken, answerer_says));
    if asker_says && answerer_says {
        // The device that holds the secrets answers the other's requests
        // for them as it syncs: both keep syncing until they came.
        asker
            .wait_for_secrets(Duration::from_secs(30))
            .await
            .unwrap();
    }
    loops.0.stop().await.unwrap();
    loops.1.stop().await.unwrap();
    outcome
}

fn verified(client_status: &quotient_client::encryption::DeviceStatus) -> bool {
    client_status.cross_signed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emoji_verification_hands_a_new_device_the_secrets_and_the_history() {
    let user = new_user("sas").await;
    let (old_dir, new_dir) = (TempDir::new("sas-old"), TempDir::new("sas-new"));
    let old = device(&user, "old", &old_dir).await;
    assert!(old.device_status().await.unwrap().holds_cross_signing_keys);
    let room = create_encrypted_room(old.connection(), vec![]).await;
    old.sync_once().await.unwrap();
    let before = send(&old, &room, "sent before the new device existed").await;
    let version = old.create_backup().await.unwrap();
    let status = old.backup_status().await.unwrap();
    assert_eq!(status.version.as_deref(), Some(version.as_str()));
    assert!(
        status.trusted && status.has_key && status.uploading,
        "{status:?}"
    );
    assert!(
        status.keys_local >= 1 && status.keys_backed_up == status.keys_local,
        "{status:?}"
    );

    let new = device(&user, "new", &new_dir).await;
    let new_status = new.device_status().await.unwrap();
    assert!(!verified(&new_status) && !new_status.holds_cross_signing_keys);
    let events = sync_until(&new, &room, |ev| {
        ev.iter()
            .find(|e| e.event_id.as_ref().map(|id| id.as_str()) == Some(&before))
            .cloned()
    })
    .await;
    assert!(
        events.encryption.as_ref().unwrap().error.is_some(),
        "no key yet"
    );

    let ((asker_saw, asker_end), (answerer_saw, answerer_end)) =
        verify_pair(&new, &old, true, true).await;
    assert!(asker_saw.is_some(), "the asker was shown emoji");
    assert_eq!(asker_saw, answerer_saw, "both sides show the same emoji");
    assert_eq!(asker_end, VerificationState::Done);
    assert_eq!(answerer_end, VerificationState::Done);

    // The new device received the secrets from the old one.
    let secrets = new.secrets().await.unwrap();
    assert!(secrets.cross_signing_keys, "{secrets:?}");
    assert!(secrets.backup_key, "{secrets:?}");
    let new_status = new.device_status().await.unwrap();
    assert!(new_status.cross_signed && new_status.holds_cross_signing_keys);

    // And reads the history: the key of the stored undecryptable event
    // is fetched from the backup by itself, after the next batch.
    let read = sync_until(&new, &room, |ev| {
        message(ev, "sent before the new device existed").cloned()
    })
    .await;
    assert_eq!(
        read.event_id.as_ref().map(|id| id.as_str()),
        Some(before.as_str())
    );
    let trust = read.encryption.as_ref().unwrap().sender_trust;
    assert_eq!(
        trust,
        Some(quotient_client::encryption::SenderTrust::CrossSignedUnauthenticated)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_device_asking_for_the_secrets_gets_none() {
    let user = new_user("nosecret").await;
    let (a_dir, b_dir) = (TempDir::new("ns-a"), TempDir::new("ns-b"));
    let holder = device(&user, "holder", &a_dir).await;
    holder.create_backup().await.unwrap();
    let stranger = device(&user, "stranger", &b_dir).await;
    assert!(
        stranger.request_secrets().await.unwrap(),
        "the request went out"
    );
    let loops = (holder.start_sync_loop(), stranger.start_sync_loop());
    let got = stranger
        .wait_for_secrets(Duration::from_secs(5))
        .await
        .unwrap();
    loops.0.stop().await.unwrap();
    loops.1.stop().await.unwrap();
    assert_eq!(
        got,
        quotient_client::encryption::Secrets::default(),
        "nothing was sent"
    );
    assert!(!stranger.device_status().await.unwrap().cross_signed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatch_verifies_nothing_on_either_side() {
    let user = new_user("mismatch").await;
    let (a_dir, b_dir) = (TempDir::new("mm-a"), TempDir::new("mm-b"));
    let a = device(&user, "a", &a_dir).await;
    let b = device(&user, "b", &b_dir).await;
    let ((a_saw, a_end), (b_saw, b_end)) = verify_pair(&b, &a, true, false).await;
    assert!(a_saw.is_some() && a_saw == b_saw);
    for end in [&a_end, &b_end] {
        match end {
            VerificationState::Cancelled(why) => assert_eq!(why.code, "m.mismatched_sas"),
            other => panic!("expected a cancel, got {other:?}"),
        }
    }
    assert!(!b.device_status().await.unwrap().cross_signed);
    assert!(!b.secrets().await.unwrap().cross_signing_keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_key_brings_a_new_device_the_history_and_a_wrong_one_nothing() {
    let user = new_user("recovery").await;
    let (old_dir, new_dir) = (TempDir::new("rk-old"), TempDir::new("rk-new"));
    let old = device(&user, "old", &old_dir).await;
    let room = create_encrypted_room(old.connection(), vec![]).await;
    old.sync_once().await.unwrap();
    let before = send(&old, &room, "history for the recovery key").await;
    let key = old.enable_recovery(None).await.unwrap();
    let status = old.recovery_status().await.unwrap();
    assert!(status.enabled && !status.passphrase);
    assert_eq!(status.secrets.len(), 4, "{status:?}");
    // Keys sent after the backup was made go up too.
    old.sync_once().await.unwrap();
    let after = send(&old, &room, "sent after recovery was set up").await;
    old.sync_once().await.unwrap();
    let backed = old.backup_status().await.unwrap();
    assert_eq!(backed.keys_backed_up, backed.keys_local, "{backed:?}");

    let new = device(&user, "new", &new_dir).await;
    // A well-formed key of another account's storage opens nothing.
    let other =
        SecretString::new("EsTc LW2K PGiF wKEA 3As5 g5c4 BXwk qeeJ ZJV8 Q9fu gUMN UE4d".to_owned());
    match new.restore_recovery(&other).await {
        Err(Error::WrongRecoveryKey) => {}
        other => panic!("expected WrongRecoveryKey, got {other:?}"),
    }
    assert!(
        !new.device_status().await.unwrap().cross_signed,
        "nothing changed"
    );
    assert!(!new.secrets().await.unwrap().backup_key);

    // The key without its spaces works as well as with them.
    let compact = SecretString::new(key.expose().replace(' ', ""));
    let import = new.restore_recovery(&compact).await.unwrap();
    // Both messages went in one room key.
    assert!(import.imported >= 1, "{import:?}");
    let status = new.device_status().await.unwrap();
    assert!(
        status.cross_signed && status.holds_cross_signing_keys,
        "{status:?}"
    );
    let events = sync_until(&new, &room, |ev| {
        message(ev, "sent after recovery was set up").cloned()
    })
    .await;
    assert_eq!(
        events.event_id.as_ref().map(|id| id.as_str()),
        Some(after.as_str())
    );
    let events = new.store().unwrap().timeline(&room, 100).unwrap();
    let read = message(&events, "history for the recovery key").expect("decrypted");
    assert_eq!(
        read.event_id.as_ref().map(|id| id.as_str()),
        Some(before.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_keys_made_during_a_backup_outage_are_all_backed_up_after_it() {
    let user = new_user("outage").await;
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let upstream = format!("{}:{}", hs.url.host_str().unwrap(), hs.url.port().unwrap())
        .parse()
        .unwrap();
    let front =
        support::fault_front::FaultFront::start(upstream, "PUT /_matrix/client/v3/room_keys/keys")
            .await;
    // One quick engine retry: the outage outlasts it either way, and the
    // upload after the next batch takes over.
    let mut options = quotient::JobOptions::default();
    options.backoff.max_retries = 1;
    options.backoff.retry_waits = vec![Duration::from_millis(20)];
    let conn = Connection::builder(front.url.clone())
        .job_options(options)
        .build()
        .unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some("outage"))
        .await
        .unwrap();
    let dir = TempDir::new("outage");
    let client = Client::open(dir.path(), conn).unwrap();
    client.sync_once().await.unwrap();
    client.send_key_requests().await.unwrap();
    client.create_backup().await.unwrap();

    front.fail(true);
    let mut rooms = Vec::new();
    for n in 0..3 {
        let room = create_encrypted_room(client.connection(), vec![]).await;
        client.sync_once().await.unwrap();
        send(&client, &room, &format!("during the outage {n}")).await;
        rooms.push(room);
    }
    // Every upload fails while the outage lasts; nothing is marked.
    assert!(client.send_key_requests().await.is_err());
    assert!(front.failed() > 0);
    let during = client.backup_status().await.unwrap();
    assert!(during.keys_local >= 3, "{during:?}");
    assert!(during.keys_backed_up < during.keys_local, "{during:?}");

    front.fail(false);
    client.sync_once().await.unwrap();
    client.send_key_requests().await.unwrap();
    let after = client.backup_status().await.unwrap();
    assert_eq!(after.keys_backed_up, after.keys_local, "{after:?}");
    assert_eq!(
        after.server_count,
        Some(after.keys_local as u64),
        "{after:?}"
    );
}

/// Marks `room` as the direct chat with `other` in `client`'s account
/// data, and syncs it in.
async fn mark_direct(client: &Client, other: &str, room: &RoomId) {
    let me = client.connection().session().unwrap().user_id;
    let path = format!(
        "/_matrix/client/v3/user/{}/account_data/m.direct",
        quotient_api::encode_path_segment(me.as_str())
    );
    support::e2ee::raw(
        client.connection(),
        quotient_api::Method::Put,
        &path,
        Some(serde_json::json!({ other: [room.as_str()] })),
    )
    .await;
    client.sync_once().await.unwrap();
}

/// Alice and Bob in an encrypted direct chat, each verified by the
/// other in it.
async fn verified_pair(alice: &Client, bob: &Client) -> RoomId {
    let alice_id = alice.connection().session().unwrap().user_id;
    let bob_id = bob.connection().session().unwrap().user_id;
    let room = create_encrypted_room(alice.connection(), vec![bob_id.clone()]).await;
    bob.connection()
        .submit(quotient_api::generated::joining::JoinRoomById::new(
            room.clone(),
        ))
        .await
        .unwrap();
    mark_direct(alice, bob_id.as_str(), &room).await;
    mark_direct(bob, alice_id.as_str(), &room).await;
    assert!(!alice.user_trust(&bob_id).await.unwrap().verified);

    let loops = (alice.start_sync_loop(), bob.start_sync_loop());
    let asked = alice.request_verification(&bob_id, None).await.unwrap();
    let taken = bob
        .next_verification_request(FLOW)
        .await
        .unwrap()
        .expect("the request reached Bob in the room");
    assert_eq!(
        taken.flow_id(),
        asked.flow_id(),
        "the flow is the request event"
    );
    assert_eq!(taken.other_user(), &alice_id);
    taken.accept().await.unwrap();
    let ((a_saw, a_end), (b_saw, b_end)) =
        tokio::join!(run_flow(asked, true), run_flow(taken, true));
    loops.0.stop().await.unwrap();
    loops.1.stop().await.unwrap();
    assert!(a_saw.is_some() && a_saw == b_saw, "{a_saw:?} {b_saw:?}");
    assert_eq!(a_end, VerificationState::Done);
    assert_eq!(b_end, VerificationState::Done);
    room
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_verify_each_other_in_their_direct_chat() {
    let (alice_user, bob_user) = (new_user("ira").await, new_user("irb").await);
    let (a_dir, b_dir) = (TempDir::new("ir-a"), TempDir::new("ir-b"));
    let alice = device(&alice_user, "alice", &a_dir).await;
    let bob = device(&bob_user, "bob", &b_dir).await;
    let bob_id = quotient_api::UserId::parse(bob_user.user_id.as_str()).unwrap();
    let alice_id = quotient_api::UserId::parse(alice_user.user_id.as_str()).unwrap();
    let room = verified_pair(&alice, &bob).await;
    assert!(alice.user_trust(&bob_id).await.unwrap().verified);
    assert!(bob.user_trust(&alice_id).await.unwrap().verified);
    // Bob's device, cross-signed by him, is verified for Alice now.
    let devices = alice.devices_of(&bob_id).await.unwrap();
    assert!(
        devices.iter().all(|d| d.cross_signed && d.verified),
        "{devices:?}"
    );
    // The steps went into the room encrypted: none on the server in
    // plain text.
    let plain =
        support::e2ee::server_events(alice.connection(), &room, "m.key.verification.key").await;
    assert!(plain.is_empty(), "{plain:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_identity_takes_the_password_replaces_the_recovery_key_and_holds_sends_to_it() {
    let (alice_user, bob_user) = (new_user("rsa").await, new_user("rsb").await);
    let (a_dir, b_dir) = (TempDir::new("rs-a"), TempDir::new("rs-b"));
    let alice = device(&alice_user, "alice", &a_dir).await;
    // Bob's outbox tries again quickly.
    let mut quick = quotient::JobOptions::default();
    quick.backoff.retry_waits = vec![Duration::from_millis(200)];
    let bob = device_with(&bob_user, "bob", &b_dir, quick).await;
    let alice_id = quotient_api::UserId::parse(alice_user.user_id.as_str()).unwrap();
    let room = verified_pair(&alice, &bob).await;
    let old_key = alice.enable_recovery(None).await.unwrap();

    let wrong = SecretString::new("not the password".to_owned());
    assert!(
        alice.reset_identity(&wrong).await.is_err(),
        "a wrong password resets nothing"
    );
    let new_key = alice
        .reset_identity(&SecretString::new(alice_user.password.clone()))
        .await
        .unwrap();
    assert_ne!(new_key.expose(), old_key.expose());
    match alice.restore_recovery(&old_key).await {
        Err(Error::WrongRecoveryKey) => {}
        other => panic!("the old key should no longer open anything: {other:?}"),
    }
    assert!(alice.device_status().await.unwrap().cross_signed);

    // Bob verified Alice's old identity: the change is flagged, and his
    // message waits until he acknowledges it.
    bob.sync_once().await.unwrap();
    let trust = bob.user_trust(&alice_id).await.unwrap();
    assert!(trust.identity_changed && !trust.verified, "{trust:?}");
    let pending = bob
        .send(&room, OutgoingEvent::text("after the reset"))
        .await
        .unwrap();
    let waiting = tokio::time::timeout(Duration::from_secs(3), pending.sent()).await;
    assert!(waiting.is_err(), "sent before the change was acknowledged");
    bob.acknowledge_identity_change(&alice_id).await.unwrap();
    assert!(!bob.user_trust(&alice_id).await.unwrap().identity_changed);
    let mut read = None;
    for _ in 0..40 {
        alice.sync_once().await.unwrap();
        let events = alice.store().unwrap().timeline(&room, 100).unwrap();
        if let Some(e) = message(&events, "after the reset") {
            read = Some(e.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let tail: Vec<String> = alice
        .store()
        .unwrap()
        .timeline(&room, 5)
        .unwrap()
        .iter()
        .map(|e| format!("{} {:?}", e.json["type"], e.encryption))
        .collect();
    assert!(
        read.is_some(),
        "not read by Alice; her newest events: {tail:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_direct_chat_a_users_only_device_is_asked_and_several_must_be_named() {
    let (alice_user, bob_user) = (new_user("ada").await, new_user("adb").await);
    let dirs = (
        TempDir::new("ad-a"),
        TempDir::new("ad-b1"),
        TempDir::new("ad-b2"),
    );
    let alice = device(&alice_user, "alice", &dirs.0).await;
    let bob = device(&bob_user, "bob-one", &dirs.1).await;
    let bob_id = quotient_api::UserId::parse(bob_user.user_id.as_str()).unwrap();
    // No room shared: Alice fetches Bob's keys, Bob hers when asked.
    let loops = (alice.start_sync_loop(), bob.start_sync_loop());
    let asked = alice.request_verification(&bob_id, None).await.unwrap();
    let taken = bob
        .next_verification_request(FLOW)
        .await
        .unwrap()
        .expect("Bob's only device was asked");
    taken.accept().await.unwrap();
    let ((a_saw, a_end), (b_saw, b_end)) =
        tokio::join!(run_flow(asked, true), run_flow(taken, true));
    loops.0.stop().await.unwrap();
    loops.1.stop().await.unwrap();
    assert_eq!(
        (&a_end, &b_end),
        (&VerificationState::Done, &VerificationState::Done)
    );
    assert!(a_saw.is_some() && a_saw == b_saw, "{a_saw:?} {b_saw:?}");
    assert!(alice.user_trust(&bob_id).await.unwrap().verified);

    // With a second device, Alice must say which.
    let second = device(&bob_user, "bob-two", &dirs.2).await;
    let second_id = second.connection().session().unwrap().device_id;
    match alice.request_verification(&bob_id, None).await {
        Err(Error::Verification(why)) => {
            assert!(
                why.contains(&second_id) && why.contains("name one"),
                "{why}"
            )
        }
        other => panic!("expected a request to name a device, got {other:?}"),
    }
}

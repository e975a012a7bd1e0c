//! Trust and recovery between quotient and matrix-js-sdk 43 with its Rust
//! crypto (Element Web's engine; tests/support/jspeer.rs), on a real
//! Synapse: emoji verification with the web engine asking and answering,
//! between two devices of one user and between two users (the same seven
//! emoji on both sides, both verified), a cancel from either side and a
//! mismatch ending both flows with nothing verified, and a key backup
//! under a recovery key made by each side and restored by the other.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_jspeer_trust`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
#[path = "support/jspeer.rs"]
mod jspeer;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver, User};
use jspeer::{JsPeer, JsPeerOptions};
use quotient::{Connection, SecretString};
use quotient_api::generated::joining::JoinRoomById;
use quotient_api::{RoomId, UserId};
use quotient_client::encryption::UserTrust;
use quotient_client::outbox::OutgoingEvent;
use quotient_client::verification::{Verification, VerificationState};
use quotient_client::Client;
use serde_json::{json, Value};
use support::e2ee::{create_encrypted_room, message};
use support::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a flow (or a wait of the peer's) may take.
const FLOW: Duration = Duration::from_secs(60);
const FLOW_MS: u64 = 60_000;

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

async fn new_user(prefix: &'static str) -> User {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap()
}

fn user_id(user: &User) -> UserId {
    UserId::parse(user.user_id.as_str()).unwrap()
}

/// A new quotient device of `user` in `dir`, synced once with its keys out
/// (and cross-signing set up, or found made elsewhere), and its device ID.
async fn device(user: &User, name: &str, dir: &TempDir) -> (Client, String) {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let conn = Connection::builder(hs.url.clone()).build().unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some(name))
        .await
        .unwrap();
    let device_id = conn.session().unwrap().device_id.to_string();
    let client = Client::open(dir.path(), conn).unwrap();
    client.sync_once().await.unwrap();
    client.send_key_requests().await.unwrap();
    (client, device_id)
}

/// A peer for `user`, a new device of theirs named `name`.
async fn peer(user: &User, name: &str) -> JsPeer {
    let options = JsPeerOptions {
        device_name: name.into(),
        ..JsPeerOptions::default()
    };
    JsPeer::start_with(
        server().url.as_str(),
        &user.user_id,
        &user.password,
        options,
    )
    .await
}

/// Waits until the peer knows `device` of `user` (it handles verification
/// messages only from devices it knows).
async fn peer_knows_device(peer: &JsPeer, user: &str, device: &str) {
    for _ in 0..120 {
        let answer = peer.call("devices", json!({"user": user})).await.unwrap();
        let known = answer["devices"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["device_id"] == device));
        if known {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the peer never saw {user}'s device {device}");
}

/// Waits until quotient knows `device` of `user` (devices_of asks the
/// server each time).
async fn quotient_knows_device(client: &Client, user: &UserId, device: &str) {
    for _ in 0..120 {
        let devices = client.devices_of(user).await.unwrap();
        if devices.iter().any(|d| d.device_id == device) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("quotient never saw {user}'s device {device}");
}

/// Two users who share an encrypted room (made by the peer, joined by
/// quotient), each knowing the other's device: what verification between
/// users needs on both sides.
async fn two_users(prefix: &'static str, dir: &TempDir) -> (Client, String, JsPeer) {
    let q = new_user(prefix).await;
    let j = new_user(prefix).await;
    let (client, device) = device(&q, "quotient", dir).await;
    let peer = peer(&j, "web").await;
    assert!(peer.cross_signing_ready, "the peer made its identity");
    let room = peer.create_room(&[q.user_id.as_str()], true).await.unwrap();
    client.sync_once().await.unwrap();
    client
        .connection()
        .submit(JoinRoomById::new(RoomId::parse(room.as_str()).unwrap()))
        .await
        .unwrap();
    client.sync_once().await.unwrap();
    peer.call("wait_member", json!({"room_id": room, "user": q.user_id}))
        .await
        .unwrap();
    peer_knows_device(&peer, &q.user_id, &device).await;
    quotient_knows_device(&client, &user_id(&j), &peer.device_id).await;
    (client, device, peer)
}

/// `user`'s trust as quotient sees it, asked again (for a few seconds)
/// while it is not verified. Our signature on another user's master key
/// counts once a key query returns it; when the other side's MAC arrives
/// after our confirmation, the flow is Done while that signature upload
/// still waits in the outgoing queue for the sync loop, so a query right
/// after Done may not have it yet.
async fn user_trust_settled(client: &Client, user: &UserId) -> UserTrust {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let trust = client.user_trust(user).await.unwrap();
        if trust.verified || tokio::time::Instant::now() >= deadline {
            return trust;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a side shows at the comparison: each emoji's number in the spec's
/// table and its name, and the three decimals.
#[derive(Debug, PartialEq, Eq)]
struct Code {
    emoji: Vec<(u64, String)>,
    decimals: Vec<u64>,
}

/// quotient's flow followed in a task: its code is sent on `shown` at the
/// comparison, answered with a confirmation when `confirm`, else left for
/// someone else to answer or cancel.
struct Followed {
    shown: oneshot::Receiver<Code>,
    end: JoinHandle<VerificationState>,
}

fn follow(flow: &Verification, confirm: bool) -> Followed {
    let flow = flow.clone();
    let (tx, shown) = oneshot::channel();
    let end = tokio::spawn(async move {
        let mut tx = Some(tx);
        let mut states = flow.states();
        let run = async {
            while let Some(state) = states.next().await {
                if let VerificationState::Compare(code) = &state {
                    let (a, b, c) = code.decimals();
                    let shown = Code {
                        emoji: code
                            .emoji()
                            .iter()
                            .map(|e| (u64::from(e.number), e.name.to_owned()))
                            .collect(),
                        decimals: vec![a.into(), b.into(), c.into()],
                    };
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(shown);
                    }
                    if confirm {
                        flow.confirm().await.unwrap();
                    }
                }
                if state.is_final() {
                    return state;
                }
            }
            flow.state()
        };
        match tokio::time::timeout(FLOW, run).await {
            Ok(state) => state,
            Err(_) => panic!(
                "quotient's flow {} did not end within {FLOW:?}; it is at {:?}",
                flow.flow_id(),
                flow.state()
            ),
        }
    });
    Followed { shown, end }
}

impl Followed {
    /// quotient's code, once it reached the comparison.
    async fn compared(&mut self) -> Code {
        match tokio::time::timeout(FLOW, &mut self.shown).await {
            Ok(Ok(code)) => code,
            Ok(Err(_)) => panic!("quotient's flow ended before the comparison"),
            Err(_) => panic!("quotient's flow did not reach the comparison within {FLOW:?}"),
        }
    }

    async fn ended(self) -> VerificationState {
        match self.end.await {
            Ok(state) => state,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// The peer's code for `flow`, once it reached the comparison.
async fn peer_code(peer: &JsPeer, flow: &str) -> Code {
    let answer = peer
        .call(
            "verify_sas",
            json!({"flow_id": flow, "timeout_ms": FLOW_MS}),
        )
        .await
        .unwrap();
    let emoji = answer["emoji"]
        .as_array()
        .unwrap_or_else(|| panic!("no emoji from the peer: {answer}"))
        .iter()
        .map(|e| {
            let number = e["number"]
                .as_u64()
                .unwrap_or_else(|| panic!("an emoji without its number: {answer}"));
            (number, e["name"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let decimals = answer["decimals"]
        .as_array()
        .unwrap_or_else(|| panic!("no decimals from the peer: {answer}"))
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    Code { emoji, decimals }
}

/// The peer's end of `flow` (`state`, `code`, `by_us`), waited for.
async fn peer_end(peer: &JsPeer, flow: &str) -> Value {
    peer.call(
        "verify_end",
        json!({"flow_id": flow, "timeout_ms": FLOW_MS}),
    )
    .await
    .unwrap()
}

fn text(answer: &Value, key: &str) -> String {
    answer[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {answer}"))
        .to_owned()
}

fn assert_cancelled(state: &VerificationState, code: &str, by_us: bool) {
    match state {
        VerificationState::Cancelled(why) => {
            assert_eq!(why.code, code, "{why:?}");
            assert_eq!(why.by_us, by_us, "{why:?}");
        }
        other => panic!("expected quotient's flow cancelled ({code}), it ended {other:?}"),
    }
}

fn assert_peer_cancelled(end: &Value, code: &str, by_us: bool) {
    assert_eq!(end["state"], "cancelled", "{end}");
    assert_eq!(end["code"], code, "{end}");
    assert_eq!(end["by_us"], by_us, "{end}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_engine_asks_and_quotient_answers_between_devices_of_one_user() {
    let user = new_user("sasjs").await;
    // The peer first: it makes the identity and holds its keys.
    let peer = peer(&user, "web").await;
    assert!(peer.cross_signing_ready);
    let dir = TempDir::new("jsv-own");
    let (client, device) = device(&user, "quotient", &dir).await;
    assert!(!client.device_status().await.unwrap().cross_signed);
    peer_knows_device(&peer, &user.user_id, &device).await;

    let sync = client.start_sync_loop();
    let asked = peer.call("verify_request", json!({})).await.unwrap();
    let flow_id = text(&asked, "flow_id");
    let flow = client
        .next_verification_request(FLOW)
        .await
        .unwrap()
        .expect("the peer's request reached quotient");
    assert_eq!(flow.flow_id(), flow_id);
    assert!(!flow.we_started() && flow.is_self_verification());
    flow.accept().await.unwrap();
    let mut followed = follow(&flow, true);

    let ours = followed.compared().await;
    let theirs = peer_code(&peer, &flow_id).await;
    assert_eq!(ours.emoji.len(), 7);
    assert_eq!(ours, theirs, "both sides show the same emoji");
    peer.call("verify_confirm", json!({"flow_id": flow_id}))
        .await
        .unwrap();
    let end = peer_end(&peer, &flow_id).await;
    assert_eq!(end["state"], "done", "{end}");
    assert_eq!(followed.ended().await, VerificationState::Done);
    assert_eq!(
        flow.other_device().as_deref(),
        Some(peer.device_id.as_str())
    );

    // Each side sees the other device verified.
    let devices = client.devices_of(&user_id(&user)).await.unwrap();
    let web = devices
        .iter()
        .find(|d| d.device_id == peer.device_id)
        .expect("the peer's device");
    assert!(web.verified && web.cross_signed, "{web:?}");
    let seen = peer
        .call(
            "device_trust",
            json!({"user": user.user_id, "device": device}),
        )
        .await
        .unwrap();
    assert_eq!(seen["verified"], true, "{seen}");
    assert_eq!(seen["signed_by_owner"], true, "the peer signed it: {seen}");

    // The peer, holding the secrets, answers the new device's requests
    // for them.
    let secrets = client.wait_for_secrets(FLOW).await.unwrap();
    assert!(secrets.cross_signing_keys, "{secrets:?}");
    let status = client.device_status().await.unwrap();
    assert!(
        status.cross_signed && status.holds_cross_signing_keys,
        "{status:?}"
    );
    sync.stop().await.unwrap();
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotient_asks_a_web_users_device_and_both_users_end_verified() {
    let dir = TempDir::new("jsv-users");
    let (client, device, peer) = two_users("sasq", &dir).await;
    let web_user = UserId::parse(peer.user_id.as_str()).unwrap();
    let me = client.connection().session().unwrap().user_id.clone();
    assert!(!client.user_trust(&web_user).await.unwrap().verified);

    let sync = client.start_sync_loop();
    let flow = client
        .request_verification(&web_user, Some(&peer.device_id))
        .await
        .unwrap();
    assert!(flow.we_started() && !flow.is_self_verification());
    let mut followed = follow(&flow, true);
    let accepted = peer
        .call(
            "verify_accept",
            json!({"user": me.as_str(), "timeout_ms": FLOW_MS}),
        )
        .await
        .unwrap();
    assert_eq!(accepted["flow_id"], flow.flow_id(), "{accepted}");
    assert_eq!(accepted["other_device"], device.as_str(), "{accepted}");

    let ours = followed.compared().await;
    let theirs = peer_code(&peer, flow.flow_id()).await;
    assert_eq!(ours, theirs, "both sides show the same emoji");
    peer.call("verify_confirm", json!({"flow_id": flow.flow_id()}))
        .await
        .unwrap();
    let end = peer_end(&peer, flow.flow_id()).await;
    assert_eq!(end["state"], "done", "{end}");
    assert_eq!(followed.ended().await, VerificationState::Done);

    // quotient verified the web user's identity, and so their device.
    let trust = user_trust_settled(&client, &web_user).await;
    assert!(trust.has_identity && trust.verified, "{trust:?}");
    let devices = client.devices_of(&web_user).await.unwrap();
    let web = devices
        .iter()
        .find(|d| d.device_id == peer.device_id)
        .expect("the peer's device");
    assert!(web.verified, "{web:?}");
    // And the web engine verified quotient's user and device.
    let seen = peer
        .call("user_trust", json!({"user": me.as_str()}))
        .await
        .unwrap();
    assert_eq!(seen["verified"], true, "{seen}");
    let seen = peer
        .call(
            "device_trust",
            json!({"user": me.as_str(), "device": device}),
        )
        .await
        .unwrap();
    assert_eq!(seen["verified"], true, "{seen}");
    sync.stop().await.unwrap();
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_either_side_or_a_mismatch_ends_both_flows_verifying_nothing() {
    let dir = TempDir::new("jsv-cancel");
    let (client, device, peer) = two_users("sascan", &dir).await;
    let web_user = UserId::parse(peer.user_id.as_str()).unwrap();
    let me = client.connection().session().unwrap().user_id.clone();
    let sync = client.start_sync_loop();

    // The web engine asks, and cancels at the comparison.
    let asked = peer
        .call(
            "verify_request",
            json!({"user": me.as_str(), "device": device, "timeout_ms": FLOW_MS}),
        )
        .await
        .unwrap();
    let flow_id = text(&asked, "flow_id");
    let flow = client
        .next_verification_request(FLOW)
        .await
        .unwrap()
        .expect("the peer's request reached quotient");
    assert_eq!(flow.flow_id(), flow_id);
    flow.accept().await.unwrap();
    let mut followed = follow(&flow, false);
    let ours = followed.compared().await;
    assert_eq!(ours, peer_code(&peer, &flow_id).await);
    let end = peer
        .call(
            "verify_cancel",
            json!({"flow_id": flow_id, "timeout_ms": FLOW_MS}),
        )
        .await
        .unwrap();
    assert_peer_cancelled(&end, "m.user", true);
    assert_cancelled(&followed.ended().await, "m.user", false);

    // quotient asks, and cancels at the comparison.
    let flow = client
        .request_verification(&web_user, Some(&peer.device_id))
        .await
        .unwrap();
    let mut followed = follow(&flow, false);
    peer.call(
        "verify_accept",
        json!({"user": me.as_str(), "timeout_ms": FLOW_MS}),
    )
    .await
    .unwrap();
    let ours = followed.compared().await;
    assert_eq!(ours, peer_code(&peer, flow.flow_id()).await);
    flow.cancel().await.unwrap();
    assert_cancelled(&followed.ended().await, "m.user", true);
    assert_peer_cancelled(&peer_end(&peer, flow.flow_id()).await, "m.user", false);

    // quotient asks and confirms; the web engine says the emoji differ.
    let flow = client
        .request_verification(&web_user, Some(&peer.device_id))
        .await
        .unwrap();
    let mut followed = follow(&flow, true);
    peer.call(
        "verify_accept",
        json!({"user": me.as_str(), "timeout_ms": FLOW_MS}),
    )
    .await
    .unwrap();
    followed.compared().await;
    peer_code(&peer, flow.flow_id()).await;
    peer.call("verify_mismatch", json!({"flow_id": flow.flow_id()}))
        .await
        .unwrap();
    assert_peer_cancelled(
        &peer_end(&peer, flow.flow_id()).await,
        "m.mismatched_sas",
        true,
    );
    assert_cancelled(&followed.ended().await, "m.mismatched_sas", false);

    // Nothing verified on either side.
    assert!(!client.user_trust(&web_user).await.unwrap().verified);
    let web = client.devices_of(&web_user).await.unwrap();
    assert!(web.iter().all(|d| !d.verified), "{web:?}");
    let seen = peer
        .call("user_trust", json!({"user": me.as_str()}))
        .await
        .unwrap();
    assert_eq!(seen["verified"], false, "{seen}");
    let seen = peer
        .call(
            "device_trust",
            json!({"user": me.as_str(), "device": device}),
        )
        .await
        .unwrap();
    assert_eq!(seen["verified"], false, "{seen}");
    sync.stop().await.unwrap();
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_made_by_the_web_engine_is_restored_by_quotient_with_its_recovery_key() {
    let user = new_user("jsbackup").await;
    let peer = peer(&user, "web").await;
    let room = peer.create_room(&[], true).await.unwrap();
    let body = "written on the web before the quotient device existed";
    let sent = peer.send_text(&room, body, &[]).await.unwrap();
    let setup = peer
        .call("recovery_setup", json!({"timeout_ms": FLOW_MS}))
        .await
        .unwrap();
    let key = text(&setup, "recovery_key");
    let version = text(&setup, "backup_version");
    let backed = peer
        .call("backup_wait", json!({"min_keys": 1, "timeout_ms": FLOW_MS}))
        .await
        .unwrap();
    assert_eq!(backed["version"], version.as_str(), "{backed}");

    let dir = TempDir::new("jsbackup-q");
    let (client, _) = device(&user, "quotient", &dir).await;
    let events = client
        .store()
        .unwrap()
        .timeline(&support::room_id(&room), 100)
        .unwrap();
    assert!(message(&events, body).is_none(), "no key yet");

    let import = client
        .restore_recovery(&SecretString::new(key))
        .await
        .unwrap();
    assert!(import.imported >= 1, "{import:?}");
    let status = client.device_status().await.unwrap();
    assert!(
        status.cross_signed && status.holds_cross_signing_keys,
        "the web engine's secret storage held the cross-signing keys: {status:?}"
    );
    let backup = client.backup_status().await.unwrap();
    assert_eq!(backup.version.as_deref(), Some(version.as_str()));
    assert!(backup.has_key && backup.trusted, "{backup:?}");
    let events = client
        .store()
        .unwrap()
        .timeline(&support::room_id(&room), 100)
        .unwrap();
    let read = message(&events, body).expect("the web engine's message, decrypted");
    assert_eq!(
        read.event_id.as_ref().map(|id| id.as_str()),
        Some(sent.as_str())
    );
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_made_by_quotient_is_restored_by_the_web_engine_with_its_recovery_key() {
    let user = new_user("qbackup").await;
    let dir = TempDir::new("qbackup-q");
    let (client, _) = device(&user, "quotient", &dir).await;
    let room = create_encrypted_room(client.connection(), vec![]).await;
    client.sync_once().await.unwrap();
    let body = "written by quotient before the web device existed";
    let sent = client
        .send(&room, OutgoingEvent::text(body))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let key = client.enable_recovery(None).await.unwrap();
    let backup = client.backup_status().await.unwrap();
    assert!(
        backup.keys_local >= 1 && backup.keys_backed_up == backup.keys_local,
        "{backup:?}"
    );

    // A new device of the same user; the identity is quotient's, so the
    // peer cannot sign itself yet.
    let peer = peer(&user, "web").await;
    assert!(!peer.cross_signing_ready);
    // A well-formed key that is not this account's opens nothing.
    let wrong = peer
        .call(
            "recovery_restore",
            json!({"recovery_key": "EsTc LW2K PGiF wKEA 3As5 g5c4 BXwk qeeJ ZJV8 Q9fu gUMN UE4d"}),
        )
        .await;
    assert!(
        wrong.as_ref().is_err_and(|e| e.contains("does not open")),
        "{wrong:?}"
    );
    let restored = peer
        .call(
            "recovery_restore",
            json!({"recovery_key": key.expose(), "timeout_ms": FLOW_MS}),
        )
        .await
        .unwrap();
    assert!(
        restored["imported"].as_u64().is_some_and(|n| n >= 1),
        "{restored}"
    );
    assert_eq!(
        restored["cross_signed"], true,
        "quotient's secret storage held the cross-signing keys: {restored}"
    );
    assert_eq!(
        restored["backup_version"].as_str(),
        backup.version.as_deref(),
        "{restored}"
    );
    let seen = peer
        .wait_text(room.as_str(), body, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(seen["event_id"], sent.as_str(), "{seen}");
    assert_eq!(seen["decrypted"], true, "{seen}");
    peer.stop().await;
}

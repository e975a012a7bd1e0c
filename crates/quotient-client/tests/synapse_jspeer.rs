//! quotient's end-to-end encryption against another implementation:
//! matrix-js-sdk 43 with its Rust crypto (Element Web's engine, run by
//! Node from npm; tests/support/jspeer.rs), on a real Synapse. Text both
//! ways, the documented echo bot answering in an encrypted direct chat the
//! peer made, and the device-trust setting withholding keys from (and
//! messages of) a device that is not cross-signed.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_jspeer`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
#[path = "support/jspeer.rs"]
mod jspeer;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver, User};
use jspeer::{CrossSigning, JsPeer, JsPeerOptions};
use quotient::Connection;
use quotient_api::generated::joining::JoinRoomById;
use quotient_api::RoomId;
use quotient_client::encryption::{DeviceTrust, SenderTrust};
use quotient_client::outbox::OutgoingEvent;
use quotient_client::Client;
use serde_json::json;
use support::e2ee::{by_id, sync_until};
use support::TempDir;

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

async fn user(prefix: &'static str) -> User {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap()
}

async fn sign_in(user: &User, device: &str) -> Connection {
    let conn = server().connection();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some(device))
        .await
        .unwrap();
    conn
}

/// Waits until the peer sees `device` of `user` (it shares room keys with
/// the devices it knows of when it sends).
async fn peer_knows_device(peer: &JsPeer, user: &str, device: &str) {
    for _ in 0..60 {
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

/// A quotient client of `user` in a temporary store, synced once (keys
/// uploaded, cross-signing set up), with its device ID.
async fn quotient_client(user: &User, dir: &TempDir, trust: DeviceTrust) -> (Client, String) {
    let conn = sign_in(user, "quotient").await;
    let device = conn.session().unwrap().device_id;
    let client = Client::builder(conn)
        .device_trust(trust)
        .open(dir.path())
        .unwrap();
    client.sync_once().await.unwrap();
    client.send_key_requests().await.unwrap();
    (client, device)
}

/// Joins the peer's room from quotient and waits until both sides see it.
async fn join_peer_room(client: &Client, peer: &JsPeer, room: &str, me: &str) -> RoomId {
    let room_id = RoomId::parse(room).unwrap();
    client
        .connection()
        .submit(JoinRoomById::new(room_id.clone()))
        .await
        .unwrap();
    client.sync_once().await.unwrap();
    peer.call("wait_member", json!({"room_id": room, "user": me}))
        .await
        .unwrap();
    room_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotient_and_element_webs_engine_read_each_other_in_an_encrypted_room() {
    let (q, j) = (user("qjs").await, user("jsq").await);
    let dir = TempDir::new("jspeer-both-ways");
    let (client, device) = quotient_client(&q, &dir, DeviceTrust::CrossSigned).await;
    let peer = JsPeer::start(server().url.as_str(), &j.user_id, &j.password).await;
    assert!(peer.cross_signing_ready, "the peer cross-signed its device");

    let room = peer.create_room(&[q.user_id.as_str()], true).await.unwrap();
    client.sync_once().await.unwrap();
    let room_id = join_peer_room(&client, &peer, &room, &q.user_id).await;
    peer_knows_device(&peer, &q.user_id, &device).await;

    // js-sdk → quotient.
    let sent = peer
        .send_text(&room, "hello from the web", &[q.user_id.as_str()])
        .await
        .unwrap();
    let got = sync_until(&client, &room_id, |ev| by_id(ev, &sent)).await;
    assert_eq!(got.json["type"], "m.room.message", "{got:?}");
    assert_eq!(got.json["content"]["body"], "hello from the web");
    let enc = got.encryption.unwrap();
    assert_eq!(enc.error, None);
    assert_eq!(enc.sender_trust, Some(SenderTrust::CrossSigned));

    // quotient → js-sdk: decrypted there, from this device, which the
    // peer sees as cross-signed by its owner (no red shield).
    client
        .send(&room_id, OutgoingEvent::text("hello from quotient"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let seen = peer
        .wait_text(&room, "hello from quotient", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(seen["decrypted"], true, "{seen}");
    assert_eq!(seen["sender_device"], device.as_str(), "{seen}");
    assert_ne!(seen["shield"], "RED", "{seen}");
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_bot_answers_in_an_encrypted_direct_chat_made_by_the_web_engine() {
    let (bot, j) = (user("ebot").await, user("ejs").await);
    let cwd = TempDir::new("jspeer-echo");
    std::fs::create_dir_all(cwd.path()).unwrap();
    let mut child = std::process::Command::new(support::echo_bot_binary())
        .current_dir(cwd.path())
        .env("HOMESERVER", server().url.as_str())
        .env("BOT_USER", &bot.user_id)
        .env("BOT_PASSWORD", &bot.password)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let peer = JsPeer::start(server().url.as_str(), &j.user_id, &j.password).await;
    let room = peer
        .call(
            "create_room",
            json!({"invite": [bot.user_id], "encrypted": true, "direct": true}),
        )
        .await
        .unwrap()["room_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The bot does not accept invites itself: join for it (membership is
    // the user's; this second device has no keys and gets none).
    let joiner = sign_in(&bot, "joiner").await;
    joiner
        .submit(JoinRoomById::new(RoomId::parse(room.as_str()).unwrap()))
        .await
        .unwrap();
    peer.call("wait_member", json!({"room_id": room, "user": bot.user_id}))
        .await
        .unwrap();
    // The bot's own device (the one with keys, cross-signed by it).
    let mut bot_device = None;
    for _ in 0..120 {
        let answer = peer
            .call("devices", json!({"user": bot.user_id}))
            .await
            .unwrap();
        bot_device = answer["devices"].as_array().and_then(|d| {
            d.iter()
                .find(|d| d["signed_by_owner"] == true)
                .map(|d| d["device_id"].clone())
        });
        if bot_device.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let bot_device = bot_device.expect("the bot's device, cross-signed, seen by the peer");

    peer.send_text(&room, "echo me, secretly", &[bot.user_id.as_str()])
        .await
        .unwrap();
    let echo = peer
        .call(
            "wait_text",
            json!({"room_id": room, "body": "echo me, secretly", "sender": bot.user_id,
                   "timeout_ms": 60_000}),
        )
        .await;
    let _ = child.kill();
    let _ = child.wait();
    let echo = echo.unwrap();
    assert_eq!(echo["decrypted"], true, "{echo}");
    assert_eq!(echo["sender_device"], bot_device, "{echo}");
    assert_eq!(echo["content"]["msgtype"], "m.notice", "{echo}");
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_is_not_cross_signed_gets_no_key_and_is_not_shown_unless_trust_is_all() {
    let (q, j) = (user("qtr").await, user("jtr").await);
    let dir = TempDir::new("jspeer-trust");
    let (client, device) = quotient_client(&q, &dir, DeviceTrust::CrossSigned).await;
    let options = JsPeerOptions {
        device_name: "unsigned".into(),
        cross_signing: CrossSigning::None,
        ..JsPeerOptions::default()
    };
    let peer = JsPeer::start_with(server().url.as_str(), &j.user_id, &j.password, options).await;
    assert!(
        !peer.cross_signing_ready,
        "the peer's device stays unsigned"
    );
    let room = peer.create_room(&[q.user_id.as_str()], true).await.unwrap();
    client.sync_once().await.unwrap();
    let room_id = join_peer_room(&client, &peer, &room, &q.user_id).await;
    peer_knows_device(&peer, &q.user_id, &device).await;

    // The unsigned device's message: decrypted, withheld from display.
    let sent = peer
        .send_text(&room, "from an unsigned device", &[q.user_id.as_str()])
        .await
        .unwrap();
    let got = sync_until(&client, &room_id, |ev| by_id(ev, &sent)).await;
    assert_eq!(got.json["type"], "m.room.encrypted", "kept as it came");
    let enc = got.encryption.unwrap();
    assert_eq!(enc.sender_trust, Some(SenderTrust::NotCrossSigned));
    assert!(enc.error.unwrap().contains("not cross-signed"));

    // Ours: no key for the unsigned device.
    client
        .send(&room_id, OutgoingEvent::text("not for unsigned devices"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let refused = peer
        .wait_text(&room, "not for unsigned devices", Duration::from_secs(8))
        .await;
    assert!(refused.is_err(), "the unsigned device read it: {refused:?}");

    // The same store with trust `all`: the key goes to it, and its
    // messages are shown.
    let conn = client.connection().clone();
    drop(client);
    let client = Client::builder(conn)
        .device_trust(DeviceTrust::All)
        .open(dir.path())
        .unwrap();
    client
        .send(&room_id, OutgoingEvent::text("for every device"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let seen = peer
        .wait_text(&room, "for every device", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(seen["decrypted"], true);
    let sent = peer
        .send_text(&room, "shown now", &[q.user_id.as_str()])
        .await
        .unwrap();
    let got = sync_until(&client, &room_id, |ev| by_id(ev, &sent)).await;
    assert_eq!(got.json["content"]["body"], "shown now", "{got:?}");
    let enc = got.encryption.unwrap();
    assert_eq!(
        (enc.error, enc.sender_trust),
        (None, Some(SenderTrust::NotCrossSigned))
    );
    peer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_both_ways_encrypted_between_quotient_and_the_web_engine() {
    let (q, j) = (user("qfile").await, user("jfile").await);
    let dir = TempDir::new("jspeer-files");
    let (client, device) = quotient_client(&q, &dir, DeviceTrust::CrossSigned).await;
    let peer = JsPeer::start(server().url.as_str(), &j.user_id, &j.password).await;
    let room = peer.create_room(&[q.user_id.as_str()], true).await.unwrap();
    client.sync_once().await.unwrap();
    let room_id = join_peer_room(&client, &peer, &room, &q.user_id).await;
    peer_knows_device(&peer, &q.user_id, &device).await;
    let files = TempDir::new("jspeer-files-data");
    std::fs::create_dir_all(files.path()).unwrap();

    // quotient → js-sdk.
    let ours = files.path().join("ours.bin");
    let bytes: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&ours, &bytes).unwrap();
    let sent = client
        .send_file(&room_id, quotient_client::outbox::FileMessage::new(&ours))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let theirs = files.path().join("theirs-copy.bin");
    let answer = peer
        .call(
            "download",
            json!({"room_id": room, "event_id": sent, "out_path": theirs, "timeout_ms": 30_000}),
        )
        .await
        .unwrap();
    assert_eq!(answer["encrypted"], true, "{answer}");
    assert_eq!(std::fs::read(&theirs).unwrap(), bytes);

    // js-sdk → quotient.
    let from_peer = files.path().join("from-peer.bin");
    let peer_bytes: Vec<u8> = (0..90_000u32).map(|i| (i * 13 % 253) as u8).collect();
    std::fs::write(&from_peer, &peer_bytes).unwrap();
    let answer = peer
        .call(
            "send_file",
            json!({"room_id": room, "path": from_peer, "mimetype": "application/octet-stream",
                   "recipients": [q.user_id]}),
        )
        .await
        .unwrap();
    let event = answer["event_id"].as_str().unwrap().to_owned();
    sync_until(&client, &room_id, |ev| {
        by_id(ev, &event).filter(|e| e.json["type"] == "m.room.message")
    })
    .await;
    let event_id = quotient_api::EventId::parse(event.as_str()).unwrap();
    let source = client.event_file(&room_id, &event_id, false).await.unwrap();
    assert!(
        matches!(source, quotient_client::media::FileSource::Encrypted(_)),
        "the peer's file came encrypted"
    );
    let copy = files.path().join("ours-copy.bin");
    client
        .media()
        .download_source_to_path(&source, &copy)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&copy).unwrap(), peer_bytes);
    peer.stop().await;
}

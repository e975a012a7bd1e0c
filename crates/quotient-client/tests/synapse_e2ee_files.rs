//! Files and room keys of encrypted rooms against a real Synapse: a file
//! sent by one quotient client into an encrypted room is downloaded and
//! decrypted by the other byte for byte while the server holds only
//! ciphertext, a tampered ciphertext is refused with nothing written, and
//! room keys exported from one device and imported into a second device
//! of the same account open the messages that device could not read.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test synapse_e2ee_files`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::path::Path;
use std::time::Duration;

use homeserver::{fresh_user, homeserver, Homeserver, User as TestUser};
use quotient::{Connection, SecretString};
use quotient_api::generated::joining::JoinRoomById;
use quotient_api::UserId;
use quotient_client::encryption::{DeviceTrust, SenderTrust};
use quotient_client::media::{EncryptedFile, FileSource};
use quotient_client::outbox::{FileMessage, OutgoingEvent};
use quotient_client::store::EventChange;
use quotient_client::{Client, Error};
use support::e2ee::{by_id, create_encrypted_room, sync_until};
use support::TempDir;

fn server() -> &'static Homeserver {
    homeserver(homeserver::Config::Default)
}

async fn new_user(prefix: &'static str) -> TestUser {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap()
}

/// A new sign-in (a new device) of `user`.
async fn sign_in(user: &TestUser, device: &str) -> (Connection, UserId) {
    let conn = server().connection();
    let session = conn
        .login_with_password(&user.user_id, user.password.clone().into(), Some(device))
        .await
        .unwrap();
    (conn, session.user_id)
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// The files in `dir`, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_in_an_encrypted_room_reaches_the_other_client_while_the_server_holds_ciphertext() {
    let (alice_user, bob_user) = (new_user("filea").await, new_user("fileb").await);
    let (a, _) = sign_in(&alice_user, "filea").await;
    let (b, bob) = sign_in(&bob_user, "fileb").await;
    let (dir_a, dir_b, work) = (
        TempDir::new("files-a"),
        TempDir::new("files-b"),
        TempDir::new("files-work"),
    );
    let alice = Client::open(dir_a.path(), a.clone()).unwrap();
    let bobs = Client::open(dir_b.path(), b.clone()).unwrap();
    alice.sync_once().await.unwrap();
    bobs.sync_once().await.unwrap();
    let room = create_encrypted_room(&a, vec![bob]).await;
    bobs.sync_once().await.unwrap();
    b.submit(JoinRoomById::new(room.clone())).await.unwrap();
    bobs.sync_once().await.unwrap();
    alice.sync_once().await.unwrap();

    // A file with a recognisable plaintext, over several decryptor reads.
    std::fs::create_dir_all(work.path()).unwrap();
    let mut plaintext = b"TOP SECRET PLANS ".repeat(64);
    plaintext.extend(pattern(300_000, 7));
    let source = work.path().join("plans.bin");
    std::fs::write(&source, &plaintext).unwrap();
    let sent = alice
        .send_file(&room, FileMessage::new(&source).caption("the plans"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    // The outbox forgot nothing it needed and kept the key out of sight.
    let entry = alice
        .outbox_entries(Some(&room))
        .unwrap()
        .into_iter()
        .find(|e| matches!(&e.state, quotient_client::outbox::OutboxState::Sent { event_id: Some(event_id) } if event_id.as_str() == sent.as_str()))
        .expect("the entry is kept a while after it was sent");
    assert!(entry.attachment.as_ref().unwrap().uploaded);

    // Bob reads it: `file`, not `url`, and the plaintext's info.
    let got = sync_until(&bobs, &room, |ev| by_id(ev, &sent)).await;
    let enc = got.encryption.clone().expect("it came encrypted");
    assert_eq!(enc.error, None, "{:?}", got.json);
    let content = &got.json["content"];
    assert_eq!(content["msgtype"], "m.file");
    assert_eq!(content["body"], "the plans");
    assert_eq!(content["filename"], "plans.bin");
    assert!(content.get("url").is_none(), "{content}");
    assert_eq!(content["info"]["size"], plaintext.len());
    assert_eq!(content["file"]["v"], "v2");
    let key = content["file"]["key"]["k"].as_str().unwrap().to_owned();

    let event_id = sent.clone();
    let FileSource::Encrypted(file) = bobs.event_file(&room, &event_id, false).await.unwrap()
    else {
        panic!("not an encrypted file")
    };
    assert!(!format!("{file:?}").contains(&key), "Debug shows no key");
    let target = work.path().join("received.bin");
    let downloaded = bobs
        .media()
        .download_encrypted_to_path(&file, &target)
        .await
        .unwrap();
    assert_eq!(downloaded.size, plaintext.len() as u64);
    assert!(
        std::fs::read(&target).unwrap() == plaintext,
        "byte for byte"
    );

    // The server holds the ciphertext only: the same length (AES-CTR),
    // other bytes, no trace of the plaintext.
    let mut held = Vec::new();
    bobs.media()
        .download_to_writer(file.url(), &mut held)
        .await
        .unwrap();
    assert_eq!(held.len(), plaintext.len());
    assert!(held != plaintext);
    assert!(!held.windows(16).any(|w| w == b"TOP SECRET PLANS"));

    // A fetched event (not in the store) is decrypted through the client:
    // a third client of Bob's account on a fresh store has no stored
    // events, but its own machine has no key either, so it says why.
    let fresh_dir = TempDir::new("files-fresh");
    let (b2, _) = sign_in(&bob_user, "fileb2").await;
    let fresh = Client::open(fresh_dir.path(), b2).unwrap();
    match fresh.event_file(&room, &event_id, false).await {
        Err(Error::Undecryptable { reason, .. }) => assert!(!reason.is_empty()),
        other => panic!("expected Undecryptable, got {other:?}"),
    }
    drop(fresh);
    // Bob's own client finds the stored one, and a plain download into a
    // writer gives the plaintext too.
    let mut to_writer = Vec::new();
    bobs.media()
        .download_source_to_writer(&FileSource::Encrypted(file.clone()), &mut to_writer)
        .await
        .unwrap();
    assert!(to_writer == plaintext);

    // Tampering: a second upload whose bytes differ by one, with the
    // original key, IV and hash pointing at it, is refused and nothing is
    // written at the target (nor left beside it).
    let mut tampered = held.clone();
    tampered[1000] ^= 0x01;
    let uploaded = alice
        .media()
        .upload_bytes(tampered.into(), "application/octet-stream", None)
        .await
        .unwrap()
        .await
        .unwrap();
    let mut forged = content["file"].clone();
    forged["url"] = uploaded.content_uri.as_str().into();
    let forged = EncryptedFile::from_json(&forged).unwrap();
    let tampered_target = work.path().join("tampered.bin");
    let before = listing(work.path());
    match bobs
        .media()
        .download_encrypted_to_path(&forged, &tampered_target)
        .await
    {
        Err(Error::FileHashMismatch) => {}
        other => panic!("expected FileHashMismatch, got {other:?}"),
    }
    assert!(!tampered_target.exists());
    assert_eq!(listing(work.path()), before, "no temporary file is left");
    // To a writer, nothing is written either.
    let mut nothing = Vec::new();
    assert!(matches!(
        bobs.media()
            .download_encrypted_to_writer(&forged, &mut nothing)
            .await,
        Err(Error::FileHashMismatch)
    ));
    assert!(nothing.is_empty());
    // An existing file at the target stays as it was.
    std::fs::write(&tampered_target, b"mine").unwrap();
    assert!(bobs
        .media()
        .download_encrypted_to_path(&forged, &tampered_target)
        .await
        .is_err());
    assert_eq!(std::fs::read(&tampered_target).unwrap(), b"mine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_keys_exported_from_one_device_open_messages_on_another() {
    let user = new_user("keys").await;
    let (one, _) = sign_in(&user, "keys1").await;
    let (dir1, dir2, work) = (
        TempDir::new("keys-1"),
        TempDir::new("keys-2"),
        TempDir::new("keys-work"),
    );
    let first = Client::open(dir1.path(), one.clone()).unwrap();
    first.sync_once().await.unwrap();
    let room = create_encrypted_room(&one, Vec::new()).await;
    first.sync_once().await.unwrap();
    // Sent before the second device exists: its room key never goes there.
    let sent = first
        .send(&room, OutgoingEvent::text("before the second device"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();

    // A key from a file never proves which device made it (the crate
    // reports "authenticity not guaranteed"), and the default trust
    // setting shows only cross-signed senders: the device that reads
    // imported history is set to `all`. (The default's verdict is checked
    // at the end.)
    let (two, _) = sign_in(&user, "keys2").await;
    let second = Client::builder(two)
        .device_trust(DeviceTrust::All)
        .open(dir2.path())
        .unwrap();
    let mut watcher = second.watch_timeline("keys-test").unwrap();
    let waiting = sync_until(&second, &room, |ev| by_id(ev, &sent)).await;
    let reason = waiting
        .encryption
        .and_then(|e| e.error)
        .expect("the second device cannot read it yet");
    assert_eq!(waiting.json["type"], "m.room.encrypted", "{reason}");
    loop {
        let live = watcher.next().await.unwrap();
        if live.event.event_id.as_ref().map(|id| id.as_str()) == Some(sent.as_str()) {
            assert_eq!(live.change, EventChange::New);
            break;
        }
    }

    // Export: owner-only, the standard armour, atomically in place.
    std::fs::create_dir_all(work.path()).unwrap();
    let path = work.path().join("keys.txt");
    let passphrase = SecretString::new("correct horse battery staple");
    let exported = first.export_room_keys(&path, &passphrase).await.unwrap();
    assert!(exported >= 1, "{exported}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("-----BEGIN MEGOLM SESSION DATA-----"),
        "{text}"
    );
    assert!(text
        .trim_end()
        .ends_with("-----END MEGOLM SESSION DATA-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    assert_eq!(listing(work.path()), ["keys.txt"]);

    // A wrong passphrase imports nothing and says so.
    match second
        .import_room_keys(&path, &SecretString::new("wrong"))
        .await
    {
        Err(e @ Error::KeyExport { .. }) => {
            assert!(
                e.to_string()
                    .contains("wrong passphrase or not a key export"),
                "{e}"
            )
        }
        other => panic!("expected KeyExport, got {other:?}"),
    }
    let still = second.store().unwrap().timeline(&room, 100).unwrap();
    assert_eq!(
        by_id(&still, &sent).unwrap().json["type"],
        "m.room.encrypted"
    );

    // The right one: the stored event decrypts at once, no sync needed.
    let import = second.import_room_keys(&path, &passphrase).await.unwrap();
    assert_eq!(import.total, exported);
    assert!(import.imported >= 1, "{import:?}");
    let now = second.store().unwrap().timeline(&room, 100).unwrap();
    let opened = by_id(&now, &sent).unwrap();
    assert_eq!(
        opened.json["content"]["body"], "before the second device",
        "{:?}",
        opened.encryption
    );
    assert_eq!(opened.encryption.unwrap().error, None);
    // The watcher hears of it once more, as decrypted.
    let live = tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .expect("the watcher heard of the decryption")
        .unwrap();
    assert_eq!(live.change, EventChange::Decrypted);
    assert_eq!(
        live.event.event_id.as_ref().map(|id| id.as_str()),
        Some(sent.as_str())
    );
    assert_eq!(
        live.event.json["content"]["body"],
        "before the second device"
    );
    // Importing again brings nothing new.
    let again = second.import_room_keys(&path, &passphrase).await.unwrap();
    assert_eq!((again.imported, again.total), (0, exported));

    // With the default trust setting the same import decrypts the event
    // and shows it: the device the key names is cross-signed by its
    // owner, though a file cannot prove the key is that device's.
    let dir3 = TempDir::new("keys-3");
    let (three, _) = sign_in(&user, "keys3").await;
    let third = Client::open(dir3.path(), three).unwrap();
    sync_until(&third, &room, |ev| by_id(ev, &sent)).await;
    third.import_room_keys(&path, &passphrase).await.unwrap();
    let held = by_id(&third.store().unwrap().timeline(&room, 100).unwrap(), &sent).unwrap();
    let enc = held.encryption.unwrap();
    assert_eq!(
        enc.sender_trust,
        Some(SenderTrust::CrossSignedUnauthenticated)
    );
    assert_eq!(enc.error, None, "{enc:?}");
    assert_eq!(held.json["content"]["body"], "before the second device");
}

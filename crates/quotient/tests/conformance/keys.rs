//! End-to-end encryption keys: device and one-time keys, cross-signing,
//! and server-side key backup.

use quotient::api::generated::{
    cross_signing::UploadCrossSigningKeys, cross_signing::UploadCrossSigningSignatures,
    key_backup::DeleteRoomKeyBySessionId, key_backup::DeleteRoomKeys,
    key_backup::DeleteRoomKeysByRoomId, key_backup::DeleteRoomKeysVersion,
    key_backup::GetRoomKeyBySessionId, key_backup::GetRoomKeys, key_backup::GetRoomKeysByRoomId,
    key_backup::GetRoomKeysVersion, key_backup::GetRoomKeysVersionCurrent,
    key_backup::PostRoomKeysVersion, key_backup::PutRoomKeyBySessionId, key_backup::PutRoomKeys,
    key_backup::PutRoomKeysByRoomId, key_backup::PutRoomKeysVersion, keys::ClaimKeys,
    keys::GetKeysChanges, keys::QueryKeys, keys::UploadKeys, sync::SyncRequest,
};
use quotient::PasswordHandler;
use serde_json::{json, Value};

use crate::check::{call, call_uia};
use crate::fixture::{account, create_room, from_json, join, obj};

/// A well-formed (32-byte, unpadded base64) but made-up public key.
fn fake_key(fill: char) -> String {
    std::iter::repeat_n(fill, 42).collect::<String>() + "A"
}

fn signed_key(user: &str, device: &str, fill: char) -> Value {
    json!({
        "key": fake_key(fill),
        "signatures": {user: {format!("ed25519:{device}"): fake_key('s')}},
    })
}

pub async fn device_keys() {
    let alice = account("cryptic").await;
    let bob = account("querier").await;
    let room = create_room(&alice, "public_chat", json!([])).await;
    join(&bob, &room).await;
    let before = call(&bob.conn, SyncRequest::new())
        .await
        .unwrap()
        .next_batch;

    let (user, device) = (alice.id(), alice.device_id.clone());
    let mut upload = UploadKeys::new();
    upload.device_keys = Some(from_json(json!({
        "user_id": user,
        "device_id": device,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {format!("curve25519:{device}"): fake_key('c'), format!("ed25519:{device}"): fake_key('e')},
        "signatures": {user.clone(): {format!("ed25519:{device}"): fake_key('s')}},
    })));
    upload.one_time_keys = Some(from_json(json!({
        "signed_curve25519:AAAAAQ": signed_key(&user, &device, 'o'),
        "signed_curve25519:AAAAAg": signed_key(&user, &device, 'p'),
    })));
    upload.fallback_keys = Some(from_json(json!({
        "signed_curve25519:AAAAAw": {"key": fake_key('f'), "fallback": true,
            "signatures": {user.clone(): {format!("ed25519:{device}"): fake_key('s')}}},
    })));
    let counts = call(&alice.conn, upload).await.unwrap();
    assert_eq!(
        counts.one_time_key_counts.get("signed_curve25519"),
        Some(&2)
    );

    let query = QueryKeys::new(from_json(json!({ user.clone(): [] })));
    let found = call(&bob.conn, query).await.unwrap();
    let devices = found.device_keys.expect("device_keys");
    assert!(devices[&alice.user_id].contains_key(&device));

    let claim = ClaimKeys::new(from_json(
        json!({ user.clone(): {device.clone(): "signed_curve25519"} }),
    ));
    let claimed = call(&bob.conn, claim).await;
    assert!(claimed.is_some());

    let after = call(&bob.conn, SyncRequest::new())
        .await
        .unwrap()
        .next_batch;
    let changes = call(&bob.conn, GetKeysChanges::new(before, after))
        .await
        .unwrap();
    assert!(changes.changed.unwrap_or_default().contains(&user));
}

pub async fn cross_signing() {
    let me = account("signer").await;
    let user = me.id();
    let master = fake_key('m');
    let mut upload = UploadCrossSigningKeys::new();
    upload.master_key = Some(from_json(json!({
        "user_id": user,
        "usage": ["master"],
        "keys": {format!("ed25519:{master}"): master},
    })));
    let mut handler = PasswordHandler::new(user.clone(), me.password.clone().into());
    call_uia(&me.conn, upload, &mut handler).await.unwrap();

    let query = QueryKeys::new(from_json(json!({ user.clone(): [] })));
    let found = call(&me.conn, query).await.unwrap();
    assert!(found
        .master_keys
        .unwrap_or_default()
        .contains_key(&me.user_id));

    // A signature that does not verify: Synapse answers 200 and lists it
    // under `failures`.
    let signatures = UploadCrossSigningSignatures::new(from_json(json!({
        user.clone(): {master.clone(): {
            "user_id": user,
            "usage": ["master"],
            "keys": {format!("ed25519:{master}"): master},
            "signatures": {user.clone(): {format!("ed25519:{}", me.device_id): fake_key('x')}},
        }}
    })));
    let answer = call(&me.conn, signatures).await.unwrap();
    assert!(answer
        .failures
        .unwrap_or_default()
        .contains_key(&me.user_id));
}

fn backup_data(index: i64) -> Value {
    json!({
        "first_message_index": index,
        "forwarded_count": 0,
        "is_verified": false,
        "session_data": {"ephemeral": fake_key('e'), "ciphertext": "c2VjcmV0", "mac": "bWFj"},
    })
}

pub async fn backup() {
    let me = account("backer").await;
    let algorithm = "m.megolm_backup.v1.curve25519-aes-sha2";
    let auth_data = obj(json!({"public_key": fake_key('b')}));
    let created = PostRoomKeysVersion::new(algorithm.into(), auth_data.clone());
    let version = call(&me.conn, created).await.unwrap().version;
    let current = call(&me.conn, GetRoomKeysVersionCurrent::new())
        .await
        .unwrap();
    assert_eq!(current.version, version);
    let mut update = PutRoomKeysVersion::new(
        version.clone(),
        algorithm.into(),
        obj(json!({"public_key": fake_key('b'), "extra": 1})),
    );
    update.body_version = Some(version.clone());
    call(&me.conn, update).await.unwrap();
    let got = call(&me.conn, GetRoomKeysVersion::new(version.clone()))
        .await
        .unwrap();
    assert_eq!(got.auth_data.get("extra"), Some(&json!(1)));

    let room = "!backup:localhost".to_owned();
    let one = PutRoomKeyBySessionId::new(
        version.clone(),
        room.clone(),
        "s1".into(),
        from_json(backup_data(1)),
    );
    let counted = call(&me.conn, one).await.unwrap();
    assert_eq!(counted.count, 1);
    let by_room = PutRoomKeysByRoomId::new(
        version.clone(),
        room.clone(),
        from_json(json!({"sessions": {"s2": backup_data(2)}})),
    );
    call(&me.conn, by_room).await.unwrap();
    let all = PutRoomKeys::new(
        version.clone(),
        from_json(json!({ room.clone(): {"sessions": {"s3": backup_data(3)}} })),
    );
    assert_eq!(call(&me.conn, all).await.unwrap().count, 3);

    let session = GetRoomKeyBySessionId::new(version.clone(), room.clone(), "s1".into());
    assert_eq!(
        call(&me.conn, session).await.unwrap().first_message_index,
        1
    );
    let sessions = call(
        &me.conn,
        GetRoomKeysByRoomId::new(version.clone(), room.clone()),
    )
    .await
    .unwrap();
    assert_eq!(sessions.sessions.len(), 3);
    let everything = call(&me.conn, GetRoomKeys::new(version.clone()))
        .await
        .unwrap();
    assert_eq!(everything.rooms.len(), 1);

    let delete = DeleteRoomKeyBySessionId::new(version.clone(), room.clone(), "s1".into());
    assert_eq!(call(&me.conn, delete).await.unwrap().count, 2);
    let delete = DeleteRoomKeysByRoomId::new(version.clone(), room.clone());
    assert_eq!(call(&me.conn, delete).await.unwrap().count, 0);
    call(&me.conn, DeleteRoomKeys::new(version.clone()))
        .await
        .unwrap();
    call(&me.conn, DeleteRoomKeysVersion::new(version))
        .await
        .unwrap();
}

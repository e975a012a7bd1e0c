//! Profile fields, presence, account data (global and per room) and tags.

use quotient::api::generated::{
    account_data::GetAccountData, account_data::GetAccountDataPerRoom,
    account_data::SetAccountData, account_data::SetAccountDataPerRoom, presence::GetPresence,
    presence::SetPresence, profile::DeleteProfileField, profile::GetProfileField,
    profile::GetUserProfile, profile::SetProfileField, tags::DeleteRoomTag, tags::GetRoomTags,
    tags::SetRoomTag,
};
use serde_json::json;

use crate::check::{call, expect_error};
use crate::fixture::{account, create_room, from_json, obj};

pub async fn profile_and_presence() {
    let me = account("profiled").await;
    let other = account("observer").await;
    let set = |key: &str, value: serde_json::Value| {
        SetProfileField::new(me.user_id.clone(), key.into(), obj(json!({ key: value })))
    };
    call(&me.conn, set("displayname", json!("Profiled Person")))
        .await
        .unwrap();
    call(&me.conn, set("avatar_url", json!("mxc://localhost/avatar")))
        .await
        .unwrap();
    call(&me.conn, set("m.tz", json!("Europe/Berlin")))
        .await
        .unwrap();
    call(&me.conn, set("org.example.pet", json!("cat")))
        .await
        .unwrap();

    let name = call(
        &other.conn,
        GetProfileField::new(me.user_id.clone(), "displayname".into()),
    )
    .await
    .unwrap();
    assert_eq!(name.0.get("displayname"), Some(&json!("Profiled Person")));
    let profile = call(&other.conn, GetUserProfile::new(me.user_id.clone()))
        .await
        .unwrap();
    assert_eq!(profile.displayname.as_deref(), Some("Profiled Person"));
    assert_eq!(profile.m_tz.as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        profile.avatar_url.map(|u| u.to_string()).as_deref(),
        Some("mxc://localhost/avatar")
    );
    assert_eq!(
        profile.additional.get("org.example.pet"),
        Some(&json!("cat"))
    );

    call(
        &me.conn,
        DeleteProfileField::new(me.user_id.clone(), "org.example.pet".into()),
    )
    .await
    .unwrap();
    let err = expect_error(
        &other.conn,
        GetProfileField::new(me.user_id.clone(), "org.example.pet".into()),
    )
    .await;
    assert_eq!(err.http_status(), Some(404));

    // Presence is visible to users who share a room.
    let room = create_room(&me, "public_chat", json!([])).await;
    crate::fixture::join(&other, &room).await;
    let mut presence = SetPresence::new(me.id(), "unavailable".into());
    presence.status_msg = Some("at lunch".into());
    call(&me.conn, presence).await.unwrap();
    let seen = call(&other.conn, GetPresence::new(me.id())).await.unwrap();
    assert_eq!(seen.status_msg, Some(Some("at lunch".to_owned())));
    assert_eq!(serde_json::to_value(&seen.presence).unwrap(), "unavailable");
}

pub async fn account_data_and_tags() {
    let me = account("keeper").await;
    let room = create_room(&me, "private_chat", json!([])).await;
    let data = obj(json!({"theme": "dark", "sizes": [1, 2]}));
    call(
        &me.conn,
        SetAccountData::new(me.id(), "org.example.settings".into(), data.clone()),
    )
    .await
    .unwrap();
    let got = call(
        &me.conn,
        GetAccountData::new(me.id(), "org.example.settings".into()),
    )
    .await
    .unwrap();
    assert_eq!(got.0, data);
    let per_room = SetAccountDataPerRoom::new(
        me.id(),
        room.as_str().into(),
        "org.example.room".into(),
        obj(json!({"pinned": true})),
    );
    call(&me.conn, per_room).await.unwrap();
    let got = GetAccountDataPerRoom::new(me.id(), room.as_str().into(), "org.example.room".into());
    let got = call(&me.conn, got).await.unwrap();
    assert_eq!(got.0.get("pinned"), Some(&json!(true)));

    let tag = SetRoomTag::new(
        me.id(),
        room.as_str().into(),
        "u.work".into(),
        from_json(json!({"order": 0.5})),
    );
    call(&me.conn, tag).await.unwrap();
    let fav = SetRoomTag::new(
        me.id(),
        room.as_str().into(),
        "m.favourite".into(),
        from_json(json!({})),
    );
    call(&me.conn, fav).await.unwrap();
    let tags = call(&me.conn, GetRoomTags::new(me.id(), room.as_str().into()))
        .await
        .unwrap();
    let tags = tags.tags.unwrap_or_default();
    assert_eq!(tags.len(), 2);
    assert_eq!(tags["u.work"].order, Some(0.5));
    call(
        &me.conn,
        DeleteRoomTag::new(me.id(), room.as_str().into(), "u.work".into()),
    )
    .await
    .unwrap();
    let tags = call(&me.conn, GetRoomTags::new(me.id(), room.as_str().into()))
        .await
        .unwrap();
    assert_eq!(tags.tags.unwrap_or_default().len(), 1);
}

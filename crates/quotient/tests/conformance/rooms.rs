//! Room membership: create, invite, join, leave, kick, ban, knock, upgrade,
//! forget, report.

use quotient::api::generated::{
    banning::Ban, banning::Unban, inviting::InviteUser, joining::JoinRoom, kicking::Kick,
    knocking::KnockRoom, leaving::ForgetRoom, leaving::LeaveRoom,
    list_joined_rooms::GetJoinedRooms, report_content::ReportEvent, report_content::ReportRoom,
    report_content::ReportUser, room_upgrades::UpgradeRoom, rooms::GetJoinedMembersByRoom,
    rooms::GetMembersByRoom,
};
use quotient::api::{RoomAliasId, RoomOrAliasId};
use serde_json::json;

use crate::check::{call, expect_error};
use crate::fixture::{account, create_room, join, send_text, txn, typed};

pub async fn lifecycle() {
    let alice = account("alice").await;
    let bob = account("bob").await;
    let carol = account("carol").await;
    let room = create_room(&alice, "private_chat", json!([])).await;
    call(
        &alice.conn,
        InviteUser::new(room.clone(), bob.user_id.clone()),
    )
    .await
    .unwrap();
    join(&bob, &room).await;
    let joined = call(&bob.conn, GetJoinedRooms::new()).await.unwrap();
    assert!(joined.joined_rooms.contains(&room));

    // A public room joined by its alias.
    let mut public = quotient::api::generated::create_room::CreateRoom::new();
    let alias_name = format!("lobby{}", txn());
    public.preset = Some("public_chat".into());
    public.room_alias_name = Some(alias_name.clone());
    let lobby = call(&alice.conn, public).await.unwrap().room_id;
    let alias: RoomAliasId = format!("#{alias_name}:localhost").parse().unwrap();
    let mut by_alias = JoinRoom::new(RoomOrAliasId::from(alias));
    by_alias.reason = Some("saying hello".into());
    let entered = call(&carol.conn, by_alias).await.unwrap();
    assert_eq!(entered.room_id, lobby);

    let members = call(&alice.conn, GetMembersByRoom::new(room.clone()))
        .await
        .unwrap();
    assert_eq!(members.chunk.unwrap_or_default().len(), 2);
    let joined = call(&alice.conn, GetJoinedMembersByRoom::new(room.clone()))
        .await
        .unwrap();
    let joined = joined.joined.unwrap_or_default();
    assert!(joined.contains_key(&alice.user_id) && joined.contains_key(&bob.user_id));

    let mut leave = LeaveRoom::new(room.clone());
    leave.reason = Some("done".into());
    call(&bob.conn, leave).await.unwrap();
    let joined = call(&bob.conn, GetJoinedRooms::new()).await.unwrap();
    assert!(!joined.joined_rooms.contains(&room));
}

pub async fn moderation() {
    let mod_ = account("mod").await;
    let troll = account("troll").await;
    let room = create_room(&mod_, "public_chat", json!([])).await;
    join(&troll, &room).await;
    let noise = send_text(&troll, &room, "noise").await;

    let mut kick = Kick::new(room.clone(), troll.user_id.clone());
    kick.reason = Some("calm down".into());
    call(&mod_.conn, kick).await.unwrap();
    join(&troll, &room).await;
    call(&mod_.conn, Ban::new(room.clone(), troll.user_id.clone()))
        .await
        .unwrap();
    let err = expect_error(
        &troll.conn,
        quotient::api::generated::joining::JoinRoomById::new(room.clone()),
    )
    .await;
    assert_eq!(err.http_status(), Some(403), "banned");
    call(&mod_.conn, Unban::new(room.clone(), troll.user_id.clone()))
        .await
        .unwrap();
    join(&troll, &room).await;

    let mut report = ReportEvent::new(room.as_str().into(), noise.as_str().into());
    report.reason = Some("spam".into());
    call(&mod_.conn, report).await.unwrap();
    call(
        &troll.conn,
        ReportRoom::new(room.as_str().into(), "unfair".into()),
    )
    .await
    .unwrap();
    call(
        &mod_.conn,
        ReportUser::new(troll.user_id.clone(), "trolling".into()),
    )
    .await
    .unwrap();
}

pub async fn knocking() {
    let owner = account("door").await;
    let guest = account("knocker").await;
    let room = create_room(
        &owner,
        "private_chat",
        json!([{"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}]),
    )
    .await;
    let mut knock = KnockRoom::new(RoomOrAliasId::from(room.clone()));
    knock.reason = Some("let me in".into());
    let knocked = call(&guest.conn, knock).await.unwrap();
    assert_eq!(knocked.room_id, room);
    // The knock shows in the owner's member list.
    let members = call(&owner.conn, GetMembersByRoom::new(room.clone()))
        .await
        .unwrap();
    let knocks = members
        .chunk
        .unwrap_or_default()
        .into_iter()
        .filter(|m| typed(m).content.get("membership") == Some(&json!("knock")))
        .count();
    assert_eq!(knocks, 1);
}

pub async fn upgrade_and_forget() {
    let owner = account("upgrader").await;
    let room = create_room(&owner, "private_chat", json!([])).await;
    let upgraded = call(
        &owner.conn,
        UpgradeRoom::new(room.as_str().into(), "11".into()),
    )
    .await
    .unwrap();
    assert_ne!(upgraded.replacement_room, room.as_str());
    call(&owner.conn, LeaveRoom::new(room.clone()))
        .await
        .unwrap();
    call(&owner.conn, ForgetRoom::new(room.clone()))
        .await
        .unwrap();
    let joined = call(&owner.conn, GetJoinedRooms::new()).await.unwrap();
    assert_eq!(joined.joined_rooms.len(), 1, "only the replacement is left");
}

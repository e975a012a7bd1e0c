//! Push rules, pushers and the notification list.

use std::time::{Duration, Instant};

use quotient::api::generated::{
    notifications::GetNotifications, pusher::GetPushers, pusher::PostPusher,
    pushrules::DeletePushRule, pushrules::GetPushRule, pushrules::GetPushRuleActions,
    pushrules::GetPushRules, pushrules::GetPushRulesGlobal, pushrules::IsPushRuleEnabled,
    pushrules::SetPushRule, pushrules::SetPushRuleActions, pushrules::SetPushRuleEnabled,
};
use quotient::api::ErrorCode;
use serde_json::json;

use crate::check::{call, expect_error};
use crate::fixture::{account, create_room, from_json, join, send_text};

pub async fn rules() {
    let me = account("pusher").await;
    let all = call(&me.conn, GetPushRules::new()).await.unwrap();
    assert!(!all.global.override_.unwrap_or_default().is_empty());
    let global = call(&me.conn, GetPushRulesGlobal::new()).await.unwrap();
    assert!(!global.underride.unwrap_or_default().is_empty());
    let master = call(
        &me.conn,
        GetPushRule::new("override".into(), ".m.rule.master".into()),
    )
    .await
    .unwrap();
    assert!(master.default && !master.enabled);

    let mut cake = SetPushRule::new(
        "content".into(),
        "cake".into(),
        from_json(json!(["notify", {"set_tweak": "sound", "value": "default"}])),
    );
    cake.pattern = Some("cake".into());
    call(&me.conn, cake).await.unwrap();
    let mut room_rule = SetPushRule::new("override".into(), "quiet".into(), from_json(json!([])));
    room_rule.conditions = Some(from_json(json!([
        {"kind": "event_match", "key": "content.body", "pattern": "shh"},
        {"kind": "event_property_is", "key": "content.loud", "value": false},
    ])));
    room_rule.before = Some(".m.rule.master".into());
    let err = expect_error(&me.conn, room_rule.clone()).await;
    assert_eq!(
        err.http_status(),
        Some(400),
        "a rule cannot go before a server-default rule"
    );
    room_rule.before = None;
    call(&me.conn, room_rule).await.unwrap();

    call(
        &me.conn,
        SetPushRuleEnabled::new("content".into(), "cake".into(), false),
    )
    .await
    .unwrap();
    let enabled = call(
        &me.conn,
        IsPushRuleEnabled::new("content".into(), "cake".into()),
    )
    .await
    .unwrap();
    assert!(!enabled.enabled);
    call(
        &me.conn,
        SetPushRuleActions::new(
            "content".into(),
            "cake".into(),
            from_json(json!(["notify", {"set_tweak": "highlight"}])),
        ),
    )
    .await
    .unwrap();
    let actions = call(
        &me.conn,
        GetPushRuleActions::new("content".into(), "cake".into()),
    )
    .await
    .unwrap();
    assert_eq!(actions.actions.len(), 2);
    let rule = call(&me.conn, GetPushRule::new("content".into(), "cake".into()))
        .await
        .unwrap();
    assert_eq!(rule.pattern.as_deref(), Some("cake"));
    call(
        &me.conn,
        DeletePushRule::new("content".into(), "cake".into()),
    )
    .await
    .unwrap();
    let err = expect_error(&me.conn, GetPushRule::new("content".into(), "cake".into())).await;
    assert_eq!(err.errcode(), Some(&ErrorCode::NotFound));
}

pub async fn pushers_and_notifications() {
    let me = account("notified").await;
    let other = account("notifier").await;
    let mut pusher = PostPusher::new(
        "pushkey-1".into(),
        Some("http".into()),
        "org.example.app".into(),
    );
    pusher.app_display_name = Some("Example".into());
    pusher.device_display_name = Some("Phone".into());
    pusher.lang = Some("en".into());
    pusher.profile_tag = Some("tag".into());
    pusher.data = Some(from_json(
        json!({"url": "http://127.0.0.1:9/_matrix/push/v1/notify", "format": "event_id_only"}),
    ));
    call(&me.conn, pusher).await.unwrap();
    let pushers = call(&me.conn, GetPushers::new()).await.unwrap();
    let pushers = pushers.pushers.unwrap_or_default();
    assert_eq!(pushers.len(), 1);
    assert_eq!(pushers[0].pushkey, "pushkey-1");

    // In a room of two, every message notifies.
    let room = create_room(&me, "private_chat", json!([])).await;
    call(
        &me.conn,
        quotient::api::generated::inviting::InviteUser::new(room.clone(), other.user_id.clone()),
    )
    .await
    .unwrap();
    join(&other, &room).await;
    send_text(&other, &room, "ping").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut list = GetNotifications::new();
        list.limit = Some(5);
        let list = call(&me.conn, list).await.unwrap();
        if !list.notifications.is_empty() {
            assert_eq!(list.notifications[0].room_id, room.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "no notification for the message");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! docs/client.md's moderation bot (`examples/moderation_bot.rs`) against
//! a real Synapse: where its power level allows, a message with the
//! banned word is redacted and its sender kicked; where it does not, the
//! bot says why in a reply, and nobody is kicked.
//!
//! Needs `cargo build -p quotient-client --example moderation_bot` first
//! (scripts/test does it). Run in one process:
//! `cargo test -p quotient-client --test synapse_moderation_bot`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, User};
use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::{JsonObject, RoomId, UserId};
use quotient_client::outbox::OutgoingEvent;
use quotient_client::room::Room;
use quotient_client::rooms::MemberMembership;
use quotient_client::Client;
use serde_json::Value;
use support::TempDir;

async fn user(prefix: &'static str) -> User {
    let hs = tokio::task::spawn_blocking(|| homeserver(Config::Default))
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap()
}

async fn signed_in(user: &User, device: &str) -> Client {
    let conn = Connection::builder(homeserver(Config::Default).url.clone())
        .build()
        .unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some(device))
        .await
        .unwrap();
    Client::in_memory(conn).unwrap()
}

/// Syncs `client` until `done` holds (at most ~30 s).
async fn sync_until(client: &Client, what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..120 {
        client.sync_once().await.unwrap();
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("never synced: {what}");
}

/// Alice's room with the bot and Bob joined; the bot at `bot_level`.
async fn room(
    alice: &Client,
    joiners: [&Client; 2],
    name: &str,
    bot: &UserId,
    bot_level: i64,
) -> Room {
    let mut request = CreateRoom::new();
    request.name = Some(name.into());
    let id: RoomId = alice
        .connection()
        .submit(request)
        .await
        .unwrap()
        .into_value()
        .room_id;
    alice.sync_once().await.unwrap();
    let room = alice.room(&id).unwrap();
    for joiner in joiners {
        let user = joiner.connection().user_id().unwrap();
        room.invite(&user, None).await.unwrap();
        joiner.join(&id.clone().into()).await.unwrap();
    }
    let levels = room
        .state_event("m.room.power_levels", "")
        .unwrap()
        .unwrap();
    let Value::Object(mut content) = levels["content"].clone() else {
        panic!("no power levels: {levels}")
    };
    let users = content
        .entry("users")
        .or_insert_with(|| Value::Object(JsonObject::new()));
    users[bot.as_str()] = bot_level.into();
    room.set_state("m.room.power_levels", "", content)
        .await
        .unwrap();
    room
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_redacts_and_kicks_where_it_may_and_says_why_not_where_it_may_not() {
    let (alice_user, bot_user, bob_user) =
        (user("mba").await, user("mbot").await, user("mbb").await);
    let alice = signed_in(&alice_user, "alice").await;
    let bob = signed_in(&bob_user, "bob").await;
    // The bot's membership, made through a second device of its account.
    let bot_joiner = signed_in(&bot_user, "joiner").await;
    let bot_id: UserId = bot_user.user_id.parse().unwrap();
    let strong = room(&alice, [&bot_joiner, &bob], "Moderated", &bot_id, 50).await;
    let weak = room(&alice, [&bot_joiner, &bob], "Unmoderated", &bot_id, 0).await;

    let cwd = TempDir::new("moderation-bot");
    std::fs::create_dir_all(cwd.path()).unwrap();
    let mut child = std::process::Command::new(support::example_binary("moderation_bot"))
        .current_dir(cwd.path())
        .env("HOMESERVER", homeserver(Config::Default).url.as_str())
        .env("BOT_USER", &bot_user.user_id)
        .env("BOT_PASSWORD", &bot_user.password)
        .env("BANNED_WORD", "Spam")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let bob_id = bob.connection().user_id().unwrap();
    // Bob says it in both rooms (the bot's first sync brings them, each
    // message once).
    bob.sync_once().await.unwrap();
    let in_strong = bob
        .room(strong.id())
        .unwrap()
        .send(OutgoingEvent::text("buy cheap SPAM now"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();
    let in_weak = bob
        .room(weak.id())
        .unwrap()
        .send(OutgoingEvent::text("more spam"))
        .await
        .unwrap()
        .sent()
        .await
        .unwrap();

    sync_until(&alice, "bob kicked from the moderated room", || {
        strong
            .member(&bob_id)
            .unwrap()
            .is_some_and(|m| m.membership == MemberMembership::Left)
    })
    .await;
    sync_until(&alice, "his message redacted", || {
        strong
            .stored_event(&in_strong)
            .unwrap()
            .is_some_and(|e| e.json["content"].as_object().is_some_and(|c| c.is_empty()))
    })
    .await;
    let kick = strong
        .state_event("m.room.member", bob_id.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(kick["sender"], bot_id.as_str(), "the bot kicked: {kick}");
    assert_eq!(kick["content"]["reason"], "banned word");

    sync_until(&alice, "the bot's answer in the other room", || {
        weak.latest_events(20).unwrap().iter().any(|e| {
            e.json["sender"] == bot_id.as_str() && e.json["content"]["msgtype"] == "m.notice"
        })
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let answer = weak
        .latest_events(20)
        .unwrap()
        .into_iter()
        .find(|e| e.json["sender"] == bot_id.as_str() && e.json["type"] == "m.room.message")
        .unwrap();
    let content = &answer.json["content"];
    assert_eq!(
        content["body"],
        "I cannot kick: that needs power level 50, I have power level 0"
    );
    assert_eq!(
        content["m.relates_to"]["m.in_reply_to"]["event_id"],
        in_weak.as_str()
    );
    assert_eq!(
        weak.member(&bob_id).unwrap().unwrap().membership,
        MemberMembership::Joined,
        "nobody kicked where the bot may not"
    );
    let kept = weak.stored_event(&in_weak).unwrap().unwrap();
    assert_eq!(
        kept.json["content"]["body"], "more spam",
        "nothing redacted"
    );
}

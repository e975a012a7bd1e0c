//! A deterministic `/sync` answer of about the asked size.

use serde_json::{json, Value};

fn room(i: usize) -> Value {
    let events: Vec<Value> = (0..50)
        .map(|j| {
            json!({
                "type": "m.room.message",
                "event_id": format!("$ev{i}x{j}abcdefghijklmnopqrstuvwxyz"),
                "sender": format!("@user{}:localhost", j % 7),
                "origin_server_ts": 1_700_000_000_000u64 + (i * 50 + j) as u64,
                "content": {"msgtype": "m.text", "body": format!("Message {j} in room {i}: the quick brown fox jumps over the lazy dog")},
                "unsigned": {"age": 1234 + j}
            })
        })
        .collect();
    let state: Vec<Value> = (0..10)
        .map(|j| {
            json!({
                "type": "m.room.member",
                "state_key": format!("@user{j}:localhost"),
                "event_id": format!("$st{i}x{j}abcdefghijklmnopqrstuvwxyz"),
                "sender": format!("@user{j}:localhost"),
                "origin_server_ts": 1_700_000_000_000u64,
                "content": {"membership": "join", "displayname": format!("User {j}")}
            })
        })
        .collect();
    json!({
        "summary": {"m.heroes": ["@user1:localhost", "@user2:localhost"], "m.joined_member_count": 10, "m.invited_member_count": 0},
        "state": {"events": state},
        "timeline": {"events": events, "limited": true, "prev_batch": format!("t{i}-prev")},
        "ephemeral": {"events": [{"type": "m.typing", "content": {"user_ids": ["@user1:localhost"]}}]},
        "account_data": {"events": [{"type": "m.tag", "content": {"tags": {"u.work": {"order": 0.9}}}}]},
        "unread_notifications": {"highlight_count": 1, "notification_count": 5}
    })
}

pub fn generate(target_bytes: usize) -> Vec<u8> {
    let one = serde_json::to_vec(&room(0)).expect("json").len();
    let rooms = (target_bytes / one).max(1);
    let join: serde_json::Map<String, Value> = (0..rooms).map(|i| (format!("!room{i}:localhost"), room(i))).collect();
    serde_json::to_vec(&json!({
        "next_batch": "s72595_4483_1934",
        "rooms": {"join": join, "invite": {}, "leave": {}},
        "presence": {"events": [{"type": "m.presence", "sender": "@user1:localhost", "content": {"presence": "online"}}]},
        "account_data": {"events": []},
        "device_one_time_keys_count": {"signed_curve25519": 20}
    }))
    .expect("json")
}

//! Devices (list, get, rename, delete one or many through UIA) and
//! send-to-device messages.

use std::time::{Duration, Instant};

use quotient::api::generated::{
    device_management::DeleteDevice, device_management::DeleteDevices,
    device_management::GetDevice, device_management::GetDevices, device_management::UpdateDevice,
    sync::SyncRequest, to_device::SendToDevice,
};
use quotient::PasswordHandler;
use serde_json::json;

use crate::check::{call, call_uia};
use crate::fixture::{account, from_json, server, txn, Account};

/// Signs `who` in once more and returns the new device's ID.
async fn another_device(who: &Account, name: &str) -> String {
    server()
        .connection()
        .login_with_password(
            who.user_id.as_str(),
            who.password.clone().into(),
            Some(name),
        )
        .await
        .unwrap()
        .device_id
}

pub async fn devices() {
    let me = account("gadgets").await;
    let second = another_device(&me, "second").await;
    let third = another_device(&me, "third").await;
    let fourth = another_device(&me, "fourth").await;

    // Shared-secret registration made a device of its own.
    let all = call(&me.conn, GetDevices::new()).await.unwrap();
    let ids: Vec<_> = all
        .devices
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.device_id)
        .collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    let registered = ids
        .into_iter()
        .find(|d| ![&me.device_id, &second, &third, &fourth].contains(&d))
        .unwrap();
    let mut rename = UpdateDevice::new(second.clone());
    rename.display_name = Some("renamed".into());
    call(&me.conn, rename).await.unwrap();
    let device = call(&me.conn, GetDevice::new(second.clone()))
        .await
        .unwrap();
    assert_eq!(device.display_name.as_deref(), Some("renamed"));

    let mut handler = PasswordHandler::new(me.id(), me.password.clone().into());
    call_uia(&me.conn, DeleteDevice::new(second), &mut handler)
        .await
        .unwrap();
    let mut handler = PasswordHandler::new(me.id(), me.password.clone().into());
    call_uia(
        &me.conn,
        DeleteDevices::new(vec![third, fourth, registered]),
        &mut handler,
    )
    .await
    .unwrap();
    let left = call(&me.conn, GetDevices::new()).await.unwrap();
    let left: Vec<_> = left
        .devices
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.device_id)
        .collect();
    assert_eq!(left, std::slice::from_ref(&me.device_id));
}

pub async fn to_device() {
    let sender = account("postman").await;
    let receiver = account("mailbox").await;
    // Sync once so the next sync's to-device section is only the new message.
    let first = call(&receiver.conn, SyncRequest::new()).await.unwrap();
    let messages = from_json(json!({
        receiver.user_id.as_str(): {receiver.device_id.as_str(): {"note": "psst"}}
    }));
    call(
        &sender.conn,
        SendToDevice::new("org.example.note".into(), txn(), messages),
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut since = first.next_batch;
    loop {
        let mut next = SyncRequest::new();
        next.since = Some(since);
        next.timeout = Some(2_000);
        let next = call(&receiver.conn, next).await.unwrap();
        let events = next.to_device.and_then(|t| t.events).unwrap_or_default();
        if let Some(event) = events.iter().find(|e| e["type"] == "org.example.note") {
            assert_eq!(event["content"]["note"], "psst");
            assert_eq!(event["sender"], sender.id());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the to-device message never arrived"
        );
        since = next.next_batch;
    }
}

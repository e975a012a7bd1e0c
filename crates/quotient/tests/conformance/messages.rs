//! Events in a room: send, paginate, context, redact, relations, threads,
//! state, receipts, read markers, typing.

use std::time::{SystemTime, UNIX_EPOCH};

use quotient::api::generated::{
    event_context::GetEventContext, message_pagination::GetRoomEvents, read_markers::SetReadMarker,
    receipts::PostReceipt, redaction::RedactEvent, relations::GetRelatingEvents,
    relations::GetRelatingEventsWithRelType, relations::GetRelatingEventsWithRelTypeAndEventType,
    room_event_by_timestamp::GetEventByTimestamp, room_initial_sync::RoomInitialSync,
    room_state::SetRoomStateWithKey, rooms::GetOneRoomEvent, rooms::GetRoomState,
    rooms::GetRoomStateWithKey, threads_list::GetThreadRoots, typing::SetTyping,
};
use serde_json::json;

use crate::check::call;
use crate::fixture::{account, create_room, join, obj, send_event, send_text, txn, typed};

pub async fn timeline() {
    let me = account("talker").await;
    let room = create_room(&me, "private_chat", json!([])).await;
    let first = send_text(&me, &room, "one").await;
    let second = send_text(&me, &room, "two").await;
    let third = send_text(&me, &room, "three").await;

    let mut page = GetRoomEvents::new(room.clone(), "b".into());
    page.limit = Some(2);
    let page = call(&me.conn, page).await.unwrap();
    let ids: Vec<_> = page
        .chunk
        .iter()
        .map(|e| typed(e).event_id.clone())
        .collect();
    assert_eq!(ids, [third.clone(), second.clone()]);
    let mut next = GetRoomEvents::new(room.clone(), "b".into());
    next.from = page.end.clone();
    next.limit = Some(1);
    next.filter = Some(json!({"types": ["m.room.message"]}).to_string());
    let next = call(&me.conn, next).await.unwrap();
    assert_eq!(typed(&next.chunk[0]).event_id, first);

    let mut context = GetEventContext::new(room.as_str().into(), second.as_str().into());
    context.limit = Some(2);
    let context = call(&me.conn, context).await.unwrap();
    assert_eq!(context.event.map(|e| e.event_id), Some(second.clone()));
    assert!(!context.events_before.unwrap_or_default().is_empty());

    let event = call(&me.conn, GetOneRoomEvent::new(room.clone(), first.clone()))
        .await
        .unwrap();
    assert_eq!(event.content.get("body"), Some(&json!("one")));

    let mut redact = RedactEvent::new(room.clone(), first.clone(), txn());
    redact.reason = Some("typo".into());
    let redaction = call(&me.conn, redact).await.unwrap();
    assert!(redaction.event_id.is_some());
    let event = call(&me.conn, GetOneRoomEvent::new(room.clone(), first.clone()))
        .await
        .unwrap();
    assert!(event.content.is_empty(), "redacted: {:?}", event.content);

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let found = call(
        &me.conn,
        GetEventByTimestamp::new(room.clone(), now + 60_000, "b".into()),
    )
    .await
    .unwrap();
    assert!(found.origin_server_ts <= now + 60_000);

    let initial = call(&me.conn, RoomInitialSync::new(room.clone()))
        .await
        .unwrap();
    assert_eq!(initial.room_id, room);

    let mut typing = SetTyping::new(me.user_id.clone(), room.clone(), true);
    typing.timeout = Some(5_000);
    call(&me.conn, typing).await.unwrap();
}

pub async fn relations_and_threads() {
    let me = account("threader").await;
    let room = create_room(&me, "private_chat", json!([])).await;
    let root = send_text(&me, &room, "root").await;
    send_event(
        &me,
        &room,
        "m.room.message",
        json!({"msgtype": "m.text", "body": "in a thread",
               "m.relates_to": {"rel_type": "m.thread", "event_id": root}}),
    )
    .await;
    send_event(
        &me,
        &room,
        "m.reaction",
        json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": root, "key": "👍"}}),
    )
    .await;

    let all = call(&me.conn, GetRelatingEvents::new(room.clone(), root.clone()))
        .await
        .unwrap();
    assert_eq!(all.chunk.len(), 2);
    let mut threaded =
        GetRelatingEventsWithRelType::new(room.clone(), root.clone(), "m.thread".into());
    threaded.dir = Some("f".into());
    let threaded = call(&me.conn, threaded).await.unwrap();
    assert_eq!(threaded.chunk.len(), 1);
    let reactions = GetRelatingEventsWithRelTypeAndEventType::new(
        room.clone(),
        root.clone(),
        "m.annotation".into(),
        "m.reaction".into(),
    );
    let reactions = call(&me.conn, reactions).await.unwrap();
    assert_eq!(reactions.chunk.len(), 1);

    let roots = call(&me.conn, GetThreadRoots::new(room.as_str().into()))
        .await
        .unwrap();
    assert_eq!(roots.chunk.len(), 1);
    assert_eq!(typed(&roots.chunk[0]).event_id, root);
}

pub async fn state() {
    let me = account("stater").await;
    let room = create_room(&me, "private_chat", json!([])).await;
    let set = SetRoomStateWithKey::new(
        room.clone(),
        "org.example.conformance".into(),
        "key".into(),
        obj(json!({"answer": 42})),
    );
    call(&me.conn, set).await.unwrap();
    let topic = SetRoomStateWithKey::new(
        room.clone(),
        "m.room.topic".into(),
        String::new(),
        obj(json!({"topic": "new topic"})),
    );
    call(&me.conn, topic).await.unwrap();

    let content =
        GetRoomStateWithKey::new(room.clone(), "org.example.conformance".into(), "key".into());
    let content = call(&me.conn, content).await.unwrap();
    assert_eq!(content.0, json!({"answer": 42}));
    let mut event = GetRoomStateWithKey::new(room.clone(), "m.room.topic".into(), String::new());
    event.format = Some("event".into());
    let event = call(&me.conn, event).await.unwrap();
    assert_eq!(event.0["content"]["topic"], "new topic");
    let all = call(&me.conn, GetRoomState::new(room.clone()))
        .await
        .unwrap();
    assert!(all
        .0
        .iter()
        .any(|e| typed(e).type_ == "org.example.conformance"));
}

pub async fn receipts_and_markers() {
    let me = account("reader").await;
    let other = account("writer").await;
    let room = create_room(&me, "public_chat", json!([])).await;
    join(&other, &room).await;
    let first = send_text(&other, &room, "read me").await;
    let second = send_text(&other, &room, "and me").await;
    call(
        &me.conn,
        PostReceipt::new(room.clone(), "m.read".into(), first.clone()),
    )
    .await
    .unwrap();
    let mut private = PostReceipt::new(room.clone(), "m.read.private".into(), first.clone());
    private.thread_id = Some("main".into());
    call(&me.conn, private).await.unwrap();
    let mut marker = SetReadMarker::new(room.as_str().into());
    marker.m_fully_read = Some(second.as_str().into());
    marker.m_read = Some(second.as_str().into());
    call(&me.conn, marker).await.unwrap();
}

//! Sync (with and without a filter), filters, and the deprecated event
//! stream and initial sync.

use std::time::{Duration, Instant};

use quotient::api::generated::{
    filter::DefineFilter, filter::GetFilter, old_sync::GetEvents, old_sync::GetOneEvent,
    old_sync::InitialSync, peeking_events::PeekEvents, sync::SyncRequest,
};
use serde_json::json;

use crate::check::call;
use crate::fixture::{account, create_room, from_json, join, send_text, typed};

pub async fn sync_and_filters() {
    let me = account("syncer").await;
    let friend = account("friend").await;
    let room = create_room(&me, "public_chat", json!([])).await;
    join(&friend, &room).await;
    send_text(&friend, &room, "hello").await;

    // A filter that trims events (`event_fields`) leaves out fields the
    // event schemas require, so it is only stored and read back.
    let mut trimmed = DefineFilter::new(me.user_id.clone());
    trimmed.event_fields = Some(vec!["type".into(), "content.body".into()]);
    trimmed.event_format = Some("federation".into());
    trimmed.presence = Some(from_json(json!({"not_types": ["*"]})));
    let trimmed = call(&me.conn, trimmed).await.unwrap().filter_id;
    let stored = call(&me.conn, GetFilter::new(me.user_id.clone(), trimmed))
        .await
        .unwrap();
    assert_eq!(
        stored.event_fields.unwrap_or_default(),
        ["type", "content.body"]
    );

    let mut filter = DefineFilter::new(me.user_id.clone());
    filter.room = Some(from_json(json!({
        "timeline": {"limit": 5, "types": ["m.room.message", "m.room.member"]},
        "state": {"lazy_load_members": true},
    })));
    let filter_id = call(&me.conn, filter).await.unwrap().filter_id;
    let stored = call(
        &me.conn,
        GetFilter::new(me.user_id.clone(), filter_id.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        stored.room.and_then(|r| r.timeline).and_then(|t| t.limit),
        Some(5)
    );

    let mut first = SyncRequest::new();
    first.filter = Some(filter_id.clone());
    first.set_presence = Some("online".into());
    let first = call(&me.conn, first).await.unwrap();
    let joined = first
        .rooms
        .as_ref()
        .and_then(|r| r.join.as_ref())
        .expect("joined rooms");
    let timeline = joined[&room].timeline.as_ref().expect("a timeline");
    assert!(timeline
        .events
        .iter()
        .any(|e| typed(e).content.get("body") == Some(&json!("hello"))));

    // An inline filter, everything, and the state in full.
    let mut full = SyncRequest::new();
    full.filter = Some(json!({"room": {"timeline": {"limit": 1}}}).to_string());
    full.full_state = Some(true);
    call(&me.conn, full).await.unwrap();

    // Incremental: a long-poll that returns when the next message comes.
    send_text(&friend, &room, "again").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut since = first.next_batch;
    loop {
        let mut next = SyncRequest::new();
        next.since = Some(since.clone());
        next.timeout = Some(2_000);
        let next = call(&me.conn, next).await.unwrap();
        let seen = next
            .rooms
            .as_ref()
            .and_then(|r| r.join.as_ref())
            .and_then(|j| j.get(&room))
            .and_then(|r| r.timeline.as_ref())
            .is_some_and(|t| {
                t.events
                    .iter()
                    .any(|e| typed(e).content.get("body") == Some(&json!("again")))
            });
        if seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second message never came down /sync"
        );
        since = next.next_batch;
    }
}

pub async fn legacy_streams() {
    let me = account("oldtimer").await;
    let room = create_room(&me, "public_chat", json!([])).await;
    let event = send_text(&me, &room, "old school").await;

    // Online first: the stream would otherwise carry this user's presence
    // change, which Synapse sends as an `m.presence` event without
    // event_id, sender or origin_server_ts in a chunk the schema types as
    // ClientEvents (a Synapse deviation, see docs/conformance.md).
    let mut online = SyncRequest::new();
    online.set_presence = Some("online".into());
    call(&me.conn, online).await.unwrap();
    let mut initial = InitialSync::new();
    initial.limit = Some(2);
    let initial = call(&me.conn, initial).await.unwrap();
    assert!(initial.rooms.iter().any(|r| r.room_id == room));

    let mut stream = GetEvents::new();
    stream.from = Some(initial.end.clone());
    stream.timeout = Some(0);
    call(&me.conn, stream).await.expect("the stream decodes");

    let mut peek = PeekEvents::new(room.as_str().into());
    peek.from = Some(initial.end);
    peek.timeout = Some(0);
    call(&me.conn, peek).await.unwrap();

    let one = call(&me.conn, GetOneEvent::new(event.clone()))
        .await
        .unwrap();
    assert_eq!(one.event_id, event);
}

//! The outbox table on its own: order, states, cancel rules, and the
//! echo that goes once the synced event is stored.

use serde_json::json;

use super::outbox::{match_synced, TimelineItem};
use super::Store;
use crate::error::Error;
use crate::outbox::{OutboxState, OutgoingEvent};

fn store() -> Store {
    Store::in_memory().unwrap()
}

#[test]
fn entries_come_out_per_room_in_the_order_queued_each_with_its_own_txn_id() {
    let mut s = store();
    let a1 = s
        .enqueue("!a:x", "DEV", &OutgoingEvent::text("a1"), None)
        .unwrap();
    let b1 = s
        .enqueue("!b:x", "DEV", &OutgoingEvent::text("b1"), None)
        .unwrap();
    let a2 = s
        .enqueue("!a:x", "DEV", &OutgoingEvent::text("a2"), None)
        .unwrap();
    assert_ne!(a1.txn_id, a2.txn_id);
    assert_eq!(a1.state, OutboxState::Queued);
    assert_eq!(
        s.rooms_with_unsent().unwrap(),
        [
            crate::test_ids::room_id("!a:x"),
            crate::test_ids::room_id("!b:x")
        ]
    );
    assert_eq!(s.next_unsent("!a:x").unwrap().unwrap().txn_id, a1.txn_id);
    // Sending stays first; sent or failed lets the next one go.
    s.set_outbox_state(&a1.txn_id, &OutboxState::Sending)
        .unwrap();
    assert_eq!(s.next_unsent("!a:x").unwrap().unwrap().txn_id, a1.txn_id);
    s.set_outbox_state(
        &a1.txn_id,
        &OutboxState::Failed {
            error: "403".into(),
        },
    )
    .unwrap();
    assert_eq!(s.next_unsent("!a:x").unwrap().unwrap().txn_id, a2.txn_id);
    // Requeued, the failed one is first again: it keeps its place.
    assert!(s.requeue(&a1.txn_id).unwrap());
    assert!(
        !s.requeue(&a1.txn_id).unwrap(),
        "only a failed entry is requeued"
    );
    assert_eq!(s.next_unsent("!a:x").unwrap().unwrap().txn_id, a1.txn_id);
    assert_eq!(s.next_unsent("!b:x").unwrap().unwrap().txn_id, b1.txn_id);
}

#[test]
fn every_kind_reads_back_as_it_was_queued() {
    let mut s = store();
    let events = [
        OutgoingEvent::html("b", "<b>b</b>").reply_to(&"$q:x".parse().unwrap()),
        OutgoingEvent::reaction(&"$t:x".parse().unwrap(), "🎉"),
        OutgoingEvent::redaction(&"$t:x".parse().unwrap(), Some("spam")),
        OutgoingEvent::redaction(&"$t:x".parse().unwrap(), None),
        OutgoingEvent::state(
            "m.room.topic",
            "",
            json!({"topic": "t"}).as_object().unwrap().clone(),
        ),
    ];
    for event in &events {
        let entry = s.enqueue("!r:x", "DEV", event, None).unwrap();
        let read = s.outbox_entry(&entry.txn_id).unwrap().unwrap();
        assert_eq!(&read.event, event);
        assert_eq!(read.device_id, "DEV");
    }
    assert_eq!(
        s.outbox(Some(&crate::test_ids::room_id("!r:x")))
            .unwrap()
            .len(),
        events.len()
    );
}

#[test]
fn a_sent_entry_stays_sent_and_cannot_be_cancelled_nor_can_one_in_flight() {
    let mut s = store();
    let e = s
        .enqueue("!r:x", "DEV", &OutgoingEvent::text("m"), None)
        .unwrap();
    s.set_outbox_state(&e.txn_id, &OutboxState::Sending)
        .unwrap();
    match s.cancel(&e.txn_id) {
        Err(Error::CannotCancel { state, .. }) => assert_eq!(state, "sending"),
        other => panic!("expected CannotCancel, got {other:?}"),
    }
    let sent = OutboxState::Sent {
        event_id: Some(quotient_api::EventId::parse("$e:x").unwrap()),
    };
    s.set_outbox_state(&e.txn_id, &sent).unwrap();
    // A late failure report (or a retry) does not undo a sent entry.
    s.set_outbox_state(
        &e.txn_id,
        &OutboxState::Failed {
            error: "late".into(),
        },
    )
    .unwrap();
    assert_eq!(s.outbox_entry(&e.txn_id).unwrap().unwrap().state, sent);
    assert!(matches!(
        s.cancel(&e.txn_id),
        Err(Error::CannotCancel { state: "sent", .. })
    ));
    assert!(matches!(s.cancel("nope"), Err(Error::NoSuchSend(_))));
    let queued = s
        .enqueue("!r:x", "DEV", &OutgoingEvent::text("n"), None)
        .unwrap();
    s.cancel(&queued.txn_id).unwrap();
    assert!(s.outbox_entry(&queued.txn_id).unwrap().is_none());
}

#[test]
fn the_echo_goes_once_the_synced_event_is_stored_even_if_the_answer_was_lost() {
    let mut s = store();
    let e = s
        .enqueue("!r:x", "DEV", &OutgoingEvent::text("hi"), None)
        .unwrap();
    s.set_outbox_state(&e.txn_id, &OutboxState::Sending)
        .unwrap();
    let items = s
        .timeline_items(&crate::test_ids::room_id("!r:x"), 10)
        .unwrap();
    assert!(matches!(&items[..], [TimelineItem::Pending(p)] if p.txn_id == e.txn_id));
    // The sync brings the event with our transaction ID before the PUT's
    // answer was stored.
    let event = json!({"type": "m.room.message", "event_id": "$e:x", "sender": "@me:x",
                       "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "hi"},
                       "unsigned": {"transaction_id": e.txn_id}});
    let conn = s.connection_mut();
    let tx = conn.transaction().unwrap();
    crate::sync::timeline_events::store_event(&tx, "!r:x", 0, Some("$e:x"), false, &event).unwrap();
    match_synced(&tx, "!r:x", &event).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        s.outbox_entry(&e.txn_id).unwrap().unwrap().state,
        OutboxState::Sent {
            event_id: Some(quotient_api::EventId::parse("$e:x").unwrap())
        }
    );
    let items = s
        .timeline_items(&crate::test_ids::room_id("!r:x"), 10)
        .unwrap();
    assert!(
        matches!(&items[..], [TimelineItem::Event(ev)] if ev.event_id.as_ref().map(|id| id.as_str()) == Some("$e:x")),
        "{items:?}"
    );
    // Another room's event with the same transaction ID is not ours.
    let other = s
        .enqueue("!r:x", "DEV", &OutgoingEvent::text("2"), None)
        .unwrap();
    let tx = s.connection_mut().transaction().unwrap();
    let foreign = json!({"event_id": "$f:x", "unsigned": {"transaction_id": other.txn_id}});
    match_synced(&tx, "!other:x", &foreign).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        s.outbox_entry(&other.txn_id).unwrap().unwrap().state,
        OutboxState::Queued
    );
}

#[test]
fn a_keyed_entry_is_queued_once_whatever_asks_again() {
    let mut s = store();
    let first = s
        .enqueue_keyed("reply:$e:x", "!r:x", "DEV", &OutgoingEvent::notice("hi"))
        .unwrap();
    let again = s
        .enqueue_keyed("reply:$e:x", "!r:x", "DEV", &OutgoingEvent::notice("hi"))
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.txn_id, "qk.reply:$e:x");
    assert_eq!(s.outbox(None).unwrap().len(), 1);
    let other = s
        .enqueue_keyed("reply:$f:x", "!r:x", "DEV", &OutgoingEvent::notice("ho"))
        .unwrap();
    assert_ne!(other.txn_id, first.txn_id);
}

#[test]
fn a_cancel_before_sending_starts_wins_and_one_after_is_refused() {
    let mut s = store();
    let e = s
        .enqueue("!r:x", "DEV", &OutgoingEvent::text("m"), None)
        .unwrap();
    s.cancel(&e.txn_id).unwrap();
    assert!(
        !s.start_sending(&e.txn_id).unwrap(),
        "a cancelled entry is not sent"
    );
    let f = s
        .enqueue("!r:x", "DEV", &OutgoingEvent::text("n"), None)
        .unwrap();
    assert!(s.start_sending(&f.txn_id).unwrap());
    assert!(
        !s.start_sending(&f.txn_id).unwrap(),
        "only a queued entry starts"
    );
    assert!(matches!(
        s.cancel(&f.txn_id),
        Err(Error::CannotCancel {
            state: "sending",
            ..
        })
    ));
}

#[test]
fn a_key_of_another_rooms_entry_is_refused() {
    let mut s = store();
    s.enqueue_keyed("k", "!a:x", "DEV", &OutgoingEvent::text("a"))
        .unwrap();
    match s.enqueue_keyed("k", "!b:x", "DEV", &OutgoingEvent::text("b")) {
        Err(Error::KeyTaken { room_id, .. }) => assert_eq!(room_id.as_str(), "!a:x"),
        other => panic!("expected KeyTaken, got {other:?}"),
    }
}

#[test]
fn a_send_answered_without_an_event_id_is_sent_and_the_sync_fills_the_id_in() {
    let mut s = store();
    let e = s
        .enqueue(
            "!r:x",
            "DEV",
            &OutgoingEvent::redaction(&"$t:x".parse().unwrap(), None),
            None,
        )
        .unwrap();
    s.set_outbox_state(&e.txn_id, &OutboxState::Sent { event_id: None })
        .unwrap();
    let read = s.outbox_entry(&e.txn_id).unwrap().unwrap();
    assert_eq!(read.state, OutboxState::Sent { event_id: None });
    assert_eq!(
        s.local_echoes(&crate::test_ids::room_id("!r:x"))
            .unwrap()
            .len(),
        1,
        "still echoed until synced"
    );
    let event = json!({"event_id": "$red:x", "unsigned": {"transaction_id": e.txn_id}});
    let tx = s.connection_mut().transaction().unwrap();
    let matched = match_synced(&tx, "!r:x", &event).unwrap();
    tx.commit().unwrap();
    assert_eq!(matched, Some((e.txn_id.clone(), "$red:x".to_owned())));
    assert_eq!(
        s.outbox_entry(&e.txn_id).unwrap().unwrap().state,
        OutboxState::Sent {
            event_id: Some(quotient_api::EventId::parse("$red:x").unwrap())
        }
    );
}

#[test]
fn the_first_file_key_stays_and_forgets_an_earlier_reservation() {
    let mut s = store();
    let attachment = crate::outbox::Attachment {
        path: "/f".into(),
        content_type: "text/plain".into(),
        size: 1,
        content_uri: Some("mxc://x/plain".into()),
        uploaded: true,
    };
    let e = s
        .enqueue("!a:x", "DEV", &OutgoingEvent::text("f"), Some(&attachment))
        .unwrap();
    assert!(s.outbox_file_key(&e.txn_id).unwrap().is_none());
    let first = quotient::SecretString::new(r#"{"v":"v2","k":"first"}"#);
    let kept = s
        .set_outbox_file_key(&e.txn_id, &first, &attachment)
        .unwrap();
    assert_eq!(kept, first);
    // What was uploaded before the key was not its ciphertext.
    let now = s
        .outbox_entry(&e.txn_id)
        .unwrap()
        .unwrap()
        .attachment
        .unwrap();
    assert_eq!((now.content_uri, now.uploaded), (None, false));
    // A second key does not replace the first, nor touch the attachment.
    let mut reserved = attachment.clone();
    reserved.content_uri = Some("mxc://x/reserved".into());
    reserved.uploaded = false;
    s.set_attachment(&e.txn_id, &reserved).unwrap();
    let second = quotient::SecretString::new(r#"{"v":"v2","k":"second"}"#);
    assert_eq!(
        s.set_outbox_file_key(&e.txn_id, &second, &attachment)
            .unwrap(),
        first
    );
    let now = s.outbox_entry(&e.txn_id).unwrap().unwrap();
    assert_eq!(
        now.attachment.as_ref().unwrap().content_uri.as_deref(),
        Some("mxc://x/reserved")
    );
    // The entry's Debug never shows the key.
    assert!(!format!("{now:?}").contains("first"));
}

//! What the crypto machine made of a batch's encrypted timeline events,
//! handed to the writer so each is stored decrypted in the batch's own
//! transaction, and the bookkeeping row every encrypted event gets.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use crate::encryption::SenderTrust;
use crate::error::Result;

/// One encrypted event, as the machine left it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Decryption {
    /// The decrypted event's JSON, when it decrypted (shown or withheld).
    pub clear: Option<String>,
    /// The Megolm session it is encrypted with.
    pub session_id: Option<String>,
    /// Why it is not shown decrypted; `None` when it is.
    pub error: Option<String>,
    /// The sending device's trust, once decrypted.
    pub sender_trust: Option<SenderTrust>,
}

impl Decryption {
    /// What the timeline row holds: the decrypted event when it is shown,
    /// else the event as it came.
    pub(crate) fn shown<'a>(&'a self, original: &'a str) -> &'a str {
        match (&self.clear, &self.error) {
            (Some(clear), None) => clear,
            _ => original,
        }
    }
}

/// The batch's (or page's) decryptions, by event ID.
pub(crate) type Decryptions = HashMap<String, Decryption>;

/// The reason an encrypted event is stored as it came when nothing tried
/// to decrypt it.
pub(crate) const NOT_TRIED: &str =
    "not decrypted: this process has no crypto machine (another process owns the store, or the build has no encryption)";

/// Records the encrypted event stored at timeline row `rowid`.
pub(crate) fn record(
    tx: &Connection,
    rowid: i64,
    room: &str,
    original: &str,
    decryption: Option<&Decryption>,
) -> Result<()> {
    let fallback;
    let d = match decryption {
        Some(d) => d,
        None => {
            fallback = Decryption {
                session_id: session_id_of(original),
                error: Some(NOT_TRIED.to_owned()),
                ..Decryption::default()
            };
            &fallback
        }
    };
    tx.prepare_cached(
        "INSERT OR REPLACE INTO encrypted_events
             (timeline_rowid, room_id, session_id, original, clear, error, sender_trust)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        rowid,
        room,
        d.session_id,
        original,
        d.clear,
        d.error,
        d.sender_trust.map(SenderTrust::as_str)
    ])?;
    Ok(())
}

/// The `session_id` of an `m.room.encrypted` event's content.
pub(crate) fn session_id_of(original: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(original).ok()?;
    Some(v.get("content")?.get("session_id")?.as_str()?.to_owned())
}

/// An encrypted event stored undecryptable, waiting for its key.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
pub(crate) struct Waiting {
    pub rowid: i64,
    pub room_id: String,
    pub original: String,
}

/// The stored events of `room` encrypted with `session` that are not
/// decrypted yet.
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
pub(crate) fn waiting_for(tx: &Connection, room: &str, session: &str) -> Result<Vec<Waiting>> {
    select(
        tx,
        "session_id = ?1 AND room_id = ?2 AND clear IS NULL",
        params![session, room],
    )
}

/// Every stored event not decrypted yet (after a key import, or when the
/// machine starts and earlier processes had none).
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
pub(crate) fn all_waiting(tx: &Connection) -> Result<Vec<Waiting>> {
    select(tx, "clear IS NULL", [])
}

/// Every stored encrypted event no machine has tried yet (stored by a
/// process without one).
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
pub(crate) fn not_tried(tx: &Connection) -> Result<Vec<Waiting>> {
    select(tx, "clear IS NULL AND error = ?1", params![NOT_TRIED])
}

/// Every stored event that decrypted but is withheld by the trust
/// setting (its sender's device was not cross-signed, or not known yet).
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
pub(crate) fn all_withheld(tx: &Connection) -> Result<Vec<Waiting>> {
    select(tx, "clear IS NOT NULL AND error IS NOT NULL", [])
}

/// The distinct (room, session) pairs of stored events that have not
/// decrypted, newest first, at most `limit`.
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
pub(crate) fn waiting_sessions(tx: &Connection, limit: usize) -> Result<Vec<(String, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT room_id, session_id FROM encrypted_events
         WHERE clear IS NULL AND session_id IS NOT NULL
         GROUP BY room_id, session_id ORDER BY MAX(timeline_rowid) DESC LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The encrypted events matching `filter` (a condition on
/// `encrypted_events`, written here, never from input).
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
fn select(tx: &Connection, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Waiting>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT timeline_rowid, room_id, original FROM encrypted_events WHERE {filter}"
    ))?;
    let rows = stmt.query_map(args, |r| {
        Ok(Waiting {
            rowid: r.get(0)?,
            room_id: r.get(1)?,
            original: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Stores a late decryption of the event at `rowid`: the row shows it
/// when the trust setting does, its relation is recorded, and watchers
/// hear of it again as a change (`live_events.change = 'decrypted'`).
/// True when the event is now shown decrypted.
#[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
pub(crate) fn apply_late(tx: &Connection, waiting: &Waiting, d: &Decryption) -> Result<bool> {
    let Some(clear) = &d.clear else {
        // Still undecryptable: the reason may have changed.
        tx.prepare_cached("UPDATE encrypted_events SET error = ?2 WHERE timeline_rowid = ?1")?
            .execute(params![waiting.rowid, d.error])?;
        return Ok(false);
    };
    tx.prepare_cached(
        "UPDATE encrypted_events SET clear = ?2, error = ?3, sender_trust = ?4
         WHERE timeline_rowid = ?1",
    )?
    .execute(params![
        waiting.rowid,
        clear,
        d.error,
        d.sender_trust.map(SenderTrust::as_str)
    ])?;
    if d.error.is_some() {
        return Ok(false);
    }
    tx.prepare_cached("UPDATE timeline SET event = ?2 WHERE rowid = ?1")?
        .execute(params![waiting.rowid, clear])?;
    let event: serde_json::Value = serde_json::from_str(clear)?;
    let event_id: Option<String> = tx
        .prepare_cached("SELECT event_id FROM timeline WHERE rowid = ?1")?
        .query_row(params![waiting.rowid], |r| r.get(0))?;
    if let Some(id) = event_id {
        super::relations::record(tx, &waiting.room_id, &id, &event)?;
    }
    // Only events watchers were (or will be) told of are told again.
    let live: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM live_events WHERE timeline_rowid = ?1)")?
        .query_row(params![waiting.rowid], |r| r.get(0))?;
    if live {
        tx.prepare_cached(
            "INSERT INTO live_events (room_id, timeline_rowid, change) VALUES (?1, ?2, 'decrypted')",
        )?
        .execute(params![waiting.room_id, waiting.rowid])?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{EventChange, Store};
    use crate::sync::apply_decrypted_body;

    fn encrypted(id: &str) -> serde_json::Value {
        json!({"type": "m.room.encrypted", "event_id": id, "sender": "@b:x",
               "origin_server_ts": 1, "content": {"algorithm": "m.megolm.v1.aes-sha2",
               "ciphertext": "AwgA", "session_id": "S1", "sender_key": "k", "device_id": "D"}})
    }

    fn batch(next: &str, events: Vec<serde_json::Value>) -> Vec<u8> {
        json!({"next_batch": next, "rooms": {"join": {"!r:x": {"timeline": {"events": events}}}}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn an_event_is_stored_decrypted_and_a_late_key_tells_watchers_once_more() {
        let mut store = Store::in_memory().unwrap();
        store.start_watcher("w").unwrap();
        let clear = json!({"type": "m.room.message", "event_id": "$a", "sender": "@b:x",
                           "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "hi"}});
        let mut decryptions = Decryptions::new();
        decryptions.insert(
            "$a".into(),
            Decryption {
                clear: Some(clear.to_string()),
                session_id: Some("S1".into()),
                error: None,
                sender_trust: Some(SenderTrust::CrossSigned),
            },
        );
        let body = batch("s1", vec![encrypted("$a"), encrypted("$b")]);
        apply_decrypted_body(&mut store, &body, &decryptions).unwrap();

        let events = store
            .timeline(&crate::test_ids::room_id("!r:x"), 10)
            .unwrap();
        assert_eq!(events[0].json["content"]["body"], "hi");
        let enc = events[0].encryption.clone().unwrap();
        assert_eq!(
            (enc.error, enc.sender_trust),
            (None, Some(SenderTrust::CrossSigned))
        );
        // Nothing tried $b: kept as it came, with the reason.
        assert_eq!(events[1].json["type"], "m.room.encrypted");
        assert_eq!(
            events[1].encryption.as_ref().unwrap().error.as_deref(),
            Some(NOT_TRIED)
        );
        // Listed for the store's owner to decrypt.
        let untried = not_tried(store.connection()).unwrap();
        assert_eq!(untried.len(), 1);
        assert!(untried[0].original.contains("\"$b\""));

        let live = store.live_events_after("w", 10).unwrap();
        assert_eq!(live.len(), 2);
        store.advance_watcher("w", "!r:x", live[1].seq).unwrap();

        // Its key comes later.
        let waiting = waiting_for(store.connection(), "!r:x", "S1").unwrap();
        assert_eq!(waiting.len(), 1, "only $b waits");
        let late = Decryption {
            clear: Some(clear.to_string().replace("$a", "$b").replace("hi", "late")),
            session_id: Some("S1".into()),
            error: None,
            sender_trust: Some(SenderTrust::CrossSigned),
        };
        let tx = store.connection_mut().transaction().unwrap();
        assert!(apply_late(&tx, &waiting[0], &late).unwrap());
        tx.commit().unwrap();
        assert_eq!(
            store
                .timeline(&crate::test_ids::room_id("!r:x"), 10)
                .unwrap()[1]
                .json["content"]["body"],
            "late"
        );
        let again = store.live_events_after("w", 10).unwrap();
        assert_eq!(again.len(), 1, "told once more");
        assert_eq!(again[0].change, EventChange::Decrypted);
        assert_eq!(
            again[0].event.event_id.as_ref().map(|id| id.as_str()),
            Some("$b")
        );
        assert!(waiting_for(store.connection(), "!r:x", "S1")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_withheld_event_decided_again_is_shown_and_told_as_decrypted() {
        let mut store = Store::in_memory().unwrap();
        store.start_watcher("w").unwrap();
        let clear = json!({"type": "m.room.message", "event_id": "$a", "sender": "@b:x",
            "origin_server_ts": 1, "content": {"body": "now trusted"}})
        .to_string();
        let withheld = Decryption {
            clear: Some(clear.clone()),
            session_id: Some("S1".into()),
            error: Some("withheld".into()),
            sender_trust: Some(SenderTrust::NotCrossSigned),
        };
        let decryptions = Decryptions::from([("$a".to_owned(), withheld)]);
        apply_decrypted_body(
            &mut store,
            &batch("s1", vec![encrypted("$a")]),
            &decryptions,
        )
        .unwrap();
        let first = store.live_events_after("w", 10).unwrap();
        store.advance_watcher("w", "!r:x", first[0].seq).unwrap();
        assert!(waiting_for(store.connection(), "!r:x", "S1")
            .unwrap()
            .is_empty());
        let again = all_withheld(store.connection()).unwrap();
        assert_eq!(again.len(), 1);

        let trusted = Decryption {
            clear: Some(clear),
            session_id: Some("S1".into()),
            error: None,
            sender_trust: Some(SenderTrust::CrossSigned),
        };
        let tx = store.connection_mut().transaction().unwrap();
        assert!(apply_late(&tx, &again[0], &trusted).unwrap());
        tx.commit().unwrap();
        let shown = &store
            .timeline(&crate::test_ids::room_id("!r:x"), 1)
            .unwrap()[0];
        assert_eq!(shown.json["content"]["body"], "now trusted");
        assert_eq!(
            shown.encryption.as_ref().unwrap().sender_trust,
            Some(SenderTrust::CrossSigned)
        );
        assert!(all_withheld(store.connection()).unwrap().is_empty());
        let told = store.live_events_after("w", 10).unwrap();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].change, EventChange::Decrypted);
    }

    #[test]
    fn a_withheld_event_keeps_the_ciphertext_shown_and_a_redaction_drops_both_copies() {
        let mut store = Store::in_memory().unwrap();
        let mut decryptions = Decryptions::new();
        decryptions.insert(
            "$a".into(),
            Decryption {
                clear: Some(
                    json!({"type": "m.room.message", "event_id": "$a", "sender": "@b:x",
                    "origin_server_ts": 1, "content": {"body": "secret"}})
                    .to_string(),
                ),
                session_id: Some("S1".into()),
                error: Some("withheld".into()),
                sender_trust: Some(SenderTrust::NotCrossSigned),
            },
        );
        apply_decrypted_body(
            &mut store,
            &batch("s1", vec![encrypted("$a")]),
            &decryptions,
        )
        .unwrap();
        let shown = &store
            .timeline(&crate::test_ids::room_id("!r:x"), 1)
            .unwrap()[0];
        assert_eq!(shown.json["type"], "m.room.encrypted");
        assert!(!shown.json.to_string().contains("secret"));
        let redaction = json!({"type": "m.room.redaction", "event_id": "$r", "sender": "@b:x",
                               "origin_server_ts": 2, "redacts": "$a", "content": {}});
        apply_decrypted_body(
            &mut store,
            &batch("s2", vec![redaction]),
            &Decryptions::new(),
        )
        .unwrap();
        let left: i64 = store
            .connection()
            .query_row("SELECT COUNT(*) FROM encrypted_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "neither the ciphertext nor the clear copy stays");
    }
}

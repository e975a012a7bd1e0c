//! `quotient messages ROOM`, and how an event is shown (shared with `tail`).

use std::collections::HashMap;

use quotient_client::encryption::EventEncryption;
use quotient_client::events::{EventContent as _, MemberContent, Membership};
use quotient_client::sync::PaginationOutcome;
use quotient_client::{Client, Store};
use serde_json::{json, Value};

use crate::cli::MessagesArgs;
use crate::client::{self, read_failure};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

pub async fn run(store: &SessionStore, out: &Output, args: MessagesArgs) -> Result<(), Failure> {
    if let Some(root) = &args.thread {
        return crate::commands::threads::messages(store, out, &args.room, root).await;
    }
    let client = client::open(store)?;
    let room = client::resolve(&client, &args.room)?;
    fill(&client, out, &room, args.limit).await?;
    for line in read(&client, &room, args.limit)? {
        print_event(out, &line);
    }
    Ok(())
}

/// At most this many pages are fetched for one `messages`.
const MAX_PAGES: usize = 10;

/// Back-paginates while the newest `limit` stored events are not
/// contiguous (a sync gap falls among them) or are fewer than `limit` with
/// a gap before them, until neither holds or `MAX_PAGES` pages were
/// fetched: what is printed then has no hole.
async fn fill(
    client: &Client,
    out: &Output,
    room_id: &quotient_api::RoomId,
    limit: usize,
) -> Result<(), Failure> {
    let _spin = out.spinner("fetching older messages");
    for _ in 0..MAX_PAGES {
        if !has_hole(client, room_id, limit)? {
            break;
        }
        let page = u32::try_from(limit.min(100)).unwrap_or(100);
        match client
            .paginate_back(room_id, page)
            .await
            .map_err(|e| client::failure("fetching older messages failed", &e))?
        {
            PaginationOutcome::NoGap => break,
            PaginationOutcome::Page { .. } => {}
        }
    }
    Ok(())
}

/// Whether the newest `limit` stored events of `room` miss some: a gap
/// after the oldest of them, or fewer than `limit` and a gap at all.
fn has_hole(client: &Client, room: &quotient_api::RoomId, limit: usize) -> Result<bool, Failure> {
    let store = client.store().map_err(|e| read_failure(&e))?;
    let events = store.timeline(room, limit).map_err(|e| read_failure(&e))?;
    let gaps = store.timeline_gaps(room).map_err(|e| read_failure(&e))?;
    let oldest = events.first().map_or(i64::MAX, |e| e.position);
    Ok(gaps
        .iter()
        .any(|(gap, _)| events.len() < limit || oldest < *gap))
}

/// The newest `limit` stored events of `room`, oldest first, as lines
/// (ignored users' events left out, as the library's room timeline does).
fn read(client: &Client, id: &quotient_api::RoomId, limit: usize) -> Result<Vec<Line>, Failure> {
    let room = id.as_str();
    let events = client
        .room(id)
        .and_then(|r| r.latest_events(limit))
        .map_err(|e| read_failure(&e))?;
    let store = client.store().map_err(|e| read_failure(&e))?;
    let names = Names::new(&store, id)?;
    Ok(events
        .iter()
        .map(|e| line(room, &e.json, e.encryption.as_ref(), &names))
        .collect())
}

/// Members' shown names in one room (disambiguated), read once.
pub struct Names(HashMap<String, String>);

impl Names {
    pub fn new(store: &Store, room: &quotient_api::RoomId) -> Result<Self, Failure> {
        let members = store.members(room).map_err(|e| read_failure(&e))?;
        Ok(Names(
            members
                .into_iter()
                .map(|m| (m.user_id.into_string(), m.disambiguated_name))
                .collect(),
        ))
    }

    fn of<'a>(&'a self, user: &'a str) -> &'a str {
        self.0.get(user).map(String::as_str).unwrap_or(user)
    }
}

/// One event as shown: its JSON line and its text line.
pub struct Line {
    json: Value,
    text: String,
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

/// One event as a JSON line (the `--json` format of `messages` and
/// `tail`): `room_id`, `event_id`, `sender`, `sender_name`, `type`,
/// `origin_server_ts`, `state_key` (state events), `msgtype` and `body`
/// (messages; null otherwise), `redacted` (bool), `encrypted` (bool: it
/// came encrypted), `decryption_error` (null unless it is undecryptable
/// or withheld by the device trust setting) and `sender_trust` (the
/// sending device's trust once decrypted: verified, cross-signed,
/// identity-changed, not-cross-signed, unknown-device, sender-mismatch;
/// else null).
pub fn line(
    room: &str,
    event: &Value,
    encryption: Option<&EventEncryption>,
    names: &Names,
) -> Line {
    let sender = text(&event["sender"]).unwrap_or("");
    let json = json!({
        "room_id": room,
        "event_id": event["event_id"],
        "sender": sender,
        "sender_name": names.of(sender),
        "type": event["type"],
        "origin_server_ts": event["origin_server_ts"],
        "state_key": event.get("state_key"),
        "msgtype": event["content"].get("msgtype"),
        "body": event["content"].get("body").filter(|b| b.is_string()),
        "redacted": !event["unsigned"]["redacted_because"].is_null(),
        "encrypted": encryption.is_some(),
        "decryption_error": encryption.and_then(|e| e.error.as_deref()),
        "sender_trust": encryption.and_then(|e| e.sender_trust).map(|t| t.as_str()),
    });
    let text = match encryption.and_then(|e| e.error.as_deref()) {
        Some(error) => {
            let mut shown = describe(&json, event, names);
            shown.push_str(&format!(" ** {error} **"));
            shown
        }
        None => describe(&json, event, names),
    };
    Line { json, text }
}

/// Prints a line: the JSON object with `--json`, else
/// `HH:MM sender: body` (or a description of a state change).
pub fn print_event(out: &Output, line: &Line) {
    out.print(line.json.clone(), || line.text.clone());
}

fn describe(line: &Value, event: &Value, names: &Names) -> String {
    let who = clean(text(&line["sender_name"]).unwrap_or("?"));
    let time = line["origin_server_ts"]
        .as_u64()
        .map(|ms| {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
            let stamp = humantime::format_rfc3339_seconds(t).to_string();
            stamp
                .get(0..16)
                .map(|s| s.replace('T', " "))
                .unwrap_or(stamp)
        })
        .unwrap_or_default();
    let kind = text(&line["type"]).unwrap_or("?");
    let what = if line["redacted"] == true {
        "(deleted)".to_owned()
    } else if let Some(body) = text(&line["body"]) {
        let body = clean(body);
        if line["msgtype"] == "m.emote" {
            return format!("{time} * {who} {body}");
        }
        body
    } else if kind == "m.room.member" {
        let change = member_change(event, names);
        if change.contains(" changed their name to ") {
            return format!("{time} {change}");
        }
        return format!("{time} {who} {change}");
    } else if line["state_key"].is_string() {
        format!("(set {kind})")
    } else {
        format!("({kind})")
    };
    format!("{time} {who}: {what}")
}

/// What an `m.room.member` event did, after its sender's name: "joined",
/// "left", "invited NAME", …; a name change is "OLD changed their name
/// to NEW", the old name first.
fn member_change(event: &Value, names: &Names) -> String {
    let Ok(now) = MemberContent::from_content(&event["content"]) else {
        return "(an unreadable membership change)".to_owned();
    };
    let before = MemberContent::from_content(&event["unsigned"]["prev_content"]).ok();
    let target = text(&event["state_key"]).unwrap_or("?");
    let own = text(&event["sender"]) == Some(target);
    let was = before.as_ref().map(|b| &b.membership);
    let name = |user: &str| clean(names.of(user));
    match (&now.membership, was) {
        (Membership::Join, Some(Membership::Join)) => {
            let old = before.as_ref().and_then(|b| b.displayname.as_deref());
            match now.displayname.as_deref() {
                // Named as they were, not as they are now.
                Some(new) if Some(new) != old => format!(
                    "{} changed their name to {}",
                    clean(old.unwrap_or(target)),
                    clean(new)
                ),
                None if old.is_some() => "removed their display name".to_owned(),
                _ => "changed their avatar".to_owned(),
            }
        }
        (Membership::Join, _) => "joined".to_owned(),
        (Membership::Invite, _) => format!("invited {}", name(target)),
        (Membership::Leave, Some(Membership::Ban)) => format!("unbanned {}", name(target)),
        (Membership::Leave, Some(Membership::Invite)) if own => "declined the invite".to_owned(),
        (Membership::Leave, Some(Membership::Invite)) => {
            format!("withdrew the invite of {}", name(target))
        }
        (Membership::Leave, _) if own => "left".to_owned(),
        (Membership::Leave, _) => format!("removed {}", name(target)),
        (Membership::Ban, _) => format!("banned {}", name(target)),
        (Membership::Knock, _) => "asked to join".to_owned(),
        (Membership::Other(other), _) => {
            format!("set the membership of {} to {}", name(target), clean(other))
        }
    }
}

/// Text from the server as one printable line: newlines would forge other
/// lines and control characters could drive the terminal.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' => '⏎',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(content: Value, prev: Option<Value>, sender: &str, target: &str) -> String {
        let mut event = json!({"type": "m.room.member", "sender": sender, "state_key": target,
            "event_id": "$e", "origin_server_ts": 0, "content": content});
        if let Some(prev) = prev {
            event["unsigned"] = json!({"prev_content": prev});
        }
        let names = Names(HashMap::from([("@b:x".to_owned(), "Bob".to_owned())]));
        line("!r:x", &event, None, &names).text
    }

    #[test]
    fn member_events_say_what_changed() {
        let m = |membership: &str| json!({"membership": membership});
        let join = |name: &str| json!({"membership": "join", "displayname": name});
        let at = "1970-01-01 00:00";
        for (content, prev, sender, target, want) in [
            (m("join"), None, "@a:x", "@a:x", "@a:x joined"),
            (m("join"), Some(m("invite")), "@b:x", "@b:x", "Bob joined"),
            (m("leave"), Some(m("join")), "@b:x", "@b:x", "Bob left"),
            (m("invite"), None, "@a:x", "@b:x", "@a:x invited Bob"),
            (
                m("leave"),
                Some(m("join")),
                "@a:x",
                "@b:x",
                "@a:x removed Bob",
            ),
            (m("ban"), Some(m("join")), "@a:x", "@b:x", "@a:x banned Bob"),
            (
                m("leave"),
                Some(m("ban")),
                "@a:x",
                "@b:x",
                "@a:x unbanned Bob",
            ),
            (
                m("leave"),
                Some(m("invite")),
                "@b:x",
                "@b:x",
                "Bob declined the invite",
            ),
            (m("knock"), None, "@c:x", "@c:x", "@c:x asked to join"),
            (
                join("Robert\n"),
                Some(join("Bob")),
                "@b:x",
                "@b:x",
                "Bob changed their name to Robert⏎",
            ),
            (
                join("Rob"),
                Some(m("join")),
                "@b:x",
                "@b:x",
                "@b:x changed their name to Rob",
            ),
            (
                join("Bob"),
                Some(join("Bob")),
                "@b:x",
                "@b:x",
                "Bob changed their avatar",
            ),
            (
                json!({}),
                None,
                "@b:x",
                "@b:x",
                "Bob (an unreadable membership change)",
            ),
        ] {
            assert_eq!(shown(content, prev, sender, target), format!("{at} {want}"));
        }
    }
}

//! `quotient messages ROOM`, and how an event is shown (shared with `tail`).

use std::collections::HashMap;

use quotient_client::sync::PaginationOutcome;
use quotient_client::{Client, Store};
use serde_json::{json, Value};

use crate::cli::MessagesArgs;
use crate::client::{self, read_failure};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

pub async fn run(store: &SessionStore, out: &Output, args: MessagesArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    let room = client::resolve(&client, &args.room)?;
    fill(&client, out, &room, args.limit).await?;
    let lines = read(&client, &room, args.limit)?;
    for line in lines {
        print_event(out, &line);
    }
    Ok(())
}

/// At most this many pages are fetched for one `messages`.
const MAX_PAGES: usize = 10;

/// Back-paginates (only when the store holds fewer than `limit` events
/// and the timeline has a gap) until `limit` are stored, the gap is
/// closed, or `MAX_PAGES` pages were fetched.
async fn fill(client: &Client, out: &Output, room: &str, limit: usize) -> Result<(), Failure> {
    let Ok(room_id) = quotient_api::RoomId::parse(room) else {
        return Ok(());
    };
    let _spin = out.spinner("fetching older messages");
    for _ in 0..MAX_PAGES {
        let stored = {
            let store = client.store().map_err(|e| read_failure(&e))?;
            store
                .timeline(room, limit)
                .map_err(|e| read_failure(&e))?
                .len()
        };
        if stored >= limit {
            break;
        }
        let page = u32::try_from((limit - stored).min(100)).unwrap_or(100);
        match client
            .paginate_back(&room_id, page)
            .await
            .map_err(|e| client::failure("fetching older messages failed", &e))?
        {
            PaginationOutcome::NoGap => break,
            PaginationOutcome::Page { .. } => {}
        }
    }
    Ok(())
}

/// The newest `limit` stored events of `room`, oldest first, as lines.
fn read(client: &Client, room: &str, limit: usize) -> Result<Vec<Value>, Failure> {
    let store = client.store().map_err(|e| read_failure(&e))?;
    let events = store.timeline(room, limit).map_err(|e| read_failure(&e))?;
    let names = Names::new(&store, room)?;
    Ok(events.iter().map(|e| line(room, &e.json, &names)).collect())
}

/// Members' shown names in one room (disambiguated), read once.
pub struct Names(HashMap<String, String>);

impl Names {
    pub fn new(store: &Store, room: &str) -> Result<Self, Failure> {
        let members = store.members(room).map_err(|e| read_failure(&e))?;
        Ok(Names(
            members
                .into_iter()
                .map(|m| (m.user_id, m.disambiguated_name))
                .collect(),
        ))
    }

    fn of<'a>(&'a self, user: &'a str) -> &'a str {
        self.0.get(user).map(String::as_str).unwrap_or(user)
    }
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

/// One event as a JSON line (the `--json` format of `messages` and
/// `tail`): `room_id`, `event_id`, `sender`, `sender_name`, `type`,
/// `origin_server_ts`, `state_key` (state events), `msgtype` and `body`
/// (messages; null otherwise), `redacted` (bool).
pub fn line(room: &str, event: &Value, names: &Names) -> Value {
    let sender = text(&event["sender"]).unwrap_or("");
    json!({
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
    })
}

/// Prints a line: the JSON object with `--json`, else
/// `HH:MM sender: body` (or a description of a state change).
pub fn print_event(out: &Output, line: &Value) {
    out.print(line.clone(), || describe(line));
}

fn describe(line: &Value) -> String {
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
        format!(
            "(membership change of {})",
            text(&line["state_key"]).unwrap_or("?")
        )
    } else if line["state_key"].is_string() {
        format!("(set {kind})")
    } else {
        format!("({kind})")
    };
    format!("{time} {who}: {what}")
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

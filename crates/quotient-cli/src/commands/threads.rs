//! `quotient threads ROOM` and `quotient messages ROOM --thread ROOT`:
//! a room's threads, and one thread's events, from the server.

use serde_json::{json, Value};

use crate::cli::ThreadsArgs;
use crate::client::{self, failure, read_failure};
use crate::commands::messages::{clean, line, print_event, Names};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

fn body(event: &Value) -> Option<&str> {
    event["content"]["body"].as_str()
}

/// `quotient threads ROOM`: the thread roots, most recently active first.
pub async fn list(store: &SessionStore, out: &Output, args: ThreadsArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    let room = client::room(&client, &args.room)?;
    let spin = out.spinner("fetching threads");
    let threads = room
        .threads(args.limit)
        .await
        .map_err(|e| failure("listing threads failed", &e))?;
    drop(spin);
    let rows: Vec<Value> = threads
        .iter()
        .map(|t| {
            let latest = t.latest.as_ref();
            json!({
                "root_id": t.root_id.as_str(),
                "sender": t.root["sender"],
                "body": body(&t.root),
                "count": t.count,
                "latest_event_id": latest.map(|l| l["event_id"].clone()),
                "latest_sender": latest.map(|l| l["sender"].clone()),
                "latest_body": latest.and_then(body),
            })
        })
        .collect();
    if out.json {
        println!("{}", Value::Array(rows));
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("no threads in {}", room.id());
    }
    for row in &rows {
        println!(
            "{}  {} replies  {}: {}{}",
            row["root_id"].as_str().unwrap_or(""),
            row["count"],
            row["sender"].as_str().unwrap_or(""),
            clean(row["body"].as_str().unwrap_or("")),
            row["latest_body"]
                .as_str()
                .map(|b| format!("  (latest: {})", clean(b)))
                .unwrap_or_default(),
        );
    }
    Ok(())
}

/// `quotient messages ROOM --thread ROOT`: the root, then every event of
/// its thread, oldest first, as `messages` prints events.
pub async fn messages(
    store: &SessionStore,
    out: &Output,
    room: &str,
    root: &str,
) -> Result<(), Failure> {
    let root = client::event_id(root)?;
    let client = client::open(store)?;
    let room = client::room(&client, room)?;
    let spin = out.spinner("fetching the thread");
    let root_event = room
        .event(&root)
        .await
        .map_err(|e| failure("fetching the thread's root failed", &e))?;
    let events = room
        .thread_events(&root, 100)
        .await
        .map_err(|e| failure("fetching the thread failed", &e))?;
    drop(spin);
    let id = room.id().as_str();
    let names = {
        let store = client.store().map_err(|e| read_failure(&e))?;
        Names::new(&store, room.id())?
    };
    for event in std::iter::once(&root_event).chain(&events) {
        print_event(out, &line(id, event, None, &names));
    }
    Ok(())
}

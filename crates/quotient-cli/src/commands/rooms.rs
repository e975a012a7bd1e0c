//! `quotient rooms` and `quotient room ROOM`: read from the store, no network.

use quotient_client::store::UnreadSource;
use quotient_client::Store;
use serde_json::{json, Value};

use crate::cli::RoomArgs;
use crate::client::{self, membership_str, read_failure};
use crate::commands::messages::clean;
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

fn content_str(
    store: &Store,
    room: &quotient_api::RoomId,
    kind: &str,
    key: &str,
) -> Result<Option<String>, Failure> {
    let event = store
        .state_event(room, kind, "")
        .map_err(|e| read_failure(&e))?;
    Ok(event.and_then(|e| e["content"][key].as_str().map(str::to_owned)))
}

/// `quotient rooms`: every room the store knows, the most recently
/// active first when sliding sync gave the order.
pub async fn list(store: &SessionStore, out: &Output) -> Result<(), Failure> {
    let client = client::open(store)?;
    let store = client.store().map_err(|e| read_failure(&e))?;
    let direct = store.direct_chats().map_err(|e| read_failure(&e))?;
    let mut rows = Vec::new();
    // The most recently active first, where sliding sync said which.
    for (id, membership) in store.rooms_by_activity().map_err(|e| read_failure(&e))? {
        let summary = store.room_summary(&id).map_err(|e| read_failure(&e))?;
        let (notes, highlights, source) = summary
            .map(|s| (s.notification_count, s.highlight_count, s.unread_source))
            .unwrap_or_default();
        let source = match source {
            UnreadSource::Server => "server",
            UnreadSource::Counted => "counted",
            UnreadSource::AtLeast => "at-least",
        };
        let name = store
            .room_display_name(&id)
            .map_err(|e| read_failure(&e))?
            .unwrap_or_else(|| id.to_string());
        let tags: Vec<String> = store
            .room_tags(&id)
            .map_err(|e| read_failure(&e))?
            .into_iter()
            .map(|t| t.name)
            .collect();
        rows.push(json!({
            "room_id": id,
            "name": name,
            "membership": membership_str(membership),
            "notification_count": notes,
            "highlight_count": highlights,
            "unread_source": source,
            "direct": direct.is_direct(&id),
            "tags": tags,
        }));
    }
    if out.json {
        println!("{}", Value::Array(rows));
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("no rooms in the store (run `quotient sync` first)");
    }
    for row in &rows {
        // A count with a sync gap after the read marker is a lower bound.
        let plus = if row["unread_source"] == "at-least" {
            "+"
        } else {
            ""
        };
        let unread = match (
            row["notification_count"].as_u64(),
            row["highlight_count"].as_u64(),
        ) {
            (Some(0), _) | (None, _) => String::new(),
            (Some(n), Some(0)) | (Some(n), None) => format!("  [{n}{plus} unread]"),
            (Some(n), Some(h)) => format!("  [{n}{plus} unread, {h}{plus} mentions]"),
        };
        println!(
            "{}  {:<6}  {}{}{}",
            row["room_id"].as_str().unwrap_or(""),
            row["membership"].as_str().unwrap_or(""),
            clean(row["name"].as_str().unwrap_or("")),
            if row["direct"] == true {
                "  (direct)"
            } else {
                ""
            },
            unread
        );
    }
    Ok(())
}

/// `quotient room ROOM`: its state summary and members.
pub async fn show(store: &SessionStore, out: &Output, args: RoomArgs) -> Result<(), Failure> {
    if let Some(change) = args.change {
        return crate::commands::room_state::change(store, out, &args.room, change).await;
    }
    let client = client::open(store)?;
    let room = client::resolve(&client, &args.room)?;
    let store = client.store().map_err(|e| read_failure(&e))?;
    let membership = store
        .rooms()
        .map_err(|e| read_failure(&e))?
        .into_iter()
        .find(|(id, _)| *id == room)
        .map(|(_, m)| membership_str(m));
    let members: Vec<Value> = store
        .members(&room)
        .map_err(|e| read_failure(&e))?
        .into_iter()
        .map(|m| {
            json!({
                "user_id": m.user_id,
                "name": m.disambiguated_name,
                "display_name": m.display_name,
                "membership": m.membership.as_str(),
                "avatar_url": m.avatar_url,
            })
        })
        .collect();
    let tags: Vec<Value> = store
        .room_tags(&room)
        .map_err(|e| read_failure(&e))?
        .into_iter()
        .map(|t| json!({"name": t.name, "order": t.order}))
        .collect();
    let summary = json!({
        "room_id": room,
        "name": store.room_display_name(&room).map_err(|e| read_failure(&e))?,
        "membership": membership,
        "topic": content_str(&store, &room, "m.room.topic", "topic")?,
        "canonical_alias": content_str(&store, &room, "m.room.canonical_alias", "alias")?,
        "encryption": content_str(&store, &room, "m.room.encryption", "algorithm")?,
        "join_rule": content_str(&store, &room, "m.room.join_rules", "join_rule")?,
        "room_version": content_str(&store, &room, "m.room.create", "room_version")?,
        "direct": store.is_direct(&room).map_err(|e| read_failure(&e))?,
        "tags": tags,
        "members": members,
    });
    out.print(summary.clone(), || describe(&summary));
    Ok(())
}

fn describe(s: &Value) -> String {
    let field = |k: &str| s[k].as_str().map(clean).unwrap_or_else(|| "-".to_owned());
    let mut text = format!(
        "{}\n  id:         {}\n  membership: {}\n  topic:      {}\n  alias:      {}\n  encryption: {}\n  join rule:  {}\n  direct:     {}\n",
        field("name"),
        field("room_id"),
        field("membership"),
        field("topic"),
        field("canonical_alias"),
        s["encryption"].as_str().map(clean).unwrap_or_else(|| "none".to_owned()),
        field("join_rule"),
        if s["direct"] == true { "yes" } else { "no" },
    );
    if let Some(tags) = s["tags"].as_array().filter(|t| !t.is_empty()) {
        let names: Vec<String> = tags
            .iter()
            .filter_map(|t| t["name"].as_str())
            .map(clean)
            .collect();
        text.push_str(&format!("  tags:       {}\n", names.join(", ")));
    }
    let members = s["members"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    text.push_str(&format!("  members ({}):", members.len()));
    for m in members {
        text.push_str(&format!(
            "\n    {:<6}  {}",
            m["membership"].as_str().unwrap_or(""),
            clean(m["name"].as_str().unwrap_or(""))
        ));
        let name = m["name"].as_str().unwrap_or("");
        let id = m["user_id"].as_str().unwrap_or("");
        if !name.contains(id) {
            text.push_str(&format!("  {id}"));
        }
    }
    text
}

//! `quotient send`, `react`, `edit`, `redact` and `outbox`: everything
//! goes through the client's outbox, so a message is stored before it
//! goes out and a later run sends what an earlier one could not.

use std::io::{IsTerminal as _, Read as _};
use std::time::Duration;

use quotient_api::RoomId;
use quotient_client::outbox::{
    FileMessage, OutboxChange, OutboxEntry, OutboxState, OutgoingEvent, PendingSend,
};
use quotient_client::{Client, Error};
use serde_json::json;

use crate::cli::{EditArgs, OutboxAction, OutboxArgs, ReactArgs, RedactArgs, SendArgs};
use crate::client::{self, failure, read_failure};
use crate::exit::{Failure, NETWORK, NOT_SIGNED_IN, NOT_SUPPORTED, OTHER, USAGE};
use crate::store::Store as SessionStore;
use crate::terminal::Output;

/// The room to send to: any room ID as given (the server decides), else
/// an alias or name found in the store.
fn target(client: &Client, name: &str) -> Result<RoomId, Failure> {
    if name.starts_with('!') {
        RoomId::parse(name).map_err(|e| Failure::usage(format!("`{name}` is not a room ID: {e}")))
    } else {
        client::resolve(client, name)
    }
}

pub async fn send(store: &SessionStore, out: &Output, args: SendArgs) -> Result<(), Failure> {
    if let Some(path) = &args.file {
        let mut file = FileMessage::new(path);
        if let Some(content_type) = &args.content_type {
            file = file.content_type(content_type);
        }
        if let Some(caption) = &args.text {
            file = file.caption(caption);
        }
        if let Some(id) = &args.reply_to {
            file = file.reply_to(&client::event_id(id)?);
        }
        let client = client::open(store)?;
        let room = target(&client, &args.room)?;
        let earlier = unsent(&client, &room)?;
        let changes = client.outbox_changes();
        let pending = client
            .send_file(&room, file)
            .await
            .map_err(|e| queue_failure(&e))?;
        let bar = upload_bar(out, changes, pending.txn_id());
        let sent = wait_for(&client, out, &room, pending, args.wait, earlier).await;
        if let Some(bar) = bar {
            bar.abort();
        }
        return sent;
    }
    let text = match args.text {
        Some(text) => text,
        None => read_stdin()?,
    };
    let event = if args.html {
        OutgoingEvent::html(&plain_from_html(&text), &text)
    } else if args.notice {
        OutgoingEvent::notice(&text)
    } else if args.emote {
        OutgoingEvent::emote(&text)
    } else {
        OutgoingEvent::text(&text)
    };
    let event = match (&args.thread, &args.reply_to) {
        (Some(root), reply_to) => {
            let root = client::event_id(root)?;
            let client = client::open(store)?;
            let room = client::room(&client, &args.room)?;
            match reply_to {
                Some(to) => event.reply_in_thread(&root, &client::event_id(to)?),
                None => {
                    let latest = room.latest_in_thread(&root).map_err(|e| read_failure(&e))?;
                    event.in_thread(&root, &latest)
                }
            }
        }
        (None, Some(id)) => event.reply_to(&client::event_id(id)?),
        (None, None) => event,
    };
    deliver(store, out, &args.room, event, args.wait).await
}

pub async fn react(store: &SessionStore, out: &Output, args: ReactArgs) -> Result<(), Failure> {
    let event = OutgoingEvent::reaction(&client::event_id(&args.event)?, &args.key);
    deliver(store, out, &args.room, event, args.wait).await
}

pub async fn edit(store: &SessionStore, out: &Output, args: EditArgs) -> Result<(), Failure> {
    let event = OutgoingEvent::edit(
        &client::event_id(&args.event)?,
        OutgoingEvent::text(&args.text),
    );
    deliver(store, out, &args.room, event, args.wait).await
}

pub async fn redact(store: &SessionStore, out: &Output, args: RedactArgs) -> Result<(), Failure> {
    let event = OutgoingEvent::redaction(&client::event_id(&args.event)?, args.reason.as_deref());
    deliver(store, out, &args.room, event, args.wait).await
}

fn read_stdin() -> Result<String, Failure> {
    if std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "no TEXT: give it as an argument or pipe it on stdin",
        ));
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::usage(format!("cannot read the message from stdin: {e}")))?;
    let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
    if text.is_empty() {
        return Err(Failure::usage("the message on stdin is empty"));
    }
    Ok(text)
}

/// Queues `event`, then waits up to `wait` seconds for the server to take
/// it (and everything queued before it in the room).
async fn deliver(
    store: &SessionStore,
    out: &Output,
    room: &str,
    event: OutgoingEvent,
    wait: u64,
) -> Result<(), Failure> {
    let client = client::open(store)?;
    let room = target(&client, room)?;
    let earlier = unsent(&client, &room)?;
    let pending = client
        .send(&room, event)
        .await
        .map_err(|e| queue_failure(&e))?;
    wait_for(&client, out, &room, pending, wait, earlier).await
}

/// How many of the room's entries are still unsent.
fn unsent(client: &Client, room: &RoomId) -> Result<usize, Failure> {
    Ok(client
        .outbox_entries(Some(room))
        .map_err(|e| read_failure(&e))?
        .iter()
        .filter(|e| e.state.is_unsent())
        .count())
}

/// An event that could not be queued: a file over the server's limit
/// is "not allowed" (3), an unreadable one a usage error.
fn queue_failure(e: &Error) -> Failure {
    match e {
        Error::TooLarge { .. } => Failure::new(NOT_SUPPORTED, e.to_string()),
        Error::File { .. } => Failure::usage(e.to_string()),
        _ => failure("cannot queue the event", e),
    }
}

/// Waits up to `wait` seconds for the server to take `pending` (and the
/// `earlier` entries queued before it in the room).
async fn wait_for(
    client: &Client,
    out: &Output,
    room: &RoomId,
    pending: PendingSend,
    wait: u64,
    earlier: usize,
) -> Result<(), Failure> {
    let txn = pending.txn_id().to_owned();
    let spin = out.spinner(&if earlier > 0 {
        format!("sending (after {earlier} queued before)")
    } else {
        "sending".to_owned()
    });
    let outcome = tokio::select! {
        sent = pending.sent() => Some(sent),
        _ = tokio::time::sleep(Duration::from_secs(wait)) => None,
        _ = client::shutdown() => None,
    };
    drop(spin);
    match outcome {
        Some(Ok(event_id)) => {
            out.print(
                json!({"room_id": room.as_str(), "event_id": event_id, "txn_id": txn, "state": "sent"}),
                || format!("Sent {event_id}"),
            );
            Ok(())
        }
        Some(Err(Error::SendFailed { error, .. })) => Err(Failure::new(
            OTHER,
            format!(
                "not sent: {error}; it stays in the outbox as failed \
                 (`quotient outbox retry {txn}` or `quotient outbox cancel {txn}`)"
            ),
        )),
        Some(Err(Error::SendInterrupted {
            reason, session, ..
        })) => {
            let code = if session { NOT_SIGNED_IN } else { OTHER };
            Err(Failure::new(code, still_queued(&txn, &reason)))
        }
        Some(Err(e)) => Err(failure("sending failed", &e)),
        None => {
            let why = client
                .store()
                .ok()
                .and_then(|s| s.outbox_entry(&txn).ok().flatten())
                .map_or("not sent yet", |e| match e.state {
                    OutboxState::Sending => "the server has not confirmed it yet",
                    _ => "it waits for earlier messages or the server",
                });
            Err(Failure::new(NETWORK, still_queued(&txn, why)))
        }
    }
}

/// A progress bar for the file's upload, on a terminal only.
fn upload_bar(
    out: &Output,
    mut changes: tokio::sync::broadcast::Receiver<OutboxChange>,
    txn: &str,
) -> Option<tokio::task::JoinHandle<()>> {
    let bar = super::media::transfer_bar(out, "uploading")?;
    let txn = txn.to_owned();
    Some(tokio::spawn(async move {
        while let Ok(change) = changes.recv().await {
            if change.txn_id != txn {
                continue;
            }
            match change.upload {
                Some((sent, total)) => {
                    bar.set_length(total);
                    bar.set_position(sent);
                    // Uploaded: the bar goes before the message is sent.
                    if sent >= total {
                        break;
                    }
                }
                None if !change.state.is_unsent() => break,
                None => {}
            }
        }
        bar.finish_and_clear();
    }))
}

fn still_queued(txn: &str, why: &str) -> String {
    format!(
        "not sent yet ({why}); it is safely queued as {txn} and the next `quotient send`, \
         `sync` (without --once) or `tail` sends it with the same transaction ID (no duplicate)"
    )
}

/// The plain-text `body` of an HTML message: the text without tags, the
/// common entities decoded, `<br>` and block ends as line breaks.
pub fn plain_from_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        let closing = tag.starts_with('/');
        if name == "br" || (closing && matches!(name, "p" | "div" | "li" | "blockquote")) {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.trim_end_matches('\n').to_owned()
}

pub async fn outbox(store: &SessionStore, out: &Output, args: OutboxArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    match args.action {
        None => {
            let room = match &args.room {
                Some(name) => Some(target(&client, name)?),
                None => None,
            };
            let entries = client
                .outbox_entries(room.as_ref())
                .map_err(|e| read_failure(&e))?;
            if out.json {
                let list: Vec<_> = entries.iter().map(entry_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else if entries.is_empty() {
                println!("The outbox is empty.");
            } else {
                for entry in &entries {
                    println!("{}", entry_line(entry));
                }
            }
            Ok(())
        }
        Some(OutboxAction::Retry { txn_id }) => {
            client
                .retry_send(&txn_id)
                .map_err(|e| not_found(&e, &txn_id))?;
            let pending = client
                .pending_send(&txn_id)
                .map_err(|e| not_found(&e, &txn_id))?;
            let outcome = tokio::select! {
                sent = pending.sent() => Some(sent),
                _ = tokio::time::sleep(Duration::from_secs(30)) => None,
            };
            match outcome {
                Some(Ok(event_id)) => {
                    out.print(
                        json!({"txn_id": txn_id, "event_id": event_id, "state": "sent"}),
                        || format!("Sent {event_id}"),
                    );
                    Ok(())
                }
                Some(Err(Error::SendFailed { error, .. })) => Err(Failure::new(
                    OTHER,
                    format!("not sent: {error}; it stays failed"),
                )),
                Some(Err(e)) => Err(failure("retry failed", &e)),
                None => Err(Failure::new(
                    NETWORK,
                    still_queued(&txn_id, "no answer yet"),
                )),
            }
        }
        Some(OutboxAction::Cancel { txn_id }) => {
            client
                .cancel_send(&txn_id)
                .map_err(|e| not_found(&e, &txn_id))?;
            out.print(json!({"txn_id": txn_id, "cancelled": true}), || {
                format!("Cancelled {txn_id}")
            });
            Ok(())
        }
    }
}

fn not_found(e: &Error, txn: &str) -> Failure {
    match e {
        Error::NoSuchSend(_) | Error::CannotCancel { .. } => Failure::new(USAGE, e.to_string()),
        _ => failure(&format!("cannot change {txn}"), e),
    }
}

fn state_parts(state: &OutboxState) -> (&'static str, Option<&str>, Option<&str>) {
    match state {
        OutboxState::Queued => ("queued", None, None),
        OutboxState::Sending => ("sending", None, None),
        OutboxState::Sent { event_id } => ("sent", event_id.as_ref().map(|id| id.as_str()), None),
        OutboxState::Failed { error } => ("failed", None, Some(error)),
    }
}

fn entry_json(entry: &OutboxEntry) -> serde_json::Value {
    let (state, event_id, error) = state_parts(&entry.state);
    json!({
        "txn_id": entry.txn_id, "room_id": entry.room_id, "type": entry.event.event_type(),
        "state": state, "event_id": event_id, "error": error,
        "body": entry.event.content().get("body"), "queued_ts": entry.queued_ts,
    })
}

fn entry_line(entry: &OutboxEntry) -> String {
    let (state, event_id, error) = state_parts(&entry.state);
    let content = entry.event.content();
    let body = content.get("body").and_then(|b| b.as_str()).unwrap_or("");
    let mut line = format!(
        "{} {} {state} {} {body}",
        entry.txn_id,
        entry.room_id,
        entry.event.event_type()
    );
    if let Some(id) = event_id {
        line.push_str(&format!(" → {id}"));
    }
    if let Some(error) = error {
        line.push_str(&format!(" ({error})"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::plain_from_html;

    #[test]
    fn html_becomes_its_plain_text() {
        assert_eq!(plain_from_html("<b>bold</b> &amp; <i>it</i>"), "bold & it");
        assert_eq!(plain_from_html("<p>one</p><p>two</p>"), "one\ntwo");
        assert_eq!(plain_from_html("a<br/>b<br>c"), "a\nb\nc");
        assert_eq!(plain_from_html("1 &lt; 2 <unclosed"), "1 < 2 <unclosed");
        assert_eq!(plain_from_html("&amp;lt;"), "&lt;");
    }
}

//! `quotient sync [--once]` and `quotient tail [ROOM]`: the sync loop
//! until Ctrl-C or SIGTERM, one batch, or new events as they come.

use std::time::Duration;

use quotient_client::store::LiveEvent;
use quotient_client::sync::SyncChanges;
use quotient_client::Client;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::cli::{SyncArgs, SyncChoice, TailArgs};
use crate::client::{self, read_failure};
use crate::commands::messages::{line, print_event, Line, Names};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

/// How often a running loop is checked for having ended on its own.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// One batch, with a spinner on a terminal for the (long) initial one.
async fn sync_once(client: &Client, out: &Output) -> Result<SyncChanges, Failure> {
    let label = if client::has_synced(client)? {
        "syncing"
    } else {
        "initial sync (the first one takes longest)"
    };
    let _spin = out.spinner(label);
    client
        .sync_once()
        .await
        .map_err(|e| client::failure("sync failed", &e))
}

/// Whether `choice` means sliding sync with this server: asked of the
/// server unless forced; `--sliding` with a server that lacks it fails.
async fn uses_sliding(client: &Client, choice: SyncChoice) -> Result<bool, Failure> {
    if choice.v3 {
        return Ok(false);
    }
    let offered = match client.server_has_sliding_sync().await {
        Ok(offered) => offered,
        // Not known: v3 is what every server serves.
        Err(e) if !choice.sliding => {
            tracing::warn!(error = %e, "cannot ask the server for its features; syncing by /sync v3");
            false
        }
        Err(e) => {
            return Err(client::failure(
                "cannot ask the server for its features",
                &e,
            ))
        }
    };
    if choice.sliding && !offered {
        return Err(Failure::new(
            crate::exit::NOT_SUPPORTED,
            "the server does not offer sliding sync (org.matrix.simplified_msc3575); run without --sliding",
        ));
    }
    Ok(offered)
}

fn print_batch(out: &Output, changes: &SyncChanges) {
    out.print(
        json!({"rooms": changes.rooms, "new_timeline_events": changes.new_timeline_events,
               "malformed": changes.malformed}),
        || {
            format!(
                "synced: {} room(s) changed, {} new event(s)",
                changes.rooms.len(),
                changes.new_timeline_events
            )
        },
    );
}

pub async fn sync(store: &SessionStore, out: &Output, args: SyncArgs) -> Result<(), Failure> {
    let client = client::open_with(store, args.loop_kind.mode())?;
    if args.once && uses_sliding(&client, args.loop_kind).await? {
        return sliding_once(&client, out, true).await;
    }
    if !args.once {
        // Another `sync` (or `tail`) may own the store: the loop then
        // follows its commits, and takes over when it stops.
        // The first batch is printed whatever it changed, as --once does.
        let mut first = true;
        return follow(&client, |change| match change {
            Ok(batch) => {
                if first || !batch.rooms.is_empty() || batch.new_timeline_events > 0 {
                    print_batch(out, &batch);
                }
                first = false;
                Ok(())
            }
            // Fell behind: the store has it all; nothing to print.
            Err(_) => Ok(()),
        })
        .await;
    }
    let first = sync_once(&client, out).await?;
    print_batch(out, &first);
    // The machine's key requests (this device's keys, key queries) go out
    // before the process ends, not at the next run.
    if let Err(e) = client.send_key_requests().await {
        tracing::warn!(error = %e, "key requests not sent yet; the next sync sends them");
    }
    Ok(())
}

/// `sync --once` by sliding sync: responses until the room list covers
/// the account, or one when it already did. With --json, one line per
/// response; otherwise a progress line on a terminal while the list
/// grows, and one summary line at the end (unless `report` is off).
async fn sliding_once(client: &Client, out: &Output, report: bool) -> Result<(), Failure> {
    let mut label = "room list: the most recent rooms first".to_owned();
    let mut rooms = std::collections::BTreeSet::new();
    let mut new_events = 0;
    let mut malformed = 0;
    let mut last = None;
    // Bounded: 100 steps of 100 rooms cover 10,000 rooms.
    for _ in 0..100 {
        let step = {
            let _spin = out.spinner(&label);
            client
                .sliding_sync_once()
                .await
                .map_err(|e| client::failure("sliding sync failed", &e))?
        };
        if report && out.json {
            out.print(
                json!({"rooms": step.changes.rooms, "new_timeline_events": step.changes.new_timeline_events,
                       "malformed": step.changes.malformed, "window": step.window,
                       "rooms_total": step.rooms_total}),
                String::new,
            );
        }
        rooms.extend(step.changes.rooms.iter().cloned());
        new_events += step.changes.new_timeline_events;
        malformed += step.changes.malformed;
        label = format!("room list: {} of {} rooms", step.window, step.rooms_total);
        let done = step.covers_all();
        last = Some(step);
        if done {
            break;
        }
    }
    if let (true, false, Some(step)) = (report, out.json, &last) {
        let bad = if malformed > 0 {
            format!(", {malformed} malformed")
        } else {
            String::new()
        };
        println!(
            "synced: {} room(s) changed, {new_events} new event(s){bad}; room list {} of {}",
            rooms.len(),
            step.window,
            step.rooms_total
        );
    }
    if let Err(e) = client.send_key_requests().await {
        tracing::warn!(error = %e, "key requests not sent yet; the next sync sends them");
    }
    Ok(())
}

/// Runs the sync loop, calling `on_change` for each change notice,
/// until a signal (exit 0), until the loop ends on its own (its error),
/// or until `on_change` fails.
async fn follow<F>(client: &Client, mut on_change: F) -> Result<(), Failure>
where
    F: FnMut(Result<SyncChanges, RecvError>) -> Result<(), Failure>,
{
    let mut changes = client.changes();
    let sync = client.start_sync_loop();
    let shutdown = client::shutdown();
    tokio::pin!(shutdown);
    let mut check = tokio::time::interval(CHECK_EVERY);
    let mut outcome = Ok(());
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = check.tick() => {
                if sync.is_finished() {
                    return match sync.join().await {
                        Ok(()) => Ok(()),
                        Err(e) => Err(client::failure("sync failed", &e)),
                    };
                }
            }
            change = changes.recv() => {
                // Closed cannot happen while the client lives.
                if matches!(change, Err(RecvError::Closed)) {
                    continue;
                }
                if let Err(e) = on_change(change) {
                    outcome = Err(e);
                    break;
                }
            }
        }
    }
    let stopped = sync
        .stop()
        .await
        .map_err(|e| client::failure("sync failed", &e));
    outcome.and(stopped)
}

/// The timeline watcher of `tail` (one per store, per room filter): its
/// cursor is in the store, so a restarted `tail` goes on after the last
/// event it printed.
fn watcher_name(only: Option<&str>) -> String {
    match only {
        Some(room) => format!("cli-tail {room}"),
        None => "cli-tail".to_owned(),
    }
}

/// A live event as `tail` shows it, with its room's member names.
fn shown(client: &Client, event: &LiveEvent) -> Result<Line, Failure> {
    let store = client.store().map_err(|e| read_failure(&e))?;
    let names = Names::new(&store, &event.room_id)?;
    Ok(line(
        event.room_id.as_str(),
        &event.event.json,
        event.event.encryption.as_ref(),
        &names,
    ))
}

pub async fn tail(store: &SessionStore, out: &Output, args: TailArgs) -> Result<(), Failure> {
    let client = client::open_with(store, args.loop_kind.mode())?;
    // A first sync is history, not news: store it before following.
    if !client::has_synced(&client)? {
        if uses_sliding(&client, args.loop_kind).await? {
            sliding_once(&client, out, false).await?;
        } else {
            sync_once(&client, out).await?;
        }
    }
    let only = match &args.room {
        Some(name) => Some(client::resolve(&client, name)?),
        None => None,
    };
    let mut watcher = client
        .watch_timeline(&watcher_name(only.as_ref().map(|r| r.as_str())))
        .map_err(|e| read_failure(&e))?;
    let sync = client.start_sync_loop();
    let shutdown = client::shutdown();
    tokio::pin!(shutdown);
    let mut check = tokio::time::interval(CHECK_EVERY);
    let mut outcome = Ok(());
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = check.tick() => if sync.is_finished() { break },
            // Cancel-safe: an event is committed only by the next call.
            event = watcher.next() => {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        outcome = Err(read_failure(&e));
                        break;
                    }
                };
                if only.as_ref().is_none_or(|o| *o == event.room_id) {
                    match shown(&client, &event) {
                        Ok(line) => print_event(out, &line),
                        Err(e) => {
                            outcome = Err(e);
                            break;
                        }
                    }
                }
            }
        }
    }
    // The last event printed is handled: commit it before exiting.
    let acked = watcher.ack().map_err(|e| read_failure(&e));
    let stopped = if sync.is_finished() {
        sync.join().await
    } else {
        sync.stop().await
    }
    .map_err(|e| client::failure("sync failed", &e));
    outcome.and(acked).and(stopped)
}

//! `quotient sync [--once]` and `quotient tail [ROOM]`: the sync loop
//! until Ctrl-C or SIGTERM, one batch, or new events as they come.

use std::collections::HashMap;
use std::time::Duration;

use quotient_client::sync::SyncChanges;
use quotient_client::Client;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::cli::{SyncArgs, TailArgs};
use crate::client::{self, read_failure};
use crate::commands::messages::{line, print_event, Names};
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
    let client = client::open(store)?;
    let first = sync_once(&client, out).await?;
    print_batch(out, &first);
    if args.once {
        return Ok(());
    }
    follow(&client, |change| match change {
        Ok(batch) => {
            if !batch.rooms.is_empty() || batch.new_timeline_events > 0 {
                print_batch(out, &batch);
            }
            Ok(())
        }
        // Fell behind: the store has it all; nothing to print.
        Err(_) => Ok(()),
    })
    .await
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

/// The highest stored timeline position of each room (new events come after).
fn last_positions(client: &Client) -> Result<HashMap<String, i64>, Failure> {
    let store = client.store().map_err(|e| read_failure(&e))?;
    let mut last = HashMap::new();
    for (room, _) in store.rooms().map_err(|e| read_failure(&e))? {
        let newest = store.timeline(&room, 1).map_err(|e| read_failure(&e))?;
        last.insert(room, newest.last().map_or(i64::MIN, |e| e.position));
    }
    Ok(last)
}

/// Prints the events stored in `room` after `last`, moving `last` on.
fn print_new(
    client: &Client,
    out: &Output,
    room: &str,
    last: &mut HashMap<String, i64>,
    at_most: usize,
) -> Result<(), Failure> {
    let store = client.store().map_err(|e| read_failure(&e))?;
    let after = last.get(room).copied().unwrap_or(i64::MIN);
    let events = store
        .timeline(room, at_most)
        .map_err(|e| read_failure(&e))?;
    let fresh: Vec<_> = events.iter().filter(|e| e.position > after).collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let names = Names::new(&store, room)?;
    let lines: Vec<_> = fresh.iter().map(|e| line(room, &e.json, &names)).collect();
    if let Some(newest) = fresh.last() {
        last.insert(room.to_owned(), newest.position);
    }
    drop(store);
    for l in &lines {
        print_event(out, l);
    }
    Ok(())
}

pub async fn tail(store: &SessionStore, out: &Output, args: TailArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    // A first sync is history, not news: store it before following.
    if !client::has_synced(&client)? {
        sync_once(&client, out).await?;
    }
    let only = match &args.room {
        Some(name) => Some(client::resolve(&client, name)?),
        None => None,
    };
    let mut last = last_positions(&client)?;
    follow(&client, |change| {
        let (rooms, at_most) = match change {
            Ok(batch) => {
                let n = usize::try_from(batch.new_timeline_events).unwrap_or(usize::MAX);
                (
                    batch.rooms.into_iter().collect::<Vec<_>>(),
                    n.saturating_add(1),
                )
            }
            // Fell behind: look at every room, further back.
            Err(_) => (last.keys().cloned().collect(), 1000),
        };
        for room in rooms {
            if only.as_ref().is_none_or(|o| *o == room) {
                print_new(&client, out, &room, &mut last, at_most)?;
            }
        }
        Ok(())
    })
    .await
}

//! `quotient room ROOM set-name|set-topic|set-avatar` and `quotient read
//! ROOM`, through `Room`.

use serde_json::json;

use crate::cli::{ReadArgs, RoomChange};
use crate::client::{self, failure, read_failure};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

/// `quotient room ROOM CHANGE`: one state event, through the outbox.
pub async fn change(
    store: &SessionStore,
    out: &Output,
    room: &str,
    change: RoomChange,
) -> Result<(), Failure> {
    let client = client::open(store)?;
    let room = client::room(&client, room)?;
    let _spin = out.spinner("changing the room");
    let (what, result) = match &change {
        RoomChange::SetName { name } => ("name", room.set_name(name).await),
        RoomChange::SetTopic { topic } => ("topic", room.set_topic(topic).await),
        RoomChange::SetAvatar { file } => ("avatar", room.set_avatar_file(file).await),
    };
    let event_id = result.map_err(|e| match e {
        quotient_client::Error::File { .. } => Failure::usage(e.to_string()),
        e => failure(&format!("setting the {what} failed"), &e),
    })?;
    drop(_spin);
    let id = room.id();
    out.print(
        json!({"room_id": id.as_str(), "event_id": event_id.as_str()}),
        || format!("Set the {what} of {id} ({event_id})"),
    );
    Ok(())
}

/// `quotient read ROOM`: a read receipt and the fully-read marker at the
/// newest stored event.
pub async fn read(store: &SessionStore, out: &Output, args: ReadArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    let room = client::room(&client, &args.room)?;
    let _spin = out.spinner("marking read");
    let read = room
        .mark_read()
        .await
        .map_err(|e| failure("marking the room read failed", &e))?;
    drop(_spin);
    let id = room.id();
    let name = room.display_name().map_err(|e| read_failure(&e))?;
    out.print(
        json!({"room_id": id.as_str(), "event_id": read.as_ref().map(|e| e.as_str())}),
        || match &read {
            Some(event) => format!("Read {name} up to {event}"),
            None => format!("Nothing to read in {name} (sync first?)"),
        },
    );
    Ok(())
}

//! S9's matrix-sdk 0.18 child: its bare `SlidingSync` API with one list of
//! the shape quotient's room list has (the 20 most recent rooms first,
//! then a window growing by 100 per response, one timeline event per room,
//! the same required state and extensions), on its SQLite stores with the
//! event cache on, as Element X runs it. A room's last message is what its
//! latest-event machinery (fed by the event cache) records in the room's
//! info; the bench waits for it as a room list would.

use std::future::ready;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{pin_mut, StreamExt};
use matrix_sdk::latest_events::LatestEventValue;
use matrix_sdk::ruma::events::StateEventType;
use matrix_sdk::ruma::OwnedRoomId;
use matrix_sdk::sliding_sync::{PollTimeout, Version};
use matrix_sdk::{SlidingSyncList, SlidingSyncListLoadingState, SlidingSyncMode};

use super::{expected_body, is_recent, Account, Clock, Outcome};

const LIST: &str = "all";

/// The state each room of the list comes with: quotient's list.
fn required_state() -> Vec<(StateEventType, String)> {
    let empty = |t: StateEventType| (t, String::new());
    vec![
        empty(StateEventType::RoomCreate),
        empty(StateEventType::RoomName),
        empty(StateEventType::RoomAvatar),
        empty(StateEventType::RoomTopic),
        empty(StateEventType::RoomCanonicalAlias),
        empty(StateEventType::RoomEncryption),
        empty(StateEventType::RoomJoinRules),
        empty(StateEventType::RoomHistoryVisibility),
        empty(StateEventType::RoomPowerLevels),
        empty(StateEventType::RoomTombstone),
        (StateEventType::RoomMember, "$ME".to_owned()),
        (StateEventType::RoomMember, "$LAZY".to_owned()),
    ]
}

/// The room's name, if its latest event is its expected last message.
fn shown(client: &matrix_sdk::Client, room: &OwnedRoomId) -> Option<String> {
    let room = client.get_room(room)?;
    let name = room.name()?;
    let LatestEventValue::Remote(event) = room.latest_event() else { return None };
    let content: serde_json::Value = event.raw().get_field("content").ok().flatten()?;
    let expected = expected_body(&name)?;
    (content["body"].as_str() == Some(expected.as_str())).then_some(name)
}

/// Waits until each of `rooms` shows its name and last message (the
/// latest-event values are computed in the background); `Err` after 120 s.
async fn wait_shown(client: &matrix_sdk::Client, rooms: &[OwnedRoomId], what: &str) -> Result<Vec<String>, String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut names = Vec::with_capacity(rooms.len());
    for room in rooms {
        loop {
            if let Some(name) = shown(client, room) {
                names.push(name);
                break;
            }
            if Instant::now() > deadline {
                let waiting = rooms.len() - names.len();
                return Err(format!("{what}: {waiting} of {} rooms without their name and last message after 120 s", rooms.len()));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    Ok(names)
}

pub async fn sliding(url: &str, account: &Account, dir: &Path) -> Result<Outcome, String> {
    let client = matrix_sdk::Client::builder().homeserver_url(url).sqlite_store(dir, None).build().await.map_err(|e| format!("client: {e}"))?;
    client.matrix_auth().login_username(&account.user, &account.password).initial_device_display_name("s9-matrix-sdk").send().await.map_err(|e| format!("login: {e}"))?;
    client.event_cache().subscribe().map_err(|e| format!("event cache: {e}"))?;
    // The first request asks for the 20 most recent rooms; no request of
    // this bench waits on the server (the list is done before it would).
    let list = SlidingSyncList::builder(LIST)
        .sync_mode(SlidingSyncMode::new_selective().add_range(0..=19))
        .timeline_limit(10)
        .required_state(required_state())
        .requires_timeout(|_| PollTimeout::None);
    let sync = client.sliding_sync("s9").map_err(|e| format!("sliding sync: {e}"))?.version(Version::Native).with_all_extensions().add_list(list).build().await.map_err(|e| format!("sliding sync: {e}"))?;

    let mut clock = Clock::start();
    let mut out = Outcome::default();
    let stream = sync.sync();
    pin_mut!(stream);
    let first = stream.next().await.ok_or("the sync stream ended")?.map_err(|e| format!("first response: {e}"))?;
    out.requests = 1;
    // A room can be named twice in the summary (from the response's rooms
    // and from the sync response made of it).
    let mut rooms = first.rooms;
    rooms.sort();
    rooms.dedup();
    let names = wait_shown(&client, &rooms, "after the first response").await?;
    (out.first_wall, out.first_cpu) = clock.read();
    clock.pause();
    let recent = names.iter().filter(|n| is_recent(n, account.rooms)).count();
    if rooms.len() != 20 || recent != 20 {
        return Err(format!("after the first response: {} rooms, {recent} of the 20 most recent", rooms.len()));
    }
    clock.resume();
    sync.on_list(LIST, |list| ready(list.set_sync_mode(SlidingSyncMode::new_growing(100)))).await;
    loop {
        stream.next().await.ok_or("the sync stream ended")?.map_err(|e| format!("response {}: {e}", out.requests + 1))?;
        out.requests += 1;
        if sync.on_list(LIST, |list| ready(list.state())).await == Some(SlidingSyncListLoadingState::FullyLoaded) {
            break;
        }
    }
    let rooms: Vec<OwnedRoomId> = client.joined_rooms().iter().map(|r| r.room_id().to_owned()).collect();
    let names = wait_shown(&client, &rooms, "at the end").await?;
    (out.all_wall, out.all_cpu) = clock.read();
    out.peak_kib = super::status_kib("VmHWM:");
    let recent = names.iter().filter(|n| is_recent(n, account.rooms)).count();
    if names.len() != account.rooms || recent != 20 {
        return Err(format!("at the end: {} rooms named with their last message, {recent} of the 20 most recent", names.len()));
    }
    out.rooms = names.len() as u64;
    out.store_bytes = super::dir_bytes(dir);
    drop(stream);
    client.matrix_auth().logout().await.map_err(|e| format!("logout: {e}"))?;
    Ok(out)
}

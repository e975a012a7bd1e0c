//! S9's quotient children: sliding sync (the room list from the 20 most
//! recent rooms, growing by 100 per response) and `/sync` v3 (one initial
//! sync), each into quotient-client's SQLite store.

use quotient_client::Client;

use super::{expected_body, is_recent, Account, Clock, Outcome};

/// Whether every room the store holds is named "Room NNNN" with its last
/// message as the newest event: (rooms that are, rooms stored, rooms among
/// the most recent 20 that are).
fn check(client: &Client, account: &Account) -> (usize, usize, usize) {
    let store = client.store().expect("store");
    let rooms = store.rooms().expect("rooms");
    let (mut good, mut recent) = (0, 0);
    for (room, _) in &rooms {
        let Some(name) = store.room_display_name(room).expect("room name") else { continue };
        let last = store.timeline(room, 1).expect("timeline");
        let body = last.last().filter(|e| e.json["type"] == "m.room.message").and_then(|e| e.json["content"]["body"].as_str().map(str::to_owned));
        if body.is_some() && body == expected_body(&name) {
            good += 1;
            if is_recent(&name, account.rooms) {
                recent += 1;
            }
        }
    }
    (good, rooms.len(), recent)
}

async fn sign_in(url: &str, account: &Account, dir: &std::path::Path, device: &str) -> (quotient::Connection, Client) {
    let conn = quotient::Connection::builder(url.parse().expect("url")).build().expect("connection");
    conn.login_with_password(&account.user, account.password.clone().into(), Some(device)).await.expect("login");
    let client = Client::open(dir, conn.clone()).expect("store");
    (conn, client)
}

/// Sliding sync: the first step, then steps until the window covers the
/// account.
pub async fn sliding(url: &str, account: &Account, dir: &std::path::Path) -> Result<Outcome, String> {
    let (conn, client) = sign_in(url, account, dir, "s9-quotient-sliding").await;
    let mut clock = Clock::start();
    let mut out = Outcome::default();
    let mut step = client.sliding_sync_once().await.map_err(|e| format!("first sliding-sync step: {e}"))?;
    out.requests = 1;
    (out.first_wall, out.first_cpu) = clock.read();
    clock.pause();
    let (good, stored, recent) = check(&client, account);
    if stored != 20 || recent != 20 || good != 20 {
        return Err(format!("after the first step: {stored} rooms stored, {good} named with their last message, {recent} of the 20 most recent"));
    }
    clock.resume();
    while !step.covers_all() {
        step = client.sliding_sync_once().await.map_err(|e| format!("sliding-sync step {}: {e}", out.requests + 1))?;
        out.requests += 1;
    }
    (out.all_wall, out.all_cpu) = clock.read();
    finish(conn, client, account, dir, out).await
}

/// `/sync` v3: one initial sync brings every room at once.
pub async fn v3(url: &str, account: &Account, dir: &std::path::Path) -> Result<Outcome, String> {
    let (conn, client) = sign_in(url, account, dir, "s9-quotient-v3").await;
    let clock = Clock::start();
    let mut out = Outcome::default();
    client.sync_once().await.map_err(|e| format!("initial sync: {e}"))?;
    out.requests = 1;
    (out.all_wall, out.all_cpu) = clock.read();
    (out.first_wall, out.first_cpu) = (out.all_wall, out.all_cpu);
    finish(conn, client, account, dir, out).await
}

/// Checks the whole account is stored, reads the peak, signs out (the
/// device goes, so devices do not pile up on the account across runs).
async fn finish(conn: quotient::Connection, client: Client, account: &Account, dir: &std::path::Path, mut out: Outcome) -> Result<Outcome, String> {
    out.peak_kib = super::status_kib("VmHWM:");
    let (good, stored, recent) = check(&client, account);
    if stored != account.rooms || good != account.rooms || recent != 20 {
        return Err(format!("at the end: {stored} rooms stored, {good} named with their last message, {recent} of the 20 most recent"));
    }
    out.rooms = good as u64;
    out.store_bytes = super::dir_bytes(dir);
    drop(client);
    conn.logout().await.map_err(|e| format!("logout: {e}"))?;
    Ok(out)
}

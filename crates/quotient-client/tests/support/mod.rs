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
    let deps = std::env::current_exe().unwrap();
    let bin = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/echo_bot");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p quotient-client --example echo_bot` first",
        bin.display()
    );
    bin
}

pub mod e2ee;
pub mod fault_front;
pub mod proxy;
pub mod stub;

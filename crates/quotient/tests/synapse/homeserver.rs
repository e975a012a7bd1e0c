//! Real Synapse servers for these tests, started by `scripts/homeserver`:
//! one per configuration per test run, stopped by a watchdog when this
//! process exits. Each test registers fresh users (Synapse allows one login
//! token per user per minute).
//!
//! Shared by the `synapse` and `conformance` test binaries (the latter
//! includes it with `#[path]`), so not every item is used by both.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use quotient::Connection;
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Config {
    /// Login tokens on, 5 minute lifetime.
    Default,
    /// Login tokens live 2 seconds.
    ShortTokens,
    /// `login_via_existing_session` switched off.
    NoLoginTokens,
    /// Uploads limited to 1 MiB (`--max-upload-size 1M`).
    SmallUploads,
    /// Access tokens from a login live 3 seconds, with a refresh token or
    /// without (`--refreshable-lifetime 3s`).
    ShortAccessTokens,
    /// `scripts/homeserver start --sso`: two OpenID Connect identity
    /// providers (`oidc-test`, `oidc-other`) on one real provider
    /// (scripts/oidc_provider.mjs, npm `oidc-provider`) on 127.0.0.1.
    Sso,
    /// `scripts/homeserver start --conformance`: open registration,
    /// presence, user directory, TURN, legacy media, higher rate limits.
    Conformance,
}

pub struct Homeserver {
    pub url: Url,
    pub dir: PathBuf,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start(config: Config) -> Homeserver {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("synapse-{config:?}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(root().join("scripts/homeserver"));
    cmd.arg("start")
        .arg(&dir)
        .args(["--watch-pid", &std::process::id().to_string()]);
    match config {
        Config::Default => {}
        Config::ShortTokens => {
            cmd.args(["--token-lifetime", "2s"]);
        }
        Config::NoLoginTokens => {
            cmd.arg("--no-login-token");
        }
        Config::SmallUploads => {
            cmd.args(["--max-upload-size", "1M"]);
        }
        Config::Conformance => {
            cmd.arg("--conformance");
        }
        Config::ShortAccessTokens => {
            cmd.args(["--refreshable-lifetime", "3s"]);
        }
        Config::Sso => {
            cmd.arg("--sso");
        }
    }
    let out = cmd.output().expect("scripts/homeserver can be run");
    assert!(
        out.status.success(),
        "scripts/homeserver could not start Synapse ({config:?}); these tests need it:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("url="))
        .unwrap_or_else(|| panic!("no url= in scripts/homeserver output:\n{stdout}"));
    Homeserver {
        url: url.parse().unwrap(),
        dir,
    }
}

pub fn homeserver(config: Config) -> &'static Homeserver {
    static DEFAULT: OnceLock<Homeserver> = OnceLock::new();
    static SHORT: OnceLock<Homeserver> = OnceLock::new();
    static OFF: OnceLock<Homeserver> = OnceLock::new();
    static CONFORMANCE: OnceLock<Homeserver> = OnceLock::new();
    static SMALL_UPLOADS: OnceLock<Homeserver> = OnceLock::new();
    static SHORT_ACCESS: OnceLock<Homeserver> = OnceLock::new();
    static SSO: OnceLock<Homeserver> = OnceLock::new();
    let cell = match config {
        Config::Default => &DEFAULT,
        Config::ShortTokens => &SHORT,
        Config::NoLoginTokens => &OFF,
        Config::Conformance => &CONFORMANCE,
        Config::SmallUploads => &SMALL_UPLOADS,
        Config::ShortAccessTokens => &SHORT_ACCESS,
        Config::Sso => &SSO,
    };
    cell.get_or_init(|| start(config))
}

pub struct User {
    pub localpart: String,
    pub user_id: String,
    pub password: String,
}

/// Registers a new user with a unique name through the shared-secret API.
pub fn fresh_user(hs: &Homeserver, prefix: &str) -> User {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let localpart = format!(
        "{prefix}{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let password = format!("pw-{localpart}-{}", fastrand::u32(..));
    let out = Command::new(root().join("scripts/homeserver"))
        .args(["register"])
        .arg(&hs.dir)
        .args([&localpart, &password])
        .output()
        .expect("scripts/homeserver register runs");
    assert!(
        out.status.success(),
        "registering {localpart} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("JSON from register");
    User {
        user_id: answer["user_id"].as_str().unwrap().to_owned(),
        localpart,
        password,
    }
}

impl Homeserver {
    pub fn connection(&self) -> Connection {
        Connection::builder(self.url.clone()).build().unwrap()
    }

    /// Synapse's request log (one line per request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("homeserver.log")).unwrap_or_default()
    }
}

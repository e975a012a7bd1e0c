//! `quotient login --sso` end to end: Synapse with two OpenID Connect
//! identity providers on a real provider (npm `oidc-provider`, started on
//! 127.0.0.1 by scripts/homeserver), and tests/sso_browser.py playing the
//! browser with plain HTTP (redirects, cookies, the provider's login and
//! consent forms). The round trip signs in; a callback with a forged state
//! is refused and its token left unused; nothing within the timeout exits
//! with a clear message; the listener is on 127.0.0.1 only.
//!
//! Run with `cargo test -p quotient-cli --test sso` (one process).

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};

use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, login, quotient, stderr, store};

/// `quotient --store S --json login --homeserver HS --sso ARGS…`, running
/// with no browser to open.
struct SsoRun {
    child: Child,
    err: BufReader<ChildStderr>,
}

/// Starts the login and returns it with the URL it printed.
fn start_sso(store: &Path, extra: &[&str]) -> (SsoRun, url::Url) {
    let hs = homeserver(Config::Sso).url.to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quotient"))
        .arg("--store")
        .arg(store)
        .args(["--json", "login", "--homeserver", &hs, "--sso"])
        .args(extra)
        .env_remove("BROWSER")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        // Everything logged, to show no token is.
        .env("RUST_LOG", "trace")
        .arg("-vv")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = BufReader::new(child.stderr.take().unwrap());
    let mut run = SsoRun { child, err };
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if run.err.read_line(&mut line).unwrap_or(0) == 0 {
            let (code, _, rest) = run.finish();
            panic!("no URL printed (exit {code}): {seen}{rest}");
        }
        seen += &line;
        if let Some(url) = line
            .trim()
            .strip_prefix("Open this page in a browser to sign in: ")
        {
            return (run, url.parse().unwrap());
        }
    }
}

impl SsoRun {
    /// Waits for the exit: the code, stdout and the rest of stderr.
    fn finish(mut self) -> (i32, String, String) {
        let mut rest = String::new();
        let _ = self.err.read_to_string(&mut rest);
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        let status = self.child.wait().unwrap();
        (status.code().unwrap_or(-1), out, rest)
    }
}

/// The loopback callback the server will send the browser back to.
fn callback(url: &url::Url) -> url::Url {
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirectUrl")
        .expect("redirectUrl")
        .1;
    redirect.parse().unwrap()
}

/// A plain HTTP GET to the loopback listener: status line and body.
fn get(url: &url::Url) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", url.port().unwrap())).unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap_or(""));
    write!(stream, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// The local addresses of listening TCP sockets on `port` (Linux).
fn listening_on(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let Some((addr, hex_port)) = cols.get(1).and_then(|a| a.rsplit_once(':')) else {
                continue;
            };
            if cols.get(3) == Some(&"0A") && u16::from_str_radix(hex_port, 16) == Ok(port) {
                found.push(addr.to_owned());
            }
        }
    }
    found
}

#[test]
fn the_round_trip_through_the_provider_signs_in_on_a_loopback_only_listener() {
    let s = store("sso");
    let name = format!("sso{}", std::process::id());
    let (run, url) = start_sso(&s, &["--idp", "oidc-test"]);
    assert!(
        url.path().ends_with("/login/sso/redirect/oidc-test"),
        "{url}"
    );
    let cb = callback(&url);
    assert_eq!(cb.host_str(), Some("127.0.0.1"), "{cb}");
    // 127.0.0.1 (0100007F) and nothing else: not 0.0.0.0, not IPv6.
    assert_eq!(listening_on(cb.port().unwrap()), ["0100007F"]);

    // A spare connection that sends nothing, as browsers open: it must not
    // hold the callback up (the suite would then take 10 s longer).
    let _idle = TcpStream::connect(("127.0.0.1", cb.port().unwrap())).unwrap();
    let started = std::time::Instant::now();
    let browser = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sso_browser.py"))
        .arg(url.as_str())
        .arg(&name)
        .output()
        .expect("python3 runs");
    let page = String::from_utf8_lossy(&browser.stdout);
    assert!(
        page.starts_with("200\n"),
        "{page}\n{}",
        String::from_utf8_lossy(&browser.stderr)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "the idle connection held the sign-in up: {:?}",
        started.elapsed()
    );
    let user_id = format!("@{name}:localhost");
    assert!(page.contains(&format!("Signed in as {user_id}")), "{page}");

    let (code, out, rest) = run.finish();
    assert_eq!(code, 0, "{rest}");
    let session: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(session["user_id"], user_id.as_str());
    assert!(
        !rest.contains("loginToken="),
        "the token is not printed: {rest}"
    );
    assert_eq!(
        json(&quotient(&s, &["--json", "whoami"], ""))["user_id"],
        user_id.as_str()
    );
    // One callback served: the listener is closed.
    assert!(TcpStream::connect(("127.0.0.1", cb.port().unwrap())).is_err());
}

#[test]
fn a_forged_state_is_refused_and_nothing_within_the_timeout_exits_clearly() {
    // A real login token of someone else, as a login-CSRF attacker has.
    let hs = homeserver(Config::Sso);
    let victim_of_csrf = fresh_user(hs, "csrf");
    let attacker = store("sso-attacker");
    login(&attacker, Config::Sso, &victim_of_csrf);
    let minted = json(&quotient(
        &attacker,
        &["--json", "login-token", "--password-stdin"],
        &format!("{}\n", victim_of_csrf.password),
    ));
    let token = minted["login_token"].as_str().unwrap().to_owned();

    let s = store("sso-forged");
    let (run, url) = start_sso(&s, &["--sso-timeout", "3"]);
    let mut forged = callback(&url);
    forged.set_query(Some(&format!("state=0123456789abcdef&loginToken={token}")));
    let answer = get(&forged);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Sign-in refused"), "{answer}");
    let mut stateless = callback(&url);
    stateless.set_query(Some(&format!("loginToken={token}")));
    assert!(get(&stateless).starts_with("HTTP/1.1 400"));

    let (code, _, rest) = run.finish();
    assert_eq!(code, 6, "{rest}");
    assert!(rest.contains("did not come back within 3 s"), "{rest}");
    assert!(!s.join("session.json").exists());
    assert!(!rest.contains(&token));
    // The forged token was never used: it still signs in.
    let other = store("sso-token-unused");
    let url = hs.url.to_string();
    let out = quotient(
        &other,
        &["--json", "login", "--homeserver", &url, "--token-stdin"],
        &token,
    );
    assert_eq!(json(&out)["user_id"], victim_of_csrf.user_id.as_str());
}

#[test]
fn an_unknown_identity_provider_is_refused_with_the_list() {
    let hs = homeserver(Config::Sso).url.to_string();
    let out = quotient(
        &store("sso-idp"),
        &["login", "--homeserver", &hs, "--sso", "--idp", "nope"],
        "",
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("oidc-test (Test OIDC), oidc-other (Other OIDC)"),
        "{}",
        stderr(&out)
    );
}

//! The `quotient` binary end to end against real Synapse servers.
//!
//! Run with `cargo test -p quotient-cli --test cli` (one process shares
//! the servers); `scripts/test` does.

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use support::homeserver::{fresh_user, homeserver, Config};
use support::{code, json, login, quotient, quotient_with, stderr, store};

#[test]
fn handoff_between_two_stores() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "cli");
    let (a, b, c) = (store("a"), store("b"), store("c"));
    let signed_in = login(&a, Config::Default, &user);
    assert_eq!(signed_in["user_id"], user.user_id);
    assert!(signed_in["device_id"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(signed_in["homeserver"], hs.url.to_string());

    // Owner-only session file in an owner-only directory.
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&a), 0o700);
    assert_eq!(mode(&a.join("session.json")), 0o600);

    let token = json(&quotient(
        &a,
        &["--json", "login-token", "--password-stdin"],
        &format!("{}\n", user.password),
    ));
    let login_token = token["login_token"].as_str().unwrap().to_owned();
    assert!(token["expires_in_ms"].as_u64().unwrap() > 60_000);
    let expires_at = token["expires_at"].as_str().unwrap();
    assert!(
        humantime::parse_rfc3339(expires_at).is_ok(),
        "RFC 3339: {expires_at}"
    );

    let url = hs.url.to_string();
    let b_login = json(&quotient(
        &b,
        &["--json", "login", "--homeserver", &url, "--token-stdin"],
        &login_token,
    ));
    assert_eq!(b_login["user_id"], user.user_id);
    assert_ne!(b_login["device_id"], signed_in["device_id"]);
    let who_a = json(&quotient(&a, &["--json", "whoami"], ""));
    let who_b = json(&quotient(&b, &["--json", "whoami"], ""));
    assert_eq!(who_a["user_id"], who_b["user_id"]);
    assert_ne!(who_a["device_id"], who_b["device_id"]);

    // The token is single-use: exit 4, with the server's words.
    let reused = quotient(
        &c,
        &["login", "--homeserver", &url, "--token-stdin"],
        &login_token,
    );
    assert_eq!(code(&reused), 4, "{}", stderr(&reused));
    assert!(
        stderr(&reused).contains("M_FORBIDDEN"),
        "{}",
        stderr(&reused)
    );
    assert!(
        !stderr(&reused).contains(&login_token),
        "the token is not echoed"
    );

    // A second token within the minute: exit 5 and when to come back.
    let again = quotient(
        &a,
        &["--json", "login-token", "--password-stdin"],
        &format!("{}\n", user.password),
    );
    assert_eq!(code(&again), 5, "{}", stderr(&again));
    assert!(
        stderr(&again).contains("next login token can be had in"),
        "{}",
        stderr(&again)
    );

    // Logout invalidates B's token and forgets B's session.
    let out = quotient(&b, &["--json", "logout"], "");
    assert_eq!(json(&out)["logged_out"], true);
    assert!(!b.join("session.json").exists());
    let after = quotient(&b, &["whoami"], "");
    assert_eq!(code(&after), 7, "{}", stderr(&after));
    // A is untouched.
    assert_eq!(
        json(&quotient(&a, &["--json", "whoami"], ""))["user_id"],
        user.user_id
    );
}

#[test]
fn exit_codes() {
    let hs = homeserver(Config::Default);
    let url = hs.url.to_string();
    let user = fresh_user(hs, "codes");
    let s = store("codes");

    // 2: usage and invalid input.
    for args in [
        vec![
            "login",
            "--homeserver",
            "notaurl",
            "--user",
            "x",
            "--password-stdin",
        ],
        vec!["login", "--user", "not-a-user-id", "--password-stdin"],
        vec!["api", "FETCH", "/x"],
        vec!["frobnicate"],
    ] {
        let out = quotient(&s, &args, "pw\n");
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
    // 7: not signed in.
    for args in [
        vec!["whoami"],
        vec!["logout"],
        vec!["login-token", "--password-stdin"],
    ] {
        let out = quotient(&s, &args, "");
        assert_eq!(code(&out), 7, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("quotient login"),
            "says what to do: {}",
            stderr(&out)
        );
    }
    // A store directory others can read is refused, not silently used.
    let open_store = store("open");
    std::fs::create_dir_all(&open_store).unwrap();
    std::fs::set_permissions(&open_store, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = quotient(
        &open_store,
        &[
            "login",
            "--homeserver",
            &url,
            "--user",
            &user.localpart,
            "--password-stdin",
        ],
        &format!("{}\n", user.password),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod 700"), "{}", stderr(&out));
    assert!(!open_store.join("session.json").exists());
    // 4: wrong password.
    let out = quotient(
        &s,
        &[
            "login",
            "--homeserver",
            &url,
            "--user",
            &user.localpart,
            "--password-stdin",
        ],
        "wrong\n",
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("quotient: login failed:") && stderr(&out).lines().count() == 1,
        "{}",
        stderr(&out)
    );
    // 6: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = quotient(
        &s,
        &[
            "server",
            "--homeserver",
            &format!("http://127.0.0.1:{port}"),
        ],
        "",
    );
    assert_eq!(code(&out), 6, "{}", stderr(&out));

    login(&s, Config::Default, &user);
    // 2: logging into a store with a live session needs --force.
    let out = quotient(
        &s,
        &[
            "login",
            "--homeserver",
            &url,
            "--user",
            &user.localpart,
            "--password-stdin",
        ],
        &format!("{}\n", user.password),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"));
    let out = quotient(
        &s,
        &[
            "--json",
            "login",
            "--force",
            "--homeserver",
            &url,
            "--user",
            &user.localpart,
            "--password-stdin",
        ],
        &format!("{}\n", user.password),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // 4: a wrong password at the UIA prompt of login-token.
    let out = quotient(&s, &["login-token", "--password-stdin"], "wrong\n");
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Invalid"),
        "the server's message: {}",
        stderr(&out)
    );
    // 1: anything else (a 404 from the server).
    let out = quotient(
        &s,
        &["api", "GET", "/_matrix/client/v3/profile/@nobody:localhost"],
        "",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("HTTP 404") && stderr(&out).contains("the server says"),
        "{}",
        stderr(&out)
    );

    // 3: the server does not allow login tokens.
    let off = homeserver(Config::NoLoginTokens);
    let off_user = fresh_user(off, "codesoff");
    let s2 = store("off");
    login(&s2, Config::NoLoginTokens, &off_user);
    let out = quotient(
        &s2,
        &["login-token", "--password-stdin"],
        &format!("{}\n", off_user.password),
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("m.get_login_token"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn server_api_and_help() {
    let hs = homeserver(Config::Default);
    let url = hs.url.to_string();
    let s = store("server");
    let facts = json(&quotient(
        &s,
        &["--json", "server", "--homeserver", &url],
        "",
    ));
    assert!(facts["versions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == "v1.7"));
    assert!(facts["unstable_features"]["org.matrix.msc3882"].is_boolean());
    let flows = facts["login_flows"].as_array().unwrap();
    assert!(flows
        .iter()
        .any(|f| f["type"] == "m.login.token" && f["get_login_token"] == true));
    assert!(facts["capabilities"].is_null(), "not signed in");

    let user = fresh_user(hs, "api");
    login(&s, Config::Default, &user);
    let facts = json(&quotient(&s, &["--json", "server"], ""));
    assert_eq!(facts["capabilities"]["m.get_login_token"]["enabled"], true);

    let who = json(&quotient(
        &s,
        &["api", "GET", "/_matrix/client/v3/account/whoami"],
        "",
    ));
    assert_eq!(who["user_id"], user.user_id);
    let body = format!("{{\"displayname\": \"CLI {}\"}}", user.localpart);
    let path = format!("/_matrix/client/v3/profile/{}/displayname", user.user_id);
    let out = quotient(
        &s,
        &["api", "PUT", &path, "--body", "-", "--timeout", "10"],
        &body,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let name = json(&quotient(&s, &["api", "GET", &path], ""));
    assert_eq!(name["displayname"], format!("CLI {}", user.localpart));
    let out = quotient(
        &s,
        &[
            "api",
            "POST",
            "/_matrix/client/v3/createRoom",
            "--body",
            "{not json",
        ],
        "",
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    let list = json(&quotient(&s, &["--json", "api", "list"], ""));
    assert_eq!(list.as_array().unwrap().len(), 166);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|op| op["operation_id"] == "generateLoginToken" && op["added_in"] == "1.7"));

    let help = quotient(&s, &["--help"], "");
    let text = String::from_utf8_lossy(&help.stdout);
    for code in ["0  success", "5  rate limited", "7  not signed in"] {
        assert!(text.contains(code), "--help documents exit codes: {text}");
    }
}

#[test]
fn pseudo_terminal_prompt_qr_and_countdown() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "pty");
    let s = store("pty");
    login(&s, Config::Default, &user);
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pty_login_token.py"))
        .arg(&user.password)
        .arg(env!("CARGO_BIN_EXE_quotient"))
        .arg("--store")
        .arg(&s)
        .arg("login-token")
        .output()
        .expect("python3 runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{screen}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(screen.contains("Password for"), "{screen}");
    assert!(
        !screen.contains(&user.password),
        "the password is not echoed:\n{screen}"
    );
    assert!(
        screen.contains("Login token (single use): syl_"),
        "{screen}"
    );
    assert!(
        screen.contains(
            "Sign-in URI (homeserver and token): matrix-login-token:?hs=http%3A%2F%2F127.0.0.1%3A"
        ),
        "{screen}"
    );
    let blocks = screen
        .chars()
        .filter(|c| matches!(c, '█' | '▀' | '▄'))
        .count();
    assert!(
        blocks > 100,
        "a QR code is drawn ({blocks} block characters):\n{screen}"
    );
    assert!(
        screen.contains("Expires in 4:5") || screen.contains("Expires in 5:00"),
        "a live countdown:\n{screen}"
    );
}

/// The handoff with `-vv` and `RUST_LOG=trace`: no password, access token
/// or login token on stderr, and none on stdout except the minted token
/// where it was asked for.
#[test]
fn verbose_runs_leak_no_secrets() {
    let hs = homeserver(Config::Default);
    let url = hs.url.to_string();
    let user = fresh_user(hs, "verbose");
    let (a, b) = (store("va"), store("vb"));
    let run = |store: &Path, args: &[&str], stdin: &str| {
        let mut verbose = Command::new(env!("CARGO_BIN_EXE_quotient"));
        verbose.env("RUST_LOG", "trace").arg("-vv");
        quotient_with(verbose, store, args, stdin)
    };
    let pw = format!("{}\n", user.password);
    let mut outputs = vec![run(
        &a,
        &[
            "login",
            "--homeserver",
            &url,
            "--user",
            &user.localpart,
            "--password-stdin",
        ],
        &pw,
    )];
    let minted = run(&a, &["--json", "login-token", "--password-stdin"], &pw);
    assert_eq!(code(&minted), 0, "{}", stderr(&minted));
    let token: serde_json::Value = serde_json::from_slice(&minted.stdout).unwrap();
    let token = token["login_token"].as_str().unwrap().to_owned();
    outputs.push(run(
        &b,
        &["login", "--homeserver", &url, "--token-stdin"],
        &token,
    ));
    let access = |s: &Path| {
        let session: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s.join("session.json")).unwrap()).unwrap();
        session["access_token"].as_str().unwrap().to_owned()
    };
    let (access_a, access_b) = (access(&a), access(&b));
    outputs.push(run(&b, &["whoami"], ""));
    outputs.push(run(
        &a,
        &["api", "GET", "/_matrix/client/v3/account/whoami"],
        "",
    ));
    outputs.push(run(&b, &["logout"], ""));
    outputs.push(run(&a, &["logout"], ""));
    let all_stderr: String = outputs.iter().chain([&minted]).map(stderr).collect();
    assert!(
        all_stderr.contains("TRACE") || all_stderr.contains("DEBUG"),
        "verbose logs were written:\n{all_stderr}"
    );
    for secret in [user.password.as_str(), &access_a, &access_b, &token] {
        assert!(
            !all_stderr.contains(secret),
            "a secret on stderr:\n{all_stderr}"
        );
        for out in &outputs {
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(secret),
                "a secret on stdout"
            );
        }
    }
    for out in &outputs {
        assert_eq!(code(out), 0, "{}", stderr(out));
    }
}

/// A misbehaving "server" on 127.0.0.1, one thread per connection.
fn bad_server(behaviour: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                match behaviour {
                    "close" => {}
                    "html" => {
                        let body = "<html><body>Welcome to my blog</body></html>";
                        let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                    }
                    _ => {
                        // One byte every 200 ms: technically alive, uselessly slow.
                        let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n";
                        for byte in answer.bytes().chain(std::iter::repeat(b' ')) {
                            if stream.write_all(&[byte]).is_err() {
                                return;
                            }
                            std::thread::sleep(std::time::Duration::from_millis(200));
                        }
                    }
                }
            });
        }
    });
    url
}

#[test]
fn bad_servers_and_bad_input_fail_cleanly_and_in_time() {
    let s = store("bad");
    let timed = |args: &[&str], stdin: &str| {
        let start = std::time::Instant::now();
        let out = quotient(&s, args, stdin);
        (out, start.elapsed())
    };
    // A server that closes every connection: network failure, in seconds.
    let url = bad_server("close");
    let (out, took) = timed(&["server", "--homeserver", &url], "");
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(took.as_secs() < 15, "took {took:?}");
    // A non-Matrix server answering HTML 200.
    let url = bad_server("html");
    let (out, _) = timed(
        &[
            "login",
            "--homeserver",
            &url,
            "--user",
            "alice",
            "--password-stdin",
        ],
        "pw\n",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Matrix homeserver"),
        "{}",
        stderr(&out)
    );
    let (out, _) = timed(&["server", "--homeserver", &url], "");
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("Matrix homeserver"),
        "{}",
        stderr(&out)
    );
    // A server that drips bytes: --timeout bounds the whole call.
    let url = bad_server("drip");
    let (out, took) = timed(
        &[
            "api",
            "GET",
            "/_matrix/client/versions",
            "--homeserver",
            &url,
            "--timeout",
            "2",
        ],
        "",
    );
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    assert!(took.as_secs() < 6, "took {took:?}");
    // Malformed input.
    for (args, stdin) in [
        (
            vec![
                "login",
                "--homeserver",
                "http://",
                "--user",
                "a",
                "--password-stdin",
            ],
            "pw\n",
        ),
        (
            vec![
                "login",
                "--homeserver",
                "matrix.org",
                "--user",
                "a",
                "--password-stdin",
            ],
            "pw\n",
        ),
        (
            vec![
                "login",
                "--homeserver",
                "http://matrix.org",
                "--user",
                "a",
                "--password-stdin",
            ],
            "pw\n",
        ),
        (
            vec!["login", "--user", "@:nope", "--password-stdin"],
            "pw\n",
        ),
        (
            vec!["login", "--user", "@a:bad host", "--password-stdin"],
            "pw\n",
        ),
        (
            vec![
                "login",
                "--homeserver",
                "http://127.0.0.1:9",
                "--token-stdin",
            ],
            "   \n",
        ),
        (
            vec![
                "login",
                "--homeserver",
                "http://127.0.0.1:9",
                "--user",
                "a",
                "--password-stdin",
            ],
            "",
        ),
        (
            vec![
                "api",
                "GET",
                "no-slash",
                "--homeserver",
                "http://127.0.0.1:9",
            ],
            "",
        ),
        (
            vec![
                "api",
                "GET",
                "/x",
                "--homeserver",
                "http://127.0.0.1:9",
                "--timeout=-1",
            ],
            "",
        ),
    ] {
        let out = quotient(&s, &args, stdin);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("quotient: ") && stderr(&out).lines().count() == 1,
            "one line: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"));
    }
    // Plain http to a non-loopback host is refused unless explicitly allowed
    // (then it fails later, for want of a server, not at the check).
    let out = quotient(&s, &["server", "--homeserver", "http://192.0.2.1:8008"], "");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("unencrypted"), "{}", stderr(&out));
}

#[test]
fn upload_and_download_through_the_cli() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "clim");
    let store = store("media");
    login(&store, Config::Default, &user);
    let dir = store.with_extension("files");
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let source = dir.join("photo.jpeg");
    std::fs::write(&source, &data).unwrap();

    let uploaded = json(&quotient(
        &store,
        &["--json", "upload", source.to_str().unwrap()],
        "",
    ));
    let uri = uploaded["content_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("mxc://localhost/"), "{uploaded}");
    assert_eq!(uploaded["size"], data.len());
    assert_eq!(uploaded["content_type"], "image/jpeg");

    // Text mode prints just the URI; the type can be given.
    let out = quotient(
        &store,
        &[
            "upload",
            source.to_str().unwrap(),
            "--content-type",
            "application/x-test",
        ],
        "",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let second = String::from_utf8(out.stdout).unwrap();
    assert!(second.trim().starts_with("mxc://"), "{second}");

    // To a file, with --json.
    let target = dir.join("copy.jpeg");
    let saved = json(&quotient(
        &store,
        &["--json", "download", &uri, "-o", target.to_str().unwrap()],
        "",
    ));
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(saved["size"], data.len());
    assert_eq!(saved["content_type"], "image/jpeg");

    // To stdout, which is a pipe here: the bytes and nothing else.
    let out = quotient(&store, &["download", &uri], "");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout == data, "stdout is not the media");
    let out = quotient(&store, &["download", second.trim()], "");
    assert_eq!(out.stdout, data);

    // Usage errors: not a content URI; --json without -o.
    let out = quotient(&store, &["download", "https://example.org/x"], "");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a content URI"),
        "{}",
        stderr(&out)
    );
    let out = quotient(&store, &["--json", "download", &uri], "");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // A file that is not there.
    let out = quotient(&store, &["upload", dir.join("nope").to_str().unwrap()], "");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot open"), "{}", stderr(&out));
}

#[test]
fn an_upload_over_the_limit_exits_3_before_sending() {
    let hs = homeserver(Config::SmallUploads);
    let user = fresh_user(hs, "clibig");
    let store = store("media-limit");
    login(&store, Config::SmallUploads, &user);
    let big = store.with_extension("big.bin");
    std::fs::write(&big, vec![1u8; 3 << 20]).unwrap();
    let out = quotient(&store, &["upload", big.to_str().unwrap()], "");
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("3145728 bytes") && err.contains("1048576 bytes"),
        "{err}"
    );
    assert!(!hs.log().contains("/_matrix/media/v3/upload"));
}

#[test]
fn download_refuses_to_write_media_to_a_terminal() {
    // A pseudo-terminal for the CLI's stdout: the bytes of an image must
    // not be thrown at it. Refused before any store or network is used.
    let script = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
while True:
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let s = store("pty-download");
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(env!("CARGO_BIN_EXE_quotient"))
        .arg("--store")
        .arg(&s)
        .args(["download", "mxc://example.org/abc"])
        .output()
        .expect("python3 runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{screen}");
    assert!(
        screen.contains("refusing to write media to a terminal"),
        "{screen}"
    );
}

/// What `login-token` prints when piped is the matrix-login-token: URI;
/// fed to `login --token-stdin` on another store it signs in there with no
/// --homeserver. A --homeserver that disagrees with the URI is refused.
#[test]
fn the_printed_uri_signs_another_store_in_without_a_homeserver() {
    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "handoffuri");
    let (a, b, c) = (store("uri-a"), store("uri-b"), store("uri-c"));
    login(&a, Config::Default, &user);
    let minted = quotient(
        &a,
        &["login-token", "--password-stdin"],
        &format!("{}\n", user.password),
    );
    assert_eq!(code(&minted), 0, "{}", stderr(&minted));
    let printed = String::from_utf8_lossy(&minted.stdout).into_owned();
    let uri = printed.trim();
    assert_eq!(
        printed.lines().count(),
        1,
        "the URI alone on stdout: {printed}"
    );
    assert!(uri.starts_with("matrix-login-token:?hs="), "{uri}");
    assert!(
        stderr(&minted).contains("expires at"),
        "{}",
        stderr(&minted)
    );

    // A --homeserver that names another server: refused before any request,
    // without echoing the token.
    let other = quotient(
        &c,
        &[
            "login",
            "--homeserver",
            "http://127.0.0.1:9",
            "--token-stdin",
        ],
        uri,
    );
    assert_eq!(code(&other), 2, "{}", stderr(&other));
    assert!(
        stderr(&other).contains("leave out --homeserver"),
        "{}",
        stderr(&other)
    );
    let token = uri.rsplit("token=").next().unwrap();
    assert!(!stderr(&other).contains(token), "{}", stderr(&other));

    // The whole output piped in, no --homeserver: signed in as the same user.
    let b_login = json(&quotient(
        &b,
        &["--json", "login", "--token-stdin"],
        &printed,
    ));
    assert_eq!(b_login["user_id"], user.user_id);
    assert_eq!(b_login["homeserver"], hs.url.to_string());
    let who_b = json(&quotient(&b, &["--json", "whoami"], ""));
    assert_eq!(who_b["user_id"], user.user_id);

    // A bare token still needs to be told where.
    let bare = quotient(&c, &["login", "--token-stdin"], "syl_whatever");
    assert_eq!(code(&bare), 2, "{}", stderr(&bare));
    assert!(stderr(&bare).contains("--homeserver"), "{}", stderr(&bare));
    // A broken URI is a usage error that says what is missing.
    let broken = quotient(
        &c,
        &["login", "--token-stdin"],
        "matrix-login-token:?token=x",
    );
    assert_eq!(code(&broken), 2, "{}", stderr(&broken));
    assert!(stderr(&broken).contains("`hs`"), "{}", stderr(&broken));
}

//! No secret in any log line at any level, in errors or in body samples.

use std::io::Write;
use std::sync::{Arc, Mutex};

use quotient::{BackoffStrategy, JobOptions, RateLimitPolicy};
use serde_json::json;

use crate::support::*;

const ACCESS_TOKEN: &str = "syt_ACCESS_TOKEN_c0ffee";
const PASSWORD: &str = "PASSWORD_hunter2_c0ffee";
const BODY_SECRETS: [&str; 3] = [
    "LOGIN_TOKEN_c0ffee",
    "REFRESH_TOKEN_c0ffee",
    "ECHOED_PASSWORD_c0ffee",
];

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(what: &str, text: &str) {
    for secret in [ACCESS_TOKEN, PASSWORD].iter().chain(BODY_SECRETS.iter()) {
        assert!(!text.contains(secret), "{what} leaks {secret}:\n{text}");
    }
}

#[tokio::test]
async fn nothing_secret_reaches_trace_logs_errors_or_samples() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = FakeServer::start().await;
    let conn = server.connection();
    conn.set_access_token(Some(ACCESS_TOKEN.into()));
    let options = JobOptions {
        backoff: BackoffStrategy {
            max_retries: 1,
            retry_waits: vec![std::time::Duration::ZERO],
            ..Default::default()
        },
        rate_limit: RateLimitPolicy {
            max_wait: std::time::Duration::ZERO,
            max_rounds: 0,
        },
        ..Default::default()
    };
    // A UIA challenge that echoes secrets back, as a careless server might.
    server.push(
        SIGN_IN,
        Reply::json(
            401,
            json!({
                "flows": [{"stages": ["m.login.password"]}], "session": "s1",
                "errcode": "M_FORBIDDEN", "error": "Invalid password",
                "login_token": BODY_SECRETS[0], "refresh_token": BODY_SECRETS[1],
                "auth": {"password": BODY_SECRETS[2]},
            }),
        ),
    );
    // An HTML page echoing a URL with a token, then a rate limit.
    server.push(
        SIGN_IN,
        Reply::raw(
            502,
            "text/html",
            format!("<a href='/x?access_token={ACCESS_TOKEN}'>retry</a> password={PASSWORD}")
                .as_bytes(),
        ),
    );
    server.push(
        SIGN_IN,
        Reply::json(
            429,
            json!({"errcode": "M_LIMIT_EXCEEDED", "token": BODY_SECRETS[0]}),
        ),
    );
    server.push(SIGN_IN, Reply::Reset);

    let mut error_texts = Vec::new();
    for _ in 0..4 {
        let job = conn.submit_with(
            SignIn {
                password: PASSWORD.into(),
            },
            options.clone(),
        );
        error_texts.push(format!("{job:?}"));
        let err = job.await.unwrap_err();
        error_texts.push(format!(
            "{err}\n{err:?}\n{}",
            err.body_sample().unwrap_or("")
        ));
    }
    server.push(
        "/_matrix/client/v3/authed",
        Reply::json(200, json!({"ok": true, "access_token": ACCESS_TOKEN})),
    );
    let ok = conn.submit(AuthedGet::default()).await.unwrap();
    assert!(ok.ok);
    error_texts.push(format!("{conn:?}"));

    // The secrets did go where they belong: to the server.
    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {ACCESS_TOKEN}").as_str())
    );
    assert!(String::from_utf8_lossy(&requests[0].body).contains(PASSWORD));

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("signIn"),
        "the capture works and has the job span:\n{logs}"
    );
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"));
    assert_clean("the logs", &logs);
    for text in &error_texts {
        assert_clean("an error", text);
    }
    assert!(
        error_texts.iter().any(|t| t.contains("<redacted>")),
        "samples keep their shape"
    );
    assert!(
        !logs.contains("ERROR"),
        "an expected UIA 401 is not logged as an error:\n{logs}"
    );
}

#[test]
fn debug_output_of_public_types_hides_secrets() {
    use quotient::api::generated::login::{Login, LoginResponse};
    use quotient::api::generated::login_token::GenerateLoginTokenResponse;
    use quotient::api::AuthData;

    let session = quotient::Session {
        homeserver: "https://hs.example".parse().unwrap(),
        user_id: "@a:hs.example".parse().unwrap(),
        device_id: "D".into(),
        access_token: ACCESS_TOKEN.into(),
        refresh_token: Some(BODY_SECRETS[1].into()),
        soft_logout: false,
    };
    let mut login = Login::new("m.login.password".into());
    login.password = Some(PASSWORD.into());
    login.token = Some(BODY_SECRETS[0].into());
    let response: LoginResponse = serde_json::from_value(json!({
        "user_id": "@a:hs.example", "device_id": "D",
        "access_token": ACCESS_TOKEN, "refresh_token": BODY_SECRETS[1],
    }))
    .unwrap();
    let token: GenerateLoginTokenResponse =
        serde_json::from_value(json!({"login_token": BODY_SECRETS[0], "expires_in_ms": 1}))
            .unwrap();
    let login_token = quotient::LoginToken {
        token: BODY_SECRETS[0].into(),
        expires_in: std::time::Duration::from_secs(1),
        expires_at: std::time::SystemTime::now(),
    };
    let auth = AuthData::password("@a:hs.example", PASSWORD.into(), Some("s".into()));
    let handler = quotient::PasswordHandler::new("@a:hs.example", PASSWORD.into());
    let rendered = [
        format!("{session:?}"),
        format!("{login:?}"),
        format!("{response:?}"),
        format!("{token:?}"),
        format!("{login_token:?}"),
        format!("{auth:?}"),
        format!("{handler:?}"),
        format!(
            "{:?}",
            quotient::api::generated::login_token::GenerateLoginToken {
                auth: Some(auth.clone())
            }
        ),
    ];
    for text in &rendered {
        assert_clean("a Debug rendering", text);
    }
    // The secrets are still there for the wire.
    assert!(serde_json::to_string(&auth).unwrap().contains(PASSWORD));
}

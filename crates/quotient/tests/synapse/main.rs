//! Sign-in and the login-token handoff against a real Synapse.
//!
//! Run with `cargo test -p quotient --test synapse` (one process, so the
//! servers are shared); `scripts/test` does.

mod homeserver;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config};
use quotient::api::ErrorCode;
use quotient::store::{load_session, save_session};
use quotient::{Connection, PasswordHandler, StatusCode, UiaAnswer, UiaHandler, UiaStep};

/// Signs a fresh user in on a new connection.
async fn signed_in(config: Config, prefix: &str) -> (Connection, homeserver::User) {
    let hs = homeserver(config);
    let user = fresh_user(hs, prefix);
    let conn = hs.connection();
    conn.login_with_password(
        &user.user_id,
        user.password.clone().into(),
        Some("device A"),
    )
    .await
    .expect("password login");
    (conn, user)
}

#[tokio::test]
async fn server_facts() {
    let hs = homeserver(Config::Default);
    let conn = hs.connection();
    let versions = conn.versions().await.unwrap();
    assert!(versions.supports("v1.7"));
    let flows = conn.login_flows().await.unwrap();
    assert!(flows.has("m.login.password"));
    assert!(conn.login_token_supported().await.unwrap());
    assert!(!homeserver(Config::NoLoginTokens)
        .connection()
        .login_token_supported()
        .await
        .unwrap());
    let disco = quotient::server::Discovery {
        insecure_http: true,
        ..Default::default()
    };
    assert_eq!(disco.check(hs.url.clone()).await.unwrap(), hs.url);
}

#[tokio::test]
async fn full_handoff_to_a_second_device() {
    let (a, user) = signed_in(Config::Default, "handoff").await;
    let mut handler = PasswordHandler::new(&user.user_id, user.password.clone().into());
    let token = a
        .generate_login_token(&mut handler)
        .await
        .expect("token with UIA");
    assert!(
        token.expires_in > Duration::from_secs(60) && token.expires_in <= Duration::from_secs(300)
    );

    let b = homeserver(Config::Default).connection();
    let session_b = b
        .login_with_token(token.token.clone(), Some("device B"))
        .await
        .expect("token login");
    let who = b.whoami().await.unwrap();
    assert_eq!(who.user_id.as_str(), user.user_id);
    assert_eq!(session_b.user_id.as_str(), user.user_id);
    let device_a = a.session().unwrap().device_id;
    assert_ne!(
        who.device_id.as_deref(),
        Some(device_a.as_str()),
        "B has a new device"
    );

    // Single use: the same token again is refused.
    let c = homeserver(Config::Default).connection();
    let err = c.login_with_token(token.token, None).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::ContentAccessError);
    assert_eq!(err.errcode(), Some(&ErrorCode::Forbidden));
    assert!(!c.has_access_token());
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let (a, user) = signed_in(Config::ShortTokens, "expiry").await;
    let mut handler = PasswordHandler::new(&user.user_id, user.password.clone().into());
    let token = a.generate_login_token(&mut handler).await.unwrap();
    assert_eq!(token.expires_in, Duration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let err = homeserver(Config::ShortTokens)
        .connection()
        .login_with_token(token.token, None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::ContentAccessError);
    assert_eq!(err.errcode(), Some(&ErrorCode::Forbidden));
}

/// Answers a wrong password first, then the right one, and records what
/// the server said in between.
struct TwoTries {
    user: String,
    right: String,
    seen_errors: Vec<Option<String>>,
}

impl UiaHandler for TwoTries {
    fn supports(&self, stage: &str) -> bool {
        stage == "m.login.password"
    }

    async fn answer(&mut self, step: &UiaStep<'_>) -> UiaAnswer {
        self.seen_errors
            .push(step.previous_error().map(str::to_owned));
        let password = if self.seen_errors.len() == 1 {
            "wrong".to_owned()
        } else {
            self.right.clone()
        };
        UiaAnswer::Stage(quotient::api::AuthData::password(
            &self.user,
            password.into(),
            None,
        ))
    }
}

#[tokio::test]
async fn a_wrong_uia_password_comes_back_to_the_handler() {
    let (a, user) = signed_in(Config::Default, "wrongpw").await;
    let mut handler = TwoTries {
        user: user.user_id.clone(),
        right: user.password.clone(),
        seen_errors: vec![],
    };
    let token = a
        .generate_login_token(&mut handler)
        .await
        .expect("the second password works");
    assert!(!token.token.is_empty());
    assert_eq!(handler.seen_errors.len(), 2);
    assert_eq!(handler.seen_errors[0], None);
    let message = handler.seen_errors[1]
        .as_deref()
        .expect("the server's error reaches the handler");
    assert!(message.to_lowercase().contains("password"), "{message}");

    // The built-in handler gives up after a rejected password, clearly.
    let (a, user) = signed_in(Config::Default, "wrongpw2").await;
    let mut handler = PasswordHandler::new(&user.user_id, "not it".into());
    let err = a.generate_login_token(&mut handler).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::Unauthorised);
    assert!(err.message().contains("m.login.password"), "{err}");
    assert!(err.uia_challenge().is_some());
}

#[tokio::test]
async fn a_second_token_within_a_minute_is_rate_limited() {
    let (a, user) = signed_in(Config::Default, "ratelimit").await;
    let mut handler = PasswordHandler::new(&user.user_id, user.password.clone().into());
    a.generate_login_token(&mut handler).await.unwrap();
    let mut handler = PasswordHandler::new(&user.user_id, user.password.clone().into());
    let err = a.generate_login_token(&mut handler).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::TooManyRequests);
    let wait = err.retry_after().expect("the wait is reported");
    assert!(
        wait >= Duration::from_secs(1) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
}

#[tokio::test]
async fn the_feature_switched_off_is_refused_without_a_request() {
    let hs = homeserver(Config::NoLoginTokens);
    let (a, user) = signed_in(Config::NoLoginTokens, "off").await;
    let mut handler = PasswordHandler::new(&user.user_id, user.password.clone().into());
    let err = a.generate_login_token(&mut handler).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::ContentAccessError);
    assert!(err.message().contains("m.get_login_token"), "{err}");
    // Synapse logs every request; none went to get_token.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = hs.log();
    assert!(
        log.contains("/capabilities"),
        "the log records requests:\n{log}"
    );
    assert!(
        !log.contains("get_token"),
        "a get_token request was sent:\n{log}"
    );
}

#[tokio::test]
async fn a_saved_session_is_reloaded_and_used() {
    let (a, user) = signed_in(Config::Default, "saved").await;
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "sessions-{}/{}.json",
        std::process::id(),
        user.localpart
    ));
    save_session(&path, &a.session().unwrap()).unwrap();
    let loaded = load_session(&path).unwrap();
    let b = homeserver(Config::Default).connection();
    let restored = b.restore_session(loaded).await.unwrap();
    assert_eq!(restored.user_id.as_str(), user.user_id);
    assert_eq!(b.whoami().await.unwrap().user_id.as_str(), user.user_id);
}

#[tokio::test]
async fn assume_identity_checks_the_owner() {
    let (a, user) = signed_in(Config::Default, "owner").await;
    let session = a.session().unwrap();
    let other = fresh_user(homeserver(Config::Default), "other");
    let b = homeserver(Config::Default).connection();
    let err = b
        .assume_identity(
            other.user_id.parse().unwrap(),
            session.device_id.clone(),
            session.access_token.clone(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::Unauthorised);
    assert!(err.message().contains(&user.user_id), "{err}");
    assert!(
        !b.has_access_token(),
        "a refused identity leaves the connection signed out"
    );
    b.assume_identity(session.user_id, session.device_id, session.access_token)
        .await
        .unwrap();
}

#[tokio::test]
async fn logout_invalidates_the_token() {
    let (a, _user) = signed_in(Config::Default, "logout").await;
    let session = a.session().unwrap();
    a.logout().await.unwrap();
    assert!(a.session().is_none());
    let b = homeserver(Config::Default).connection();
    let err = b.restore_session(session).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::Unauthorised);
    assert_eq!(err.errcode(), Some(&ErrorCode::UnknownToken));
}

/// The whole handoff with every log line at TRACE captured: no password,
/// access token or login token may appear, nor in any error message.
#[tokio::test]
async fn no_secret_in_trace_logs_of_the_real_handoff() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let hs = homeserver(Config::Default);
    let user = fresh_user(hs, "hygiene");
    let a = hs.connection();
    let session_a = a
        .login_with_password(&user.user_id, user.password.clone().into(), None)
        .await
        .unwrap();
    // A wrong password first, so an error path is logged too.
    let mut wrong = PasswordHandler::new(&user.user_id, "wrong-password-x".into());
    let err = a.generate_login_token(&mut wrong).await.unwrap_err();
    let mut texts = vec![format!("{err}"), format!("{err:?}")];
    let mut handler = PasswordHandler::new(&user.user_id, user.password.clone().into());
    let token = a
        .generate_login_token_with(&mut handler, Default::default())
        .await;
    // Synapse counts only successful tokens against the per-minute limit.
    let token = token.unwrap();
    let b = hs.connection();
    let session_b = b.login_with_token(token.token.clone(), None).await.unwrap();
    let reuse = hs
        .connection()
        .login_with_token(token.token.clone(), None)
        .await
        .unwrap_err();
    texts.push(format!(
        "{reuse} {reuse:?} {token:?} {session_a:?} {session_b:?} {a:?} {b:?}"
    ));
    b.logout().await.unwrap();
    a.logout().await.unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("generateLoginToken") && logs.contains("TRACE"),
        "the capture works and has the job spans:\n{logs}"
    );
    let secrets = [
        user.password.as_str(),
        "wrong-password-x",
        session_a.access_token.expose(),
        session_b.access_token.expose(),
        token.token.expose(),
    ];
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "a secret is in the TRACE logs:\n{logs}"
        );
        for text in &texts {
            assert!(
                !text.contains(secret),
                "a secret is in an error or Debug text: {text}"
            );
        }
    }
}

//! Refresh tokens against a scripted server: an expired token is
//! refreshed once and the request resent with the new one, the new
//! session is stored before it is used, a refused refresh ends the
//! session, and no refresh token means a soft logout.

use std::sync::{Arc, Mutex};

use quotient::{Session, SessionUpdate, StatusCode};
use serde_json::json;

use crate::support::*;

const WHOAMI: &str = "/_matrix/client/v3/account/whoami";
const REFRESH: &str = "/_matrix/client/v3/refresh";

fn expired() -> Reply {
    Reply::json(
        401,
        json!({"errcode": "M_UNKNOWN_TOKEN", "error": "Access token has expired", "soft_logout": true}),
    )
}

fn owner() -> Reply {
    Reply::json(200, json!({"user_id": "@a:hs", "device_id": "DEV"}))
}

/// A connection signed in with `refresh`, and the updates its hook saw
/// (as "kind access refresh").
fn signed_in(
    server: &FakeServer,
    refresh: Option<&str>,
) -> (quotient::Connection, Arc<Mutex<Vec<String>>>) {
    signed_in_on(server.connection(), server, refresh)
}

/// [`signed_in`] on a connection built by the test.
fn signed_in_on(
    conn: quotient::Connection,
    server: &FakeServer,
    refresh: Option<&str>,
) -> (quotient::Connection, Arc<Mutex<Vec<String>>>) {
    conn.adopt_session(Session {
        refresh_token: refresh.map(Into::into),
        ..Session::new(
            server.url(),
            "@a:hs".parse().unwrap(),
            "DEV",
            "old_access".into(),
        )
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    conn.on_session_change(move |update| {
        let (kind, s) = match update {
            SessionUpdate::Refreshed(s) => ("refreshed", s),
            SessionUpdate::SoftLoggedOut(s) => ("soft", s),
            SessionUpdate::Ended(s) => ("ended", s),
            _ => return Ok(()),
        };
        let refresh = s.refresh_token.as_ref().map_or("-", |t| t.expose());
        log.lock().unwrap().push(format!(
            "{kind} {} {refresh} {}",
            s.access_token.expose(),
            s.soft_logout
        ));
        Ok(())
    });
    (conn, seen)
}

#[tokio::test]
async fn an_expired_token_is_refreshed_stored_first_and_the_request_resent_with_the_new_one() {
    let server = FakeServer::start().await;
    server.push(WHOAMI, expired()).push(WHOAMI, owner());
    server.push(
        REFRESH,
        Reply::json(200, json!({"access_token": "new_access", "refresh_token": "new_refresh", "expires_in_ms": 60000})),
    );
    let (conn, seen) = signed_in(&server, Some("old_refresh"));
    let owner = conn.whoami().await.unwrap();
    assert_eq!(owner.user_id.as_str(), "@a:hs");
    assert_eq!(
        *seen.lock().unwrap(),
        ["refreshed new_access new_refresh false"]
    );
    let requests = server.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(paths, [WHOAMI, REFRESH, WHOAMI]);
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer old_access")
    );
    // /refresh takes no access token, only the refresh token in its body.
    assert_eq!(requests[1].header("authorization"), None);
    let body: serde_json::Value = serde_json::from_slice(&requests[1].body).unwrap();
    assert_eq!(body, json!({"refresh_token": "old_refresh"}));
    assert_eq!(
        requests[2].header("authorization"),
        Some("Bearer new_access")
    );
    let session = conn.session().unwrap();
    assert_eq!(session.access_token.expose(), "new_access");
    assert_eq!(session.refresh_token.unwrap().expose(), "new_refresh");
}

#[tokio::test]
async fn a_token_refused_again_after_its_refresh_is_final() {
    let server = FakeServer::start().await;
    server.push(WHOAMI, expired()).push(WHOAMI, expired());
    server.push(
        REFRESH,
        Reply::json(
            200,
            json!({"access_token": "new_access", "refresh_token": "new_refresh"}),
        ),
    );
    let (conn, _) = signed_in(&server, Some("old_refresh"));
    let e = conn.whoami().await.unwrap_err();
    assert_eq!(e.status(), StatusCode::Unauthorised);
    assert!(e.soft_logout());
    assert_eq!(server.count(REFRESH), 1);
    assert_eq!(server.count(WHOAMI), 2);
}

#[tokio::test]
async fn a_refused_refresh_token_ends_the_session() {
    let server = FakeServer::start().await;
    server.push(WHOAMI, expired());
    server.push(
        REFRESH,
        Reply::json(401, json!({"errcode": "M_UNKNOWN_TOKEN", "error": "refresh token does not exist", "soft_logout": false})),
    );
    let (conn, seen) = signed_in(&server, Some("old_refresh"));
    let e = conn.whoami().await.unwrap_err();
    assert!(e.session_ended(), "{e:?}");
    assert_eq!(e.status(), StatusCode::Unauthorised);
    assert!(e.message().contains("signed out"), "{e}");
    assert_eq!(
        *seen.lock().unwrap(),
        ["ended old_access old_refresh false"]
    );
    assert!(!conn.has_access_token());
    // Later jobs fail at once, without asking the server.
    let e = conn.whoami().await.unwrap_err();
    assert_eq!(e.status(), StatusCode::Unauthorised);
    assert_eq!(server.count(WHOAMI), 1);
}

#[tokio::test]
async fn without_a_refresh_token_the_session_is_kept_and_marked_soft_logged_out() {
    let server = FakeServer::start().await;
    server.push(WHOAMI, expired()).push(WHOAMI, expired());
    let (conn, seen) = signed_in(&server, None);
    let e = conn.whoami().await.unwrap_err();
    assert!(e.soft_logout() && !e.session_ended(), "{e:?}");
    assert!(conn.is_soft_logged_out());
    assert!(conn.session().unwrap().soft_logout);
    // Told once, however many jobs meet the soft logout.
    let _ = conn.whoami().await.unwrap_err();
    assert_eq!(*seen.lock().unwrap(), ["soft old_access - true"]);
    assert_eq!(server.count(REFRESH), 0);
}

#[tokio::test]
async fn new_tokens_that_cannot_be_stored_are_not_used() {
    let server = FakeServer::start().await;
    server.push(WHOAMI, expired());
    server.push(
        REFRESH,
        Reply::json(
            200,
            json!({"access_token": "new_access", "refresh_token": "new_refresh"}),
        ),
    );
    let conn = server.connection();
    conn.adopt_session(Session {
        refresh_token: Some("old_refresh".into()),
        ..Session::new(
            server.url(),
            "@a:hs".parse().unwrap(),
            "DEV",
            "old_access".into(),
        )
    });
    conn.on_session_change(|_| Err(quotient::Error::new(StatusCode::FileError, "disk full")));
    let e = conn.whoami().await.unwrap_err();
    assert_eq!(e.status(), StatusCode::FileError);
    assert!(e.message().contains("disk full"), "{e}");
    let session = conn.session().unwrap();
    assert_eq!(session.access_token.expose(), "old_access");
    assert_eq!(session.refresh_token.unwrap().expose(), "old_refresh");
}

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

#[tokio::test]
async fn no_token_reaches_a_trace_log_or_an_error_through_a_refresh_and_its_refusal() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = FakeServer::start().await;
    server.push(WHOAMI, expired()).push(WHOAMI, owner());
    server.push(WHOAMI, expired());
    server.push(
        REFRESH,
        Reply::json(
            200,
            json!({"access_token": "new_access", "refresh_token": "new_refresh"}),
        ),
    );
    server.push(
        REFRESH,
        Reply::json(
            401,
            json!({"errcode": "M_UNKNOWN_TOKEN", "error": "gone", "soft_logout": false}),
        ),
    );
    let (conn, _) = signed_in(&server, Some("old_refresh"));
    conn.whoami().await.unwrap();
    let e = conn.whoami().await.unwrap_err();
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("refreshing the access token"),
        "logs at TRACE:\n{logs}"
    );
    for text in [
        logs,
        format!("{e:?}"),
        e.to_string(),
        format!("{:?}", conn.session()),
    ] {
        for secret in ["old_access", "new_access", "old_refresh", "new_refresh"] {
            assert!(!text.contains(secret), "leaks {secret}:\n{text}");
        }
    }
}

/// A refresh answered with a token living one second, then one with a
/// token living a minute.
fn two_refreshes(server: &FakeServer) -> &FakeServer {
    server
        .push(
            REFRESH,
            Reply::json(
                200,
                json!({"access_token": "a2", "refresh_token": "r2", "expires_in_ms": 1000}),
            ),
        )
        .push(
            REFRESH,
            Reply::json(
                200,
                json!({"access_token": "a3", "refresh_token": "r3", "expires_in_ms": 60000}),
            ),
        )
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_the_request_goes_out() {
    let server = FakeServer::start().await;
    two_refreshes(&server)
        .push(WHOAMI, owner())
        .push(WHOAMI, owner());
    let (conn, seen) = signed_in(&server, Some("r1"));
    // The server says how long the new token lives: one second, refreshed
    // a fifth of that (200 ms) before its end.
    conn.refresh_access_token().await.unwrap();
    conn.whoami().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(850)).await;
    conn.whoami().await.unwrap();
    let requests = server.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        paths,
        [REFRESH, WHOAMI, REFRESH, WHOAMI],
        "no 401 on the way"
    );
    assert_eq!(requests[1].header("authorization"), Some("Bearer a2"));
    assert_eq!(
        requests[3].header("authorization"),
        Some("Bearer a3"),
        "the fresh token"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["refreshed a2 r2 false", "refreshed a3 r3 false"],
        "stored before used, each time"
    );
}

#[tokio::test]
async fn a_failed_refresh_ahead_of_the_expiry_leaves_the_request_to_go_out_as_it_is() {
    let server = FakeServer::start().await;
    server
        .push(
            REFRESH,
            Reply::json(
                200,
                json!({"access_token": "a2", "refresh_token": "r2", "expires_in_ms": 100}),
            ),
        )
        .push(
            REFRESH,
            Reply::json(500, json!({"errcode": "M_UNKNOWN", "error": "busy"})),
        )
        .push(WHOAMI, owner());
    let (conn, _) = signed_in(&server, Some("r1"));
    conn.refresh_access_token().await.unwrap();
    // Due 90 ms later (100 ms life, 20 ms margin); the server fails the
    // refresh, and the request still goes out with a2.
    tokio::time::sleep(std::time::Duration::from_millis(90)).await;
    conn.whoami().await.unwrap();
    assert_eq!(server.count(REFRESH), 2, "the refresh ahead was tried");
    let requests = server.requests();
    let last = requests.last().unwrap();
    assert_eq!(last.target, WHOAMI);
    assert_eq!(last.header("authorization"), Some("Bearer a2"));
}

#[tokio::test]
async fn a_refresh_ahead_of_the_expiry_does_not_wait_behind_its_own_job() {
    let server = FakeServer::start().await;
    two_refreshes(&server).push(WHOAMI, owner());
    // One slot: the refresh, a job of its own, needs the slot the job that
    // found the token due was let in with.
    let one_slot = quotient::Connection::builder(server.url())
        .max_concurrent_jobs(1)
        .build()
        .unwrap();
    let (conn, _) = signed_in_on(one_slot, &server, Some("r1"));
    conn.refresh_access_token().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(850)).await;
    tokio::time::timeout(std::time::Duration::from_secs(5), conn.whoami())
        .await
        .expect("the job does not sit on the slot its refresh needs")
        .unwrap();
    let requests = server.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(paths, [REFRESH, REFRESH, WHOAMI]);
    assert_eq!(requests[2].header("authorization"), Some("Bearer a3"));
}

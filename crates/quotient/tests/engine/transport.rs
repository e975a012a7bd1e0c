//! Transport safety: redirects, size caps.

use std::time::Duration;

use quotient::{JobOptions, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn redirects_are_not_followed_so_the_token_stays_home() {
    let elsewhere = FakeServer::start().await;
    let server = FakeServer::start().await;
    let target = format!("{}_matrix/client/v3/authed", elsewhere.url());
    server.push(
        "/_matrix/client/v3/authed",
        Reply::json(302, json!({})).with_header("Location", &target),
    );
    let conn = server.connection();
    conn.set_access_token(Some("syt_secret".into()));
    let err = conn.submit(AuthedGet::default()).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert_eq!(err.http_status(), Some(302));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        elsewhere.requests().is_empty(),
        "nothing, and no token, reached the other host"
    );
}

#[tokio::test]
async fn a_claimed_gigabyte_is_refused_before_reading() {
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::Stream {
            claimed: Some(1 << 30),
            stream: 1 << 20,
        },
    );
    let err = server
        .connection()
        .submit(GetThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert!(err.message().contains("larger than the limit"), "{err}");
}

#[tokio::test]
async fn an_endless_body_stops_at_the_cap() {
    let server = FakeServer::start().await;
    // No Content-Length: the cap has to hold while streaming. 1 GiB is on
    // offer; the client must stop reading at 8 MiB.
    server.push(
        THING,
        Reply::Stream {
            claimed: None,
            stream: 1 << 30,
        },
    );
    let options = JobOptions {
        max_body_size: 8 << 20,
        ..JobOptions::default()
    };
    let start = std::time::Instant::now();
    let err = server
        .connection()
        .submit_with(GetThing::default(), options)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert!(err.message().contains("8388608 bytes"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "stopped early, not after reading 1 GiB"
    );
}

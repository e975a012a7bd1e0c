//! Finding a homeserver from a user ID.

use std::time::{Duration, Instant};

use quotient::server::Discovery;
use quotient::StatusCode;
use serde_json::json;

use crate::support::*;

const WELL_KNOWN: &str = "/.well-known/matrix/client";
const VERSIONS: &str = "/_matrix/client/versions";

fn discovery() -> Discovery {
    Discovery {
        insecure_http: true,
        timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn well_known_points_at_the_base_url() {
    let homeserver = FakeServer::start().await;
    homeserver.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.7"]})));
    let delegating = FakeServer::start().await;
    delegating.push(
        WELL_KNOWN,
        Reply::json(
            200,
            json!({"m.homeserver": {"base_url": homeserver.url().as_str()}}),
        ),
    );
    let user = format!("@alice:{}", delegating.addr).parse().unwrap();
    let base = discovery().discover(&user).await.unwrap();
    assert_eq!(base, homeserver.url());
    assert_eq!(
        homeserver.count(VERSIONS),
        1,
        "the base URL is checked with /versions"
    );
}

#[tokio::test]
async fn a_missing_well_known_means_the_server_name_itself() {
    let server = FakeServer::start().await;
    server.push(
        WELL_KNOWN,
        Reply::json(404, json!({"errcode": "M_NOT_FOUND"})),
    );
    server.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.7"]})));
    let user = format!("@alice:{}", server.addr).parse().unwrap();
    assert_eq!(discovery().discover(&user).await.unwrap(), server.url());
}

#[tokio::test]
async fn a_broken_well_known_or_a_non_matrix_base_is_an_error() {
    let server = FakeServer::start().await;
    server.push(
        WELL_KNOWN,
        Reply::json(200, json!({"m.homeserver": {"base_url": "not a url"}})),
    );
    let user = format!("@alice:{}", server.addr).parse().unwrap();
    let err = discovery().discover(&user).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert!(err.message().contains("not a url"), "{err}");

    server.push(WELL_KNOWN, Reply::json(404, json!({})));
    server.push(
        VERSIONS,
        Reply::raw(200, "text/html", b"<html>a blog</html>"),
    );
    let err = discovery().discover(&user).await.unwrap_err();
    assert!(
        err.message()
            .contains("does not answer as a Matrix homeserver"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dead_host_fails_within_seconds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let user = format!("@alice:127.0.0.1:{port}").parse().unwrap();
    let start = Instant::now();
    let err = discovery().discover(&user).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::NetworkError);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_redirected_well_known_is_followed() {
    let homeserver = FakeServer::start().await;
    homeserver.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.7"]})));
    let moved = FakeServer::start().await;
    moved.push(
        "/delegation.json",
        Reply::json(
            200,
            json!({"m.homeserver": {"base_url": homeserver.url().as_str()}}),
        ),
    );
    let delegating = FakeServer::start().await;
    delegating.push(
        WELL_KNOWN,
        Reply::json(301, json!({}))
            .with_header("Location", &format!("{}delegation.json", moved.url())),
    );
    let user = format!("@alice:{}", delegating.addr).parse().unwrap();
    assert_eq!(discovery().discover(&user).await.unwrap(), homeserver.url());
}

//! Finding a homeserver from a user ID.

use std::time::{Duration, Instant};

use quotient::server::Discovery;
use quotient::StatusCode;
use serde_json::json;

use crate::support::*;

const WELL_KNOWN: &str = "/.well-known/matrix/client";
const VERSIONS: &str = "/_matrix/client/versions";

/// Discovery that asks for `.well-known` on `server`'s port: the test
/// servers cannot listen on port 80.
fn discovery_via(server: &FakeServer) -> Discovery {
    Discovery {
        insecure_http: true,
        timeout: Duration::from_secs(2),
        well_known_port: Some(server.addr.port()),
    }
}

/// A server name on 127.0.0.1 whose port is not where `.well-known` is.
fn user_on_another_port() -> quotient::api::UserId {
    "@alice:127.0.0.1:9".parse().unwrap()
}

#[tokio::test]
async fn well_known_is_asked_on_the_host_without_the_server_names_port() {
    let homeserver = FakeServer::start().await;
    homeserver.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.7"]})));
    let web = FakeServer::start().await;
    web.push(
        WELL_KNOWN,
        Reply::json(
            200,
            json!({"m.homeserver": {"base_url": homeserver.url().as_str()}}),
        ),
    );
    // The server name says port 9; .well-known is asked on the web
    // server's port (in production, 443), never on port 9.
    let base = discovery_via(&web)
        .discover(&user_on_another_port())
        .await
        .unwrap();
    assert_eq!(base, homeserver.url());
    assert_eq!(web.count(WELL_KNOWN), 1);
    assert_eq!(
        quotient::server::well_known_url("example.org:8448", "https", None)
            .unwrap()
            .as_str(),
        "https://example.org/.well-known/matrix/client"
    );
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
    let base = discovery_via(&delegating).discover(&user).await.unwrap();
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
    assert_eq!(
        discovery_via(&server).discover(&user).await.unwrap(),
        server.url(),
        "without .well-known, the server name itself, port included"
    );
}

#[tokio::test]
async fn a_broken_well_known_or_a_non_matrix_base_is_an_error() {
    let server = FakeServer::start().await;
    server.push(
        WELL_KNOWN,
        Reply::json(200, json!({"m.homeserver": {"base_url": "not a url"}})),
    );
    let user = format!("@alice:{}", server.addr).parse().unwrap();
    let err = discovery_via(&server).discover(&user).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert!(err.message().contains("not a url"), "{err}");

    server.push(WELL_KNOWN, Reply::json(404, json!({})));
    server.push(
        VERSIONS,
        Reply::raw(200, "text/html", b"<html>a blog</html>"),
    );
    let err = discovery_via(&server).discover(&user).await.unwrap_err();
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
    let discovery = Discovery {
        well_known_port: Some(port),
        ..discovery_via(&FakeServer::start().await)
    };
    let err = discovery.discover(&user).await.unwrap_err();
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
    assert_eq!(
        discovery_via(&delegating)
            .discover(&user_on_another_port())
            .await
            .unwrap(),
        homeserver.url()
    );
}

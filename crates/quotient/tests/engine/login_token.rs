//! generate_login_token's decisions before and around the request, against
//! a scripted server: which path, which capability, fresh UIA sessions.

use quotient::{PasswordHandler, StatusCode, UiaAnswer, UiaHandler, UiaStep};
use serde_json::json;

use crate::support::*;

const VERSIONS: &str = "/_matrix/client/versions";
const CAPABILITIES: &str = "/_matrix/client/v3/capabilities";
const STABLE: &str = "/_matrix/client/v1/login/get_token";
const UNSTABLE: &str = "/_matrix/client/unstable/org.matrix.msc3882/login/get_token";

fn challenge(session: &str, stages: &[&str]) -> Reply {
    Reply::json(
        401,
        json!({"flows": [{"stages": stages}], "params": {}, "session": session}),
    )
}

async fn signed_in(server: &FakeServer) -> quotient::Connection {
    let conn = server.connection();
    conn.set_access_token(Some("syt_token".into()));
    conn
}

#[tokio::test]
async fn unstable_only_server_uses_the_msc3882_path_and_capability() {
    let server = FakeServer::start().await;
    server.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.5", "v1.6"], "unstable_features": {"org.matrix.msc3882": true}})));
    server.push(
        CAPABILITIES,
        Reply::json(
            200,
            json!({"capabilities": {"org.matrix.msc3882.get_login_token": {"enabled": true}}}),
        ),
    );
    server.push(UNSTABLE, challenge("s1", &["m.login.password"]));
    server.push(
        UNSTABLE,
        Reply::json(200, json!({"login_token": "LT", "expires_in": 120})),
    );
    let conn = signed_in(&server).await;
    let token = conn
        .generate_login_token(&mut PasswordHandler::new("@a:x", "pw".into()))
        .await
        .unwrap();
    assert_eq!(token.token.expose(), "LT");
    assert_eq!(
        token.expires_in.as_secs(),
        120,
        "the older `expires_in` (seconds) is understood"
    );
    assert_eq!(server.count(STABLE), 0);
    let sent: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .filter(|r| r.target == UNSTABLE)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        sent[0],
        json!({}),
        "a fresh UIA session: the first request has no auth"
    );
    assert_eq!(sent[1]["auth"]["type"], "m.login.password");
    assert_eq!(sent[1]["auth"]["session"], "s1");
    assert_eq!(sent[1]["auth"]["identifier"]["user"], "@a:x");
}

#[tokio::test]
async fn without_the_capability_nothing_is_requested() {
    for capabilities in [json!({}), json!({"m.get_login_token": {"enabled": false}})] {
        let server = FakeServer::start().await;
        server.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.7"]})));
        server.push(
            CAPABILITIES,
            Reply::json(200, json!({"capabilities": capabilities})),
        );
        let conn = signed_in(&server).await;
        let err = conn
            .generate_login_token(&mut PasswordHandler::new("@a:x", "pw".into()))
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::ContentAccessError);
        assert!(err.message().contains("m.get_login_token"), "{err}");
        assert_eq!(server.count(STABLE) + server.count(UNSTABLE), 0);
    }
}

#[tokio::test]
async fn a_server_without_the_feature_gets_no_request_at_all() {
    let server = FakeServer::start().await;
    server.push(
        VERSIONS,
        Reply::json(
            200,
            json!({"versions": ["v1.6"], "unstable_features": {"org.matrix.msc3882": false}}),
        ),
    );
    let conn = signed_in(&server).await;
    let err = conn
        .generate_login_token(&mut PasswordHandler::new("@a:x", "pw".into()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::RequestNotImplemented);
    assert_eq!(server.requests().len(), 1, "only /versions was asked");
}

#[tokio::test]
async fn every_token_starts_a_fresh_uia_session() {
    let server = FakeServer::start().await;
    server.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.7"]})));
    server.push(
        CAPABILITIES,
        Reply::json(
            200,
            json!({"capabilities": {"m.get_login_token": {"enabled": true}}}),
        ),
    );
    for session in ["s1", "s2"] {
        server.push(STABLE, challenge(session, &["m.login.dummy"]));
        server.push(
            STABLE,
            Reply::json(
                200,
                json!({"login_token": session, "expires_in_ms": 120000}),
            ),
        );
    }
    let conn = signed_in(&server).await;
    for _ in 0..2 {
        conn.generate_login_token(&mut PasswordHandler::new("@a:x", "pw".into()))
            .await
            .unwrap();
    }
    let bodies: Vec<serde_json::Value> = server
        .requests()
        .iter()
        .filter(|r| r.target == STABLE)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 4);
    assert_eq!(bodies[0], json!({}));
    assert_eq!(
        bodies[1],
        json!({"auth": {"type": "m.login.dummy", "session": "s1"}})
    );
    assert_eq!(
        bodies[2],
        json!({}),
        "the completed session s1 is not reused"
    );
    assert_eq!(bodies[3]["auth"]["session"], "s2");
    assert_eq!(server.count(VERSIONS), 1, "/versions is cached");
}

/// Records the fallback URL and gives up, as a UI without a browser would.
struct NoBrowser {
    fallback: Option<String>,
}

impl UiaHandler for NoBrowser {
    fn supports(&self, _: &str) -> bool {
        false
    }

    async fn answer(&mut self, step: &UiaStep<'_>) -> UiaAnswer {
        self.fallback = step.fallback_url().map(|u| u.to_string());
        UiaAnswer::Cancel
    }
}

#[tokio::test]
async fn stages_the_handler_cannot_do_get_the_fallback_url() {
    let server = FakeServer::start().await;
    server.push(VERSIONS, Reply::json(200, json!({"versions": ["v1.7"]})));
    server.push(
        CAPABILITIES,
        Reply::json(
            200,
            json!({"capabilities": {"m.get_login_token": {"enabled": true}}}),
        ),
    );
    server.push(STABLE, challenge("se ss", &["m.login.sso"]));
    let conn = signed_in(&server).await;
    let mut handler = NoBrowser { fallback: None };
    let err = conn.generate_login_token(&mut handler).await.unwrap_err();
    let expected = format!(
        "{}/_matrix/client/v3/auth/m.login.sso/fallback/web?session=se%20ss",
        server.url().as_str().trim_end_matches('/')
    );
    assert_eq!(handler.fallback.as_deref(), Some(expected.as_str()));
    assert_eq!(err.status(), StatusCode::Unauthorised);
    assert!(err.message().contains("m.login.sso"), "{err}");
    assert_eq!(server.count(STABLE), 1);
}

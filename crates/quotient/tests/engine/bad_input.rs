//! Bad input from the caller or the server: refused or survived, never
//! resent in vain, never a panic.

use std::time::Duration;

use quotient::api::{
    encode_path_segment, find_operation, AuthRequirement, BuildError, Endpoint, HttpRequest,
    Metadata, Method, RequestBody,
};
use quotient::server::Discovery;
use quotient::{BackoffStrategy, JobEvent, JobOptions, RateLimitPolicy, StatusCode};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

/// A request with path parameters, as the generator writes them.
#[derive(Debug, Clone)]
struct GetState {
    room_id: String,
    state_key: String,
}

const STATE: &str = "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}";

impl Endpoint for GetState {
    const METADATA: Metadata = Metadata {
        operation_id: "getRoomStateWithKey",
        method: Method::Get,
        path: STATE,
        auth: AuthRequirement::None,
        rate_limited: false,
        added_in: None,
        deprecated: false,
        idempotent: true,
        response_content_types: &["application/json"],
        follows_redirects: false,
        server_wait_param: None,
    };
    type Response = Ok_;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        Ok(HttpRequest {
            method: Method::Get,
            path_and_query: format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.name/{}",
                encode_path_segment(&self.room_id),
                encode_path_segment(&self.state_key)
            ),
            headers: vec![],
            body: RequestBody::Empty,
        })
    }
}

#[tokio::test]
async fn dot_and_empty_path_parameters_are_refused_before_sending() {
    let server = FakeServer::start().await;
    let conn = server.connection();
    let state = |room: &str, key: &str| GetState {
        room_id: room.into(),
        state_key: key.into(),
    };
    for (request, what) in [
        (state("..", ""), "`roomId` is `..`"),
        (state(".", ""), "`roomId` is `.`"),
        (state("!r:x", ".."), "`stateKey` is `..`"),
        (state("", "k"), "`roomId` is empty"),
    ] {
        let err = conn.submit(request).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::IncorrectRequest);
        assert!(err.message().contains("cannot build the request"), "{err}");
        assert!(err.message().contains(what), "{err}");
    }
    // Raw requests too: `..` would have reached /_matrix/client/versions.
    let err = conn
        .submit_request(
            PostThing::METADATA,
            HttpRequest {
                method: Method::Get,
                path_and_query: "/_matrix/client/v3/%2E%2E/versions".into(),
                headers: vec![],
                body: RequestBody::Empty,
            },
            JobOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectRequest);
    assert!(server.requests().is_empty(), "nothing was sent");

    // An empty last parameter is the spec's empty state key: a trailing `/`.
    let path = "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.name/";
    server.push(path, Reply::json(200, json!({"ok": true})));
    assert!(conn.submit(state("!r:x", "")).await.unwrap().ok);
    assert_eq!(server.requests()[0].target, path);
}

#[tokio::test(start_paused = true)]
async fn retry_after_on_a_503_is_honoured_and_clamped() {
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::raw(503, "text/plain", b"maintenance").with_header("Retry-After", "7"),
    );
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    let job = server.connection().submit(GetThing::default());
    let events = job.events();
    assert!(job.await.unwrap().ok);
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    let waits: Vec<Duration> = collect(events)
        .await
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::RetryScheduled { wait, .. } => Some(wait),
            _ => None,
        })
        .collect();
    assert_eq!(waits, [Duration::from_secs(7)]);

    // Longer than the job may wait (60 s by default): it fails at once,
    // saying how long the server asked for.
    server.push(
        THING,
        Reply::raw(503, "text/plain", b"maintenance").with_header("Retry-After", "3600"),
    );
    let start = Instant::now();
    let err = server
        .connection()
        .submit(GetThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NetworkError);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(
        err.message().contains("longer than this job may wait"),
        "{err}"
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(server.count(THING), 3);
}

fn unbounded() -> JobOptions {
    JobOptions {
        backoff: BackoffStrategy {
            attempt_timeouts: vec![Duration::MAX],
            idle_timeout: Duration::MAX,
            retry_waits: vec![Duration::MAX],
            max_retries: u32::MAX,
            jitter: Some(0.5),
            deadline: Some(Duration::MAX),
            long_poll_margin: Duration::MAX,
        },
        rate_limit: RateLimitPolicy {
            max_wait: Duration::MAX,
            max_rounds: u32::MAX,
        },
        ..JobOptions::default()
    }
}

#[tokio::test(start_paused = true)]
async fn huge_waits_and_endless_options_never_panic() {
    let server = FakeServer::start().await;
    let conn = quotient::Connection::builder(server.url())
        .connect_timeout(Duration::MAX)
        .build()
        .unwrap();
    let huge = "99999999999999999999999";
    server.push(THING, Reply::json(200, json!({"ok": true})));
    assert!(
        conn.submit_with(GetThing::default(), unbounded())
            .await
            .unwrap()
            .ok
    );

    server.push(
        THING,
        Reply::json(429, json!({"errcode": "M_LIMIT_EXCEEDED"})).with_header("Retry-After", huge),
    );
    let err = conn
        .submit_with(GetThing::default(), unbounded())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::TooManyRequests);
    assert!(err.retry_after() >= Some(Duration::from_secs(u64::MAX)));

    server.push(
        THING,
        Reply::raw(503, "text/plain", b"x").with_header("Retry-After", huge),
    );
    let err = conn
        .submit_with(GetThing::default(), unbounded())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NetworkError);

    server.push(LONG_POLL, Reply::json(200, json!({"ok": true})));
    let poll = LongPoll {
        timeout_ms: u64::MAX,
    };
    assert!(conn.submit_with(poll, unbounded()).await.unwrap().ok);

    server.push("/.well-known/matrix/client", Reply::json(404, json!({})));
    server.push(
        "/_matrix/client/versions",
        Reply::json(200, json!({"versions": ["v1.7"]})),
    );
    let discovery = Discovery {
        insecure_http: true,
        timeout: Duration::MAX,
        well_known_port: Some(server.addr.port()),
    };
    let user = format!("@alice:{}", server.addr).parse().unwrap();
    discovery.discover(&user).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_raw_long_poll_gets_the_wait_its_query_asks_for() {
    let server = FakeServer::start().await;
    let sync = "/_matrix/client/v3/sync";
    // Past the 30 s attempt timeout, within 31 s + the 15 s margin.
    server.push(
        sync,
        Reply::json(200, json!({"next_batch": "s1"})).after(Duration::from_secs(40)),
    );
    let conn = server.connection();
    conn.set_access_token(Some("syt_secret".into()));
    let meta = *find_operation(Method::Get, sync).unwrap();
    let start = Instant::now();
    let response = conn
        .submit_request(
            meta,
            HttpRequest {
                method: Method::Get,
                path_and_query: format!("{sync}?since=s0&timeout=31000"),
                headers: vec![],
                body: RequestBody::Empty,
            },
            JobOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(response.json().unwrap()["next_batch"], "s1");
    assert_eq!(start.elapsed(), Duration::from_secs(40));
    assert_eq!(server.count(sync), 1, "not cut at 30 s and sent again");
}

#[test]
fn the_raw_wait_matches_the_typed_requests() {
    use quotient::api::generated::{authed_content_repo, sync};
    let typed = sync::SyncRequest {
        timeout: Some(31_000),
        ..sync::SyncRequest::new()
    };
    let built = typed.build().unwrap();
    assert_eq!(
        sync::SyncRequest::METADATA.server_wait_in(&built.path_and_query),
        typed.server_wait()
    );
    let mut media =
        authed_content_repo::GetContentAuthed::new("example.org".parse().unwrap(), "abc".into());
    media.timeout_ms = Some(20_000);
    let built = media.build().unwrap();
    assert_eq!(
        authed_content_repo::GetContentAuthed::METADATA.server_wait_in(&built.path_and_query),
        Some(Duration::from_secs(20))
    );
    assert_eq!(
        authed_content_repo::GetContentAuthed::METADATA.server_wait_in(&built.path_and_query),
        media.server_wait()
    );
}

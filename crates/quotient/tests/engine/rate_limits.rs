//! 429 / M_LIMIT_EXCEEDED: whose wait wins, the clamp, the bound, the scope.

use std::time::{Duration, SystemTime};

use quotient::{JobEvent, JobOptions, RateLimitPolicy, StatusCode};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

fn limited(ms: Option<u64>) -> Reply {
    let mut body = json!({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests"});
    if let Some(ms) = ms {
        body["retry_after_ms"] = json!(ms);
    }
    Reply::json(429, body)
}

fn rate_limited_waits(events: &[JobEvent]) -> Vec<Duration> {
    events
        .iter()
        .filter_map(|e| match e {
            JobEvent::RateLimited { wait } => Some(*wait),
            _ => None,
        })
        .collect()
}

fn patient(max_wait_secs: u64) -> JobOptions {
    JobOptions {
        rate_limit: RateLimitPolicy {
            max_wait: Duration::from_secs(max_wait_secs),
            max_rounds: 3,
        },
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_seconds_wins_over_retry_after_ms() {
    let server = FakeServer::start().await;
    server.push(THING, limited(Some(9000)).with_header("Retry-After", "3"));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    let job = server.connection().submit(GetThing::default());
    let events = job.events();
    assert!(job.await.unwrap().ok);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(
        rate_limited_waits(&collect(events).await),
        [Duration::from_secs(3)]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_http_date_wins_over_retry_after_ms() {
    let server = FakeServer::start().await;
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    server.push(THING, limited(Some(9000)).with_header("Retry-After", &date));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    let job = server
        .connection()
        .submit_with(GetThing::default(), patient(300));
    let events = job.events();
    assert!(job.await.unwrap().ok);
    // The date has one-second resolution and real time passes meanwhile.
    let waited = start.elapsed();
    assert!(
        waited > Duration::from_secs(118) && waited <= Duration::from_secs(120),
        "{waited:?}"
    );
    assert_eq!(rate_limited_waits(&collect(events).await).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_ms_alone_is_used() {
    let server = FakeServer::start().await;
    server.push(THING, limited(Some(1500)));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    assert!(
        server
            .connection()
            .submit(GetThing::default())
            .await
            .unwrap()
            .ok
    );
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
}

#[tokio::test(start_paused = true)]
async fn no_hint_falls_back_to_the_backoff_wait() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::raw(429, "text/plain", b"slow down"));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    assert!(
        server
            .connection()
            .submit(GetThing::default())
            .await
            .unwrap()
            .ok
    );
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_wait_over_the_clamp_fails_at_once_with_retry_after() {
    let server = FakeServer::start().await;
    server.push(THING, limited(Some(1000)).with_header("Retry-After", "120"));
    let start = Instant::now();
    let err = server
        .connection()
        .submit(GetThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::TooManyRequests);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(server.count(THING), 1);
    assert!(err.to_string().contains("120 s"), "{err}");

    // max_wait zero: never wait, even for a short hint (what a login-token
    // request wants by default).
    server.push(THING, limited(Some(500)));
    let options = JobOptions {
        rate_limit: RateLimitPolicy {
            max_wait: Duration::ZERO,
            max_rounds: 3,
        },
        ..Default::default()
    };
    let err = server
        .connection()
        .submit_with(GetThing::default(), options)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::TooManyRequests);
    assert_eq!(err.retry_after(), Some(Duration::from_millis(500)));
}

#[tokio::test(start_paused = true)]
async fn rate_limit_rounds_are_bounded() {
    let server = FakeServer::start().await;
    for _ in 0..10 {
        server.push(THING, limited(None).with_header("Retry-After", "1"));
    }
    let err = server
        .connection()
        .submit(GetThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::TooManyRequests);
    assert_eq!(
        server.count(THING),
        4,
        "three waits sat out, the fourth 429 ends it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rate_limited_post_is_resent_because_it_was_refused() {
    let server = FakeServer::start().await;
    server.push(THING, limited(Some(1000)));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    assert!(
        server
            .connection()
            .submit(PostThing::default())
            .await
            .unwrap()
            .ok
    );
    assert_eq!(server.count(THING), 2);
}

#[tokio::test(start_paused = true)]
async fn the_pause_holds_the_same_endpoint_only() {
    let server = FakeServer::start().await;
    server.push(THING, limited(None).with_header("Retry-After", "10"));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    server.push(OTHER, Reply::json(200, json!({"ok": true})));
    let conn = server.connection();
    let start = Instant::now();
    let first = conn.submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.count(THING), 1, "the first request got its 429");

    // An unrelated endpoint is not held up.
    assert!(conn.submit(GetOther::default()).await.unwrap().ok);
    assert_eq!(start.elapsed(), Duration::from_secs(1));

    // A new job on the paused endpoint waits for the pause to end.
    let second = conn.submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        server.count(THING),
        1,
        "nothing is sent to a paused endpoint"
    );
    assert!(second.await.unwrap().ok);
    assert!(first.await.unwrap().ok);
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(server.count(THING), 3);
}

#[tokio::test(start_paused = true)]
async fn a_pause_is_checked_again_after_waiting_for_a_slot() {
    let server = FakeServer::start().await;
    // A's answer takes 1 s, so B is queued for the only slot when A learns
    // the endpoint is paused until t = 6 s.
    server.push(
        THING,
        limited(None)
            .with_header("Retry-After", "5")
            .after(Duration::from_secs(1)),
    );
    server.push(THING, Reply::json(200, json!({"ok": true})));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let conn = quotient::Connection::builder(server.url())
        .max_concurrent_jobs(1)
        .build()
        .unwrap();
    let start = Instant::now();
    let a = conn.submit(GetThing::default());
    tokio::task::yield_now().await;
    let b = conn.submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        server.count(THING),
        1,
        "B got the slot during the pause and must not send"
    );
    assert!(a.await.unwrap().ok);
    assert!(b.await.unwrap().ok);
    assert!(start.elapsed() >= Duration::from_secs(6));
    assert_eq!(server.count(THING), 3);
}

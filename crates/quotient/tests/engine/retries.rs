//! Retries: what is resent, when, and what is never resent.

use std::time::Duration;

use quotient::{BackoffStrategy, JobEvent, JobOptions, StatusCode};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

fn retry_waits(events: &[JobEvent]) -> Vec<(StatusCode, u32, Duration)> {
    events
        .iter()
        .filter_map(|e| match e {
            JobEvent::RetryScheduled {
                status,
                next_attempt,
                wait,
            } => Some((*status, *next_attempt, *wait)),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn html_502_then_success_is_retried_after_the_first_wait() {
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::raw(502, "text/html", b"<html>502 Bad Gateway</html>"),
    );
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let conn = server.connection();
    let start = Instant::now();
    let job = conn.submit(GetThing::default());
    let events = job.events();
    let response = job.await.unwrap();
    assert!(response.ok);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(server.count(THING), 2);
    let events = collect(events).await;
    assert_eq!(
        retry_waits(&events),
        [(StatusCode::NetworkError, 2, Duration::from_secs(2))]
    );
}

#[tokio::test(start_paused = true)]
async fn default_strategy_is_four_attempts_with_2_5_30_second_waits() {
    let server = FakeServer::start().await;
    for _ in 0..4 {
        server.push(THING, Reply::raw(503, "text/plain", b"busy"));
    }
    let conn = server.connection();
    let start = Instant::now();
    let job = conn.submit(GetThing::default());
    let events = job.events();
    let err = job.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::NetworkError);
    assert_eq!(err.attempts(), 4);
    assert_eq!(server.count(THING), 4);
    assert_eq!(start.elapsed(), Duration::from_secs(37));
    let waits: Vec<u64> = retry_waits(&collect(events).await)
        .iter()
        .map(|w| w.2.as_secs())
        .collect();
    assert_eq!(waits, [2, 5, 30]);
}

#[tokio::test(start_paused = true)]
async fn malformed_200_is_not_resent_for_get_or_post() {
    // Asked again, the server would most likely send the same bytes.
    let server = FakeServer::start().await;
    server.push(THING, Reply::raw(200, "application/json", b"{\"ok\": tr"));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let conn = server.connection();
    let err = conn.submit(GetThing::default()).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.count(THING), 1);

    let server = FakeServer::start().await;
    server.push(THING, Reply::raw(200, "application/json", b"{\"ok\": tr"));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let err = server
        .connection()
        .submit(PostThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert_eq!(
        server.count(THING),
        1,
        "the POST took effect; it must not run twice"
    );
}

#[tokio::test(start_paused = true)]
async fn reset_before_any_byte_retries_get() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Reset);
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    let job = server.connection().submit(GetThing::default());
    let events = job.events();
    assert!(job.await.unwrap().ok);
    assert_eq!(server.count(THING), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(
        retry_waits(&collect(events).await)[0].0,
        StatusCode::NetworkError
    );
}

#[tokio::test(start_paused = true)]
async fn post_whose_answer_is_lost_is_not_resent() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Reset);
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let job = server.connection().submit(PostThing {
        body: Some(json!({"name": "room"})),
    });
    let events = job.events();
    let err = job.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::NetworkError);
    assert!(err.outcome_unknown());
    assert!(err.message().contains("not resent"), "{err}");
    assert_eq!(server.count(THING), 1);
    assert!(retry_waits(&collect(events).await).is_empty());
}

#[tokio::test(start_paused = true)]
async fn post_that_stalls_times_out_once_and_is_not_resent() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    let start = Instant::now();
    let err = server
        .connection()
        .submit(PostThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::Timeout);
    assert!(err.outcome_unknown());
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(server.count(THING), 1);
}

#[tokio::test(start_paused = true)]
async fn stall_beyond_attempt_timeout_is_retried_at_once() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    let job = server.connection().submit(GetThing::default());
    let events = job.events();
    assert!(job.await.unwrap().ok);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert_eq!(
        retry_waits(&collect(events).await),
        [(StatusCode::Timeout, 2, Duration::ZERO)]
    );
}

#[tokio::test(start_paused = true)]
async fn connect_failure_is_retried_even_for_post() {
    // Bind, learn the port, close: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conn = quotient::Connection::builder(format!("http://127.0.0.1:{port}").parse().unwrap())
        .build()
        .unwrap();
    let options = JobOptions {
        backoff: BackoffStrategy {
            max_retries: 2,
            ..Default::default()
        },
        ..Default::default()
    };
    let job = conn.submit_with(PostThing::default(), options);
    let events = job.events();
    let err = job.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::NetworkError);
    assert!(!err.outcome_unknown(), "nothing reached the server");
    assert_eq!(err.attempts(), 3);
    assert_eq!(retry_waits(&collect(events).await).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn long_poll_gets_its_server_wait_plus_margin() {
    let server = FakeServer::start().await;
    // 40 s is past the 30 s first attempt timeout but within 30 s + 15 s.
    server.push(
        LONG_POLL,
        Reply::json(200, json!({"ok": true})).after(Duration::from_secs(40)),
    );
    let start = Instant::now();
    let job = server.connection().submit(LongPoll { timeout_ms: 30_000 });
    assert!(job.await.unwrap().ok);
    assert_eq!(start.elapsed(), Duration::from_secs(40));
    assert_eq!(server.count(LONG_POLL), 1);
    assert_eq!(
        server.requests()[0].target,
        "/_matrix/client/v3/longpoll?timeout=30000"
    );

    // Past the margin, the attempt times out at exactly wait + margin.
    let server = FakeServer::start().await;
    server.push(LONG_POLL, Reply::Stall);
    server.push(LONG_POLL, Reply::json(200, json!({"ok": true})));
    let start = Instant::now();
    let job = server.connection().submit(LongPoll { timeout_ms: 30_000 });
    let events = job.events();
    assert!(job.await.unwrap().ok);
    assert_eq!(start.elapsed(), Duration::from_secs(45));
    assert_eq!(
        retry_waits(&collect(events).await)[0].0,
        StatusCode::Timeout
    );
}

#[tokio::test(start_paused = true)]
async fn whole_job_deadline_cuts_attempts_and_waits() {
    let server = FakeServer::start().await;
    for _ in 0..3 {
        server.push(THING, Reply::Stall);
    }
    let options = JobOptions {
        backoff: BackoffStrategy {
            deadline: Some(Duration::from_secs(50)),
            ..Default::default()
        },
        ..Default::default()
    };
    let start = Instant::now();
    let err = server
        .connection()
        .submit_with(GetThing::default(), options)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::Timeout);
    // 30 s for the first attempt, then the second is cut to the 20 s left.
    assert_eq!(start.elapsed(), Duration::from_secs(50));
    assert_eq!(server.count(THING), 2);
}

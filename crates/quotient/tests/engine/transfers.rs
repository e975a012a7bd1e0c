//! Large transfers: the attempt timeout bounds the wait for an answer, not
//! the time a body takes to move; a stalled body ends with the idle timeout.
//!
//! These run on the real clock (the paused clock would advance past the
//! server's pacing while the sockets are busy), scaled down: a 1 s attempt
//! timeout, transfers of about 3 s, a 0.5 s idle timeout.

use std::time::{Duration, Instant};

use quotient::{BackoffStrategy, JobOptions, StatusCode};
use serde_json::json;

use crate::support::*;

const ATTEMPT: Duration = Duration::from_secs(1);
const IDLE: Duration = Duration::from_millis(500);

fn options() -> JobOptions {
    JobOptions {
        backoff: BackoffStrategy {
            attempt_timeouts: vec![ATTEMPT],
            idle_timeout: IDLE,
            max_retries: 0,
            ..BackoffStrategy::default()
        },
        ..JobOptions::default()
    }
}

#[tokio::test]
async fn a_slow_but_steady_download_outlives_the_attempt_timeout() {
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::Trickle {
            chunk: 1024,
            chunks: 60,
            every: Duration::from_millis(50),
            stall_after: None,
        },
    );
    let start = Instant::now();
    let response = server
        .connection()
        .submit_with(GetThing::default(), options())
        .await
        .unwrap();
    assert!(response.ok);
    assert!(start.elapsed() > 2 * ATTEMPT, "{:?}", start.elapsed());
    assert_eq!(server.count(THING), 1);
}

#[tokio::test]
async fn a_stalled_download_times_out_after_the_idle_timeout() {
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::Trickle {
            chunk: 1024,
            chunks: 60,
            every: Duration::from_millis(50),
            stall_after: Some(5),
        },
    );
    let start = Instant::now();
    let err = server
        .connection()
        .submit_with(GetThing::default(), options())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::Timeout);
    assert!(
        err.message().contains("nothing arrived for 0.500 s"),
        "{err}"
    );
    // Five chunks, then the idle timeout: well before a second attempt
    // timeout, and not cut at the first one either.
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn a_stalled_download_ends_by_the_idle_timeout_even_under_a_long_attempt_timeout() {
    // The attempt's timer was armed for the head's 30 s; once the head
    // arrived the stall must end after the 0.5 s idle timeout, not when
    // that first timer fires.
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::Trickle {
            chunk: 1024,
            chunks: 60,
            every: Duration::from_millis(10),
            stall_after: Some(3),
        },
    );
    let mut long = options();
    long.backoff.attempt_timeouts = vec![Duration::from_secs(30)];
    let start = Instant::now();
    let err = server
        .connection()
        .submit_with(GetThing::default(), long)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::Timeout);
    assert!(err.message().contains("nothing arrived"), "{err}");
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn a_slow_but_steady_upload_outlives_the_attempt_timeout() {
    // The client's kernel may hold up to a few MiB (Linux: 4 MiB at most
    // by default) that the transport has handed over but the server has
    // not read; the attempt timeout starts once the last chunk is handed
    // over. So the server reads fast enough to drain that in well under
    // the attempt timeout, and long enough to outlast it: 24 MiB at
    // 8 MiB/s, about 3 s. Its small receive buffer keeps its own kernel
    // from reading ahead for it.
    let server = FakeServer::start_with_small_buffers().await;
    server.read_slowly(
        UPLOAD,
        ReadPace {
            bytes_per_sec: 8 << 20,
            stall_after: None,
        },
    );
    server.push(UPLOAD, Reply::json(200, json!({"ok": true})));
    let data = vec![7u8; 24 << 20];
    let start = Instant::now();
    let response = server
        .connection()
        .submit_with(Upload { data: data.clone() }, options())
        .await
        .unwrap();
    assert!(response.ok);
    assert!(start.elapsed() > 2 * ATTEMPT, "{:?}", start.elapsed());
    assert!(server.requests()[0].body == data, "the body arrived whole");
}

#[tokio::test]
async fn a_stalled_upload_times_out_after_the_idle_timeout() {
    let server = FakeServer::start_with_small_buffers().await;
    server.read_slowly(
        UPLOAD,
        ReadPace {
            bytes_per_sec: 1 << 20,
            stall_after: Some(256 * 1024),
        },
    );
    let start = Instant::now();
    let err = server
        .connection()
        .submit_with(
            Upload {
                data: vec![7u8; 8 << 20],
            },
            options(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::Timeout);
    assert!(
        err.message().contains("nothing could be sent for 0.500 s"),
        "{err}"
    );
    assert!(err.outcome_unknown(), "part of a POST reached the server");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

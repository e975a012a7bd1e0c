//! Outcomes that are honestly unknown: a request that may have acted
//! without the job learning how says so, instead of a plain failure.

use std::time::Duration;

use quotient::api::ErrorCode;
use quotient::{JobEvent, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test(start_paused = true)]
async fn abandoning_a_request_on_its_way_leaves_its_outcome_unknown() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    let job = server.connection().submit(PostThing::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.count(THING), 1, "the request is at the server");
    job.abandon();
    let err = job.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::Abandoned);
    assert!(err.outcome_unknown(), "{err}");
    assert_eq!(server.count(THING), 1);

    // Before anything was sent, abandoning leaves nothing unknown.
    let job = server.connection().submit(PostThing::default());
    job.abandon();
    let err = job.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::Abandoned);
    assert!(!err.outcome_unknown());
}

#[tokio::test(start_paused = true)]
async fn abandoning_while_waiting_to_resend_after_a_lost_answer_is_outcome_unknown() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Reset);
    let job = server.connection().submit(PutThing::default());
    let mut events = job.events();
    while !matches!(events.next().await, Some(JobEvent::RetryScheduled { .. })) {}
    job.abandon();
    let err = job.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::Abandoned);
    assert!(err.outcome_unknown(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_put_resent_after_a_lost_answer_that_conflicts_is_outcome_unknown() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Reset);
    server.push(
        THING,
        Reply::json(
            409,
            json!({"errcode": "M_CANNOT_OVERWRITE_MEDIA", "error": "already uploaded"}),
        ),
    );
    let err = server
        .connection()
        .submit(PutThing::default())
        .await
        .unwrap_err();
    assert_eq!(server.count(THING), 2);
    assert!(err.outcome_unknown(), "{err}");
    // What the server said stays available.
    assert_eq!(err.status(), StatusCode::IncorrectRequest);
    assert_eq!(err.http_status(), Some(409));
    assert_eq!(
        err.errcode(),
        Some(&ErrorCode::from("M_CANNOT_OVERWRITE_MEDIA"))
    );
    assert!(err.message().contains("earlier attempt"), "{err}");

    // A conflict on the first attempt is a plain failure.
    server.push(THING, Reply::json(409, json!({"errcode": "M_UNKNOWN"})));
    let err = server
        .connection()
        .submit(PutThing::default())
        .await
        .unwrap_err();
    assert!(!err.outcome_unknown(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_delete_resent_after_a_timeout_that_finds_nothing_is_outcome_unknown() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    server.push(THING, Reply::json(404, json!({"errcode": "M_NOT_FOUND"})));
    let err = server
        .connection()
        .submit(DeleteThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NotFound);
    assert_eq!(err.errcode(), Some(&ErrorCode::NotFound));
    assert!(err.outcome_unknown(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_put_whose_every_answer_is_lost_is_outcome_unknown() {
    let server = FakeServer::start().await;
    for _ in 0..4 {
        server.push(THING, Reply::raw(504, "text/html", b"gateway timeout"));
    }
    let err = server
        .connection()
        .submit(PutThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NetworkError);
    assert_eq!(err.attempts(), 4);
    assert!(err.outcome_unknown(), "{err}");
    // A GET changes nothing: its failure is just a failure.
    for _ in 0..4 {
        server.push(THING, Reply::raw(504, "text/html", b"gateway timeout"));
    }
    let err = server
        .connection()
        .submit(GetThing::default())
        .await
        .unwrap_err();
    assert!(!err.outcome_unknown(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_post_declared_idempotent_is_resent_after_a_lost_answer() {
    // Retrying follows the metadata's idempotency flag, not the method.
    let server = FakeServer::start().await;
    server.push(THING, Reply::Reset);
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let start = tokio::time::Instant::now();
    let response = server.connection().submit(QueryThing::default()).await;
    assert!(response.unwrap().ok);
    assert_eq!(server.count(THING), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

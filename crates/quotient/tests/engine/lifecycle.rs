//! Events, status, abandon in every state, priorities, exactly-once ends.

use std::time::Duration;

use quotient::{Connection, JobEvent, JobOptions, Priority, StatusCode};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

#[tokio::test]
async fn success_event_order() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let job = server.connection().submit(GetThing::default());
    assert_eq!(job.operation_id(), "GetThing");
    let events = job.events();
    let outcome = job.await;
    assert!(outcome.is_ok());
    let len = br#"{"ok":true}"#.len() as u64;
    assert_eq!(
        collect(events).await,
        [
            JobEvent::StatusChanged {
                status: StatusCode::Pending
            },
            JobEvent::AboutToSend { attempt: 1 },
            JobEvent::Sent { attempt: 1 },
            JobEvent::DownloadProgress {
                received: len,
                total: Some(len)
            },
            JobEvent::StatusChanged {
                status: StatusCode::Success
            },
            JobEvent::Finished {
                status: StatusCode::Success
            },
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_event_order_and_status_queries() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::raw(500, "text/plain", b""));
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let job = server.connection().submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        job.status(),
        StatusCode::Pending,
        "still running while it waits to retry"
    );
    assert_eq!(job.attempt(), 1);
    assert!(!job.is_finished());
    let events = job.events();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(job.status(), StatusCode::Success);
    assert_eq!(job.attempt(), 2);
    let kinds: Vec<String> = collect(events)
        .await
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "StatusChanged",
            "AboutToSend",
            "Sent",
            "RetryScheduled",
            "AboutToSend",
            "Sent",
            "DownloadProgress",
            "StatusChanged",
            "Finished"
        ]
    );
    assert!(job.await.is_ok());
}

#[tokio::test]
async fn upload_progress_is_reported_in_steps_and_the_body_arrives_whole() {
    let server = FakeServer::start().await;
    server.push(UPLOAD, Reply::json(200, json!({"ok": true})));
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let job = server.connection().submit(Upload { data: data.clone() });
    let events = job.events();
    job.await.unwrap();
    let events = collect(events).await;
    let uploads: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::UploadProgress { sent, total } => Some((*sent, *total)),
            _ => None,
        })
        .collect();
    assert!(uploads.len() >= 10, "{} progress events", uploads.len());
    assert!(uploads.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(*uploads.last().unwrap(), (1_000_000, 1_000_000));
    let sent_at = events
        .iter()
        .position(|e| matches!(e, JobEvent::Sent { .. }))
        .unwrap();
    let last_upload = events
        .iter()
        .rposition(|e| matches!(e, JobEvent::UploadProgress { .. }))
        .unwrap();
    assert!(
        last_upload < sent_at,
        "Sent comes after the last upload progress"
    );
    let recorded = &server.requests()[0];
    assert_eq!(recorded.body, data);
    assert_eq!(recorded.header("content-length"), Some("1000000"));
    assert_eq!(
        recorded.header("content-type"),
        Some("application/octet-stream")
    );
}

async fn assert_abandoned(job: quotient::Job<Ok_>) {
    let events = job.events();
    let err = job.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::Abandoned);
    let events = collect(events).await;
    assert_eq!(
        events.last(),
        Some(&JobEvent::Finished {
            status: StatusCode::Abandoned
        })
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, JobEvent::Finished { .. }))
            .count(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn abandon_before_start_sends_nothing() {
    let server = FakeServer::start().await;
    let job = server.connection().submit(GetThing::default());
    job.abandon();
    assert_abandoned(job).await;
    assert!(server.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn abandon_in_flight_is_prompt() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    let job = server.connection().submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.count(THING), 1);
    let start = Instant::now();
    job.abandon();
    assert_abandoned(job).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn abandon_while_waiting_to_retry() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::raw(503, "text/plain", b""));
    let job = server.connection().submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    job.abandon();
    assert_abandoned(job).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(server.count(THING), 1, "no retry after abandon");
}

#[tokio::test(start_paused = true)]
async fn abandon_while_waiting_on_a_rate_limit() {
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::json(429, json!({"errcode": "M_LIMIT_EXCEEDED"})).with_header("Retry-After", "30"),
    );
    let job = server.connection().submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(job.events().next().await.is_some());
    job.abandon();
    assert_abandoned(job).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(server.count(THING), 1);
}

#[tokio::test(start_paused = true)]
async fn abandon_while_waiting_for_a_slot_frees_nothing_it_did_not_hold() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    server.push(OTHER, Reply::json(200, json!({"ok": true})));
    let conn = Connection::builder(server.url())
        .max_concurrent_jobs(1)
        .build()
        .unwrap();
    let holder = conn.submit(GetThing::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let queued = conn.submit(GetOther::default());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(queued.attempt(), 0, "still waiting for the slot");
    queued.abandon();
    assert_abandoned(queued).await;
    assert_eq!(server.count(OTHER), 0);
    // The slot is still the holder's; once it goes, the next job runs.
    holder.abandon();
    assert_abandoned(holder).await;
    server.push(OTHER, Reply::json(200, json!({"ok": true})));
    assert!(conn.submit(GetOther::default()).await.unwrap().ok);
}

#[tokio::test(start_paused = true)]
async fn abandon_after_finish_changes_nothing() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let job = server.connection().submit(GetThing::default());
    while !job.is_finished() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    job.abandon();
    assert_eq!(job.status(), StatusCode::Success);
    assert!(job.await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn foreground_jobs_get_the_slot_before_background_ones() {
    let server = FakeServer::start().await;
    server.push(
        THING,
        Reply::json(200, json!({"ok": true})).after(Duration::from_secs(1)),
    );
    server.push(OTHER, Reply::json(200, json!({"ok": true})));
    server.push(LONG_POLL, Reply::json(200, json!({"ok": true})));
    let conn = Connection::builder(server.url())
        .max_concurrent_jobs(1)
        .build()
        .unwrap();
    let first = conn.submit(GetThing::default());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let background = conn.submit_with(
        LongPoll { timeout_ms: 0 },
        JobOptions {
            priority: Priority::Background,
            ..Default::default()
        },
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let foreground = conn.submit(GetOther::default());
    let (a, b, c) = tokio::join!(first, background, foreground);
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    let order: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(order[1], OTHER, "foreground first: {order:?}");
    assert!(order[2].starts_with(LONG_POLL));
}

#[test]
fn submitting_outside_a_runtime_is_an_error_not_a_panic() {
    let conn = Connection::builder("http://127.0.0.1:9".parse().unwrap())
        .build()
        .unwrap();
    let job = conn.submit(GetThing::default());
    assert_eq!(job.status(), StatusCode::Unprepared);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = rt.block_on(job).unwrap_err();
    assert_eq!(err.status(), StatusCode::Unprepared);
}

/// A runtime that shuts down drops its tasks, started or not. The handle
/// (awaited elsewhere) must then end with an error and the events must
/// end, instead of waiting forever.
#[test]
fn jobs_whose_runtime_shuts_down_end_instead_of_hanging() {
    // Accepts connections (the kernel's backlog) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (never_ran, in_flight) = first.block_on(async {
        let conn = Connection::builder(url.parse().unwrap()).build().unwrap();
        let in_flight = conn.submit(GetThing::default());
        let events = in_flight.events();
        // Let that job start and send its request.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(in_flight.attempt(), 1);
        // This one's task is spawned but never polled.
        let never_ran = conn.submit(GetThing::default());
        ((never_ran.events(), never_ran), (events, in_flight))
    });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    second.block_on(async {
        for (events, job) in [never_ran, in_flight] {
            let err = tokio::time::timeout(Duration::from_secs(5), job)
                .await
                .expect("the handle does not hang")
                .unwrap_err();
            assert_eq!(err.status(), StatusCode::NetworkError);
            assert!(err.to_string().contains("runtime"), "{err}");
            let seen = tokio::time::timeout(Duration::from_secs(5), collect(events))
                .await
                .expect("the events end");
            assert!(!seen.iter().any(|e| matches!(e, JobEvent::Finished { .. })));
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_terminal_outcome_under_concurrency() {
    let server = FakeServer::start().await;
    const JOBS: usize = 200;
    for i in 0..JOBS {
        let reply =
            Reply::json(200, json!({"ok": true})).after(Duration::from_millis((i % 7) as u64 * 3));
        server.push(THING, reply);
    }
    let conn = server.connection();
    let mut handles = Vec::new();
    for i in 0..JOBS {
        let job = conn.submit(GetThing::default());
        let events = job.events();
        handles.push(tokio::spawn(async move {
            if i % 2 == 0 {
                tokio::time::sleep(Duration::from_millis((i % 11) as u64 * 2)).await;
                job.abandon();
            }
            let status = job.status();
            let outcome = job.await;
            (
                status,
                outcome.map(|_| ()).map_err(|e| e.status()),
                collect(events).await,
            )
        }));
    }
    let (mut succeeded, mut abandoned) = (0, 0);
    for handle in handles {
        let (_, outcome, events) = handle.await.unwrap();
        let finished: Vec<&JobEvent> = events
            .iter()
            .filter(|e| matches!(e, JobEvent::Finished { .. }))
            .collect();
        assert_eq!(finished.len(), 1, "{events:?}");
        let final_status = match events.last() {
            Some(JobEvent::Finished { status }) => *status,
            other => panic!("last event is not Finished: {other:?}"),
        };
        match outcome {
            Ok(()) => {
                assert_eq!(final_status, StatusCode::Success);
                succeeded += 1;
            }
            Err(status) => {
                assert_eq!(status, StatusCode::Abandoned);
                assert_eq!(final_status, StatusCode::Abandoned);
                abandoned += 1;
            }
        }
    }
    assert_eq!(succeeded + abandoned, JOBS);
    assert!(
        succeeded >= JOBS / 2,
        "the jobs that were not abandoned all succeed"
    );
}

//! Jobs waiting for a connection slot, and the bound on connections being
//! opened at once (docs/jobs.md, "Concurrency and priority").

use std::time::Duration;

use quotient::{BackoffStrategy, Connection, JobEvent, JobOptions, StatusCode};
use serde_json::json;
use tokio::time::Instant;

use crate::support::*;

fn unlimited(server: &FakeServer) -> Connection {
    Connection::builder(server.url())
        .max_concurrent_jobs(usize::MAX)
        .build()
        .unwrap()
}

fn one_slot(server: &FakeServer) -> Connection {
    Connection::builder(server.url())
        .max_concurrent_jobs(1)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_jobs_at_once_do_not_open_a_thousand_connections() {
    let server = FakeServer::start_keep_alive().await;
    for _ in 0..1000 {
        server.push(
            THING,
            Reply::json(200, json!({"ok": true})).after(Duration::from_millis(10)),
        );
    }
    let conn = unlimited(&server);
    let jobs: Vec<_> = (0..1000)
        .map(|_| conn.submit(GetThing::default()))
        .collect();
    for job in jobs {
        assert!(job.await.unwrap().ok);
    }
    // Without the bound every job found every connection busy and opened
    // its own (1,000). With it, at most 8 are opened per answer time while
    // earlier ones are reused: some tens, far from a thousand.
    let opened = server.connections();
    assert!((8..=400).contains(&opened), "{opened} connections");
}

#[tokio::test]
async fn long_polls_each_get_a_connection_and_hold_back_nothing() {
    let server = FakeServer::start().await;
    for _ in 0..20 {
        server.push(LONG_POLL, Reply::Stall);
    }
    server.push(THING, Reply::json(200, json!({"ok": true})));
    let conn = unlimited(&server);
    let polls: Vec<_> = (0..20)
        .map(|_| conn.submit(LongPoll { timeout_ms: 30_000 }))
        .collect();
    // Every long-poll is on the wire, though more than the 8 openers.
    let start = Instant::now();
    while server.count(LONG_POLL) < 20 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "long-polls held back"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let job = tokio::time::timeout(Duration::from_secs(5), conn.submit(GetThing::default()));
    assert!(job.await.expect("not held back").unwrap().ok);
    for poll in &polls {
        poll.abandon();
    }
    for poll in polls {
        assert_eq!(poll.await.unwrap_err().status(), StatusCode::Abandoned);
    }
}

#[tokio::test(start_paused = true)]
async fn a_deadline_ends_a_job_still_waiting_for_a_slot() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    let conn = one_slot(&server);
    let holder = conn.submit(GetThing::default());
    tokio::time::sleep(Duration::from_millis(10)).await;
    let options = JobOptions {
        backoff: BackoffStrategy {
            deadline: Some(Duration::from_secs(2)),
            ..Default::default()
        },
        ..Default::default()
    };
    let start = Instant::now();
    let err = conn
        .submit_with(GetOther::default(), options)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::Timeout, "{err}");
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(server.count(OTHER), 0);
    holder.abandon();
}

#[tokio::test]
async fn a_job_abandoned_in_the_queue_has_the_whole_event_order() {
    let server = FakeServer::start().await;
    server.push(THING, Reply::Stall);
    let conn = one_slot(&server);
    let holder = conn.submit(GetThing::default());
    let queued: Vec<_> = (0..100).map(|_| conn.submit(GetOther::default())).collect();
    // Abandoned from the back, the middle and the front of the queue.
    for i in (0..100).rev().step_by(3).chain((0..100).step_by(3)) {
        queued[i].abandon();
    }
    for job in &queued {
        job.abandon();
    }
    for job in queued {
        assert_eq!(job.status(), StatusCode::Abandoned);
        let events = collect(job.events()).await;
        assert_eq!(
            events,
            [
                JobEvent::StatusChanged {
                    status: StatusCode::Pending
                },
                JobEvent::StatusChanged {
                    status: StatusCode::Abandoned
                },
                JobEvent::Finished {
                    status: StatusCode::Abandoned
                },
            ]
        );
        assert_eq!(job.await.unwrap_err().status(), StatusCode::Abandoned);
    }
    assert_eq!(server.count(OTHER), 0);
    // The slot is still there for the next job once the holder goes.
    holder.abandon();
    server.push(OTHER, Reply::json(200, json!({"ok": true})));
    assert!(conn.submit(GetOther::default()).await.unwrap().ok);
}

#[test]
fn queued_jobs_end_when_their_runtime_shuts_down() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (conn, jobs) = runtime.block_on(async {
        let server = FakeServer::start().await;
        server.push(THING, Reply::Stall);
        let conn = one_slot(&server);
        let holder = conn.submit(GetThing::default());
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Thousands queued: their release on shutdown must not recurse.
        let mut jobs: Vec<_> = (0..20_000)
            .map(|_| conn.submit(GetOther::default()))
            .collect();
        jobs.push(holder);
        (conn, jobs)
    });
    drop(runtime);
    let after = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    after.block_on(async {
        for job in jobs {
            let err = tokio::time::timeout(Duration::from_secs(5), job)
                .await
                .expect("no job waits forever")
                .unwrap_err();
            assert_eq!(err.status(), StatusCode::NetworkError, "{err}");
        }
    });
    drop(conn);
}

//! A job's successful body streamed to a sink: what the sink is told, in
//! what order, and what a retry after a cut body does to it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use quotient::api::Bytes;
use quotient::jobs::{BodySink, SinkFuture};
use quotient::{BackoffStrategy, JobEvent, JobOptions, StatusCode};
use quotient_api::{
    AuthRequirement, BuildError, Endpoint, HttpRequest, Media, Metadata, Method, RequestBody,
};
use serde_json::json;

use crate::support::*;

const BLOB: &str = "/_matrix/client/v3/blob";

/// A GET whose answer is bytes (decoded as [`Media`], which reads no body).
#[derive(Debug, Clone)]
struct GetBlob;

impl Endpoint for GetBlob {
    const METADATA: Metadata = Metadata {
        operation_id: "getBlob",
        method: Method::Get,
        path: BLOB,
        auth: AuthRequirement::None,
        rate_limited: false,
        added_in: None,
        deprecated: false,
        idempotent: true,
        response_content_types: &["application/octet-stream"],
        follows_redirects: false,
        server_wait_param: None,
    };
    type Response = Media;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        Ok(HttpRequest {
            method: Method::Get,
            path_and_query: BLOB.into(),
            headers: vec![],
            body: RequestBody::Empty,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Call {
    Begin { restart: bool },
    Write(usize),
    Finish,
}

/// Keeps what it is given and the calls it got.
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    bytes: Arc<Mutex<Vec<u8>>>,
    /// Refuse `begin(restart: true)`, as a writer that cannot rewind.
    cannot_restart: bool,
    /// Fail every write, as a full disk.
    fail_writes: bool,
}

impl Recorder {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn bytes(&self) -> Vec<u8> {
        self.bytes.lock().unwrap().clone()
    }

    fn begins(&self) -> Vec<bool> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Begin { restart } => Some(restart),
                _ => None,
            })
            .collect()
    }
}

impl BodySink for Recorder {
    fn begin(&mut self, restart: bool) -> SinkFuture<'_> {
        self.calls.lock().unwrap().push(Call::Begin { restart });
        let refuse = restart && self.cannot_restart;
        if !refuse {
            self.bytes.lock().unwrap().clear();
        }
        Box::pin(async move {
            if refuse {
                Err(std::io::Error::other("this writer cannot start over"))
            } else {
                Ok(())
            }
        })
    }

    fn write(&mut self, chunk: Bytes) -> SinkFuture<'_> {
        self.calls.lock().unwrap().push(Call::Write(chunk.len()));
        let fail = self.fail_writes;
        if !fail {
            self.bytes.lock().unwrap().extend_from_slice(&chunk);
        }
        Box::pin(async move {
            if fail {
                Err(std::io::Error::other("no space left on the test device"))
            } else {
                Ok(())
            }
        })
    }

    fn finish(&mut self) -> SinkFuture<'_> {
        self.calls.lock().unwrap().push(Call::Finish);
        Box::pin(async { Ok(()) })
    }
}

fn options(retries: u32) -> JobOptions {
    JobOptions {
        backoff: BackoffStrategy {
            idle_timeout: Duration::from_millis(300),
            retry_waits: vec![Duration::from_millis(10)],
            max_retries: retries,
            ..BackoffStrategy::default()
        },
        ..JobOptions::default()
    }
}

/// A 200 whose body stops after two of its chunks; the connection stays
/// open, so the attempt ends by the idle timeout.
fn cut_body() -> Reply {
    Reply::Trickle {
        chunk: 1000,
        chunks: 10,
        every: Duration::from_millis(1),
        stall_after: Some(2),
    }
}

#[tokio::test]
async fn a_successful_body_goes_to_the_sink_not_into_memory() {
    let server = FakeServer::start().await;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    server.push(BLOB, Reply::raw(200, "image/png", &data));
    let sink = Recorder::default();
    let job = server
        .connection()
        .submit_to_sink(GetBlob, sink.clone(), options(0));
    let events = job.events();
    let response = job.await.unwrap();
    assert_eq!(sink.bytes(), data);
    assert!(
        response.body().is_empty(),
        "the body was also kept in memory"
    );
    assert!(response.data.is_empty());
    assert_eq!(response.content_type.as_deref(), Some("image/png"));
    let calls = sink.calls();
    assert_eq!(calls.first(), Some(&Call::Begin { restart: false }));
    assert_eq!(calls.last(), Some(&Call::Finish));
    let progress: Vec<u64> = collect(events)
        .await
        .into_iter()
        .filter_map(|e| match e {
            JobEvent::DownloadProgress { received, total } => {
                assert_eq!(total, Some(data.len() as u64));
                Some(received)
            }
            _ => None,
        })
        .collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
    assert_eq!(progress.last(), Some(&(data.len() as u64)));
}

#[tokio::test]
async fn a_retry_after_a_cut_body_starts_the_sink_over() {
    let server = FakeServer::start().await;
    server.push(BLOB, cut_body());
    server.push(BLOB, Reply::raw(200, "text/plain", b"the whole thing"));
    let sink = Recorder::default();
    server
        .connection()
        .submit_to_sink(GetBlob, sink.clone(), options(1))
        .await
        .unwrap();
    assert_eq!(sink.begins(), [false, true]);
    assert_eq!(sink.bytes(), b"the whole thing");
    assert_eq!(server.count(BLOB), 2);
}

#[tokio::test]
async fn a_sink_that_cannot_start_over_fails_the_job_clearly() {
    let server = FakeServer::start().await;
    server.push(BLOB, cut_body());
    server.push(BLOB, Reply::raw(200, "text/plain", b"the whole thing"));
    server.push(BLOB, Reply::raw(200, "text/plain", b"the whole thing"));
    let sink = Recorder {
        cannot_restart: true,
        ..Recorder::default()
    };
    let err = server
        .connection()
        .submit_to_sink(GetBlob, sink.clone(), options(2))
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::FileError);
    assert!(err.message().contains("cannot start over"), "{err}");
    // Not retried again: the same sink would refuse the same way.
    assert_eq!(server.count(BLOB), 2);
    assert_eq!(sink.begins(), [false, true]);
    assert_eq!(sink.bytes().len(), 2000, "only the first, cut body");
}

#[tokio::test]
async fn a_failing_sink_ends_the_job_at_once() {
    let server = FakeServer::start().await;
    server.push(BLOB, Reply::raw(200, "text/plain", b"bytes"));
    server.push(BLOB, Reply::raw(200, "text/plain", b"bytes"));
    let sink = Recorder {
        fail_writes: true,
        ..Recorder::default()
    };
    let err = server
        .connection()
        .submit_to_sink(GetBlob, sink, options(3))
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::FileError);
    assert!(err.message().contains("no space left"), "{err}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.count(BLOB), 1);
}

#[tokio::test]
async fn an_error_answer_never_reaches_the_sink() {
    let server = FakeServer::start().await;
    server.push(
        BLOB,
        Reply::json(
            404,
            json!({"errcode": "M_NOT_FOUND", "error": "no such media"}),
        ),
    );
    let sink = Recorder::default();
    let err = server
        .connection()
        .submit_to_sink(GetBlob, sink.clone(), options(0))
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NotFound);
    assert_eq!(err.server_error(), Some("no such media"));
    assert!(sink.calls().is_empty(), "{:?}", sink.calls());
}

#[tokio::test]
async fn the_body_cap_still_applies_to_a_sink() {
    let server = FakeServer::start().await;
    server.push(
        BLOB,
        Reply::Stream {
            claimed: None,
            stream: 200_000,
        },
    );
    let sink = Recorder::default();
    let err = server
        .connection()
        .submit_to_sink(
            GetBlob,
            sink.clone(),
            JobOptions {
                max_body_size: 100_000,
                ..options(0)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert!(sink.bytes().len() <= 100_000);
}

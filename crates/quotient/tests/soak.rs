//! Fault soak: many jobs through one connection against a loopback server
//! that injects a fault into each job's first attempt. Every job must end
//! exactly once with the status its fault implies; no POST may be resent
//! after it may have reached the server; no tasks may leak; memory must
//! stay flat.
//!
//! Quick run (part of scripts/test): 4,000 jobs.
//! Full run: `QUOTIENT_SOAK_JOBS=100000 cargo test --release -p quotient --test soak -- --nocapture`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use quotient::api::{
    decode_json, AuthRequirement, BuildError, DecodeError, Endpoint, HttpRequest, IncomingResponse,
    Metadata, Method, RequestBody, ResponseParts,
};
use quotient::{BackoffStrategy, Connection, JobEvent, JobOptions, RateLimitPolicy, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Fault {
    None,
    RateLimitSeconds,
    RateLimitDate,
    RateLimitMs,
    ServerError,
    Html200,
    ResetBeforeBody,
    ResetAfterBody,
    Stall,
    TruncatedJson,
    MalformedJson,
}

const FAULTS: [Fault; 11] = [
    Fault::None,
    Fault::RateLimitSeconds,
    Fault::RateLimitDate,
    Fault::RateLimitMs,
    Fault::ServerError,
    Fault::Html200,
    Fault::ResetBeforeBody,
    Fault::ResetAfterBody,
    Fault::Stall,
    Fault::TruncatedJson,
    Fault::MalformedJson,
];

impl Fault {
    fn from_index(i: usize) -> Self {
        FAULTS[i % FAULTS.len()]
    }

    /// (final status, requests the server sees, outcome unknown)
    fn expected(self, idempotent: bool) -> (StatusCode, usize, bool) {
        use Fault::*;
        use StatusCode as S;
        match (self, idempotent) {
            (None, _) => (S::Success, 1, false),
            (RateLimitSeconds | RateLimitDate | RateLimitMs, _) => (S::Success, 2, false),
            // A 2xx that does not decode is not resent, whatever the method.
            (Html200 | MalformedJson, _) => (S::IncorrectResponse, 1, false),
            (_, true) => (S::Success, 2, false),
            (ServerError | ResetBeforeBody | ResetAfterBody | TruncatedJson, false) => {
                (S::NetworkError, 1, true)
            }
            (Stall, false) => (S::Timeout, 1, true),
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct Ok_ {
    #[allow(dead_code)]
    ok: bool,
}

impl IncomingResponse for Ok_ {
    fn decode(parts: &ResponseParts<'_>) -> Result<Self, DecodeError> {
        decode_json(parts.body)
    }
}

macro_rules! soak_endpoint {
    ($name:ident, $method:ident) => {
        #[derive(Clone, Debug)]
        struct $name {
            id: usize,
            fault: usize,
        }
        impl Endpoint for $name {
            const METADATA: Metadata = Metadata {
                operation_id: stringify!($name),
                method: Method::$method,
                path: "/_matrix/client/v3/soak/{id}/{fault}",
                auth: AuthRequirement::None,
                rate_limited: true,
                added_in: None,
                deprecated: false,
                idempotent: Metadata::idempotent_by_method(Method::$method),
                response_content_types: &["application/json"],
                follows_redirects: false,
                server_wait_param: None,
            };
            type Response = Ok_;
            fn build(&self) -> Result<HttpRequest, BuildError> {
                Ok(HttpRequest {
                    method: Method::$method,
                    path_and_query: format!("/_matrix/client/v3/soak/{}/{}", self.id, self.fault),
                    headers: vec![],
                    body: RequestBody::json(&serde_json::json!({"id": self.id, "pad": "x".repeat(512)}))?,
                })
            }
        }
    };
}
soak_endpoint!(SoakGet, Get);
soak_endpoint!(SoakPost, Post);

type Hits = Arc<Mutex<HashMap<usize, usize>>>;

async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, usize)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let length = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            return Some((head, length));
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn read_body(stream: &mut TcpStream, buf: &mut Vec<u8>, length: usize) -> Option<()> {
    let mut chunk = [0u8; 4096];
    while buf.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.drain(..length);
    Some(())
}

fn answer(status: u16, content_type: &str, extra: &str, body: &str) -> String {
    format!("HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n{body}", body.len())
}

/// One keep-alive connection: requests until a fault closes it.
async fn serve(mut stream: TcpStream, hits: Hits) {
    let mut buf = Vec::new();
    loop {
        let Some((head, length)) = read_head(&mut stream, &mut buf).await else {
            return;
        };
        let path = head.split(' ').nth(1).unwrap_or("");
        let mut parts = path.rsplit('/');
        let fault = parts
            .next()
            .and_then(|f| f.parse::<usize>().ok())
            .map(Fault::from_index)
            .unwrap_or(Fault::None);
        let id: usize = parts
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or(usize::MAX);
        let first = {
            let mut hits = hits.lock().unwrap();
            let n = hits.entry(id).or_insert(0);
            *n += 1;
            *n == 1
        };
        let fault = if first { fault } else { Fault::None };
        if fault == Fault::ResetBeforeBody {
            let _ = stream.set_zero_linger();
            return;
        }
        if read_body(&mut stream, &mut buf, length).await.is_none() {
            return;
        }
        let ok = answer(200, "application/json", "", r#"{"ok":true}"#);
        let reply = match fault {
            Fault::None => ok,
            Fault::RateLimitSeconds => answer(
                429,
                "application/json",
                "Retry-After: 0\r\n",
                r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":5000}"#,
            ),
            Fault::RateLimitDate => {
                let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(5));
                answer(
                    429,
                    "application/json",
                    &format!("Retry-After: {past}\r\n"),
                    r#"{"errcode":"M_LIMIT_EXCEEDED"}"#,
                )
            }
            Fault::RateLimitMs => answer(
                429,
                "application/json",
                "",
                r#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":1}"#,
            ),
            Fault::ServerError => answer(503, "text/html", "", "<html>busy</html>"),
            Fault::Html200 => answer(200, "text/html", "", "<html>a login portal</html>"),
            Fault::MalformedJson => answer(200, "application/json", "", r#"{"ok": tr"#),
            Fault::ResetAfterBody => {
                let _ = stream.set_zero_linger();
                return;
            }
            Fault::Stall => {
                // Hold the connection until the client gives up on it.
                let mut sink = [0u8; 64];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
            Fault::TruncatedJson => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ok\":").await;
                return;
            }
            Fault::ResetBeforeBody => unreachable!(),
        };
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_soak() {
    let jobs: usize = std::env::var("QUOTIENT_SOAK_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000);
    let deadline = Instant::now() + Duration::from_secs(120);
    let baseline_tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url: url::Url = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let hits: Hits = Arc::default();
    let server_hits = hits.clone();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(stream, server_hits.clone()));
        }
    });

    let options = JobOptions {
        backoff: BackoffStrategy {
            // A fault hits only a job's first attempt: 1 s keeps the first
            // attempt's stalls brief, and every later attempt (always a
            // healthy answer) gets 5 s, so a loaded machine cannot time it
            // out and break the expected hit counts (a retry that timed
            // out at 1 s while a build ran once made a GET hit 3 times).
            attempt_timeouts: vec![Duration::from_secs(1), Duration::from_secs(5)],
            retry_waits: vec![Duration::from_millis(1)],
            max_retries: 3,
            ..BackoffStrategy::default()
        },
        rate_limit: RateLimitPolicy {
            max_wait: Duration::from_secs(1),
            max_rounds: 3,
        },
        ..JobOptions::default()
    };
    // Enough slots that a batch's stalled jobs time out together instead
    // of queueing behind each other.
    let conn = Connection::builder(url)
        .max_concurrent_jobs(512)
        .job_options(options)
        .build()
        .unwrap();

    // Stalls cost one attempt timeout per batch: fewer, bigger batches
    // for big runs keep the whole soak within its two minutes.
    let batch = (jobs / 50).max(500);
    let mut checked = 0usize;
    let mut by_status: HashMap<StatusCode, usize> = HashMap::new();
    let mut rss_after_warmup = 0;
    let mut id = 0usize;
    while id < jobs {
        assert!(
            Instant::now() < deadline,
            "the soak must finish within 2 minutes ({checked} jobs done)"
        );
        let mut handles = Vec::with_capacity(batch);
        for _ in 0..batch.min(jobs - id) {
            let fault = fastrand::usize(..FAULTS.len() * 7);
            let post = fastrand::bool();
            let (job, events) = if post {
                let job = conn.submit(SoakPost { id, fault });
                let events = job.events();
                (
                    tokio::spawn(async move {
                        job.await
                            .map(|_| ())
                            .map_err(|e| (e.status(), e.outcome_unknown()))
                    }),
                    events,
                )
            } else {
                let job = conn.submit(SoakGet { id, fault });
                let events = job.events();
                (
                    tokio::spawn(async move {
                        job.await
                            .map(|_| ())
                            .map_err(|e| (e.status(), e.outcome_unknown()))
                    }),
                    events,
                )
            };
            handles.push((id, Fault::from_index(fault), !post, job, events));
            id += 1;
        }
        for (id, fault, idempotent, job, mut events) in handles {
            let outcome = job.await.expect("no panic in a job");
            let (status, unknown) = match outcome {
                Ok(()) => (StatusCode::Success, false),
                Err(e) => e,
            };
            let (want_status, want_hits, want_unknown) = fault.expected(idempotent);
            let got_hits = hits.lock().unwrap().get(&id).copied().unwrap_or(0);
            assert_eq!(
                (status, got_hits, unknown),
                (want_status, want_hits, want_unknown),
                "job {id}: {fault:?} {}",
                if idempotent { "GET" } else { "POST" }
            );
            let mut finished = 0;
            let mut last = None;
            while let Some(event) = events.next().await {
                if let JobEvent::Finished { status } = event {
                    finished += 1;
                    last = Some(status);
                }
            }
            assert_eq!(
                (finished, last),
                (1, Some(status)),
                "job {id} ends exactly once"
            );
            *by_status.entry(status).or_default() += 1;
            checked += 1;
        }
        if rss_after_warmup == 0 && checked >= jobs / 4 {
            rss_after_warmup = rss_kib();
        }
    }
    let rss_end = rss_kib();
    drop(conn);
    server.abort();
    // Let connection tasks notice the closed sockets.
    let settle = Instant::now();
    let mut alive = usize::MAX;
    while settle.elapsed() < Duration::from_secs(5) {
        alive = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        if alive <= baseline_tasks {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = Duration::from_secs(120) - deadline.saturating_duration_since(Instant::now());
    println!(
        "soak: {checked} jobs in {:.1} s, outcomes {by_status:?}, RSS after 25% {} KiB, at end {} KiB, tasks alive after {alive} (baseline {baseline_tasks})",
        elapsed.as_secs_f64(),
        rss_after_warmup,
        rss_end
    );
    assert_eq!(checked, jobs);
    assert!(
        alive <= baseline_tasks,
        "{alive} tasks alive after the soak, {baseline_tasks} before"
    );
    assert!(
        rss_end <= rss_after_warmup + 32 * 1024,
        "memory grew from {rss_after_warmup} KiB to {rss_end} KiB"
    );
}

//! Test fixtures: a scriptable HTTP/1.1 server on 127.0.0.1, plus the
//! hand-written endpoints of `endpoints.rs`. The server runs on the
//! test's own runtime, so tests with Tokio's paused clock stay
//! deterministic.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quotient::{Connection, JobEvent, JobEvents};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// An answer with status, extra headers and body.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then reset the connection before any byte.
    Reset,
    /// Read the request, then never answer.
    Stall,
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
    /// A 200 head claiming `claimed` bytes (if any), then `stream` bytes of
    /// filler written in chunks, without buffering them.
    Stream { claimed: Option<u64>, stream: u64 },
    /// A 200 `{"ok":true}` whose body (padded with leading whitespace to
    /// `chunks` × `chunk` bytes) is written one chunk every `every`; with
    /// `stall_after`, the body stops after that many chunks and the
    /// connection stays open.
    Trickle {
        chunk: usize,
        chunks: usize,
        every: Duration,
        stall_after: Option<usize>,
    },
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn raw(status: u16, content_type: &str, body: &[u8]) -> Self {
        Self::Answer {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.to_vec(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Self::Answer { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    pub fn after(self, wait: Duration) -> Self {
        Self::Delay(wait, Box::new(self))
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the server reads a request body: at most `bytes_per_sec` on
/// average, and with `stall_after` it stops reading after that many bytes.
#[derive(Clone, Copy, Debug)]
pub struct ReadPace {
    pub bytes_per_sec: u64,
    pub stall_after: Option<usize>,
}

#[derive(Default)]
struct Shared {
    script: HashMap<String, VecDeque<Reply>>,
    requests: Vec<Recorded>,
    paces: HashMap<String, ReadPace>,
    /// Answers leave the connection open for the next request.
    keep_alive: bool,
}

pub struct FakeServer {
    pub addr: std::net::SocketAddr,
    shared: Arc<Mutex<Shared>>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeServer {
    pub async fn start() -> Self {
        Self::serve_on(TcpListener::bind("127.0.0.1:0").await.unwrap())
    }

    /// A server whose sockets have small receive buffers, so that a
    /// client sending faster than the server reads is held back by TCP
    /// instead of filling kernel buffers.
    pub async fn start_with_small_buffers() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        Self::serve_on(socket.listen(16).unwrap())
    }

    /// A server that keeps connections open after an answer (the others
    /// close them, so every request is a connection of its own).
    pub async fn start_keep_alive() -> Self {
        let server = Self::start().await;
        server.shared.lock().unwrap().keep_alive = true;
        server
    }

    fn serve_on(listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let accept_shared = shared.clone();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::spawn(serve(stream, accept_shared.clone()));
            }
        });
        Self {
            addr,
            shared,
            accepted,
        }
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn url(&self) -> url::Url {
        format!("http://{}", self.addr).parse().unwrap()
    }

    /// Queues `reply` for the next request to `path` (without query).
    pub fn push(&self, path: &str, reply: Reply) -> &Self {
        self.shared
            .lock()
            .unwrap()
            .script
            .entry(path.into())
            .or_default()
            .push_back(reply);
        self
    }

    /// Reads request bodies for `path` at `pace` from now on.
    pub fn read_slowly(&self, path: &str, pace: ReadPace) -> &Self {
        self.shared.lock().unwrap().paces.insert(path.into(), pace);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.target.split('?').next() == Some(path))
            .count()
    }

    pub fn connection(&self) -> Connection {
        Connection::builder(self.url()).build().unwrap()
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let keep_alive = shared.lock().unwrap().keep_alive;
    while let Some(request) = read_request(&mut stream, &shared).await {
        if !answer(&mut stream, &shared, request, keep_alive).await {
            return;
        }
    }
}

async fn answer(
    stream: &mut TcpStream,
    shared: &Mutex<Shared>,
    request: Recorded,
    keep_alive: bool,
) -> bool {
    let path = request.target.split('?').next().unwrap_or("").to_owned();
    let reply = {
        let mut shared = shared.lock().unwrap();
        shared.requests.push(request);
        shared.script.get_mut(&path).and_then(VecDeque::pop_front)
    };
    let reply = reply.unwrap_or_else(|| {
        Reply::json(
            404,
            serde_json::json!({"errcode": "M_UNRECOGNIZED", "error": "no script"}),
        )
    });
    act(stream, reply, keep_alive).await
}

/// Carries out `reply`; returns whether the connection stays open for
/// another request (only after an answer, on a keep-alive server).
async fn act(stream: &mut TcpStream, reply: Reply, keep_alive: bool) -> bool {
    let mut reply = reply;
    loop {
        match reply {
            Reply::Delay(wait, inner) => {
                tokio::time::sleep(wait).await;
                reply = *inner;
            }
            Reply::Stall => {
                std::future::pending::<()>().await;
            }
            Reply::Reset => {
                // SO_LINGER 0 makes close() send RST instead of FIN.
                let _ = stream.set_zero_linger();
                return false;
            }
            Reply::Stream {
                claimed,
                stream: total,
            } => {
                let length = claimed
                    .map(|c| format!("Content-Length: {c}\r\n"))
                    .unwrap_or_default();
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return false;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut sent = 0u64;
                while sent < total {
                    let n = chunk.len().min((total - sent) as usize);
                    if stream.write_all(&chunk[..n]).await.is_err() {
                        return false; // the client hung up, as it should
                    }
                    sent += n as u64;
                }
                let _ = stream.shutdown().await;
                return false;
            }
            Reply::Trickle {
                chunk,
                chunks,
                every,
                stall_after,
            } => {
                let json = br#"{"ok":true}"#;
                let total = chunk * chunks;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return false;
                }
                let mut body = vec![b' '; total];
                body[total - json.len()..].copy_from_slice(json);
                for (i, piece) in body.chunks(chunk).enumerate() {
                    if stall_after == Some(i) {
                        std::future::pending::<()>().await;
                    }
                    tokio::time::sleep(every).await;
                    if stream.write_all(piece).await.is_err() {
                        return false;
                    }
                }
                let _ = stream.shutdown().await;
                return false;
            }
            Reply::Answer {
                status,
                headers,
                body,
            } => {
                let close = if keep_alive {
                    ""
                } else {
                    "Connection: close\r\n"
                };
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n{close}",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let written = stream.write_all(head.as_bytes()).await.is_ok()
                    && stream.write_all(&body).await.is_ok();
                if keep_alive && written {
                    return true;
                }
                let _ = stream.shutdown().await;
                return false;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream, shared: &Mutex<Shared>) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let path = target.split('?').next().unwrap_or("");
    let pace = shared.lock().unwrap().paces.get(path).copied();
    let mut body = buf[head_end + 4..].to_vec();
    let started = tokio::time::Instant::now();
    while body.len() < length {
        if let Some(pace) = pace {
            if pace.stall_after.is_some_and(|n| body.len() >= n) {
                std::future::pending::<()>().await;
            }
            let due = Duration::from_secs_f64(body.len() as f64 / pace.bytes_per_sec as f64);
            tokio::time::sleep_until(started + due).await;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

/// Collects every event of a job until `Finished`.
pub async fn collect(mut events: JobEvents) -> Vec<JobEvent> {
    let mut out = Vec::new();
    while let Some(e) = events.next().await {
        out.push(e);
    }
    out
}

pub use crate::endpoints::*;

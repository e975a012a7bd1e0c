//! A tiny HTTP/1.1 homeserver stub on 127.0.0.1: each request is answered
//! by a closure, or held open (a long-poll that never ends) until the
//! client gives up. Every request's method and path are recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use quotient::{Connection, JobOptions, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the stub does with one request.
pub enum Reply {
    /// Answers with this status and JSON body.
    Json(u16, serde_json::Value),
    /// Never answers (until the client closes the connection).
    Hang,
    /// Sends the status line and headers of this JSON answer (with its
    /// full `content-length`), then half of the body, then closes.
    CutBody(u16, serde_json::Value),
    /// Closes the connection before sending any byte.
    Close,
}

type Handler = dyn Fn(&str, &str) -> Reply + Send + Sync;

pub struct Stub {
    pub url: url::Url,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    /// Starts a stub whose `handler(method, path_and_query)` answers.
    pub async fn start(handler: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = Arc::clone(&requests);
        tokio::spawn(async move {
            // Bounded: a test makes a handful of connections.
            for _ in 0..200 {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(stream, Arc::clone(&handler), Arc::clone(&seen)));
            }
        });
        Stub { url, requests }
    }

    /// "METHOD /path?query" of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.split(' ').nth(1).is_some_and(|p| p.starts_with(prefix)))
            .collect()
    }

    /// A connection signed in as `@me:stub` (no retries by the engine, so
    /// the sync loop's own back-off is what is tested).
    pub fn connection(&self) -> Connection {
        let mut options = JobOptions::default();
        options.backoff.max_retries = 0;
        let conn = Connection::builder(self.url.clone())
            .allow_insecure_http(true)
            .job_options(options)
            .build()
            .unwrap();
        conn.adopt_session(Session {
            homeserver: self.url.clone(),
            user_id: "@me:stub".parse().unwrap(),
            device_id: "DEV".into(),
            access_token: "stub-token".into(),
            refresh_token: None,
            soft_logout: false,
        });
        conn
    }

    /// Waits (at most 10 s) until `count` requests to `prefix` were seen.
    pub async fn wait_for(&self, prefix: &str, count: usize) {
        for _ in 0..1000 {
            if self.requests_to(prefix).len() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "fewer than {count} requests to {prefix}: {:?}",
            self.requests()
        );
    }
}

async fn serve(mut stream: TcpStream, handler: Arc<Handler>, seen: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    loop {
        // Read one request head, then its body (Content-Length only).
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        let mut words = head.split_whitespace();
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        seen.lock().unwrap().push(format!("{method} {path}"));
        match handler(method, path) {
            Reply::Json(status, body) => {
                let body = body.to_string();
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
            Reply::CutBody(status, body) => {
                let body = body.to_string();
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body.as_bytes()[..body.len() / 2]).await;
                let _ = stream.flush().await;
                return;
            }
            Reply::Close => return,
            Reply::Hang => {
                // Until the client hangs up.
                let mut chunk = [0u8; 64];
                while let Ok(n) = stream.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                }
                return;
            }
        }
    }
}

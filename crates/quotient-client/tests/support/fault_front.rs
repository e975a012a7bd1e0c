//! An HTTP/1.1 front on 127.0.0.1 before a real server, for faults a
//! real server does not produce on demand: answering `500` (or another
//! error, once) to the requests whose line starts with a given prefix
//! while switched on.
//! Every other request goes to the server unchanged (one connection per
//! request, `Connection: close`), its answer back unchanged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct State {
    prefix: Mutex<String>,
    failing: AtomicBool,
    failed: AtomicU64,
    // The answer while failing: status and errcode.
    answer: Mutex<(u16, String)>,
    // Fail only this many more times (u64::MAX: until switched off).
    left: AtomicU64,
}

pub struct FaultFront {
    pub url: url::Url,
    state: Arc<State>,
}

impl FaultFront {
    /// Starts a front for `upstream`; requests whose line starts with
    /// `prefix` (`"PUT /_matrix/client/v3/room_keys/keys"`) fail while
    /// [`fail`](Self::fail) is on.
    pub async fn start(upstream: SocketAddr, prefix: &str) -> FaultFront {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let state = Arc::new(State {
            prefix: Mutex::new(prefix.to_owned()),
            failing: AtomicBool::new(false),
            failed: AtomicU64::new(0),
            answer: Mutex::new((500, "M_UNKNOWN".to_owned())),
            left: AtomicU64::new(u64::MAX),
        });
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream, shared.clone()));
            }
        });
        FaultFront { url, state }
    }

    /// Whether matching requests get a 500 from now on.
    pub fn fail(&self, on: bool) {
        self.state.failing.store(on, Ordering::SeqCst);
    }

    /// The next matching request (only) gets `status` with `errcode`.
    pub fn fail_once_with(&self, status: u16, errcode: &str) {
        *self.state.answer.lock().unwrap() = (status, errcode.to_owned());
        self.state.left.store(1, Ordering::SeqCst);
        self.state.failing.store(true, Ordering::SeqCst);
    }

    /// How many requests got a 500 so far.
    pub fn failed(&self) -> u64 {
        self.state.failed.load(Ordering::SeqCst)
    }
}

/// Reads one request (head and `content-length` body), answers or
/// forwards it, then closes.
async fn serve(mut client: TcpStream, upstream: SocketAddr, state: Arc<State>) {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let Ok(n) = client.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 8192];
        let Ok(n) = client.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let matches = head.starts_with(state.prefix.lock().unwrap().as_str());
    if matches && state.failing.load(Ordering::SeqCst) {
        state.failed.fetch_add(1, Ordering::SeqCst);
        if state.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            state.failing.store(false, Ordering::SeqCst);
        }
        let (status, errcode) = state.answer.lock().unwrap().clone();
        let body = format!(r#"{{"errcode":"{errcode}","error":"injected"}}"#);
        let answer = format!(
            "HTTP/1.1 {status} Injected\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        let _ = client.write_all(answer.as_bytes()).await;
        let _ = client.write_all(body.as_bytes()).await;
        return;
    }
    // Forward with `Connection: close`, so the answer ends at EOF.
    let mut forwarded = String::new();
    for line in head[..head_end - 4].split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("connection: close\r\n\r\n");
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(forwarded.as_bytes()).await.is_err()
        || server.write_all(&buf[head_end..]).await.is_err()
    {
        return;
    }
    let _ = tokio::io::copy(&mut server, &mut client).await;
    let _ = client.shutdown().await;
}

//! A TCP proxy on 127.0.0.1 in front of a real server, for the faults a
//! real server does not produce on demand: being unreachable (the port
//! refuses connections), and connections cut in the middle of an answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does, shared with its tasks.
struct Faults {
    /// The chance (0.0 – 1.0) that an answer is cut after its first half chunk.
    cut_ratio: Mutex<f64>,
    /// Cut the next answer that begins, whatever the ratio.
    cut_next: AtomicBool,
    rng: Mutex<fastrand::Rng>,
    cuts: AtomicU64,
    answers: AtomicU64,
    connections: AtomicU64,
    closing: AtomicBool,
    /// Every byte clients sent, when asked to keep them.
    captured: Mutex<Option<Vec<u8>>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    upstream: SocketAddr,
    faults: Arc<Faults>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts forwarding 127.0.0.1:<free port> to `upstream`.
    pub async fn start(upstream: SocketAddr, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(Faults {
            cut_ratio: Mutex::new(0.0),
            cut_next: AtomicBool::new(false),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            cuts: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            captured: Mutex::new(None),
        });
        let accept = Some(tokio::spawn(accept_loop(
            listener,
            upstream,
            faults.clone(),
        )));
        Proxy {
            addr,
            upstream,
            faults,
            accept,
        }
    }

    pub fn url(&self) -> url::Url {
        format!("http://{}", self.addr).parse().unwrap()
    }

    /// Cuts this share of answers mid-way from now on.
    pub fn cut_answers(&self, ratio: f64) {
        *self.faults.cut_ratio.lock().unwrap() = ratio;
    }

    /// Cuts the next answer that begins, once.
    pub fn cut_next_answer(&self) {
        self.faults.cut_next.store(true, Ordering::SeqCst);
    }

    /// The port stops listening (connections are refused) and open
    /// connections are closed.
    pub fn go_down(&mut self) {
        self.faults.closing.store(true, Ordering::SeqCst);
        if let Some(task) = self.accept.take() {
            task.abort();
        }
    }

    /// Listens on the same port again.
    pub async fn come_back(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.faults.closing.store(false, Ordering::SeqCst);
        self.accept = Some(tokio::spawn(accept_loop(
            listener,
            self.upstream,
            self.faults.clone(),
        )));
    }

    /// Answers cut so far, answers begun so far, connections accepted.
    /// Keeps every byte clients send from now on (requests: lines,
    /// headers, bodies), for [`sent_bytes`](Self::sent_bytes).
    pub fn capture(&self) {
        *self.faults.captured.lock().unwrap() = Some(Vec::new());
    }

    /// What clients sent since [`capture`](Self::capture).
    pub fn sent_bytes(&self) -> Vec<u8> {
        self.faults
            .captured
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_default()
    }

    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.faults.cuts.load(Ordering::SeqCst),
            self.faults.answers.load(Ordering::SeqCst),
            self.faults.connections.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.go_down();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, faults: Arc<Faults>) {
    while let Ok((client, _)) = listener.accept().await {
        faults.connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(relay(client, upstream, faults.clone()));
    }
}

/// Relays one connection. An answer begins with the first server bytes
/// after the client sent something; that is where a cut may fall.
async fn relay(client: TcpStream, upstream: SocketAddr, faults: Arc<Faults>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let asked = Arc::new(AtomicBool::new(false));
    let asked_up = asked.clone();
    let faults_up = faults.clone();
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if faults_up.closing.load(Ordering::SeqCst) {
                return;
            }
            asked_up.store(true, Ordering::SeqCst);
            if let Some(kept) = faults_up.captured.lock().unwrap().as_mut() {
                kept.extend_from_slice(&buf[..n]);
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if faults.closing.load(Ordering::SeqCst) {
            break;
        }
        if asked.swap(false, Ordering::SeqCst) {
            faults.answers.fetch_add(1, Ordering::SeqCst);
            let ratio = *faults.cut_ratio.lock().unwrap();
            let once = faults.cut_next.swap(false, Ordering::SeqCst);
            if once || (ratio > 0.0 && faults.rng.lock().unwrap().f64() < ratio) {
                faults.cuts.fetch_add(1, Ordering::SeqCst);
                let _ = client_write.write_all(&buf[..n / 2]).await;
                break;
            }
        }
        if client_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    up.abort();
}

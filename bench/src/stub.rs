//! A loopback stub homeserver: canned Client-Server answers, TCP_NODELAY,
//! HTTP/1.1 keep-alive. It runs on its own runtime thread so clients and
//! server do not share an executor.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const VERSIONS: &str = r#"{"versions":["r0.6.1","v1.1","v1.2","v1.3","v1.4","v1.5","v1.6","v1.7","v1.8","v1.9","v1.10","v1.11"],"unstable_features":{"org.matrix.msc3882":true,"org.matrix.e2e_cross_signing":true}}"#;
const FLOWS: &str = r#"{"flows":[{"type":"m.login.password"},{"type":"m.login.token","get_login_token":true}]}"#;
const LOGIN: &str = r#"{"user_id":"@bench:localhost","access_token":"syt_YmVuY2g_bench_token","device_id":"BENCHDEV","home_server":"localhost"}"#;
const CAPABILITIES: &str = r#"{"capabilities":{"m.change_password":{"enabled":true},"m.get_login_token":{"enabled":true},"m.room_versions":{"default":"10","available":{"10":"stable","11":"stable"}}}}"#;
const WHOAMI: &str = r#"{"user_id":"@bench:localhost","device_id":"BENCHDEV","is_guest":false}"#;
const UIA: &str = r#"{"flows":[{"stages":["m.login.password"]}],"params":{},"session":"benchsession"}"#;
const TOKEN: &str = r#"{"login_token":"syl_bench_login_token","expires_in_ms":120000}"#;

fn json(status: u16, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid response")
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    Ok(match (method.as_str(), path.as_str()) {
        ("GET", "/_matrix/client/versions") => json(200, VERSIONS),
        ("GET", "/_matrix/client/v3/login") => json(200, FLOWS),
        ("POST", "/_matrix/client/v3/login") => json(200, LOGIN),
        ("GET", "/_matrix/client/v3/capabilities") => json(200, CAPABILITIES),
        ("GET", "/_matrix/client/v3/account/whoami") => json(200, WHOAMI),
        ("POST", "/_matrix/client/v1/login/get_token") => {
            // UIA: the first step (no `auth`) gets the challenge.
            if memchr(b"\"auth\"", &body) {
                json(200, TOKEN)
            } else {
                json(401, UIA)
            }
        }
        ("GET", "/_matrix/client/v3/sync") if query.contains("timeout=") => {
            // A long-poll that never answers: held until the client goes.
            std::future::pending::<()>().await;
            unreachable!()
        }
        _ => json(404, r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#),
    })
}

fn memchr(needle: &[u8], haystack: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

static ACCEPTED: AtomicUsize = AtomicUsize::new(0);
static OPEN: AtomicUsize = AtomicUsize::new(0);
static MOST_OPEN: AtomicUsize = AtomicUsize::new(0);

/// Connections accepted and the most open at once since the last call.
pub fn take_connection_counts() -> (usize, usize) {
    (ACCEPTED.swap(0, Ordering::SeqCst), MOST_OPEN.swap(OPEN.load(Ordering::SeqCst), Ordering::SeqCst))
}

/// Starts the stub on its own thread and runtime; returns its address.
pub fn start() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("stub".into()).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send addr");
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                ACCEPTED.fetch_add(1, Ordering::SeqCst);
                let open = OPEN.fetch_add(1, Ordering::SeqCst) + 1;
                MOST_OPEN.fetch_max(open, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handle))
                        .await;
                    OPEN.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
    }).expect("the stub thread starts");
    rx.recv().expect("the stub starts")
}

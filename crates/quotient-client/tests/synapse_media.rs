//! Media against a real Synapse: an upload and download round trip with
//! progress, a 20 MB upload through a throttled proxy that outlives the
//! attempt timeout, a download redirected to another port (where the
//! token must not go), and an upload over the server's limit that is
//! refused before anything is sent.
//!
//! Run in one process (the tests share the servers):
//! `cargo test -p quotient-client --test synapse_media`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
#[path = "../../quotient/tests/synapse/png.rs"]
mod png;
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use homeserver::{fresh_user, homeserver, Config};
use quotient::{BackoffStrategy, Connection, JobEvent, JobOptions, StatusCode};
use quotient_client::media::MxcUri;
use quotient_client::{Client, Error};
use support::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use url::Url;

/// A fresh user signed in through `url` (Synapse, or a proxy before it).
async fn client_at(config: Config, url: Url, prefix: &'static str) -> Client {
    let hs = tokio::task::spawn_blocking(move || homeserver(config))
        .await
        .unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap();
    let conn = Connection::builder(url).build().unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap();
    Client::in_memory(conn).unwrap()
}

async fn synapse(config: Config) -> &'static homeserver::Homeserver {
    tokio::task::spawn_blocking(move || homeserver(config))
        .await
        .unwrap()
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(u64::from(seed));
    (0..len).map(|_| rng.u8(..)).collect()
}

/// The progress of one kind in `events`: increasing, and the last is the
/// whole size.
fn progress(events: &[JobEvent], upload: bool) -> Vec<(u64, Option<u64>)> {
    events
        .iter()
        .filter_map(|e| match (e, upload) {
            (JobEvent::UploadProgress { sent, total }, true) => Some((*sent, Some(*total))),
            (JobEvent::DownloadProgress { received, total }, false) => Some((*received, *total)),
            _ => None,
        })
        .collect()
}

fn assert_complete(progress: &[(u64, Option<u64>)], size: u64) {
    assert!(!progress.is_empty(), "no progress reported");
    assert!(
        progress.windows(2).all(|w| w[0].0 < w[1].0),
        "not increasing: {progress:?}"
    );
    assert_eq!(progress.last(), Some(&(size, Some(size))), "{progress:?}");
}

async fn collect(mut events: quotient::JobEvents) -> Vec<JobEvent> {
    let mut all = Vec::new();
    while let Some(e) = events.next().await {
        all.push(e);
    }
    all
}

/// A fresh, existing directory, removed when dropped.
fn temp_dir(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    std::fs::create_dir_all(dir.path()).unwrap();
    dir
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

#[tokio::test]
async fn upload_and_download_round_trip_with_progress() {
    let hs = synapse(Config::Default).await;
    let client = client_at(Config::Default, hs.url.clone(), "media").await;
    let config = client.media().config().await.unwrap();
    assert!(
        config.authenticated,
        "Synapse 1.163 has authenticated media"
    );
    assert_eq!(config.upload_size, Some(50 * 1024 * 1024));

    let dir = temp_dir("media-round-trip");
    let data = pattern(700_000, 1);
    let source = dir.path().join("holiday.PNG");
    std::fs::write(&source, &data).unwrap();
    let upload = client.media().upload_file(&source, None).await.unwrap();
    assert_eq!(upload.content_type(), "image/png");
    let events = upload.events();
    let uploaded = upload.await.unwrap();
    assert_eq!(uploaded.size, data.len() as u64);
    assert_eq!(uploaded.content_type, "image/png");
    assert_complete(&progress(&collect(events).await, true), data.len() as u64);

    let target = dir.path().join("copy.png");
    let download = client
        .media()
        .download(&uploaded.content_uri)
        .await
        .unwrap();
    let events = download.events();
    let downloaded = download.to_path(&target).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(downloaded.size, data.len() as u64);
    assert_eq!(downloaded.content_type.as_deref(), Some("image/png"));
    assert_complete(&progress(&collect(events).await, false), data.len() as u64);
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );

    let mut bytes = Vec::new();
    client
        .media()
        .download_to_writer(&uploaded.content_uri, &mut bytes)
        .await
        .unwrap();
    assert_eq!(bytes, data);

    // A reader, its type given.
    let text = b"plain words".to_vec();
    let uploaded = client
        .media()
        .upload_reader(&text[..], Some("text/plain"), Some("words.txt"))
        .await
        .unwrap()
        .await
        .unwrap();
    let mut bytes = Vec::new();
    let downloaded = client
        .media()
        .download_to_writer(&uploaded.content_uri, &mut bytes)
        .await
        .unwrap();
    assert_eq!(bytes, text);
    assert!(downloaded
        .content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/plain")));
}

#[tokio::test]
async fn a_failed_download_to_a_path_leaves_nothing_there() {
    let hs = synapse(Config::Default).await;
    let client = client_at(Config::Default, hs.url.clone(), "missing").await;
    let dir = temp_dir("media-missing");
    let target = dir.path().join("never.bin");
    let uri: MxcUri = "mxc://localhost/doesnotexist0123".parse().unwrap();
    let err = client
        .media()
        .download_to_path(&uri, &target)
        .await
        .unwrap_err();
    match &err {
        Error::Request(e) => assert_eq!(e.status(), StatusCode::NotFound, "{e}"),
        other => panic!("{other}"),
    }
    assert!(!target.exists());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

/// A TCP proxy to `upstream` whose client-to-server direction moves at
/// most `rate` bytes per second; it counts the bytes it forwarded that way.
struct Proxy {
    url: Url,
    forwarded: Arc<AtomicU64>,
}

async fn proxy(upstream: std::net::SocketAddr, rate: Option<u64>) -> Proxy {
    // A small receive buffer, so the proxy's kernel does not read ahead of
    // the throttle (accepted sockets inherit it).
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(64).unwrap();
    let addr = listener.local_addr().unwrap();
    let forwarded = Arc::new(AtomicU64::new(0));
    let count = forwarded.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match from_client.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if to_server.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        count.fetch_add(n as u64, Ordering::SeqCst);
                        // Paced per chunk, so idle time on a kept-alive
                        // connection earns no burst later.
                        if let Some(rate) = rate {
                            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64))
                                .await;
                        }
                    }
                    let _ = to_server.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                    let _ = to_client.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    Proxy {
        url: format!("http://{addr}").parse().unwrap(),
        forwarded,
    }
}

fn addr_of(url: &Url) -> std::net::SocketAddr {
    url.socket_addrs(|| None).unwrap()[0]
}

#[tokio::test]
async fn a_20_mb_upload_through_a_throttled_proxy_outlives_the_attempt_timeout() {
    let hs = synapse(Config::Default).await;
    // 20 MiB at 6 MiB/s: about 3.3 s on the wire, more than twice the
    // 1.5 s attempt timeout. Only the progress-based clock keeps it alive.
    let proxy = proxy(addr_of(&hs.url), Some(6 << 20)).await;
    let client = client_at(Config::Default, proxy.url.clone(), "big").await;
    let attempt = Duration::from_millis(1500);
    let options = JobOptions {
        backoff: BackoffStrategy {
            attempt_timeouts: vec![attempt],
            max_retries: 0,
            ..BackoffStrategy::default()
        },
        ..JobOptions::default()
    };
    let data = pattern(20 << 20, 2);
    let start = Instant::now();
    let uploaded = client
        .media()
        .job_options(options)
        .upload_bytes(data.clone().into(), "application/octet-stream", None)
        .await
        .unwrap()
        .await
        .unwrap_or_else(|e| panic!("after {:?}: {e}", start.elapsed()));
    let elapsed = start.elapsed();
    assert!(
        elapsed > 2 * attempt,
        "too fast to prove anything: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert!(proxy.forwarded.load(Ordering::SeqCst) >= 20 << 20);
    // What arrived is what was sent (read back directly from Synapse).
    let direct = client_at(Config::Default, hs.url.clone(), "bigread").await;
    let mut bytes = Vec::with_capacity(data.len());
    direct
        .media()
        .download_to_writer(&uploaded.content_uri, &mut bytes)
        .await
        .unwrap();
    assert!(bytes == data, "the bytes differ");
}

#[tokio::test]
async fn an_upload_over_the_limit_fails_before_anything_is_sent() {
    let hs = synapse(Config::SmallUploads).await;
    let proxy = proxy(addr_of(&hs.url), None).await;
    let client = client_at(Config::SmallUploads, proxy.url.clone(), "limit").await;
    assert_eq!(
        client.media().config().await.unwrap().upload_size,
        Some(1 << 20)
    );
    let dir = temp_dir("media-limit");
    let big = dir.path().join("big.bin");
    std::fs::write(&big, pattern(2 << 20, 3)).unwrap();
    let before = proxy.forwarded.load(Ordering::SeqCst);

    let err = client.media().upload_file(&big, None).await.err().unwrap();
    match err {
        Error::TooLarge { size, limit } => {
            assert_eq!((size, limit), (Some(2 << 20), 1 << 20));
        }
        other => panic!("{other}"),
    }
    let text = Error::TooLarge {
        size: Some(2 << 20),
        limit: 1 << 20,
    }
    .to_string();
    assert!(
        text.contains("2097152 bytes") && text.contains("1048576 bytes"),
        "{text}"
    );
    let stream = pattern(2 << 20, 4);
    let err = client
        .media()
        .upload_reader(&stream[..], None, None)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, Error::TooLarge { size: None, limit } if limit == 1 << 20),
        "{err}"
    );
    // Nothing went through the proxy (the config was cached) and Synapse
    // logged no upload.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(proxy.forwarded.load(Ordering::SeqCst), before);
    assert!(!hs.log().contains("/_matrix/media/v3/upload"));

    // The control: an upload under the limit is seen by both.
    let small = client
        .media()
        .upload_bytes(pattern(100_000, 5).into(), "application/octet-stream", None)
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(small.content_uri.as_str().starts_with("mxc://"));
    assert!(proxy.forwarded.load(Ordering::SeqCst) >= before + 100_000);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(hs.log().contains("/_matrix/media/v3/upload"));
}

/// A request as a stub server saw it.
#[derive(Clone, Debug)]
struct Seen {
    target: String,
    authorization: Option<String>,
}

type Handler = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = (u16, Vec<(String, String)>, Vec<u8>)> + Send>>
        + Send
        + Sync,
>;

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1 that records
/// what it is asked and answers with `handler(target)`.
async fn stub(handler: Handler) -> (Url, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url: Url = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (handler, log) = (handler.clone(), log.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split(' ').nth(1).unwrap_or("").to_owned();
                let authorization = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("authorization")
                        .then(|| value.trim().to_owned())
                });
                log.lock().unwrap().push(Seen {
                    target: target.clone(),
                    authorization,
                });
                let (status, headers, body) = handler(target).await;
                let mut answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    answer.push_str(&format!("{name}: {value}\r\n"));
                }
                answer += "\r\n";
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_redirected_download_gets_the_bytes_and_the_token_stays_home() {
    let hs = synapse(Config::Default).await;
    let client = client_at(Config::Default, hs.url.clone(), "cdn").await;
    let data = pattern(200_000, 6);
    let uploaded = client
        .media()
        .upload_bytes(data.clone().into(), "image/webp", None)
        .await
        .unwrap()
        .await
        .unwrap();

    // The "CDN" on its own port serves the bytes it reads from Synapse.
    let reader = client.clone();
    let uri = uploaded.content_uri.clone();
    let (cdn, at_cdn) = stub(Arc::new(move |_target| {
        let (reader, uri) = (reader.clone(), uri.clone());
        Box::pin(async move {
            let mut body = Vec::new();
            reader
                .media()
                .download_to_writer(&uri, &mut body)
                .await
                .unwrap();
            (
                200,
                vec![("Content-Type".into(), "image/webp".into())],
                body,
            )
        })
    }))
    .await;
    // The homeserver the client talks to: Synapse's /versions, and a
    // redirect to the CDN for every download.
    let versions = serde_json::json!({
        "versions": hs.connection().versions().await.unwrap().versions(),
    })
    .to_string();
    let (front, at_front) = stub(Arc::new(move |target: String| {
        let (versions, cdn) = (versions.clone(), cdn.clone());
        Box::pin(async move {
            if target.starts_with("/_matrix/client/versions") {
                let headers = vec![("Content-Type".into(), "application/json".into())];
                (200, headers, versions.into_bytes())
            } else {
                let location = cdn.join(&format!("/cdn{target}")).unwrap().to_string();
                (307, vec![("Location".into(), location)], Vec::new())
            }
        })
    }))
    .await;
    let conn = Connection::builder(front).build().unwrap();
    conn.adopt_session(client.connection().session().unwrap());
    let redirected = Client::in_memory(conn).unwrap();

    let dir = temp_dir("media-redirect");
    let target = dir.path().join("redirected.webp");
    let downloaded = redirected
        .media()
        .download_to_path(&uploaded.content_uri, &target)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(downloaded.content_type.as_deref(), Some("image/webp"));

    let front = at_front.lock().unwrap().clone();
    let download = front
        .iter()
        .find(|s| s.target.starts_with("/_matrix/client/v1/media/download/"))
        .expect("the download went to the homeserver first");
    assert!(
        download
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer ")),
        "the homeserver got the token"
    );
    let cdn = at_cdn.lock().unwrap().clone();
    assert_eq!(cdn.len(), 1, "{cdn:?}");
    assert!(cdn[0]
        .target
        .starts_with("/cdn/_matrix/client/v1/media/download/"));
    assert_eq!(
        cdn[0].authorization, None,
        "the token went to another origin"
    );
}

#[tokio::test]
async fn a_thumbnail_of_an_uploaded_image_is_an_image_of_the_size_asked() {
    use quotient_client::media::{ThumbnailMethod, ThumbnailSize};
    let hs = synapse(Config::Default).await;
    let client = client_at(Config::Default, hs.url.clone(), "thumb").await;
    let image = png::png(64, 48);
    let uploaded = client
        .media()
        .upload_bytes(image.clone().into(), "image/png", Some("square.png"))
        .await
        .unwrap()
        .await
        .unwrap();
    let size = ThumbnailSize {
        width: 32,
        height: 32,
        method: Some(ThumbnailMethod::Crop),
    };
    let mut thumb = Vec::new();
    let got = client
        .media()
        .thumbnail(&uploaded.content_uri, &size)
        .await
        .unwrap()
        .to_writer(&mut thumb)
        .await
        .unwrap();
    let content_type = got.content_type.clone().unwrap_or_default();
    assert!(content_type.starts_with("image/"), "{content_type}");
    assert_ne!(thumb, image, "a thumbnail, not the original");
    if content_type == "image/png" {
        assert_eq!(&thumb[..8], b"\x89PNG\r\n\x1a\n");
        let width = u32::from_be_bytes(thumb[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(thumb[20..24].try_into().unwrap());
        assert_eq!((width, height), (32, 32), "cropped to the size asked");
    } else {
        assert_eq!(content_type, "image/jpeg");
        assert_eq!(&thumb[..2], b"\xff\xd8");
    }
}

#[tokio::test]
async fn a_server_before_authenticated_media_gets_the_legacy_paths() {
    let bytes = pattern(5_000, 9);
    let served = bytes.clone();
    let (url, seen) = stub(Arc::new(move |target: String| {
        let served = served.clone();
        Box::pin(async move {
            let json = vec![("Content-Type".into(), "application/json".into())];
            if target.starts_with("/_matrix/client/versions") {
                return (200, json, br#"{"versions":["v1.10"]}"#.to_vec());
            }
            if target.starts_with("/_matrix/media/v3/config") {
                return (200, json, br#"{"m.upload.size":100000}"#.to_vec());
            }
            if target.starts_with("/_matrix/media/v3/download/stub/abc") {
                let kind = vec![("Content-Type".into(), "application/octet-stream".into())];
                return (200, kind, served);
            }
            (404, json, br#"{"errcode":"M_UNRECOGNIZED"}"#.to_vec())
        })
    }))
    .await;
    let conn = Connection::builder(url.clone()).build().unwrap();
    conn.adopt_session(quotient::Session {
        homeserver: url,
        user_id: "@me:stub".parse().unwrap(),
        device_id: "DEV".into(),
        access_token: "stub-token".into(),
        refresh_token: None,
        soft_logout: false,
    });
    let client = Client::in_memory(conn).unwrap();
    let config = client.media().config().await.unwrap();
    assert!(!config.authenticated);
    assert_eq!(config.upload_size, Some(100_000));
    let mut got = Vec::new();
    let uri = MxcUri::parse("mxc://stub/abc").unwrap();
    client
        .media()
        .download_to_writer(&uri, &mut got)
        .await
        .unwrap();
    assert_eq!(got, bytes);
    let targets: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.target.clone())
        .collect();
    assert!(
        targets
            .iter()
            .all(|t| !t.starts_with("/_matrix/client/v1/media")),
        "no authenticated path to a server without it: {targets:?}"
    );
}

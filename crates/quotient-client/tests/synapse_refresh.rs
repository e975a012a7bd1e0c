//! Refresh tokens against a real Synapse whose access tokens live 3 s,
//! behind a proxy that counts requests: 200 jobs meeting an expired token
//! cause one `/refresh` and all succeed, each resent once (or, where the
//! connection knows the token's lifetime, refreshed ahead and sent once);
//! a sync loop
//! runs across ten token lifetimes without missing an event.
//!
//! Run in one process: `cargo test -p quotient-client --test synapse_refresh`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::Connection;
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::generated::room_send::SendMessage;
use quotient_api::generated::whoami::GetTokenOwner;
use quotient_api::RoomId;
use quotient_client::Client;
use serde_json::json;
use support::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIFETIME: Duration = Duration::from_secs(3);

fn server() -> &'static Homeserver {
    homeserver(Config::ShortAccessTokens)
}

/// Counts request lines on their way to Synapse.
#[derive(Default)]
struct Counts {
    refresh: AtomicU64,
    whoami: AtomicU64,
}

/// A proxy on 127.0.0.1 in front of Synapse that counts what passes.
async fn counting_proxy(upstream: url::Url) -> (url::Url, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    let counts = Arc::new(Counts::default());
    let upstream = format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap()
    );
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let counts = shared.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut tail = Vec::new();
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        // Request lines may straddle reads: keep a tail.
                        tail.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&tail);
                        let refresh = text.matches("POST /_matrix/client/v3/refresh ").count();
                        let whoami = text
                            .matches("GET /_matrix/client/v3/account/whoami ")
                            .count();
                        counts.refresh.fetch_add(refresh as u64, Ordering::SeqCst);
                        counts.whoami.fetch_add(whoami as u64, Ordering::SeqCst);
                        let keep = tail.len().saturating_sub(64);
                        tail.drain(..keep);
                        if refresh + whoami > 0 {
                            tail.clear();
                        }
                    }
                    let _ = sw.shutdown().await;
                };
                let down = async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    let _ = cw.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (url, counts)
}

async fn user(prefix: &'static str) -> homeserver::User {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_meeting_an_expired_token_cause_one_refresh_and_all_succeed() {
    let user = user("crowd").await;
    let (url, counts) = counting_proxy(server().url.clone()).await;
    let options = quotient::LoginOptions::new().refresh_token(true);
    let user_ref = &user;
    let login = |device: &'static str| {
        let (url, user) = (url.clone(), user_ref);
        let options = options.clone().device_name(device);
        async move {
            let conn = Connection::builder(url).build().unwrap();
            let session = conn
                .login_with_password_using(&user.user_id, user.password.clone().into(), &options)
                .await
                .unwrap();
            assert!(
                session.refresh_token.is_some(),
                "Synapse gave a refresh token"
            );
            (conn, session)
        }
    };
    let (_, session) = login("restored").await;
    let (ahead, _) = login("ahead").await;
    // A process that restored its session from a file does not know when
    // the token expires: it learns it from the 401 (the reactive path).
    let restored = Connection::builder(url.clone()).build().unwrap();
    restored.adopt_session(session.clone());
    tokio::time::sleep(LIFETIME + Duration::from_millis(500)).await;

    let jobs: Vec<_> = (0..200)
        .map(|_| restored.submit(GetTokenOwner::new()))
        .collect();
    for job in jobs {
        let owner = job.await.expect("every job succeeds").into_value();
        assert_eq!(owner.user_id.as_str(), user.user_id);
    }
    assert_eq!(
        counts.refresh.load(Ordering::SeqCst),
        1,
        "one refresh for all"
    );
    // Each job went out once with the expired token and once again.
    assert_eq!(counts.whoami.load(Ordering::SeqCst), 400);

    // The connection that signed in knows the token's lifetime: the jobs
    // find it due, one refresh goes first, and no job is refused.
    let jobs: Vec<_> = (0..200)
        .map(|_| ahead.submit(GetTokenOwner::new()))
        .collect();
    for job in jobs {
        job.await.expect("every job succeeds");
    }
    assert_eq!(
        counts.refresh.load(Ordering::SeqCst),
        2,
        "one refresh for all, ahead"
    );
    assert_eq!(counts.whoami.load(Ordering::SeqCst), 600, "each sent once");
    let now = restored.session().unwrap();
    assert_ne!(now.access_token, session.access_token);
    assert_ne!(now.refresh_token, session.refresh_token);
}

fn bodies(client: &Client, room: &RoomId) -> Vec<String> {
    client
        .store()
        .unwrap()
        .timeline(room, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.json["type"] == "m.room.message")
        .map(|e| e.json["content"]["body"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_loop_runs_across_ten_token_lifetimes_without_a_gap() {
    let user = user("longsync").await;
    let (url, counts) = counting_proxy(server().url.clone()).await;
    let dir = TempDir::new("longsync");
    let client = Client::login_or_restore(
        dir.path(),
        url,
        &user.user_id.parse().unwrap(),
        user.password.clone(),
    )
    .await
    .unwrap();
    // A second device of the same user writes (not through the proxy, so
    // its own refreshes are not counted).
    let writer = server().connection();
    let options = quotient::LoginOptions::new()
        .device_name("writer")
        .refresh_token(true);
    writer
        .login_with_password_using(&user.user_id, user.password.clone().into(), &options)
        .await
        .unwrap();
    let mut create = CreateRoom::new();
    create.name = Some("long sync".into());
    let room = writer.submit(create).await.unwrap().into_value().room_id;
    let sync = client.start_sync_loop();
    let messages = 30;
    for i in 0..messages {
        tokio::time::sleep(LIFETIME * 10 / messages).await;
        let content = json!({"msgtype": "m.text", "body": format!("m{i}")});
        let request = SendMessage::new(
            room.clone(),
            "m.room.message".into(),
            format!("t{i}"),
            content.as_object().unwrap().clone(),
        );
        writer.submit(request).await.unwrap();
        assert!(
            !sync.is_finished(),
            "the loop is still running after {i} messages"
        );
    }
    let expected: Vec<String> = (0..messages).map(|i| format!("m{i}")).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while bodies(&client, &room) != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stored: {:?}",
            bodies(&client, &room)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!sync.is_finished());
    let refreshes = counts.refresh.load(Ordering::SeqCst);
    assert!(refreshes >= 8, "{refreshes} refreshes in ten lifetimes");
    sync.stop().await.unwrap();
    // The file holds the newest pair: a restart goes on with it.
    let saved = quotient::store::load_session(&dir.path().join("session.json")).unwrap();
    assert_eq!(saved, client.connection().session().unwrap());
}

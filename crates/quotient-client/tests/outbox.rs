//! The outbox against a real Synapse: a message queued while the server
//! is unreachable arrives once it is back; 500 messages through a proxy
//! that cuts a tenth of the answers arrive exactly once each, in order; a
//! permanent refusal fails that entry only; the local echo is replaced,
//! never duplicated; every message kind lands as built.
//!
//! Run in one process (the scenarios share one server):
//! `cargo test -p quotient-client --test outbox`.

#[path = "../../quotient/tests/synapse/homeserver.rs"]
mod homeserver;
mod support;

use std::time::Duration;

use homeserver::{fresh_user, homeserver, Config, Homeserver};
use quotient::{BackoffStrategy, Connection, JobOptions};
use quotient_api::generated::create_room::CreateRoom;
use quotient_api::generated::definitions::Direction;
use quotient_api::generated::message_pagination::GetRoomEvents;
use quotient_api::{Lenient, RoomId};
use quotient_client::outbox::{OutboxState, OutgoingEvent};
use quotient_client::store::TimelineItem;
use quotient_client::{Client, Error};
use serde_json::{json, Value};
use support::proxy::Proxy;

fn server() -> &'static Homeserver {
    homeserver(Config::Default)
}

/// Quick engine retries: the faults here are many and short.
fn quick_options() -> JobOptions {
    options(
        8,
        vec![Duration::from_millis(20), Duration::from_millis(100)],
    )
}

fn options(max_retries: u32, retry_waits: Vec<Duration>) -> JobOptions {
    JobOptions {
        backoff: BackoffStrategy {
            attempt_timeouts: vec![Duration::from_secs(10)],
            retry_waits,
            max_retries,
            ..BackoffStrategy::default()
        },
        ..JobOptions::default()
    }
}

/// Every wait in these tests is bounded: a regression fails, never hangs.
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 60 s"))
}

/// A fresh user signed in through `url` (Synapse itself or a proxy).
async fn account(prefix: &'static str, url: Option<url::Url>) -> Connection {
    account_with(prefix, url, quick_options()).await
}

async fn account_with(
    prefix: &'static str,
    url: Option<url::Url>,
    job_options: JobOptions,
) -> Connection {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let user = tokio::task::spawn_blocking(move || fresh_user(hs, prefix))
        .await
        .unwrap();
    let conn = Connection::builder(url.unwrap_or_else(|| hs.url.clone()))
        .job_options(job_options)
        .build()
        .unwrap();
    conn.login_with_password(&user.user_id, user.password.clone().into(), Some(prefix))
        .await
        .unwrap();
    conn
}

async fn create_room(conn: &Connection) -> RoomId {
    let mut request = CreateRoom::new();
    request.name = Some("outbox".into());
    conn.submit(request).await.unwrap().into_value().room_id
}

fn upstream() -> std::net::SocketAddr {
    let url = &server().url;
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
        .parse()
        .unwrap()
}

/// The room's messages as the server has them, oldest first, read with
/// `/messages` (not through the store under test).
async fn server_messages(conn: &Connection, room: &RoomId) -> Vec<Value> {
    let mut out = Vec::new();
    let mut from = None;
    for _ in 0..100 {
        let mut request = GetRoomEvents::new(room.clone(), Direction::Backward);
        request.from = from.clone();
        request.limit = Some(100);
        let page = conn.submit(request).await.unwrap().into_value();
        for event in page.chunk {
            if let Lenient::Typed(event) = event {
                if event.type_ == "m.room.message" {
                    out.push(serde_json::to_value(&event).unwrap());
                }
            }
        }
        match page.end {
            Some(end) if Some(&end) != from.as_ref() => from = Some(end),
            _ => break,
        }
    }
    out.reverse();
    out
}

fn bodies(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["content"]["body"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_queued_while_the_server_is_unreachable_arrives_once_it_is_back() {
    let mut proxy = Proxy::start(upstream(), 1).await;
    let conn = account("ob_down", Some(proxy.url())).await;
    let room = create_room(&conn).await;
    let client = Client::in_memory(conn.clone()).unwrap();
    let mut changes = client.outbox_changes();

    proxy.go_down();
    let pending = client
        .send(&room, OutgoingEvent::text("while down"))
        .await
        .unwrap();
    let txn = pending.txn_id().to_owned();
    // The sender meets the refused port and waits to try again.
    let retrying = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let change = changes.recv().await.unwrap();
            if change.txn_id == txn && change.retry_reason.is_some() {
                return change;
            }
        }
    })
    .await
    .expect("the sender reports it is waiting to retry");
    assert_eq!(retrying.state, OutboxState::Sending);
    let entry = client.store().unwrap().outbox_entry(&txn).unwrap().unwrap();
    assert!(entry.state.is_unsent(), "{:?}", entry.state);

    proxy.come_back().await;
    let event_id = tokio::time::timeout(Duration::from_secs(60), pending.sent())
        .await
        .expect("sent once the server is back")
        .unwrap();
    let direct = account_view(&conn);
    let messages = server_messages(&direct, &room).await;
    assert_eq!(bodies(&messages), ["while down"], "exactly one copy");
    assert_eq!(messages[0]["event_id"], event_id.as_str());
    assert_eq!(messages[0]["unsigned"]["transaction_id"], txn.as_str());
}

/// The same session straight to Synapse, for checking what it holds.
fn account_view(conn: &Connection) -> Connection {
    let session = conn.session().unwrap();
    let direct = Connection::builder(server().url.clone()).build().unwrap();
    direct.adopt_session(quotient::Session {
        homeserver: server().url.clone(),
        ..session
    });
    direct
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_messages_through_a_proxy_cutting_answers_arrive_once_each_in_order() {
    const N: usize = 500;
    let proxy = Proxy::start(upstream(), 0x5eed).await;
    // One engine retry only: about one message in a hundred has both its
    // attempts cut, and the outbox's own resend (same transaction ID)
    // takes over.
    let short = vec![Duration::from_millis(20)];
    let conn = account_with("ob_cut", Some(proxy.url()), options(1, short)).await;
    let room = create_room(&conn).await;
    let client = Client::in_memory(conn.clone()).unwrap();
    let mut changes = client.outbox_changes();
    let outbox_retries = tokio::spawn(async move {
        let mut n = 0u32;
        while let Ok(change) = changes.recv().await {
            n += u32::from(change.retry_reason.is_some());
        }
        n
    });
    proxy.cut_answers(0.10);
    let mut pending = Vec::with_capacity(N);
    for i in 0..N {
        pending.push(
            client
                .send(&room, OutgoingEvent::text(&format!("m{i}")))
                .await
                .unwrap(),
        );
    }
    let mut sent = Vec::with_capacity(N);
    for p in pending {
        let id = tokio::time::timeout(Duration::from_secs(240), p.sent())
            .await
            .expect("each message is sent in time")
            .unwrap();
        sent.push(id);
    }
    let (cuts, answers, connections) = proxy.counts();
    drop(client);
    let outbox_retries = within("the notice counter", outbox_retries).await.unwrap();
    proxy.cut_answers(0.0);
    let messages = server_messages(&account_view(&conn), &room).await;
    let want: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(bodies(&messages), want, "each once, in order");
    let ids: Vec<&str> = messages
        .iter()
        .map(|m| m["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, sent.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    println!(
        "delivery: {N} messages, {answers} answers, {cuts} cut mid-answer, {connections} connections, \
         {outbox_retries} resent by the outbox; duplicates 0, lost 0"
    );
    assert!(
        cuts >= 20,
        "the proxy cut about a tenth of the answers: {cuts} of {answers}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_fails_that_entry_only_and_it_can_be_retried_or_cancelled() {
    let conn = account("ob_perm", None).await;
    let room = create_room(&conn).await;
    let client = Client::in_memory(conn.clone()).unwrap();
    // Over the 65,536-byte event limit: 413 M_TOO_LARGE.
    let huge = OutgoingEvent::text(&"x".repeat(70_000));
    let too_large = client.send(&room, huge).await.unwrap();
    let after = client
        .send(&room, OutgoingEvent::text("after"))
        .await
        .unwrap();
    let txn = too_large.txn_id().to_owned();
    match within("sent", too_large.sent()).await {
        Err(Error::SendFailed { error, .. }) => assert!(error.contains("M_TOO_LARGE"), "{error}"),
        other => panic!("expected a failed send, got {other:?}"),
    }
    within("sent", after.sent())
        .await
        .expect("the room goes on after a failed entry");
    // Retried, it fails again (the server's answer has not changed)…
    client.retry_send(&txn).unwrap();
    let again = client.pending_send(&txn).unwrap();
    assert!(matches!(
        within("sent", again.sent()).await,
        Err(Error::SendFailed { .. })
    ));
    // …and cancelled, it is gone, its local echo with it.
    client.cancel_send(&txn).unwrap();
    assert!(client
        .store()
        .unwrap()
        .outbox_entry(&txn)
        .unwrap()
        .is_none());
    let messages = server_messages(&account_view(&conn), &room).await;
    assert_eq!(bodies(&messages), ["after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_echo_is_replaced_by_the_synced_event_never_duplicated() {
    use quotient_client::watch::TimelineUpdate;
    let conn = account("ob_echo", None).await;
    let room = create_room(&conn).await;
    let client = Client::in_memory(conn).unwrap();
    within("sync", client.sync_once()).await.unwrap();
    let mut live = client.live_timeline("echo").unwrap();
    let pending = client
        .send(&room, OutgoingEvent::text("echo me"))
        .await
        .unwrap();
    let txn = pending.txn_id().to_owned();
    {
        let items = client.store().unwrap().timeline_items(&room, 50).unwrap();
        let Some(TimelineItem::Pending(echo)) = items.last() else {
            panic!("the echo is at the end of the timeline at once: {items:?}")
        };
        assert_eq!(echo.txn_id, txn);
    }
    let event_id = within("sent", pending.sent()).await.unwrap();
    // Sent but not synced: still the echo (now with its event ID), once.
    let echoes = client.store().unwrap().local_echoes(&room).unwrap();
    assert_eq!(echoes.len(), 1);
    assert_eq!(
        echoes[0].state,
        OutboxState::Sent {
            event_id: Some(event_id.clone())
        }
    );
    within("sync", client.sync_once()).await.unwrap();

    // The stream as a chat window uses it: append echoes, update them,
    // swap each for the event that replaces it. One copy at the end.
    let mut view: Vec<(Option<String>, Option<String>)> = Vec::new(); // (txn, event ID)
    let mut echoes_seen = 0;
    loop {
        let update = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .expect("the synced event comes")
            .unwrap();
        match update {
            TimelineUpdate::Echo(entry) => {
                assert_eq!(entry.txn_id, txn);
                echoes_seen += 1;
                view.push((Some(entry.txn_id.clone()), None));
            }
            TimelineUpdate::EchoState { txn_id, state, .. } => {
                assert_eq!(txn_id, txn);
                assert!(view
                    .iter()
                    .any(|(t, _)| t.as_deref() == Some(txn_id.as_str())));
                assert!(!matches!(state, OutboxState::Failed { .. }));
            }
            TimelineUpdate::Event { event, replaces } => {
                let id = event.event.event_id.clone().map(|id| id.into_string());
                match replaces {
                    Some(t) => {
                        let slot = view
                            .iter_mut()
                            .find(|(x, _)| x.as_deref() == Some(t.as_str()))
                            .expect("it replaces an echo the stream showed");
                        *slot = (None, id.clone());
                    }
                    None => view.push((None, id.clone())),
                }
                if id.as_deref() == Some(event_id.as_str()) {
                    break;
                }
            }
        }
    }
    assert_eq!(echoes_seen, 1, "one echo");
    assert_eq!(
        view,
        [(None, Some(event_id.to_string()))],
        "one copy, the synced one"
    );
    let items = client.store().unwrap().timeline_items(&room, 50).unwrap();
    let copies = items
        .iter()
        .filter(|i| match i {
            TimelineItem::Event(e) => e.json["content"]["body"] == "echo me",
            TimelineItem::Pending(p) => p.txn_id == txn,
        })
        .count();
    assert_eq!(copies, 1, "the synced event only: {items:?}");
    assert!(matches!(items.last(), Some(TimelineItem::Event(_))));
    // Nothing else comes for it: one more sync brings no second copy.
    within("sync", client.sync_once()).await.unwrap();
    let more = tokio::time::timeout(Duration::from_millis(300), live.next()).await;
    assert!(more.is_err(), "no second delivery: {more:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_message_lands_as_built() {
    let conn = account("ob_kinds", None).await;
    let room = create_room(&conn).await;
    let client = Client::in_memory(conn).unwrap();
    let send = |event: OutgoingEvent| {
        let client = client.clone();
        let room = room.clone();
        async move {
            within("sent", client.send(&room, event).await.unwrap().sent())
                .await
                .unwrap()
        }
    };
    let original = send(OutgoingEvent::text("original")).await;
    let html = send(OutgoingEvent::html("bold", "<b>bold</b>")).await;
    send(OutgoingEvent::notice("a notice")).await;
    send(OutgoingEvent::emote("waves")).await;
    let reply = send(OutgoingEvent::text("a reply").reply_to(&original)).await;
    send(OutgoingEvent::edit(
        &original,
        OutgoingEvent::text("edited"),
    ))
    .await;
    send(OutgoingEvent::reaction(&original, "👍")).await;
    let doomed = send(OutgoingEvent::text("doomed")).await;
    send(OutgoingEvent::redaction(&doomed, Some("a test"))).await;
    let topic = json!({"topic": "from the outbox"});
    let Value::Object(topic) = topic else {
        unreachable!()
    };
    send(OutgoingEvent::state("m.room.topic", "", topic)).await;
    within("sync", client.sync_once()).await.unwrap();

    let store = client.store().unwrap();
    let event = |id: &quotient_api::EventId| {
        store
            .timeline(&room, 100)
            .unwrap()
            .into_iter()
            .find(|e| e.event_id.as_ref().map(|id| id.as_str()) == Some(id.as_str()))
            .unwrap_or_else(|| panic!("{id} is stored"))
            .json
    };
    assert_eq!(event(&html)["content"]["formatted_body"], "<b>bold</b>");
    assert_eq!(
        event(&reply)["content"]["m.relates_to"]["m.in_reply_to"]["event_id"],
        original.as_str()
    );
    let edit = store
        .latest_edit(&original)
        .unwrap()
        .expect("the edit is recorded");
    assert_eq!(edit.json["content"]["m.new_content"]["body"], "edited");
    let reactions = store.reactions(&original).unwrap();
    assert_eq!((reactions[0].key.as_str(), reactions[0].count), ("👍", 1));
    let redacted = event(&doomed);
    assert!(
        redacted["content"].as_object().unwrap().is_empty(),
        "{redacted}"
    );
    let topic = store
        .state_event(&room, "m.room.topic", "")
        .unwrap()
        .unwrap();
    assert_eq!(topic["content"]["topic"], "from the outbox");
    let kinds: Vec<String> = store
        .timeline(&room, 100)
        .unwrap()
        .iter()
        .filter_map(|e| e.json["content"]["msgtype"].as_str().map(str::to_owned))
        .collect();
    for msgtype in ["m.text", "m.notice", "m.emote"] {
        assert!(kinds.iter().any(|k| k == msgtype), "{msgtype} in {kinds:?}");
    }
    // Everything sent and synced: no echo left.
    assert!(store.local_echoes(&room).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_message_is_uploaded_then_sent_as_one_entry_and_its_bytes_come_back() {
    let conn = account("ob_file", None).await;
    let room = create_room(&conn).await;
    let client = Client::in_memory(conn).unwrap();
    let dir = support::TempDir::new("ob-file");
    std::fs::create_dir_all(dir.path()).unwrap();
    let path = dir.path().join("photo.png");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let file = quotient_client::outbox::FileMessage::new(&path).caption("a photo");
    let mut changes = client.outbox_changes();
    let pending = client.send_file(&room, file).await.unwrap();
    let txn = pending.txn_id().to_owned();
    let event_id = within("sent", pending.sent()).await.unwrap();
    let mut progress = Vec::new();
    while let Ok(change) = changes.try_recv() {
        if let (true, Some(moved)) = (change.txn_id == txn, change.upload) {
            progress.push(moved);
        }
    }
    assert!(
        progress.len() >= 2,
        "the upload reports progress: {progress:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[0].0 <= w[1].0),
        "{progress:?}"
    );
    assert_eq!(
        progress.last(),
        Some(&(bytes.len() as u64, bytes.len() as u64))
    );
    within("sync", client.sync_once()).await.unwrap();
    let event = client
        .store()
        .unwrap()
        .timeline(&room, 20)
        .unwrap()
        .into_iter()
        .find(|e| e.event_id.as_ref().map(|id| id.as_str()) == Some(event_id.as_str()))
        .expect("the file message is synced")
        .json;
    let content = &event["content"];
    assert_eq!(content["msgtype"], "m.image");
    assert_eq!(
        (&content["body"], &content["filename"]),
        (&json!("a photo"), &json!("photo.png"))
    );
    assert_eq!(content["info"]["mimetype"], "image/png");
    assert_eq!(content["info"]["size"], bytes.len());
    let uri = quotient_client::media::MxcUri::parse(content["url"].as_str().unwrap()).unwrap();
    let mut back = Vec::new();
    client
        .media()
        .download_to_writer(&uri, &mut back)
        .await
        .unwrap();
    assert_eq!(
        back, bytes,
        "the bytes uploaded are the bytes the message points at"
    );
}

fn start_bot(cwd: &std::path::Path, user: &homeserver::User) -> std::process::Child {
    std::process::Command::new(support::echo_bot_binary())
        .current_dir(cwd)
        .env("HOMESERVER", server().url.as_str())
        .env("BOT_USER", &user.user_id)
        .env("BOT_PASSWORD", &user.password)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// The bot's notices in the room, as the server has them.
async fn notices(conn: &Connection, room: &RoomId) -> Vec<String> {
    server_messages(conn, room)
        .await
        .iter()
        .filter(|m| m["content"]["msgtype"] == "m.notice")
        .map(|m| m["content"]["body"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn wait_for_notices(conn: &Connection, room: &RoomId, want: &[&str]) {
    for _ in 0..300 {
        if notices(conn, room).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the bot's notices are {:?}, not {want:?}",
        notices(conn, room).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_echo_bot_answers_each_message_once_across_a_restart() {
    let hs = tokio::task::spawn_blocking(server).await.unwrap();
    let bot = tokio::task::spawn_blocking(move || fresh_user(hs, "echobot"))
        .await
        .unwrap();
    let human = account("ob_human", None).await;
    // The bot's own room, with the human in it (through a library login
    // of the bot: the example does not join rooms by itself).
    let bot_lib = Connection::builder(hs.url.clone()).build().unwrap();
    bot_lib
        .login_with_password(&bot.user_id, bot.password.clone().into(), Some("setup"))
        .await
        .unwrap();
    let room = create_room(&bot_lib).await;
    let human_id = human.user_id().unwrap();
    bot_lib
        .submit(quotient_api::generated::inviting::InviteUser::new(
            room.clone(),
            human_id,
        ))
        .await
        .unwrap();
    human
        .submit(quotient_api::generated::joining::JoinRoomById::new(
            room.clone(),
        ))
        .await
        .unwrap();

    let cwd = support::TempDir::new("echo-bot");
    std::fs::create_dir_all(cwd.path()).unwrap();
    let mut child = start_bot(cwd.path(), &bot);
    let say = |body: &'static str| {
        let human = human.clone();
        let room = room.clone();
        async move {
            let content = json!({"msgtype": "m.text", "body": body});
            let Value::Object(content) = content else {
                unreachable!()
            };
            let txn = format!("say-{body}");
            human
                .submit(quotient_api::generated::room_send::SendMessage::new(
                    room,
                    "m.room.message".into(),
                    txn,
                    content,
                ))
                .await
                .unwrap();
        }
    };
    say("ping").await;
    wait_for_notices(&human, &room, &["ping"]).await;
    // Killed and started again: it goes on, and answers nothing twice.
    child.kill().unwrap();
    child.wait().unwrap();
    say("pong").await;
    let mut child = start_bot(cwd.path(), &bot);
    wait_for_notices(&human, &room, &["ping", "pong"]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        notices(&human, &room).await,
        ["ping", "pong"],
        "nothing answered twice"
    );
    assert!(
        cwd.path().join("bot-store/session.json").exists(),
        "the session was kept"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_synced_back_before_its_answer_marks_the_entry_sent_and_wakes_its_waiter() {
    let proxy = Proxy::start(upstream(), 2).await;
    // No engine retry, and an outbox wait far longer than the test: only
    // the sync can end this send.
    let conn = account_with(
        "ob_synced",
        Some(proxy.url()),
        options(0, vec![Duration::from_secs(600)]),
    )
    .await;
    let room = create_room(&conn).await;
    let client = Client::in_memory(conn).unwrap();
    within("sync", client.sync_once()).await.unwrap();
    // The crypto machine's own requests (keys, cross-signing) go through
    // the proxy too: they are all out before the cut is armed for the send.
    within("crypto setup", client.device_status())
        .await
        .unwrap();
    within("key requests", client.send_key_requests())
        .await
        .unwrap();
    let mut changes = client.outbox_changes();
    proxy.cut_next_answer();
    let pending = client
        .send(&room, OutgoingEvent::text("answer lost"))
        .await
        .unwrap();
    let txn = pending.txn_id().to_owned();
    // The PUT reached Synapse; its answer was cut; the sender now waits.
    within("the retry notice", async {
        loop {
            let change = changes.recv().await.unwrap();
            if change.txn_id == txn && change.retry_reason.is_some() {
                return;
            }
        }
    })
    .await;
    let changes = within("sync", client.sync_once()).await.unwrap();
    assert_eq!(changes.outbox_sent.len(), 1, "{:?}", changes.outbox_sent);
    let event_id = tokio::time::timeout(Duration::from_secs(10), pending.sent())
        .await
        .expect("the waiter is woken by the batch")
        .unwrap();
    assert_eq!(
        changes.outbox_sent[0],
        (room.clone(), txn.clone(), event_id.clone())
    );
    assert!(client
        .store()
        .unwrap()
        .local_echoes(&room)
        .unwrap()
        .is_empty());
}

//! The S7 account: a seeded generator of the initial `/sync` and its
//! batches (the same bytes on every machine), and the stub that serves
//! them with the few other endpoints a client asks for first.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use matrix_sdk_crypto::olm::ExportedRoomKey;
use matrix_sdk_crypto::vodozemac::megolm::{GroupSession, InboundGroupSession, SessionConfig};
use matrix_sdk_crypto::vodozemac::{Curve25519PublicKey, Curve25519SecretKey, Ed25519SecretKey};

use super::USER;

const VERSIONS: &str = r#"{"versions":["r0.6.1","v1.1","v1.2","v1.3","v1.4","v1.5","v1.6","v1.7","v1.8","v1.9","v1.10","v1.11"],"unstable_features":{}}"#;
const WHOAMI: &str = r#"{"user_id":"@bench:localhost","device_id":"BENCHDEV","is_guest":false}"#;
const LOGIN: &str = r#"{"user_id":"@bench:localhost","access_token":"syt_YmVuY2g_bench_token","device_id":"BENCHDEV","home_server":"localhost"}"#;
const CAPABILITIES: &str = r#"{"capabilities":{"m.change_password":{"enabled":true},"m.room_versions":{"default":"10","available":{"10":"stable","11":"stable"}}}}"#;

/// What the account looks like.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub rooms: usize,
    pub events: usize,
    pub batches: usize,
    /// Rooms touched per incremental batch, and messages each gets.
    pub rooms_per_batch: usize,
    pub events_per_room_per_batch: usize,
    /// S8: every room has `m.room.encryption` and its timeline is
    /// `m.room.encrypted` events under one Megolm session per room.
    pub encrypted: bool,
}

/// splitmix64: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "matrix", "room", "sync", "event", "hello", "world", "lunch", "meeting",
    "tomorrow", "release", "build", "fixed", "thanks", "see", "you", "later", "ok", "sounds", "good", "deploy", "review", "please",
];

const USERS: usize = 500;

fn user(u: usize) -> String {
    if u == 0 {
        USER.to_owned()
    } else {
        format!("@user{u}:localhost")
    }
}

/// The joined members of room `i` (index 0 of the pool is us, always in).
fn members(i: usize) -> Vec<usize> {
    let mut rng = Rng::new(0x5EED_0000 ^ i as u64);
    let n = 3 + rng.below(4);
    let mut m = vec![0];
    while m.len() < n {
        let u = 1 + rng.below(USERS - 1);
        if !m.contains(&u) {
            m.push(u);
        }
    }
    m
}

fn text(rng: &mut Rng) -> String {
    let words = 4 + rng.below(12);
    let mut body = String::new();
    for w in 0..words {
        if w > 0 {
            body.push(' ');
        }
        body.push_str(WORDS[rng.below(WORDS.len())]);
    }
    body
}

/// A timeline message: plain `m.room.message`, or with `megolm` its
/// `m.room.encrypted` form under the room's session.
fn message(out: &mut String, room: usize, id: &str, sender: &str, ts: u64, rng: &mut Rng, megolm: Option<&mut Megolm>) {
    let body = text(rng);
    if let Some(m) = megolm {
        let plain = format!(r#"{{"type":"m.room.message","content":{{"msgtype":"m.text","body":"{body}"}},"room_id":"!r{room}:localhost"}}"#);
        let _ = write!(
            out,
            r#"{{"type":"m.room.encrypted","event_id":"{id}","sender":"{sender}","origin_server_ts":{ts},"content":{{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"{ct}","sender_key":"{sk}","device_id":"{dev}","session_id":"{sid}"}},"unsigned":{{"age":{age}}},"room_id":"!r{room}:localhost"}}"#,
            ct = m.session.encrypt(plain.as_bytes()).to_base64(),
            sk = m.sender_key,
            dev = m.device,
            sid = m.session_id,
            age = 1000 + rng.below(100_000)
        );
        return;
    }
    let _ = write!(
        out,
        r#"{{"type":"m.room.message","event_id":"{id}","sender":"{sender}","origin_server_ts":{ts},"content":{{"msgtype":"m.text","body":"{body}"}},"unsigned":{{"age":{age}}},"room_id":"!r{room}:localhost"}}"#,
        age = 1000 + rng.below(100_000)
    );
}

fn state_event(out: &mut String, room: usize, kind: &str, key: &str, sender: &str, n: usize, content: &str) {
    let _ = write!(
        out,
        r#"{{"type":"{kind}","state_key":"{key}","event_id":"$s{room}x{n}:localhost","sender":"{sender}","origin_server_ts":{ts},"content":{content}}}"#,
        ts = 1_600_000_000_000u64 + n as u64
    );
}

fn joined_room(out: &mut String, i: usize, shape: &Shape, mut megolm: Option<&mut Megolm>) {
    let mut rng = Rng::new(0xACC0_u64 << 32 | i as u64);
    let m = members(i);
    let creator = user(m[1]);
    let _ = write!(out, r#""!r{i}:localhost":{{"summary":{{"m.joined_member_count":{},"m.invited_member_count":0}},"state":{{"events":["#, m.len());
    state_event(out, i, "m.room.create", "", &creator, 0, &format!(r#"{{"creator":"{creator}","room_version":"10"}}"#));
    out.push(',');
    let mut pl = format!(r#"{{"users":{{"{creator}":100}},"users_default":0,"events_default":0,"state_default":50,"ban":50,"kick":50,"redact":50,"invite":0,"events":{{"m.room.name":50,"m.room.power_levels":100}}}}"#);
    if rng.below(2) == 0 {
        pl = pl.replacen(r#""users":{"#, &format!(r#""users":{{"{}":50,"#, user(m[2])), 1);
    }
    state_event(out, i, "m.room.power_levels", "", &creator, 1, &pl);
    out.push(',');
    let rule = if rng.below(3) == 0 { "public" } else { "invite" };
    state_event(out, i, "m.room.join_rules", "", &creator, 2, &format!(r#"{{"join_rule":"{rule}"}}"#));
    out.push(',');
    state_event(out, i, "m.room.name", "", &creator, 3, &format!(r#"{{"name":"Room {i} {}"}}"#, WORDS[rng.below(WORDS.len())]));
    if megolm.is_some() {
        out.push(',');
        state_event(out, i, "m.room.encryption", "", &creator, 100, r#"{"algorithm":"m.megolm.v1.aes-sha2","rotation_period_ms":604800000,"rotation_period_msgs":100}"#);
    }
    for (k, &u) in m.iter().enumerate() {
        out.push(',');
        let who = user(u);
        state_event(out, i, "m.room.member", &who, &who, 4 + k, &format!(r#"{{"membership":"join","displayname":"User {u}"}}"#));
    }
    let _ = write!(out, r#"]}},"timeline":{{"limited":true,"prev_batch":"p{i}","events":["#);
    for j in 0..shape.events {
        if j > 0 {
            out.push(',');
        }
        // An encrypted room's messages all come from its session's owner.
        let who = rng.below(m.len());
        let sender = if megolm.is_some() { creator.clone() } else { user(m[who]) };
        message(out, i, &format!("$r{i}e{j}:localhost"), &sender, 1_700_000_000_000 + (i * shape.events + j) as u64, &mut rng, megolm.as_deref_mut());
    }
    let _ = write!(out, r#"]}},"ephemeral":{{"events":[]}},"account_data":{{"events":[]}},"unread_notifications":{{"notification_count":{},"highlight_count":0}}}}"#, rng.below(10));
}

/// The initial sync: every room, `next_batch` "b0".
pub fn initial(shape: &Shape, keys: &mut [Megolm]) -> Vec<u8> {
    let mut out = String::with_capacity(shape.rooms * (shape.events * 260 + 2500));
    out.push_str(r#"{"next_batch":"b0","rooms":{"join":{"#);
    for i in 0..shape.rooms {
        if i > 0 {
            out.push(',');
        }
        joined_room(&mut out, i, shape, keys.get_mut(i));
    }
    out.push_str(r#"},"invite":{},"leave":{}},"presence":{"events":[]},"account_data":{"events":[]}}"#);
    out.into_bytes()
}

/// Incremental batch `k` (1-based): a few messages in some rooms.
pub fn batch(shape: &Shape, k: usize, keys: &mut [Megolm]) -> Vec<u8> {
    let mut out = String::new();
    let _ = write!(out, r#"{{"next_batch":"b{k}","rooms":{{"join":{{"#);
    let mut rng = Rng::new(0xBA7C_u64 << 32 | k as u64);
    let mut rooms: Vec<usize> = Vec::new();
    while rooms.len() < shape.rooms_per_batch.min(shape.rooms) {
        let r = rng.below(shape.rooms);
        if !rooms.contains(&r) {
            rooms.push(r);
        }
    }
    for (n, &i) in rooms.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let m = members(i);
        let _ = write!(out, r#""!r{i}:localhost":{{"timeline":{{"limited":false,"prev_batch":"b{}","events":["#, k - 1);
        for j in 0..shape.events_per_room_per_batch {
            if j > 0 {
                out.push(',');
            }
            let who = rng.below(m.len());
            let megolm = keys.get_mut(i);
            let sender = if megolm.is_some() { user(m[1]) } else { user(m[who]) };
            message(&mut out, i, &format!("$b{k}r{i}e{j}:localhost"), &sender, 1_800_000_000_000 + (k * 1000 + j) as u64, &mut rng, megolm);
        }
        out.push_str(r#"]},"state":{"events":[]},"ephemeral":{"events":[]},"account_data":{"events":[]}}"#);
    }
    out.push_str(r#"}}}"#);
    out.into_bytes()
}

/// One room's Megolm session, as its sender's device holds it (S8).
/// Key material comes from the OS's random source: the plaintexts and
/// sizes are seeded, the ciphertexts differ from run to run.
pub struct Megolm {
    session: GroupSession,
    session_id: String,
    sender_key: String,
    device: String,
    /// The session as the key export carries it (from message index 0).
    export: serde_json::Value,
}

impl Megolm {
    fn new(room: usize) -> Self {
        let session = GroupSession::new(SessionConfig::version_1());
        let inbound = InboundGroupSession::new(&session.session_key(), SessionConfig::version_1());
        let curve = Curve25519PublicKey::from(&Curve25519SecretKey::new());
        let ed = Ed25519SecretKey::new().public_key();
        let session_id = session.session_id();
        let export = serde_json::json!({
            "algorithm": "m.megolm.v1.aes-sha2",
            "room_id": format!("!r{room}:localhost"),
            "sender_key": curve.to_base64(),
            "session_id": session_id,
            "session_key": inbound.export_at_first_known_index().to_base64(),
            "sender_claimed_keys": { "ed25519": ed.to_base64() },
            "forwarding_curve25519_key_chain": [],
        });
        Self { session, session_id, sender_key: curve.to_base64(), device: format!("SENDER{room}"), export }
    }
}

/// The passphrase of S8's key export file.
pub const PASSPHRASE: &str = "bench key export passphrase";
/// PBKDF2 rounds of the key export: quotient's own `export_room_keys` uses
/// 100,000 (Element Web 500,000); each client pays it once on import.
const ROUNDS: u32 = 100_000;

struct World {
    shape: Shape,
    initial: Bytes,
    batches: Vec<Bytes>,
}

fn json(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder().status(status).header("content-type", "application/json").body(Full::new(body)).expect("a valid response")
}

async fn handle(world: Arc<World>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let _ = req.into_body().collect().await;
    let s = |b: &'static str| Bytes::from_static(b.as_bytes());
    Ok(match (method.as_str(), path.as_str()) {
        ("GET", "/_matrix/client/versions") => json(200, s(VERSIONS)),
        ("GET", "/_matrix/client/v3/account/whoami") => json(200, s(WHOAMI)),
        ("POST", "/_matrix/client/v3/login") => json(200, s(LOGIN)),
        ("GET", "/_matrix/client/v3/capabilities") => json(200, s(CAPABILITIES)),
        ("POST", p) if p.starts_with("/_matrix/client/v3/user/") && p.ends_with("/filter") => json(200, s(r#"{"filter_id":"f1"}"#)),
        ("GET", "/_matrix/client/v3/sync") => {
            let since = query.split('&').find_map(|kv| kv.strip_prefix("since=")).map(str::to_owned);
            match since {
                None => json(200, world.initial.clone()),
                Some(t) => {
                    let k: usize = t.trim_start_matches('b').parse().unwrap_or(0);
                    if k < world.shape.batches {
                        json(200, world.batches[k].clone())
                    } else {
                        json(200, Bytes::from(format!(r#"{{"next_batch":"b{k}"}}"#)))
                    }
                }
            }
        }
        // What an end-to-end encrypting client asks at start: plausible
        // answers for a server that knows no other device.
        ("POST", "/_matrix/client/v3/keys/upload") => json(200, s(r#"{"one_time_key_counts":{"signed_curve25519":50}}"#)),
        ("POST", "/_matrix/client/v3/keys/query") => json(200, s(r#"{"device_keys":{},"master_keys":{},"self_signing_keys":{},"user_signing_keys":{},"failures":{}}"#)),
        ("POST", "/_matrix/client/v3/keys/claim") => json(200, s(r#"{"one_time_keys":{},"failures":{}}"#)),
        ("POST", "/_matrix/client/v3/keys/device_signing/upload") => json(200, s("{}")),
        ("POST", "/_matrix/client/v3/keys/signatures/upload") => json(200, s(r#"{"failures":{}}"#)),
        ("GET", "/_matrix/client/v3/keys/changes") => json(200, s(r#"{"changed":[],"left":[]}"#)),
        ("PUT", p) if p.starts_with("/_matrix/client/v3/sendToDevice/") => json(200, s("{}")),
        ("PUT", p) if p.contains("/account_data/") => json(200, s("{}")),
        ("GET", p) if p.contains("/account_data/") || p.starts_with("/_matrix/client/v3/room_keys/") => {
            json(404, s(r#"{"errcode":"M_NOT_FOUND","error":"Not found"}"#))
        }
        _ => {
            eprintln!("s7 stub: unhandled {method} {path}");
            json(404, s(r#"{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}"#))
        }
    })
}

/// A started stub: where it listens, the initial sync's size, and for an
/// encrypted account the key export file holding every room's session.
pub struct Started {
    pub addr: SocketAddr,
    pub size: usize,
    pub keys: Option<std::path::PathBuf>,
}

/// Generates the account and starts a stub serving it.
pub fn start(shape: Shape) -> Started {
    let mut keys: Vec<Megolm> = if shape.encrypted { (0..shape.rooms).map(Megolm::new).collect() } else { Vec::new() };
    let initial = Bytes::from(initial(&shape, &mut keys));
    let batches = (1..=shape.batches).map(|k| Bytes::from(batch(&shape, k, &mut keys))).collect();
    let key_file = (!keys.is_empty()).then(|| {
        let exported: Vec<ExportedRoomKey> = keys.iter().map(|k| serde_json::from_value(k.export.clone()).expect("an exported room key")).collect();
        let text = matrix_sdk_crypto::encrypt_room_key_export(&exported, PASSPHRASE, ROUNDS).expect("key export");
        let path = std::env::temp_dir().join(format!("quotient-bench-s8-keys-{}.txt", std::process::id()));
        std::fs::write(&path, text).expect("key export written");
        path
    });
    let size = initial.len();
    let world = Arc::new(World { shape, initial, batches });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("s7-stub".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send addr");
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let _ = stream.set_nodelay(true);
                    let world = world.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(world.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            });
        })
        .expect("the stub thread starts");
    Started { addr: rx.recv().expect("the stub starts"), size, keys: key_file }
}

// ---- the child side ----


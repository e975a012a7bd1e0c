//! The clients under test, doing identical work against the stub.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use quotient::api::generated::{login_token::GenerateLoginToken, sync::SyncRequest, versions::GetVersions};
use quotient::{Connection, PasswordHandler};
use serde::Deserialize;
use url::Url;

pub type BoxFut<'a, T = ()> = Pin<Box<dyn Future<Output = T> + 'a>>;

#[derive(Clone, Copy, Debug)]
pub enum Op {
    Versions,
    TokenFlow,
}

pub trait Pending {
    fn abandon_all(self: Box<Self>) -> BoxFut<'static>;
}

pub trait Client {
    fn run(&self, op: Op) -> BoxFut<'_>;
    fn concurrent_flows(&self, n: usize) -> BoxFut<'_>;
    fn hold_pending(&self, n: usize) -> BoxFut<'_, Box<dyn Pending>>;
}

const TOKEN: &str = "syt_YmVuY2g_bench_token";
const LONG_POLL_MS: u64 = 30_000;

// ---- raw: reqwest and plain structs, no job machinery ---------------------

#[derive(Deserialize)]
#[allow(dead_code)]
struct RawVersions {
    versions: Vec<String>,
    #[serde(default)]
    unstable_features: std::collections::BTreeMap<String, bool>,
}

#[derive(Deserialize)]
struct RawChallenge {
    session: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct RawToken {
    login_token: String,
    expires_in_ms: i64,
}

#[derive(Clone)]
pub struct Raw {
    http: reqwest::Client,
    base: Url,
    /// At most this many requests in flight, when set (as the others' limits).
    limit: Option<Arc<tokio::sync::Semaphore>>,
}

impl Raw {
    pub async fn new(base: Url, limit: Option<usize>) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { http, base, limit: limit.map(|n| Arc::new(tokio::sync::Semaphore::new(n))) }
    }

    async fn slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        match &self.limit {
            Some(s) => Some(s.acquire().await.expect("open semaphore")),
            None => None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    async fn versions(&self) {
        // Auth is optional on /versions; the other clients send their token, so this one does.
        let bytes = self.http.get(self.url("/_matrix/client/versions")).bearer_auth(TOKEN).send().await.expect("send").bytes().await.expect("body");
        let _: RawVersions = serde_json::from_slice(&bytes).expect("decode");
    }

    async fn token_flow(&self) {
        let url = self.url("/_matrix/client/v1/login/get_token");
        let slot = self.slot().await;
        let first = self.http.post(&url).bearer_auth(TOKEN).header("content-type", "application/json").body("{}").send().await.expect("send");
        assert_eq!(first.status().as_u16(), 401);
        let challenge: RawChallenge = serde_json::from_slice(&first.bytes().await.expect("body")).expect("challenge");
        drop(slot);
        let body = serde_json::json!({"auth": {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "@bench:localhost"}, "password": "pw", "session": challenge.session}});
        let _slot = self.slot().await;
        let second = self.http.post(&url).bearer_auth(TOKEN).header("content-type", "application/json").body(serde_json::to_vec(&body).expect("json")).send().await.expect("send");
        assert_eq!(second.status().as_u16(), 200);
        let _: RawToken = serde_json::from_slice(&second.bytes().await.expect("body")).expect("token");
    }
}

/// Pending requests as tasks: abandoning aborts them (raw, matrix-sdk).
pub struct TaskPending(pub Vec<tokio::task::JoinHandle<()>>);

/// Runs `n` copies of `flow` as concurrent tasks and waits for all.
pub async fn run_concurrently<F, Fut>(n: usize, flow: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(flow())).collect();
    for t in tasks {
        t.await.expect("flow");
    }
}

impl Pending for TaskPending {
    fn abandon_all(self: Box<Self>) -> BoxFut<'static> {
        Box::pin(async move {
            for h in &self.0 {
                h.abort();
            }
            for h in self.0 {
                let _ = h.await;
            }
        })
    }
}

impl Client for Raw {
    fn run(&self, op: Op) -> BoxFut<'_> {
        Box::pin(async move {
            match op {
                Op::Versions => self.versions().await,
                Op::TokenFlow => self.token_flow().await,
            }
        })
    }

    fn concurrent_flows(&self, n: usize) -> BoxFut<'_> {
        Box::pin(run_concurrently(n, || {
            let me = self.clone();
            async move { me.token_flow().await }
        }))
    }

    fn hold_pending(&self, n: usize) -> BoxFut<'_, Box<dyn Pending>> {
        Box::pin(async move {
            // Like the engine: at most 16 requests on the wire, the rest queue.
            let gate = Arc::new(tokio::sync::Semaphore::new(16));
            let url = self.url(&format!("/_matrix/client/v3/sync?timeout={LONG_POLL_MS}"));
            let tasks = (0..n).map(|_| {
                let (http, url, gate) = (self.http.clone(), url.clone(), gate.clone());
                tokio::spawn(async move {
                    let _permit = gate.acquire().await;
                    let _ = http.get(url).bearer_auth(TOKEN).send().await;
                })
            }).collect();
            Box::new(TaskPending(tasks)) as Box<dyn Pending>
        })
    }
}

// ---- quotient: the engine and the generated types -------------------------

#[derive(Clone)]
pub struct Quotient {
    conn: Connection,
}

impl Quotient {
    pub async fn new(base: Url, limit: Option<usize>) -> Self {
        // No limit: as many jobs on the wire as there are (like raw's reqwest).
        let conn = Connection::builder(base).max_concurrent_jobs(limit.unwrap_or(usize::MAX)).build().expect("connection");
        conn.set_access_token(Some(TOKEN.into()));
        Self { conn }
    }

    async fn token_flow(&self) {
        let mut handler = PasswordHandler::new("@bench:localhost", "pw".into());
        let options = self.conn.default_job_options().clone();
        self.conn.send_with_uia(GenerateLoginToken::new(), &mut handler, options).await.expect("token");
    }
}

struct QuotientPending(Vec<quotient::Job<quotient::api::generated::sync::SyncResponse>>);

impl Pending for QuotientPending {
    fn abandon_all(self: Box<Self>) -> BoxFut<'static> {
        Box::pin(async move {
            for job in &self.0 {
                job.abandon();
            }
            for job in self.0 {
                let _ = job.await;
            }
        })
    }
}

impl Client for Quotient {
    fn run(&self, op: Op) -> BoxFut<'_> {
        Box::pin(async move {
            match op {
                Op::Versions => {
                    self.conn.submit(GetVersions::new()).await.expect("versions");
                }
                Op::TokenFlow => self.token_flow().await,
            }
        })
    }

    fn concurrent_flows(&self, n: usize) -> BoxFut<'_> {
        Box::pin(run_concurrently(n, || {
            let me = self.clone();
            async move { me.token_flow().await }
        }))
    }

    fn hold_pending(&self, n: usize) -> BoxFut<'_, Box<dyn Pending>> {
        Box::pin(async move {
            let conn = Connection::builder(self.conn.homeserver().clone()).build().expect("connection");
            conn.set_access_token(Some(TOKEN.into()));
            let jobs = (0..n)
                .map(|_| conn.submit(SyncRequest { timeout: Some(LONG_POLL_MS as i64), ..Default::default() }))
                .collect();
            Box::new(QuotientPending(jobs)) as Box<dyn Pending>
        })
    }
}

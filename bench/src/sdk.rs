//! matrix-sdk 0.18.0 doing the same work through `Client::send` with
//! ruma's request types (build with `--features matrix-sdk`).

use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::ruma::api::client::{discovery::get_supported_versions, session::get_login_token, sync::sync_events, uiaa};
use matrix_sdk::ruma::api::IncomingResponse as _;
use matrix_sdk::{SessionMeta, SessionTokens};
use url::Url;

use crate::clients::{run_concurrently, BoxFut, Client, Op, Pending, TaskPending};

const TOKEN: &str = "syt_YmVuY2g_bench_token";

#[derive(Clone)]
pub struct Sdk {
    client: matrix_sdk::Client,
}

impl Sdk {
    pub async fn new(base: Url, limit: Option<usize>) -> Self {
        // matrix-sdk's default is no limit; a limit uses its own setting.
        let config = matrix_sdk::config::RequestConfig::default().max_concurrent_requests(limit.and_then(std::num::NonZeroUsize::new));
        let client = matrix_sdk::Client::builder().homeserver_url(base.as_str()).request_config(config).build().await.expect("matrix-sdk client");
        let session = MatrixSession {
            meta: SessionMeta { user_id: "@bench:localhost".try_into().expect("user id"), device_id: "BENCHDEV".into() },
            tokens: SessionTokens { access_token: TOKEN.into(), refresh_token: None },
        };
        client.restore_session(session).await.expect("session");
        Self { client }
    }

    async fn token_flow(&self) {
        let err = self.client.send(get_login_token::v1::Request::new()).await.expect_err("UIA first");
        let session = err.as_uiaa_response().and_then(|info| info.session.clone());
        let identifier = uiaa::UserIdentifier::Matrix(uiaa::MatrixUserIdentifier::new("@bench:localhost".into()));
        let mut password = uiaa::Password::new(identifier, "pw".into());
        password.session = session;
        let mut request = get_login_token::v1::Request::new();
        request.auth = Some(uiaa::AuthData::Password(password));
        self.client.send(request).await.expect("token");
    }
}

impl Client for Sdk {
    fn run(&self, op: Op) -> BoxFut<'_> {
        Box::pin(async move {
            match op {
                Op::Versions => {
                    self.client.send(get_supported_versions::Request::default()).await.expect("versions");
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
            let gate = Arc::new(tokio::sync::Semaphore::new(16));
            let tasks = (0..n)
                .map(|_| {
                    let (client, gate) = (self.client.clone(), gate.clone());
                    tokio::spawn(async move {
                        let _permit = gate.acquire().await;
                        let mut request = sync_events::v3::Request::new();
                        request.timeout = Some(Duration::from_secs(30));
                        let _ = client.send(request).await;
                    })
                })
                .collect();
            Box::new(TaskPending(tasks)) as Box<dyn Pending>
        })
    }
}

/// ruma's typed `/sync` response, decoded the way matrix-sdk does.
pub fn decode_sync(body: &[u8]) {
    let response = http::Response::builder().status(200).body(body.to_vec()).expect("response");
    sync_events::v3::Response::try_from_http_response(response).expect("ruma decode");
}

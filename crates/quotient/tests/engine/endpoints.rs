//! Hand-written endpoints for engine tests: each one's metadata is what
//! the test is about (method, idempotency, auth, a path the engine treats
//! specially).
#![allow(dead_code)]

use std::time::Duration;

use quotient::api::{
    decode_json, AuthRequirement, BuildError, DecodeError, Endpoint, HttpRequest, IncomingResponse,
    Metadata, Method, QueryBuilder, RequestBody, ResponseParts, SecretString,
};

/// `{"ok": bool}` with a required field, to test decoding failures.
#[derive(Debug, serde::Deserialize, PartialEq)]
pub struct Ok_ {
    pub ok: bool,
}

impl IncomingResponse for Ok_ {
    fn decode(parts: &ResponseParts<'_>) -> Result<Self, DecodeError> {
        decode_json(parts.body)
    }
}

macro_rules! test_endpoint {
    ($name:ident, $method:ident, $path:literal, $auth:ident) => {
        test_endpoint!(
            $name,
            $method,
            $path,
            $auth,
            Metadata::idempotent_by_method(Method::$method)
        );
    };
    ($name:ident, $method:ident, $path:literal, $auth:ident, $idempotent:expr) => {
        /// A test endpoint.
        #[derive(Debug, Default, Clone)]
        pub struct $name {
            pub body: Option<serde_json::Value>,
        }

        impl Endpoint for $name {
            const METADATA: Metadata = Metadata {
                operation_id: stringify!($name),
                method: Method::$method,
                path: $path,
                auth: AuthRequirement::$auth,
                rate_limited: true,
                added_in: None,
                deprecated: false,
                idempotent: $idempotent,
                response_content_types: &["application/json"],
                follows_redirects: false,
                server_wait_param: None,
            };
            type Response = Ok_;

            fn build(&self) -> Result<HttpRequest, BuildError> {
                Ok(HttpRequest {
                    method: Method::$method,
                    path_and_query: $path.into(),
                    headers: vec![],
                    body: match &self.body {
                        Some(body) => RequestBody::json(body)?,
                        None => RequestBody::Empty,
                    },
                })
            }
        }
    };
}

test_endpoint!(GetThing, Get, "/_matrix/client/v3/thing", None);
test_endpoint!(GetOther, Get, "/_matrix/client/v3/other", None);
test_endpoint!(PostThing, Post, "/_matrix/client/v3/thing", None);
test_endpoint!(PutThing, Put, "/_matrix/client/v3/thing", None);
test_endpoint!(DeleteThing, Delete, "/_matrix/client/v3/thing", None);
// A POST the metadata declares safe to repeat (a query, like /keys/query).
test_endpoint!(QueryThing, Post, "/_matrix/client/v3/thing", None, true);
test_endpoint!(AuthedGet, Get, "/_matrix/client/v3/authed", Required);
test_endpoint!(
    OptionalAuthGet,
    Get,
    "/_matrix/client/v3/optional",
    Optional
);

pub const THING: &str = "/_matrix/client/v3/thing";
pub const OTHER: &str = "/_matrix/client/v3/other";

/// A long-poll like `/sync`: the server may hold it for `timeout_ms`.
#[derive(Debug, Clone)]
pub struct LongPoll {
    pub timeout_ms: u64,
}

pub const LONG_POLL: &str = "/_matrix/client/v3/longpoll";

impl Endpoint for LongPoll {
    const METADATA: Metadata = Metadata {
        operation_id: "longPoll",
        method: Method::Get,
        path: LONG_POLL,
        auth: AuthRequirement::None,
        rate_limited: false,
        added_in: None,
        deprecated: false,
        idempotent: true,
        response_content_types: &["application/json"],
        follows_redirects: false,
        server_wait_param: None,
    };
    type Response = Ok_;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        let mut query = QueryBuilder::new();
        query.push("timeout", &self.timeout_ms);
        Ok(HttpRequest {
            method: Method::Get,
            path_and_query: format!("{LONG_POLL}{}", query.finish()),
            headers: vec![],
            body: RequestBody::Empty,
        })
    }

    fn server_wait(&self) -> Option<Duration> {
        Some(Duration::from_millis(self.timeout_ms))
    }
}

/// A POST carrying a password, for secret-hygiene tests.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub password: SecretString,
}

pub const SIGN_IN: &str = "/_matrix/client/v3/signin";

impl Endpoint for SignIn {
    const METADATA: Metadata = Metadata {
        operation_id: "signIn",
        method: Method::Post,
        path: SIGN_IN,
        auth: AuthRequirement::Optional,
        rate_limited: true,
        added_in: None,
        deprecated: false,
        idempotent: false,
        response_content_types: &["application/json"],
        follows_redirects: false,
        server_wait_param: None,
    };
    type Response = Ok_;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        Ok(HttpRequest {
            method: Method::Post,
            path_and_query: SIGN_IN.into(),
            headers: vec![],
            body: RequestBody::json(&serde_json::json!({
                "type": "m.login.password",
                "password": self.password,
            }))?,
        })
    }
}

/// A media-style upload of raw bytes.
#[derive(Debug, Clone)]
pub struct Upload {
    pub data: Vec<u8>,
}

pub const UPLOAD: &str = "/_matrix/media/v3/upload";

impl Endpoint for Upload {
    const METADATA: Metadata = Metadata {
        operation_id: "upload",
        method: Method::Post,
        path: UPLOAD,
        auth: AuthRequirement::None,
        rate_limited: true,
        added_in: None,
        deprecated: false,
        idempotent: false,
        response_content_types: &["application/json"],
        follows_redirects: false,
        server_wait_param: None,
    };
    type Response = Ok_;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        Ok(HttpRequest {
            method: Method::Post,
            path_and_query: UPLOAD.into(),
            headers: vec![],
            body: RequestBody::Bytes {
                content_type: "application/octet-stream".into(),
                data: self.data.clone().into(),
            },
        })
    }
}

/// An authenticated media download, whose answer the spec lets redirect.
#[derive(Debug, Clone)]
pub struct Download {
    pub media_id: &'static str,
}

pub const DOWNLOAD_PREFIX: &str = "/_matrix/client/v1/media/download/example.org/";

impl Endpoint for Download {
    const METADATA: Metadata = Metadata {
        operation_id: "getContentAuthed",
        method: Method::Get,
        path: "/_matrix/client/v1/media/download/{serverName}/{mediaId}",
        auth: AuthRequirement::Required,
        rate_limited: true,
        added_in: Some("1.11"),
        deprecated: false,
        idempotent: true,
        response_content_types: &["application/octet-stream"],
        follows_redirects: true,
        server_wait_param: Some("timeout_ms"),
    };
    type Response = Ok_;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        Ok(HttpRequest {
            method: Method::Get,
            path_and_query: format!("{DOWNLOAD_PREFIX}{}", self.media_id),
            headers: vec![],
            body: RequestBody::Empty,
        })
    }
}

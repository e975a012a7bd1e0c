//! The seam between the crypto machine and the engine: each request the
//! machine asks for goes out as a job, and its answer goes back to the
//! machine. ruma's types appear here and nowhere in the public API.
//!
//! ruma's request types do not serialise (only their private bodies do),
//! so each body is written out here, field by field, from the spec's
//! shape; answers are parsed by ruma from the body bytes as the server
//! sent them.

use std::time::Duration;

use matrix_sdk_common::ruma::api::client::keys::{
    claim_keys, get_keys, upload_keys, upload_signatures, upload_signing_keys,
};
use matrix_sdk_common::ruma::api::client::message::send_message_event;
use matrix_sdk_common::ruma::api::client::to_device::send_event_to_device;
use matrix_sdk_common::ruma::api::IncomingResponse;
use matrix_sdk_common::ruma::events::MessageLikeEventContent;
use matrix_sdk_common::ruma::TransactionId;
use matrix_sdk_crypto::types::requests::{
    AnyOutgoingRequest, KeysQueryRequest, OutgoingRequest, ToDeviceRequest,
};
use matrix_sdk_crypto::OlmMachine;
use quotient_api::{encode_path_segment, find_operation, HttpRequest, Method, RequestBody};
use serde_json::{json, Map, Value};

use crate::client::request_error;
use crate::error::{Error, Result};

const V3: &str = "/_matrix/client/v3";

/// Sends one HTTP request through the engine and returns the answer's
/// body. The operation's metadata (auth, retries, rate limits) is the
/// spec's, looked up by method and path.
pub(super) async fn call(
    conn: &quotient::Connection,
    method: Method,
    path: String,
    body: &Value,
) -> Result<Vec<u8>> {
    let meta = *find_operation(method, &path)
        .ok_or_else(|| Error::Crypto(format!("no operation for {path}")))?;
    let body = RequestBody::json(body).map_err(|e| Error::Crypto(e.to_string()))?;
    let request = HttpRequest {
        method,
        path_and_query: path,
        headers: Vec::new(),
        body,
    };
    let options = conn.default_job_options().clone();
    let answer = conn
        .submit_request(meta, request, options)
        .await
        .map_err(request_error)?;
    Ok(answer.body().to_vec())
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Crypto(format!("a key request: {e}")))
}

pub(super) fn parse<R: IncomingResponse>(body: Vec<u8>) -> Result<R> {
    R::try_from_http_response(http::Response::new(body))
        .map_err(|e| Error::Crypto(format!("the server's answer to a key request: {e}")))
}

fn timeout_ms(timeout: Option<Duration>, body: &mut Map<String, Value>) {
    if let Some(t) = timeout {
        body.insert(
            "timeout".into(),
            json!(u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        );
    }
}

/// Sends a `/keys/query` and hands the answer to the machine.
pub(super) async fn keys_query(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    id: &TransactionId,
    request: &KeysQueryRequest,
) -> Result<()> {
    let mut body = Map::new();
    body.insert("device_keys".into(), to_json(&request.device_keys)?);
    timeout_ms(request.timeout, &mut body);
    let path = (Method::Post, format!("{V3}/keys/query"));
    exchange::<get_keys::v3::Response>(conn, machine, id, path, &body.into()).await
}

/// Sends a `/keys/claim` and hands the answer to the machine.
pub(super) async fn keys_claim(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    id: &TransactionId,
    request: &claim_keys::v3::Request,
) -> Result<()> {
    let mut body = Map::new();
    body.insert("one_time_keys".into(), to_json(&request.one_time_keys)?);
    timeout_ms(request.timeout, &mut body);
    let path = (Method::Post, format!("{V3}/keys/claim"));
    exchange::<claim_keys::v3::Response>(conn, machine, id, path, &body.into()).await
}

/// Sends a `/keys/upload` and hands the answer to the machine.
pub(super) async fn keys_upload(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    id: &TransactionId,
    request: &upload_keys::v3::Request,
) -> Result<()> {
    let mut body = Map::new();
    if let Some(keys) = &request.device_keys {
        body.insert("device_keys".into(), to_json(keys)?);
    }
    if !request.one_time_keys.is_empty() {
        body.insert("one_time_keys".into(), to_json(&request.one_time_keys)?);
    }
    if !request.fallback_keys.is_empty() {
        body.insert("fallback_keys".into(), to_json(&request.fallback_keys)?);
    }
    let answer = call(
        conn,
        Method::Post,
        format!("{V3}/keys/upload"),
        &body.into(),
    )
    .await?;
    pause_after_keys_upload();
    let response: upload_keys::v3::Response = parse(answer)?;
    mark(machine, id, &response).await
}

/// Sends one to-device request (its transaction ID makes a resend safe)
/// and tells the machine.
pub(super) async fn to_device(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    id: &TransactionId,
    request: &ToDeviceRequest,
) -> Result<()> {
    let path = format!(
        "{V3}/sendToDevice/{}/{}",
        encode_path_segment(&request.event_type.to_string()),
        encode_path_segment(request.txn_id.as_str())
    );
    let body = json!({ "messages": to_json(&request.messages)? });
    exchange::<send_event_to_device::v3::Response>(conn, machine, id, (Method::Put, path), &body)
        .await
}

/// Sends a signature upload and tells the machine.
pub(super) async fn signature_upload(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    id: &TransactionId,
    request: &upload_signatures::v3::Request,
) -> Result<()> {
    let body = to_json(&request.signed_keys)?;
    let path = format!("{V3}/keys/signatures/upload");
    exchange::<upload_signatures::v3::Response>(conn, machine, id, (Method::Post, path), &body)
        .await
}

/// Sends whatever the machine asked for.
pub(super) async fn send(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    request: &OutgoingRequest,
) -> Result<()> {
    let id = request.request_id();
    match request.request() {
        AnyOutgoingRequest::KeysUpload(r) => keys_upload(conn, machine, id, r).await,
        AnyOutgoingRequest::KeysQuery(r) => keys_query(conn, machine, id, r).await,
        AnyOutgoingRequest::KeysClaim(r) => keys_claim(conn, machine, id, r).await,
        AnyOutgoingRequest::ToDeviceRequest(r) => to_device(conn, machine, id, r).await,
        AnyOutgoingRequest::SignatureUpload(r) => signature_upload(conn, machine, id, r).await,
        AnyOutgoingRequest::RoomMessage(r) => {
            // Only in-room verification asks for these (not built yet);
            // sent plain as the machine gave them.
            let path = format!(
                "{V3}/rooms/{}/send/{}/{}",
                encode_path_segment(r.room_id.as_str()),
                encode_path_segment(&r.content.event_type().to_string()),
                encode_path_segment(r.txn_id.as_str())
            );
            let body = to_json(&*r.content)?;
            exchange::<send_message_event::v3::Response>(
                conn,
                machine,
                id,
                (Method::Put, path),
                &body,
            )
            .await
        }
    }
}

/// Uploads cross-signing keys through the engine's UIA driver, answering
/// a password stage with `password` (a server that asks for UIA at an
/// account's first upload).
pub(super) async fn signing_keys_upload_uia(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    request: &matrix_sdk_crypto::types::requests::UploadSigningKeysRequest,
    password: &quotient::SecretString,
) -> Result<()> {
    fn convert(
        key: &Option<matrix_sdk_crypto::types::CrossSigningKey>,
    ) -> Result<Option<quotient_api::generated::definitions::CrossSigningKey>> {
        key.as_ref()
            .map(|k| serde_json::from_value(to_json(k)?).map_err(Error::Json))
            .transpose()
    }
    let mut upload = quotient_api::generated::cross_signing::UploadCrossSigningKeys::new();
    upload.master_key = convert(&request.master_key)?;
    upload.self_signing_key = convert(&request.self_signing_key)?;
    upload.user_signing_key = convert(&request.user_signing_key)?;
    let mut handler = quotient::PasswordHandler::new(machine.user_id().as_str(), password.clone());
    conn.send_with_uia(upload, &mut handler, conn.default_job_options().clone())
        .await
        .map_err(|e| {
            // A refused password is the answer's `M_FORBIDDEN`, not a
            // session the server forgot.
            if e.errcode().map(|c| c.as_str()) == Some("M_FORBIDDEN") {
                Error::Request(e)
            } else {
                request_error(e)
            }
        })?;
    let response = upload_signing_keys::v3::Response::new();
    let response =
        matrix_sdk_crypto::types::requests::AnyIncomingResponse::SigningKeysUpload(&response);
    machine
        .mark_request_as_sent(&TransactionId::new(), response)
        .await
        .map_err(|e| Error::Crypto(format!("the crypto machine refused an answer: {e}")))
}

/// Uploads cross-signing keys (`POST /keys/device_signing/upload`) with
/// the UIA `auth` given, if any.
pub(super) async fn signing_keys_upload(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    request: &matrix_sdk_crypto::types::requests::UploadSigningKeysRequest,
    auth: Option<Value>,
) -> Result<()> {
    let mut body = Map::new();
    if let Some(k) = &request.master_key {
        body.insert("master_key".into(), to_json(k)?);
    }
    if let Some(k) = &request.self_signing_key {
        body.insert("self_signing_key".into(), to_json(k)?);
    }
    if let Some(k) = &request.user_signing_key {
        body.insert("user_signing_key".into(), to_json(k)?);
    }
    if let Some(auth) = auth {
        body.insert("auth".into(), auth);
    }
    let path = "/_matrix/client/v3/keys/device_signing/upload".to_owned();
    let answer = call(conn, Method::Post, path, &body.into()).await?;
    let response: upload_signing_keys::v3::Response = parse(answer)?;
    let response =
        matrix_sdk_crypto::types::requests::AnyIncomingResponse::SigningKeysUpload(&response);
    machine
        .mark_request_as_sent(&TransactionId::new(), response)
        .await
        .map_err(|e| Error::Crypto(format!("the crypto machine refused an answer: {e}")))
}

/// Sends one request and hands the machine the answer, parsed as `R`.
async fn exchange<R>(
    conn: &quotient::Connection,
    machine: &OlmMachine,
    id: &TransactionId,
    (method, path): (Method, String),
    body: &Value,
) -> Result<()>
where
    R: IncomingResponse,
    for<'a> &'a R: Into<matrix_sdk_crypto::types::requests::AnyIncomingResponse<'a>>,
{
    let answer = call(conn, method, path, body).await?;
    let response: R = parse(answer)?;
    mark(machine, id, &response).await
}

async fn mark<'a, R>(machine: &OlmMachine, id: &TransactionId, response: &'a R) -> Result<()>
where
    &'a R: Into<matrix_sdk_crypto::types::requests::AnyIncomingResponse<'a>>,
{
    machine
        .mark_request_as_sent(id, response)
        .await
        .map_err(|e| Error::Crypto(format!("the crypto machine refused an answer: {e}")))
}

/// **Test-only.** When `QUOTIENT_CLIENT_TEST_PAUSE_AFTER_KEYS_UPLOAD`
/// names a file (read once per process), each `/keys/upload` whose answer
/// came, before the machine hears of it, creates that file and sleeps
/// 30 s: a test kills the process there to check no one-time key ID is
/// reused afterwards. Never set it outside tests.
fn pause_after_keys_upload() {
    static MARKER: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    test_pause(&MARKER, "QUOTIENT_CLIENT_TEST_PAUSE_AFTER_KEYS_UPLOAD");
}

/// **Test-only.** Like the pause above, for
/// `QUOTIENT_CLIENT_TEST_PAUSE_IN_BACKUP_UPLOAD`: after the server took a
/// batch of room keys for the backup, before the machine marks them
/// backed up.
pub(super) fn pause_in_backup_upload() {
    static MARKER: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    test_pause(&MARKER, "QUOTIENT_CLIENT_TEST_PAUSE_IN_BACKUP_UPLOAD");
}

fn test_pause(marker: &std::sync::OnceLock<Option<std::path::PathBuf>>, variable: &str) {
    let marker = marker.get_or_init(|| std::env::var_os(variable).map(Into::into));
    if let Some(marker) = marker {
        let _ = std::fs::write(marker, b"paused");
        std::thread::sleep(Duration::from_secs(30));
    }
}

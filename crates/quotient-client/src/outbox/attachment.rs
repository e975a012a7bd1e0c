//! Entries with a file: upload it, then send the event that points at it,
//! as one outbox entry.
//!
//! The URI is reserved first (`POST /_matrix/media/v1/create`) and stored
//! in the entry before the upload starts; the bytes then go to that URI
//! (`PUT /_matrix/media/v3/upload/{server}/{id}`). A crash at any point
//! costs at most the upload in flight: the next try sends the bytes to
//! the same URI, and a server that already has them answers
//! `M_CANNOT_OVERWRITE_MEDIA`, which means done. A server without
//! reserved URIs (before v1.7) gets a plain upload, whose URI is stored
//! as soon as it answers.
//!
//! In an encrypted room the bytes are the file's ciphertext, made with a
//! key stored before the upload (`sealed_file.rs`), and the event gets
//! `file` (URI, key, IV, hash) instead of `url`.

use quotient::SecretString;
use quotient_api::generated::content_repo::{CreateContent, UploadContent, UploadContentToMXC};
use quotient_api::{ErrorCode, JsonObject, MxcUri};
use serde_json::{json, Value};

use super::entry::{Attachment, OutboxEntry, OutboxState, OutgoingEvent};
use super::registry::OutboxChange;
use super::sealed_file::{self, file_object};
use super::stop::{store_failed, Stop};
use crate::client::Client;
use crate::media::OCTET_STREAM;
use quotient::StatusCode;

/// The event to send for `entry`: its own, or for an entry with a file,
/// the file uploaded (once) and its URI and info put in the content —
/// encrypted first when `encrypted` (the room is).
pub(super) async fn prepare(
    client: &Client,
    entry: &OutboxEntry,
    encrypted: bool,
) -> Result<OutgoingEvent, Stop> {
    let Some(attachment) = &entry.attachment else {
        return Ok(entry.event.clone());
    };
    let (uri, key) = if encrypted {
        upload_sealed(client, entry, attachment).await?
    } else {
        (upload(client, entry, attachment, None).await?, None)
    };
    let OutgoingEvent::Message {
        event_type,
        mut content,
    } = entry.event.clone()
    else {
        return Ok(entry.event.clone());
    };
    match &key {
        Some(key) => {
            content.remove("url");
            content.insert("file".into(), file_object(key, &uri)?);
        }
        None => {
            content.insert("url".into(), uri.into());
        }
    }
    let info = content
        .entry("info")
        .or_insert_with(|| Value::Object(JsonObject::new()));
    if let Value::Object(info) = info {
        // The plaintext's size and type: what the receiver gets.
        info.insert("size".into(), json!(attachment.size));
        info.insert("mimetype".into(), json!(attachment.content_type));
    }
    Ok(OutgoingEvent::Message {
        event_type,
        content,
    })
}

/// The encrypted file's URI and key, encrypting and uploading it unless
/// that was done (under the key stored for the entry).
async fn upload_sealed(
    client: &Client,
    entry: &OutboxEntry,
    a: &Attachment,
) -> Result<(String, Option<SecretString>), Stop> {
    let stored = client
        .store()
        .and_then(|s| s.outbox_file_key(&entry.txn_id))
        .map_err(store_failed)?;
    if let (Some(key), true, Some(uri)) = (&stored, a.uploaded, &a.content_uri) {
        return Ok((uri.clone(), Some(key.clone())));
    }
    let plaintext = read(a).await?;
    let sealed = sealed_file::seal(client, entry, a, plaintext).await?;
    let uri = upload(
        client,
        entry,
        &sealed.attachment,
        Some(sealed.ciphertext.into()),
    )
    .await?;
    Ok((uri, Some(sealed.key)))
}

/// The attachment's file, checked against the size it had when queued.
async fn read(a: &Attachment) -> Result<Vec<u8>, Stop> {
    let data = tokio::fs::read(&a.path)
        .await
        .map_err(|e| Stop::Fail(format!("cannot read {}: {e}", a.path.display())))?;
    if data.len() as u64 != a.size {
        return Err(Stop::Fail(format!(
            "{} changed since it was queued ({} bytes then, {} now)",
            a.path.display(),
            a.size,
            data.len()
        )));
    }
    Ok(data)
}

/// The attachment's URI, uploading it unless that was done: `sealed`, the
/// ciphertext of an encrypted file (sent as `application/octet-stream`
/// without its name), else the file as it is.
async fn upload(
    client: &Client,
    entry: &OutboxEntry,
    a: &Attachment,
    sealed: Option<quotient_api::Bytes>,
) -> Result<String, Stop> {
    if a.uploaded {
        if let Some(uri) = &a.content_uri {
            return Ok(uri.clone());
        }
    }
    let (data, content_type, filename) = match sealed {
        Some(ciphertext) => (ciphertext, OCTET_STREAM.to_owned(), None),
        None => (
            read(a).await?.into(),
            a.content_type.clone(),
            a.path.file_name().map(|n| n.to_string_lossy().into_owned()),
        ),
    };
    let conn = client.connection();
    let reserved = match &a.content_uri {
        Some(uri) => Some(uri.clone()),
        None => match conn.submit(CreateContent::default()).await {
            Ok(answer) => {
                let uri = answer.into_value().content_uri.into_string();
                record(client, entry, a, Some(&uri), false)?;
                Some(uri)
            }
            // Before v1.7: no reserved URIs.
            Err(e)
                if matches!(
                    e.status(),
                    StatusCode::RequestNotImplemented | StatusCode::NotFound
                ) =>
            {
                None
            }
            Err(e) => return Err(Stop::from_request(e)),
        },
    };
    let uri = match reserved {
        Some(uri) => {
            let parsed = MxcUri::parse(uri.as_str()).map_err(|e| Stop::Fail(e.to_string()))?;
            let mut request =
                UploadContentToMXC::new(parsed.server_name(), parsed.media_id().to_owned(), data);
            request.content_type = Some(content_type);
            request.filename = filename;
            let job = conn.submit(request);
            let progress = forward_progress(client, entry, job.events());
            let answer = job.await;
            // Every progress notice is out before the next state's.
            let _ = progress.await;
            match answer {
                Ok(_) => {}
                // The bytes are there already: an earlier try got through.
                Err(e) if e.errcode() == Some(&ErrorCode::CannotOverwriteMedia) => {}
                // The reservation is gone (it expired unused) or refused:
                // forget it, so the next try reserves a new URI.
                Err(e)
                    if matches!(
                        e.status(),
                        StatusCode::NotFound | StatusCode::ContentAccessError
                    ) =>
                {
                    record(client, entry, a, None, false)?;
                    return Err(match e.status() {
                        StatusCode::NotFound => {
                            Stop::Retry(format!("the reserved {uri} is gone: {e}"))
                        }
                        _ => Stop::Fail(e.to_string()),
                    });
                }
                Err(e) => return Err(Stop::from_request(e)),
            }
            uri
        }
        None => {
            let mut request = UploadContent::new(data);
            request.content_type = Some(content_type);
            request.filename = filename;
            let job = conn.submit(request);
            let progress = forward_progress(client, entry, job.events());
            let answer = job.await;
            let _ = progress.await;
            let answer = answer.map_err(Stop::from_request)?;
            answer.into_value().content_uri.into_string()
        }
    };
    record(client, entry, a, Some(&uri), true)?;
    Ok(uri)
}

/// Stores how far the upload got, before the next step starts.
fn record(
    client: &Client,
    entry: &OutboxEntry,
    a: &Attachment,
    uri: Option<&str>,
    uploaded: bool,
) -> Result<(), Stop> {
    let mut updated = a.clone();
    updated.content_uri = uri.map(str::to_owned);
    updated.uploaded = uploaded;
    client
        .store()
        .and_then(|mut s| s.set_attachment(&entry.txn_id, &updated))
        .map_err(|e| Stop::Halt {
            session: false,
            reason: format!("the store failed: {e}"),
        })
}

/// Tells the outbox's watchers how the upload moves, until its job ends.
fn forward_progress(
    client: &Client,
    entry: &OutboxEntry,
    mut events: quotient::JobEvents,
) -> tokio::task::JoinHandle<()> {
    let (client, room, txn) = (client.clone(), entry.room_id.clone(), entry.txn_id.clone());
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let quotient::JobEvent::UploadProgress { sent, total } = event {
                client.outbox().tell(OutboxChange {
                    room_id: room.clone(),
                    txn_id: txn.clone(),
                    state: OutboxState::Sending,
                    retry_reason: None,
                    halted: None,
                    upload: Some((sent, total)),
                });
            }
        }
    })
}

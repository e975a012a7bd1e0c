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

use quotient_api::generated::content_repo::{CreateContent, UploadContent, UploadContentToMXC};
use quotient_api::{ErrorCode, JsonObject, MxcUri};
use serde_json::{json, Value};

use super::entry::{Attachment, OutboxEntry, OutboxState, OutgoingEvent};
use super::registry::OutboxChange;
use super::sender::Stop;
use crate::client::Client;
use quotient::StatusCode;

/// The event to send for `entry`: its own, or for an entry with a file,
/// the file uploaded (once) and its URI and info put in the content.
pub(super) async fn prepare(client: &Client, entry: &OutboxEntry) -> Result<OutgoingEvent, Stop> {
    let Some(attachment) = &entry.attachment else {
        return Ok(entry.event.clone());
    };
    let uri = upload(client, entry, attachment).await?;
    let OutgoingEvent::Message {
        event_type,
        mut content,
    } = entry.event.clone()
    else {
        return Ok(entry.event.clone());
    };
    content.insert("url".into(), uri.into());
    let info = content
        .entry("info")
        .or_insert_with(|| Value::Object(JsonObject::new()));
    if let Value::Object(info) = info {
        info.insert("size".into(), json!(attachment.size));
        info.insert("mimetype".into(), json!(attachment.content_type));
    }
    Ok(OutgoingEvent::Message {
        event_type,
        content,
    })
}

/// The attachment's URI, uploading the file unless that was done.
async fn upload(client: &Client, entry: &OutboxEntry, a: &Attachment) -> Result<String, Stop> {
    if a.uploaded {
        if let Some(uri) = &a.content_uri {
            return Ok(uri.clone());
        }
    }
    let path = a.path.clone();
    let data: quotient_api::Bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| Stop::Fail(format!("cannot read {}: {e}", a.path.display())))?
        .into();
    if data.len() as u64 != a.size {
        return Err(Stop::Fail(format!(
            "{} changed since it was queued ({} bytes then, {} now)",
            a.path.display(),
            a.size,
            data.len()
        )));
    }
    let filename = a.path.file_name().map(|n| n.to_string_lossy().into_owned());
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
            request.content_type = Some(a.content_type.clone());
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
            request.content_type = Some(a.content_type.clone());
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

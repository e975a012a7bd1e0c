//! One attempt on the wire: send the request (following the redirects
//! that may be followed), read the whole answer.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use quotient_api::{Method, RequestBody};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE,
};
use url::Url;

use super::bearer::Bearer;
use super::clock::{AttemptClock, UploadState};
use super::events::JobEvent;
use super::gate::Permit;
use super::redirect::{self, RedirectRefused};
use super::shared::EventSink;
use super::sink::SinkSlot;

/// Bodies up to this size go out in one piece; larger ones are streamed in
/// chunks so upload progress means something.
const STREAM_THRESHOLD: usize = 64 * 1024;
const UPLOAD_CHUNK: usize = 64 * 1024;
/// Progress without a known total is reported every this many bytes.
const PROGRESS_STEP_UNKNOWN_TOTAL: u64 = 1024 * 1024;

pub(crate) struct AttemptRequest<'a> {
    pub client: &'a reqwest::Client,
    pub url: &'a Url,
    pub method: Method,
    pub headers: &'a [(String, String)],
    pub token: Option<&'a Bearer>,
    pub body: &'a RequestBody,
    pub max_body_size: u64,
    pub events: &'a Arc<dyn EventSink>,
    pub attempt: u32,
    /// Told of every chunk that moves, so a slow transfer is not timed out.
    pub clock: &'a AttemptClock,
    /// Whether a redirect answer is followed (see `redirect`).
    pub follow_redirects: bool,
    /// Where a 2xx body goes instead of memory, if anywhere.
    pub sink: Option<&'a SinkSlot>,
    /// The attempt's slot, told when the answer's head arrives.
    pub permit: &'a Permit,
}

#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// Nothing reached the server: connecting (DNS, TCP, TLS) failed.
    #[error("could not connect to the server")]
    NotSent(#[source] reqwest::Error),
    /// The connection broke after the request may have been sent.
    #[error("the connection failed before a complete answer arrived")]
    MaybeSent(#[source] reqwest::Error),
    /// The answer is larger than the job accepts.
    #[error("the response body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    /// A header parameter cannot be sent as an HTTP header.
    #[error("header `{0}` has a value that cannot be sent")]
    InvalidHeader(String),
    /// The job's body sink failed (or could not start over for a retry).
    #[error("the download could not be written: {0}")]
    Sink(#[source] std::io::Error),
    /// A redirect that may be followed was not safe or sane to follow.
    #[error("{reason} (HTTP {status})")]
    Redirect {
        /// The redirect's status.
        status: u16,
        /// Why it was refused.
        reason: RedirectRefused,
    },
}

fn reqwest_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Put => reqwest::Method::PUT,
        Method::Post => reqwest::Method::POST,
        Method::Delete => reqwest::Method::DELETE,
    }
}

fn classify_send_error(e: reqwest::Error) -> TransportError {
    // The URL is left out of the error: query strings are nobody's business
    // in a log, and it is already in the job's span.
    let e = e.without_url();
    if e.is_connect() {
        TransportError::NotSent(e)
    } else {
        TransportError::MaybeSent(e)
    }
}

/// Reports progress at most ~100 times per transfer, plus the final count.
struct ProgressThrottle {
    step: u64,
    next: u64,
}

impl ProgressThrottle {
    fn new(total: Option<u64>) -> Self {
        let step = total.map_or(PROGRESS_STEP_UNKNOWN_TOTAL, |t| (t / 100).max(1));
        Self { step, next: 0 }
    }

    fn due(&mut self, done: u64, total: Option<u64>) -> bool {
        if done >= self.next || Some(done) == total {
            self.next = done + self.step;
            true
        } else {
            false
        }
    }
}

pub(crate) async fn send(req: AttemptRequest<'_>) -> Result<RawResponse, TransportError> {
    let mut headers = HeaderMap::new();
    for (name, value) in req.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| TransportError::InvalidHeader(name.clone()))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| TransportError::InvalidHeader(name.to_string()))?;
        headers.insert(name, value);
    }
    let authorization = match req.token {
        Some(token) => Some(
            token
                .header()
                .ok_or_else(|| TransportError::InvalidHeader("Authorization".into()))?,
        ),
        None => None,
    };
    let sent_reported = Arc::new(AtomicBool::new(false));
    let mut url = Cow::Borrowed(req.url);
    let mut followed = 0;
    loop {
        // Headers are copied only when another hop may need them.
        let mut hop_headers = if req.follow_redirects {
            headers.clone()
        } else {
            std::mem::take(&mut headers)
        };
        if let Some(value) = &authorization {
            if redirect::keeps_token(req.url, &url) {
                hop_headers.insert(AUTHORIZATION, HeaderValue::clone(value));
            }
        }
        let response = send_once(&req, &url, hop_headers, &sent_reported).await?;
        // Only the homeserver's own answer says how it speaks: a redirect
        // may lead to a CDN on HTTP/2.
        req.permit
            .head_arrived(followed == 0 && response.version() >= reqwest::Version::HTTP_2);
        let status = response.status().as_u16();
        if req.follow_redirects && redirect::is_redirect(status) {
            let next = redirect::next_hop(&url, response.headers(), followed)
                .map_err(|reason| TransportError::Redirect { status, reason })?;
            followed += 1;
            drop(response);
            req.clock.awaiting_head();
            url = Cow::Owned(next);
            continue;
        }
        let sink = req.sink.filter(|_| (200..300).contains(&status));
        return read_body(response, req.max_body_size, &**req.events, req.clock, sink).await;
    }
}

/// One HTTP request of the attempt (the first, or a redirect's next hop),
/// until the answer's head.
async fn send_once(
    req: &AttemptRequest<'_>,
    url: &Url,
    mut headers: HeaderMap,
    sent_reported: &Arc<AtomicBool>,
) -> Result<reqwest::Response, TransportError> {
    let total = req.body.bytes().len() as u64;
    // The request is made directly, not through reqwest's builder, which
    // would copy every header into a map of its own.
    let mut request = reqwest::Request::new(reqwest_method(req.method), url.clone());
    if let Some(content_type) = req.body.content_type() {
        let value = if content_type == "application/json" {
            HeaderValue::from_static("application/json")
        } else {
            HeaderValue::from_str(content_type)
                .map_err(|_| TransportError::InvalidHeader("Content-Type".into()))?
        };
        headers.insert(CONTENT_TYPE, value);
        headers.insert(CONTENT_LENGTH, HeaderValue::from(total));
        *request.body_mut() = Some(if total > STREAM_THRESHOLD as u64 {
            let upload = UploadState::new();
            req.clock.uploading(upload.clone());
            reqwest::Body::wrap_stream(UploadStream {
                data: shared_bytes(req.body),
                pos: 0,
                throttle: ProgressThrottle::new(Some(total)),
                events: req.events.clone(),
                attempt: req.attempt,
                sent_reported: sent_reported.clone(),
                upload,
            })
        } else {
            reqwest::Body::from(shared_bytes(req.body))
        });
    }
    *request.headers_mut() = headers;
    let response = req
        .client
        .execute(request)
        .await
        .map_err(classify_send_error)?;
    if !sent_reported.swap(true, Ordering::SeqCst) {
        if total > 0 {
            req.events
                .emit(JobEvent::UploadProgress { sent: total, total });
        }
        req.events.emit(JobEvent::Sent {
            attempt: req.attempt,
        });
    }
    Ok(response)
}

/// The body as a buffer this attempt can hand to the HTTP stack. A media
/// body is shared, not copied (`Bytes` is reference-counted), so a 20 MB
/// upload is held once however many attempts it takes. A JSON body is
/// small and zeroed on drop in its own buffer; it is copied per attempt.
fn shared_bytes(body: &RequestBody) -> Bytes {
    match body {
        RequestBody::Bytes { data, .. } => data.clone(),
        other => Bytes::copy_from_slice(other.bytes()),
    }
}

/// Reads the answer's body: into memory, or, for a 2xx of a job with a
/// sink, chunk by chunk into the sink (the response's own body is then
/// empty). Either way the body is capped at `limit` bytes.
async fn read_body(
    mut response: reqwest::Response,
    limit: u64,
    events: &dyn EventSink,
    clock: &AttemptClock,
    sink: Option<&SinkSlot>,
) -> Result<RawResponse, TransportError> {
    clock.received();
    let status = response.status().as_u16();
    let total = response.content_length();
    if total.is_some_and(|t| t > limit) {
        return Err(TransportError::BodyTooLarge { limit });
    }
    let mut sink = match sink {
        Some(slot) => {
            clock.sinking();
            let sink = slot.begin().await.map_err(TransportError::Sink)?;
            clock.received();
            Some(sink)
        }
        None => None,
    };
    let capacity = match sink {
        Some(_) => 0,
        None => total.unwrap_or(0).min(limit).min(1 << 20) as usize,
    };
    let mut body = BytesMut::with_capacity(capacity);
    let mut received = 0u64;
    let mut throttle = ProgressThrottle::new(total);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TransportError::MaybeSent(e.without_url()))?
    {
        clock.received();
        received += chunk.len() as u64;
        if received > limit {
            return Err(TransportError::BodyTooLarge { limit });
        }
        match &mut sink {
            Some(sink) => {
                clock.sinking();
                sink.write(chunk).await.map_err(TransportError::Sink)?;
                // A slow disk is not a stalled server.
                clock.received();
            }
            None => body.extend_from_slice(&chunk),
        }
        if throttle.due(received, total) {
            events.emit(JobEvent::DownloadProgress { received, total });
        }
    }
    if let Some(sink) = &mut sink {
        clock.sinking();
        sink.finish().await.map_err(TransportError::Sink)?;
    }
    Ok(RawResponse {
        status,
        headers: std::mem::take(response.headers_mut()),
        body: body.freeze(),
    })
}

struct UploadStream {
    data: Bytes,
    pos: usize,
    throttle: ProgressThrottle,
    events: Arc<dyn EventSink>,
    attempt: u32,
    sent_reported: Arc<AtomicBool>,
    /// Each chunk handed over is progress: the attempt lives on.
    upload: Arc<UploadState>,
}

impl futures_core::Stream for UploadStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let total = this.data.len() as u64;
        if this.pos >= this.data.len() {
            return Poll::Ready(None);
        }
        let end = (this.pos + UPLOAD_CHUNK).min(this.data.len());
        let chunk = this.data.slice(this.pos..end);
        this.pos = end;
        let sent = end as u64;
        this.upload.chunk_sent(end == this.data.len());
        if this.throttle.due(sent, Some(total)) {
            this.events.emit(JobEvent::UploadProgress { sent, total });
        }
        // hyper stops polling once Content-Length bytes are out, so the end
        // of the body is the last chunk, not the stream's `None`.
        if end == this.data.len() && !this.sent_reported.swap(true, Ordering::SeqCst) {
            this.events.emit(JobEvent::Sent {
                attempt: this.attempt,
            });
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_body_is_shared_with_every_attempt_not_copied() {
        let data = Bytes::from(vec![7u8; 1 << 20]);
        let body = RequestBody::Bytes {
            content_type: "application/octet-stream".into(),
            data: data.clone(),
        };
        for _attempt in 0..3 {
            assert_eq!(shared_bytes(&body).as_ptr(), data.as_ptr());
        }
        let json = RequestBody::json(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(&shared_bytes(&json)[..], br#"{"a":1}"#);
    }

    #[test]
    fn throttle_reports_about_a_hundred_times_and_the_end() {
        let total = 10_000_000u64;
        let mut t = ProgressThrottle::new(Some(total));
        let reports = (1..=total / 1000)
            .map(|i| i * 1000)
            .filter(|done| t.due(*done, Some(total)))
            .count();
        assert!((100..=102).contains(&reports), "{reports}");
        let mut t = ProgressThrottle::new(None);
        assert!(t.due(10, None));
        assert!(!t.due(20, None));
        assert!(t.due(PROGRESS_STEP_UNKNOWN_TOTAL + 10, None));
    }
}

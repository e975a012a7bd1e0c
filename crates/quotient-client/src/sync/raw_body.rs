//! The `/sync` job's answer kept as bytes, for the writer to read room by
//! room: the generated request, an answer type that decodes nothing, and
//! a sink the engine writes the body into as it arrives (so the body is
//! held once, not collected by the engine and then decoded whole).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use quotient::api::Bytes;
use quotient::jobs::{BodySink, SinkFuture};
use quotient_api::generated::sync::SyncRequest;
use quotient_api::{
    BuildError, DecodeError, Endpoint, HttpRequest, IncomingResponse, Metadata, ResponseParts,
};

/// `GET /sync` whose body goes to a [`BodyBuffer`].
pub(crate) struct RawSync(pub SyncRequest);

/// The answer of [`RawSync`]: nothing decoded; the body is in the buffer.
#[derive(Debug)]
pub(crate) struct InBuffer;

impl IncomingResponse for InBuffer {
    fn decode(_parts: &ResponseParts<'_>) -> Result<Self, DecodeError> {
        Ok(InBuffer)
    }
}

impl Endpoint for RawSync {
    const METADATA: Metadata = <SyncRequest as Endpoint>::METADATA;
    type Response = InBuffer;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        self.0.build()
    }

    fn server_wait(&self) -> Option<Duration> {
        self.0.server_wait()
    }
}

/// Where the engine writes a successful `/sync` body; an attempt that
/// starts over empties it first.
#[derive(Clone, Debug, Default)]
pub(crate) struct BodyBuffer(Arc<Mutex<Vec<u8>>>);

impl BodyBuffer {
    /// The body received, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BodySink for BodyBuffer {
    fn begin(&mut self, _restart: bool) -> SinkFuture<'_> {
        // A restart drops the cut body and its memory.
        *self.lock() = Vec::new();
        Box::pin(async { Ok(()) })
    }

    fn write(&mut self, chunk: Bytes) -> SinkFuture<'_> {
        self.lock().extend_from_slice(&chunk);
        Box::pin(async { Ok(()) })
    }

    fn finish(&mut self) -> SinkFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

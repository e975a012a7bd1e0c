//! Where the body of a successful answer goes when it should not be held
//! in memory: a media download streamed to a file or a writer.
//!
//! The engine owns the sink for the job's whole life and writes each chunk
//! of a 2xx body to it as it arrives (error answers are still read into
//! memory: they are small and the job classifies them). A sink sees one
//! body per attempt that got a 2xx head; a retry after a body was cut
//! tells the sink to start over, and a sink that cannot ends the job.

use std::future::Future;
use std::io;
use std::pin::Pin;

use bytes::Bytes;

/// The future a [`BodySink`] method returns.
pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>>;

/// Receives the body of a job's successful answer, chunk by chunk, instead
/// of the job collecting it (see
/// [`Connection::submit_to_sink`](crate::Connection::submit_to_sink)).
///
/// The calls for one attempt are `begin`, then `write` for each chunk in
/// order, then `finish` once the whole body arrived. An attempt whose body
/// is cut (a broken connection, the idle timeout) stops after some
/// `write`s; if the job retries and the next answer is a 2xx again, that
/// attempt calls `begin` with `restart: true`: the sink must drop what it
/// was given before (truncate a file) or fail. Any error a sink returns
/// ends the job at once with [`StatusCode::FileError`](crate::StatusCode::FileError),
/// never retried, and its message says what the sink said.
///
/// ```
/// use quotient::jobs::{BodySink, SinkFuture};
/// use quotient::api::Bytes;
///
/// /// Counts the bytes of a download and keeps none of them.
/// #[derive(Default)]
/// struct Counter(u64);
///
/// impl BodySink for Counter {
///     fn begin(&mut self, _restart: bool) -> SinkFuture<'_> {
///         self.0 = 0; // starting over is free here
///         Box::pin(async { Ok(()) })
///     }
///     fn write(&mut self, chunk: Bytes) -> SinkFuture<'_> {
///         self.0 += chunk.len() as u64;
///         Box::pin(async { Ok(()) })
///     }
///     fn finish(&mut self) -> SinkFuture<'_> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait BodySink: Send + 'static {
    /// A successful answer's body is about to arrive. `restart` is true
    /// when an earlier attempt of this job already began a body here.
    fn begin(&mut self, restart: bool) -> SinkFuture<'_>;
    /// The next chunk of the body.
    fn write(&mut self, chunk: Bytes) -> SinkFuture<'_>;
    /// The whole body has arrived: flush what is buffered. The job
    /// succeeds only after this returns `Ok`.
    fn finish(&mut self) -> SinkFuture<'_>;
}

/// A job's sink and whether an attempt has begun a body in it yet.
pub(crate) struct SinkSlot {
    sink: tokio::sync::Mutex<Box<dyn BodySink>>,
    begun: std::sync::atomic::AtomicBool,
}

impl SinkSlot {
    pub(crate) fn new(sink: Box<dyn BodySink>) -> Self {
        Self {
            sink: tokio::sync::Mutex::new(sink),
            begun: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The sink for one attempt's body, told whether it starts over.
    /// Attempts of a job never overlap, so the lock is never contended.
    pub(crate) async fn begin(&self) -> io::Result<tokio::sync::MutexGuard<'_, Box<dyn BodySink>>> {
        let mut sink = self.sink.lock().await;
        let restart = self.begun.swap(true, std::sync::atomic::Ordering::SeqCst);
        sink.begin(restart).await?;
        Ok(sink)
    }
}

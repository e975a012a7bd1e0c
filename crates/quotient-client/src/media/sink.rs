//! The bridge between a download job and where its bytes go: the job's
//! [`BodySink`] hands each chunk over a bounded channel to the caller's
//! task, which writes it to a file or a writer. The caller's writer need
//! not be `'static` (stdout, `&mut Vec<u8>`), and a slow writer holds the
//! job back (the channel is bounded) instead of filling memory.

use std::io;

use quotient::api::Bytes;
use quotient::jobs::{BodySink, SinkFuture};
use tokio::io::{AsyncSeekExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Chunks in flight between the job and the writer: 8 × the transport's
/// chunk size (tens of KiB) at most.
const IN_FLIGHT: usize = 8;

pub(crate) enum Piece {
    Begin {
        restart: bool,
    },
    Chunk(Bytes),
    /// The body is complete; the writer answers once it is flushed (and,
    /// for a file, on disk), so that the job succeeds only then.
    Finish(oneshot::Sender<io::Result<()>>),
}

/// The job's end of the channel.
pub(crate) struct ChannelSink(mpsc::Sender<Piece>);

pub(crate) fn channel() -> (ChannelSink, mpsc::Receiver<Piece>) {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    (ChannelSink(tx), rx)
}

fn writer_gone() -> io::Error {
    io::Error::other("the download's writer stopped")
}

impl ChannelSink {
    async fn send(&self, piece: Piece) -> io::Result<()> {
        self.0.send(piece).await.map_err(|_| writer_gone())
    }
}

impl BodySink for ChannelSink {
    fn begin(&mut self, restart: bool) -> SinkFuture<'_> {
        Box::pin(self.send(Piece::Begin { restart }))
    }

    fn write(&mut self, chunk: Bytes) -> SinkFuture<'_> {
        Box::pin(self.send(Piece::Chunk(chunk)))
    }

    fn finish(&mut self) -> SinkFuture<'_> {
        Box::pin(async move {
            let (done, flushed) = oneshot::channel();
            self.send(Piece::Finish(done)).await?;
            flushed.await.map_err(|_| writer_gone())?
        })
    }
}

/// Where the caller's task writes the chunks.
pub(crate) enum Target<'a, W: ?Sized> {
    /// A file of our own (the temporary file of a download to a path):
    /// starting over truncates it; finishing syncs it to disk.
    File(&'a mut tokio::fs::File),
    /// The caller's writer: it cannot start over once written to.
    Writer(&'a mut W),
}

/// Writes what the job sends until the job drops its sink (it finished).
/// Returns the bytes written of the last body. Errors of the writer are
/// returned here; the job then fails too, as its sink can send no more.
pub(crate) async fn pump<W: AsyncWrite + Unpin + ?Sized>(
    mut pieces: mpsc::Receiver<Piece>,
    mut target: Target<'_, W>,
) -> Result<u64> {
    let mut written = 0u64;
    while let Some(piece) = pieces.recv().await {
        match piece {
            Piece::Begin { restart: false } => {}
            Piece::Begin { restart: true } => match &mut target {
                Target::File(file) => {
                    file.set_len(0).await.map_err(Error::Write)?;
                    file.rewind().await.map_err(Error::Write)?;
                    written = 0;
                }
                Target::Writer(_) if written == 0 => {}
                Target::Writer(_) => return Err(Error::DownloadCut { written }),
            },
            Piece::Chunk(chunk) => {
                let result = match &mut target {
                    Target::File(file) => file.write_all(&chunk).await,
                    Target::Writer(writer) => writer.write_all(&chunk).await,
                };
                result.map_err(Error::Write)?;
                written += chunk.len() as u64;
            }
            Piece::Finish(done) => {
                let result = match &mut target {
                    Target::File(file) => match file.flush().await {
                        Ok(()) => file.sync_all().await,
                        Err(e) => Err(e),
                    },
                    Target::Writer(writer) => writer.flush().await,
                };
                let failed = result
                    .as_ref()
                    .err()
                    .map(|e| io::Error::new(e.kind(), e.to_string()));
                let _ = done.send(result);
                if let Some(e) = failed {
                    return Err(Error::Write(e));
                }
            }
        }
    }
    Ok(written)
}

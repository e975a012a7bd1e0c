//! Downloads and thumbnails, streamed to a file or a writer by one job.

#![allow(deprecated)] // the legacy endpoints are used only for older servers

use std::path::Path;

use quotient::{Job, JobEvents, JobOptions};
use quotient_api::generated::authed_content_repo::{GetContentAuthed, GetContentThumbnailAuthed};
use quotient_api::generated::content_repo::{GetContent, GetContentThumbnail};
use quotient_api::generated::definitions::ThumbnailMethod;
use quotient_api::MxcUri;
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;

use super::config::authenticated_media;
use super::sink::{self, Piece, Target};
use super::temp_file::TempFile;
use super::Media;
use crate::client::request_error;
use crate::error::Result;

/// What a finished download gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub size: u64,
    /// The server's `Content-Type`, if it sent one.
    pub content_type: Option<String>,
    /// The server's `Content-Disposition` (file name), if it sent one.
    pub content_disposition: Option<String>,
}

/// A thumbnail's wanted size and how to fit it
/// ([spec](https://spec.matrix.org/v1.19/client-server-api/#thumbnails)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThumbnailSize {
    /// Wanted width in pixels.
    pub width: u32,
    /// Wanted height in pixels.
    pub height: u32,
    /// `crop` to fill the size, `scale` to fit inside it; the server's
    /// default when `None`.
    pub method: Option<ThumbnailMethod>,
}

/// A download on its way: one job, whose body goes to where
/// [`to_path`](Self::to_path) or [`to_writer`](Self::to_writer) says as it
/// arrives. Until one of them is called the job waits for a writer after
/// a few chunks; dropping the `Download` ends the job.
#[must_use = "a download goes nowhere until to_path or to_writer is awaited"]
pub struct Download {
    job: Job<quotient_api::Media>,
    pieces: mpsc::Receiver<Piece>,
}

impl Download {
    /// The job's events from its start (`DownloadProgress { received,
    /// total }` among them).
    pub fn events(&self) -> JobEvents {
        self.job.events()
    }

    /// Stops the download (see [`Job::abandon`]).
    pub fn abandon(&self) {
        self.job.abandon();
    }

    /// Writes the media to `path`, never leaving a partial file there: the
    /// bytes go to a temporary file in the same directory, which is synced
    /// to disk and then renamed over `path` (an existing file is replaced
    /// only then). A retry after a cut body starts the temporary file
    /// over. On any failure the temporary file is removed and `path` is
    /// as it was.
    pub async fn to_path(self, path: &Path) -> Result<Downloaded> {
        let (temp, downloaded) = self.into_temp_file(path).await?;
        temp.persist(path).await?;
        Ok(downloaded)
    }

    /// Writes the media to a temporary file beside `target` (see
    /// [`to_path`](Self::to_path)), and leaves it there for the caller to
    /// move into place or remove.
    pub(super) async fn into_temp_file(self, target: &Path) -> Result<(TempFile, Downloaded)> {
        let temp = TempFile::create(target).await?;
        let mut file = match tokio::fs::OpenOptions::new()
            .write(true)
            .open(temp.path())
            .await
        {
            Ok(file) => file,
            Err(source) => return Err(temp.failed("open", source).await),
        };
        let outcome = self
            .finish(Target::<tokio::fs::File>::File(&mut file))
            .await;
        drop(file);
        match outcome {
            Ok(downloaded) => Ok((temp, downloaded)),
            Err(e) => {
                temp.remove().await;
                Err(e)
            }
        }
    }

    /// Writes the media to `writer` as it arrives, and flushes it. A
    /// writer cannot start over: if the body breaks after bytes were
    /// written and the job would retry, the download fails with
    /// [`Error::DownloadCut`](crate::Error::DownloadCut) instead (before that, a retry is free).
    pub async fn to_writer<W: AsyncWrite + Unpin + ?Sized>(
        self,
        writer: &mut W,
    ) -> Result<Downloaded> {
        self.finish(Target::Writer(writer)).await
    }

    async fn finish<W: AsyncWrite + Unpin + ?Sized>(
        self,
        target: Target<'_, W>,
    ) -> Result<Downloaded> {
        let Download { job, pieces } = self;
        match sink::pump(pieces, target).await {
            Ok(size) => {
                let answer = job.await.map_err(request_error)?;
                let media = answer.into_value();
                Ok(Downloaded {
                    size,
                    content_type: media.content_type,
                    content_disposition: media.content_disposition,
                })
            }
            Err(e) => {
                // The job would fail by itself at its next chunk; stop it now.
                job.abandon();
                Err(e)
            }
        }
    }
}

impl Media<'_> {
    /// Starts downloading `uri`: `GET /_matrix/client/v1/media/download/…`
    /// with the access token, or the legacy `/_matrix/media/v3/download/…`
    /// on a server that does not advertise v1.11. Redirects are followed
    /// (to https, or plain http on this machine), and the token goes only
    /// to the homeserver's own origin.
    pub async fn download(&self, uri: &MxcUri) -> Result<Download> {
        let (server, id) = (uri.server_name(), uri.media_id().to_owned());
        let (sink, pieces) = sink::channel();
        let conn = self.client.connection();
        let job = if authenticated_media(conn).await? {
            conn.submit_to_sink(
                GetContentAuthed::new(server, id),
                sink,
                self.download_options(),
            )
        } else {
            let mut request = GetContent::new(server, id);
            request.allow_redirect = Some(true);
            conn.submit_to_sink(request, sink, self.download_options())
        };
        Ok(Download { job, pieces })
    }

    /// Starts downloading a thumbnail of `uri` (authenticated, or legacy
    /// on an older server, as [`download`](Self::download)).
    pub async fn thumbnail(&self, uri: &MxcUri, size: &ThumbnailSize) -> Result<Download> {
        let (server, id) = (uri.server_name(), uri.media_id().to_owned());
        let (width, height) = (i64::from(size.width), i64::from(size.height));
        let (sink, pieces) = sink::channel();
        let conn = self.client.connection();
        let job = if authenticated_media(conn).await? {
            let mut request = GetContentThumbnailAuthed::new(server, id, width, height);
            request.method = size.method.clone();
            conn.submit_to_sink(request, sink, self.download_options())
        } else {
            let mut request = GetContentThumbnail::new(server, id, width, height);
            request.method = size.method.clone();
            request.allow_redirect = Some(true);
            conn.submit_to_sink(request, sink, self.download_options())
        };
        Ok(Download { job, pieces })
    }

    /// Downloads `uri` to `path` (see [`Download::to_path`]).
    pub async fn download_to_path(&self, uri: &MxcUri, path: &Path) -> Result<Downloaded> {
        self.download(uri).await?.to_path(path).await
    }

    /// Downloads `uri` to `writer` (see [`Download::to_writer`]).
    pub async fn download_to_writer<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        uri: &MxcUri,
        writer: &mut W,
    ) -> Result<Downloaded> {
        self.download(uri).await?.to_writer(writer).await
    }

    fn download_options(&self) -> JobOptions {
        let mut options = self
            .options
            .clone()
            .unwrap_or_else(|| self.client.connection().default_job_options().clone());
        // The body goes to a file or writer, not memory: only the caller's
        // own cap applies.
        options.max_body_size = self.max_download_size.unwrap_or(u64::MAX);
        options
    }
}

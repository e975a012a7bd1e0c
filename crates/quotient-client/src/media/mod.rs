//! Media: uploads and downloads through the content repository
//! ([spec](https://spec.matrix.org/v1.19/client-server-api/#content-repository)).
//!
//! Every transfer is one job of the engine, so retries, timeouts,
//! redirects and progress events are the engine's (docs/jobs.md):
//!
//! - **Uploads** ([`Media::upload_file`], [`Media::upload_reader`],
//!   [`Media::upload_bytes`]) are checked against the server's
//!   `m.upload.size` ([`MediaConfig`], fetched once per client) before
//!   anything is sent, then held in memory once: every attempt sends the
//!   same buffer. Progress: `UploadProgress` on [`Upload::events`].
//! - **Downloads** ([`Media::download`], [`Media::thumbnail`]) stream to a
//!   file or a writer as the bytes arrive, never collected in memory
//!   (at most a few chunks in flight). A download to a path goes to a
//!   temporary file beside it, synced and renamed, so no partial file
//!   ever appears under the name. Progress: `DownloadProgress` on
//!   [`Download::events`].
//! - **Authenticated media** (`/_matrix/client/v1/media`) is used when
//!   the server advertises spec v1.11 or later in `/versions`; otherwise
//!   the legacy `/_matrix/media/v3` paths.
//!
//! Content URIs are [`MxcUri`], validated when parsed: `mxc://`, then a
//! [server name](https://spec.matrix.org/v1.19/appendices/#server-name),
//! then `/` and a media ID of `[A-Za-z0-9_-]+`
//! ([spec](https://spec.matrix.org/v1.19/client-server-api/#matrix-content-mxc-uris)).
//! It is the API layer's type, the one the generated requests and events
//! use, so a URI parsed here goes anywhere one is expected.
//!
//! ```no_run
//! use std::path::Path;
//! use quotient_client::Client;
//! # async fn demo(client: Client) -> Result<(), quotient_client::Error> {
//! let upload = client.media().upload_file(Path::new("cat.png"), None).await?;
//! let mut events = upload.events(); // UploadProgress { sent, total }, …
//! let uploaded = upload.await?;
//! println!("{} ({} bytes, {})", uploaded.content_uri, uploaded.size, uploaded.content_type);
//!
//! let downloaded = client
//!     .media()
//!     .download_to_path(&uploaded.content_uri, Path::new("copy.png"))
//!     .await?;
//! assert_eq!(downloaded.size, uploaded.size);
//! # Ok(()) }
//! ```

pub(crate) mod config;
mod content_type;
mod download;
mod encrypted;
mod event_file;
mod sink;
mod temp_file;
mod upload;

pub use config::MediaConfig;
pub use content_type::{guess_content_type, OCTET_STREAM};
pub use download::{Download, Downloaded, ThumbnailSize};
pub use encrypted::{EncryptedFile, FileSource};
pub use quotient_api::generated::definitions::ThumbnailMethod;
pub use quotient_api::MxcUri;
pub use upload::{Upload, Uploaded};

use quotient::JobOptions;

use crate::error::Result;
use crate::Client;

/// The client's media operations; from [`Client::media`].
#[derive(Clone, Debug)]
pub struct Media<'a> {
    client: &'a Client,
    options: Option<JobOptions>,
    max_download_size: Option<u64>,
}

impl Client {
    /// Uploads and downloads ([`crate::media`]).
    pub fn media(&self) -> Media<'_> {
        Media::new(self)
    }
}

impl<'a> Media<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            options: None,
            max_download_size: None,
        }
    }

    /// Job options for the transfers started from this value (timeouts,
    /// retries); the connection's defaults otherwise. Their
    /// `max_body_size` is not used for downloads: see
    /// [`max_download_size`](Self::max_download_size).
    pub fn job_options(mut self, options: JobOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// The largest download accepted, in bytes; a larger one fails with
    /// `IncorrectResponse`. Unlimited by default: the bytes go to a file
    /// or writer, not memory.
    pub fn max_download_size(mut self, bytes: Option<u64>) -> Self {
        self.max_download_size = bytes;
        self
    }

    /// The server's media configuration, fetched on first use and cached
    /// for the client's life.
    pub async fn config(&self) -> Result<MediaConfig> {
        self.client
            .media_config()
            .get_or_try_init(|| config::fetch(self.client.connection()))
            .await
            .cloned()
    }
}

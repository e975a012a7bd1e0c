//! Uploads: a file, a reader or bytes, checked against the server's limit
//! before anything is sent, then sent by one job.

use std::future::{Future, IntoFuture};
use std::path::Path;
use std::pin::Pin;

use quotient::api::Bytes;
use quotient::{Job, JobEvents};
use quotient_api::generated::content_repo::{UploadContent, UploadContentResponse};
use quotient_api::MxcUri;
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::content_type::{guess_content_type, OCTET_STREAM};
use super::Media;
use crate::client::request_error;
use crate::error::{Error, Result};

/// What a finished upload gives: the content URI and what a message's
/// `info` needs (`size`, `mimetype`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// Where the server keeps the media.
    pub content_uri: MxcUri,
    /// Bytes uploaded.
    pub size: u64,
    /// The content type sent (given, guessed from the name, or
    /// `application/octet-stream`).
    pub content_type: String,
}

/// An upload on its way: one job (`POST /_matrix/media/v3/upload`). Watch
/// its [`events`](Self::events) for `UploadProgress`, or await it for the
/// [`Uploaded`] result.
#[must_use = "an upload does nothing useful unless awaited"]
pub struct Upload {
    job: Job<UploadContentResponse>,
    size: u64,
    content_type: String,
}

impl Upload {
    /// The job's events from its start (`UploadProgress { sent, total }`
    /// among them).
    pub fn events(&self) -> JobEvents {
        self.job.events()
    }

    /// Stops the upload (see [`Job::abandon`]).
    pub fn abandon(&self) {
        self.job.abandon();
    }

    /// Bytes being uploaded.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The content type being sent.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }
}

impl IntoFuture for Upload {
    type Output = Result<Uploaded>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Uploaded>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let answer = self.job.await.map_err(request_error)?;
            Ok(Uploaded {
                content_uri: answer.into_value().content_uri,
                size: self.size,
                content_type: self.content_type,
            })
        })
    }
}

impl Media<'_> {
    /// Uploads the file at `path` with `content_type`, or the type its name
    /// suggests ([`guess_content_type`]); the file name goes with it.
    ///
    /// The size is checked against the server's `m.upload.size` from the
    /// file's metadata before the file is read: a file over the limit
    /// fails with [`Error::TooLarge`] and nothing is sent. The file is
    /// then read into memory once and every attempt sends that buffer.
    pub async fn upload_file(&self, path: &Path, content_type: Option<&str>) -> Result<Upload> {
        let io = |action| {
            move |source| Error::File {
                action,
                path: path.to_owned(),
                source,
            }
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io("open"))?;
        let length = file.metadata().await.map_err(io("read"))?.len();
        let limit = self.upload_limit().await?;
        check_size(Some(length), limit)?;
        let capacity = usize::try_from(length).unwrap_or(0);
        let mut data = Vec::with_capacity(capacity);
        file.read_to_end(&mut data).await.map_err(io("read"))?;
        // The file may have grown while it was read.
        check_size(Some(data.len() as u64), limit)?;
        let content_type = content_type.unwrap_or_else(|| guess_content_type(path));
        let name = path.file_name().and_then(|n| n.to_str());
        Ok(self.submit(data.into(), content_type, name))
    }

    /// Uploads what `reader` gives until its end. Without a size known
    /// ahead, it is read up to the server's limit: one byte more fails
    /// with [`Error::TooLarge`] and nothing is sent.
    pub async fn upload_reader<R: AsyncRead + Unpin>(
        &self,
        reader: R,
        content_type: Option<&str>,
        file_name: Option<&str>,
    ) -> Result<Upload> {
        let limit = self.upload_limit().await?;
        let mut data = Vec::new();
        let cap = limit.map_or(u64::MAX, |l| l.saturating_add(1));
        reader
            .take(cap)
            .read_to_end(&mut data)
            .await
            .map_err(Error::Read)?;
        if let Some(limit) = limit {
            if data.len() as u64 > limit {
                return Err(Error::TooLarge { size: None, limit });
            }
        }
        let content_type = content_type
            .or_else(|| file_name.map(|n| guess_content_type(Path::new(n))))
            .unwrap_or(OCTET_STREAM);
        Ok(self.submit(data.into(), content_type, file_name))
    }

    /// Uploads `data`, held by the caller already (cloning `Bytes` copies
    /// nothing).
    pub async fn upload_bytes(
        &self,
        data: Bytes,
        content_type: &str,
        file_name: Option<&str>,
    ) -> Result<Upload> {
        check_size(Some(data.len() as u64), self.upload_limit().await?)?;
        Ok(self.submit(data, content_type, file_name))
    }

    async fn upload_limit(&self) -> Result<Option<u64>> {
        Ok(self.config().await?.upload_size)
    }

    fn submit(&self, data: Bytes, content_type: &str, file_name: Option<&str>) -> Upload {
        let size = data.len() as u64;
        let mut request = UploadContent::new(data);
        request.content_type = Some(content_type.to_owned());
        request.filename = file_name.map(str::to_owned);
        let conn = self.client.connection();
        let job = match &self.options {
            Some(options) => conn.submit_with(request, options.clone()),
            None => conn.submit(request),
        };
        Upload {
            job,
            size,
            content_type: content_type.to_owned(),
        }
    }
}

fn check_size(size: Option<u64>, limit: Option<u64>) -> Result<()> {
    match (size, limit) {
        (Some(size), Some(limit)) if size > limit => Err(Error::TooLarge {
            size: Some(size),
            limit,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_error_names_both_sizes() {
        let err = check_size(Some(2_000_001), Some(2_000_000)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("2000001 bytes"), "{text}");
        assert!(text.contains("limit of 2000000 bytes"), "{text}");
        assert!(text.contains("nothing was sent"), "{text}");
        assert!(check_size(Some(2_000_000), Some(2_000_000)).is_ok());
        assert!(check_size(Some(u64::MAX), None).is_ok());
        let stream = Error::TooLarge {
            size: None,
            limit: 10,
        };
        assert!(stream.to_string().contains("more than 10 bytes"));
    }
}

//! The temporary file a download is written to before it is put in
//! place: in the target's directory (so the rename is atomic), hidden,
//! with a random suffix, never reused. Nothing appears under the
//! target's name until the file is complete (and, for an encrypted
//! file, its hash checked).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A temporary file beside a download's target. Dropping it leaves the
/// file: [`persist`](Self::persist) or [`remove`](Self::remove) it.
pub(crate) struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Creates an empty `.NAME.XXXXXXXX.part` in `target`'s directory.
    pub(crate) async fn create(target: &Path) -> Result<TempFile> {
        let name = target.file_name().ok_or_else(|| Error::File {
            action: "download to",
            path: target.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        })?;
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        // create_new: a name that exists (another download's) is never
        // reused; a few tries with fresh suffixes.
        let mut last = None;
        for _ in 0..8 {
            let mut file_name = std::ffi::OsString::from(".");
            file_name.push(name);
            file_name.push(format!(".{:08x}.part", fastrand::u32(..)));
            let path = dir.join(file_name);
            match tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(_) => return Ok(TempFile { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(source) => {
                    return Err(Error::File {
                        action: "create a file in the directory of",
                        path: target.to_owned(),
                        source,
                    })
                }
            }
        }
        Err(Error::File {
            action: "create a temporary file beside",
            path: target.to_owned(),
            source: last.unwrap_or_else(|| std::io::Error::other("no free name")),
        })
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames it over `target` (an existing file is replaced only now)
    /// and makes the directory entry durable; removed on failure.
    pub(crate) async fn persist(self, target: &Path) -> Result<()> {
        if let Err(source) = tokio::fs::rename(&self.path, target).await {
            self.remove().await;
            return Err(Error::File {
                action: "rename the finished download to",
                path: target.to_owned(),
                source,
            });
        }
        sync_directory(target).await;
        Ok(())
    }

    /// Removes it, and returns the error of `action` on it.
    pub(crate) async fn failed(self, action: &'static str, source: std::io::Error) -> Error {
        let path = self.path.clone();
        self.remove().await;
        Error::File {
            action,
            path,
            source,
        }
    }

    /// Removes it (a failure is only logged: it is hidden and named as
    /// a partial download).
    pub(crate) async fn remove(self) {
        if let Err(e) = tokio::fs::remove_file(&self.path).await {
            tracing::warn!(path = %self.path.display(), "could not remove a download's temporary file: {e}");
        }
    }
}

/// After the rename, the directory entry itself is made durable (Unix;
/// elsewhere the platform's rename is what there is). A failure here
/// leaves a complete file under its name, so it is only logged.
async fn sync_directory(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let synced = async { tokio::fs::File::open(&dir).await?.sync_all().await };
        if let Err(e) = synced.await {
            tracing::debug!(dir = %dir.display(), "could not sync the download's directory: {e}");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

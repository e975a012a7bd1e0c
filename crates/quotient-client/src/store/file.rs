//! The store's directory and file, private to the user.

use std::fs;
use std::path::{Path, PathBuf};

use super::STORE_FILE;
use crate::error::{Error, Result};

/// Creates `dir` (mode 0700 on Unix) and the store file in it (mode 0600
/// on Unix) if they are missing, tightens the file's mode if it is
/// wider, and returns the file's path.
///
/// The file is created here rather than by SQLite so that it never exists,
/// even for an instant, with the process umask's wider mode.
pub(super) fn prepare(dir: &Path) -> Result<PathBuf> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))?;

    let path = dir.join(STORE_FILE);
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path).map_err(io(&path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io(&path))?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(io(&path))?;
        }
    }
    drop(file);
    Ok(path)
}

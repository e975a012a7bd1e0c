//! A session as a JSON file only its owner can read, written atomically.
//!
//! On Unix (Linux, macOS, the BSDs) the file is created with mode 0600 and
//! a missing directory with 0700, and a file others can read is refused.
//! Elsewhere (Windows) there are no such modes: the file inherits the
//! access list of its directory, so keep the store inside the user's
//! profile (the default place is), which only the user and administrators
//! can read.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::{Error, Session, SessionUpdate, StatusCode};

fn file_error(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(
        StatusCode::FileError,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// Writes `session` to `path`: a temporary file (mode 0600) in the same
/// directory, synced, then renamed over `path`, so a crash leaves either
/// the old file or the new one, never half of one. A missing directory is
/// created with mode 0700.
pub fn save_session(path: &Path, session: &Session) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        builder.mode(0o700);
        builder
            .create(dir)
            .map_err(|e| file_error("create the directory", dir, e))?;
    }
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec_pretty(session)
            .map_err(|e| file_error("encode the session for", path, e))?,
    );
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("session");
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        fastrand::u64(..)
    ));
    let write = || -> std::io::Result<()> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&temp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        // The rename is durable once the directory entry is. (Windows
        // cannot open a directory as a file; its rename is already
        // write-through.)
        #[cfg(unix)]
        fs::File::open(dir)?.sync_all()?;
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        file_error("write the session to", path, e)
    })
}

/// Reads a session saved by [`save_session`]. A file others can read is
/// refused: the access token in it may already have leaked.
pub fn load_session(path: &Path) -> Result<Session, Error> {
    let meta = fs::metadata(path).map_err(|e| file_error("read", path, e))?;
    #[cfg(unix)]
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(file_error(
            "trust",
            path,
            format!(
                "its mode is {:o}; a session file must be readable by its owner only (chmod 600)",
                meta.permissions().mode() & 0o777
            ),
        ));
    }
    #[cfg(not(unix))]
    let _ = meta;
    let bytes = zeroize::Zeroizing::new(fs::read(path).map_err(|e| file_error("read", path, e))?);
    serde_json::from_slice(&bytes).map_err(|e| file_error("understand the session in", path, e))
}

/// A session hook ([`Connection::on_session_change`]) that keeps the
/// session file at `path` current: refreshed tokens are written with
/// [`save_session`] (temporary file, fsync, rename) before the connection
/// uses them, and a soft logout is recorded in it. An ended session's file
/// is left as it is: it still says who was signed in, and a new sign-in
/// replaces it.
///
/// [`Connection::on_session_change`]: crate::Connection::on_session_change
pub fn save_on_change(
    path: impl Into<PathBuf>,
) -> impl Fn(&SessionUpdate<'_>) -> Result<(), Error> + Send + Sync + 'static {
    let path = path.into();
    move |update| match update {
        SessionUpdate::Refreshed(session) | SessionUpdate::SoftLoggedOut(session) => {
            save_session(&path, session)
        }
        SessionUpdate::Ended(_) => Ok(()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            homeserver: "https://matrix.example.org".parse().unwrap(),
            user_id: "@alice:example.org".parse().unwrap(),
            device_id: "DEV".into(),
            access_token: "syt_secret".into(),
            refresh_token: None,
            soft_logout: false,
        }
    }

    #[test]
    fn round_trip_with_owner_only_permissions() {
        let base = std::env::temp_dir().join(format!(
            "quotient-session-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let path = base.join("nested/session.json");
        save_session(&path, &session()).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert_eq!(load_session(&path).unwrap(), session());
        // Overwriting replaces the file and leaves no temporary files.
        let mut other = session();
        other.device_id = "DEV2".into();
        save_session(&path, &other).unwrap();
        assert_eq!(load_session(&path).unwrap().device_id, "DEV2");
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
        // A readable-by-others file is refused.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_session(&path).unwrap_err();
        assert_eq!(err.status(), StatusCode::FileError);
        assert!(err.message().contains("chmod 600"), "{err}");
        assert!(!format!("{err:?}").contains("syt_secret"));
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn files_from_before_refresh_tokens_still_read_and_new_fields_round_trip() {
        let base = std::env::temp_dir().join(format!(
            "quotient-session-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        fs::create_dir_all(&base).unwrap();
        let path = base.join("old.json");
        fs::write(
            &path,
            br#"{"homeserver":"https://matrix.example.org/","user_id":"@alice:example.org","device_id":"DEV","access_token":"syt_secret"}"#,
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load_session(&path).unwrap(), session());
        let refreshable = Session {
            refresh_token: Some("syr_secret".into()),
            soft_logout: true,
            ..session()
        };
        let hook = save_on_change(&path);
        hook(&SessionUpdate::Refreshed(&refreshable)).unwrap();
        assert_eq!(load_session(&path).unwrap(), refreshable);
        // An ended session leaves the file alone.
        hook(&SessionUpdate::Ended(&session())).unwrap();
        assert_eq!(load_session(&path).unwrap(), refreshable);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn missing_and_corrupt_files_are_clear_errors() {
        let base = std::env::temp_dir().join(format!(
            "quotient-session-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let err = load_session(&base.join("nope.json")).unwrap_err();
        assert_eq!(err.status(), StatusCode::FileError);
        fs::create_dir_all(&base).unwrap();
        let path = base.join("bad.json");
        fs::write(&path, b"{not json").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load_session(&path)
            .unwrap_err()
            .message()
            .contains("understand"));
        fs::remove_dir_all(&base).unwrap();
    }
}

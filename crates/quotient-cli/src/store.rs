//! The session store: one session per directory, owner-only.

use std::path::{Path, PathBuf};

use quotient::store::{load_session, save_session};
use quotient::{Connection, Session};

use crate::exit::{Failure, OTHER};

pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// `--store`, `QUOTIENT_STORE`, else `$XDG_DATA_HOME/quotient` or
    /// `~/.local/share/quotient`.
    pub fn new(dir: Option<PathBuf>) -> Result<Self, Failure> {
        let dir = match dir {
            Some(dir) => dir,
            None => match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
                Some(data) => PathBuf::from(data).join("quotient"),
                None => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
                    Some(home) => PathBuf::from(home).join(".local/share/quotient"),
                    None => {
                        return Err(Failure::usage(
                            "no store directory: pass --store DIR or set QUOTIENT_STORE",
                        ))
                    }
                },
            },
        };
        Ok(Self { dir })
    }

    pub fn session_path(&self) -> PathBuf {
        self.dir.join("session.json")
    }

    pub fn has_session(&self) -> bool {
        self.session_path().exists()
    }

    pub fn load(&self) -> Result<Session, Failure> {
        if !self.has_session() {
            return Err(Failure::not_signed_in());
        }
        load_session(&self.session_path()).map_err(|e| {
            Failure::new(
                OTHER,
                format!("cannot use the stored session: {}", e.message()),
            )
        })
    }

    pub fn save(&self, session: &Session) -> Result<(), Failure> {
        self.check_private()?;
        save_session(&self.session_path(), session).map_err(|e| {
            Failure::new(
                OTHER,
                format!("signed in, but cannot save the session: {}", e.message()),
            )
        })
    }

    /// A store others can look into is no place for an access token. The
    /// directory may be the user's own (`--store ~`), so it is not
    /// silently chmod-ed: the user decides. Checked before signing in, so
    /// no device is created on the server for a session we cannot keep.
    ///
    /// Unix only: elsewhere (Windows) the directory's access list decides;
    /// keep `--store` inside the user's profile.
    pub fn check_private(&self) -> Result<(), Failure> {
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(&self.dir) {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Failure::new(
                    OTHER,
                    format!(
                        "the store {} is open to other users (mode {mode:o}): `chmod 700` it or use another --store",
                        self.dir.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn remove(&self) -> Result<(), Failure> {
        match std::fs::remove_file(self.session_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Failure::new(
                OTHER,
                format!("cannot remove {}: {e}", self.session_path().display()),
            )),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A connection signed in with the stored session (not checked with
    /// the server: the first request tells).
    pub fn connection(&self) -> Result<(Connection, Session), Failure> {
        let session = self.load()?;
        let conn = crate::connect(session.homeserver.clone())?;
        conn.adopt_session(session.clone());
        // Refreshed tokens are written here before they are used.
        conn.on_session_change(quotient::store::save_on_change(self.session_path()));
        Ok((conn, session))
    }
}

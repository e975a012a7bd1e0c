//! Who owns a store directory: the one process that syncs it and holds
//! its crypto machine.
//!
//! Ownership is an exclusive advisory lock (`flock` on Unix, `LockFileEx`
//! on Windows) on `owner.lock` in the store directory, held for as long
//! as the [`OwnerLock`] lives. The operating system drops it when the
//! process ends, however it ends: a SIGKILLed owner leaves nothing held.
//! The file also records the owner's process ID, so a process that finds
//! the lock taken can say by whom.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// The lock file's name inside a store directory.
pub const OWNER_LOCK_FILE: &str = "owner.lock";

/// How often a waiting process tries the lock again.
const POLL: Duration = Duration::from_millis(200);

/// Ownership of a store directory, released when dropped.
#[derive(Debug)]
pub struct OwnerLock {
    _file: File,
    path: PathBuf,
}

impl OwnerLock {
    /// Takes ownership of `dir` if no other process holds it: `Ok(None)`
    /// when one does.
    pub fn try_acquire(dir: &Path) -> Result<Option<OwnerLock>> {
        let path = dir.join(OWNER_LOCK_FILE);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Ours now: say who we are (the lock, not this text, is the truth).
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(std::process::id().to_string().as_bytes())
            .map_err(io)?;
        Ok(Some(OwnerLock { _file: file, path }))
    }

    /// Takes ownership of `dir`, waiting up to `wait` for the owner to
    /// let go; fails with [`Error::StoreOwned`] after that.
    pub async fn acquire(dir: &Path, wait: Duration) -> Result<OwnerLock> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(lock) = OwnerLock::try_acquire(dir)? {
                return Ok(lock);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::StoreOwned {
                    dir: dir.to_owned(),
                    pid: owner_pid(dir),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The process ID the owner wrote, if it can be read.
pub fn owner_pid(dir: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(dir.join(OWNER_LOCK_FILE))
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_owner_at_a_time_and_the_lock_goes_with_its_holder() {
        let dir = std::env::temp_dir().join(format!("quotient-owner-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let first = OwnerLock::try_acquire(&dir)
            .unwrap()
            .expect("free at first");
        assert!(OwnerLock::try_acquire(&dir).unwrap().is_none(), "taken");
        assert_eq!(owner_pid(&dir), Some(std::process::id()));
        drop(first);
        assert!(
            OwnerLock::try_acquire(&dir).unwrap().is_some(),
            "free again"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_wait_for_a_held_lock_ends_with_who_holds_it() {
        let dir = std::env::temp_dir().join(format!("quotient-owner-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let _held = OwnerLock::try_acquire(&dir).unwrap().unwrap();
        let e = OwnerLock::acquire(&dir, Duration::from_millis(300))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&std::process::id().to_string()), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

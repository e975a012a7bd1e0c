//! The store on a real SQLite file: its modes, WAL, reopening, and a
//! newer schema refused without touching the file.

mod support;

use std::path::Path;

use quotient_client::store::{SCHEMA_VERSION, STORE_FILE};
use quotient_client::{Error, Store};
use support::TempDir;

#[test]
fn a_new_store_is_a_file_at_the_latest_schema_in_wal_mode() {
    let dir = TempDir::new("new");
    let store = Store::open(&dir.path().join("nested/store")).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let file = dir.path().join("nested/store").join(STORE_FILE);
    assert_eq!(store.path(), Some(file.as_path()));
    assert!(file.is_file());
    drop(store);
    // The mode is in the file's header: SQLite says WAL on a new handle too.
    let conn = rusqlite_mode(&file);
    assert_eq!(conn, "wal");
}

fn rusqlite_mode(file: &Path) -> String {
    // Read the header bytes rather than linking rusqlite into the test:
    // bytes 18 and 19 are 2 for WAL (1 for the rollback journal).
    let bytes = std::fs::read(file).unwrap();
    match (bytes[18], bytes[19]) {
        (2, 2) => "wal".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn the_store_directory_and_files_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("modes");
    let store_dir = dir.path().join("store");
    let store = Store::open(&store_dir).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store_dir), 0o700);
    assert_eq!(mode(&store_dir.join(STORE_FILE)), 0o600);
    let wal = store_dir.join(format!("{STORE_FILE}-wal"));
    assert!(wal.exists(), "WAL mode keeps a -wal file while open");
    assert_eq!(mode(&wal), 0o600);
    drop(store);

    // A file made wider by someone else is tightened on the next open.
    std::fs::set_permissions(
        store_dir.join(STORE_FILE),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    drop(Store::open(&store_dir).unwrap());
    assert_eq!(mode(&store_dir.join(STORE_FILE)), 0o600);
}

#[test]
fn a_store_from_a_newer_schema_is_refused_and_left_untouched() {
    let dir = TempDir::new("newer");
    drop(Store::open(dir.path()).unwrap());
    let file = dir.path().join(STORE_FILE);
    // Bump user_version (bytes 60..64 of the header, big-endian) as a
    // newer build would have.
    let mut bytes = std::fs::read(&file).unwrap();
    let newer = SCHEMA_VERSION + 1;
    bytes[60..64].copy_from_slice(&newer.to_be_bytes());
    std::fs::write(&file, &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join(format!("{STORE_FILE}-wal")));
    let _ = std::fs::remove_file(dir.path().join(format!("{STORE_FILE}-shm")));

    match Store::open(dir.path()) {
        Err(Error::NewerSchema {
            found, supported, ..
        }) => {
            assert_eq!((found, supported), (newer, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let message = Store::open(dir.path()).unwrap_err().to_string();
    assert!(message.contains("newer"), "{message}");
    assert!(message.contains("left untouched"), "{message}");
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "not one byte changed");
}

#[test]
fn an_in_memory_store_has_the_same_schema() {
    let store = Store::in_memory().unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.path(), None);
    assert_eq!(store.since().unwrap(), None);
    assert!(store.rooms().unwrap().is_empty());
    assert_eq!(store.malformed_count().unwrap(), 0);
}

#[test]
fn a_store_file_that_is_not_sqlite_is_an_error_not_a_panic() {
    let dir = TempDir::new("garbage");
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(dir.path().join(STORE_FILE), vec![0x42u8; 8192]).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
}

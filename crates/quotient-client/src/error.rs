//! The one error type of the client layer.

use std::path::PathBuf;

/// What can go wrong in the client layer: the store, the session, a request.
///
/// Each variant carries what a caller needs to act on it: the path of a
/// store that cannot be used, the versions of a store too new to read,
/// the engine's [`quotient::Error`] (status code, errcode, server message)
/// of a request that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused an operation (a full disk, a corrupt file, a bug).
    #[error("the store failed: {0}")]
    Store(#[from] rusqlite::Error),
    /// The store directory or file could not be created or secured.
    #[error("cannot use the store at {}: {source}", path.display())]
    Io {
        /// The directory or file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The store was written by a newer build of this library. It is left
    /// exactly as it was: an older build cannot know what the newer schema
    /// means, and writing to it could corrupt it for the build that can.
    #[error(
        "the store {path} has schema version {found}, newer than the {supported} this build \
         understands; it was left untouched (use a newer build)"
    )]
    NewerSchema {
        /// The store file (or `:memory:`).
        path: String,
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this build knows.
        supported: u32,
    },
    /// The store was synced for another account than the connection's.
    #[error("the store belongs to {stored}, not to {connected}")]
    OtherAccount {
        /// The user the store was synced for, as the store holds it.
        stored: String,
        /// The user the connection is signed in as.
        connected: quotient_api::UserId,
    },
    /// The connection has no session (user and access token).
    #[error("not signed in: the connection has no session")]
    NotSignedIn,
    /// The server no longer accepts the access token (`M_UNKNOWN_TOKEN`,
    /// `M_MISSING_TOKEN`, or a 401): signing in again is the only way on.
    #[error("the session is gone: {0}")]
    SessionGone(#[source] quotient::Error),
    /// The session saved in the store directory could not be read or
    /// written (see [`Client::login_or_restore`](crate::Client::login_or_restore)).
    #[error("the saved session: {0}")]
    SavedSession(#[source] quotient::Error),
    /// A request failed (after the engine's own retries).
    #[error("a request failed: {0}")]
    Request(#[source] quotient::Error),
    /// JSON kept in the store could not be read or written.
    #[error("JSON in the store: {0}")]
    Json(#[from] serde_json::Error),
    /// The outbox has no entry with this transaction ID (never queued,
    /// cancelled, or sent and removed long after it was synced).
    #[error("the outbox has no entry {0}")]
    NoSuchSend(String),
    /// A send that may be on the wire, or is sent, cannot be cancelled.
    #[error("the send {txn_id} cannot be cancelled: it is {state}")]
    CannotCancel {
        /// The entry's transaction ID.
        txn_id: String,
        /// Where it stands: `sending`, `sent` (or `gone`).
        state: &'static str,
    },
    /// The server refused the event for good; the entry stays in the
    /// outbox as failed until retried or cancelled.
    #[error("sending {txn_id} failed: {error}")]
    SendFailed {
        /// The entry's transaction ID.
        txn_id: String,
        /// What the server (or the upload) said.
        error: String,
    },
    /// Sending stopped before the event was sent (the session is gone, the
    /// store failed); the entry is still queued and will be sent with the
    /// same transaction ID when sending resumes.
    #[error("{txn_id} is still queued, not sent: {reason}")]
    SendInterrupted {
        /// The entry's transaction ID.
        txn_id: String,
        /// Because of the session (gone, account locked, consent needed):
        /// sending resumes only after the user acts.
        session: bool,
        /// Why sending stopped.
        reason: String,
    },
    /// A file to upload or download to could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was being done ("read", "create", "rename …").
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The reader an upload came from failed.
    #[error("the upload could not be read: {0}")]
    Read(#[source] std::io::Error),
    /// The writer a download went to failed.
    #[error("the download could not be written: {0}")]
    Write(#[source] std::io::Error),
    /// A download broke after some of it had been written to a writer that
    /// cannot start over (a pipe, stdout), so its retry was not made: the
    /// writer holds the first `written` bytes only. A download to a path
    /// starts over instead.
    #[error(
        "the download broke after {written} bytes had been written, and the writer cannot start \
         over; what it holds is incomplete"
    )]
    DownloadCut {
        /// Bytes already written when the retry would have started over.
        written: u64,
    },
    /// The upload is larger than the server accepts (`m.upload.size`).
    /// Checked before anything is sent: nothing was.
    #[error("{}", too_large(*.size, *.limit))]
    TooLarge {
        /// The upload's size; `None` for a stream read only as far as
        /// the limit.
        size: Option<u64>,
        /// The server's limit in bytes.
        limit: u64,
    },
    /// [`Client::send_keyed`](crate::Client::send_keyed) with a key the
    /// outbox holds for another room.
    #[error("the send key {key} is taken by an entry for {room_id}")]
    KeyTaken {
        /// The key.
        key: String,
        /// The room its entry goes to.
        room_id: quotient_api::RoomId,
    },
    /// Sending needs a Tokio runtime, and there is none on this thread.
    #[error("sending needs a Tokio runtime")]
    NoRuntime,
    /// Another process owns the store directory (it syncs it and holds
    /// its crypto machine); this one waited and it did not let go.
    #[error(
        "the store {} is in use by {}; stop it or wait for it",
        dir.display(),
        pid.map_or_else(|| "another process".to_owned(), |p| format!("process {p}"))
    )]
    StoreOwned {
        /// The store directory.
        dir: PathBuf,
        /// The owner's process ID, when it could be read.
        pid: Option<u32>,
    },
    /// End-to-end encryption failed: the crypto store could not be opened
    /// or written, or the crypto machine refused an operation. Never
    /// carries key material.
    #[error("encryption: {0}")]
    Crypto(String),
    /// The room is encrypted and the event cannot be encrypted for it
    /// (no crypto machine in this process, or the build has no
    /// encryption): it is not sent, since plaintext never goes into an
    /// encrypted room.
    #[error("cannot encrypt for {room_id}: {reason}; nothing was sent")]
    CannotEncrypt {
        /// The encrypted room.
        room_id: quotient_api::RoomId,
        /// Why.
        reason: String,
    },
    /// An event's encrypted file (`file` or `info.thumbnail_file`) cannot
    /// be used: not the spec's `EncryptedFile` (version 2, an A256CTR key,
    /// an IV and a SHA-256 hash), or this build has no encryption. Never
    /// carries key material.
    #[error("the encrypted file cannot be used: {0}")]
    EncryptedFile(String),
    /// A downloaded encrypted file does not match the SHA-256 hash its
    /// event gives: it was altered (or damaged) on the way or on the
    /// server. It was refused before anything was written where it was
    /// going.
    #[error(
        "the downloaded file does not match the hash its event gives (altered or damaged): \
         refused, nothing was written"
    )]
    FileHashMismatch,
    /// The event is encrypted and could not be decrypted.
    #[error("the event {event_id} cannot be decrypted: {reason}")]
    Undecryptable {
        /// The event.
        event_id: quotient_api::EventId,
        /// Why (the crypto machine's reason, or no machine in this process).
        reason: String,
    },
    /// The event carries no file (no `url` or `file` in its content, or
    /// no thumbnail when one was asked for).
    #[error("the event {event_id} has no {what}")]
    NoFile {
        /// The event.
        event_id: quotient_api::EventId,
        /// `file` or `thumbnail`.
        what: &'static str,
    },
    /// A room key export file could not be read or written: a wrong
    /// passphrase, a file that is not a key export, or a damaged one.
    #[error("the key export {}: {reason}", path.display())]
    KeyExport {
        /// The file.
        path: PathBuf,
        /// What is wrong ("wrong passphrase or not a key export", …).
        reason: String,
    },
    /// A verification flow cannot start or take the step asked (no such
    /// device, no cross-signing identity, not at that step, it did not
    /// end in time).
    #[error("verification: {0}")]
    Verification(String),
    /// Users of the room whose cross-signing identity changed since they
    /// were verified: no room key goes to them until the change is
    /// acknowledged (`Client::acknowledge_identity_change`) or they are
    /// verified again, so the message waits.
    #[error(
        "the identity of {} changed since it was verified; acknowledge the change or verify again \
         before sending to them",
        users.join(", ")
    )]
    IdentityChanged {
        /// The users, by ID.
        users: Vec<String>,
    },
    /// The account has no key backup on the server.
    #[error("the account has no key backup")]
    NoBackup,
    /// This device does not hold the key of the account's backup: restore
    /// it from secret storage (the recovery key) or verify this device
    /// with another that holds it.
    #[error(
        "this device does not hold the key backup's key: use the recovery key, \
         or verify this device with one that holds it"
    )]
    NoBackupKey,
    /// The backup key this device holds is not the key of the account's
    /// current backup (the backup was replaced elsewhere).
    #[error("the backup key this device holds does not open the account's current backup")]
    BackupKeyMismatch,
    /// The account has no secret storage (no recovery key was set up).
    #[error("the account has no secret storage: set up recovery first")]
    NoRecovery,
    /// The recovery key or passphrase does not open the account's secret
    /// storage. Nothing was changed.
    #[error("the recovery key or passphrase is wrong; nothing was changed")]
    WrongRecoveryKey,
    /// Secret storage cannot be set up or read as asked (the reason says
    /// why and what to do).
    #[error("recovery: {0}")]
    Recovery(String),
    /// The store knows no room of this ID (not synced yet, or never
    /// joined, invited or left).
    #[error("no room {0} in the store (sync first, or join it)")]
    UnknownRoom(String),
    /// The room's power levels (as stored) do not let this account do
    /// it; refused before any request was made.
    #[error("not allowed in {room_id}: {action} needs {needed}, and you have {level}{}",
        target.as_ref().map_or_else(String::new, |t| format!(" ({t})")))]
    NotAllowed {
        /// The room.
        room_id: quotient_api::RoomId,
        /// What was refused ("kick", "send m.room.name", …).
        action: String,
        /// The power level the action needs.
        needed: crate::events::PowerLevel,
        /// This account's power level in the room.
        level: crate::events::PowerLevel,
        /// For an action on another member (kick, ban, unban, redact):
        /// why that member is out of reach ("@bob:x has 100").
        target: Option<String>,
    },
    /// An identifier (user, room, event ID, content URI) did not parse.
    #[error("{0}")]
    Id(#[from] quotient_api::IdError),
    /// A stored or received event lacks what the call needs (an event
    /// ID, a sender): it cannot be answered, reacted to or edited.
    #[error("the event cannot be used here: {0}")]
    UnusableEvent(String),
    /// A blocking store task was lost (its thread panicked or the runtime
    /// shut down) before it finished; its transaction was not committed.
    #[error("a store task did not finish: {0}")]
    TaskLost(String),
}

fn too_large(size: Option<u64>, limit: u64) -> String {
    let size = match size {
        Some(size) => format!("{size} bytes"),
        None => format!("more than {limit} bytes"),
    };
    format!(
        "the upload is {size}, larger than the server's limit of {limit} bytes \
         (m.upload.size); nothing was sent"
    )
}

/// The client layer's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A 401 (`M_UNKNOWN_TOKEN`, `M_MISSING_TOKEN`) means the session is gone;
/// anything else is a failed request that may work later.
pub(crate) fn request_error(e: quotient::Error) -> Error {
    if e.status() == quotient::StatusCode::Unauthorised {
        Error::SessionGone(e)
    } else {
        Error::Request(e)
    }
}

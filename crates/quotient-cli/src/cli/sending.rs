//! The arguments of the commands that send and transfer: `send`,
//! `react`, `edit`, `redact`, `outbox`, `upload`, `download`, `keys`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The file to upload.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The content type to send (default: guessed from the file name).
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// A content URI (mxc://server/media_id), or the room (ID, alias or
    /// display name) of EVENT.
    #[arg(value_name = "MXC|ROOM")]
    pub target: String,
    /// The message whose file to download (with ROOM): found in the
    /// store, or fetched from the server; decrypted when it is encrypted.
    #[arg(value_name = "EVENT")]
    pub event: Option<String>,
    /// Where to write the media (default: stdout, if not a terminal).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With ROOM EVENT: the message's thumbnail instead of its file.
    #[arg(long)]
    pub thumbnail: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// The message; read from stdin when absent.
    #[arg(value_name = "TEXT")]
    pub text: Option<String>,
    /// Send an m.notice (what bots send) instead of m.text.
    #[arg(long, conflicts_with_all = ["emote", "html"])]
    pub notice: bool,
    /// Send an m.emote ("* you waves").
    #[arg(long, conflicts_with = "html")]
    pub emote: bool,
    /// TEXT is HTML: sent as formatted_body, with its plain text as body.
    #[arg(long)]
    pub html: bool,
    /// Reply to this event ID.
    #[arg(long, value_name = "EVENT")]
    pub reply_to: Option<String>,
    /// Send into the thread rooted at this event (with --reply-to: as a
    /// reply to that event of the thread).
    #[arg(long, value_name = "ROOT", conflicts_with = "file")]
    pub thread: Option<String>,
    /// Send this file: uploaded first, then an m.image, m.video, m.audio
    /// or m.file message (by its content type) pointing at it; TEXT, if
    /// given, is its caption. Over the server's upload limit it is not
    /// queued (exit 3).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["notice", "emote", "html"])]
    pub file: Option<PathBuf>,
    /// The file's content type (default: guessed from its name).
    #[arg(long, value_name = "TYPE", requires = "file")]
    pub content_type: Option<String>,
    /// How long to wait for the server, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait: u64,
}

#[derive(Debug, Args)]
pub struct ReactArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// The event to react to.
    #[arg(value_name = "EVENT")]
    pub event: String,
    /// The reaction (an emoji, or any text).
    #[arg(value_name = "KEY")]
    pub key: String,
    /// How long to wait for the server, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait: u64,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// The message to replace.
    #[arg(value_name = "EVENT")]
    pub event: String,
    /// Its new text.
    #[arg(value_name = "TEXT")]
    pub text: String,
    /// How long to wait for the server, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait: u64,
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// The event to redact.
    #[arg(value_name = "EVENT")]
    pub event: String,
    /// Why, shown to the room.
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
    /// How long to wait for the server, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait: u64,
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// Only this room's entries (ID, alias or display name).
    #[arg(long, value_name = "ROOM")]
    pub room: Option<String>,
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Send a failed entry again (it keeps its transaction ID).
    Retry {
        /// The entry's transaction ID.
        #[arg(value_name = "TXN")]
        txn_id: String,
    },
    /// Remove a queued or failed entry.
    Cancel {
        /// The entry's transaction ID.
        #[arg(value_name = "TXN")]
        txn_id: String,
    },
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Write every room key this device holds to FILE, encrypted under a
    /// passphrase (asked twice on the terminal).
    ///
    /// The standard key export file (-----BEGIN MEGOLM SESSION DATA-----,
    /// what Element's "Export E2E room keys" writes), created owner-only
    /// (0600) and put in place only once complete. With --json:
    /// {"path","exported":N}.
    Export {
        /// The file to write (replaced if it exists).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Read the passphrase from stdin (its first line) instead of
        /// prompting.
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Read the room keys of a key export FILE (from Element or `keys
    /// export`) into this device; stored messages they open are
    /// decrypted at once.
    ///
    /// A wrong passphrase imports nothing (exit 2). A key from a file
    /// cannot prove which device made it: messages it opens are shown
    /// when the device it names is cross-signed by its owner (marked
    /// cross-signed-unauthenticated), else only with --device-trust all.
    /// With --json:
    /// {"path","imported":N,"total":N}.
    Import {
        /// The key export file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Read the passphrase from stdin (its first line) instead of
        /// prompting.
        #[arg(long)]
        passphrase_stdin: bool,
    },
}

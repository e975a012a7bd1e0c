//! The arguments of the commands that send and transfer: `send`,
//! `react`, `edit`, `redact`, `outbox`, `upload`, `download`.

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
    /// The content URI, mxc://server/media_id.
    #[arg(value_name = "MXC")]
    pub uri: String,
    /// Where to write the media (default: stdout, if not a terminal).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
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

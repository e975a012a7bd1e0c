//! Arguments of the commands that sync and read rooms: `sync`, `tail`,
//! `messages`, and which sync loop they run.

use clap::Args;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync once and exit: by sliding sync, until the room list covers
    /// the whole account (or one response, once it did); by /sync v3,
    /// one batch.
    #[arg(long)]
    pub once: bool,
    /// Which sync to run.
    #[command(flatten)]
    pub loop_kind: SyncChoice,
}

/// Which sync a command runs: simplified sliding sync (MSC4186) when the
/// server offers it, else /sync v3. Both fold into the same store, and a
/// store may switch between them.
#[derive(Clone, Copy, Debug, Args)]
pub struct SyncChoice {
    /// Use /sync v3 even where the server offers sliding sync.
    #[arg(long, conflicts_with = "sliding")]
    pub v3: bool,
    /// Use sliding sync (the room list from the most recent room, in a
    /// window that grows until it covers the account); fails where the
    /// server does not offer it.
    #[arg(long)]
    pub sliding: bool,
}

impl SyncChoice {
    /// The client's setting for this choice.
    pub fn mode(self) -> quotient_client::sync::SyncMode {
        use quotient_client::sync::SyncMode;
        match (self.v3, self.sliding) {
            (true, _) => SyncMode::V3,
            (_, true) => SyncMode::Sliding,
            _ => SyncMode::Auto,
        }
    }
}

#[derive(Debug, Args)]
pub struct MessagesArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// How many of the newest events to print.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// The thread rooted at this event instead: all its events, fetched
    /// from the server (--limit does not apply).
    #[arg(long, value_name = "ROOT")]
    pub thread: Option<String>,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Only this room (ID, alias or display name); default: every room.
    #[arg(value_name = "ROOM")]
    pub room: Option<String>,
    /// Which sync to run.
    #[command(flatten)]
    pub loop_kind: SyncChoice,
}

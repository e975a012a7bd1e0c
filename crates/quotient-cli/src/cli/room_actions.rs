//! The arguments of the commands that act on a room or the account:
//! `room ROOM set-…`, `kick`, `ban`, `unban`, `read`, `threads`,
//! `profile`, `ignore`, `unignore`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// What `quotient room ROOM …` changes (nothing: it shows the room).
// The variants are the subcommands `set-name`, `set-topic`, `set-avatar`.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Subcommand)]
pub enum RoomChange {
    /// Set the room's name (m.room.name); "" removes it.
    ///
    /// With --json: {"room_id","event_id"}.
    SetName {
        /// The new name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Set the room's topic (m.room.topic).
    ///
    /// With --json: {"room_id","event_id"}.
    SetTopic {
        /// The new topic.
        #[arg(value_name = "TEXT")]
        topic: String,
    },
    /// Upload an image and make it the room's avatar (m.room.avatar).
    ///
    /// With --json: {"room_id","event_id"}.
    SetAvatar {
        /// The image file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ModerateArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// The member (@name:server).
    #[arg(value_name = "USER")]
    pub user: String,
    /// Why, shown to the room.
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
}

#[derive(Debug, Args)]
pub struct ThreadsArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// How many threads to list, most recently active first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Set your display name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Upload this image and make it your avatar.
    #[arg(long, value_name = "FILE")]
    pub avatar: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    /// The user (@name:server).
    #[arg(value_name = "USER")]
    pub user: String,
}

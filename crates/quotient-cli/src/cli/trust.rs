//! Arguments of the trust and recovery commands: `verify`, `recovery`,
//! `backup`.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The user to verify (default: this user, whose other devices are
    /// asked).
    #[arg(value_name = "USER")]
    pub user: Option<String>,
    /// One of USER's devices (for another user without a direct chat who
    /// has several).
    #[arg(value_name = "DEVICE", requires = "user")]
    pub device: Option<String>,
    /// Wait for a request to this device instead of asking, answer it,
    /// and exit when the flow is done or cancelled.
    #[arg(long, conflicts_with_all = ["user", "device"])]
    pub accept: bool,
    /// Give up (and cancel the flow) after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct RecoveryArgs {
    #[command(subcommand)]
    pub action: RecoveryAction,
}

#[derive(Debug, Subcommand)]
pub enum RecoveryAction {
    /// Set up secret storage: the cross-signing keys and the key backup's
    /// key stored on the server, encrypted under a new recovery key,
    /// printed once to stdout (keep it: it is not stored anywhere). A key
    /// backup is created first when there is none this device can read.
    ///
    /// With --passphrase, the key is derived from a passphrase (asked
    /// twice, or stdin's first line with --passphrase-stdin) instead.
    /// With --json: {"recovery_key"} (null with a passphrase).
    Enable {
        /// Derive the key from a passphrase instead of printing a key.
        #[arg(long)]
        passphrase: bool,
        /// Read the passphrase from stdin's first line.
        #[arg(long, requires = "passphrase")]
        passphrase_stdin: bool,
    },
    /// Restore this device from secret storage with the recovery key (with
    /// or without spaces) or, with --passphrase, the passphrase: it
    /// becomes cross-signed, takes the backup key, and reads the history
    /// in the key backup. Read from a prompt, or stdin's first line when
    /// stdin is not a terminal. A wrong key changes nothing (exit 2).
    /// With --json: {"imported","total"}.
    Restore {
        /// The secret is a passphrase rather than a recovery key.
        #[arg(long)]
        passphrase: bool,
    },
    /// Whether the account has secret storage and what it holds. With
    /// --json: {"enabled","passphrase","secrets":[names]}.
    Status,
    /// Start the encryption identity over when the recovery key is lost:
    /// new cross-signing keys (the account password is asked, or read
    /// from stdin with --password-stdin), a new key backup, and a new
    /// recovery key printed once. Your other devices must be verified
    /// again, and other users see your identity as changed. With --json:
    /// {"recovery_key"}.
    Reset {
        /// Read the account password from stdin's first line.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub action: BackupAction,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// The key backup: its version, whether it is trusted, whether this
    /// device holds its key, room keys here and how many are backed up.
    /// With --json: {"version","server_count","trusted","has_key",
    /// "uploading","keys_local","keys_backed_up"}.
    Status,
    /// Restore every room key in the backup (this device must hold its
    /// key) and decrypt the stored messages they open. With --json:
    /// {"imported","total"}.
    Restore,
}

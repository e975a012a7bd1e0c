//! The command line: arguments, help text, exit codes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod reading;
mod room_actions;
mod sending;
mod trust;

pub use reading::*;
pub use room_actions::*;
pub use sending::*;
pub use trust::*;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  anything else
  2  usage or invalid input (bad URL, bad user ID)
  3  the server does not support or allow it
  4  authentication failed (wrong password; invalid, used or expired login
     token; unknown or locked account)
  5  rate limited
  6  network failure, timeout or unreachable server
  7  not signed in";

/// A Matrix client for the command line: sign in (password, browser SSO
/// or a login token), hand a login token to a new device, manage devices,
/// sync, read and follow rooms, send, react, edit and redact
/// (through an outbox that survives restarts), upload and download media
/// (decrypting files of encrypted rooms), export and import room keys,
/// join, leave, invite, create rooms, inspect a server, call any
/// Client-Server endpoint.
///
/// Rooms are named by room ID (!…), alias (#…:server) or, when only one
/// room in the store has it, display name; an unknown or ambiguous name
/// is a usage error (exit 2) that lists the candidates. The room store
/// (SQLite, owner-only) lives beside the session in the store directory.
#[derive(Debug, Parser)]
#[command(name = "quotient", version, after_help = EXIT_CODES, after_long_help = EXIT_CODES)]
pub struct Cli {
    /// Where the session is kept (default: ~/.local/share/quotient).
    #[arg(long, global = true, env = "QUOTIENT_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,

    /// Machine-readable output on stdout: no colours, spinners or QR codes.
    #[arg(long, global = true)]
    pub json: bool,

    /// More log detail on stderr (repeat for more); RUST_LOG works too.
    /// Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Which devices get room keys and whose encrypted messages are
    /// shown: `cross-signed` (default, as spec v1.18 recommends: only
    /// devices their owner cross-signed) or `all` (every device not
    /// blacklisted: for rooms with bridges and clients that do not
    /// cross-sign).
    #[arg(
        long,
        global = true,
        env = "QUOTIENT_DEVICE_TRUST",
        value_name = "TRUST",
        default_value = "cross-signed",
        value_parser = parse_device_trust
    )]
    pub device_trust: quotient_client::encryption::DeviceTrust,

    /// Allow plain http:// to hosts other than this machine (the access
    /// token would cross the network unencrypted).
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,

    #[command(subcommand)]
    pub command: Command,
}

fn parse_device_trust(s: &str) -> Result<quotient_client::encryption::DeviceTrust, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in with a password, through the browser (--sso), or with a
    /// login token from another device.
    Login(LoginArgs),
    /// Mint a single-use login token for another device (with a QR code).
    ///
    /// Prints a matrix-login-token: URI holding the homeserver and the
    /// token (docs/login-token.md); the QR code holds the same. With
    /// --json: {"login_token","homeserver","uri","expires_in_ms",
    /// "expires_at"}.
    LoginToken(LoginTokenArgs),
    /// Show who the stored session belongs to.
    Whoami,
    /// Invalidate the session's token on the server and forget it here.
    ///
    /// With --all, every device of the account is logged out (all their
    /// access tokens stop working), this one included.
    /// With --json: {"logged_out":true,"user_id","device_id","all":bool}.
    Logout(LogoutArgs),
    /// List the account's devices, or rename or delete one.
    ///
    /// The list shows each device's ID, name, last-seen IP address and
    /// time, and marks this session's device with `*`. With --json: an
    /// array of {"device_id","display_name","last_seen_ip","last_seen_ts"
    /// (ms since the epoch),"last_seen" (RFC 3339),"current" (bool)};
    /// absent values are null.
    Devices(DevicesArgs),
    /// Show what a homeserver supports.
    Server(ServerArgs),
    /// Call any Client-Server endpoint, or `api list` the known ones.
    Api(ApiArgs),
    /// Sync the room store: once with --once, else until Ctrl-C/SIGTERM.
    ///
    /// By simplified sliding sync (MSC4186) where the server offers it
    /// (`--v3` forces /sync v3): the room list comes the most recent room
    /// first, in a window that grows until it covers the account, with a
    /// progress line on a terminal meanwhile. Prints one line per batch or
    /// response that changed something; with --json:
    /// {"rooms":[ROOM_ID…],"new_timeline_events":N,"malformed":N}, and by
    /// sliding sync also "window" (rooms of the list covered) and
    /// "rooms_total" (rooms the account has).
    Sync(SyncArgs),
    /// List the rooms in the store (no network), the most recently active
    /// first where sliding sync said which.
    ///
    /// Unread counts are the server's after /sync v3; after sliding sync
    /// (where Synapse sends none) they are counted from the store after
    /// the read marker, shown as "N+" where a sync gap makes the count a
    /// lower bound. With --json: one array of {"room_id","name",
    /// "membership" (join|invite|leave|knock),"notification_count",
    /// "highlight_count","unread_source" (server|counted|at-least),
    /// "direct" (bool, from m.direct),"tags":[NAME…]}.
    Rooms,
    /// Show a room's state from the store: name, topic, alias,
    /// encryption, join rule, members with disambiguated names; or
    /// change its name, topic or avatar (`room ROOM set-name NAME`,
    /// `set-topic TEXT`, `set-avatar FILE`).
    ///
    /// With --json: {"room_id","name","membership","topic",
    /// "canonical_alias","encryption" (algorithm or null),"join_rule",
    /// "room_version","direct","tags":[{"name","order"}],"members":
    /// [{"user_id","name" (disambiguated),"display_name","membership",
    /// "avatar_url"}]}; absent values are null.
    Room(RoomArgs),
    /// Print a room's newest messages, oldest first.
    ///
    /// Reads the store; when a sync gap falls among the newest --limit
    /// events (or they are fewer than --limit and a gap precedes them),
    /// older ones are fetched from the server first (at most 10 pages)
    /// and stored, so the events printed have no hole. With --json: one JSON object
    /// per line (see `tail`).
    Messages(MessagesArgs),
    /// Follow new events through the sync loop until Ctrl-C/SIGTERM.
    ///
    /// Each event once, in order, across restarts: the store keeps where
    /// `tail` (per ROOM filter) stopped, and the next `tail` prints what
    /// came since. The first `tail` of a filter starts at what is stored.
    /// One line per event; member events in words ("joined", "left",
    /// "invited NAME", "OLD changed their name to NEW"). With --json, one JSON object per line:
    /// {"room_id","event_id","sender","sender_name" (disambiguated),
    /// "type","origin_server_ts","state_key" (null unless a state event),
    /// "msgtype","body" (null unless a message),"redacted" (bool)}.
    Tail(TailArgs),
    /// Join a room by ID or alias.
    ///
    /// With --json: {"room_id","joined":true}.
    Join(JoinArgs),
    /// Leave a room.
    ///
    /// With --json: {"room_id","left":true}.
    Leave(LeaveArgs),
    /// Invite a user to a room.
    ///
    /// With --json: {"room_id","invited":USER_ID}.
    Invite(InviteArgs),
    /// Create a private room, optionally a direct chat, and invite users.
    ///
    /// With --json: {"room_id","direct":bool,"invited":[USER_ID…]}.
    CreateRoom(CreateRoomArgs),
    /// Send a message (TEXT, or stdin when absent) and wait until the
    /// server has it.
    ///
    /// The message is stored in the outbox before it goes out. If it is
    /// not sent within --wait seconds (or on Ctrl-C), the command exits 6
    /// and says so, with the message still queued: the next `send`, `tail`
    /// or `sync` (without --once) sends it with the same transaction ID,
    /// so it arrives once. A message the server refuses (forbidden, too large) stays in
    /// the outbox as failed (exit 1; see `quotient outbox`). With --json:
    /// {"room_id","event_id","txn_id","state":"sent"}.
    Send(SendArgs),
    /// React to an event with KEY (an emoji, say); as `send` otherwise.
    React(ReactArgs),
    /// Replace the text of one of your messages; as `send` otherwise.
    Edit(EditArgs),
    /// Redact (remove) an event, with an optional reason; as `send`
    /// otherwise.
    Redact(RedactArgs),
    /// List what the outbox holds, or retry or cancel an entry.
    ///
    /// With --json: an array of {"txn_id","room_id","type","state"
    /// (queued|sending|sent|failed),"event_id","error","body","queued_ts"}.
    Outbox(OutboxArgs),
    /// Upload a file to the content repository; prints its mxc:// URI.
    ///
    /// The server's upload limit is checked first: a larger file is not
    /// sent (exit 3). The content type is guessed from the file name
    /// unless given. With --json: {"content_uri","size","content_type"}.
    Upload(UploadArgs),
    /// Download a message's file (ROOM EVENT), or media by mxc:// URI, to
    /// a file (-o), or to stdout when it is not a terminal.
    ///
    /// `download ROOM EVENT` takes the message's file from the store (or
    /// fetches the event) and, in an encrypted room, decrypts it: its
    /// SHA-256 is checked before anything is written, and a file that
    /// does not match is refused (nothing written, exit 1). With -o the
    /// bytes go to a temporary file beside FILE that replaces it only
    /// once complete. With --json (needs -o): {"content_uri","path",
    /// "size","content_type","encrypted" (bool)}, and "room_id",
    /// "event_id" for ROOM EVENT.
    Download(DownloadArgs),
    /// Export or import room keys (the standard passphrase-protected key
    /// export file).
    Keys(KeysArgs),
    /// Verify a device by comparing emoji: `verify` asks this user's other
    /// devices, `verify USER` another user (in the direct chat with them,
    /// else on their only device), `verify USER DEVICE` one device, and
    /// `verify --accept` waits for a request to this device and answers.
    ///
    /// The emoji are shown with their names before the question (on a
    /// terminal a prompt; with --json one JSON line per step, {"step",
    /// "flow_id","user_id","device_id"}, at "compare" with "emoji":
    /// [{"number","symbol","name"}] and "decimals", and the answer `yes`
    /// or `no` read from stdin). A cancel from the other side ends the
    /// command (exit 1). After verifying another of this user's devices,
    /// a device without the cross-signing keys waits up to 30 s for them
    /// (and the backup key) and says what it got ({"step":"secrets"}).
    Verify(VerifyArgs),
    /// Secret storage and the recovery key: enable, restore, status.
    Recovery(RecoveryArgs),
    /// The server-side key backup: status, restore.
    Backup(BackupArgs),
    /// Kick a member out of a room (they may join again).
    ///
    /// Refused before any request when the room's power levels do not
    /// allow it (exit 3, saying which level it needs). With --json:
    /// {"room_id","user_id","action":"kick"}.
    Kick(ModerateArgs),
    /// Ban a member from a room; as `kick` otherwise.
    Ban(ModerateArgs),
    /// Lift a member's ban; as `kick` otherwise.
    Unban(ModerateArgs),
    /// Mark a room read up to its newest stored event: a read receipt
    /// and the m.fully_read marker (and clear a "marked unread" flag).
    ///
    /// With --json: {"room_id","event_id"} (null: nothing to read).
    Read(ReadArgs),
    /// List a room's threads, most recently active first.
    ///
    /// With --json: one array of {"root_id","sender","body","count",
    /// "latest_event_id","latest_sender","latest_body"}.
    Threads(ThreadsArgs),
    /// Show your profile, or set your display name or avatar.
    ///
    /// With --json: {"user_id","display_name","avatar_url"}, as the
    /// server has them after the change.
    Profile(ProfileArgs),
    /// Ignore a user: their events and invites no longer reach you.
    ///
    /// With --json: {"user_id","ignored":true}.
    Ignore(UserArgs),
    /// Stop ignoring a user.
    ///
    /// With --json: {"user_id","ignored":false}.
    Unignore(UserArgs),
}

#[derive(Debug, Args)]
pub struct RoomArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// A change to make instead of showing the room.
    #[command(subcommand)]
    pub change: Option<RoomChange>,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// Room ID (!…) or alias (#…:server).
    #[arg(value_name = "ROOM_OR_ALIAS")]
    pub room: String,
}

#[derive(Debug, Args)]
pub struct LeaveArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// Room ID, alias or display name.
    #[arg(value_name = "ROOM")]
    pub room: String,
    /// The user to invite (@name:server).
    #[arg(value_name = "USER")]
    pub user: String,
}

#[derive(Debug, Args)]
pub struct CreateRoomArgs {
    /// The room's name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Invite this user (repeatable).
    #[arg(long, value_name = "USER")]
    pub invite: Vec<String>,
    /// A direct chat with the invited user(s): marked is_direct and
    /// recorded in the account's m.direct.
    #[arg(long)]
    pub direct: bool,
    /// Make a room without end-to-end encryption (rooms are encrypted by
    /// default, as Element makes private rooms and direct chats; nothing
    /// turns encryption off later).
    #[arg(long)]
    pub unencrypted: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The homeserver's base URL. Without it, a full user ID is resolved
    /// through /.well-known/matrix/client.
    #[arg(long, value_name = "URL")]
    pub homeserver: Option<String>,
    /// The user ID (@name:server) or, with --homeserver, just the name.
    #[arg(long, value_name = "USER", required_unless_present_any = ["token_stdin", "sso"])]
    pub user: Option<String>,
    /// Read the password from stdin instead of prompting.
    #[arg(long, conflicts_with = "token_stdin")]
    pub password_stdin: bool,
    /// Sign in with a login token read from stdin: the
    /// matrix-login-token: URI that `quotient login-token` prints (it
    /// names the homeserver, so --homeserver is not needed), or a bare
    /// token with --homeserver.
    #[arg(long, conflicts_with = "user")]
    pub token_stdin: bool,
    /// Sign in through the browser (single sign-on): the server's SSO
    /// page opens in $BROWSER or xdg-open when there is a display, or its
    /// URL is printed; the browser comes back to a listener on 127.0.0.1
    /// only, which serves that one callback.
    #[arg(long, conflicts_with_all = ["user", "password_stdin", "token_stdin"])]
    pub sso: bool,
    /// With --sso: this identity provider (an ID from `quotient server`)
    /// instead of the server's choice page.
    #[arg(long, value_name = "ID", requires = "sso")]
    pub idp: Option<String>,
    /// With --sso: how long to wait for the browser, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300, requires = "sso")]
    pub sso_timeout: u64,
    /// A name for the new device.
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
    /// Replace a live session already in the store (with a new device).
    #[arg(long)]
    pub force: bool,
    /// Do not ask for a refresh token: the access token then lasts as
    /// long as the server lets it, and is not renewed.
    #[arg(long)]
    pub no_refresh_token: bool,
    /// Create a new device even when the stored session was
    /// soft-logged-out (by default its device is signed in again, which
    /// keeps the device).
    #[arg(long)]
    pub new_device: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Log out every device of the account, not only this one.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DevicesArgs {
    /// List another user's devices (from their published keys) instead
    /// of this account's.
    #[arg(value_name = "USER")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub action: Option<DevicesAction>,
}

#[derive(Debug, Subcommand)]
pub enum DevicesAction {
    /// Give a device a new display name (others may see it).
    ///
    /// With --json: {"device_id","display_name"}.
    Rename {
        /// The device's ID (see `quotient devices`).
        #[arg(value_name = "ID")]
        device_id: String,
        /// Its new name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Delete a device: its session ends and its keys are forgotten. The
    /// server asks for the account's password again.
    ///
    /// This session's own device is refused unless --force (then the
    /// session here ends too, as after `logout`). With --json:
    /// {"device_id","deleted":true,"current":bool}.
    Delete {
        /// The device's ID (see `quotient devices`).
        #[arg(value_name = "ID")]
        device_id: String,
        /// Read the password from stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// Allow deleting this session's own device.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct LoginTokenArgs {
    /// Read the password for re-authentication from stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Do not draw the QR code.
    #[arg(long)]
    pub no_qr: bool,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The homeserver's base URL (default: the stored session's).
    #[arg(long, value_name = "URL")]
    pub homeserver: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// HTTP method (GET, PUT, POST, DELETE), or `list`.
    #[arg(value_name = "METHOD|list")]
    pub method: String,
    /// Path, e.g. /_matrix/client/v3/account/whoami (with query if needed).
    #[arg(value_name = "PATH")]
    pub path: Option<String>,
    /// The homeserver's base URL (default: the stored session's).
    #[arg(long, value_name = "URL")]
    pub homeserver: Option<String>,
    /// JSON body, or `-` to read it from stdin.
    #[arg(long, value_name = "JSON|-")]
    pub body: Option<String>,
    /// Time allowed for the whole call, retries included.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
}

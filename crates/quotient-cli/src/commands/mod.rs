//! One module per subcommand; each is a thin layer over the library.

pub mod account;
pub mod api;
pub mod devices;
pub mod keys;
pub mod login;
pub mod login_token;
pub mod media;
pub mod membership;
pub mod messages;
pub mod moderation;
pub mod recovery;
pub mod room_state;
pub mod rooms;
pub mod send;
pub mod server;
pub mod session;
pub mod sso;
pub mod sync;
pub mod threads;
pub mod verify;

use quotient::Session;
use serde_json::json;

/// `{"user_id","device_id","homeserver"}`
pub fn session_json(session: &Session) -> serde_json::Value {
    json!({
        "user_id": session.user_id.as_str(),
        "device_id": session.device_id,
        "homeserver": session.homeserver.as_str(),
    })
}

//! Keeping sessions on disk.

mod session_file;

pub use session_file::{load_session, save_on_change, save_session};

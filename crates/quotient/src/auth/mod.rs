//! Signing in and handing a session to another device: password and token
//! login, UIA, login tokens.

mod login;
mod login_options;
mod login_token;
pub(crate) mod refresh;
mod uia;

pub use login_options::LoginOptions;
pub use login_token::{LoginToken, LoginTokenOptions};
pub use refresh::SessionUpdate;
pub use uia::{PasswordHandler, UiaAnswer, UiaHandler, UiaStep};

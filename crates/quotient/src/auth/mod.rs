//! Signing in and handing a session to another device: password and token
//! login, UIA, login tokens.

mod login;
mod login_token;
mod uia;

pub use login_token::{LoginToken, LoginTokenOptions};
pub use uia::{PasswordHandler, UiaAnswer, UiaHandler, UiaStep};

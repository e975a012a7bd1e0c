//! Signing in and handing a session to another device: password and token
//! login, UIA, login tokens and their URIs, SSO, the account's devices.

mod devices;
mod login;
mod login_options;
mod login_token;
mod login_token_uri;
pub(crate) mod refresh;
mod sso;
mod uia;

pub use devices::Device;
pub use login_options::LoginOptions;
pub use login_token::{LoginToken, LoginTokenOptions};
pub use login_token_uri::{LoginTokenUri, LOGIN_TOKEN_URI_SCHEME};
pub use refresh::SessionUpdate;
pub use sso::{SsoLogin, SsoOptions, DEFAULT_SSO_TIMEOUT};
pub use uia::{PasswordHandler, UiaAnswer, UiaHandler, UiaStep};

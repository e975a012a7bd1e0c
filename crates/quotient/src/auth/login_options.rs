//! The optional settings of a sign-in.

/// How to sign in: the new device's name, an existing device to reuse,
/// whether to ask for a refresh token.
///
/// ```
/// let options = quotient::LoginOptions::new()
///     .device_name("my bot")
///     .refresh_token(true);
/// assert!(options.wants_refresh_token());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginOptions {
    pub(crate) device_name: Option<String>,
    pub(crate) device_id: Option<String>,
    pub(crate) refresh_token: bool,
}

impl LoginOptions {
    /// No device name, a new device, no refresh token.
    pub fn new() -> Self {
        Self::default()
    }

    /// The display name of a new device (`initial_device_display_name`).
    pub fn device_name(mut self, name: impl Into<String>) -> Self {
        self.device_name = Some(name.into());
        self
    }

    /// Signs in to this existing device instead of creating one: what a
    /// soft-logged-out session does to keep its device (and its keys).
    pub fn device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }

    /// Asks for a refresh token. The server then gives an access token
    /// that expires, which the engine renews by itself (docs/login.md).
    pub fn refresh_token(mut self, wanted: bool) -> Self {
        self.refresh_token = wanted;
        self
    }

    /// Whether a refresh token is asked for.
    pub fn wants_refresh_token(&self) -> bool {
        self.refresh_token
    }
}

//! An access token as jobs send it: the secret, and its `Authorization`
//! header value made once per token rather than once per request.

use quotient_api::SecretString;
use reqwest::header::HeaderValue;
use zeroize::Zeroizing;

/// Shared (behind an `Arc`) by the connection and every job that sends it.
pub(crate) struct Bearer {
    secret: SecretString,
    /// `Bearer <token>`, marked sensitive (never logged); `None` when the
    /// token has characters a header cannot carry (the attempt then fails
    /// with a clear error instead).
    header: Option<HeaderValue>,
}

impl Bearer {
    pub(crate) fn new(secret: SecretString) -> Self {
        let text = Zeroizing::new(format!("Bearer {}", secret.expose()));
        let header = HeaderValue::from_str(&text).ok().map(|mut value| {
            value.set_sensitive(true);
            value
        });
        Self { secret, header }
    }

    pub(crate) fn secret(&self) -> &SecretString {
        &self.secret
    }

    pub(crate) fn header(&self) -> Option<&HeaderValue> {
        self.header.as_ref()
    }
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(…)")
    }
}

//! One text that carries a login token together with the homeserver it
//! is for, so a device that scans it (or has it pasted in) needs nothing
//! else: `matrix-login-token:?hs=<homeserver>&token=<token>`.
//!
//! The format, and why it is not an `https://` link, is in
//! docs/login-token.md.

use std::borrow::Cow;
use std::fmt;

use quotient_api::SecretString;
use url::form_urlencoded;
use url::Url;

use crate::{Error, StatusCode};

/// The URI scheme of a [`LoginTokenUri`].
pub const LOGIN_TOKEN_URI_SCHEME: &str = "matrix-login-token";

/// A login token and the homeserver that accepts it.
///
/// ```
/// use quotient::LoginTokenUri;
///
/// let handoff = LoginTokenUri::new("https://matrix.example.org".parse()?, "syl_abc".into());
/// let text = handoff.to_uri(); // what the QR code holds; a secret too
/// assert_eq!(
///     text.expose(),
///     "matrix-login-token:?hs=https%3A%2F%2Fmatrix.example.org%2F&token=syl_abc"
/// );
/// let back = LoginTokenUri::parse(text.expose())?;
/// assert_eq!(back.homeserver.as_str(), "https://matrix.example.org/");
/// assert_eq!(back.token.expose(), "syl_abc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct LoginTokenUri {
    /// The homeserver's base URL (http or https).
    pub homeserver: Url,
    /// The single-use login token (`m.login.token`).
    pub token: SecretString,
}

impl fmt::Debug for LoginTokenUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginTokenUri")
            .field("homeserver", &self.homeserver.as_str())
            .field("token", &self.token)
            .finish()
    }
}

impl LoginTokenUri {
    /// The pair, for [`to_uri`](Self::to_uri).
    pub fn new(homeserver: Url, token: SecretString) -> Self {
        Self { homeserver, token }
    }

    /// Whether `text` is meant to be such a URI (it starts with the
    /// scheme and a colon, in any case), as opposed to a bare token.
    pub fn is_login_token_uri(text: &str) -> bool {
        strip_scheme(text.trim()).is_some()
    }

    /// The URI: the scheme, then a query of `hs` and `token`, each
    /// `application/x-www-form-urlencoded`. It holds the token, so it is a
    /// secret itself.
    pub fn to_uri(&self) -> SecretString {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("hs", self.homeserver.as_str())
            .append_pair("token", self.token.expose())
            .finish();
        let uri = SecretString::new(format!("{LOGIN_TOKEN_URI_SCHEME}:?{query}"));
        // `finish` handed us the buffer; it is copied into `uri` and can go.
        drop(SecretString::new(query));
        uri
    }

    /// Reads a URI made by [`to_uri`](Self::to_uri) (surrounding
    /// whitespace is ignored). Fails with `IncorrectRequest` when the
    /// scheme is not [`LOGIN_TOKEN_URI_SCHEME`], when `hs` or `token` is
    /// missing, empty or given twice, or when `hs` is not an http(s) URL
    /// with a host. Parameters it does not know are ignored, so that later
    /// versions can add some. Error messages never contain the token.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let rest = strip_scheme(text.trim()).ok_or_else(|| {
            invalid(format!(
                "it does not start with `{LOGIN_TOKEN_URI_SCHEME}:`"
            ))
        })?;
        let query = rest.strip_prefix('?').ok_or_else(|| {
            invalid("the scheme is not followed by `?` and the parameters".into())
        })?;
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        let mut homeserver: Option<Cow<'_, str>> = None;
        let mut token: Option<SecretString> = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "hs" if homeserver.is_some() => return Err(invalid("`hs` is given twice".into())),
                "hs" => homeserver = Some(value),
                "token" if token.is_some() => return Err(invalid("`token` is given twice".into())),
                "token" => token = Some(SecretString::new(value.into_owned())),
                _ => {}
            }
        }
        let homeserver = homeserver
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("the homeserver (`hs`) is missing".into()))?;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid("the login token (`token`) is missing".into()))?;
        let homeserver = Url::parse(&homeserver)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                invalid(format!(
                    "the homeserver `{homeserver}` is not an http(s) URL with a host"
                ))
            })?;
        Ok(Self { homeserver, token })
    }
}

fn strip_scheme(text: &str) -> Option<&str> {
    let (scheme, rest) = text.split_once(':')?;
    scheme
        .eq_ignore_ascii_case(LOGIN_TOKEN_URI_SCHEME)
        .then_some(rest)
}

fn invalid(why: String) -> Error {
    Error::new(
        StatusCode::IncorrectRequest,
        format!("not a login-token URI: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(hs: &str, token: &str) -> String {
        LoginTokenUri::new(hs.parse().unwrap(), token.into())
            .to_uri()
            .expose()
            .to_owned()
    }

    fn refused(text: &str) -> String {
        let err = LoginTokenUri::parse(text).expect_err(text);
        assert_eq!(err.status(), StatusCode::IncorrectRequest);
        err.message().to_owned()
    }

    #[test]
    fn round_trips_a_homeserver_with_a_port_and_a_path() {
        let text = uri("http://127.0.0.1:8008/matrix/", "syl_x");
        assert_eq!(
            text,
            "matrix-login-token:?hs=http%3A%2F%2F127.0.0.1%3A8008%2Fmatrix%2F&token=syl_x"
        );
        let back = LoginTokenUri::parse(&text).unwrap();
        assert_eq!(back.homeserver.as_str(), "http://127.0.0.1:8008/matrix/");
        assert_eq!(back.token.expose(), "syl_x");
    }

    #[test]
    fn percent_encodes_and_decodes_reserved_characters_in_the_token() {
        let token = "a&b=c+d e%f/g?h#i";
        let text = uri("https://example.org", token);
        assert!(!text.contains(' ') && !text.contains('#'), "{text}");
        assert_eq!(text.matches('&').count(), 1, "only the separator: {text}");
        assert_eq!(LoginTokenUri::parse(&text).unwrap().token.expose(), token);
    }

    #[test]
    fn reads_hand_written_forms() {
        // Any parameter order, upper-case scheme and escapes, whitespace
        // around, unknown parameters and a fragment ignored.
        let parsed = LoginTokenUri::parse(
            "  MATRIX-LOGIN-TOKEN:?v=2&token=t%2Bk&hs=https%3a%2f%2fexample.org&x=1#frag\n",
        )
        .unwrap();
        assert_eq!(parsed.homeserver.as_str(), "https://example.org/");
        assert_eq!(parsed.token.expose(), "t+k");
        assert!(LoginTokenUri::is_login_token_uri(" Matrix-Login-Token:?"));
        assert!(!LoginTokenUri::is_login_token_uri("syl_abc"));
        assert!(!LoginTokenUri::is_login_token_uri("https://example.org"));
    }

    #[test]
    fn refuses_what_is_missing_or_wrong() {
        assert!(refused("syl_abc").contains("does not start with"));
        assert!(refused("https://example.org/?hs=x&token=y").contains("does not start with"));
        assert!(refused("matrix-login-token:hs=x").contains("followed by `?`"));
        assert!(refused("matrix-login-token:?token=secret1").contains("(`hs`) is missing"));
        assert!(refused("matrix-login-token:?hs=&token=secret1").contains("(`hs`) is missing"));
        assert!(refused("matrix-login-token:?hs=https%3A%2F%2Fa.org").contains("`token`"));
        assert!(refused("matrix-login-token:?hs=https%3A%2F%2Fa.org&token=").contains("`token`"));
        assert!(refused("matrix-login-token:?hs=a&hs=b&token=secret1").contains("twice"));
        assert!(
            refused("matrix-login-token:?hs=https%3A%2F%2Fa.org&token=1&token=2").contains("twice")
        );
        for hs in ["ftp%3A%2F%2Fa.org", "not%20a%20url", "https%3A"] {
            let message = refused(&format!("matrix-login-token:?hs={hs}&token=secret1"));
            assert!(message.contains("not an http(s) URL"), "{message}");
        }
    }

    #[test]
    fn keeps_the_token_out_of_errors_and_debug() {
        for text in [
            "matrix-login-token:?hs=ftp%3A%2F%2Fa.org&token=secret1",
            "matrix-login-token:?token=secret1",
            "matrix-login-token:?hs=a&hs=b&token=secret1",
        ] {
            let message = refused(text);
            assert!(!message.contains("secret1"), "{message}");
        }
        let parsed =
            LoginTokenUri::parse("matrix-login-token:?hs=https%3A%2F%2Fa.org&token=secret1")
                .unwrap();
        let debug = format!("{parsed:?} {:?}", parsed.to_uri());
        assert!(!debug.contains("secret1"), "{debug}");
        assert!(debug.contains("https://a.org/"), "{debug}");
    }
}

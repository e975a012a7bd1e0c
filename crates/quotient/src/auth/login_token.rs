//! Minting a login token for another device (`POST /login/get_token`).

use std::time::{Duration, SystemTime};

use quotient_api::generated::login_token::{GenerateLoginToken, GenerateLoginTokenResponse};
use quotient_api::unstable::MSC3882_GET_TOKEN;
use quotient_api::{
    decode_json, AuthData, BuildError, DecodeError, Endpoint, HttpRequest, IncomingResponse,
    Metadata, ResponseParts, SecretString, UiaEndpoint,
};
use serde::Deserialize;

use super::uia::UiaHandler;
use crate::{Connection, Error, RateLimitPolicy, StatusCode};

/// The stable capability, and MSC3882's unstable name for it.
const CAPABILITY: &str = "m.get_login_token";
const CAPABILITY_UNSTABLE: &str = "org.matrix.msc3882.get_login_token";

/// A single-use token another device can log in with
/// ([`Connection::login_with_token`]).
#[derive(Clone, Debug)]
pub struct LoginToken {
    /// The token. It signs a device in as this user: treat it like a
    /// password.
    pub token: SecretString,
    /// How long the server said it stays valid.
    pub expires_in: Duration,
    /// When it stops being valid, by this machine's clock.
    pub expires_at: SystemTime,
}

/// Settings for [`Connection::generate_login_token_with`].
#[derive(Clone, Debug, Default)]
pub struct LoginTokenOptions {
    /// The longest rate-limit wait to sit out before retrying. By default
    /// zero: a 429 comes back at once as `TooManyRequests` with
    /// `retry_after`, so the person can decide (Synapse allows one token
    /// per user per minute).
    pub max_rate_limit_wait: Duration,
}

/// GenerateLoginToken sent to MSC3882's unstable path, for servers that
/// predate spec v1.7. Same body and UIA; the answer may carry the older
/// `expires_in` (seconds) instead of `expires_in_ms`.
#[derive(Clone, Debug, Default)]
struct UnstableGenerateLoginToken(GenerateLoginToken);

#[derive(Debug, Deserialize)]
struct UnstableResponse {
    login_token: SecretString,
    #[serde(default)]
    expires_in_ms: Option<i64>,
    #[serde(default)]
    expires_in: Option<i64>,
}

impl IncomingResponse for UnstableResponse {
    fn decode(parts: &ResponseParts<'_>) -> Result<Self, DecodeError> {
        let response: Self = decode_json(parts.body)?;
        if response.expires_in_ms.is_none() && response.expires_in.is_none() {
            return Err(DecodeError(
                "neither `expires_in_ms` nor `expires_in` is present".into(),
            ));
        }
        Ok(response)
    }
}

impl Endpoint for UnstableGenerateLoginToken {
    const METADATA: Metadata = Metadata {
        operation_id: "generateLoginToken",
        path: MSC3882_GET_TOKEN.path,
        added_in: None,
        ..GenerateLoginToken::METADATA
    };
    type Response = UnstableResponse;

    fn build(&self) -> Result<HttpRequest, BuildError> {
        let mut request = self.0.build()?;
        request.path_and_query = Self::METADATA.path.to_owned();
        Ok(request)
    }
}

impl UiaEndpoint for UnstableGenerateLoginToken {
    fn set_auth(&mut self, auth: Option<AuthData>) {
        self.0.set_auth(auth);
    }
}

fn token(login_token: SecretString, expires_in_ms: i64) -> LoginToken {
    let expires_in = Duration::from_millis(expires_in_ms.max(0) as u64);
    LoginToken {
        token: login_token,
        expires_in,
        expires_at: SystemTime::now() + expires_in,
    }
}

impl Connection {
    /// Generates a login token for another device, completing UIA with
    /// `handler`. See [`generate_login_token_with`](Self::generate_login_token_with).
    ///
    /// ```no_run
    /// # async fn handoff(password: quotient::SecretString) -> Result<(), Box<dyn std::error::Error>> {
    /// use quotient::{Connection, PasswordHandler};
    ///
    /// // Device A: signed in, mints a token (UIA asks for the password again).
    /// let a = Connection::builder("https://matrix.example.org".parse()?).build()?;
    /// a.login_with_password("@alice:example.org", password.clone(), Some("laptop")).await?;
    /// let token = a.generate_login_token(&mut PasswordHandler::new("@alice:example.org", password)).await?;
    /// println!("valid for {} s", token.expires_in.as_secs());
    ///
    /// // Device B: not signed in, uses the token once.
    /// let b = Connection::builder("https://matrix.example.org".parse()?).build()?;
    /// let session = b.login_with_token(token.token, Some("phone")).await?;
    /// quotient::store::save_session("phone-session.json".as_ref(), &session)?;
    /// # Ok(()) }
    /// ```
    pub async fn generate_login_token<H: UiaHandler>(
        &self,
        handler: &mut H,
    ) -> Result<LoginToken, Error> {
        self.generate_login_token_with(handler, LoginTokenOptions::default())
            .await
    }

    /// Generates a login token for another device.
    ///
    /// Before sending anything it decides how: the stable endpoint on
    /// servers supporting spec v1.7 or later, MSC3882's unstable endpoint
    /// on older servers that advertise it, otherwise `RequestNotImplemented`.
    /// It then checks the `m.get_login_token` capability (MSC3882's name on
    /// unstable servers): absent or disabled means `ContentAccessError`,
    /// again without a request. The request itself always starts a fresh
    /// UIA session and is never resent after it may have reached the
    /// server, except to answer UIA.
    pub async fn generate_login_token_with<H: UiaHandler>(
        &self,
        handler: &mut H,
        options: LoginTokenOptions,
    ) -> Result<LoginToken, Error> {
        let versions = self.versions().await?;
        let stable = versions.supports("v1.7");
        if !stable && !versions.unstable_feature(MSC3882_GET_TOKEN.feature) {
            return Err(Error::new(
                StatusCode::RequestNotImplemented,
                "the server cannot generate login tokens: it supports neither spec v1.7 nor MSC3882",
            ));
        }
        let capabilities = self.capabilities().await?;
        let enabled = if stable {
            capabilities.m_get_login_token.as_ref().map(|c| c.enabled)
        } else {
            capabilities
                .additional
                .get(CAPABILITY_UNSTABLE)
                .and_then(|c| c.get("enabled"))
                .and_then(serde_json::Value::as_bool)
        };
        if enabled != Some(true) {
            let name = if stable {
                CAPABILITY
            } else {
                CAPABILITY_UNSTABLE
            };
            let state = if enabled.is_some() {
                "disabled"
            } else {
                "not offered"
            };
            return Err(Error::new(
                StatusCode::ContentAccessError,
                format!("the server does not let this account generate login tokens (capability {name} is {state})"),
            ));
        }
        let mut job_options = self.default_job_options().clone();
        job_options.rate_limit = RateLimitPolicy {
            max_wait: options.max_rate_limit_wait,
            ..job_options.rate_limit
        };
        if stable {
            let response = self
                .send_with_uia(GenerateLoginToken::new(), handler, job_options)
                .await?;
            let GenerateLoginTokenResponse {
                login_token,
                expires_in_ms,
            } = response.into_value();
            Ok(token(login_token, expires_in_ms))
        } else {
            let response = self
                .send_with_uia(UnstableGenerateLoginToken::default(), handler, job_options)
                .await?;
            let UnstableResponse {
                login_token,
                expires_in_ms,
                expires_in,
            } = response.into_value();
            let ms = expires_in_ms
                .or(expires_in.map(|s| s.saturating_mul(1000)))
                .unwrap_or(0);
            Ok(token(login_token, ms))
        }
    }
}

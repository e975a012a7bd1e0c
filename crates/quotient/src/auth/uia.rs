//! A driver for User-Interactive Authentication, for every operation that
//! takes `auth` ([`UiaEndpoint`]).
//!
//! The driver sends the request without `auth`, reads the 401 challenge,
//! asks a [`UiaHandler`] what to send for the next stage, and resends the
//! same request with that `auth` and the session — until the server
//! answers, fails with something that is not a challenge, or the handler
//! gives up.

use std::future::Future;

use quotient_api::{
    encode_path_segment, AuthData, AuthFlow, SecretString, UiaChallenge, UiaEndpoint,
};
use url::Url;

use crate::{Connection, Error, JobOptions, Response, StatusCode};

/// A challenge is answered at most this many times per request; a server
/// that keeps asking is broken or the handler is stuck.
const MAX_ROUNDS: usize = 16;

/// What the server asked for, as a handler sees it.
#[derive(Debug)]
pub struct UiaStep<'a> {
    /// The challenge: flows, params, session, completed stages, and the
    /// server's error about the previous attempt (e.g. a wrong password).
    pub challenge: &'a UiaChallenge,
    /// The flow the driver follows (the first whose stages the handler
    /// supports).
    pub flow: &'a AuthFlow,
    /// The stage to complete now.
    pub stage: &'a str,
    /// How many answers the handler has given for this request so far.
    pub round: usize,
    homeserver: &'a Url,
}

impl UiaStep<'_> {
    /// The server's error about the previous attempt, if it failed.
    pub fn previous_error(&self) -> Option<&str> {
        self.challenge.errcode.as_ref().map(|_| {
            self.challenge
                .error
                .as_deref()
                .unwrap_or("the stage failed")
        })
    }

    /// The web page where a person can complete `stage` out of band
    /// (`/_matrix/client/v3/auth/{stage}/fallback/web?session=…`). After it,
    /// answer [`UiaAnswer::Stage`] with [`AuthData::session_only`].
    pub fn fallback_url(&self) -> Option<Url> {
        let session = self.challenge.session.as_deref()?;
        let base = self.homeserver.as_str().trim_end_matches('/');
        Url::parse(&format!(
            "{base}/_matrix/client/v3/auth/{}/fallback/web?session={}",
            encode_path_segment(self.stage),
            encode_path_segment(session)
        ))
        .ok()
    }
}

/// A handler's answer to a step.
#[derive(Debug)]
pub enum UiaAnswer {
    /// Send this `auth` (the driver fills in the session).
    Stage(AuthData),
    /// Stop; the request fails with the last challenge attached.
    Cancel,
}

/// Decides what to send for each UIA stage.
pub trait UiaHandler {
    /// Whether the handler can complete `stage` by itself; the driver
    /// prefers flows made only of such stages.
    fn supports(&self, stage: &str) -> bool;

    /// The answer for `step`. Called again after a failed attempt, with
    /// [`UiaStep::previous_error`] set, so a person can be asked again.
    fn answer(&mut self, step: &UiaStep<'_>) -> impl Future<Output = UiaAnswer> + Send;
}

/// Completes `m.login.password` with a fixed password and `m.login.dummy`;
/// gives up after a rejected password (there is nobody to ask again) or on
/// any other stage.
pub struct PasswordHandler {
    user: String,
    password: SecretString,
    tried: bool,
}

impl PasswordHandler {
    /// A handler for `user` (a user ID or localpart).
    pub fn new(user: impl Into<String>, password: SecretString) -> Self {
        Self {
            user: user.into(),
            password,
            tried: false,
        }
    }
}

impl std::fmt::Debug for PasswordHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHandler")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl UiaHandler for PasswordHandler {
    fn supports(&self, stage: &str) -> bool {
        matches!(stage, "m.login.password" | "m.login.dummy")
    }

    async fn answer(&mut self, step: &UiaStep<'_>) -> UiaAnswer {
        match step.stage {
            "m.login.dummy" => UiaAnswer::Stage(AuthData::stage("m.login.dummy", None)),
            "m.login.password" if !(self.tried && step.previous_error().is_some()) => {
                self.tried = true;
                UiaAnswer::Stage(AuthData::password(&self.user, self.password.clone(), None))
            }
            _ => UiaAnswer::Cancel,
        }
    }
}

fn pick_flow<'a, H: UiaHandler>(challenge: &'a UiaChallenge, handler: &H) -> Option<&'a AuthFlow> {
    let pending = |flow: &&AuthFlow| challenge.next_stage(flow).is_some();
    challenge
        .flows
        .iter()
        .filter(pending)
        .find(|flow| flow.stages.iter().all(|s| handler.supports(s)))
        .or_else(|| challenge.flows.iter().find(pending))
}

impl Connection {
    /// Runs `request` through UIA with `handler`.
    ///
    /// Always starts a fresh UIA session (the first request carries no
    /// `auth`), so a session completed earlier is never reused.
    pub async fn send_with_uia<E, H>(
        &self,
        request: E,
        handler: &mut H,
        options: JobOptions,
    ) -> Result<Response<E::Response>, Error>
    where
        E: UiaEndpoint,
        E::Response: Send + 'static,
        H: UiaHandler,
    {
        let mut request = request;
        request.set_auth(None);
        let options = std::sync::Arc::new(options);
        for round in 0..MAX_ROUNDS {
            let err = match self.start(request.clone(), options.clone()).await {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            let Some(challenge) = err.uia_challenge().cloned() else {
                return Err(err);
            };
            let Some(flow) = pick_flow(&challenge, handler) else {
                return Err(err.with_status(
                    StatusCode::Unauthorised,
                    "the server asks for authentication but offers no flow with a stage left",
                ));
            };
            let stage = challenge.next_stage(flow).unwrap_or_default().to_owned();
            let step = UiaStep {
                challenge: &challenge,
                flow,
                stage: &stage,
                round,
                homeserver: self.homeserver(),
            };
            tracing::debug!(stage, round, "UIA stage requested");
            match handler.answer(&step).await {
                UiaAnswer::Stage(mut auth) => {
                    auth.session = challenge.session.clone();
                    request.set_auth(Some(auth));
                }
                UiaAnswer::Cancel => {
                    let fallback = step
                        .fallback_url()
                        .map(|u| format!("; it can be completed at {u}"))
                        .unwrap_or_default();
                    let message = match step.previous_error() {
                        Some(previous) => format!("authentication stopped at stage {stage} after the server said: {previous}"),
                        None => format!("authentication stopped at stage {stage}, which the handler cannot complete{fallback}"),
                    };
                    return Err(err.with_status(StatusCode::Unauthorised, message));
                }
            }
        }
        Err(Error::new(
            StatusCode::Unauthorised,
            format!("the server asked for authentication {MAX_ROUNDS} times; giving up"),
        ))
    }
}

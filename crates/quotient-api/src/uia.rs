//! User-Interactive Authentication: the challenge a server sends back.

use serde::{Deserialize, Serialize};

use crate::error_body::{ErrorBody, ErrorCode};

/// One way through UIA: stages to complete in order.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct AuthFlow {
    /// Stage types such as `m.login.password`.
    #[serde(default)]
    pub stages: Vec<String>,
}

/// A parsed UIA challenge: a 401 whose body carries `flows`.
///
/// A 401 without `flows` is a token problem (`M_MISSING_TOKEN`,
/// `M_UNKNOWN_TOKEN`), not a challenge.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UiaChallenge {
    /// The flows the server accepts.
    pub flows: Vec<AuthFlow>,
    /// Parameters per stage type (e.g. terms of service for `m.login.terms`).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The session to send back with the next stage.
    pub session: Option<String>,
    /// Stages already completed in this session.
    pub completed: Vec<String>,
    /// Set when the previous stage attempt failed (e.g. a wrong password).
    pub errcode: Option<ErrorCode>,
    /// The server's text about the failed stage.
    pub error: Option<String>,
}

impl UiaChallenge {
    /// Builds a challenge from an error body when it carries `flows`.
    pub fn from_error_body(body: &ErrorBody) -> Option<Self> {
        let flows = body.flows.clone()?;
        Some(Self {
            flows,
            params: body.params.clone().unwrap_or_default(),
            session: body.session.clone(),
            completed: body.completed.clone().unwrap_or_default(),
            errcode: body.errcode.clone(),
            error: body.error.clone(),
        })
    }

    /// The first stage of `flow` not yet completed, if any.
    pub fn next_stage<'a>(&self, flow: &'a AuthFlow) -> Option<&'a str> {
        flow.stages
            .iter()
            .find(|stage| !self.completed.iter().any(|done| done == *stage))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_keeps_failed_stage_error_and_progress() {
        let body = ErrorBody::parse(
            br#"{"flows":[{"stages":["m.login.password","m.login.dummy"]}],
                "params":{},"session":"xyz","completed":["m.login.password"],
                "errcode":"M_FORBIDDEN","error":"Invalid password"}"#,
        )
        .unwrap();
        let ch = UiaChallenge::from_error_body(&body).unwrap();
        assert_eq!(ch.session.as_deref(), Some("xyz"));
        assert_eq!(ch.errcode, Some(ErrorCode::Forbidden));
        assert_eq!(ch.next_stage(&ch.flows[0]), Some("m.login.dummy"));
        let token_401 =
            ErrorBody::parse(br#"{"errcode":"M_UNKNOWN_TOKEN","soft_logout":true}"#).unwrap();
        assert!(UiaChallenge::from_error_body(&token_401).is_none());
    }
}

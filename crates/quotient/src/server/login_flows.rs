//! `GET /_matrix/client/v3/login`, with the fields clients act on.

use serde::Deserialize;

use crate::{Error, StatusCode};

/// An SSO identity provider offered by an `m.login.sso` flow.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IdentityProvider {
    /// The ID to pass to the SSO redirect endpoint.
    pub id: String,
    /// A name to show.
    pub name: String,
    /// An `mxc://` icon, if any.
    #[serde(default)]
    pub icon: Option<String>,
    /// A brand hint (`google`, `github`, …), if any.
    #[serde(default)]
    pub brand: Option<String>,
}

/// One way to log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFlow {
    /// The login type, e.g. `m.login.password`.
    pub kind: String,
    /// On `m.login.token`: whether signed-in clients may generate tokens
    /// (`get_login_token`, or MSC3882's unstable name).
    pub get_login_token: bool,
    /// On `m.login.sso`: the identity providers.
    pub identity_providers: Vec<IdentityProvider>,
}

/// The login flows a server offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoginFlows {
    /// The flows, in the server's order.
    pub flows: Vec<LoginFlow>,
}

#[derive(Deserialize)]
struct RawFlow {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    get_login_token: Option<bool>,
    #[serde(default, rename = "org.matrix.msc3882.get_login_token")]
    get_login_token_unstable: Option<bool>,
    #[serde(default)]
    identity_providers: Vec<IdentityProvider>,
}

#[derive(Deserialize)]
struct RawFlows {
    #[serde(default)]
    flows: Vec<RawFlow>,
}

impl LoginFlows {
    /// Reads the answer of `GET /login`.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, Error> {
        let raw = RawFlows::deserialize(value).map_err(|e| {
            Error::new(
                StatusCode::IncorrectResponse,
                format!("cannot read the login flows: {e}"),
            )
        })?;
        Ok(Self {
            flows: raw
                .flows
                .into_iter()
                .map(|f| LoginFlow {
                    get_login_token: f
                        .get_login_token
                        .or(f.get_login_token_unstable)
                        .unwrap_or(false),
                    kind: f.kind,
                    identity_providers: f.identity_providers,
                })
                .collect(),
        })
    }

    /// Whether a flow of this type is offered.
    pub fn has(&self, kind: &str) -> bool {
        self.flows.iter().any(|f| f.kind == kind)
    }

    /// Whether an `m.login.token` flow says tokens can be generated.
    pub fn login_token_supported(&self) -> bool {
        self.flows
            .iter()
            .any(|f| f.kind == "m.login.token" && f.get_login_token)
    }

    /// Every SSO identity provider, over all flows.
    pub fn identity_providers(&self) -> impl Iterator<Item = &IdentityProvider> {
        self.flows.iter().flat_map(|f| f.identity_providers.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_providers() {
        let flows = LoginFlows::from_json(&serde_json::json!({"flows": [
            {"type": "m.login.password"},
            {"type": "m.login.sso", "identity_providers": [{"id": "oidc-g", "name": "Google", "brand": "google"}]},
            {"type": "m.login.token", "get_login_token": true},
        ]}))
        .unwrap();
        assert!(flows.login_token_supported());
        assert_eq!(
            flows
                .identity_providers()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["oidc-g"]
        );
        let unstable = LoginFlows::from_json(&serde_json::json!({"flows": [
            {"type": "m.login.token", "org.matrix.msc3882.get_login_token": true}]}))
        .unwrap();
        assert!(unstable.login_token_supported());
        let no = LoginFlows::from_json(&serde_json::json!({"flows": [{"type": "m.login.token"}]}))
            .unwrap();
        assert!(!no.login_token_supported());
    }
}

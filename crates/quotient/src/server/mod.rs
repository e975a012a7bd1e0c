//! What a homeserver says about itself: versions, capabilities, login flows.

mod discovery;
mod login_flows;
mod versions;

pub use discovery::{discover_homeserver, well_known_url, Discovery};
pub use login_flows::{IdentityProvider, LoginFlow, LoginFlows};
pub use versions::ServerVersions;

use std::sync::Arc;

use quotient_api::generated::capabilities::{Capabilities, GetCapabilities};
use quotient_api::generated::login::GetLoginFlows;
use quotient_api::generated::versions::GetVersions;

use crate::{Connection, Error};

impl Connection {
    /// The server's spec versions and unstable features, fetched once and
    /// cached; [`refresh_versions`](Self::refresh_versions) fetches again.
    pub async fn versions(&self) -> Result<Arc<ServerVersions>, Error> {
        match self.cached_versions() {
            Some(versions) => Ok(versions),
            None => self.refresh_versions().await,
        }
    }

    /// Fetches `/versions` again.
    pub async fn refresh_versions(&self) -> Result<Arc<ServerVersions>, Error> {
        let response = self.submit(GetVersions::new()).await?.into_value();
        let versions = Arc::new(ServerVersions::new(
            response.versions,
            response.unstable_features.unwrap_or_default(),
        ));
        self.cache_versions(versions.clone());
        Ok(versions)
    }

    /// The signed-in user's capabilities, cached until the session changes.
    pub async fn capabilities(&self) -> Result<Arc<Capabilities>, Error> {
        if let Some(capabilities) = self.cached_capabilities() {
            return Ok(capabilities);
        }
        let capabilities = Arc::new(
            self.submit(GetCapabilities::new())
                .await?
                .into_value()
                .capabilities,
        );
        self.cache_capabilities(capabilities.clone());
        Ok(capabilities)
    }

    /// How one can log in here (`GET /login`), with the `get_login_token`
    /// flag and SSO identity providers.
    pub async fn login_flows(&self) -> Result<LoginFlows, Error> {
        let response = self.submit(GetLoginFlows::new()).await?;
        LoginFlows::from_json(&response.json().unwrap_or_default())
    }

    /// For a client that is not signed in: whether the server offers the
    /// login-token handoff (an `m.login.token` flow with `get_login_token`).
    pub async fn login_token_supported(&self) -> Result<bool, Error> {
        Ok(self.login_flows().await?.login_token_supported())
    }
}

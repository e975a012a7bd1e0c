//! `/versions`, capabilities and login flows from arbitrary bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quotient::server::{LoginFlows, ServerVersions};
use quotient_api::generated::{capabilities::GetCapabilitiesResponse, login::GetLoginFlowsResponse, versions::GetVersionsResponse};
use quotient_api::{IncomingResponse, ResponseParts};

fuzz_target!(|body: &[u8]| {
    let headers = http::HeaderMap::new();
    let parts = ResponseParts { status: 200, headers: &headers, body };
    if let Ok(v) = GetVersionsResponse::decode(&parts) {
        let versions = ServerVersions::new(v.versions.clone(), v.unstable_features.clone().unwrap_or_default());
        for probe in ["v1.7", "r0.6.1", "v1.10", "garbage"] {
            let _ = versions.supports(probe);
        }
        for v in &v.versions {
            let _ = versions.supports(v);
        }
    }
    let _ = GetCapabilitiesResponse::decode(&parts);
    let _ = GetLoginFlowsResponse::decode(&parts);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Ok(flows) = LoginFlows::from_json(&value) {
            let _ = flows.login_token_supported();
            let _ = flows.identity_providers().count();
        }
    }
});

//! The generated response types of the auth-related endpoints: decoding
//! never panics, and what decodes encodes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quotient_api::generated::{
    definitions::DiscoveryInformation, login::LoginResponse, login_token::GenerateLoginTokenResponse,
    logout::LogoutResponse, refresh::RefreshResponse, registration::RegisterResponse, whoami::GetTokenOwnerResponse,
};
use quotient_api::{IncomingResponse, ResponseParts};

fn check<T: IncomingResponse + serde::Serialize>(parts: &ResponseParts<'_>) {
    if let Ok(value) = T::decode(parts) {
        serde_json::to_vec(&value).expect("a decoded response encodes again");
    }
}

fuzz_target!(|body: &[u8]| {
    let headers = http::HeaderMap::new();
    let parts = ResponseParts { status: 200, headers: &headers, body };
    check::<LoginResponse>(&parts);
    check::<GenerateLoginTokenResponse>(&parts);
    check::<GetTokenOwnerResponse>(&parts);
    check::<RegisterResponse>(&parts);
    check::<RefreshResponse>(&parts);
    check::<LogoutResponse>(&parts);
    check::<DiscoveryInformation>(&parts);
});

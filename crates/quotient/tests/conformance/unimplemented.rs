//! Operations Synapse 1.163 does not offer on this server, proved by its
//! answers. docs/conformance.md names these functions; its test checks
//! that each named one exists and that the run proved the refusal.

use quotient::api::generated::{
    admin::GetAdminLockUser, admin::GetAdminSuspendUser, admin::SetAdminLockUser,
    admin::SetAdminSuspendUser, oauth_server_metadata::GetAuthMetadata,
    policy_server::GetWellknownPolicy, sso_login_redirect::RedirectToIdP,
    sso_login_redirect::RedirectToSSO, support::GetWellknownSupport,
};
use quotient::api::ErrorCode;

use crate::check::expect_refusal;
use crate::fixture::{account, server};

/// MSC4323's client-server suspend and lock endpoints (spec v1.18): Synapse
/// has only its own admin API (`/_synapse/admin/v1/suspend/…`) for this.
pub async fn admin_endpoints() {
    let me = account("moderator").await;
    let who = me.user_id.clone();
    let unrecognized = || Some(ErrorCode::Unrecognized);
    expect_refusal(
        &me.conn,
        GetAdminSuspendUser::new(who.clone()),
        404,
        unrecognized(),
    )
    .await;
    expect_refusal(
        &me.conn,
        SetAdminSuspendUser::new(who.clone(), false),
        404,
        unrecognized(),
    )
    .await;
    expect_refusal(
        &me.conn,
        GetAdminLockUser::new(who.clone()),
        404,
        unrecognized(),
    )
    .await;
    expect_refusal(
        &me.conn,
        SetAdminLockUser::new(who, false),
        404,
        unrecognized(),
    )
    .await;
}

/// `/auth_metadata` exists only when Synapse delegates authentication to
/// the Matrix Authentication Service (OAuth 2.0), which is not available
/// offline.
pub async fn oauth_metadata() {
    let anon = server().connection();
    expect_refusal(
        &anon,
        GetAuthMetadata::new(),
        404,
        Some(ErrorCode::Unrecognized),
    )
    .await;
}

/// Synapse serves `/.well-known/matrix/client` and `…/server` only; the
/// support and policy-server files answer Twisted's HTML 404 page.
pub async fn well_known_files() {
    let anon = server().connection();
    expect_refusal(&anon, GetWellknownSupport::new(), 404, None).await;
    expect_refusal(&anon, GetWellknownPolicy::new(), 404, None).await;
}

/// The SSO redirects exist only with an SSO provider (OIDC, SAML, CAS)
/// configured.
pub async fn sso_redirects() {
    let anon = server().connection();
    let back = "http://127.0.0.1/done".to_owned();
    expect_refusal(
        &anon,
        RedirectToSSO::new(back.clone()),
        404,
        Some(ErrorCode::Unrecognized),
    )
    .await;
    let idp = RedirectToIdP::new("oidc-example".into(), back);
    expect_refusal(&anon, idp, 404, Some(ErrorCode::Unrecognized)).await;
}

//! Server discovery, sign-in and sign-out, registration, the account.

use quotient::api::generated::{
    account_deactivation::DeactivateAccount, admin::GetWhoIs,
    administrative_contact::GetAccount3PIDs, capabilities::GetCapabilities, login::GetLoginFlows,
    login::Login, login_token::GenerateLoginToken, logout::Logout, logout::LogoutAll,
    openid::RequestOpenIdToken, password_management::ChangePassword, refresh::Refresh,
    registration::CheckUsernameAvailability, registration::Register,
    registration_tokens::RegistrationTokenValidity, versions::GetVersions, voip::GetTurnServer,
    wellknown::GetWellknown, whoami::GetTokenOwner,
};
use quotient::api::ErrorCode;
use quotient::{PasswordHandler, StatusCode};
use serde_json::json;

use crate::check::{call, call_uia, expect_error};
use crate::fixture::{account, from_json, obj, server};

pub async fn discovery() {
    let anon = server().connection();
    let versions = call(&anon, GetVersions::new()).await.unwrap();
    assert!(
        versions.versions.iter().any(|v| v == "v1.12"),
        "{:?}",
        versions.versions
    );
    let flows = call(&anon, GetLoginFlows::new()).await.unwrap();
    let flows = flows.flows.unwrap_or_default();
    assert!(flows.iter().any(|f| f.type_ == "m.login.password"));
    let known = call(&anon, GetWellknown::new()).await.unwrap();
    assert!(server()
        .url
        .as_str()
        .starts_with(known.m_homeserver.base_url.trim_end_matches('/')));

    let me = account("disco").await;
    let caps = call(&me.conn, GetCapabilities::new()).await.unwrap();
    let versions = caps.capabilities.m_room_versions.expect("room versions");
    assert!(versions.available.contains_key(&versions.default));
    let turn = call(&me.conn, GetTurnServer::new()).await.unwrap();
    assert_eq!(turn.uris, ["turn:127.0.0.1:3478?transport=udp"]);
    assert!(turn.ttl > 0);
    let who = call(&me.conn, GetTokenOwner::new()).await.unwrap();
    assert_eq!(who.user_id, me.user_id);
    assert_eq!(who.device_id.as_deref(), Some(me.device_id.as_str()));
}

pub async fn identity() {
    let me = account("ident").await;
    let threepids = call(&me.conn, GetAccount3PIDs::new()).await.unwrap();
    assert!(threepids.threepids.unwrap_or_default().is_empty());
    let openid = call(&me.conn, RequestOpenIdToken::new(me.id(), obj(json!({}))))
        .await
        .unwrap();
    assert_eq!(openid.token_type, "Bearer");
    assert_eq!(openid.matrix_server_name, "localhost");
    // Synapse lets a user ask about themself without being an admin.
    let whois = call(&me.conn, GetWhoIs::new(me.id())).await.unwrap();
    assert_eq!(whois.user_id.as_deref(), Some(me.user_id.as_str()));
    assert!(whois.devices.unwrap_or_default().len() == 1);
}

pub async fn login_refresh_logout() {
    let me = account("login").await;
    let anon = server().connection();
    let mut login = Login::new("m.login.password".into());
    login.identifier = Some(from_json(
        json!({"type": "m.id.user", "user": me.localpart}),
    ));
    login.password = Some(me.password.clone().into());
    login.refresh_token = Some(true);
    login.initial_device_display_name = Some("refreshing".into());
    let session = call(&anon, login).await.unwrap();
    assert_eq!(session.user_id, me.user_id);
    let refresh_token = session.refresh_token.expect("asked for a refresh token");
    assert!(session.expires_in_ms.unwrap_or(0) > 0);

    let second = server().connection();
    second.set_access_token(Some(session.access_token.clone()));
    let renewed = call(&second, Refresh::new(refresh_token)).await.unwrap();
    assert_ne!(renewed.access_token.expose(), session.access_token.expose());
    second.set_access_token(Some(renewed.access_token.clone()));
    call(&second, GetTokenOwner::new()).await.unwrap();

    // A login token minted by one device signs in another (m.login.token).
    let mut handler = PasswordHandler::new(me.id(), me.password.clone().into());
    let minted = call_uia(&me.conn, GenerateLoginToken::new(), &mut handler)
        .await
        .unwrap();
    assert!(minted.expires_in_ms > 0);
    let mut by_token = Login::new("m.login.token".into());
    by_token.token = Some(minted.login_token);
    let third = server().connection();
    let session = call(&third, by_token).await.unwrap();
    third.set_access_token(Some(session.access_token));

    call(&second, Logout::new()).await.unwrap();
    let err = expect_error(&second, GetTokenOwner::new()).await;
    assert_eq!(err.errcode(), Some(&ErrorCode::UnknownToken));
    // Everything else of the user goes at once.
    call(&third, LogoutAll::new()).await.unwrap();
    for conn in [&third, &me.conn] {
        let err = expect_error(conn, GetTokenOwner::new()).await;
        assert_eq!(err.status(), StatusCode::Unauthorised);
    }
}

pub async fn registration() {
    let anon = server().connection();
    let name = format!("reg{}", crate::fixture::txn());
    let free = call(&anon, CheckUsernameAvailability::new(name.clone()))
        .await
        .unwrap();
    assert_eq!(free.available, Some(true));
    let validity = call(
        &anon,
        RegistrationTokenValidity::new("no-such-token".into()),
    )
    .await
    .unwrap();
    assert!(!validity.valid);

    let mut register = Register::new();
    register.username = Some(name.clone());
    register.password = Some("a long enough password".into());
    register.initial_device_display_name = Some("registered".into());
    // Open registration on this server asks for m.login.dummy only.
    let mut handler = PasswordHandler::new(name.clone(), "unused".into());
    let new = call_uia(&anon, register, &mut handler).await.unwrap();
    assert_eq!(new.user_id.as_str(), format!("@{name}:localhost"));
    assert!(new.access_token.is_some() && new.device_id.is_some());
    let err = expect_error(&anon, CheckUsernameAvailability::new(name)).await;
    assert_eq!(err.errcode(), Some(&ErrorCode::UserInUse));
}

pub async fn password_and_deactivation() {
    let me = account("passwd").await;
    let mut handler = PasswordHandler::new(me.id(), me.password.clone().into());
    let mut change = ChangePassword::new("the new password".into());
    change.logout_devices = Some(false);
    call_uia(&me.conn, change, &mut handler).await.unwrap();

    let mut handler = PasswordHandler::new(me.id(), "the new password".into());
    let gone = call_uia(&me.conn, DeactivateAccount::new(), &mut handler)
        .await
        .unwrap();
    // Nothing was bound to an identity server, so nothing failed.
    let unbind = serde_json::to_value(&gone.id_server_unbind_result).unwrap();
    assert_eq!(unbind, "success");
    let err = expect_error(&server().connection(), {
        let mut login = Login::new("m.login.password".into());
        login.identifier = Some(from_json(
            json!({"type": "m.id.user", "user": me.localpart}),
        ));
        login.password = Some("the new password".into());
        login
    })
    .await;
    // Deactivation removed the password: the login fails like a wrong one.
    assert_eq!(err.http_status(), Some(403));
}

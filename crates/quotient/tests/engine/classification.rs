//! Every row of the classification table in docs/jobs.md, over the wire.

use std::time::Duration;

use quotient::api::ErrorCode;
use quotient::{BackoffStrategy, JobOptions, RateLimitPolicy, StatusCode};
use serde_json::json;

use crate::support::*;

/// No retries and no rate-limit waits: one answer, one classification.
fn one_shot() -> JobOptions {
    JobOptions {
        backoff: BackoffStrategy {
            max_retries: 0,
            ..Default::default()
        },
        rate_limit: RateLimitPolicy {
            max_wait: Duration::ZERO,
            max_rounds: 0,
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn errcode_rows_win_over_http_status() {
    let rows = [
        (429, "M_LIMIT_EXCEEDED", StatusCode::TooManyRequests),
        (401, "M_UNKNOWN_TOKEN", StatusCode::Unauthorised),
        (401, "M_MISSING_TOKEN", StatusCode::Unauthorised),
        (403, "M_FORBIDDEN", StatusCode::ContentAccessError),
        (404, "M_NOT_FOUND", StatusCode::NotFound),
        (404, "M_UNRECOGNIZED", StatusCode::RequestNotImplemented),
        (405, "M_UNRECOGNIZED", StatusCode::RequestNotImplemented),
        (400, "M_BAD_JSON", StatusCode::IncorrectRequest),
        (400, "M_NOT_JSON", StatusCode::IncorrectRequest),
        (400, "M_INVALID_PARAM", StatusCode::IncorrectRequest),
        (400, "M_MISSING_PARAM", StatusCode::IncorrectRequest),
        (413, "M_TOO_LARGE", StatusCode::IncorrectRequest),
        (403, "M_CONSENT_NOT_GIVEN", StatusCode::UserConsentRequired),
        (
            400,
            "M_UNSUPPORTED_ROOM_VERSION",
            StatusCode::UnsupportedRoomVersion,
        ),
        (
            400,
            "M_INCOMPATIBLE_ROOM_VERSION",
            StatusCode::UnsupportedRoomVersion,
        ),
        (
            403,
            "M_CANNOT_LEAVE_SERVER_NOTICE_ROOM",
            StatusCode::CannotLeaveRoom,
        ),
        (403, "M_USER_DEACTIVATED", StatusCode::UserDeactivated),
        (401, "M_USER_LOCKED", StatusCode::AccountLocked),
        // Not in the table: the HTTP status decides.
        (403, "M_ACCOUNT_LOCKED", StatusCode::ContentAccessError),
        (400, "M_UNKNOWN", StatusCode::IncorrectRequest),
    ];
    let server = FakeServer::start().await;
    let conn = server.connection();
    for (http, errcode, expected) in rows {
        server.push(
            THING,
            Reply::json(
                http,
                json!({"errcode": errcode, "error": "text from server"}),
            ),
        );
        let err = conn
            .submit_with(GetThing::default(), one_shot())
            .await
            .unwrap_err();
        assert_eq!(err.status(), expected, "{http} {errcode}");
        assert_eq!(err.http_status(), Some(http));
        assert_eq!(err.errcode(), Some(&ErrorCode::from(errcode)));
        assert_eq!(err.server_error(), Some("text from server"));
        assert_eq!(err.attempts(), 1);
    }
}

#[tokio::test]
async fn http_status_rows_without_errcode() {
    let rows = [
        (401, StatusCode::Unauthorised),
        (403, StatusCode::ContentAccessError),
        (404, StatusCode::NotFound),
        (400, StatusCode::IncorrectRequest),
        (405, StatusCode::IncorrectRequest),
        (406, StatusCode::IncorrectRequest),
        (410, StatusCode::IncorrectRequest),
        (413, StatusCode::IncorrectRequest),
        (429, StatusCode::TooManyRequests),
        (500, StatusCode::NetworkError),
        (501, StatusCode::RequestNotImplemented),
        (502, StatusCode::NetworkError),
        (503, StatusCode::NetworkError),
        (511, StatusCode::NetworkAuthRequired),
    ];
    let server = FakeServer::start().await;
    let conn = server.connection();
    for (http, expected) in rows {
        server.push(
            THING,
            Reply::raw(http, "text/html", b"<html><body>Bad things</body></html>"),
        );
        let err = conn
            .submit_with(GetThing::default(), one_shot())
            .await
            .unwrap_err();
        assert_eq!(err.status(), expected, "{http}");
        assert_eq!(err.http_status(), Some(http));
        assert_eq!(err.errcode(), None);
        assert_eq!(
            err.body_sample(),
            Some("<html><body>Bad things</body></html>")
        );
    }
}

#[tokio::test]
async fn success_and_incorrect_response() {
    let server = FakeServer::start().await;
    let conn = server.connection();
    server.push(THING, Reply::json(200, json!({"ok": true, "extra": 1})));
    let response = conn.submit(GetThing::default()).await.unwrap();
    assert_eq!(*response.value(), Ok_ { ok: true });
    assert!(response.ok, "Response derefs to the typed value");
    assert_eq!(response.http_status(), 200);
    assert_eq!(response.json().unwrap()["extra"], 1);
    assert_eq!(response.body(), br#"{"extra":1,"ok":true}"#);

    // A missing required field and malformed JSON are both IncorrectResponse.
    for body in [&b"{\"other\":1}"[..], b"{\"ok\": tru", b""] {
        server.push(THING, Reply::raw(200, "application/json", body));
        let err = conn
            .submit_with(GetThing::default(), one_shot())
            .await
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::IncorrectResponse);
        assert_eq!(err.http_status(), Some(200));
    }
}

#[tokio::test]
async fn json_error_bodies_are_read_whatever_the_content_type_parameters() {
    let server = FakeServer::start().await;
    let conn = server.connection();
    for content_type in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "text/plain",
    ] {
        server.push(
            THING,
            Reply::raw(
                403,
                content_type,
                br#"{"errcode":"M_FORBIDDEN","error":"nope"}"#,
            ),
        );
        let err = conn
            .submit_with(GetThing::default(), one_shot())
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(&ErrorCode::Forbidden), "{content_type}");
        assert_eq!(err.server_error(), Some("nope"));
    }
}

#[tokio::test]
async fn error_extras_are_kept() {
    let server = FakeServer::start().await;
    let conn = server.connection();
    server.push(
        THING,
        Reply::json(
            401,
            json!({"errcode": "M_UNKNOWN_TOKEN", "error": "expired", "soft_logout": true}),
        ),
    );
    let err = conn
        .submit_with(GetThing::default(), one_shot())
        .await
        .unwrap_err();
    assert!(err.soft_logout());
    assert!(
        err.uia_challenge().is_none(),
        "a token 401 is not a UIA challenge"
    );

    server.push(THING, Reply::json(403, json!({"errcode": "M_CONSENT_NOT_GIVEN", "error": "Please accept", "consent_uri": "https://hs/consent"})));
    let err = conn
        .submit_with(GetThing::default(), one_shot())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::UserConsentRequired);
    assert_eq!(err.consent_uri(), Some("https://hs/consent"));
    assert_eq!(err.server_error(), Some("Please accept"));

    server.push(
        THING,
        Reply::json(
            401,
            json!({
                "flows": [{"stages": ["m.login.password"]}], "params": {}, "session": "sess",
                "errcode": "M_FORBIDDEN", "error": "Invalid password"
            }),
        ),
    );
    let err = conn
        .submit_with(GetThing::default(), one_shot())
        .await
        .unwrap_err();
    let uia = err
        .uia_challenge()
        .expect("a 401 with flows is a UIA challenge");
    assert_eq!(uia.session.as_deref(), Some("sess"));
    assert_eq!(uia.flows[0].stages, ["m.login.password"]);
    assert_eq!(uia.error.as_deref(), Some("Invalid password"));
}

#[tokio::test]
async fn body_size_cap_is_an_error_not_an_allocation() {
    let server = FakeServer::start().await;
    let conn = server.connection();
    let big = format!("{{\"ok\":true,\"pad\":\"{}\"}}", "x".repeat(10_000));
    server.push(THING, Reply::raw(200, "application/json", big.as_bytes()));
    let options = JobOptions {
        max_body_size: 1000,
        ..one_shot()
    };
    let err = conn
        .submit_with(GetThing::default(), options.clone())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert!(err.message().contains("1000 bytes"), "{err}");
    // Within the cap it is fine.
    server.push(THING, Reply::raw(200, "application/json", big.as_bytes()));
    let options = JobOptions {
        max_body_size: 20_000,
        ..options
    };
    assert!(conn.submit_with(GetThing::default(), options).await.is_ok());
}

#[tokio::test]
async fn required_token_missing_fails_before_sending() {
    let server = FakeServer::start().await;
    let conn = server.connection();
    let err = conn.submit(AuthedGet::default()).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::Unauthorised);
    assert_eq!(err.attempts(), 0);
    assert!(server.requests().is_empty());

    conn.set_access_token(Some("syt_secret".into()));
    server.push(
        "/_matrix/client/v3/authed",
        Reply::json(200, json!({"ok": true})),
    );
    server.push(
        "/_matrix/client/v3/optional",
        Reply::json(200, json!({"ok": true})),
    );
    server.push(THING, Reply::json(200, json!({"ok": true})));
    conn.submit(AuthedGet::default()).await.unwrap();
    conn.submit(OptionalAuthGet::default()).await.unwrap();
    conn.submit(GetThing::default()).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].header("authorization"), Some("Bearer syt_secret"));
    assert_eq!(reqs[1].header("authorization"), Some("Bearer syt_secret"));
    assert_eq!(
        reqs[2].header("authorization"),
        None,
        "auth: none never sends the token"
    );
}

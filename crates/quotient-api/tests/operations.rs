//! The generated API as a whole: every operation listed, metadata right,
//! paths built exactly.

use std::collections::HashSet;
use std::time::Duration;

use quotient_api::generated::{joining, login, login_token, profile, room_state, sync, versions};
use quotient_api::{AuthRequirement, Endpoint, Method, RequestBody, OPERATIONS};

#[test]
fn all_166_operations_are_listed_once() {
    assert_eq!(OPERATIONS.len(), 166);
    let ids: HashSet<&str> = OPERATIONS.iter().map(|m| m.operation_id).collect();
    assert_eq!(ids.len(), 166, "operationIds are unique");
    let count = |m: Method| OPERATIONS.iter().filter(|o| o.method == m).count();
    assert_eq!(
        (
            count(Method::Get),
            count(Method::Post),
            count(Method::Put),
            count(Method::Delete)
        ),
        (81, 52, 24, 9)
    );
    let pairs: HashSet<(Method, &str)> = OPERATIONS.iter().map(|m| (m.method, m.path)).collect();
    assert_eq!(pairs.len(), 164, "two method+path pairs are shared");
    assert_eq!(OPERATIONS.iter().filter(|m| m.rate_limited).count(), 66);
    let auth = |a: AuthRequirement| OPERATIONS.iter().filter(|m| m.auth == a).count();
    assert_eq!(
        (
            auth(AuthRequirement::None),
            auth(AuthRequirement::Optional),
            auth(AuthRequirement::Required)
        ),
        (26, 4, 136)
    );
    for m in OPERATIONS {
        assert!(
            !m.path.ends_with(' '),
            "{} keeps a trailing space",
            m.operation_id
        );
        assert!(
            m.path.starts_with("/_matrix/") || m.path.starts_with("/.well-known/"),
            "{}",
            m.path
        );
    }
}

/// POSTs are writes that are never resent after a lost answer, except a
/// short list of read-only queries and marker updates (the generator's
/// `RESENDABLE_POSTS`); every other method is idempotent.
#[test]
fn only_listed_posts_are_safe_to_resend() {
    let mut resendable: Vec<&str> = OPERATIONS
        .iter()
        .filter(|m| m.method == Method::Post && m.idempotent)
        .map(|m| m.operation_id)
        .collect();
    resendable.sort_unstable();
    assert_eq!(
        resendable,
        [
            "postReceipt",
            "queryKeys",
            "queryPublicRooms",
            "search",
            "searchUserDirectory",
            "setReadMarker"
        ]
    );
    for m in OPERATIONS.iter().filter(|m| m.method != Method::Post) {
        assert!(m.idempotent, "{}", m.operation_id);
    }
    for id in [
        "generateLoginToken",
        "createRoom",
        "claimKeys",
        "refresh",
        "login",
    ] {
        assert!(!op(id).idempotent, "{id} must not be resent");
    }
}

fn op(id: &str) -> &'static quotient_api::Metadata {
    OPERATIONS
        .iter()
        .find(|m| m.operation_id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

#[test]
fn metadata_spot_checks() {
    let m = login_token::GenerateLoginToken::METADATA;
    assert_eq!(m, *op("generateLoginToken"));
    assert_eq!(
        (m.method, m.path),
        (Method::Post, "/_matrix/client/v1/login/get_token")
    );
    assert_eq!(m.auth, AuthRequirement::Required);
    assert!(m.rate_limited);
    assert_eq!(m.added_in, Some("1.7"));
    assert!(!m.idempotent);

    assert_eq!(login::GetLoginFlows::METADATA.auth, AuthRequirement::None);
    assert_eq!(
        versions::GetVersions::METADATA.auth,
        AuthRequirement::Optional
    );
    assert_eq!(
        op("getRoomSummary").auth,
        AuthRequirement::Optional,
        "signedRequest counts as optional"
    );
    for id in ["changePassword", "deactivateAccount"] {
        assert_eq!(op(id).auth, AuthRequirement::Optional, "{id}");
    }
    assert_eq!(op("inviteUser").path, op("inviteBy3PID").path);
    assert_eq!(
        op("inviteUser").path,
        "/_matrix/client/v3/rooms/{roomId}/invite"
    );
    assert_eq!(op("getEvents").path, "/_matrix/client/v3/events");
    assert_eq!(
        op("getPushRules").path,
        "/_matrix/client/v3/pushrules/",
        "a trailing slash stays"
    );
    assert!(op("getEvents").deprecated);
    assert_eq!(
        op("getContent").response_content_types,
        ["application/octet-stream"]
    );
    assert_eq!(op("deleteDevice").method, Method::Delete);
}

#[test]
fn path_parameters_are_percent_encoded_exactly() {
    let user = "@a/b c:example.org".parse().unwrap();
    let built = profile::GetUserProfile::new(user).build().unwrap();
    assert_eq!(
        built.path_and_query,
        "/_matrix/client/v3/profile/%40a%2Fb%20c%3Aexample.org"
    );

    let room = "#room:example.org".parse().unwrap();
    let built = joining::JoinRoom::new(room).build().unwrap();
    assert!(
        built
            .path_and_query
            .starts_with("/_matrix/client/v3/join/%23room%3Aexample.org"),
        "{}",
        built.path_and_query
    );

    let built = room_state::SetRoomStateWithKey::new(
        "!r:x".parse().unwrap(),
        "m.room.member".into(),
        "@u:x/with space".into(),
        Default::default(),
    )
    .build()
    .unwrap();
    assert_eq!(
        built.path_and_query,
        "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.member/%40u%3Ax%2Fwith%20space"
    );
    assert_eq!(built.method, Method::Put);
    assert_eq!(
        built.body,
        RequestBody::json(&serde_json::json!({})).unwrap()
    );
}

#[test]
fn the_eight_uia_operations_take_auth() {
    use quotient_api::generated::{
        account_deactivation, administrative_contact, cross_signing, device_management,
        password_management, registration,
    };
    fn uia<T: quotient_api::UiaEndpoint>() {}
    uia::<registration::Register>();
    uia::<account_deactivation::DeactivateAccount>();
    uia::<password_management::ChangePassword>();
    uia::<administrative_contact::Add3PID>();
    uia::<device_management::DeleteDevice>();
    uia::<device_management::DeleteDevices>();
    uia::<login_token::GenerateLoginToken>();
    uia::<cross_signing::UploadCrossSigningKeys>();
    let generated = include_str!("../src/generated/mod.rs");
    let count = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/generated"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|text| text.matches("impl crate::UiaEndpoint for").count())
        .sum::<usize>();
    assert!(generated.contains("OPERATIONS"));
    assert_eq!(count, 8, "exactly the spec's eight UIA operations");
}

#[test]
fn login_token_body_is_an_empty_object_without_auth() {
    let built = login_token::GenerateLoginToken::new().build().unwrap();
    assert_eq!(built.body.bytes(), b"{}");
    let with_auth = login_token::GenerateLoginToken {
        auth: Some(quotient_api::AuthData::stage(
            "m.login.dummy",
            Some("s".into()),
        )),
    };
    let json: serde_json::Value =
        serde_json::from_slice(with_auth.build().unwrap().body.bytes()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"auth": {"type": "m.login.dummy", "session": "s"}})
    );
}

#[test]
fn optional_query_parameters_are_left_out_and_long_polls_declare_their_wait() {
    let request = sync::SyncRequest {
        timeout: Some(30_000),
        since: Some("s1 2".into()),
        ..Default::default()
    };
    let built = request.build().unwrap();
    assert_eq!(
        built.path_and_query,
        "/_matrix/client/v3/sync?since=s1%202&timeout=30000"
    );
    assert_eq!(request.server_wait(), Some(Duration::from_secs(30)));
    assert_eq!(
        sync::SyncRequest::default().build().unwrap().path_and_query,
        "/_matrix/client/v3/sync"
    );
    assert_eq!(sync::SyncRequest::default().server_wait(), None);
}

/// A push condition's `value` may be `null` (`event_property_is` with a
/// null value): a rule read from the server and sent back keeps it, and
/// an absent value stays absent.
#[test]
fn a_null_push_condition_value_survives_reading_and_sending_back() {
    use quotient_api::generated::definitions::PushCondition;
    use quotient_api::generated::pushrules::{
        GetPushRuleResponse, SetPushRule, SetPushRuleActionsItem, SetPushRuleKind,
    };
    let read: GetPushRuleResponse = serde_json::from_str(
        r#"{"actions":["notify"],"default":false,"enabled":true,"rule_id":"r",
            "conditions":[{"kind":"event_property_is","key":"content.x","value":null},
                          {"kind":"event_match","key":"type","pattern":"m.room.message"}]}"#,
    )
    .unwrap();
    let conditions: Vec<PushCondition> = read.conditions.clone().unwrap();
    assert_eq!(conditions[0].value, Some(None), "null is kept as null");
    assert_eq!(conditions[1].value, None, "absent stays absent");

    let mut rule = SetPushRule::new(
        SetPushRuleKind::Override,
        "r".into(),
        vec![SetPushRuleActionsItem::String("notify".into())],
    );
    rule.conditions = Some(conditions);
    let RequestBody::Json(bytes) = rule.build().unwrap().body else {
        panic!("a JSON body");
    };
    let sent: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(sent["conditions"][0]["value"], serde_json::Value::Null);
    assert!(sent["conditions"][0]
        .as_object()
        .unwrap()
        .contains_key("value"));
    assert!(!sent["conditions"][1]
        .as_object()
        .unwrap()
        .contains_key("value"));
}

/// Generated names read as words and shadow nothing a user imports.
#[test]
fn names_read_as_words_and_shadow_no_prelude_name() {
    use quotient_api::generated::definitions::Direction;
    use quotient_api::generated::{message_pagination, relations, room_event_by_timestamp};
    assert_eq!(Direction::Backward.as_str(), "b");
    assert_eq!(Direction::Forward.as_str(), "f");
    // One type for every operation that pages in a direction.
    let _ = message_pagination::GetRoomEvents::new("!r:x".parse().unwrap(), Direction::Backward);
    let mut relations =
        relations::GetRelatingEvents::new("!r:x".parse().unwrap(), "$e".parse().unwrap());
    relations.dir = Some(Direction::Forward);
    let _ = room_event_by_timestamp::GetEventByTimestamp::new(
        "!r:x".parse().unwrap(),
        0,
        Direction::Backward,
    );
    assert_eq!(
        sync::SyncRequest::METADATA.operation_id,
        "sync",
        "the `sync` operation's type does not shadow std::marker::Sync"
    );
    let _: Option<quotient_api::generated::definitions::KeyObject> = None;
}

/// A path parameter of `.` or `..` would change the URL the request goes
/// to (`/state/m.room.name/..`): building the request refuses it, and a
/// dot inside a value is fine.
#[test]
fn dot_segments_in_path_parameters_are_refused_when_building() {
    use quotient_api::generated::rooms::GetRoomStateWithKey;
    let with_key = |key: &str| {
        GetRoomStateWithKey::new("!r:x".parse().unwrap(), "m.room.name".into(), key.into()).build()
    };
    for bad in [".", ".."] {
        let err = with_key(bad).unwrap_err();
        assert!(err.to_string().contains("`stateKey`"), "{err}");
    }
    assert!(with_key("a.b").is_ok());
    assert!(with_key("...").is_ok());
    assert!(
        with_key("").is_ok(),
        "an empty state key is the spec's trailing `/`"
    );
}

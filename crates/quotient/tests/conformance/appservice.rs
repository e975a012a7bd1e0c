//! What an application service does or answers: pinging it, publishing a
//! bridged room in its network's directory, and the third-party lookups
//! Synapse answers from it. `scripts/homeserver start --conformance`
//! registers a stub bridge of an "irc" protocol (see scripts/homeserver.py).

use quotient::api::generated::{
    appservice_ping::PingAppservice,
    appservice_room_directory::UpdateAppserviceRoomDirectoryVisibility,
    third_party_lookup::GetProtocolMetadata, third_party_lookup::GetProtocols,
    third_party_lookup::QueryLocationByAlias, third_party_lookup::QueryLocationByProtocol,
    third_party_lookup::QueryUserByID, third_party_lookup::QueryUserByProtocol,
};
use quotient::Connection;
use serde_json::json;

use crate::check::call;
use crate::fixture::{account, create_room, from_json, server};

const BRIDGE: &str = "conformance-bridge";

/// A connection that authenticates as the application service.
fn bridge_connection() -> Connection {
    let registration = std::fs::read_to_string(server().dir.join("appservice.yaml"))
        .expect("scripts/homeserver wrote the registration");
    let token = registration
        .lines()
        .find_map(|l| l.strip_prefix("as_token: "))
        .expect("an as_token")
        .trim_matches('"')
        .to_owned();
    let conn = server().connection();
    conn.set_access_token(Some(token.into()));
    conn
}

pub async fn bridge() {
    let conn = bridge_connection();
    let mut ping = PingAppservice::new(BRIDGE.into());
    ping.transaction_id = Some("ping-1".into());
    let pong = call(&conn, ping).await.unwrap();
    assert!(pong.duration_ms >= 0);

    let owner = account("bridged").await;
    let room = create_room(&owner, "public_chat", json!([])).await;
    let publish = UpdateAppserviceRoomDirectoryVisibility::new(
        "example".into(),
        room.as_str().into(),
        "public".into(),
    );
    let answer = call(&conn, publish).await.unwrap();
    assert!(answer.0.is_empty());
    // Only an application service may do that.
    let err = crate::check::expect_error(
        &owner.conn,
        UpdateAppserviceRoomDirectoryVisibility::new(
            "example".into(),
            room.as_str().into(),
            "public".into(),
        ),
    )
    .await;
    assert_eq!(err.http_status(), Some(403));
}

pub async fn third_party() {
    let me = account("bridger").await;
    let protocols = call(&me.conn, GetProtocols::new()).await.unwrap();
    assert_eq!(protocols.0.keys().collect::<Vec<_>>(), ["irc"]);
    let irc = call(&me.conn, GetProtocolMetadata::new("irc".into()))
        .await
        .unwrap();
    assert_eq!(irc.instances[0].network_id, "example");

    let mut locations = QueryLocationByProtocol::new("irc".into());
    locations.fields = Some(from_json(
        json!({"network": "irc.example.org", "channel": "#matrix"}),
    ));
    let locations = call(&me.conn, locations).await.unwrap();
    assert_eq!(locations.0[0].alias, "#irc_#matrix:localhost");
    let mut users = QueryUserByProtocol::new("irc".into());
    users.fields = Some(from_json(json!({"nickname": "someone"})));
    let users = call(&me.conn, users).await.unwrap();
    assert_eq!(users.0[0].userid, "@irc_someone:localhost");
    // Without a protocol Synapse asks no bridge, so these come back empty.
    let by_alias = QueryLocationByAlias::new("#irc_#matrix:localhost".into());
    assert!(call(&me.conn, by_alias).await.unwrap().0.is_empty());
    let by_id = QueryUserByID::new("@irc_someone:localhost".into());
    assert!(call(&me.conn, by_id).await.unwrap().0.is_empty());
}

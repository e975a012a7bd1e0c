//! The echo bot of docs/client.md.
//! `HOMESERVER=https://… BOT_USER=@bot:… BOT_PASSWORD=… cargo run -p quotient-client --example echo_bot`
use quotient::api::generated::room_send::SendMessage;
use quotient::store::{load_session, save_session};
use quotient_client::{store::Membership, Client};
use std::{env, path::Path};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new("echo-bot-store");
    let conn = quotient::Connection::builder(env::var("HOMESERVER")?.parse()?).build()?;
    match load_session(&dir.join("session.json")) {
        Ok(session) => conn.adopt_session(session), // restore
        Err(_) => {
            // or sign in
            let session = conn
                .login_with_password(
                    &env::var("BOT_USER")?,
                    env::var("BOT_PASSWORD")?.into(),
                    Some("echo bot"),
                )
                .await?;
            save_session(&dir.join("session.json"), &session)?;
        }
    }
    let me = conn.user_id().ok_or("not signed in")?.as_str().to_owned();
    let client = Client::open(dir, conn.clone())?;
    let _sync = client.start_sync_loop();
    let mut events = client.watch_timeline("echo")?; // each event once, across restarts
    loop {
        let e = events.next().await?; // calling next again commits the previous one as handled
        let (json, room) = (&e.event.json, e.room_id.as_str());
        let joined = client
            .store()?
            .rooms()?
            .contains(&(room.to_owned(), Membership::Joined));
        if json["type"] != "m.room.message"
            || json["content"]["msgtype"] != "m.text"
            || json["sender"] == me.as_str()
            || !joined
        {
            continue;
        }
        let content = serde_json::json!({"msgtype": "m.notice", "body": json["content"]["body"]});
        let txn = format!("echo-{}", e.seq); // a fresh transaction ID per echoed event
        conn.submit(SendMessage::new(
            room.parse()?,
            "m.room.message".into(),
            txn,
            serde_json::from_value(content)?,
        ))
        .await?;
    }
}

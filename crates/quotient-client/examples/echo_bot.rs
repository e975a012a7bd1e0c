//! The echo bot of docs/client.md: answers each text message with a notice.
//! `HOMESERVER=https://… BOT_USER=@bot:… BOT_PASSWORD=… cargo run -p quotient-client --example echo_bot`
use quotient_client::{outbox::OutgoingEvent, Client};
use std::{env, path::Path};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (user, password) = (env::var("BOT_USER")?, env::var("BOT_PASSWORD")?.into());
    let homeserver = env::var("HOMESERVER")?.parse()?;
    // The session saved in the store directory, or a sign-in saved there.
    let client =
        Client::login_or_restore(Path::new("echo-bot-store"), homeserver, &user, password).await?;
    let _sync = client.start_sync_loop();
    let mut events = client.watch_timeline("echo")?; // each event once, across restarts
    loop {
        let e = events.next().await?; // calling next again commits the previous one as handled
        let json = &e.event.json;
        if json["type"] != "m.room.message"
            || json["content"]["msgtype"] != "m.text"
            || json["sender"] == user.as_str()
        {
            continue;
        }
        let echo = OutgoingEvent::notice(json["content"]["body"].as_str().unwrap_or_default());
        // Stored before it goes out, sent exactly once; keyed by the event
        // it answers, so an event handed over again is not answered twice.
        let key = format!("echo:{}", e.event.event_id.as_deref().unwrap_or_default());
        client.send_keyed(&e.room_id.parse()?, &key, echo).await?;
    }
}

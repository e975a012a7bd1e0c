//! The echo bot of docs/client.md: answers each text message with a notice, in its thread.
//! `HOMESERVER=https://… BOT_USER=@bot:… BOT_PASSWORD=… cargo run -p quotient-client --example echo_bot`
use quotient_client::{events::*, outbox::OutgoingEvent, Client};
use std::env::var;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, user) = (var("HOMESERVER")?.parse()?, var("BOT_USER")?.parse()?);
    // The session saved in the store directory, or a sign-in saved there.
    let client = Client::login_or_restore("bot-store", url, &user, var("BOT_PASSWORD")?).await?;
    // Each message once, across restarts; answered once (keyed by its ID), in its thread.
    client.on::<MessageContent, _, _>("echo", |event, room| async move {
        if let MessageKind::Text(_) = event.content().kind {
            let echo = OutgoingEvent::notice(&event.content().body);
            room.answer(&event, echo).await?;
        }
        Ok::<_, quotient_client::Error>(())
    })?;
    Ok(client.start_sync_loop().join().await?)
}

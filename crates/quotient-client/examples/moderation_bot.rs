//! A moderation bot: whoever says the banned word has their message
//! redacted and is kicked, where the bot's power levels allow; where they
//! do not, it says why in a reply (in the message's thread, if it is in
//! one). Join it to rooms yourself.
//! `HOMESERVER=https://… BOT_USER=@mod:… BOT_PASSWORD=… BANNED_WORD=… cargo run -p quotient-client --example moderation_bot`
use quotient_client::{events::*, outbox::OutgoingEvent, room::RoomAction, Client, Error};
use std::env::var;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, user) = (var("HOMESERVER")?.parse()?, var("BOT_USER")?.parse()?);
    let word = var("BANNED_WORD")?.to_lowercase();
    let client = Client::login_or_restore("mod-store", url, &user, var("BOT_PASSWORD")?).await?;
    // Each message once, across restarts.
    client.on::<MessageContent, _, _>("moderation", move |event, room| {
        let said = event.sender() != &user && event.content().body.to_lowercase().contains(&word);
        async move {
            if !said {
                return Ok(());
            }
            if room.can(&RoomAction::Redact(event.sender().clone()))? {
                room.redact(event.event_id(), Some("banned word")).await?;
            }
            match room.kick(event.sender(), Some("banned word")).await {
                // Refused by the power levels, before any request: say why.
                Err(Error::NotAllowed { needed, level, .. }) => {
                    let note = format!("I cannot kick: that needs {needed}, I have {level}");
                    room.answer(&event, OutgoingEvent::notice(&note))
                        .await
                        .map(drop)
                }
                other => other,
            }
        }
    })?;
    Ok(client.start_sync_loop().join().await?)
}

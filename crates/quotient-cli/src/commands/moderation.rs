//! `quotient kick`, `ban` and `unban`, through `Room`: the power levels
//! are checked before any request.

use serde_json::json;

use crate::cli::ModerateArgs;
use crate::client::{self, failure};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

#[derive(Clone, Copy)]
enum Action {
    Kick,
    Ban,
    Unban,
}

pub async fn kick(store: &SessionStore, out: &Output, args: ModerateArgs) -> Result<(), Failure> {
    moderate(store, out, args, Action::Kick).await
}

pub async fn ban(store: &SessionStore, out: &Output, args: ModerateArgs) -> Result<(), Failure> {
    moderate(store, out, args, Action::Ban).await
}

pub async fn unban(store: &SessionStore, out: &Output, args: ModerateArgs) -> Result<(), Failure> {
    moderate(store, out, args, Action::Unban).await
}

async fn moderate(
    store: &SessionStore,
    out: &Output,
    args: ModerateArgs,
    action: Action,
) -> Result<(), Failure> {
    let user = client::user_id(&args.user)?;
    let client = client::open(store)?;
    let room = client::room(&client, &args.room)?;
    let reason = args.reason.as_deref();
    let (word, done) = match action {
        Action::Kick => ("kick", "Kicked"),
        Action::Ban => ("ban", "Banned"),
        Action::Unban => ("unban", "Unbanned"),
    };
    let _spin = out.spinner(word);
    let result = match action {
        Action::Kick => room.kick(&user, reason).await,
        Action::Ban => room.ban(&user, reason).await,
        Action::Unban => room.unban(&user, reason).await,
    };
    result.map_err(|e| failure(&format!("{word} failed"), &e))?;
    drop(_spin);
    let id = room.id();
    out.print(
        json!({"room_id": id.as_str(), "user_id": user.as_str(), "action": word}),
        || format!("{done} {user} in {id}"),
    );
    Ok(())
}

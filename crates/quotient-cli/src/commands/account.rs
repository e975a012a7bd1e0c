//! `quotient profile`, `ignore` and `unignore`.

use serde_json::json;

use crate::cli::{ProfileArgs, UserArgs};
use crate::client::{self, failure};
use crate::exit::Failure;
use crate::store::Store as SessionStore;
use crate::terminal::Output;

/// `quotient profile [--name NAME] [--avatar FILE]`: sets what is given,
/// then shows the profile as the server has it.
pub async fn profile(store: &SessionStore, out: &Output, args: ProfileArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    let me = client
        .connection()
        .user_id()
        .ok_or_else(Failure::not_signed_in)?;
    let _spin = out.spinner("updating the profile");
    if let Some(name) = &args.name {
        client
            .set_display_name(name)
            .await
            .map_err(|e| failure("setting the display name failed", &e))?;
    }
    if let Some(file) = &args.avatar {
        client.set_avatar_file(file).await.map_err(|e| match e {
            quotient_client::Error::File { .. } => Failure::usage(e.to_string()),
            e => failure("setting the avatar failed", &e),
        })?;
    }
    let profile = client
        .profile(&me)
        .await
        .map_err(|e| failure("reading the profile failed", &e))?;
    drop(_spin);
    let avatar = profile.avatar_url.as_ref().map(|u| u.as_str().to_owned());
    out.print(
        json!({"user_id": me.as_str(), "display_name": profile.display_name, "avatar_url": avatar}),
        || {
            format!(
                "{me}\n  name:   {}\n  avatar: {}",
                profile.display_name.as_deref().unwrap_or("-"),
                avatar.as_deref().unwrap_or("-")
            )
        },
    );
    Ok(())
}

/// `quotient ignore USER` (`ignored`) or `unignore USER`.
pub async fn ignore(
    store: &SessionStore,
    out: &Output,
    args: UserArgs,
    ignored: bool,
) -> Result<(), Failure> {
    let user = client::user_id(&args.user)?;
    let client = client::open(store)?;
    let result = if ignored {
        client.ignore_user(&user).await
    } else {
        client.unignore_user(&user).await
    };
    result.map_err(|e| failure("changing the ignore list failed", &e))?;
    out.print(
        json!({"user_id": user.as_str(), "ignored": ignored}),
        || {
            if ignored {
                format!("Ignoring {user}")
            } else {
                format!("No longer ignoring {user}")
            }
        },
    );
    Ok(())
}

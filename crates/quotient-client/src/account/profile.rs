//! The account's profile: display name and avatar, and anyone's profile.

use std::path::Path;

use quotient_api::generated::profile::{GetUserProfile, SetProfileField};
use quotient_api::{JsonObject, MxcUri, UserId};
use serde_json::Value;

use crate::client::{request_error, Client};
use crate::error::{Error, Result};

/// A user's global profile, as their server gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The display name, if set.
    pub display_name: Option<String>,
    /// The avatar, if set.
    pub avatar_url: Option<MxcUri>,
}

impl Client {
    /// `user_id`'s global profile (one request).
    pub async fn profile(&self, user_id: &UserId) -> Result<Profile> {
        let answer = self
            .connection()
            .submit(GetUserProfile::new(user_id.clone()))
            .await
            .map_err(request_error)?
            .into_value();
        Ok(Profile {
            display_name: answer.displayname,
            avatar_url: answer.avatar_url,
        })
    }

    /// Sets this account's display name; the server updates its member
    /// event in every joined room.
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// client.set_display_name("Echo Bot").await?;
    /// client.set_avatar_file("bot.png".as_ref()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_display_name(&self, name: &str) -> Result<()> {
        self.set_profile_field("displayname", Value::from(name))
            .await
    }

    /// Sets this account's avatar to an uploaded image.
    pub async fn set_avatar_url(&self, url: &MxcUri) -> Result<()> {
        self.set_profile_field("avatar_url", Value::from(url.as_str()))
            .await
    }

    /// Uploads the image at `path` and makes it this account's avatar;
    /// the URI it got.
    pub async fn set_avatar_file(&self, path: &Path) -> Result<MxcUri> {
        let uploaded = self.media().upload_file(path, None).await?.await?;
        self.set_avatar_url(&uploaded.content_uri).await?;
        Ok(uploaded.content_uri)
    }

    async fn set_profile_field(&self, key: &str, value: Value) -> Result<()> {
        let me = self.connection().user_id().ok_or(Error::NotSignedIn)?;
        let mut body = JsonObject::new();
        body.insert(key.to_owned(), value);
        self.connection()
            .submit(SetProfileField::new(me, key.to_owned(), body))
            .await
            .map_err(request_error)?;
        Ok(())
    }
}

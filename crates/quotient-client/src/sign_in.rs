//! A bot's or tool's one-call start: the session kept beside the store.

use std::path::Path;

use quotient::store::{load_session, save_on_change, save_session};
use quotient::{Connection, LoginOptions, SecretString};
use quotient_api::UserId;
use url::Url;

use crate::client::{request_error, Client};
use crate::error::{Error, Result};

/// The session file inside a store directory (the CLI's name for it too).
pub const SESSION_FILE: &str = "session.json";

impl Client {
    /// The client kept in `dir`: the session an earlier run saved there
    /// (`session.json`, owner-only) is restored, or, when there is none,
    /// `user` signs in on `homeserver` with `password` and the new session
    /// is saved there for the next run. Then the store in `dir` is opened
    /// ([`Client::open`]).
    ///
    /// A saved session wins over `homeserver` and `user`; a session file
    /// that cannot be read (bad JSON, too open a mode) is an error, never
    /// replaced by a new sign-in behind the caller's back.
    ///
    /// The sign-in asks for a refresh token: expired access tokens are
    /// renewed by the engine, and each new pair is written to the session
    /// file (temporary file, fsync, rename) before it is used, so a crash
    /// at any point leaves a session that works. A session the server
    /// ends (the device logged out elsewhere) stops the sync loop with
    /// [`Error::SessionGone`].
    ///
    /// ```no_run
    /// # async fn demo() -> quotient_client::Result<()> {
    /// use quotient_client::Client;
    /// let homeserver = "https://matrix.example.org".parse().unwrap();
    /// let client = Client::login_or_restore(
    ///     std::path::Path::new("bot-store"), homeserver, &"@bot:example.org".parse()?, "secret",
    /// ).await?;
    /// # Ok(()) }
    /// ```
    pub async fn login_or_restore(
        dir: impl AsRef<Path>,
        homeserver: Url,
        user: &UserId,
        password: impl Into<SecretString>,
    ) -> Result<Client> {
        let (dir, password) = (dir.as_ref(), password.into());
        let path = dir.join(SESSION_FILE);
        let conn = Connection::builder(homeserver.clone())
            .build()
            .map_err(Error::Request)?;
        if path.exists() {
            let session = load_session(&path).map_err(Error::SavedSession)?;
            let conn = if session.homeserver == homeserver {
                conn
            } else {
                Connection::builder(session.homeserver.clone())
                    .build()
                    .map_err(Error::Request)?
            };
            conn.adopt_session(session);
            conn.on_session_change(save_on_change(&path));
            return Client::open(dir, conn);
        }
        #[cfg(feature = "e2e-encryption")]
        let uia_password = password.clone();
        let session = conn
            .login_with_password_using(
                user.as_str(),
                password,
                &LoginOptions::new().refresh_token(true),
            )
            .await
            .map_err(request_error)?;
        save_session(&path, &session).map_err(Error::SavedSession)?;
        conn.on_session_change(save_on_change(&path));
        let client = Client::open(dir, conn)?;
        // A new device, with the password at hand: cross-signing is set up
        // now, through UIA if the server asks (spec v1.18 recommends every
        // device be cross-signed).
        #[cfg(feature = "e2e-encryption")]
        if let Err(e) = client.set_up_cross_signing(&uia_password).await {
            tracing::warn!(error = %e, "cross-signing is not set up yet; the next start tries again");
        }
        Ok(client)
    }
}

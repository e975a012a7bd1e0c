//! Ignored users (`m.ignored_user_list`): read from the store, changed
//! through the server's copy.

use std::collections::BTreeSet;

use quotient::StatusCode;
use quotient_api::generated::account_data::{GetAccountData, SetAccountData};
use quotient_api::{JsonObject, UserId};
use serde_json::{json, Value};

use crate::client::{request_error, Client};
use crate::error::{Error, Result};
use crate::store::{Store, StoredEvent};

const IGNORED: &str = "m.ignored_user_list";

fn ignored_of(content: Option<&Value>) -> BTreeSet<String> {
    content
        .and_then(|c| c.get("ignored_users"))
        .and_then(Value::as_object)
        .map(|users| users.keys().cloned().collect())
        .unwrap_or_default()
}

impl Store {
    /// The users this account ignores, as last synced.
    pub(crate) fn ignored_user_ids(&self) -> Result<BTreeSet<String>> {
        let event = self.account_data(IGNORED)?;
        Ok(ignored_of(event.as_ref().and_then(|e| e.get("content"))))
    }
}

impl Client {
    /// The users this account ignores, as last synced, by user ID.
    pub fn ignored_users(&self) -> Result<Vec<UserId>> {
        let ids = self.store()?.ignored_user_ids()?;
        Ok(ids
            .into_iter()
            .filter_map(|u| UserId::parse(u).ok())
            .collect())
    }

    /// Ignores `user_id`: from the next sync on, the server sends none of
    /// their events or invites, and this library hides the ones stored.
    ///
    /// ```no_run
    /// # async fn demo(client: quotient_client::Client) -> quotient_client::Result<()> {
    /// client.ignore_user(&"@spammer:example.org".parse()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ignore_user(&self, user_id: &UserId) -> Result<()> {
        self.change_ignored(|set| set.insert(user_id.as_str().to_owned()))
            .await
    }

    /// Stops ignoring `user_id`.
    pub async fn unignore_user(&self, user_id: &UserId) -> Result<()> {
        self.change_ignored(|set| set.remove(user_id.as_str()))
            .await
    }

    // Read from the server, not the store: a change made since the last
    // sync (by this program or another client) is kept.
    async fn change_ignored(
        &self,
        change: impl FnOnce(&mut BTreeSet<String>) -> bool,
    ) -> Result<()> {
        let me = self.connection().user_id().ok_or(Error::NotSignedIn)?;
        let current = self
            .connection()
            .submit(GetAccountData::new(me.as_str().to_owned(), IGNORED.into()))
            .await;
        let mut content = match current {
            Ok(answer) => answer.into_value().0,
            Err(e) if e.status() == StatusCode::NotFound => JsonObject::new(),
            Err(e) => return Err(request_error(e)),
        };
        let mut set = ignored_of(Some(&Value::Object(content.clone())));
        if !change(&mut set) {
            return Ok(());
        }
        let users: JsonObject = set.into_iter().map(|u| (u, json!({}))).collect();
        content.insert("ignored_users".into(), Value::Object(users));
        self.connection()
            .submit(SetAccountData::new(
                me.into_string(),
                IGNORED.into(),
                content,
            ))
            .await
            .map_err(request_error)?;
        Ok(())
    }

    /// `events` without those sent by ignored users.
    pub(crate) fn without_ignored(&self, events: Vec<StoredEvent>) -> Result<Vec<StoredEvent>> {
        let ignored = self.store()?.ignored_user_ids()?;
        if ignored.is_empty() {
            return Ok(events);
        }
        Ok(events
            .into_iter()
            .filter(|e| {
                let sender = e.json.get("sender").and_then(Value::as_str);
                !sender.is_some_and(|s| ignored.contains(s))
            })
            .collect())
    }
}

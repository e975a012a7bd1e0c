//! The sync position: where the next `/sync` starts and with which filter.

use rusqlite::{params, Connection, OptionalExtension};

use super::Store;
use crate::error::Result;

/// A stored filter: its ID on the server and the definition it was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredFilter {
    pub id: String,
    pub definition: String,
}

impl Store {
    /// The `next_batch` of the last committed batch: the `since` of the
    /// next `/sync`. `None` before the first sync.
    pub fn since(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT since FROM sync_position WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Whether a sync, by `/sync` v3 or by sliding sync, has been
    /// committed to this store: what is in it is the account as a sync
    /// left it, not nothing yet.
    pub fn has_synced(&self) -> Result<bool> {
        Ok(self.since()?.is_some() || self.sliding_position()?.window > 0)
    }

    /// The user this store was synced for, if it has been (and the
    /// stored ID parses).
    pub fn user_id(&self) -> Result<Option<quotient_api::UserId>> {
        Ok(self
            .user_id_as_stored()?
            .and_then(|text| quotient_api::UserId::parse(text).ok()))
    }

    /// [`user_id`](Self::user_id) as the store holds it.
    pub(crate) fn user_id_as_stored(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT user_id FROM sync_position WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// The filter ID the sync uses, if one was uploaded.
    pub fn filter_id(&self) -> Result<Option<String>> {
        Ok(self.filter()?.map(|f| f.id))
    }

    pub(crate) fn filter(&self) -> Result<Option<StoredFilter>> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .prepare_cached("SELECT filter_id, filter_definition FROM sync_position WHERE id = 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match row {
            Some((Some(id), Some(definition))) => Some(StoredFilter { id, definition }),
            _ => None,
        })
    }

    pub(crate) fn set_filter(&mut self, filter: &StoredFilter) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE sync_position SET filter_id = ?1, filter_definition = ?2 WHERE id = 1",
            )?
            .execute(params![filter.id, filter.definition])?;
        Ok(())
    }

    pub(crate) fn set_user_id(&mut self, user_id: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE sync_position SET user_id = ?1 WHERE id = 1")?
            .execute(params![user_id])?;
        Ok(())
    }
}

/// Writes `since` inside the batch's transaction.
pub(crate) fn set_since(tx: &Connection, since: &str) -> Result<()> {
    tx.prepare_cached("UPDATE sync_position SET since = ?1 WHERE id = 1")?
        .execute(params![since])?;
    Ok(())
}

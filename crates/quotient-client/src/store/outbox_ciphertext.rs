//! The ciphertext of an outbox entry bound for an encrypted room, stored
//! before its first attempt (schema v6), so every resend carries the same
//! bytes under the same transaction ID.

use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::error::Result;

impl Store {
    /// The entry's stored `m.room.encrypted` content, if it was encrypted.
    pub(crate) fn outbox_ciphertext(&self, txn_id: &str) -> Result<Option<serde_json::Value>> {
        let text: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT encrypted FROM outbox WHERE txn_id = ?1",
                params![txn_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match text.flatten() {
            Some(text) => Some(serde_json::from_str(&text)?),
            None => None,
        })
    }

    /// Stores the entry's ciphertext, unless one is stored already (then
    /// that one is returned: the first ciphertext is the one sent).
    pub(crate) fn set_outbox_ciphertext(
        &mut self,
        txn_id: &str,
        content: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        self.conn.execute(
            "UPDATE outbox SET encrypted = ?2 WHERE txn_id = ?1 AND encrypted IS NULL",
            params![txn_id, content.to_string()],
        )?;
        Ok(self
            .outbox_ciphertext(txn_id)?
            .unwrap_or_else(|| content.clone()))
    }

    /// Whether `room_id` is encrypted (its stored state has
    /// `m.room.encryption`). Nothing turns encryption off.
    pub fn is_encrypted(&self, room_id: &str) -> Result<bool> {
        Ok(self
            .state_event(room_id, "m.room.encryption", "")?
            .is_some())
    }
}

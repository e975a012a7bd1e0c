//! What an outbox entry bound for an encrypted room stores before its
//! first attempt: its event's ciphertext (schema v6), so every resend
//! carries the same bytes under the same transaction ID, and its file's
//! key (schema v7), so every upload try sends the same ciphertext.

use quotient::SecretString;
use quotient_api::RoomId;
use rusqlite::{params, OptionalExtension};

use super::Store;
use crate::error::Result;
use crate::outbox::Attachment;

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
    #[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
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

    /// The key, IV and hash the entry's file is encrypted with (the
    /// spec's `EncryptedFile` without `url`, as JSON), if one was stored.
    pub(crate) fn outbox_file_key(&self, txn_id: &str) -> Result<Option<SecretString>> {
        let text: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT file_key FROM outbox WHERE txn_id = ?1",
                params![txn_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text.flatten().map(SecretString::new))
    }

    /// Stores the entry's file key, unless one is stored already (then
    /// that one is returned: the first key is the one used). With a new
    /// key, the attachment's reservation and upload are forgotten in the
    /// same write: whatever was uploaded before was not this ciphertext.
    #[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
    pub(crate) fn set_outbox_file_key(
        &mut self,
        txn_id: &str,
        key: &SecretString,
        attachment: &Attachment,
    ) -> Result<SecretString> {
        let mut fresh = attachment.clone();
        fresh.content_uri = None;
        fresh.uploaded = false;
        self.conn.execute(
            "UPDATE outbox SET file_key = ?2, attachment = ?3
             WHERE txn_id = ?1 AND file_key IS NULL",
            params![txn_id, key.expose(), serde_json::to_string(&fresh)?],
        )?;
        Ok(self.outbox_file_key(txn_id)?.unwrap_or_else(|| key.clone()))
    }

    /// Whether `room_id` is encrypted (its stored state has
    /// `m.room.encryption`). Nothing turns encryption off.
    pub fn is_encrypted(&self, room_id: &RoomId) -> Result<bool> {
        self.is_encrypted_at(room_id.as_str())
    }

    /// [`is_encrypted`](Self::is_encrypted) by the room ID as stored.
    pub(crate) fn is_encrypted_at(&self, room_id: &str) -> Result<bool> {
        Ok(self
            .state_event_at(room_id, "m.room.encryption", "")?
            .is_some())
    }
}

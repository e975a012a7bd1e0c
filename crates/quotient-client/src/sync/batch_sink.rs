//! The writer as the reader's [`BatchSink`]: each piece of a read answer
//! goes to the writer's method for it, inside the batch's transaction.

use quotient_api::generated::definitions::EventBatch;
use quotient_api::generated::sync::{RoomSummary, UnreadNotificationCounts};
use serde_json::value::RawValue;
use serde_json::Value;

use super::ephemeral;
use super::stream::BatchSink;
use super::writer::Writer;
use crate::error::Result;
use crate::store::Membership;

impl BatchSink for Writer<'_, '_> {
    fn membership(&mut self, room: &str, membership: Membership) -> Result<()> {
        Writer::membership(self, room, membership)
    }

    fn summary(&mut self, room: &str, summary: &RoomSummary) -> Result<()> {
        Writer::summary(self, room, summary)
    }

    fn unread(&mut self, room: &str, counts: &UnreadNotificationCounts) -> Result<()> {
        Writer::unread(self, room, counts)
    }

    fn state(&mut self, room: &str, events: &[&RawValue]) -> Result<()> {
        Writer::state(self, room, events)
    }

    fn stripped_state(&mut self, room: &str, events: &[Value]) -> Result<()> {
        Writer::stripped_state(self, room, events)
    }

    fn timeline(
        &mut self,
        room: &str,
        limited: bool,
        prev_batch: Option<&str>,
        events: &[&RawValue],
    ) -> Result<()> {
        Writer::timeline(self, room, limited, prev_batch, events)
    }

    fn room_account_data(&mut self, room: &str, batch: Option<&EventBatch>) -> Result<()> {
        Writer::room_account_data(self, room, batch)
    }

    fn ephemeral(&mut self, room: &str, batch: Option<&EventBatch>) -> Result<()> {
        // Receipts are stored; typing is only told.
        if let Some(typing) = ephemeral::apply(self.tx, room, batch)? {
            if let Ok(id) = quotient_api::RoomId::parse(room) {
                // Who is not a user ID is nobody typing.
                let typing = typing
                    .into_iter()
                    .filter_map(|u| quotient_api::UserId::parse(u).ok())
                    .collect();
                self.changes.typing.insert(id, typing);
            }
        }
        Ok(())
    }

    fn global_account_data(&mut self, batch: Option<&EventBatch>) -> Result<()> {
        Writer::global_account_data(self, batch)
    }
}

//! Back-pagination: filling a room's newest timeline gap from `/messages`.

use quotient_api::generated::definitions::Direction;
use quotient_api::generated::message_pagination::GetRoomEvents;
use quotient_api::RoomId;

use super::gap_writer::{apply_page, newest_gap, PaginationOutcome};
use crate::client::{request_error, Client};
use crate::error::{Error, Result};

impl Client {
    /// Fetches one page (at most `limit` events) of the room's history
    /// before its newest gap, through the engine, and stores it in one
    /// transaction (see [`sync::gap_writer`](crate::sync) for where events
    /// go and what becomes of the gap). With no gap left it asks nothing
    /// and returns [`PaginationOutcome::NoGap`]: a gap is filled once.
    ///
    /// Members are lazy-loaded as the sync settings say. Events from the
    /// page go through redactions and relations as a sync batch's do.
    pub async fn paginate_back(&self, room_id: &RoomId, limit: u32) -> Result<PaginationOutcome> {
        // One pagination at a time: two would fetch the same token.
        let _gate = self.pagination_gate().lock().await;
        let Some((_, from)) = newest_gap(&*self.store()?, room_id.as_str())? else {
            return Ok(PaginationOutcome::NoGap);
        };
        let mut request = GetRoomEvents::new(room_id.clone(), Direction::Backward);
        request.from = Some(from.clone());
        request.limit = Some(i64::from(limit.max(1)));
        let lazy = self.sync_settings().lazy_load_members();
        request.filter = Some(serde_json::json!({ "lazy_load_members": lazy }).to_string());
        let page = self
            .connection()
            .submit(request)
            .await
            .map_err(request_error)?
            .into_value();
        let decryptions = self.decrypt_page(room_id.as_str(), &page).await?;
        let store = self.store_handle();
        let room = room_id.as_str().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut store = crate::client::lock(&store)?;
            apply_page(&mut store, &room, &from, &page, &decryptions)
        })
        .await
        .map_err(|e| Error::TaskLost(e.to_string()))?
    }
}

impl Client {
    /// The page's encrypted events, decrypted (when this process has the
    /// crypto machine).
    async fn decrypt_page(
        &self,
        room: &str,
        page: &quotient_api::generated::message_pagination::GetRoomEventsResponse,
    ) -> Result<super::decryptions::Decryptions> {
        #[cfg(feature = "e2e-encryption")]
        {
            let texts: Vec<String> = page
                .chunk
                .iter()
                .filter_map(|item| match item {
                    quotient_api::Lenient::Typed(e) if e.type_ == super::writer::ENCRYPTED => {
                        serde_json::to_string(e).ok()
                    }
                    _ => None,
                })
                .collect();
            if texts.is_empty() {
                return Ok(Default::default());
            }
            // Not waiting for another owner: its pages are decrypted by
            // it, or later (see `decrypt_others_events`).
            if let Some(crypto) = self.crypto_now().await? {
                let events: Vec<(&str, &str)> = texts.iter().map(|t| (room, t.as_str())).collect();
                return crypto.decrypt_all(&events).await;
            }
        }
        let _ = (room, page);
        Ok(Default::default())
    }
}

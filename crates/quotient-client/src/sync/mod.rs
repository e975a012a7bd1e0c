//! Sync: folding `/sync` batches into the store, and the loop that
//! fetches them.

mod batch_sink;
pub(crate) mod decryptions;
mod ephemeral;
mod event_head;
mod gap_writer;
mod pagination;
pub(crate) mod raw_body;
mod redactions;
mod relations;
mod settings;
pub mod sliding;
mod stream;
mod sync_loop;
pub(crate) mod timeline_events;
pub(crate) mod writer;

pub use gap_writer::{GapAfterPage, PaginationOutcome};
pub use settings::{SyncMode, SyncSettings, SyncSettingsBuilder};
pub use sync_loop::SyncLoop;
#[cfg(test)]
pub(crate) use writer::apply_decrypted_body;
pub use writer::{apply_batch, apply_sync_body, SyncChanges};

//! Sync: folding `/sync` batches into the store, and the loop that
//! fetches them.

mod ephemeral;
mod gap_writer;
mod pagination;
mod redactions;
mod relations;
mod settings;
mod sync_loop;
pub(crate) mod timeline_events;
mod writer;

pub use gap_writer::{GapAfterPage, PaginationOutcome};
pub use settings::{SyncSettings, SyncSettingsBuilder};
pub use sync_loop::SyncLoop;
pub use writer::{apply_batch, SyncChanges};

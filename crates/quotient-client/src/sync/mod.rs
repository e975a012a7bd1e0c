//! Sync: folding `/sync` batches into the store, and the loop that
//! fetches them.

mod settings;
mod sync_loop;
mod writer;

pub use settings::{SyncSettings, SyncSettingsBuilder};
pub use sync_loop::SyncLoop;
pub use writer::{apply_batch, SyncChanges};

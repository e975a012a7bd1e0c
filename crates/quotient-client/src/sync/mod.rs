//! Sync: folding `/sync` batches into the store, and the loop that
//! fetches them.

mod writer;

pub use writer::{apply_batch, SyncChanges};

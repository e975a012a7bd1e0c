//! Entries queued by other processes on the same store: a `quotient send`
//! beside a running `quotient sync` or bot (and encrypted events such a
//! process stored without a crypto machine, decrypted here). The process that syncs (the
//! store's owner) sends them — into an encrypted room, it is the only one
//! that can — and it notices them without waiting for a batch by
//! watching SQLite's `data_version`, which changes when another
//! connection commits.

use std::time::Duration;

use tokio::sync::watch;

use crate::client::Client;

/// How often the owner looks for other processes' commits.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Until `stop` says so, starts the senders of rooms that another process
/// queued entries for.
pub(crate) async fn watch(client: Client, mut stop: watch::Receiver<bool>) {
    let mut seen = client.store().and_then(|s| s.data_version()).ok();
    loop {
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(LOOK_EVERY) => {}
        }
        let now = match client.store().and_then(|s| s.data_version()) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "the store could not be read for others' entries");
                continue;
            }
        };
        if seen == Some(now) {
            continue;
        }
        seen = Some(now);
        if let Err(e) = client.resume_outbox() {
            tracing::warn!(error = %e, "another process's entries could not be started");
        }
        #[cfg(feature = "e2e-encryption")]
        if let Err(e) = client.decrypt_others_events().await {
            tracing::warn!(error = %e, "another process's encrypted events not decrypted yet");
        }
    }
}

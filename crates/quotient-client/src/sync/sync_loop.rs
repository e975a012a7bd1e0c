//! The sync loop: long-poll, commit, repeat, until stopped.

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::{request_error, Client};
use crate::error::{Error, Result};

/// A running sync loop, started by [`Client::start_sync_loop`].
///
/// It runs until [`stop`](Self::stop) (or until this handle is dropped),
/// until the session is gone ([`Error::SessionGone`]), or until the store
/// fails. A failed `/sync` (network down, server errors) is retried after
/// the settings' back-off waits, for as long as it takes.
#[derive(Debug)]
pub struct SyncLoop {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<()>>,
}

impl SyncLoop {
    /// Stops the loop and waits for it: a pending long-poll is abandoned
    /// at once; a batch being committed finishes its commit first.
    /// Returns the error that had already ended the loop, if one did.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        self.join().await
    }

    /// Waits until the loop ends on its own (the session is gone, the
    /// store failed).
    pub async fn join(self) -> Result<()> {
        self.task
            .await
            .map_err(|e| Error::TaskLost(e.to_string()))?
    }

    /// Whether the loop has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Client {
    /// Starts syncing in the background. Must be called within a Tokio
    /// runtime.
    /// Entries left unsent in the outbox are sent too
    /// ([`Client::resume_outbox`]).
    pub fn start_sync_loop(&self) -> SyncLoop {
        if let Err(e) = self.resume_outbox() {
            tracing::warn!(error = %e, "the outbox could not be read; unsent entries wait");
        }
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(crate::outbox::elsewhere::watch(
            self.clone(),
            stopped.clone(),
        ));
        let task = tokio::spawn(run(self.clone(), stopped));
        SyncLoop { stop, task }
    }
}

async fn run(client: Client, mut stop: watch::Receiver<bool>) -> Result<()> {
    let settings = client.sync_settings().clone();
    let sliding = match settings.mode() {
        super::SyncMode::V3 => false,
        super::SyncMode::Sliding => true,
        super::SyncMode::Auto => client.server_has_sliding_sync().await.unwrap_or(false),
    };
    if sliding {
        return run_sliding(client, stop).await;
    }
    let mut failures: u32 = 0;
    loop {
        let job = tokio::select! {
            biased;
            _ = stopped(&mut stop) => return Ok(()),
            job = client.start_sync(settings.long_poll()) => job,
        };
        let result = match job {
            Ok(mut sync) => tokio::select! {
                biased;
                _ = stopped(&mut stop) => {
                    sync.job.abandon();
                    return Ok(());
                }
                answer = &mut sync.job => answer.map(|_| sync.body.take()).map_err(request_error),
            },
            Err(e) => Err(e),
        };
        match result {
            // Not raced with a stop: a batch that arrived is committed.
            Ok(batch) => {
                client.commit(batch).await?;
                failures = 0;
            }
            Err(Error::Request(e)) => {
                if !back_off(&settings, &mut failures, &e, &mut stop).await {
                    return Ok(());
                }
            }
            Err(Error::StoreOwned { pid, .. }) => {
                tracing::warn!(
                    ?pid,
                    "another process owns the store and syncs it; following its commits until it stops"
                );
                if !follow_owner(&client, &mut stop).await? {
                    return Ok(());
                }
                tracing::warn!("the store's owner stopped; this process syncs it now");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits the settings' back-off after a failed request (counting it);
/// false when stopped meanwhile.
async fn back_off(
    settings: &crate::sync::SyncSettings,
    failures: &mut u32,
    e: &quotient::Error,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let wait = settings
        .backoff()
        .jittered(settings.backoff().retry_wait(*failures));
    *failures = failures.saturating_add(1);
    tracing::warn!(
        status = ?e.status(),
        failures = *failures,
        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        "sync failed; trying again after a wait"
    );
    tokio::select! {
        biased;
        _ = stopped(stop) => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// The sliding-sync loop: one response at a time, folded before the
/// next request; failures back off as v3's do.
async fn run_sliding(client: Client, mut stop: watch::Receiver<bool>) -> Result<()> {
    let settings = client.sync_settings().clone();
    let mut failures: u32 = 0;
    loop {
        let result = tokio::select! {
            biased;
            _ = stopped(&mut stop) => return Ok(()),
            step = client.sliding_sync_once_with(settings.long_poll()) => step,
        };
        match result {
            Ok(_) => failures = 0,
            Err(Error::Request(e)) => {
                if !back_off(&settings, &mut failures, &e, &mut stop).await {
                    return Ok(());
                }
            }
            Err(Error::StoreOwned { .. }) => {
                if !follow_owner(&client, &mut stop).await? {
                    return Ok(());
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// How often a follower looks for the owner's commits, and tries to take
/// over.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
const TAKE_OVER_EVERY: u32 = 4;

/// While another process owns the store: tells this client's watchers of
/// that process's commits (SQLite's `data_version`) and takes over when
/// the owner goes. False when stopped meanwhile.
async fn follow_owner(client: &Client, stop: &mut watch::Receiver<bool>) -> Result<bool> {
    let mut seen = client.store()?.data_version()?;
    let mut ticks: u32 = 0;
    loop {
        tokio::select! {
            biased;
            _ = stopped(stop) => return Ok(false),
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
        let now = client.store()?.data_version()?;
        if now != seen {
            seen = now;
            client.tell_changed(Default::default())?;
        }
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(TAKE_OVER_EVERY) {
            #[cfg(feature = "e2e-encryption")]
            let owner = client.owns_store_now().await?;
            // Without encryption nothing makes a process the store's owner.
            #[cfg(not(feature = "e2e-encryption"))]
            let owner = true;
            if owner {
                return Ok(true);
            }
        }
    }
}

/// Resolves once a stop is asked for, or the handle is dropped.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

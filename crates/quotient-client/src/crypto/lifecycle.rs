//! The machine in a client's life: built once by the owning process,
//! started (keys uploaded, cross-signing set up, tracked users loaded,
//! waiting events retried), then fed by every batch.

use std::sync::Arc;

use matrix_sdk_common::ruma::UserId;

use super::sync_changes::NewRoomKey;
use super::{crypto_error, Crypto};
use crate::client::{lock, Client};
use crate::error::{Error, Result};
use crate::rooms::MemberMembership;
use crate::store::owner::OwnerLock;
use crate::sync::decryptions::{self, Decryptions, Waiting};

/// How long a client waits for the store's owner to let go before
/// saying another process owns it.
const OWNER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Client {
    /// This process's crypto machine, built on first use. `None` when
    /// another process owns the store directory: only the owner ever
    /// builds one.
    pub(crate) async fn crypto(&self) -> Result<Option<Arc<Crypto>>> {
        self.crypto_waiting(OWNER_WAIT).await
    }

    /// Whether this process owns the store now (building its machine if
    /// it just became the owner), without waiting for another owner.
    pub(crate) async fn owns_store_now(&self) -> Result<bool> {
        Ok(self.crypto_now().await?.is_some())
    }

    /// The machine if this process owns the store, without waiting.
    pub(crate) async fn crypto_now(&self) -> Result<Option<Arc<Crypto>>> {
        self.crypto_waiting(std::time::Duration::ZERO).await
    }

    /// Decrypts the encrypted events another process stored without a
    /// machine (a `quotient messages` back-paginating beside a running
    /// sync): the owner does it when it sees that process's commit.
    pub(crate) async fn decrypt_others_events(&self) -> Result<bool> {
        let Some(crypto) = self.crypto_now().await? else {
            return Ok(false);
        };
        let waiting = decryptions::not_tried(self.store()?.connection())?;
        let changed = self.decrypt_again(&crypto, waiting).await?;
        if changed {
            self.tell_changed(Default::default())?;
        }
        Ok(changed)
    }

    async fn crypto_waiting(&self, wait: std::time::Duration) -> Result<Option<Arc<Crypto>>> {
        let mut slot = self.crypto_slot().lock().await;
        if let Some(crypto) = &*slot {
            return Ok(Some(Arc::clone(crypto)));
        }
        let dir = self
            .store()?
            .path()
            .and_then(|p| p.parent())
            .map(ToOwned::to_owned);
        let owned = match &dir {
            // A bounded wait: an owner that is going away (a client just
            // dropped, a process ending) lets go within it.
            Some(dir) => match OwnerLock::acquire(dir, wait).await {
                Ok(lock) => Some((dir.as_path(), lock)),
                Err(Error::StoreOwned { pid, .. }) => {
                    tracing::info!(
                        ?pid,
                        "another process owns the store and its crypto machine"
                    );
                    return Ok(None);
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let crypto =
            Arc::new(Crypto::open(self.connection().clone(), owned, self.device_trust()).await?);
        let _ = crypto.client.set(self.downgrade());
        *slot = Some(Arc::clone(&crypto));
        drop(slot);
        self.start_crypto(&crypto).await;
        Ok(Some(crypto))
    }

    /// The machine, which syncing needs: without it a batch's to-device
    /// messages (room keys among them) would be committed past and lost.
    pub(crate) async fn crypto_for_sync(&self) -> Result<Arc<Crypto>> {
        match self.crypto().await? {
            Some(crypto) => Ok(crypto),
            None => {
                let dir = self
                    .store()?
                    .path()
                    .and_then(|p| p.parent())
                    .map(ToOwned::to_owned)
                    .unwrap_or_default();
                let pid = crate::store::owner::owner_pid(&dir);
                Err(Error::StoreOwned { dir, pid })
            }
        }
    }

    /// First steps of a new machine: the local ones here (tracked users,
    /// stored events retried), the network ones in the background (keys
    /// uploaded, cross-signing set up), so a sync never waits on them; each
    /// is done again later if it fails (keys after every batch). A failure
    /// is logged, not fatal.
    async fn start_crypto(&self, crypto: &Arc<Crypto>) {
        if let Err(e) = self.track_members(crypto, None).await {
            tracing::warn!(error = %e, "tracked users not loaded");
        }
        if let Err(e) = self.retry_waiting(crypto, None).await {
            tracing::warn!(error = %e, "stored undecryptable events not retried");
        }
        if let Err(e) = crypto.resume_backup().await {
            tracing::warn!(error = %e, "key backup not resumed");
        }
        let crypto = Arc::clone(crypto);
        self.spawn_background(async move {
            if let Err(e) = crypto.process_outgoing().await {
                tracing::warn!(error = %e, "device keys not uploaded yet; trying again after the next batch");
            }
            if let Err(e) = crypto.set_up_cross_signing().await {
                tracing::warn!(error = %e, "cross-signing is not set up");
            }
            crypto.setup_tried();
        });
    }

    /// Tells the machine whose devices to follow: the joined and invited
    /// members of the encrypted `rooms` (every encrypted room when `None`).
    pub(crate) async fn track_members(
        &self,
        crypto: &Crypto,
        rooms: Option<&std::collections::BTreeSet<quotient_api::RoomId>>,
    ) -> Result<()> {
        let users = {
            let store = self.store()?;
            let all;
            let rooms: Box<dyn Iterator<Item = &quotient_api::RoomId>> = match rooms {
                Some(rooms) => Box::new(rooms.iter()),
                None => {
                    all = store.rooms()?;
                    Box::new(all.iter().map(|(r, _)| r))
                }
            };
            let mut users = std::collections::BTreeSet::new();
            for room in rooms {
                if store.state_event(room, "m.room.encryption", "")?.is_none() {
                    continue;
                }
                for m in store.members(room)? {
                    if matches!(
                        m.membership,
                        MemberMembership::Joined | MemberMembership::Invited
                    ) {
                        if let Ok(u) = UserId::parse(m.user_id.as_str()) {
                            users.insert(u);
                        }
                    }
                }
            }
            users
        };
        crypto
            .machine()
            .update_tracked_users(users.iter().map(super::encrypt::as_user_id))
            .await
            .map_err(crypto_error)
    }

    /// Decrypts the stored events waiting for the `keys` that came (every
    /// waiting event when `None`) and stores what decrypted, in one
    /// transaction. True when any event changed.
    pub(crate) async fn retry_waiting(
        &self,
        crypto: &Crypto,
        keys: Option<&[NewRoomKey]>,
    ) -> Result<bool> {
        let waiting: Vec<Waiting> = {
            let store = self.store()?;
            let conn = store.connection();
            match keys {
                None => decryptions::all_waiting(conn)?,
                Some(keys) => {
                    let mut all = Vec::new();
                    for key in keys {
                        all.extend(decryptions::waiting_for(
                            conn,
                            &key.room_id,
                            &key.session_id,
                        )?);
                    }
                    all
                }
            }
        };
        self.decrypt_again(crypto, waiting).await
    }

    /// Decrypts `waiting` again and stores what changed, in one
    /// transaction.
    async fn decrypt_again(&self, crypto: &Crypto, waiting: Vec<Waiting>) -> Result<bool> {
        if waiting.is_empty() {
            return Ok(false);
        }
        let mut results = Vec::with_capacity(waiting.len());
        for w in waiting {
            let d = crypto.decrypt(&w.room_id, &w.original).await?;
            results.push((w, d));
        }
        let store = self.store_handle();
        tokio::task::spawn_blocking(move || {
            let mut store = lock(&store)?;
            let tx = store.write_transaction()?;
            let mut any = false;
            for (w, d) in &results {
                any |= decryptions::apply_late(&tx, w, d)?;
            }
            tx.commit()?;
            Ok::<_, Error>(any)
        })
        .await
        .map_err(|e| Error::TaskLost(e.to_string()))?
    }

    /// Decides again the events withheld by the trust setting: a sender
    /// whose keys were unknown when the event came may be cross-signed.
    /// Those shown now are told to watchers as decrypted.
    pub(crate) async fn retry_withheld(&self, crypto: &Crypto) -> Result<bool> {
        let withheld = decryptions::all_withheld(self.store()?.connection())?;
        self.decrypt_again(crypto, withheld).await
    }

    /// What the machine makes of a `/sync` answer, before it is folded:
    /// its crypto parts handed over (committed to the crypto store) and
    /// its encrypted timeline events decrypted.
    pub(crate) async fn crypto_before_commit(
        &self,
        crypto: &Crypto,
        body: &[u8],
    ) -> Result<(Decryptions, Vec<NewRoomKey>)> {
        let keys = crypto.receive_sync(body).await?;
        let events = super::sync_changes::encrypted_timeline_events(body)?;
        if !events.is_empty() {
            // Whether a sender's device is cross-signed is known only once
            // its keys are: fetch them first, so the trust decided below
            // is not a guess. Offline, decide with what is known; withheld
            // events are decided again when keys arrive.
            let senders = senders_of(&events);
            crypto
                .machine()
                .update_tracked_users(senders.iter().map(super::encrypt::as_user_id))
                .await
                .map_err(crypto_error)?;
            if let Err(e) = crypto.process_outgoing().await {
                tracing::warn!(error = %e, "senders' keys not fetched; trust decided with what is known");
            }
        }
        let events: Vec<(&str, &str)> = events
            .iter()
            .map(|(room, e)| (room.as_str(), e.get()))
            .collect();
        let decryptions = crypto.decrypt_all(&events).await?;
        let verification = super::verify_in_room::verification_events(body, &decryptions)?;
        if !verification.is_empty() {
            crypto.receive_room_verification(verification).await?;
        }
        Ok((decryptions, keys))
    }

    /// After a batch's commit: events waiting for the keys it brought are
    /// decrypted, the members of the rooms it touched are followed, every
    /// followed user is refreshed after a first sync, and the machine's
    /// requests go out in the background.
    pub(crate) async fn crypto_after_commit(
        &self,
        crypto: &Arc<Crypto>,
        keys: &[NewRoomKey],
        rooms: &std::collections::BTreeSet<quotient_api::RoomId>,
        initial: bool,
    ) -> Result<()> {
        if !keys.is_empty() {
            self.retry_waiting(crypto, Some(keys)).await?;
        }
        self.track_members(crypto, Some(rooms)).await?;
        if initial {
            crypto
                .machine()
                .mark_all_tracked_users_as_dirty()
                .await
                .map_err(crypto_error)?;
        }
        let crypto = Arc::clone(crypto);
        let client = self.clone();
        self.spawn_background(async move {
            if let Err(e) = crypto.process_outgoing().await {
                tracing::warn!(error = %e, "key requests not sent; trying again after the next batch");
            }
            // Room keys not yet in the backup (new ones, and any a failed
            // upload or a crash left) go up now.
            if let Err(e) = crypto.upload_room_keys().await {
                tracing::warn!(error = %e, "room keys not backed up yet; trying again after the next batch");
            }
            // Keys that did not come by to-device may be in the backup.
            if let Err(e) = client.decrypt_from_backup(&crypto).await {
                tracing::warn!(error = %e, "missing room keys not fetched from the backup");
            }
            // Keys that came may make withheld senders trusted now.
            if let Err(e) = client.retry_withheld(&crypto).await {
                tracing::warn!(error = %e, "withheld events not decided again");
            }
        });
        Ok(())
    }
}

/// The distinct senders of a batch's encrypted events.
fn senders_of(
    events: &[(String, &serde_json::value::RawValue)],
) -> Vec<matrix_sdk_common::ruma::OwnedUserId> {
    #[derive(serde::Deserialize)]
    struct Sender {
        sender: Option<String>,
    }
    let mut out: Vec<matrix_sdk_common::ruma::OwnedUserId> = events
        .iter()
        .filter_map(|(_, e)| serde_json::from_str::<Sender>(e.get()).ok()?.sender)
        .filter_map(|s| UserId::parse(s.as_str()).ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

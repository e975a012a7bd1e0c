//! The client: a [`Connection`] and the store it syncs into.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use quotient::{Connection, Job, StatusCode};
use quotient_api::generated::sync::SyncRequest;
use tokio::sync::broadcast;

use crate::encryption::DeviceTrust;
use crate::error::{Error, Result};
// Kept here too: the modules that import it from the client still do.
pub(crate) use crate::error::request_error;
use crate::media::config::MediaConfig;
use crate::outbox::Outbox;
use crate::store::position::StoredFilter;
use crate::store::Store;
use crate::sync::raw_body::{BodyBuffer, InBuffer, RawSync};
use crate::sync::{SyncChanges, SyncSettings};

/// How many change notices a slow receiver may fall behind by before it
/// is told it lagged (it can then re-read the store).
const CHANGES_CAPACITY: usize = 256;

/// A Matrix client: a signed-in [`Connection`] and its [`Store`].
///
/// Opening it restores everything synced so far, so rooms and stored
/// messages can be read with no network. Cloning is cheap: clones share
/// the connection and the store.
///
/// ```no_run
/// use quotient_client::Client;
/// # async fn demo(conn: quotient::Connection) -> Result<(), quotient_client::Error> {
/// let client = Client::open(std::path::Path::new("/home/me/.local/share/quotient"), conn)?;
/// let mut rooms = client.watch_rooms();
/// let sync = client.start_sync_loop();
/// while let Some(update) = rooms.next().await {
///     let room = client.room(&update.room_id)?;
///     println!("{}: {}", update.room_id, room.display_name()?);
/// }
/// sync.stop().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Connection,
    // A std mutex: SQLite calls are short and synchronous; a batch is
    // folded on a blocking thread while holding it.
    store: Arc<Mutex<Store>>,
    settings: SyncSettings,
    changes: broadcast::Sender<SyncChanges>,
    // One sync at a time: two would start from the same `since`.
    sync_gate: tokio::sync::Mutex<()>,
    // One back-pagination at a time.
    pagination_gate: tokio::sync::Mutex<()>,
    outbox: Outbox,
    // Fetched on the first upload, kept for the client's life.
    media_config: tokio::sync::OnceCell<MediaConfig>,
    device_trust: DeviceTrust,
    // Built by the first sync or encrypted send, if this process owns
    // the store; tried again while it does not.
    #[cfg(feature = "e2e-encryption")]
    crypto: tokio::sync::Mutex<Option<Arc<crate::crypto::Crypto>>>,
    // Background crypto tasks (key requests): aborted when the last
    // clone of the client goes, so the machine and the store's ownership
    // go with it instead of outliving it.
    background: Mutex<Vec<tokio::task::AbortHandle>>,
    // Rooms a program opened: sliding sync subscribes to them.
    sliding_subscriptions: Mutex<std::collections::BTreeSet<String>>,
    // Whether the sliding-sync room list is still growing.
    sliding_growing: std::sync::atomic::AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let tasks = self.background.get_mut().unwrap_or_else(|p| p.into_inner());
        for task in tasks.drain(..) {
            task.abort();
        }
        // The crypto store's connection pool closes itself through the
        // Tokio runtime: a client dropped where there is none (after
        // `block_on` returned, at the end of `main`) gets a small one for
        // that, rather than a panic.
        #[cfg(feature = "e2e-encryption")]
        if tokio::runtime::Handle::try_current().is_err() {
            let crypto = self.crypto.get_mut().take();
            if crypto.is_some() {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => {
                        let _inside = runtime.enter();
                        drop(crypto);
                    }
                    // No runtime can be made: keep the machine for the
                    // process's life rather than panic.
                    Err(_) => std::mem::forget(crypto),
                }
            }
        }
    }
}

/// Builds a [`Client`] with optional settings.
#[derive(Debug)]
pub struct ClientBuilder {
    conn: Connection,
    settings: SyncSettings,
    device_trust: DeviceTrust,
}

impl ClientBuilder {
    /// How to sync (timeline limit, lazy-loading, long-poll, back-off).
    pub fn sync_settings(mut self, settings: SyncSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Which devices get room keys and whose messages are shown
    /// (default: [`DeviceTrust::CrossSigned`], as spec v1.18 recommends).
    pub fn device_trust(mut self, trust: DeviceTrust) -> Self {
        self.device_trust = trust;
        self
    }

    /// Opens (or creates) the store in `store_dir`; see [`Store::open`].
    pub fn open(self, store_dir: &Path) -> Result<Client> {
        let store = Store::open(store_dir)?;
        self.with_store(store)
    }

    /// A client whose store lives in memory only (tests, one-off tools).
    pub fn in_memory(self) -> Result<Client> {
        self.with_store(Store::in_memory()?)
    }

    fn with_store(self, mut store: Store) -> Result<Client> {
        let user = self.conn.user_id().ok_or(Error::NotSignedIn)?;
        match store.user_id_as_stored()? {
            Some(stored) if stored != user.as_str() => {
                return Err(Error::OtherAccount {
                    stored,
                    connected: user.clone(),
                })
            }
            Some(_) => {}
            None => store.set_user_id(user.as_str())?,
        }
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        Ok(Client {
            inner: Arc::new(Inner {
                conn: self.conn,
                store: Arc::new(Mutex::new(store)),
                settings: self.settings,
                changes,
                sync_gate: tokio::sync::Mutex::new(()),
                pagination_gate: tokio::sync::Mutex::new(()),
                outbox: Outbox::new(),
                media_config: tokio::sync::OnceCell::new(),
                device_trust: self.device_trust,
                #[cfg(feature = "e2e-encryption")]
                crypto: tokio::sync::Mutex::new(None),
                background: Mutex::new(Vec::new()),
                sliding_subscriptions: Mutex::new(Default::default()),
                sliding_growing: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }
}

/// A handle on a client that does not keep it alive (for the crypto
/// machine, which the client owns, to queue in-room messages).
#[cfg(feature = "e2e-encryption")]
#[derive(Clone, Debug)]
pub(crate) struct WeakClient(std::sync::Weak<Inner>);

#[cfg(feature = "e2e-encryption")]
impl WeakClient {
    pub(crate) fn upgrade(&self) -> Option<Client> {
        self.0.upgrade().map(|inner| Client { inner })
    }
}

impl Client {
    #[cfg(feature = "e2e-encryption")]
    pub(crate) fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner))
    }

    /// Starts configuring a client over a signed-in `connection`.
    pub fn builder(connection: Connection) -> ClientBuilder {
        ClientBuilder {
            conn: connection,
            settings: SyncSettings::default(),
            device_trust: DeviceTrust::default(),
        }
    }

    /// Opens the store in `store_dir` for `connection` with the default
    /// settings, restoring what was synced. Fails with
    /// [`Error::NotSignedIn`] if the connection has no session, and with
    /// [`Error::OtherAccount`] if the store was synced for another user.
    pub fn open(store_dir: &Path, connection: Connection) -> Result<Client> {
        Client::builder(connection).open(store_dir)
    }

    /// A client with an in-memory store and the default settings.
    pub fn in_memory(connection: Connection) -> Result<Client> {
        Client::builder(connection).in_memory()
    }

    /// The connection requests go through.
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The sync settings.
    pub fn sync_settings(&self) -> &SyncSettings {
        &self.inner.settings
    }

    /// Reads the store. Hold the guard briefly: a batch waits for it.
    pub fn store(&self) -> Result<MutexGuard<'_, Store>> {
        lock(&self.inner.store)
    }

    pub(crate) fn store_handle(&self) -> Arc<Mutex<Store>> {
        Arc::clone(&self.inner.store)
    }

    pub(crate) fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    pub(crate) fn pagination_gate(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.pagination_gate
    }

    /// Which devices get room keys and whose messages are shown.
    pub fn device_trust(&self) -> DeviceTrust {
        self.inner.device_trust
    }

    #[cfg(feature = "e2e-encryption")]
    pub(crate) fn crypto_slot(&self) -> &tokio::sync::Mutex<Option<Arc<crate::crypto::Crypto>>> {
        &self.inner.crypto
    }

    /// Runs `task` in the background for as long as the client lives.
    #[cfg_attr(not(feature = "e2e-encryption"), allow(dead_code))]
    pub(crate) fn spawn_background(
        &self,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let handle = tokio::spawn(task).abort_handle();
        let mut tasks = self
            .inner
            .background
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    pub(crate) fn media_config(&self) -> &tokio::sync::OnceCell<MediaConfig> {
        &self.inner.media_config
    }

    /// Tells watchers the store changed outside a batch (events decrypted
    /// after a key import): a notice with the stored `since`, the rooms,
    /// and no new events. Watchers then read the store.
    pub(crate) fn tell_changed(&self, rooms: std::collections::BTreeSet<String>) -> Result<()> {
        let next_batch = self.store()?.since()?.unwrap_or_default();
        let _ = self.inner.changes.send(SyncChanges {
            next_batch,
            // Stored rooms: their IDs parsed when their batch was read.
            rooms: rooms
                .into_iter()
                .filter_map(|r| quotient_api::RoomId::parse(r).ok())
                .collect(),
            ..SyncChanges::default()
        });
        Ok(())
    }

    /// Notices of what each committed batch changed, sent only after its
    /// commit. A receiver that falls more than 256 notices behind gets
    /// `Lagged` and should re-read the store.
    pub fn changes(&self) -> broadcast::Receiver<SyncChanges> {
        self.inner.changes.subscribe()
    }

    /// Fetches and stores one batch without waiting for news (`timeout=0`).
    pub async fn sync_once(&self) -> Result<SyncChanges> {
        let _gate = self.inner.sync_gate.lock().await;
        let SyncJob { job, body } = self.start_sync(Duration::ZERO).await?;
        job.await.map_err(request_error)?;
        self.commit(body.take()).await
    }

    /// Uploads the filter (once: its ID is stored with the definition it
    /// was made for) and starts the `/sync` job from the stored `since`.
    /// Its body goes to the job's buffer as it arrives, kept as bytes.
    pub(crate) async fn start_sync(&self, wait: Duration) -> Result<SyncJob> {
        // Only the store's owner syncs: asked before the request, so a
        // process that does not own the store fetches nothing.
        #[cfg(feature = "e2e-encryption")]
        self.crypto_for_sync().await?;
        let filter = self.filter_id().await?;
        let since = self.store()?.since()?;
        let mut request = SyncRequest::new();
        request.filter = Some(filter);
        request.since = since;
        request.timeout = Some(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        let body = BodyBuffer::default();
        let options = self.inner.conn.default_job_options().clone();
        let job = self
            .inner
            .conn
            .submit_to_sink(RawSync(request), body.clone(), options);
        Ok(SyncJob { job, body })
    }

    async fn filter_id(&self) -> Result<String> {
        let definition = self.inner.settings.filter_definition();
        if let Some(stored) = self.store()?.filter()? {
            if stored.definition == definition {
                return Ok(stored.id);
            }
        }
        let user = self.inner.conn.user_id().ok_or(Error::NotSignedIn)?;
        let request = self.inner.settings.filter_request(user);
        let answer = self
            .inner
            .conn
            .submit(request)
            .await
            .map_err(request_error)?;
        let id = answer.into_value().filter_id;
        self.store()?.set_filter(&StoredFilter {
            id: id.clone(),
            definition,
        })?;
        Ok(id)
    }

    /// Folds the answer `body` into the store on a blocking thread, then
    /// tells the watchers. Not cancelled by dropping the future: the
    /// blocking task runs to its commit (or rollback) whatever happens to
    /// the caller. A body that is not a `/sync` answer is a failed request
    /// (`IncorrectResponse`), as when the engine decoded it: the loop
    /// backs off and asks again.
    pub(crate) async fn commit(&self, body: Vec<u8>) -> Result<SyncChanges> {
        let fresh = self.store()?.since()?.is_none();
        self.commit_with(body, fresh, |tx, next_batch| {
            crate::store::position::set_since(tx, next_batch)
        })
        .await
    }

    pub(crate) fn sliding_subscriptions(&self) -> &Mutex<std::collections::BTreeSet<String>> {
        &self.inner.sliding_subscriptions
    }

    pub(crate) fn sliding_growing(&self) -> bool {
        self.inner
            .sliding_growing
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn set_sliding_growing(&self, growing: bool) {
        self.inner
            .sliding_growing
            .store(growing, std::sync::atomic::Ordering::SeqCst);
    }

    /// [`commit`](Self::commit), the position written by `place` in the
    /// batch's transaction (v3's `since`, or sliding sync's `pos`).
    /// `fresh`: the batch follows no earlier position of its loop (a v3
    /// sync without `since`, a new sliding-sync connection), so device
    /// lists may have changed unreported since whatever came before (the
    /// other loop's batches included): every tracked user is marked for
    /// a new key query.
    pub(crate) async fn commit_with(
        &self,
        body: Vec<u8>,
        fresh: bool,
        place: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> Result<()> + Send + 'static,
    ) -> Result<SyncChanges> {
        // The machine hears of the batch first, and commits that to its
        // own store: only then may the batch's `since` be committed.
        #[cfg(feature = "e2e-encryption")]
        let (crypto, decryptions, keys) = {
            let crypto = self.crypto_for_sync().await?;
            let (decryptions, keys) = self.crypto_before_commit(&crypto, &body).await?;
            (crypto, decryptions, keys)
        };
        #[cfg(not(feature = "e2e-encryption"))]
        let _ = fresh;
        #[cfg(not(feature = "e2e-encryption"))]
        let decryptions = crate::sync::decryptions::Decryptions::new();
        let store = Arc::clone(&self.inner.store);
        let changes = tokio::task::spawn_blocking(move || {
            let mut store = lock(&store)?;
            crate::sync::writer::apply_at(&mut store, &body, &decryptions, place).map_err(|e| {
                match e {
                    Error::Json(e) => Error::Request(quotient::Error::new(
                        StatusCode::IncorrectResponse,
                        format!("the /sync answer does not decode: {e}"),
                    )),
                    e => e,
                }
            })
        })
        .await
        .map_err(|e| Error::TaskLost(e.to_string()))??;
        #[cfg(feature = "e2e-encryption")]
        self.crypto_after_commit(&crypto, &keys, &changes.rooms, fresh)
            .await?;
        for (room, txn, event_id) in &changes.outbox_sent {
            self.outbox().tell_state(
                room,
                txn,
                crate::outbox::OutboxState::Sent {
                    event_id: Some(event_id.clone()),
                },
            );
        }
        // A sender stopped earlier (a store error, another process's
        // leftovers) gets its room's entries going again.
        if let Err(e) = self.resume_outbox() {
            tracing::warn!(error = %e, "the outbox could not be resumed after a batch");
        }
        // No receiver is not an error: nobody is watching yet.
        let _ = self.inner.changes.send(changes.clone());
        Ok(changes)
    }
}

/// A `/sync` job and the buffer its answer's body arrives in.
pub(crate) struct SyncJob {
    pub(crate) job: Job<InBuffer>,
    pub(crate) body: BodyBuffer,
}

pub(crate) fn lock(store: &Mutex<Store>) -> Result<MutexGuard<'_, Store>> {
    // A panic while holding the lock happened mid-transaction, which
    // SQLite rolled back: the store itself is consistent.
    Ok(store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()))
}

//! The running node: the app behind a lock, the mempool, the block producer and the event feed.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy_primitives::{Address, B256};
use cairn_rewards::calculate;
use cairn_state::{Genesis, rewards::RewardsClaim};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::{
    admission::AdmissionError,
    app::{App, AppError},
    block::{Header, Receipt},
    envelope::{EnvelopeError, SignedTx, Verified},
    mempool::{Mempool, MempoolError},
    pending::{Dropped, DroppedTx, Journal},
    store::{StoreError, StoreOptions},
};

/// Node settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of the store (`cairn.redb`).
    pub data_dir: PathBuf,
    /// Chain id of the EIP-712 domain.
    pub chain_id: u64,
    /// Time between blocks when transactions wait.
    pub block_interval: Duration,
    /// Time between empty blocks (so block time advances without traffic).
    pub empty_block_interval: Duration,
    /// Most transactions per block.
    pub max_block_txs: usize,
    /// Most waiting transactions.
    pub mempool_capacity: usize,
    /// Keep the rewards history in the store as blocks commit (the state as of every rewards
    /// interval boundary, as undo rows), for the rewards calculator (`rewards_root`).
    pub record_rewards: bool,
    /// redb's page cache, in bytes.
    pub cache_bytes: usize,
    /// Pruning: keep transactions and receipts of only this many latest blocks (`None`: all).
    pub keep_blocks: Option<u64>,
    /// The HTTP server's timeouts and limits (`crate::http::HttpLimits`, defaults for a public
    /// node).
    pub http: crate::http::HttpLimits,
    /// When blocks are produced.
    pub mining: Mining,
    /// Keep the store in memory: nothing is written to `data_dir` (a throw-away devnet).
    pub in_memory: bool,
    /// Devnet controls (`crate::dev`); `None` refuses them.
    pub dev: Option<crate::dev::DevConfig>,
    /// Browser origins allowed to call the API (CORS): exact origins, or `*` for any; empty:
    /// none (same-origin only).
    pub cors: Vec<String>,
}

/// When the producer makes blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mining {
    /// Every `block_interval` while transactions wait, every `empty_block_interval` otherwise.
    Auto,
    /// One block every interval, transactions or not (anvil's `--block-time`).
    Interval(Duration),
    /// Only when asked (`POST /v1/dev/mine`; anvil's `--no-mining`).
    Manual,
    /// Never by the node: CometBFT decides blocks and drives the app over ABCI (`crate::abci`).
    Consensus,
}

impl Config {
    /// Defaults for a data directory and chain.
    pub fn new(data_dir: PathBuf, chain_id: u64) -> Self {
        Self {
            data_dir,
            chain_id,
            block_interval: Duration::from_millis(200),
            empty_block_interval: Duration::from_secs(5),
            max_block_txs: 5_000,
            mempool_capacity: 100_000,
            record_rewards: false,
            cache_bytes: StoreOptions::default().cache_bytes,
            keep_blocks: None,
            http: crate::http::HttpLimits::default(),
            mining: Mining::Auto,
            in_memory: false,
            dev: None,
            cors: Vec::new(),
        }
    }
}

/// Why a submission is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Stateless checks failed.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The mempool refused it.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// It breaks an admission rule or its sender's budget.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
}

impl SubmitError {
    /// The error's name.
    pub fn name(&self) -> &'static str {
        match self {
            SubmitError::Envelope(e) => e.name(),
            SubmitError::Mempool(e) => e.name(),
            SubmitError::Admission(e) => e.name(),
        }
    }
}

/// An accepted submission.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// Transaction id: keccak256(EIP-712 signing hash ‖ signer).
    #[schema(value_type = String)]
    pub hash: B256,
    /// Recovered signer.
    #[schema(value_type = String)]
    pub sender: Address,
    /// Nonce.
    pub nonce: u64,
}

/// Where a transaction is.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Waiting in the mempool.
    Pending,
    /// In a committed block.
    Committed {
        /// Its receipt.
        receipt: Box<Receipt>,
    },
    /// Left the mempool without being committed; it will not be included (resubmit it).
    Dropped {
        /// Why: expired, evicted, or refused when re-admitted after a restart.
        reason: String,
    },
    /// Not known (never seen, or dropped so long ago that it is forgotten).
    Unknown,
}

/// One event of a committed block, as streamed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventRecord {
    /// Block height.
    pub height: u64,
    /// Transaction position in the block.
    pub tx_index: u32,
    /// Event position in the transaction.
    pub event_index: u32,
    /// Transaction hash.
    #[schema(value_type = String)]
    pub tx_hash: B256,
    /// Event name (`deposit`, `slashed`, ...).
    pub event: String,
    /// The event's fields.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// What a committed block tells subscribers: its header and its events in order.
#[derive(Debug, Clone)]
pub struct CommittedBlock {
    /// The block's header.
    pub header: Header,
    /// Its state-machine events.
    pub events: Vec<EventRecord>,
    /// Transactions that left the mempool uncommitted since the previous block.
    pub dropped: Vec<DroppedTx>,
    /// Not a new block: a devnet revert made `header` the head again (the blocks above it are
    /// gone; what follows reuses their heights).
    pub reverted: bool,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Transactions admitted to the mempool.
    pub txs_admitted: AtomicU64,
    /// Submissions refused.
    pub txs_refused: AtomicU64,
    /// Transactions committed (accepted or refused by the state machine).
    pub txs_committed: AtomicU64,
    /// Committed transactions the state machine refused.
    pub txs_failed: AtomicU64,
    /// Admitted transactions CometBFT's mempool did not take (under CometBFT only).
    pub txs_forward_failed: AtomicU64,
    /// Risk reports computed ahead of a request, one per new block while someone watches.
    pub risk_followed: AtomicU64,
    /// Admitted transactions that left the mempool uncommitted (expired, evicted, not
    /// re-admitted after a restart).
    pub txs_dropped: AtomicU64,
    /// Blocks committed.
    pub blocks: AtomicU64,
    /// Microseconds spent finalizing and committing blocks.
    pub block_micros: AtomicU64,
    /// HTTP requests served.
    pub http_requests: AtomicU64,
    /// Connections refused by the connection caps.
    pub http_refused: AtomicU64,
    /// Requests refused by the per-IP rate limit.
    pub http_rate_limited: AtomicU64,
    /// Requests and event streams shed by the concurrency caps.
    pub http_shed: AtomicU64,
}

/// The node.
#[derive(Debug)]
pub struct Node {
    pub(crate) app: RwLock<App>,
    mempool: Mutex<Mempool>,
    /// Settings.
    pub config: Config,
    events: broadcast::Sender<Arc<CommittedBlock>>,
    pub(crate) committed: watch::Sender<u64>,
    /// Counters.
    pub metrics: Metrics,
    stopping: AtomicBool,
    journal: Mutex<Journal>,
    dropped: Mutex<Dropped>,
    /// Drops not yet announced with a block.
    drops: Mutex<Vec<DroppedTx>>,
    opened: Instant,
    /// Seconds the devnet moved the clock forward (0 elsewhere).
    pub(crate) clock_offset: AtomicU64,
    pub(crate) dev: Option<crate::dev::DevState>,
    rewards_cache: Mutex<Option<Arc<RewardsTree>>>,
    /// Under CometBFT: admitted transactions' bytes on their way to its mempool
    /// (`crate::abci::forward`).
    pub(crate) forward: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Vec<u8>>>,
    /// Under CometBFT: verified transactions by their bytes' hash (`crate::abci`), so a
    /// transaction this node forwards is not verified again when CometBFT checks it.
    pub(crate) tx_cache: Mutex<crate::abci::TxCache>,
    /// The last `/v1/risk` answer: head height, ψ, report (`crate::api_risk`).
    pub(crate) risk_cache: Mutex<Option<(u64, String, Arc<serde_json::Value>)>>,
    /// One more than the head height at the last `/v1/risk` request (0: never asked); while it
    /// is recent, every new block's report is computed ahead of the next request.
    pub(crate) risk_requested: AtomicU64,
}

/// A rewards calculation through a posted root's end, checked against that root.
#[derive(Debug)]
pub struct RewardsTree {
    /// The root's index on chain.
    pub index: u32,
    /// The root.
    pub root: B256,
    /// Its calculation end.
    pub calculation_end: u64,
    /// When it became (or becomes) claimable.
    pub activated_at: u64,
    /// The merkle tree over the cumulative earnings.
    pub tree: cairn_rewards::RewardsTree,
}

/// Memory and disk figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryFigures {
    /// Resident set size of the process (from `/proc/self/status`; 0 where there is none).
    pub rss_bytes: u64,
    /// The store's page cache limit.
    pub cache_limit_bytes: u64,
    /// The store file's size.
    pub store_file_bytes: u64,
}

/// The resident set size of this process, from `/proc/self/status` (Linux), else 0.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb.saturating_mul(1024))
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Node {
    /// Opens the store in `config.data_dir` (resuming, or from `genesis` if new).
    pub fn open(config: Config, genesis: &Genesis) -> Result<Arc<Node>, AppError> {
        if !config.in_memory {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| AppError::Genesis(format!("cannot create {}: {e}", config.data_dir.display())))?;
        }
        let options = StoreOptions {
            cache_bytes: config.cache_bytes,
            history: config.record_rewards,
            keep_blocks: config.keep_blocks,
            in_memory: config.in_memory,
        };
        let app = App::open_with(&config.data_dir.join("cairn.redb"), genesis, config.chain_id, options)?;
        let height = app.head().height;
        let (events, _) = broadcast::channel(1024);
        let (committed, _) = watch::channel(height);
        let (journal, journaled) = if config.in_memory {
            (Journal::in_memory(), Vec::new())
        } else {
            Journal::open(&config.data_dir)
                .map_err(|e| AppError::Genesis(format!("cannot open the mempool journal: {e}")))?
        };
        let dev = config.dev.clone().map(crate::dev::DevState::new);
        let stored = app.store().pool()?;
        let node = Arc::new(Node {
            app: RwLock::new(app),
            mempool: Mutex::new(Mempool::new(config.mempool_capacity)),
            config,
            events,
            committed,
            metrics: Metrics::default(),
            stopping: AtomicBool::new(false),
            journal: Mutex::new(journal),
            dropped: Mutex::default(),
            drops: Mutex::default(),
            opened: Instant::now(),
            clock_offset: AtomicU64::new(0),
            dev,
            rewards_cache: Mutex::default(),
            forward: std::sync::OnceLock::new(),
            tx_cache: Mutex::default(),
            risk_cache: Mutex::default(),
            risk_requested: AtomicU64::new(0),
        });
        node.restore_pool(stored.into_iter().chain(journaled).collect())?;
        Ok(node)
    }

    /// Admits again the transactions that waited when the process stopped (the stored pool and
    /// the journal), in nonce order; those that are refused now are recorded as dropped.
    pub(crate) fn restore_pool(&self, txs: Vec<SignedTx>) -> Result<(), AppError> {
        let domain = self.read(|a| a.domain().clone());
        let mut todo: Vec<Arc<Verified>> = crate::verify_all(&domain, txs).into_iter().flatten().collect();
        todo.sort_by_key(|v| (v.sender, v.nonce));
        let mut seen = std::collections::HashSet::new();
        todo.retain(|v| seen.insert(v.hash));
        todo.retain(|v| !matches!(self.read(|a| a.store().tx_location(&v.hash)), Ok(Some(_))));
        // Admission may depend on another account's waiting transaction (a delegation on the
        // operator's registration): what is refused is tried again while the pool still grows.
        let mut restored = Vec::new();
        loop {
            let before = todo.len();
            let mut refused = Vec::new();
            for v in std::mem::take(&mut todo) {
                let record = postcard::to_allocvec(&v.signed).unwrap_or_default();
                match self.admit(Ok(Arc::clone(&v)), true) {
                    Ok(_) => restored.push((v.hash, record)),
                    Err(e) => refused.push((v, e)),
                }
            }
            if refused.is_empty() || refused.len() == before {
                for (v, e) in refused {
                    self.record_drop(DroppedTx {
                        hash: v.hash,
                        reason: format!("not admitted again after a restart: {e}"),
                    });
                }
                break;
            }
            todo = refused.into_iter().map(|(v, _)| v).collect();
        }
        // The store's pool becomes what was admitted again, durably, before the old journals go.
        self.read(|a| a.store().set_pool(&restored))?;
        self.lock_journal().forget_old();
        Ok(())
    }

    pub(crate) fn lock_journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record_drop(&self, d: DroppedTx) {
        self.metrics.txs_dropped.fetch_add(1, Relaxed);
        self.dropped.lock().unwrap_or_else(|p| p.into_inner()).insert(&d);
        self.drops.lock().unwrap_or_else(|p| p.into_inner()).push(d);
    }

    /// Journals admissions (so a killed process keeps them) and records the evictions they caused.
    fn journal_admissions(&self, admitted: Vec<(B256, Vec<u8>)>, evicted: Vec<B256>) {
        let mut journal = self.lock_journal();
        if let Err(e) = journal.admitted(admitted) {
            eprintln!("cairn node: cannot journal admitted transactions: {e}");
        }
        for gone in &evicted {
            journal.removed(*gone);
        }
        drop(journal);
        for gone in evicted {
            self.record_drop(DroppedTx { hash: gone, reason: "evicted: the mempool was full".into() });
        }
    }

    /// Starts an empty data directory from a state snapshot (the bytes `/v1/snapshot` serves),
    /// checked against its own state hash; `Node::open` then resumes from it. Returns the head.
    pub fn restore_snapshot(
        config: &Config,
        genesis: &Genesis,
        bytes: &[u8],
    ) -> Result<Header, crate::store::RestoreError> {
        use crate::store::RestoreError::Load;
        let snap: crate::store::StateSnapshot = postcard::from_bytes(bytes).map_err(|e| Load(e.to_string()))?;
        if snap.chain_id != config.chain_id {
            let msg = format!("the snapshot is of chain {}, this node runs chain {}", snap.chain_id, config.chain_id);
            return Err(Load(msg));
        }
        let ours = alloy_primitives::keccak256(postcard::to_allocvec(genesis).map_err(|e| Load(e.to_string()))?);
        if snap.genesis != ours {
            return Err(Load(format!(
                "the snapshot's chain started from genesis {}, this node's from {ours}",
                snap.genesis
            )));
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|e| StoreError::Db(e.to_string()))?;
        let options =
            StoreOptions { cache_bytes: config.cache_bytes, history: false, keep_blocks: None, in_memory: false };
        let store = crate::store::Store::open(&config.data_dir.join("cairn.redb"), options)?;
        store.restore(&snap)?;
        Ok(snap.head)
    }

    /// The node's clock in unix seconds: the wall clock, moved forward on a devnet by
    /// `POST /v1/dev/time`. Block times and expiry checks use it.
    pub fn now(&self) -> u64 {
        unix_now().saturating_add(self.clock_offset.load(Relaxed))
    }

    /// Runs `f` with read access to the app (state, head, store).
    pub fn read<R>(&self, f: impl FnOnce(&App) -> R) -> R {
        let app = self.app.read().unwrap_or_else(|p| p.into_inner());
        f(&app)
    }

    pub(crate) fn mempool(&self) -> std::sync::MutexGuard<'_, Mempool> {
        self.mempool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of waiting transactions.
    pub fn mempool_len(&self) -> usize {
        self.mempool().len()
    }

    /// Memory the waiting transactions take (`mempool::footprint`).
    pub fn mempool_bytes(&self) -> usize {
        self.mempool().bytes()
    }

    /// An account's committed next nonce and the next one free after its waiting transactions.
    pub fn nonces(&self, a: &Address) -> (u64, u64) {
        let app = self.app.read().unwrap_or_else(|p| p.into_inner());
        let next = app.next_nonce(a);
        let pending = self.mempool().contiguous_end(a, next);
        (next, pending)
    }

    /// Verifies and admits one transaction.
    pub fn submit(&self, signed: SignedTx) -> Result<Submitted, SubmitError> {
        let domain = self.read(|a| a.domain().clone());
        let verified = domain.verify(signed).map(Arc::new);
        self.admit(verified, true)
    }

    /// Verifies (on the verification pool) and admits a batch, keeping order.
    pub fn submit_batch(&self, batch: Vec<SignedTx>) -> Vec<Result<Submitted, SubmitError>> {
        let domain = self.read(|a| a.domain().clone());
        let verified = crate::verify_all(&domain, batch);
        self.admit_all(verified, true)
    }

    /// Admits a verified transaction to the mempool; with `forward`, a node under CometBFT also
    /// hands it to CometBFT's mempool (not when CometBFT itself asked, in `CheckTx`).
    pub(crate) fn admit(
        &self,
        verified: Result<Arc<Verified>, EnvelopeError>,
        forward: bool,
    ) -> Result<Submitted, SubmitError> {
        let mut results = self.admit_all(vec![verified], forward);
        results.pop().unwrap_or_else(|| unreachable!("one result per transaction"))
    }

    /// [`Node::admit`] for many, in order, under one acquisition of the locks and with one
    /// journal write: a batch of 500 costs one `write`, not 500.
    pub(crate) fn admit_all(
        &self,
        verified: Vec<Result<Arc<Verified>, EnvelopeError>>,
        forward: bool,
    ) -> Vec<Result<Submitted, SubmitError>> {
        let now = self.now();
        // Encoded before the locks are taken: only admissions wait on them.
        let checked: Vec<_> = verified
            .into_iter()
            .map(|v| {
                let v = v?;
                check_expiry(v.expiry, now)?;
                let record = postcard::to_allocvec(&v.signed).unwrap_or_default();
                Ok::<_, SubmitError>((v, record))
            })
            .collect();
        let mut results = Vec::with_capacity(checked.len());
        let mut journaled = Vec::with_capacity(checked.len());
        let mut evictions = Vec::new();
        // The rules are checked, the nonce read and the transaction admitted under the app's
        // read lock and one mempool lock: a block (which holds the write lock through commit
        // and the mempool's `advance`) cannot land in between and leave a stale transaction
        // waiting, nor can another submission slip past a bound.
        let app = self.app.read().unwrap_or_else(|p| p.into_inner());
        {
            let mut pool = self.mempool();
            for item in checked {
                let admitted = item.and_then(|(v, record)| {
                    let next = app.next_nonce(&v.sender);
                    let rules = crate::admission::check(app.state(), &pool, &v, next)?;
                    let evicted = pool.insert(Arc::clone(&v), next, rules.budgeted)?;
                    Ok((v, record, evicted))
                });
                results.push(admitted.map(|(v, record, evicted)| {
                    evictions.extend(evicted);
                    let out = Submitted { hash: v.hash, sender: v.sender, nonce: v.nonce };
                    journaled.push((v, record));
                    out
                }));
            }
        }
        if forward && let Some(to) = self.forward.get() {
            let mut cache = self.tx_cache.lock().unwrap_or_else(|p| p.into_inner());
            for (v, record) in &journaled {
                cache.insert(alloy_primitives::keccak256(record), Arc::clone(v));
                // In admission order: the forwarder keeps it, so one sender's nonces stay in order.
                let _ = to.send(record.clone());
            }
        }
        // Journaled before the read lock is released, so the next block's cut is exact.
        self.journal_admissions(journaled.into_iter().map(|(v, record)| (v.hash, record)).collect(), evictions);
        drop(app);
        let admitted = results.iter().filter(|r| r.is_ok()).count() as u64;
        self.metrics.txs_admitted.fetch_add(admitted, Relaxed);
        self.metrics.txs_refused.fetch_add(results.len() as u64 - admitted, Relaxed);
        results
    }

    /// Where a transaction is. The mempool is asked first: a block leaves it only after its
    /// commit, so a transaction missing from both was never admitted or has expired.
    pub fn status(&self, hash: &B256) -> Result<TxStatus, AppError> {
        if self.mempool().contains(hash) {
            return Ok(TxStatus::Pending);
        }
        let stored = self.read(|a| match a.store().tx_location(hash)? {
            Some((height, index)) => a.store().receipt(height, index),
            None => Ok(None),
        })?;
        if let Some(r) = stored {
            return Ok(TxStatus::Committed { receipt: Box::new(r) });
        }
        let dropped = self.dropped.lock().unwrap_or_else(|p| p.into_inner());
        Ok(dropped.reason(hash).map_or(TxStatus::Unknown, |r| TxStatus::Dropped { reason: r.to_owned() }))
    }

    /// Waits until `hash` is committed or `timeout` passes; returns its last status.
    pub async fn wait_committed(&self, hash: B256, timeout: Duration) -> Result<TxStatus, AppError> {
        let mut rx = self.committed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let status = self.status(&hash)?;
            if !matches!(status, TxStatus::Pending) {
                return Ok(status);
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return Ok(status);
            }
        }
    }

    /// Announces a devnet revert to the block feed's subscribers.
    pub(crate) fn announce_revert(&self, head: Header) {
        let _ = self.events.send(Arc::new(CommittedBlock {
            header: head,
            events: Vec::new(),
            dropped: Vec::new(),
            reverted: true,
        }));
    }

    /// A receiver of committed blocks (header and events).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        self.events.subscribe()
    }

    /// Builds, executes and commits one block from the mempool at unix time `now` (also when
    /// empty). Returns its header.
    pub fn produce_block(&self, now: u64) -> Result<Header, AppError> {
        self.produce(now, true)
    }

    /// [`Node::produce_block`]; with `durable` false the commit is not fsync'd (it becomes durable
    /// with the next durable one) and the mempool journal's older generations are kept until
    /// then, so a crash loses no admitted transaction.
    pub(crate) fn produce(&self, now: u64, durable: bool) -> Result<Header, AppError> {
        let started = Instant::now();
        let mut app = self.app.write().unwrap_or_else(|p| p.into_inner());
        let time = now.max(app.head().time);
        let (candidates, expired) = self.mempool().ready(self.config.max_block_txs, time, |a| app.next_nonce(a));
        let txs = app.prepare_proposal(candidates, time, self.config.max_block_txs);
        let finalized = app.finalize_block(time, &txs)?;
        self.commit_finalized(&mut app, finalized, expired, durable, started)
    }

    /// Commits a finalized block under the app's write lock, with the mempool's changes since
    /// the previous block; then advances the mempool, records `expired` as dropped, counts and
    /// announces the block. Shared by the producer and the ABCI `Commit`.
    pub(crate) fn commit_finalized(
        &self,
        app: &mut App,
        finalized: crate::app::Finalized,
        expired: Vec<B256>,
        durable: bool,
        started: Instant,
    ) -> Result<Header, AppError> {
        let time = finalized.block.header.time;
        // Admissions wait on the app lock held here, so the journal's cut is exact.
        let (fresh, mut gone) =
            self.lock_journal().rotate().map_err(|e| StoreError::Db(format!("mempool journal: {e}")))?;
        gone.extend(&expired);
        app.commit_durably(&finalized, &fresh, &gone, durable)?;
        if durable {
            self.lock_journal().forget_old();
        }
        for hash in expired {
            self.record_drop(DroppedTx {
                hash,
                reason: format!("expired before block {} at {time}", finalized.block.header.height),
            });
        }
        let header = finalized.block.header.clone();
        {
            let mut pool = self.mempool();
            for r in &finalized.receipts {
                pool.advance(r.sender, app.next_nonce(&r.sender));
            }
        }
        let failed = finalized.receipts.iter().filter(|r| !r.ok).count();
        self.metrics.txs_committed.fetch_add(finalized.receipts.len() as u64, Relaxed);
        self.metrics.txs_failed.fetch_add(failed as u64, Relaxed);
        self.metrics.blocks.fetch_add(1, Relaxed);
        self.metrics.block_micros.fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        self.committed.send_replace(header.height);
        let dropped = std::mem::take(&mut *self.drops.lock().unwrap_or_else(|p| p.into_inner()));
        let events = event_records(finalized.receipts);
        let _ = self.events.send(Arc::new(CommittedBlock { header: header.clone(), events, dropped, reverted: false }));
        Ok(header)
    }

    /// Produces blocks until `stop` is called, as `config.mining` says (`Mining::Manual`: none).
    /// A store failure ends the process (memory would be ahead of disk).
    pub fn spawn_producer(self: &Arc<Self>) -> std::thread::JoinHandle<()> {
        let node = Arc::clone(self);
        std::thread::spawn(move || {
            let mut last = Instant::now();
            let tick = match node.config.mining {
                Mining::Auto => node.config.block_interval,
                Mining::Interval(every) => every.min(Duration::from_millis(100)),
                Mining::Manual | Mining::Consensus => Duration::from_millis(100),
            };
            // After a full block the next one follows at once in `Mining::Auto`: the interval
            // gathers arrivals into a block, and a backlog of a block or more has nothing to
            // wait for. A block short of the limit sends the producer back to its interval.
            let mut full = false;
            while !node.stopping.load(Relaxed) {
                if !(full && node.config.mining == Mining::Auto) {
                    std::thread::sleep(tick);
                }
                full = false;
                let due = match node.config.mining {
                    Mining::Auto => node.mempool_len() > 0 || last.elapsed() >= node.config.empty_block_interval,
                    Mining::Interval(every) => last.elapsed() >= every,
                    Mining::Manual | Mining::Consensus => false,
                };
                if !due {
                    continue;
                }
                // A failed or panicking block leaves memory ahead of the store: stop the process
                // (a restart resumes from the last committed block) rather than serve it.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| node.produce_block(node.now()))) {
                    Ok(Ok(header)) => {
                        let limit = node.config.max_block_txs;
                        full = limit > 0 && header.tx_count as usize >= limit;
                    }
                    Ok(Err(e)) => {
                        eprintln!("cairn node: block production failed, stopping: {e}");
                        std::process::exit(2);
                    }
                    Err(_) => {
                        eprintln!("cairn node: block production panicked, stopping");
                        std::process::exit(3);
                    }
                }
                last = Instant::now();
            }
        })
    }

    /// The rewards calculation through `end` (an interval boundary) over the stored history:
    /// the distribution root to post. `None` when recording is off or nothing was earned.
    pub fn rewards_root(&self, end: u64) -> Option<Result<B256, String>> {
        let calc = match self.calculate_rewards(|_| Some(end))? {
            Ok((c, _)) => c,
            Err(e) => return Some(Err(e)),
        };
        if calc.earnings.is_empty() {
            return None;
        }
        Some(Ok(self.read(|a| calc.tree(a.state()).root())))
    }

    /// Claims for `earners` against the latest posted root (index and calculation end taken from
    /// the chain): the calculation through that end over the stored history, with proofs.
    /// Earners with nothing in the tree are left out; `None` when recording is off or no root
    /// was posted.
    pub fn rewards_claims(&self, earners: &[Address]) -> Option<Result<Vec<RewardsClaim>, String>> {
        let (calc, posted) =
            match self.calculate_rewards(|s| s.distribution_roots().last().map(|r| r.calculation_end))? {
                Ok(x) => x,
                Err(e) => return Some(Err(e)),
            };
        let (tree, roots) = self.read(|a| (calc.tree(a.state()), a.state().distribution_roots()));
        let index = roots.iter().rposition(|r| r.calculation_end == calc.end && r.root == tree.root());
        let Some(index) = index.and_then(|i| u32::try_from(i).ok()) else {
            let root = roots.last().map(|r| r.root).unwrap_or_default();
            return Some(Err(format!(
                "the stored history gives root {} for {}, the chain posted {root} (latest of {}, through {})",
                tree.root(),
                calc.end,
                roots.len(),
                posted
            )));
        };
        Some(Ok(earners.iter().filter_map(|e| tree.claim(index, *e, None)).collect()))
    }

    /// The calculation behind the claimable root: the latest posted root that is not disabled
    /// and is active at the node's clock, recomputed over the stored history and checked against
    /// the root (cached per root). `None` when recording is off or no root is claimable yet.
    pub fn claimable_tree(&self) -> Option<Result<Arc<RewardsTree>, String>> {
        let now = self.now();
        let (index, root) = self.read(|a| {
            let roots = a.state().distribution_roots();
            let i = roots.iter().rposition(|r| !r.disabled && r.activated_at <= now)?;
            Some((u32::try_from(i).ok()?, roots[i]))
        })?;
        let cache = || self.rewards_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = cache().as_ref().filter(|t| t.index == index && t.root == root.root) {
            return Some(Ok(Arc::clone(t)));
        }
        let calc = match self.calculate_rewards(|_| Some(root.calculation_end))? {
            Ok((c, _)) => c,
            Err(e) => return Some(Err(e)),
        };
        let tree = self.read(|a| calc.tree(a.state()));
        if tree.root() != root.root {
            return Some(Err(format!(
                "the stored history gives root {} through {}, the chain's root {index} is {}",
                tree.root(),
                root.calculation_end,
                root.root
            )));
        }
        let built = Arc::new(RewardsTree {
            index,
            root: root.root,
            calculation_end: root.calculation_end,
            activated_at: root.activated_at,
            tree,
        });
        *cache() = Some(Arc::clone(&built));
        Some(Ok(built))
    }

    /// Runs the rewards calculation through the end `pick` chooses from the state, over a
    /// consistent read of the store taken under the app lock and computed outside it (blocks
    /// keep committing meanwhile). Returns the calculation and its end.
    pub(crate) fn calculate_rewards(
        &self,
        pick: impl FnOnce(&cairn_state::State) -> Option<u64>,
    ) -> Option<Result<(cairn_rewards::Calculation, u64), String>> {
        if !self.config.record_rewards {
            return None;
        }
        let (end, submissions, interval, history) = {
            let app = self.app.read().unwrap_or_else(|p| p.into_inner());
            let end = pick(app.state())?;
            let interval = app.state().params().rewards_interval_seconds;
            (end, app.state().submissions(), interval, app.store().read())
        };
        let history = match history {
            Ok(h) => h,
            Err(e) => return Some(Err(e.to_string())),
        };
        Some(calculate(&submissions, &history, interval, end).map(|c| (c, end)).map_err(|e| e.to_string()))
    }

    /// Seconds since the store was opened.
    pub fn uptime_seconds(&self) -> u64 {
        self.opened.elapsed().as_secs()
    }

    /// Memory and disk figures now.
    pub fn memory(&self) -> MemoryFigures {
        let file = self.config.data_dir.join("cairn.redb");
        MemoryFigures {
            rss_bytes: rss_bytes(),
            cache_limit_bytes: self.config.cache_bytes as u64,
            store_file_bytes: std::fs::metadata(file).map_or(0, |m| m.len()),
        }
    }

    /// Asks the producer to stop after its current block.
    pub fn stop(&self) {
        self.stopping.store(true, Relaxed);
    }
}

/// An expiry a transaction may be admitted with at `now`: not past, and at most
/// [`crate::envelope::MAX_EXPIRY_SECONDS`] ahead.
fn check_expiry(expiry: u64, now: u64) -> Result<(), EnvelopeError> {
    if expiry < now {
        return Err(EnvelopeError::Expired { expiry, now });
    }
    let max_ahead = crate::envelope::MAX_EXPIRY_SECONDS;
    if expiry > now.saturating_add(max_ahead) {
        return Err(EnvelopeError::ExpiryTooFar { expiry, now, max_ahead });
    }
    Ok(())
}

/// The stream records of committed receipts: every event with its position. The receipts are
/// consumed, so each event moves into its record rather than being copied.
pub(crate) fn event_records(receipts: Vec<Receipt>) -> Vec<EventRecord> {
    let mut out = Vec::with_capacity(receipts.iter().map(|r| r.events.len()).sum());
    for r in receipts {
        for (i, data) in r.events.into_iter().enumerate() {
            let name = data.get("event").and_then(|v| v.as_str()).unwrap_or("unknown").to_owned();
            out.push(EventRecord {
                height: r.height,
                tx_index: r.index,
                event_index: u32::try_from(i).unwrap_or(u32::MAX),
                tx_hash: r.tx_hash,
                event: name,
                data,
            });
        }
    }
    out
}

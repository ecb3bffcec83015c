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
use cairn_rewards::{Recorder, calculate};
use cairn_state::{Genesis, rewards::RewardsClaim};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::{
    admission::AdmissionError,
    app::{App, AppError},
    block::{Header, Receipt},
    envelope::{EnvelopeError, SignedTx, Verified},
    mempool::{Mempool, MempoolError},
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
    /// Record the state at every rewards interval boundary for the rewards calculator
    /// (`rewards_root`). The history is in memory; a resumed node rebuilds it by replaying its
    /// stored blocks.
    pub record_rewards: bool,
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
    /// Not known (never seen, evicted or expired).
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
    /// Blocks committed.
    pub blocks: AtomicU64,
    /// Microseconds spent finalizing and committing blocks.
    pub block_micros: AtomicU64,
    /// HTTP requests served.
    pub http_requests: AtomicU64,
}

/// The node.
#[derive(Debug)]
pub struct Node {
    app: RwLock<App>,
    mempool: Mutex<Mempool>,
    /// Settings.
    pub config: Config,
    events: broadcast::Sender<Arc<CommittedBlock>>,
    committed: watch::Sender<u64>,
    /// Counters.
    pub metrics: Metrics,
    stopping: AtomicBool,
    rewards: Mutex<Option<Recorder>>,
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Node {
    /// Opens the store in `config.data_dir` (resuming, or from `genesis` if new).
    pub fn open(config: Config, genesis: &Genesis) -> Result<Arc<Node>, AppError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| AppError::Genesis(format!("cannot create {}: {e}", config.data_dir.display())))?;
        let app = App::open(&config.data_dir.join("cairn.redb"), genesis, config.chain_id)?;
        let height = app.head().height;
        let (events, _) = broadcast::channel(1024);
        let (committed, _) = watch::channel(height);
        let rewards = match (config.record_rewards, app.head().height) {
            (false, _) => None,
            (true, 0) => Some(Recorder::new(app.state().params().rewards_interval_seconds, unix_now())),
            (true, _) => Some(rewards_history(&app, genesis)?),
        };
        Ok(Arc::new(Node {
            app: RwLock::new(app),
            mempool: Mutex::new(Mempool::new(config.mempool_capacity)),
            config,
            events,
            committed,
            metrics: Metrics::default(),
            stopping: AtomicBool::new(false),
            rewards: Mutex::new(rewards),
        }))
    }

    /// Runs `f` with read access to the app (state, head, store).
    pub fn read<R>(&self, f: impl FnOnce(&App) -> R) -> R {
        let app = self.app.read().unwrap_or_else(|p| p.into_inner());
        f(&app)
    }

    fn mempool(&self) -> std::sync::MutexGuard<'_, Mempool> {
        self.mempool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of waiting transactions.
    pub fn mempool_len(&self) -> usize {
        self.mempool().len()
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
        let verified = domain.verify(signed);
        self.admit(verified)
    }

    /// Verifies (on every core) and admits a batch, keeping order.
    pub fn submit_batch(&self, batch: Vec<SignedTx>) -> Vec<Result<Submitted, SubmitError>> {
        let domain = self.read(|a| a.domain().clone());
        crate::verify_all(&domain, batch).into_iter().map(|v| self.admit(v)).collect()
    }

    fn admit(&self, verified: Result<Verified, EnvelopeError>) -> Result<Submitted, SubmitError> {
        let result = verified.map_err(SubmitError::from).and_then(|v| {
            let now = unix_now();
            if v.expiry < now {
                return Err(EnvelopeError::Expired { expiry: v.expiry, now }.into());
            }
            let max_ahead = crate::envelope::MAX_EXPIRY_SECONDS;
            if v.expiry > now.saturating_add(max_ahead) {
                return Err(EnvelopeError::ExpiryTooFar { expiry: v.expiry, now, max_ahead }.into());
            }
            let out = Submitted { hash: v.hash, sender: v.sender, nonce: v.nonce };
            // The rules are checked, the nonce read and the transaction admitted under the app's
            // read lock and one mempool lock: a block (which holds the write lock through commit
            // and the mempool's `advance`) cannot land in between and leave a stale transaction
            // waiting, nor can another submission slip past a bound.
            let app = self.app.read().unwrap_or_else(|p| p.into_inner());
            let mut pool = self.mempool();
            let admitted = crate::admission::check(app.state(), &pool, &v)?;
            let next = app.next_nonce(&v.sender);
            pool.insert(v, next, admitted.budgeted)?;
            drop(pool);
            drop(app);
            Ok(out)
        });
        let counter = if result.is_ok() { &self.metrics.txs_admitted } else { &self.metrics.txs_refused };
        counter.fetch_add(1, Relaxed);
        result
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
        Ok(stored.map_or(TxStatus::Unknown, |r| TxStatus::Committed { receipt: Box::new(r) }))
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

    /// A receiver of committed blocks (header and events).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        self.events.subscribe()
    }

    /// Builds, executes and commits one block from the mempool at unix time `now` (also when
    /// empty). Returns its header.
    pub fn produce_block(&self, now: u64) -> Result<Header, AppError> {
        let started = Instant::now();
        let mut app = self.app.write().unwrap_or_else(|p| p.into_inner());
        let time = now.max(app.head().time);
        let (candidates, _expired) = self.mempool().ready(self.config.max_block_txs, time, |a| app.next_nonce(a));
        let txs = app.prepare_proposal(candidates, time, self.config.max_block_txs);
        if let Some(rec) = self.rewards.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            rec.advance(app.state(), app.head().height.saturating_add(1), time);
        }
        let finalized = app.finalize_block(time, &txs)?;
        app.commit(&finalized)?;
        let header = finalized.block.header.clone();
        {
            let mut pool = self.mempool();
            for r in &finalized.receipts {
                pool.advance(r.sender, app.next_nonce(&r.sender));
            }
        }
        drop(app);
        let failed = finalized.receipts.iter().filter(|r| !r.ok).count();
        self.metrics.txs_committed.fetch_add(finalized.receipts.len() as u64, Relaxed);
        self.metrics.txs_failed.fetch_add(failed as u64, Relaxed);
        self.metrics.blocks.fetch_add(1, Relaxed);
        self.metrics.block_micros.fetch_add(started.elapsed().as_micros() as u64, Relaxed);
        self.committed.send_replace(header.height);
        let _ = self
            .events
            .send(Arc::new(CommittedBlock { header: header.clone(), events: event_records(&finalized.receipts) }));
        Ok(header)
    }

    /// Produces blocks until `stop` is called: every `block_interval` when transactions wait,
    /// every `empty_block_interval` otherwise. A store failure ends the process (memory would
    /// be ahead of disk).
    pub fn spawn_producer(self: &Arc<Self>) -> std::thread::JoinHandle<()> {
        let node = Arc::clone(self);
        std::thread::spawn(move || {
            let mut last = Instant::now();
            while !node.stopping.load(Relaxed) {
                std::thread::sleep(node.config.block_interval);
                if node.mempool_len() == 0 && last.elapsed() < node.config.empty_block_interval {
                    continue;
                }
                // A failed or panicking block leaves memory ahead of the store: stop the process
                // (a restart resumes from the last committed block) rather than serve it.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| node.produce_block(unix_now()))) {
                    Ok(Ok(_)) => {}
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

    /// The rewards calculation through `end` (an interval boundary) over the recorded history:
    /// the distribution root to post. `None` when recording is off or nothing was earned.
    pub fn rewards_root(&self, end: u64) -> Option<Result<B256, String>> {
        // Lock order everywhere: app, then mempool or rewards.
        let app = self.app.read().unwrap_or_else(|p| p.into_inner());
        let rec = self.rewards.lock().unwrap_or_else(|p| p.into_inner());
        let rec = rec.as_ref()?;
        let state = app.state();
        match calculate(&state.submissions(), rec.snapshots(), rec.interval(), end) {
            Ok(c) if c.earnings.is_empty() => None,
            Ok(c) => Some(Ok(c.tree(state).root())),
            Err(e) => Some(Err(e.to_string())),
        }
    }

    /// Claims for `earners` against the latest posted root (index and calculation end taken from
    /// the chain): the calculation through that end over the recorded history, with proofs.
    /// Earners with nothing in the tree are left out; `None` when recording is off or no root
    /// was posted.
    pub fn rewards_claims(&self, earners: &[Address]) -> Option<Result<Vec<RewardsClaim>, String>> {
        let app = self.app.read().unwrap_or_else(|p| p.into_inner());
        let rec = self.rewards.lock().unwrap_or_else(|p| p.into_inner());
        let rec = rec.as_ref()?;
        let state = app.state();
        let roots = state.distribution_roots();
        let index = u32::try_from(roots.len().checked_sub(1)?).ok()?;
        let posted = roots.last()?;
        match calculate(&state.submissions(), rec.snapshots(), rec.interval(), posted.calculation_end) {
            Ok(c) => {
                let tree = c.tree(state);
                if tree.root() != posted.root {
                    return Some(Err(format!(
                        "the recorded history gives root {} for {}, the chain posted {}",
                        tree.root(),
                        posted.calculation_end,
                        posted.root
                    )));
                }
                Some(Ok(earners.iter().filter_map(|e| tree.claim(index, *e, None)).collect()))
            }
            Err(e) => Some(Err(e.to_string())),
        }
    }

    /// Asks the producer to stop after its current block.
    pub fn stop(&self) {
        self.stopping.store(true, Relaxed);
    }
}

/// Rebuilds the rewards history of a resumed chain by replaying its stored blocks from genesis
/// in memory (the recorder sees the state before each block, as `produce_block` shows it), and
/// checks that the replay ends at the loaded state.
fn rewards_history(app: &App, genesis: &Genesis) -> Result<Recorder, AppError> {
    let mut state = cairn_state::State::genesis(genesis).map_err(|e| AppError::Genesis(e.to_string()))?;
    let interval = state.params().rewards_interval_seconds;
    let head = app.head().height;
    let mut rec: Option<Recorder> = None;
    for height in 1..=head {
        let block =
            app.store().block(height)?.ok_or_else(|| AppError::Genesis(format!("block {height} is missing")))?;
        let time = block.header.time;
        rec.get_or_insert_with(|| Recorder::new(interval, time)).advance(&state, height, time);
        for (index, v) in crate::verify_all(app.domain(), block.txs).into_iter().enumerate() {
            let v = v.map_err(|e| AppError::Genesis(format!("block {height} transaction {index}: {e}")))?;
            // Refused transactions are part of the history and change nothing.
            let _ = state.apply(&cairn_state::Ctx { sender: v.sender, block: height, time }, &v.tx);
        }
    }
    if state.state_hash() != app.state().state_hash() {
        return Err(AppError::Genesis(format!(
            "replaying {head} blocks for the rewards history diverged from the store"
        )));
    }
    Ok(rec.unwrap_or_else(|| Recorder::new(interval, unix_now())))
}

fn event_records(receipts: &[Receipt]) -> Vec<EventRecord> {
    let mut out = Vec::new();
    for r in receipts {
        for (i, e) in r.events.iter().enumerate() {
            let name = e.get("event").and_then(|v| v.as_str()).unwrap_or("unknown").to_owned();
            out.push(EventRecord {
                height: r.height,
                tx_index: r.index,
                event_index: u32::try_from(i).unwrap_or(u32::MAX),
                tx_hash: r.tx_hash,
                event: name,
                data: e.clone(),
            });
        }
    }
    out
}

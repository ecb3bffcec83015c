//! The node's redb store: blocks, transactions, receipts and the state, one write transaction
//! per block (redb's default durability: one fsync per commit, checksummed, a torn commit is
//! rolled back on open). Every table and key encoding of the node lives here.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    path::Path,
    sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use alloy_primitives::{Address, B256};
use cairn_rewards::{CalcError, Snapshot, SnapshotSource};
use cairn_state::{State, persist::Changes};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::block::{Block, Header, Receipt};

/// Scalars: `chain_id`, `genesis` (keccak256 of the postcard genesis), `head` (postcard `Header`).
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
/// Height → postcard `Block`.
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Transaction hash → (height, index), for the heights up to `meta.indexed_through` (the later
/// ones are in `Store::recent`).
const TX_INDEX: TableDefinition<'_, &[u8], (u64, u32)> = TableDefinition::new("tx_index");
/// (height, index) → receipt JSON.
const RECEIPTS: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("receipts");
/// (keyspace, postcard key) → postcard value: the state machine's rows (`cairn_state::persist`)
/// and the node's nonces (keyspace `NONCES`).
const STATE: TableDefinition<'_, (u8, &[u8]), &[u8]> = TableDefinition::new("state");

/// (day, keyspace, key) → the state row as it was at the start of `day` (`None`: absent), written
/// when the row first changes in the rewards interval that starts at `day` (an undo log). The
/// state at the start of day `D` is the current state with, for each row, the entry of the
/// smallest day ≥ `D` laid over it. Kept only when the node records rewards history.
const HISTORY: TableDefinition<'_, HistoryKey<'_>, Option<&[u8]>> = TableDefinition::new("history");
/// (day, keyspace, key) of a history row.
type HistoryKey<'a> = (u64, u8, &'a [u8]);
/// Day boundary → the last block dated before it (the height the rewards calculation reads
/// allocations at): one row per boundary the chain crossed while recording history.
const DAYS: TableDefinition<'_, u64, u64> = TableDefinition::new("days");

/// Transaction id → postcard `SignedTx`: the mempool as of the latest block (the journal holds
/// what was admitted after it).
const POOL: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("pool");

/// (sender, height, index) → (): every committed transaction by its signer, for an account's
/// history, up to `meta.indexed_through` as `TX_INDEX`. Pruned with the bodies.
const ACCOUNT_TXS: TableDefinition<'_, (&[u8], u64, u32), ()> = TableDefinition::new("account_txs");

/// Keyspace of account nonces in `STATE` (the state machine numbers its tables from 0 upward).
pub const NONCES: u8 = 255;

/// How the store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// redb's page cache, in bytes (its own default is 1 GiB).
    pub cache_bytes: usize,
    /// Keep the rewards history (`HISTORY`, `DAYS`) as blocks commit.
    pub history: bool,
    /// Pruning: keep the transactions and receipts of only this many latest blocks (headers and
    /// state are always kept); `None` keeps everything (an archive node).
    pub keep_blocks: Option<u64>,
    /// Keep everything in memory (a throw-away devnet): nothing is written to disk.
    pub in_memory: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { cache_bytes: 64 << 20, history: false, keep_blocks: None, in_memory: false }
    }
}

/// Most heights one commit prunes, so turning pruning on for a long chain spreads the work.
const PRUNE_PER_BLOCK: u64 = 16;

/// Committed transactions the in-memory index gathers before the commit that writes them to
/// `TX_INDEX` and `ACCOUNT_TXS` in one sorted batch. Both are keyed at random (a hash, a
/// sender), so indexing every block dirtied a page per transaction in each; a batch this size
/// writes each page once, and rebuilding it from the receipts at open takes ~0.1 s.
const INDEX_BATCH: usize = 32_768;

/// The committed transactions above `meta.indexed_through`: their index entries, kept in memory
/// until a commit writes them in one sorted batch (reth's transaction-lookup stage does the same).
/// Rebuilt from the stored receipts at open, so it is never the only copy of anything.
#[derive(Debug, Default)]
struct Recent {
    /// Transaction hash → (height, index).
    txs: HashMap<B256, (u64, u32)>,
    /// (sender, height, index).
    accounts: BTreeSet<(Address, u64, u32)>,
    /// The lowest height held (`u64::MAX` when empty).
    lowest: u64,
}

impl Recent {
    fn new() -> Self {
        Self { lowest: u64::MAX, ..Self::default() }
    }

    fn add(&mut self, tx_hash: B256, sender: Address, height: u64, index: u32) {
        self.txs.insert(tx_hash, (height, index));
        self.accounts.insert((sender, height, index));
        self.lowest = self.lowest.min(height);
    }

    /// Forgets the entries of heights at or below `last` (pruned).
    fn drop_through(&mut self, last: u64) {
        if last >= self.lowest {
            self.txs.retain(|_, (h, _)| *h > last);
            self.accounts.retain(|(_, h, _)| *h > last);
            self.lowest = self.accounts.iter().map(|(_, h, _)| *h).min().unwrap_or(u64::MAX);
        }
    }
}

/// The fields of a stored receipt (JSON) its index entries are made of.
#[derive(serde::Deserialize)]
struct Indexed {
    tx_hash: B256,
    sender: Address,
}

/// A store failure: the node stops rather than continue without its log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb reported an error.
    #[error("store: {0}")]
    Db(String),
    /// The store's state rows are laid out as another version wrote them.
    #[error(
        "store: its state rows are in layout {}, this node reads layout {reads}: start the node again from genesis in a new data directory",
        found.map_or_else(|| "1 (unnumbered)".to_owned(), |f| f.to_string())
    )]
    Layout {
        /// The layout the store records (`None`: written before layouts were numbered).
        found: Option<u32>,
        /// The layout this node reads and writes.
        reads: u32,
    },
    /// Stored bytes do not decode.
    #[error("store: corrupt {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
}

/// The layout of the state rows this node writes: 2 since histories are stored one row per
/// entry (issue 17). Bumped by any change that makes older rows unreadable.
pub const LAYOUT: u32 = 2;

/// Records [`LAYOUT`] in a store without a chain; refuses a chain written in another layout.
fn check_layout(w: &redb::WriteTransaction) -> Result<(), StoreError> {
    let mut meta = w.open_table(META).map_err(dberr)?;
    let found = meta.get("layout").map_err(dberr)?.map(|v| postcard::from_bytes::<u32>(v.value()));
    let found = found.transpose().map_err(corrupt("layout"))?;
    if meta.get("head").map_err(dberr)?.is_some() {
        return match found {
            Some(LAYOUT) => Ok(()),
            found => Err(StoreError::Layout { found, reads: LAYOUT }),
        };
    }
    let bytes = postcard::to_allocvec(&LAYOUT).map_err(dberr)?;
    meta.insert("layout", bytes.as_slice()).map_err(dberr)?;
    Ok(())
}

/// A write transaction with quick repair: each commit also saves the allocator state (a second
/// commit phase), so opening the file after a crash loads it instead of walking the whole file.
fn write_txn(db: &Database) -> Result<redb::WriteTransaction, StoreError> {
    let mut w = db.begin_write().map_err(dberr)?;
    w.set_quick_repair(true);
    Ok(w)
}

fn dberr<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::Corrupt { what, reason: e.to_string() }
}

/// One stored state row: keyspace, key, value.
pub type StoredRow = (u8, Vec<u8>, Vec<u8>);

/// The database.
#[derive(Debug)]
pub struct Store {
    db: Database,
    options: StoreOptions,
    /// The index entries of the transactions committed above `meta.indexed_through`.
    recent: RwLock<Recent>,
    /// How many entries `recent` gathers before a commit writes them ([`INDEX_BATCH`]).
    index_batch: usize,
}

/// What is stored about the chain as a whole.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Chain id.
    pub chain_id: u64,
    /// Latest committed header.
    pub head: Header,
    /// keccak256 of the genesis the chain started from.
    pub genesis: Option<B256>,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        let mut builder = redb::Builder::new();
        builder.set_cache_size(options.cache_bytes);
        let db = if options.in_memory {
            builder.create_with_backend(redb::backends::InMemoryBackend::new()).map_err(dberr)?
        } else {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(dberr)?;
            }
            builder.create(path).map_err(dberr)?
        };
        let w = write_txn(&db)?;
        w.open_table(META).map_err(dberr)?;
        w.open_table(BLOCKS).map_err(dberr)?;
        w.open_table(TX_INDEX).map_err(dberr)?;
        w.open_table(RECEIPTS).map_err(dberr)?;
        w.open_table(STATE).map_err(dberr)?;
        w.open_table(HISTORY).map_err(dberr)?;
        w.open_table(DAYS).map_err(dberr)?;
        w.open_table(POOL).map_err(dberr)?;
        index_accounts(&w)?;
        index_mode(&w)?;
        check_layout(&w)?;
        w.commit().map_err(dberr)?;
        let recent = RwLock::new(load_recent(&db)?);
        Ok(Self { db, options, recent, index_batch: INDEX_BATCH })
    }

    fn recent(&self) -> RwLockReadGuard<'_, Recent> {
        self.recent.read().unwrap_or_else(|p| p.into_inner())
    }

    fn recent_mut(&self) -> RwLockWriteGuard<'_, Recent> {
        self.recent.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The options it was opened with.
    pub fn options(&self) -> StoreOptions {
        self.options
    }

    /// The chain id and head, if a genesis was written.
    pub fn meta(&self) -> Result<Option<Meta>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(META).map_err(dberr)?;
        let (Some(chain), Some(head)) = (t.get("chain_id").map_err(dberr)?, t.get("head").map_err(dberr)?) else {
            return Ok(None);
        };
        let chain_id: u64 = postcard::from_bytes(chain.value()).map_err(corrupt("chain id"))?;
        let head: Header = postcard::from_bytes(head.value()).map_err(corrupt("head"))?;
        let genesis = t.get("genesis").map_err(dberr)?.and_then(|g| B256::try_from(g.value()).ok());
        Ok(Some(Meta { chain_id, head, genesis }))
    }

    /// Every state row (for loading at start).
    pub fn state_rows(&self) -> Result<Vec<StoredRow>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(STATE).map_err(dberr)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(dberr)? {
            let (k, v) = row.map_err(dberr)?;
            let (space, key) = k.value();
            out.push((space, key.to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Writes a block with its receipts and state rows, and makes it the head: all or nothing.
    /// The genesis block also records the genesis hash. With history on, the rows' values
    /// before the block go to the rewards history of the interval (`interval` seconds) the block
    /// falls in, and every day boundary the block crosses gets its height.
    pub fn commit_block(&self, c: &BlockCommit<'_>) -> Result<(), StoreError> {
        let BlockCommit { block, receipts, rows, chain_id, genesis, interval, pool_add, pool_remove, durable } = *c;
        let mut w = write_txn(&self.db)?;
        if !durable {
            w.set_durability(redb::Durability::None).map_err(dberr)?;
        }
        history_mode(&w, self.options.history, block.header.height)?;
        if self.options.history && block.header.height > 0 {
            record_history(&w, &block.header, rows, interval)?;
        }
        {
            let mut meta = w.open_table(META).map_err(dberr)?;
            if let Some(g) = genesis {
                meta.insert("genesis", g.as_slice()).map_err(dberr)?;
            }
            let head = postcard::to_allocvec(&block.header).map_err(dberr)?;
            meta.insert("head", head.as_slice()).map_err(dberr)?;
            let chain = postcard::to_allocvec(&chain_id).map_err(dberr)?;
            meta.insert("chain_id", chain.as_slice()).map_err(dberr)?;
            let height = block.header.height;
            let bytes = postcard::to_allocvec(block).map_err(dberr)?;
            w.open_table(BLOCKS).map_err(dberr)?.insert(height, bytes.as_slice()).map_err(dberr)?;
            let mut rec = w.open_table(RECEIPTS).map_err(dberr)?;
            for r in receipts {
                let json = serde_json::to_vec(r).map_err(dberr)?;
                rec.insert((height, r.index), json.as_slice()).map_err(dberr)?;
            }
            let mut state = w.open_table(STATE).map_err(dberr)?;
            for (space, key, value) in rows.iter() {
                match value {
                    Some(v) => state.insert((space, key), v).map_err(dberr)?,
                    None => state.remove((space, key)).map_err(dberr)?,
                };
            }
        }
        {
            // A transaction admitted since the last block and committed in this one never waits
            // in the stored pool: neither its insert nor its removal is written.
            let committed: HashSet<&B256> = receipts.iter().map(|r| &r.tx_hash).collect();
            let fresh: HashSet<&B256> = pool_add.iter().map(|(h, _)| h).collect();
            let mut pool = w.open_table(POOL).map_err(dberr)?;
            for (hash, tx) in pool_add.iter().filter(|(h, _)| !committed.contains(h)) {
                pool.insert(hash.as_slice(), tx.as_slice()).map_err(dberr)?;
            }
            let gone = receipts.iter().map(|r| &r.tx_hash).filter(|h| !fresh.contains(h));
            for hash in pool_remove.iter().chain(gone) {
                pool.remove(hash.as_slice()).map_err(dberr)?;
            }
        }
        // Only this thread changes `recent` (commits are serial), so it can be read here and
        // changed once the commit has landed. The node reads the store under the app's read lock
        // and commits under its write lock, so no reader sees the moment in between; without
        // that lock a reader could miss this block for that moment, never see an entry twice.
        let batch = self.recent().txs.len().saturating_add(receipts.len()) >= self.index_batch;
        if batch {
            write_index(&w, &self.recent(), receipts, block.header.height)?;
        }
        let mut pruned = None;
        if let Some(keep) = self.options.keep_blocks {
            // The latest `keep` blocks (the head included, at least one) keep their bodies.
            pruned = prune(&w, block.header.height.saturating_sub(keep.max(1)).saturating_add(1))?;
        }
        w.commit().map_err(dberr)?;
        let mut recent = self.recent_mut();
        if batch {
            *recent = Recent::new();
        } else {
            for r in receipts {
                recent.add(r.tx_hash, r.sender, block.header.height, r.index);
            }
        }
        if let Some(last) = pruned {
            recent.drop_through(last);
        }
        Ok(())
    }

    /// The stored mempool: every waiting transaction as of the latest block.
    pub fn pool(&self) -> Result<Vec<crate::envelope::SignedTx>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(POOL).map_err(dberr)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(dberr)? {
            let (_, v) = row.map_err(dberr)?;
            out.push(postcard::from_bytes(v.value()).map_err(corrupt("pooled transaction"))?);
        }
        Ok(out)
    }

    /// Makes the stored mempool exactly `txs` (id, postcard `SignedTx`): what a restart admitted
    /// again.
    pub fn set_pool(&self, txs: &[(B256, Vec<u8>)]) -> Result<(), StoreError> {
        let w = write_txn(&self.db)?;
        {
            let mut pool = w.open_table(POOL).map_err(dberr)?;
            pool.retain(|_, _| false).map_err(dberr)?;
            for (hash, tx) in txs {
                pool.insert(hash.as_slice(), tx.as_slice()).map_err(dberr)?;
            }
        }
        w.commit().map_err(dberr)
    }

    /// The lowest height whose transactions and receipts are still stored (1 on an archive
    /// node; above it, blocks keep only their headers).
    pub fn bodies_from(&self) -> Result<u64, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(META).map_err(dberr)?;
        Ok(pruned_through(&t)?.saturating_add(1))
    }

    /// A block by height.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(BLOCKS).map_err(dberr)?;
        let Some(v) = t.get(height).map_err(dberr)? else {
            return Ok(None);
        };
        postcard::from_bytes(v.value()).map(Some).map_err(corrupt("block"))
    }

    /// Where a transaction was committed: (height, index).
    pub fn tx_location(&self, hash: &B256) -> Result<Option<(u64, u32)>, StoreError> {
        // The in-memory entries first: a batch reaches the table before it leaves them.
        if let Some(at) = self.recent().txs.get(hash) {
            return Ok(Some(*at));
        }
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(TX_INDEX).map_err(dberr)?;
        Ok(t.get(hash.as_slice()).map_err(dberr)?.map(|v| v.value()))
    }

    /// A receipt by location.
    pub fn receipt(&self, height: u64, index: u32) -> Result<Option<Receipt>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(RECEIPTS).map_err(dberr)?;
        let Some(v) = t.get((height, index)).map_err(dberr)? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value()).map(Some).map_err(corrupt("receipt"))
    }

    /// The receipts of a block, in order.
    pub fn receipts_of(&self, height: u64) -> Result<Vec<Receipt>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(RECEIPTS).map_err(dberr)?;
        let mut out = Vec::new();
        for row in t.range((height, 0)..=(height, u32::MAX)).map_err(dberr)? {
            let (_, v) = row.map_err(dberr)?;
            out.push(serde_json::from_slice(v.value()).map_err(corrupt("receipt"))?);
        }
        Ok(out)
    }
}

/// A devnet snapshot of the whole database (state, blocks, history, pool): `Store::revert_to`
/// brings the database back to it. Held in memory; it does not survive a restart.
pub struct Savepoint(redb::Savepoint);

impl std::fmt::Debug for Savepoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Savepoint")
    }
}

impl Store {
    /// The latest blocks' headers at or below `below` (newest first), at most `limit`.
    pub fn headers_below(&self, below: u64, limit: usize) -> Result<Vec<Header>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(BLOCKS).map_err(dberr)?;
        let mut out = Vec::new();
        for row in t.range(..=below).map_err(dberr)?.rev().take(limit) {
            let (_, v) = row.map_err(dberr)?;
            out.push(postcard::from_bytes::<Block>(v.value()).map_err(corrupt("block"))?.header);
        }
        Ok(out)
    }

    /// The locations (height, index) of `sender`'s committed transactions strictly before
    /// `before` (newest first), at most `limit`.
    pub fn account_txs(
        &self,
        sender: &Address,
        before: (u64, u32),
        limit: usize,
    ) -> Result<Vec<(u64, u32)>, StoreError> {
        // The newest `limit` of memory and of the table, merged: an entry in both (a batch
        // written, memory not yet cleared) counts once.
        let mut out: BTreeSet<(u64, u32)> = {
            let recent = self.recent();
            let range = (*sender, 0, 0)..(*sender, before.0, before.1);
            recent.accounts.range(range).rev().take(limit).map(|(_, h, i)| (*h, *i)).collect()
        };
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(ACCOUNT_TXS).map_err(dberr)?;
        let a = sender.as_slice();
        for row in t.range((a, 0, 0)..(a, before.0, before.1)).map_err(dberr)?.rev().take(limit) {
            let (k, _) = row.map_err(dberr)?;
            let (_, h, i) = k.value();
            out.insert((h, i));
        }
        Ok(out.into_iter().rev().take(limit).collect())
    }

    /// A savepoint of the database as last committed.
    pub fn savepoint(&self) -> Result<Savepoint, StoreError> {
        let w = self.db.begin_write().map_err(dberr)?;
        let sp = w.ephemeral_savepoint().map_err(dberr)?;
        w.abort().map_err(dberr)?;
        Ok(Savepoint(sp))
    }

    /// Brings the whole database back to `savepoint` (durably); later savepoints become invalid.
    pub fn revert_to(&self, savepoint: &Savepoint) -> Result<(), StoreError> {
        let mut w = write_txn(&self.db)?;
        w.restore_savepoint(&savepoint.0).map_err(dberr)?;
        w.commit().map_err(dberr)?;
        *self.recent_mut() = load_recent(&self.db)?;
        Ok(())
    }
}

/// Records `meta.indexed_through` once, for a store written before the in-memory index: such a
/// store indexed every block it committed, so through its head.
fn index_mode(w: &redb::WriteTransaction) -> Result<(), StoreError> {
    let mut meta = w.open_table(META).map_err(dberr)?;
    if meta.get("indexed_through").map_err(dberr)?.is_some() {
        return Ok(());
    }
    let head = match meta.get("head").map_err(dberr)? {
        Some(v) => postcard::from_bytes::<Header>(v.value()).map_err(corrupt("head"))?.height,
        None => 0,
    };
    let bytes = postcard::to_allocvec(&head).map_err(dberr)?;
    meta.insert("indexed_through", bytes.as_slice()).map_err(dberr)?;
    Ok(())
}

/// The in-memory index as the store implies it: the receipts above `meta.indexed_through`.
fn load_recent(db: &Database) -> Result<Recent, StoreError> {
    let r = db.begin_read().map_err(dberr)?;
    let meta = r.open_table(META).map_err(dberr)?;
    let through: u64 = match meta.get("indexed_through").map_err(dberr)? {
        Some(v) => postcard::from_bytes(v.value()).map_err(corrupt("indexed height"))?,
        None => 0,
    };
    let mut recent = Recent::new();
    let Some(from) = through.checked_add(1) else {
        return Ok(recent);
    };
    let receipts = r.open_table(RECEIPTS).map_err(dberr)?;
    for row in receipts.range((from, 0)..).map_err(dberr)? {
        let (k, v) = row.map_err(dberr)?;
        let (height, index) = k.value();
        let e: Indexed = serde_json::from_slice(v.value()).map_err(corrupt("receipt"))?;
        recent.add(e.tx_hash, e.sender, height, index);
    }
    Ok(recent)
}

/// Writes the in-memory entries and this block's into `TX_INDEX` and `ACCOUNT_TXS` in key order,
/// and moves `meta.indexed_through` to `height`.
fn write_index(
    w: &redb::WriteTransaction,
    recent: &Recent,
    receipts: &[Receipt],
    height: u64,
) -> Result<(), StoreError> {
    let mut txs: Vec<(&B256, (u64, u32))> = recent.txs.iter().map(|(h, at)| (h, *at)).collect();
    txs.extend(receipts.iter().map(|r| (&r.tx_hash, (height, r.index))));
    txs.sort_unstable_by_key(|(h, _)| *h);
    let mut index = w.open_table(TX_INDEX).map_err(dberr)?;
    for (hash, at) in txs {
        index.insert(hash.as_slice(), at).map_err(dberr)?;
    }
    let mut accounts: Vec<(Address, u64, u32)> = recent.accounts.iter().copied().collect();
    accounts.extend(receipts.iter().map(|r| (r.sender, height, r.index)));
    accounts.sort_unstable();
    let mut by_account = w.open_table(ACCOUNT_TXS).map_err(dberr)?;
    for (sender, h, i) in accounts {
        by_account.insert((sender.as_slice(), h, i), ()).map_err(dberr)?;
    }
    let bytes = postcard::to_allocvec(&height).map_err(dberr)?;
    w.open_table(META).map_err(dberr)?.insert("indexed_through", bytes.as_slice()).map_err(dberr)?;
    Ok(())
}

/// Fills `ACCOUNT_TXS` from the receipts once, for a store written before it existed.
fn index_accounts(w: &redb::WriteTransaction) -> Result<(), StoreError> {
    #[derive(serde::Deserialize)]
    struct Sender {
        sender: Address,
    }
    let mut meta = w.open_table(META).map_err(dberr)?;
    if meta.get("account_txs").map_err(dberr)?.is_some() {
        return Ok(());
    }
    let receipts = w.open_table(RECEIPTS).map_err(dberr)?;
    let mut by_account = w.open_table(ACCOUNT_TXS).map_err(dberr)?;
    for row in receipts.iter().map_err(dberr)? {
        let (k, v) = row.map_err(dberr)?;
        let (height, index) = k.value();
        let r: Sender = serde_json::from_slice(v.value()).map_err(corrupt("receipt"))?;
        by_account.insert((r.sender.as_slice(), height, index), ()).map_err(dberr)?;
    }
    meta.insert("account_txs", [1u8].as_slice()).map_err(dberr)?;
    Ok(())
}

/// One block to commit: what `Store::commit_block` writes in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct BlockCommit<'a> {
    /// The block.
    pub block: &'a Block,
    /// Its receipts.
    pub receipts: &'a [Receipt],
    /// The state rows it changed (the node's nonce rows among them).
    pub rows: &'a Changes,
    /// The chain id.
    pub chain_id: u64,
    /// The genesis hash (block 0 only).
    pub genesis: Option<B256>,
    /// The rewards interval in seconds (for the history).
    pub interval: u64,
    /// Transactions admitted to the mempool since the previous block: (id, postcard `SignedTx`).
    pub pool_add: &'a [(B256, Vec<u8>)],
    /// Transactions that left the mempool uncommitted (the block's own leave by their receipts).
    pub pool_remove: &'a [B256],
    /// Whether the commit is fsync'd before it returns (false: durable with the next one that is).
    pub durable: bool,
}

/// Keeps the history whole: `meta.history` says whether the last commit recorded it. A store that
/// committed blocks without it (or never did) forgets any older history when recording starts
/// again, so its days are missing (`MissingSnapshot`) rather than rebuilt wrong.
fn history_mode(w: &redb::WriteTransaction, on: bool, height: u64) -> Result<(), StoreError> {
    let mut meta = w.open_table(META).map_err(dberr)?;
    let was = meta.get("history").map_err(dberr)?.map(|v| v.value() == [1u8]);
    if was == Some(on) {
        return Ok(());
    }
    if on && height > 0 {
        w.open_table(DAYS).map_err(dberr)?.retain(|_, _| false).map_err(dberr)?;
        w.open_table(HISTORY).map_err(dberr)?.retain(|_, _| false).map_err(dberr)?;
    }
    meta.insert("history", [u8::from(on)].as_slice()).map_err(dberr)?;
    Ok(())
}

/// Writes the undo rows of `rows` for the interval `header` falls in (a row's first change in
/// an interval keeps its value from before) and the heights of the day boundaries crossed since
/// the previous head. Runs before the block's own writes, so `STATE` still holds the old values.
fn record_history(
    w: &redb::WriteTransaction,
    header: &Header,
    rows: &Changes,
    interval: u64,
) -> Result<(), StoreError> {
    let interval = interval.max(1);
    let meta = w.open_table(META).map_err(dberr)?;
    let prev: Header = match meta.get("head").map_err(dberr)? {
        Some(v) => postcard::from_bytes(v.value()).map_err(corrupt("head"))?,
        None => return Ok(()),
    };
    drop(meta);
    // Days start with the first boundary after the first block (block 0 is dated 0).
    if prev.height > 0 {
        let mut days = w.open_table(DAYS).map_err(dberr)?;
        let mut day = (prev.time / interval).saturating_add(1).saturating_mul(interval);
        while day <= header.time {
            days.insert(day, prev.height).map_err(dberr)?;
            day = day.saturating_add(interval);
        }
    }
    let period = header.time / interval * interval;
    let state = w.open_table(STATE).map_err(dberr)?;
    let mut history = w.open_table(HISTORY).map_err(dberr)?;
    for (space, key, _) in rows.iter().filter(|r| r.0 != NONCES) {
        if history.get((period, space, key)).map_err(dberr)?.is_some() {
            continue;
        }
        let old = state.get((space, key)).map_err(dberr)?;
        history.insert((period, space, key), old.as_ref().map(|v| v.value())).map_err(dberr)?;
    }
    Ok(())
}

fn pruned_through(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<u64, StoreError> {
    match meta.get("pruned_through").map_err(dberr)? {
        Some(v) => postcard::from_bytes(v.value()).map_err(corrupt("pruned height")),
        None => Ok(0),
    }
}

/// Drops the transactions, receipts and transaction index of the heights below `below` not yet
/// pruned (at most `PRUNE_PER_BLOCK` of them): their blocks keep only the header. Returns the
/// last height it pruned, if any (the in-memory index forgets them once the commit lands).
fn prune(w: &redb::WriteTransaction, below: u64) -> Result<Option<u64>, StoreError> {
    let mut meta = w.open_table(META).map_err(dberr)?;
    let done = pruned_through(&meta)?;
    let last = below.saturating_sub(1).min(done.saturating_add(PRUNE_PER_BLOCK));
    if last <= done {
        return Ok(None);
    }
    let mut blocks = w.open_table(BLOCKS).map_err(dberr)?;
    let mut receipts = w.open_table(RECEIPTS).map_err(dberr)?;
    let mut index = w.open_table(TX_INDEX).map_err(dberr)?;
    let mut by_account = w.open_table(ACCOUNT_TXS).map_err(dberr)?;
    for height in done.saturating_add(1)..=last {
        let header = match blocks.get(height).map_err(dberr)? {
            Some(v) => postcard::from_bytes::<Block>(v.value()).map_err(corrupt("block"))?.header,
            None => continue,
        };
        let bytes = postcard::to_allocvec(&Block { header, txs: Vec::new() }).map_err(dberr)?;
        blocks.insert(height, bytes.as_slice()).map_err(dberr)?;
        let gone = receipts.extract_from_if((height, 0)..=(height, u32::MAX), |_, _| true).map_err(dberr)?;
        for row in gone {
            let (k, v) = row.map_err(dberr)?;
            let r: Indexed = serde_json::from_slice(v.value()).map_err(corrupt("receipt"))?;
            index.remove(r.tx_hash.as_slice()).map_err(dberr)?;
            by_account.remove((r.sender.as_slice(), height, k.value().1)).map_err(dberr)?;
        }
    }
    let v = postcard::to_allocvec(&last).map_err(dberr)?;
    meta.insert("pruned_through", v.as_slice()).map_err(dberr)?;
    Ok(Some(last))
}

/// A state snapshot a new node can start from (state sync): the head header, every state row
/// (the node's nonces included) and the whole-state hash the rows must load to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateSnapshot {
    /// Chain id.
    pub chain_id: u64,
    /// keccak256 of the genesis the chain started from.
    pub genesis: B256,
    /// The header the state is the result of.
    pub head: Header,
    /// `State::state_hash` of the rows (nonces aside).
    pub full_state_hash: B256,
    /// Every row of `STATE`.
    pub rows: Vec<StoredRow>,
}

/// Why a snapshot cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The store already holds a chain.
    #[error("the store already holds chain {chain_id} at height {height}: restore into an empty directory")]
    NotEmpty {
        /// Its chain.
        chain_id: u64,
        /// Its head.
        height: u64,
    },
    /// The rows do not load to the snapshot's state hash.
    #[error("the snapshot's rows hash to {got}, it claims {claimed}")]
    HashMismatch {
        /// Claimed.
        claimed: B256,
        /// Computed.
        got: B256,
    },
    /// The rows do not load.
    #[error("the snapshot's rows do not load: {0}")]
    Load(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The state machine's state from stored rows (the node's nonce rows left out).
pub(crate) fn state_of(rows: &[StoredRow]) -> Result<State, cairn_state::persist::LoadError> {
    State::from_rows(rows.iter().filter(|r| r.0 != NONCES).map(|(t, k, v)| (*t, k.as_slice(), v.as_slice())))
}

impl Store {
    /// The state at the head, as one consistent snapshot. `None` before genesis.
    pub fn snapshot(&self) -> Result<Option<StateSnapshot>, StoreError> {
        self.read()?.build()
    }
}

impl StoreRead {
    /// Builds the snapshot (reads every state row and hashes the state). `None` before genesis.
    pub fn build(&self) -> Result<Option<StateSnapshot>, StoreError> {
        let r = &self.read;
        let meta = r.open_table(META).map_err(dberr)?;
        let (Some(chain), Some(head), Some(genesis)) = (
            meta.get("chain_id").map_err(dberr)?,
            meta.get("head").map_err(dberr)?,
            meta.get("genesis").map_err(dberr)?,
        ) else {
            return Ok(None);
        };
        let chain_id: u64 = postcard::from_bytes(chain.value()).map_err(corrupt("chain id"))?;
        let head: Header = postcard::from_bytes(head.value()).map_err(corrupt("head"))?;
        let genesis = B256::try_from(genesis.value()).map_err(corrupt("genesis"))?;
        let mut rows = Vec::new();
        for row in r.open_table(STATE).map_err(dberr)?.iter().map_err(dberr)? {
            let (k, v) = row.map_err(dberr)?;
            let (space, key) = k.value();
            rows.push((space, key.to_vec(), v.value().to_vec()));
        }
        let full_state_hash = state_of(&rows).map_err(corrupt("state"))?.state_hash().map_err(corrupt("state"))?;
        Ok(Some(StateSnapshot { chain_id, genesis, head, full_state_hash, rows }))
    }
}

impl Store {
    /// Makes an empty store start at `snap`: its rows, its head (a header-only block) and no
    /// transactions below it. Checks the rows against the snapshot's state hash first.
    pub fn restore(&self, snap: &StateSnapshot) -> Result<(), RestoreError> {
        if let Some(m) = self.meta()? {
            return Err(RestoreError::NotEmpty { chain_id: m.chain_id, height: m.head.height });
        }
        let got = state_of(&snap.rows)
            .map_err(|e| RestoreError::Load(e.to_string()))?
            .state_hash()
            .map_err(|e| RestoreError::Load(e.to_string()))?;
        if got != snap.full_state_hash {
            return Err(RestoreError::HashMismatch { claimed: snap.full_state_hash, got });
        }
        let w = write_txn(&self.db)?;
        {
            let mut meta = w.open_table(META).map_err(dberr)?;
            meta.insert("genesis", snap.genesis.as_slice()).map_err(dberr)?;
            let head = postcard::to_allocvec(&snap.head).map_err(dberr)?;
            meta.insert("head", head.as_slice()).map_err(dberr)?;
            let chain = postcard::to_allocvec(&snap.chain_id).map_err(dberr)?;
            meta.insert("chain_id", chain.as_slice()).map_err(dberr)?;
            let pruned = postcard::to_allocvec(&snap.head.height).map_err(dberr)?;
            meta.insert("pruned_through", pruned.as_slice()).map_err(dberr)?;
            let block = postcard::to_allocvec(&Block { header: snap.head.clone(), txs: Vec::new() }).map_err(dberr)?;
            w.open_table(BLOCKS).map_err(dberr)?.insert(snap.head.height, block.as_slice()).map_err(dberr)?;
            let mut state = w.open_table(STATE).map_err(dberr)?;
            for (space, key, value) in &snap.rows {
                state.insert((*space, key.as_slice()), value.as_slice()).map_err(dberr)?;
            }
        }
        w.commit().map_err(dberr)?;
        Ok(())
    }
}

/// One consistent read of the store (a redb read transaction): the state and history as of one
/// committed block, whatever commits meanwhile. The rewards calculation and snapshots use it.
pub struct StoreRead {
    read: redb::ReadTransaction,
}

impl std::fmt::Debug for StoreRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreRead")
    }
}

impl Store {
    /// A consistent read as of the latest commit.
    pub fn read(&self) -> Result<StoreRead, StoreError> {
        Ok(StoreRead { read: self.db.begin_read().map_err(dberr)? })
    }

    /// The day boundaries with a recorded snapshot height, oldest first.
    pub fn history_days(&self) -> Result<Vec<(u64, u64)>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(DAYS).map_err(dberr)?;
        t.iter().map_err(dberr)?.map(|row| row.map(|(d, h)| (d.value(), h.value())).map_err(dberr)).collect()
    }
}

impl StoreRead {
    fn walk(
        &self,
        days: &[u64],
        visit: &mut dyn FnMut(u64, &Snapshot) -> Result<(), CalcError>,
    ) -> Result<Result<(), CalcError>, StoreError> {
        let heights = self.read.open_table(DAYS).map_err(dberr)?;
        let history = self.read.open_table(HISTORY).map_err(dberr)?;
        let mut rows: BTreeMap<(u8, Vec<u8>), Vec<u8>> = BTreeMap::new();
        for row in self.read.open_table(STATE).map_err(dberr)?.iter().map_err(dberr)? {
            let (k, v) = row.map_err(dberr)?;
            let (space, key) = k.value();
            if space != NONCES {
                rows.insert((space, key.to_vec()), v.value().to_vec());
            }
        }
        // Undo entries of days ≥ `applied` are laid over `rows` already, newest first.
        let mut applied = u64::MAX;
        for &day in days.iter().rev() {
            let Some(height) = heights.get(day).map_err(dberr)?.map(|h| h.value()) else {
                return Ok(Err(CalcError::MissingSnapshot { day }));
            };
            if day < applied {
                let range = history.range((day, 0u8, &[][..])..(applied, 0u8, &[][..])).map_err(dberr)?;
                for entry in range.rev() {
                    let (k, v) = entry.map_err(dberr)?;
                    let (_, space, key) = k.value();
                    match v.value() {
                        Some(bytes) => rows.insert((space, key.to_vec()), bytes.to_vec()),
                        None => rows.remove(&(space, key.to_vec())),
                    };
                }
                applied = day;
            }
            let state = match State::from_rows(rows.iter().map(|((t, k), v)| (*t, k.as_slice(), v.as_slice()))) {
                Ok(s) => s,
                Err(e) => return Ok(Err(CalcError::State(format!("the state of day {day} does not load: {e}")))),
            };
            if let Err(e) = visit(day, &Snapshot { state: Arc::new(state), block: height }) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }
}

impl SnapshotSource for StoreRead {
    fn visit_newest_first(
        &self,
        days: &[u64],
        visit: &mut dyn FnMut(u64, &Snapshot) -> Result<(), CalcError>,
    ) -> Result<(), CalcError> {
        self.walk(days, visit).map_err(|e| CalcError::State(e.to_string()))?
    }
}

/// The key of an account's nonce row.
pub fn nonce_key(a: &Address) -> Vec<u8> {
    a.as_slice().to_vec()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::block::Receipt;

    fn receipt(height: u64, index: u32, sender: Address) -> Receipt {
        Receipt {
            tx_hash: alloy_primitives::keccak256([height as u8, index as u8]),
            height,
            index,
            sender,
            nonce: u64::from(index),
            action: "transfer".into(),
            ok: true,
            events: Vec::new(),
            error: None,
        }
    }

    fn commit(store: &Store, height: u64, receipts: &[Receipt]) {
        let header = Header {
            height,
            time: height,
            parent_hash: B256::ZERO,
            tx_root: B256::ZERO,
            receipt_root: B256::ZERO,
            state_hash: B256::ZERO,
            tx_count: receipts.len() as u32,
        };
        let block = Block { header, txs: Vec::new() };
        let c = BlockCommit {
            block: &block,
            receipts,
            rows: &Changes::default(),
            chain_id: 1,
            genesis: None,
            interval: 3_600,
            pool_add: &[],
            pool_remove: &[],
            durable: height.is_multiple_of(2),
        };
        store.commit_block(&c).unwrap();
    }

    #[test]
    fn the_account_index_pages_and_is_rebuilt_for_a_store_written_before_it() {
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let mut store =
            Store::open(Path::new("unused"), StoreOptions { in_memory: true, ..StoreOptions::default() }).unwrap();
        store.index_batch = 1; // every block's entries go to the tables, which this test rebuilds
        commit(&store, 1, &[receipt(1, 0, a), receipt(1, 1, b), receipt(1, 2, a)]);
        commit(&store, 2, &[receipt(2, 0, a)]);
        let all = store.account_txs(&a, (u64::MAX, 0), 10).unwrap();
        assert_eq!(all, vec![(2, 0), (1, 2), (1, 0)], "newest first");
        assert_eq!(store.account_txs(&a, (1, 2), 10).unwrap(), vec![(1, 0)], "strictly before the cursor");
        assert_eq!(store.account_txs(&a, (u64::MAX, 0), 2).unwrap(), vec![(2, 0), (1, 2)]);
        assert_eq!(store.account_txs(&b, (u64::MAX, 0), 10).unwrap(), vec![(1, 1)]);
        // A store from before the index: no rows, no flag. Opening it again (here: running the
        // migration in a write transaction) rebuilds the same rows.
        let w = write_txn(&store.db).unwrap();
        w.open_table(ACCOUNT_TXS).unwrap().retain(|_, _| false).unwrap();
        w.open_table(META).unwrap().remove("account_txs").unwrap();
        w.commit().unwrap();
        assert!(store.account_txs(&a, (u64::MAX, 0), 10).unwrap().is_empty());
        let w = write_txn(&store.db).unwrap();
        index_accounts(&w).unwrap();
        w.commit().unwrap();
        assert_eq!(store.account_txs(&a, (u64::MAX, 0), 10).unwrap(), all);
        assert_eq!(store.headers_below(1, 5).unwrap().iter().map(|h| h.height).collect::<Vec<_>>(), vec![1]);
    }

    /// Every committed transaction by hash and by sender (newest first, and in pages of two), as
    /// `model` holds them.
    fn assert_indexed(store: &Store, model: &[Receipt], senders: &[Address]) {
        for r in model {
            assert_eq!(store.tx_location(&r.tx_hash).unwrap(), Some((r.height, r.index)), "{}", r.tx_hash);
        }
        for a in senders {
            let want: Vec<(u64, u32)> =
                model.iter().rev().filter(|r| r.sender == *a).map(|r| (r.height, r.index)).collect();
            assert_eq!(store.account_txs(a, (u64::MAX, 0), 100).unwrap(), want, "{a}");
            let (mut paged, mut cursor) = (Vec::new(), (u64::MAX, 0));
            loop {
                let page = store.account_txs(a, cursor, 2).unwrap();
                let Some(last) = page.last() else { break };
                cursor = *last;
                paged.extend(page);
            }
            assert_eq!(paged, want, "{a} in pages");
        }
    }

    fn indexed_on_disk(store: &Store) -> (u64, u64) {
        use redb::ReadableTableMetadata;
        let r = store.db.begin_read().unwrap();
        let txs = r.open_table(TX_INDEX).unwrap().len().unwrap();
        (txs, r.open_table(ACCOUNT_TXS).unwrap().len().unwrap())
    }

    #[test]
    fn the_index_is_written_in_batches_and_rebuilt_from_the_receipts_on_open() {
        let dir = std::env::temp_dir().join(format!("cairn-store-index-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("cairn.redb");
        let senders = [Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3)];
        let mut model = Vec::new();
        {
            let mut store = Store::open(&path, StoreOptions::default()).unwrap();
            store.index_batch = 5;
            // 1, 2, 3, 0, 1, 2, 3, 0, 1, 2 transactions: batches written at heights 3 and 7.
            for height in 1..=10u64 {
                let n = (height % 4) as u32;
                let rs: Vec<Receipt> =
                    (0..n).map(|i| receipt(height, i, senders[(height + u64::from(i)) as usize % 3])).collect();
                commit(&store, height, &rs);
                model.extend(rs);
                assert_indexed(&store, &model, &senders);
                let (on_disk, _) = indexed_on_disk(&store);
                assert_eq!(on_disk as usize + store.recent().txs.len(), model.len(), "height {height}");
                assert_eq!(
                    on_disk,
                    if height < 3 {
                        0
                    } else if height < 7 {
                        6
                    } else {
                        12
                    },
                    "height {height}"
                );
            }
            assert_eq!(indexed_on_disk(&store), (12, 12));
            // Entries in both places (a batch written, memory not yet cleared) count once.
            for r in model.iter().filter(|r| (4..8).contains(&r.height)) {
                store.recent_mut().add(r.tx_hash, r.sender, r.height, r.index);
            }
            assert_indexed(&store, &model, &senders);
            *store.recent_mut() = load_recent(&store.db).unwrap();
        }
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        assert_eq!(store.recent().txs.len(), 3, "heights 9 and 10 again from their receipts");
        assert_indexed(&store, &model, &senders);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pruning_forgets_index_entries_in_memory_and_on_disk() {
        let a = Address::repeat_byte(1);
        let options = StoreOptions { in_memory: true, keep_blocks: Some(1), ..StoreOptions::default() };
        let mut store = Store::open(Path::new("unused"), options).unwrap();
        // Three a block: batches at heights 3 and 6, so pruned heights are in memory too.
        store.index_batch = 7;
        let mut model = Vec::new();
        for height in 1..=8u64 {
            let rs: Vec<Receipt> = (0..3).map(|i| receipt(height, i, a)).collect();
            commit(&store, height, &rs);
            model.extend(rs);
            // Only the head keeps its body.
            let (gone, kept): (Vec<Receipt>, Vec<Receipt>) = model.iter().cloned().partition(|r| r.height < height);
            assert_indexed(&store, &kept, &[a]);
            for r in &gone {
                assert_eq!(store.tx_location(&r.tx_hash).unwrap(), None, "pruned {}", r.height);
            }
            let (txs, accounts) = indexed_on_disk(&store);
            assert_eq!((txs + store.recent().txs.len() as u64, accounts), (kept.len() as u64, accounts));
            assert_eq!(store.recent().accounts.len() as u64 + accounts, kept.len() as u64);
        }
    }

    #[test]
    fn a_chain_in_another_row_layout_is_refused_by_name() {
        let store =
            Store::open(Path::new("unused"), StoreOptions { in_memory: true, ..StoreOptions::default() }).unwrap();
        commit(&store, 1, &[]);
        let reopen = || {
            let w = write_txn(&store.db).unwrap();
            let r = check_layout(&w);
            w.commit().unwrap();
            r
        };
        assert!(reopen().is_ok(), "written by this version");
        let w = write_txn(&store.db).unwrap();
        w.open_table(META).unwrap().insert("layout", [1u8].as_slice()).unwrap();
        w.commit().unwrap();
        let e = reopen().unwrap_err();
        assert!(matches!(e, StoreError::Layout { found: Some(1), reads: LAYOUT }), "{e}");
        let w = write_txn(&store.db).unwrap();
        w.open_table(META).unwrap().remove("layout").unwrap();
        w.commit().unwrap();
        let e = reopen().unwrap_err();
        assert!(e.to_string().contains("layout 1 (unnumbered), this node reads layout 2"), "{e}");
        assert!(matches!(reopen(), Err(StoreError::Layout { found: None, .. })), "and nothing was written");
    }

    #[test]
    fn a_savepoint_brings_back_every_table() {
        let a = Address::repeat_byte(1);
        let store =
            Store::open(Path::new("unused"), StoreOptions { in_memory: true, ..StoreOptions::default() }).unwrap();
        commit(&store, 1, &[receipt(1, 0, a)]);
        let sp = store.savepoint().unwrap();
        commit(&store, 2, &[receipt(2, 0, a)]);
        assert_eq!(store.meta().unwrap().map(|m| m.head.height), Some(2));
        store.revert_to(&sp).unwrap();
        assert_eq!(store.meta().unwrap().map(|m| m.head.height), Some(1));
        assert_eq!(store.account_txs(&a, (u64::MAX, 0), 10).unwrap(), vec![(1, 0)]);
        assert_eq!(store.tx_location(&receipt(2, 0, a).tx_hash).unwrap(), None, "reverted");
        assert_eq!(store.tx_location(&receipt(1, 0, a).tx_hash).unwrap(), Some((1, 0)));
        assert!(store.block(2).unwrap().is_none());
        assert!(store.block(1).unwrap().is_some());
    }
}

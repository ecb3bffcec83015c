//! The node's redb store: blocks, transactions, receipts and the state, one write transaction
//! per block (redb's default durability: one fsync per commit, checksummed, a torn commit is
//! rolled back on open). Every table and key encoding of the node lives here.

use std::path::Path;

use alloy_primitives::{Address, B256};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::block::{Block, Header, Receipt};

/// Scalars: `chain_id`, `genesis` (keccak256 of the postcard genesis), `head` (postcard `Header`).
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
/// Height → postcard `Block`.
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Transaction hash → (height, index).
const TX_INDEX: TableDefinition<'_, &[u8], (u64, u32)> = TableDefinition::new("tx_index");
/// (height, index) → receipt JSON.
const RECEIPTS: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("receipts");
/// (keyspace, postcard key) → postcard value: the state machine's rows (`cairn_state::persist`)
/// and the node's nonces (keyspace `NONCES`).
const STATE: TableDefinition<'_, (u8, &[u8]), &[u8]> = TableDefinition::new("state");

/// Keyspace of account nonces in `STATE` (the state machine numbers its tables from 0 upward).
pub const NONCES: u8 = 255;

/// A store failure: the node stops rather than continue without its log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb reported an error.
    #[error("store: {0}")]
    Db(String),
    /// Stored bytes do not decode.
    #[error("store: corrupt {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
}

fn dberr<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::Corrupt { what, reason: e.to_string() }
}

/// One stored state row: keyspace, key, value.
pub type StoredRow = (u8, Vec<u8>, Vec<u8>);

/// One state row to write: keyspace, key, value (`None` deletes).
pub type Row = (u8, Vec<u8>, Option<Vec<u8>>);

/// The database.
#[derive(Debug)]
pub struct Store {
    db: Database,
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
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(dberr)?;
        }
        let db = Database::create(path).map_err(dberr)?;
        let w = db.begin_write().map_err(dberr)?;
        w.open_table(META).map_err(dberr)?;
        w.open_table(BLOCKS).map_err(dberr)?;
        w.open_table(TX_INDEX).map_err(dberr)?;
        w.open_table(RECEIPTS).map_err(dberr)?;
        w.open_table(STATE).map_err(dberr)?;
        w.commit().map_err(dberr)?;
        Ok(Self { db })
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
    /// The genesis block also records the genesis hash.
    pub fn commit_block(
        &self,
        block: &Block,
        receipts: &[Receipt],
        rows: &[Row],
        chain_id: u64,
        genesis: Option<B256>,
    ) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(dberr)?;
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
            let mut index = w.open_table(TX_INDEX).map_err(dberr)?;
            let mut rec = w.open_table(RECEIPTS).map_err(dberr)?;
            for r in receipts {
                index.insert(r.tx_hash.as_slice(), (height, r.index)).map_err(dberr)?;
                let json = serde_json::to_vec(r).map_err(dberr)?;
                rec.insert((height, r.index), json.as_slice()).map_err(dberr)?;
            }
            let mut state = w.open_table(STATE).map_err(dberr)?;
            for (space, key, value) in rows {
                match value {
                    Some(v) => state.insert((*space, key.as_slice()), v.as_slice()).map_err(dberr)?,
                    None => state.remove((*space, key.as_slice())).map_err(dberr)?,
                };
            }
        }
        w.commit().map_err(dberr)
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

/// The key of an account's nonce row.
pub fn nonce_key(a: &Address) -> Vec<u8> {
    a.as_slice().to_vec()
}

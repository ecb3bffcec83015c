//! The checks a served block must pass before anything of it is written: the next height, the
//! indexed chain's parent, and every hash and root recomputed from what was served.

use alloy_primitives::B256;
use cairn_node::{
    block::{Header, Receipt, merkle_root},
    envelope::{Domain, SignedTx, tx_id},
};
use serde::Deserialize;

/// A block as the node serves it at `GET /v1/blocks/{height}`.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeBlock {
    /// Header.
    pub header: Header,
    /// Header hash, as served (checked against the header).
    pub hash: B256,
    /// Signed transactions, in order.
    pub txs: Vec<SignedTx>,
    /// Receipts, in order.
    pub receipts: Vec<Receipt>,
    /// The node pruned the body: only the header is left.
    pub pruned: bool,
}

/// Why a served block is refused. Nothing of it is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadBlock {
    /// Not the height the indexer asked for.
    #[error("the node served block {got} when block {expected} was asked for (out of order)")]
    OutOfOrder {
        /// The height asked for.
        expected: u64,
        /// The height served.
        got: u64,
    },
    /// Its parent is not the block indexed below it.
    #[error(
        "block {height} has parent hash {parent} but the indexed block {below} has hash {indexed}: the node's chain is not the indexed one (a reverted devnet or another chain); index it into a fresh database"
    )]
    WrongParent {
        /// Height of the served block.
        height: u64,
        /// Its parent hash.
        parent: B256,
        /// Height of the indexed block below it.
        below: u64,
        /// That block's hash.
        indexed: B256,
    },
    /// The served hash is not the header's hash.
    #[error("block {height}: served hash {served} but the header hashes to {computed}")]
    HeaderHash {
        /// Height.
        height: u64,
        /// Served hash.
        served: B256,
        /// Recomputed hash.
        computed: B256,
    },
    /// A root in the header does not match the body.
    #[error("block {height}: header {root} is {header} but the served body gives {computed}")]
    Root {
        /// Height.
        height: u64,
        /// Which root (`tx_root`, `receipt_root`).
        root: &'static str,
        /// In the header.
        header: B256,
        /// From the body.
        computed: B256,
    },
    /// Counts or positions disagree.
    #[error("block {height}: {what}")]
    Shape {
        /// Height.
        height: u64,
        /// What disagrees, with the values.
        what: String,
    },
    /// The node pruned this block's body, so it cannot be indexed from this node.
    #[error("block {height} is pruned on this node (--prune-blocks-older-than): index from an archive node")]
    Pruned {
        /// Height.
        height: u64,
    },
    /// A hash could not be computed.
    #[error("block {height}: {reason}")]
    Encode {
        /// Height.
        height: u64,
        /// The encoder's message.
        reason: String,
    },
}

/// Checks `block` as the successor of the indexed block `below` (`None` before genesis).
pub fn check(block: &NodeBlock, expected: u64, below: Option<(u64, B256)>) -> Result<(), BadBlock> {
    check_link(block, expected, below)?;
    check_contents(block)
}

/// The cheap part: `block` is at `expected` and its parent is the indexed block `below`.
pub fn check_link(block: &NodeBlock, expected: u64, below: Option<(u64, B256)>) -> Result<(), BadBlock> {
    let h = &block.header;
    if h.height != expected {
        return Err(BadBlock::OutOfOrder { expected, got: h.height });
    }
    if let Some((below, indexed)) = below
        && h.parent_hash != indexed
    {
        return Err(BadBlock::WrongParent { height: h.height, parent: h.parent_hash, below, indexed });
    }
    Ok(())
}

/// The hashing part, independent of other blocks: the header hash, the body's shape, each
/// transaction's id and both roots.
pub fn check_contents(block: &NodeBlock) -> Result<(), BadBlock> {
    let h = &block.header;
    let encode =
        |e: cairn_primitives::canonical::EncodeError| BadBlock::Encode { height: h.height, reason: e.to_string() };
    let computed = h.hash().map_err(encode)?;
    if computed != block.hash {
        return Err(BadBlock::HeaderHash { height: h.height, served: block.hash, computed });
    }
    if block.pruned {
        return Err(BadBlock::Pruned { height: h.height });
    }
    check_body(block)?;
    let leaves = block.receipts.iter().map(Receipt::leaf).collect::<Result<Vec<_>, _>>().map_err(encode)?;
    root(h.height, "receipt_root", h.receipt_root, merkle_root(leaves))?;
    root(h.height, "tx_root", h.tx_root, merkle_root(block.receipts.iter().map(|r| r.tx_hash).collect()))
}

fn root(height: u64, name: &'static str, header: B256, computed: B256) -> Result<(), BadBlock> {
    if header == computed { Ok(()) } else { Err(BadBlock::Root { height, root: name, header, computed }) }
}

/// Counts, positions, and each receipt's hash against its transaction.
fn check_body(block: &NodeBlock) -> Result<(), BadBlock> {
    let height = block.header.height;
    let shape = |what: String| BadBlock::Shape { height, what };
    let n = block.header.tx_count as usize;
    if block.txs.len() != n || block.receipts.len() != n {
        return Err(shape(format!(
            "tx_count {n} but {} transactions and {} receipts",
            block.txs.len(),
            block.receipts.len()
        )));
    }
    let mut domain: Option<Domain> = None;
    for (i, (tx, r)) in block.txs.iter().zip(&block.receipts).enumerate() {
        if r.height != height || r.index as usize != i {
            return Err(shape(format!("receipt {i} says height {} index {}", r.height, r.index)));
        }
        if r.sender != tx.from || r.nonce != tx.nonce || r.action != tx.action {
            return Err(shape(format!("receipt {i} does not describe transaction {i}")));
        }
        let d = match &domain {
            Some(d) if d.chain_id == tx.chain_id => d,
            _ => domain.insert(Domain::new(tx.chain_id)),
        };
        let id = tx_id(d.signing_hash(&tx.action, &tx.body, tx.nonce, tx.expiry), tx.from);
        if id != r.tx_hash {
            return Err(shape(format!("transaction {i} hashes to {id} but its receipt says {}", r.tx_hash)));
        }
    }
    Ok(())
}

/// A transaction's signed fields, for the tests that build blocks.
pub fn tx_hash(tx: &SignedTx) -> B256 {
    tx_id(Domain::new(tx.chain_id).signing_hash(&tx.action, &tx.body, tx.nonce, tx.expiry), tx.from)
}

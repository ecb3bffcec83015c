//! The checks a served block must pass before anything of it is written: the next height, the
//! indexed chain's parent, and every hash and root recomputed from what was served.

use alloy_primitives::B256;
use cairn_node::{
    block::{Header, Receipt, merkle_root, receipt_leaves},
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
    if below.is_none() && h.parent_hash != B256::ZERO {
        return Err(BadBlock::Shape { height: h.height, what: format!("genesis has parent {}", h.parent_hash) });
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
    let leaves = receipt_leaves(&block.receipts).map_err(encode)?;
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

/// A signed transaction's id (`tx_id` of its EIP-712 signing hash and signer), as the node
/// computes it.
pub fn tx_hash(tx: &SignedTx) -> B256 {
    tx_id(Domain::new(tx.chain_id).signing_hash(&tx.action, &tx.body, tx.nonce, tx.expiry), tx.from)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use cairn_node::envelope::dev_key;
    use cairn_primitives::{StrategyId, U256};
    use serde_json::json;

    use super::*;

    const PARENT: B256 = B256::repeat_byte(7);

    /// A block of two signed deposits at height 1, every hash and root as the node makes them.
    fn block() -> NodeBlock {
        let key = dev_key("cairn/indexer/verify");
        let domain = Domain::new(7);
        let txs: Vec<SignedTx> = (0..2u64)
            .map(|n| {
                let tx = cairn_state::Tx::Deposit { strategy: StrategyId(1), amount: U256::from(10 + n) };
                domain.sign(&key, &tx, n, 1_000)
            })
            .collect();
        let receipts = txs
            .iter()
            .enumerate()
            .map(|(i, t)| Receipt {
                tx_hash: tx_hash(t),
                height: 1,
                index: u32::try_from(i).unwrap(),
                sender: t.from,
                nonce: t.nonce,
                action: t.action.clone(),
                ok: true,
                events: vec![
                    json!({"event": "deposit", "staker": t.from, "strategy": 1, "amount": "10", "shares": "10"}),
                ],
                error: None,
            })
            .collect();
        let mut b = NodeBlock {
            header: Header {
                height: 1,
                time: 100,
                parent_hash: PARENT,
                tx_root: B256::ZERO,
                receipt_root: B256::ZERO,
                state_hash: B256::repeat_byte(3),
                tx_count: 2,
            },
            hash: B256::ZERO,
            txs,
            receipts,
            pruned: false,
        };
        seal(&mut b);
        b
    }

    /// Recomputes the header's roots and hash from the body, as a lying node that is careful
    /// about its header would.
    fn seal(b: &mut NodeBlock) {
        b.header.tx_root = merkle_root(b.receipts.iter().map(|r| r.tx_hash).collect());
        b.header.receipt_root = merkle_root(b.receipts.iter().map(|r| r.leaf().unwrap()).collect());
        b.hash = b.header.hash().unwrap();
    }

    fn checked(b: &NodeBlock) -> Result<(), BadBlock> {
        check(b, 1, Some((0, PARENT)))
    }

    fn shape(b: &NodeBlock) -> String {
        match checked(b) {
            Err(BadBlock::Shape { what, .. }) => what,
            other => panic!("expected a shape refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_block_as_the_node_makes_it_passes() {
        checked(&block()).unwrap();
    }

    #[test]
    fn height_parent_and_genesis_are_linked() {
        let b = block();
        assert_eq!(check(&b, 2, Some((1, PARENT))), Err(BadBlock::OutOfOrder { expected: 2, got: 1 }));
        let other = B256::repeat_byte(8);
        assert_eq!(
            check(&b, 1, Some((0, other))),
            Err(BadBlock::WrongParent { height: 1, parent: PARENT, below: 0, indexed: other })
        );
        let mut g = block();
        g.header.height = 0;
        seal(&mut g);
        assert!(matches!(check(&g, 0, None), Err(BadBlock::Shape { height: 0, .. })), "genesis with a parent");
    }

    #[test]
    fn the_served_hash_and_the_roots_must_be_the_headers() {
        let mut b = block();
        b.hash = B256::repeat_byte(9);
        assert!(matches!(checked(&b), Err(BadBlock::HeaderHash { height: 1, .. })));

        let mut b = block();
        b.receipts[1].events[0]["amount"] = json!("11");
        assert!(matches!(checked(&b), Err(BadBlock::Root { root: "receipt_root", .. })));
        b.receipts[1].ok = false;
        assert!(matches!(checked(&b), Err(BadBlock::Root { root: "receipt_root", .. })));

        let mut b = block();
        b.header.tx_root = B256::repeat_byte(4);
        b.hash = b.header.hash().unwrap();
        assert!(matches!(checked(&b), Err(BadBlock::Root { root: "tx_root", .. })));

        let mut b = block();
        b.pruned = true;
        assert_eq!(checked(&b), Err(BadBlock::Pruned { height: 1 }));
    }

    #[test]
    fn the_body_must_match_its_receipts_even_under_a_consistent_header() {
        let mut b = block();
        b.txs.pop();
        seal(&mut b);
        assert!(shape(&b).contains("2 but 1 transactions and 2 receipts"), "{}", shape(&b));

        let mut b = block();
        b.receipts[1].index = 5;
        seal(&mut b);
        assert!(shape(&b).contains("receipt 1 says height 1 index 5"));

        let mut b = block();
        b.receipts[0].nonce = 9;
        seal(&mut b);
        assert!(shape(&b).contains("does not describe transaction 0"));

        let mut b = block();
        b.txs[1].body = b.txs[1].body.replace("11", "12");
        seal(&mut b);
        assert!(shape(&b).contains("transaction 1 hashes to"), "{}", shape(&b));
    }
}

//! Blocks, headers and receipts.

use alloy_primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};

use crate::envelope::SignedTx;

/// A block header. Its hash (keccak256 of its postcard bytes) is the next block's parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Header {
    /// Height; genesis is 0.
    pub height: u64,
    /// Unix seconds, never decreasing.
    pub time: u64,
    /// Hash of the previous header (zero at genesis).
    #[schema(value_type = String)]
    pub parent_hash: B256,
    /// Merkle root of the transaction hashes.
    #[schema(value_type = String)]
    pub tx_root: B256,
    /// Merkle root of keccak256 of each receipt's JSON.
    #[schema(value_type = String)]
    pub receipt_root: B256,
    /// State commitment after this block: keccak256(previous ‖ keccak256(the block's changed rows)).
    #[schema(value_type = String)]
    pub state_hash: B256,
    /// Number of transactions.
    pub tx_count: u32,
}

impl Header {
    /// The header's hash.
    pub fn hash(&self) -> B256 {
        keccak256(postcard::to_allocvec(self).unwrap_or_default())
    }
}

/// A committed block: header and the signed transactions, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Block {
    /// Header.
    pub header: Header,
    /// Transactions as submitted.
    pub txs: Vec<SignedTx>,
}

/// A refused transaction's error: the state machine's error name and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptError {
    /// Error name, e.g. `InsufficientBalance`.
    pub name: String,
    /// Message with the values.
    pub message: String,
}

/// What a committed transaction did. A refused transaction is committed too (its nonce is used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// Transaction hash.
    #[schema(value_type = String)]
    pub tx_hash: B256,
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// Signer.
    #[schema(value_type = String)]
    pub sender: Address,
    /// Nonce used.
    pub nonce: u64,
    /// Action.
    pub action: String,
    /// Whether the state machine accepted it.
    pub ok: bool,
    /// Events, in order (empty when refused).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// The refusal, if any.
    pub error: Option<ReceiptError>,
}

/// Positional binary merkle root over keccak256 (an odd node is paired with itself; empty: zero).
pub fn merkle_root(mut level: Vec<B256>) -> B256 {
    if level.is_empty() {
        return B256::ZERO;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| {
                let right = p.get(1).unwrap_or(&p[0]);
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(p[0].as_slice());
                buf[32..].copy_from_slice(right.as_slice());
                keccak256(buf)
            })
            .collect();
    }
    level[0]
}

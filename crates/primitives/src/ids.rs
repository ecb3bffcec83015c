//! Identifiers of the protocol's objects.

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A block height.
pub type Block = u64;
/// A unix timestamp in seconds (from the block header).
pub type Timestamp = u64;
/// An allocation magnitude: a share of an operator's stake in one strategy, out of 1e18.
pub type Magnitude = u64;

/// A registered token (asset), numbered in registration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AssetId(pub u32);

/// A strategy (the vault of one asset), numbered in creation order; order is the "ascending" order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StrategyId(pub u32);

/// A liquid restaking vault, numbered in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VaultId(pub u32);

/// An operator set: a service (AVS) address and a set number within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OperatorSetKey {
    /// The service that created the set.
    pub service: Address,
    /// The set's number within the service.
    pub id: u32,
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "asset#{}", self.0)
    }
}

impl fmt::Display for VaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vault#{}", self.0)
    }
}

impl fmt::Display for StrategyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "strategy#{}", self.0)
    }
}

impl fmt::Display for OperatorSetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.id)
    }
}

impl OperatorSetKey {
    /// The set's 32-byte key as EigenLayer packs it: service (20 bytes) ‖ uint96(id) big-endian.
    pub fn packed(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..20].copy_from_slice(self.service.as_slice());
        out[28..].copy_from_slice(&self.id.to_be_bytes());
        out
    }
}

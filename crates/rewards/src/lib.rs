//! Cairn's rewards calculator (off-consensus, deterministic) and distribution tree.
//!
//! [`calc::calculate`] turns submissions and daily snapshots of the state into cumulative
//! earnings per (earner, token) exactly as reference section 6.6 describes; [`tree::RewardsTree`]
//! commits them as EigenLayer's two-level merkle tree, whose root the rewards updater posts and
//! whose proofs the state machine checks (`cairn_primitives::merkle`).
#![forbid(unsafe_code)]
#![deny(clippy::arithmetic_side_effects)]

pub mod calc;
pub mod tree;

pub use calc::{CalcError, Calculation, Recorder, Snapshot, SnapshotSource, Snapshots, Tally, calculate};
pub use tree::{Earnings, RewardsTree};

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::unwrap_used, clippy::expect_used)]
mod tests;

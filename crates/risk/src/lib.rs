//! Cairn's risk engine: is a restaking network secure, and what would a shock cost?
//!
//! The restaking graph (validators with stake, services with a profit from corruption and a
//! corruption threshold, edges with optional allocations) is read from a JSON document or built
//! from the protocol state. Every decision is exact: integers (U256) and rationals compared by
//! cross-multiplication, never floats. See `docs/risk.md` for the models and the algorithms.
#![forbid(unsafe_code)]
#![deny(clippy::arithmetic_side_effects)]

pub mod bounds;
pub mod certify;
pub mod concentration;
pub mod elastic;
pub mod exact;
pub mod exposure;
pub mod from_state;
pub mod graph;
pub mod leverage;
pub mod milp;
pub mod report;
pub mod solver;

pub use exact::{Attack, LossReport, SecurityReport};
pub use graph::{Graph, GraphError, GraphSpec, Ratio};
pub use leverage::{LeverageReport, ValidatorLeverage};
pub use report::{Options, Report, Verdict, analyse};

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests;

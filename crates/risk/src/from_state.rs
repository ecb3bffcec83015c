//! The restaking graph of a protocol state: operators as validators, operator sets as services,
//! allocated stake as the edges (unique stake, model M3), and each set's profit from corruption
//! and corruption threshold as the service declares them.
//!
//! Stake is counted in underlying tokens (each strategy's shares converted at its exchange rate,
//! rounding down) and strategies are summed one to one: the graph is meaningful when the
//! strategies' assets are of equal value (ETH and its liquid staking tokens, say).

use cairn_primitives::{Address, Block, OperatorSetKey, U256};
use cairn_state::State;
use serde::{Deserialize, Serialize};

use crate::graph::{EdgeSpec, Graph, GraphError, GraphSpec, Ratio, ServiceSpec, ValidatorSpec};

/// What a service declares for one operator set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRisk {
    /// The operator set.
    pub set: OperatorSetKey,
    /// Profit from corrupting it, in underlying tokens.
    pub prize: U256,
    /// Fraction of its allocated stake needed to corrupt it.
    pub threshold: Ratio,
}

/// Every set's prize and threshold as its service declared them on chain (`declare_set_risk`).
pub fn declared_sets(state: &State) -> Vec<SetRisk> {
    state
        .set_risks()
        .into_iter()
        .map(|(set, d)| SetRisk {
            set,
            prize: d.prize,
            threshold: Ratio { num: d.threshold_num, den: d.threshold_den },
        })
        .collect()
}

fn underlying(state: &State, strategy: cairn_primitives::StrategyId, shares: U256) -> U256 {
    state.shares_to_underlying(strategy, shares).unwrap_or_default()
}

/// Builds the graph at `block`. Operators without stake are left out; an edge exists where the
/// operator is slashable by the set and has stake allocated to it; `name` labels accounts.
pub fn graph_from_state(
    state: &State,
    block: Block,
    sets: &[SetRisk],
    name: impl Fn(Address) -> String,
) -> Result<Graph, GraphError> {
    let strategies = state.strategy_ids();
    let mut validators = Vec::new();
    let mut edges = Vec::new();
    for op in state.operator_addresses() {
        let stake = strategies
            .iter()
            .fold(U256::ZERO, |a, s| a.saturating_add(underlying(state, *s, state.operator_shares(op, *s))));
        if stake.is_zero() {
            continue;
        }
        validators.push(ValidatorSpec { name: name(op), stake: stake.into() });
        for r in sets {
            if !state.is_slashable_by(op, r.set, block) {
                continue;
            }
            let allocated = strategies.iter().fold(U256::ZERO, |a, s| {
                let shares = state.allocated_stake(op, r.set, *s, block).unwrap_or_default();
                a.saturating_add(underlying(state, *s, shares))
            });
            if !allocated.is_zero() {
                edges.push(EdgeSpec {
                    service: set_name(&name, r.set),
                    validator: name(op),
                    allocation: Some(allocated.min(stake).into()),
                });
            }
        }
    }
    let services = sets
        .iter()
        .map(|r| ServiceSpec { name: set_name(&name, r.set), prize: r.prize.into(), threshold: r.threshold })
        .collect();
    Graph::from_spec(&GraphSpec { validators, services, edges, budget: None })
}

fn set_name(name: &impl Fn(Address) -> String, set: OperatorSetKey) -> String {
    format!("{}/{}", name(set.service), set.id)
}

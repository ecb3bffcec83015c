//! Exposure reports: what an operator or a staker loses if one service — or any k services —
//! slash everything allocated to them. With unique stake a slash by one service never touches
//! another's allocation, so the losses add up and "any k" is the sum of the k largest.
//!
//! Amounts are underlying tokens (shares converted at each strategy's rate, rounding down),
//! strategies summed one to one, as in `from_state`.

use std::collections::BTreeMap;

use cairn_primitives::{Address, Block, U256, math};
use cairn_state::State;
use serde::Serialize;

/// One account's exposure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exposure {
    /// The account.
    pub account: String,
    /// `"operator"` or `"staker"`.
    pub role: &'static str,
    /// Stake at risk today (underlying tokens).
    pub stake: String,
    /// Loss if each service slashes in full, largest first.
    pub per_service: Vec<(String, String)>,
    /// Loss if the k most damaging services all slash in full, for k = 1, 2, ….
    pub worst_k: Vec<String>,
}

fn tokens(state: &State, s: cairn_primitives::StrategyId, shares: U256) -> U256 {
    state.shares_to_underlying(s, shares).unwrap_or_default()
}

/// Per service, the operator's slashable shares in each strategy (summed over its sets).
fn operator_slashable(
    state: &State,
    op: Address,
    block: Block,
) -> BTreeMap<Address, Vec<(cairn_primitives::StrategyId, U256)>> {
    let mut out: BTreeMap<Address, Vec<(cairn_primitives::StrategyId, U256)>> = BTreeMap::new();
    for (set, s, _) in state.operator_allocations(op, block) {
        if !state.is_slashable_by(op, set, block) || !state.operator_set(set).is_ok_and(|i| i.strategies.contains(&s)) {
            continue;
        }
        let shares = state.allocated_stake(op, set, s, block).unwrap_or_default();
        if !shares.is_zero() {
            out.entry(set.service).or_default().push((s, shares));
        }
    }
    out
}

fn finish(account: String, role: &'static str, stake: U256, mut losses: Vec<(String, U256)>) -> Exposure {
    losses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut acc = U256::ZERO;
    let worst_k = losses
        .iter()
        .map(|(_, l)| {
            acc = acc.saturating_add(*l).min(stake);
            acc.to_string()
        })
        .collect();
    Exposure {
        account,
        role,
        stake: stake.to_string(),
        per_service: losses.into_iter().map(|(s, l)| (s, l.to_string())).collect(),
        worst_k,
    }
}

/// An operator's exposure: the allocated stake each service could take.
pub fn operator_exposure(state: &State, op: Address, block: Block, name: &impl Fn(Address) -> String) -> Exposure {
    let stake = state
        .strategy_ids()
        .into_iter()
        .fold(U256::ZERO, |a, s| a.saturating_add(tokens(state, s, state.operator_shares(op, s))));
    let losses = operator_slashable(state, op, block)
        .into_iter()
        .map(|(service, parts)| {
            let loss = parts.iter().fold(U256::ZERO, |a, (s, shares)| a.saturating_add(tokens(state, *s, *shares)));
            (name(service), loss)
        })
        .collect();
    finish(name(op), "operator", stake, losses)
}

/// A staker's exposure: its share of its operator's slashable stake, per service
/// (floor(withdrawable · slashable / operator shares) in each strategy).
pub fn staker_exposure(state: &State, staker: Address, block: Block, name: &impl Fn(Address) -> String) -> Exposure {
    let mut stake = U256::ZERO;
    let mut own = BTreeMap::new();
    for s in state.staker_strategies(staker) {
        let w = state.withdrawable_shares(staker, s).unwrap_or_default();
        stake = stake.saturating_add(tokens(state, s, w));
        own.insert(s, w);
    }
    let losses = match state.delegated_to(staker) {
        None => Vec::new(),
        Some(op) => operator_slashable(state, op, block)
            .into_iter()
            .map(|(service, parts)| {
                let loss = parts.iter().fold(U256::ZERO, |a, (s, slashable)| {
                    let mine = own.get(s).copied().unwrap_or_default();
                    let total = state.operator_shares(op, *s);
                    let part = math::mul_div_down(mine, *slashable, total).unwrap_or_default();
                    a.saturating_add(tokens(state, *s, part))
                });
                (name(service), loss)
            })
            .collect(),
    };
    finish(name(staker), "staker", stake, losses)
}

/// A vault's exposure: what each service could take of the vault's stake (restaked and
/// unbonding, valued at the vault's prices) if it slashed all it can, and the loss if any k of
/// them slash together. The numbers are the state machine's own (`State::vault_service_losses`);
/// with unique stake the losses add up, capped at the vault's net assets.
pub fn vault_exposure(
    state: &State,
    vault: cairn_primitives::VaultId,
    block: Block,
    name: &impl Fn(Address) -> String,
) -> Result<Exposure, cairn_state::TxError> {
    let total = state.vault_total_assets(vault, block)?;
    let losses = state.vault_service_losses(vault, block)?.into_iter().map(|(s, l)| (name(s), l)).collect();
    let symbol = state.vault_cfg(vault).map(|c| c.symbol.clone()).unwrap_or_default();
    Ok(finish(format!("vault {} ({symbol})", vault.0), "vault", total, losses))
}

#[cfg(test)]
mod vault_tests {
    use super::*;
    use cairn_primitives::U256;

    #[test]
    fn worst_k_adds_losses_and_caps_at_the_stake() {
        let e = finish(
            "v".into(),
            "vault",
            U256::from(100u8),
            vec![("a".into(), U256::from(30u8)), ("b".into(), U256::from(90u8))],
        );
        assert_eq!(e.per_service[0], ("b".to_string(), "90".to_string()));
        assert_eq!(e.worst_k, vec!["90".to_string(), "100".to_string()]);
    }
}

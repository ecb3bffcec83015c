//! The allocation policy, checked in integers ([LRV §11.1]): the keeper's targets (computed off
//! consensus, possibly with floats) must name allowed operators within their caps, keep the
//! minimum buffer, keep each service's exposure under its cap, and keep the worst
//! single-service loss — computed here, deterministically, from the allocations in force — within
//! the risk budget. A refusal names the offending numbers.
//!
//! Exposure of the vault to a service S, in bps of the vault: Σ over operators of
//! `weight · f(op, S)`, where `f` is the largest fraction, over the strategies the vault holds,
//! of the operator's max magnitude that S's operator sets may slash (current or pending
//! allocation, whichever is larger), rounded up. It is the loss if S slashes all it can.

use std::collections::BTreeMap;

use cairn_primitives::{Address, Block, StrategyId, U256, WAD, math};

use super::{TargetWeight, Targets, VaultError, book::BPS, tx::SetTargets};
use crate::{Ctx, Event, State, TxError};

/// Per service, the fraction (WAD, rounded up, at most WAD) of `operator`'s stake it can slash,
/// the largest over `strategies`: what `exposure_bps` weighs each target with.
pub fn operator_fractions(
    state: &State,
    operator: Address,
    strategies: &[StrategyId],
    block: Block,
) -> Result<BTreeMap<Address, U256>, TxError> {
    let mut per: BTreeMap<(Address, StrategyId), u128> = BTreeMap::new();
    for (set, s, a) in state.operator_allocations(operator, block) {
        if !strategies.contains(&s) || !state.is_slashable_by(operator, set, block) {
            continue;
        }
        let mag = u128::from(a.current.max(a.target()));
        let e = per.entry((set.service, s)).or_default();
        *e = e.saturating_add(mag);
    }
    let mut out: BTreeMap<Address, U256> = BTreeMap::new();
    for ((service, s), mag) in per {
        let max = state.max_magnitude(operator, s);
        let f = if max == 0 { WAD } else { math::mul_div_up(U256::from(mag), WAD, U256::from(max))?.min(WAD) };
        let e = out.entry(service).or_default();
        *e = (*e).max(f);
    }
    Ok(out)
}

/// The vault's exposure to each service for these weights, in bps (rounded up), ascending by
/// service.
pub fn exposure_bps(
    state: &State,
    weights: &[TargetWeight],
    strategies: &[StrategyId],
    block: Block,
) -> Result<Vec<(Address, u16)>, TxError> {
    let mut sums: BTreeMap<Address, U256> = BTreeMap::new();
    for w in weights.iter().filter(|w| w.bps > 0) {
        for (service, f) in operator_fractions(state, w.operator, strategies, block)? {
            let e = sums.entry(service).or_default();
            *e = math::add(*e, math::mul(U256::from(w.bps), f)?)?;
        }
    }
    sums.into_iter()
        .map(|(s, v)| {
            let bps = math::mul_div_up(v, U256::from(1u8), WAD)?;
            Ok((s, u16::try_from(bps.min(U256::from(BPS))).unwrap_or(u16::MAX)))
        })
        .collect()
}

/// The worst single-service loss for these weights: (service, bps), the largest exposure (ties:
/// the lowest address).
pub fn worst_loss(
    state: &State,
    weights: &[TargetWeight],
    strategies: &[StrategyId],
    block: Block,
) -> Result<Option<(Address, u16)>, TxError> {
    let exp = exposure_bps(state, weights, strategies, block)?;
    Ok(exp.into_iter().fold(None, |best: Option<(Address, u16)>, (s, b)| match best {
        Some((_, bb)) if bb >= b => best,
        _ => Some((s, b)),
    }))
}

impl State {
    /// The strategies a vault can hold: those of every asset it prices, accepted for deposits
    /// or not (the beacon strategy for the native asset), ascending.
    pub fn vault_strategies(&self, vault: cairn_primitives::VaultId) -> Result<Vec<StrategyId>, TxError> {
        let cfg = self.vault_cfg(vault)?;
        let mut out: Vec<StrategyId> = cfg
            .assets
            .iter()
            .filter_map(|a| match self.g.native {
                Some(n) if n.asset == a.asset => Some(n.strategy),
                _ => self.strategy_of_asset(a.asset),
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Checks targets against the vault's policy at `block`; returns them with their worst loss.
    pub(crate) fn check_targets(
        &self,
        vault: cairn_primitives::VaultId,
        buffer_bps: u16,
        operators: &[TargetWeight],
        block: Block,
    ) -> Result<Targets, TxError> {
        let cfg = self.vault_cfg(vault)?;
        let p = &cfg.policy;
        if buffer_bps < p.min_buffer_bps {
            return Err(VaultError::BufferBelowMinimum { buffer_bps, min_bps: p.min_buffer_bps }.into());
        }
        for w in operators {
            let limit =
                cfg.operator_limit(w.operator).ok_or(VaultError::OperatorNotAllowed { vault, operator: w.operator })?;
            if w.bps > limit.cap_bps {
                return Err(VaultError::OperatorCapExceeded {
                    operator: w.operator,
                    bps: w.bps,
                    cap_bps: limit.cap_bps,
                }
                .into());
            }
            if w.bps > 0 && !self.is_operator(w.operator) {
                return Err(VaultError::NotAnOperator { operator: w.operator }.into());
            }
        }
        let strategies = self.vault_strategies(vault)?;
        let exposures = exposure_bps(self, operators, &strategies, block)?;
        for (service, bps) in &exposures {
            let cap = cfg.service_cap(*service);
            if *bps > cap {
                return Err(
                    VaultError::ServiceCapExceeded { service: *service, exposure_bps: *bps, cap_bps: cap }.into()
                );
            }
        }
        let worst = exposures.iter().fold(None, |best: Option<(Address, u16)>, (s, b)| match best {
            Some((_, bb)) if bb >= *b => best,
            _ => Some((*s, *b)),
        });
        if let Some((service, loss_bps)) = worst
            && loss_bps > p.risk_budget_bps
        {
            return Err(VaultError::RiskBudgetExceeded { service, loss_bps, budget_bps: p.risk_budget_bps }.into());
        }
        Ok(Targets {
            buffer_bps,
            operators: operators.to_vec(),
            worst_loss_bps: worst.map_or(0, |w| w.1),
            worst_service: worst.map(|w| w.0),
            set_at: block,
        })
    }

    /// `vault_set_targets`: the keeper's targets, refused if they break the policy.
    pub(crate) fn tx_vault_set_targets(
        &mut self,
        ctx: &Ctx,
        t: &SetTargets,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let operators = t.check_stateless()?;
        let vault = t.vault;
        let keeper = self.vault_cfg(vault)?.keeper;
        if ctx.sender != keeper {
            return Err(VaultError::NotKeeper { sender: ctx.sender, keeper }.into());
        }
        if self.vault_book(vault)?.emergency {
            return Err(VaultError::InEmergency { vault }.into());
        }
        let targets = self.check_targets(vault, t.buffer_bps, &operators, ctx.block)?;
        ev.push(Event::VaultTargetsSet {
            vault,
            buffer_bps: targets.buffer_bps,
            operators: targets.operators.clone(),
            worst_loss_bps: targets.worst_loss_bps,
            worst_service: targets.worst_service,
        });
        let mut cfg = self.vault_cfg(vault)?.clone();
        cfg.targets = Some(targets);
        self.vaults.insert(vault, cfg);
        Ok(())
    }
}

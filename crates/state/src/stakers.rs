//! Stakers: deposit shares, the deposit scaling factor (DSF) and withdrawable shares.
//!
//! withdrawable = floor(floor(s · k / WAD) · sf / WAD), where `sf` is the operator's max magnitude
//! (WAD when undelegated). Deposits re-solve `k` so withdrawable grows by exactly the deposit.

use cairn_primitives::{Address, StrategyId, U256, WAD, math};
use serde::{Deserialize, Serialize};

use crate::{Event, State, TxError, delegation::DelegationError};

/// One (staker, strategy) position: 64 bytes of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Deposit shares `s`.
    pub deposit_shares: U256,
    /// Deposit scaling factor `k` (WAD when reset).
    pub dsf: U256,
}

impl Default for Position {
    fn default() -> Self {
        Self { deposit_shares: U256::ZERO, dsf: WAD }
    }
}

/// `floor(floor(s · k / WAD) · sf / WAD)`.
pub fn calc_withdrawable(shares: U256, dsf: U256, sf: U256) -> Result<U256, TxError> {
    Ok(math::mul_wad(math::mul_wad(shares, dsf)?, sf)?)
}

impl State {
    /// A staker's position in a strategy (default: no shares, DSF = WAD).
    pub fn position(&self, staker: Address, strategy: StrategyId) -> Position {
        self.positions.get(&(staker, strategy)).copied().unwrap_or_default()
    }

    /// The strategies a staker holds, ascending.
    pub fn staker_strategies(&self, staker: Address) -> Vec<StrategyId> {
        self.positions.range((staker, StrategyId(0))..=(staker, StrategyId(u32::MAX))).map(|((_, s), _)| *s).collect()
    }

    /// The operator a staker is delegated to.
    pub fn delegated_to(&self, staker: Address) -> Option<Address> {
        self.delegated_to.get(&staker).copied()
    }

    /// The operator's max magnitude for a strategy now (WAD if never slashed).
    pub fn max_magnitude(&self, operator: Address, strategy: StrategyId) -> u64 {
        self.max_magnitude.latest(&(operator, strategy)).unwrap_or(WAD_U64)
    }

    /// The operator's max magnitude as of `block` (historical lookup).
    pub fn max_magnitude_at(&self, operator: Address, strategy: StrategyId, block: u64) -> u64 {
        self.max_magnitude.at(&(operator, strategy), block).unwrap_or(WAD_U64)
    }

    /// The slashing factor for a staker delegated to `operator` (WAD when undelegated).
    pub fn slashing_factor(&self, operator: Option<Address>, strategy: StrategyId) -> U256 {
        operator.map_or(WAD, |op| U256::from(self.max_magnitude(op, strategy)))
    }

    /// Withdrawable shares of a staker in a strategy now.
    pub fn withdrawable_shares(&self, staker: Address, strategy: StrategyId) -> Result<U256, TxError> {
        let p = self.position(staker, strategy);
        calc_withdrawable(p.deposit_shares, p.dsf, self.slashing_factor(self.delegated_to(staker), strategy))
    }

    /// Credits deposit shares; returns the previous balance. Enforces the strategy-list limit.
    pub(crate) fn add_deposit_shares(
        &mut self,
        staker: Address,
        strategy: StrategyId,
        shares: U256,
    ) -> Result<U256, TxError> {
        if shares.is_zero() {
            return Err(DelegationError::SharesAmountZero.into());
        }
        let mut p = self.position(staker, strategy);
        let prev = p.deposit_shares;
        if prev.is_zero() {
            let held = self.positions.range((staker, StrategyId(0))..=(staker, StrategyId(u32::MAX))).count();
            let max = self.g.params.max_staker_strategies as usize;
            if held >= max {
                return Err(DelegationError::MaxStrategiesExceeded {
                    staker,
                    max: self.g.params.max_staker_strategies,
                }
                .into());
            }
        }
        p.deposit_shares = math::add(prev, shares)?;
        self.positions.insert((staker, strategy), p);
        Ok(prev)
    }

    /// Removes deposit shares; at zero the DSF resets to WAD (the position disappears).
    pub(crate) fn remove_deposit_shares(
        &mut self,
        staker: Address,
        strategy: StrategyId,
        shares: U256,
        ev: &mut Vec<Event>,
    ) -> Result<U256, TxError> {
        let mut p = self.position(staker, strategy);
        let rest = p.deposit_shares.checked_sub(shares).ok_or(DelegationError::SharesAmountTooHigh {
            staker,
            strategy,
            requested: shares,
            held: p.deposit_shares,
        })?;
        if rest.is_zero() {
            self.positions.remove(&(staker, strategy));
            ev.push(Event::DepositScalingFactorUpdated { staker, strategy, new_dsf: WAD });
        } else {
            p.deposit_shares = rest;
            self.positions.insert((staker, strategy), p);
        }
        Ok(rest)
    }

    /// `SlashingLib.update`: re-solves the DSF so that withdrawable grows by exactly `added`.
    pub(crate) fn update_dsf(
        &mut self,
        staker: Address,
        strategy: StrategyId,
        prev: U256,
        added: U256,
        sf: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let mut p = self.position(staker, strategy);
        let new_dsf = if prev.is_zero() {
            // First deposit or delegation: forgive past slashing, k = k / sf.
            math::div_wad(p.dsf, sf)?
        } else {
            let cur = calc_withdrawable(prev, p.dsf, sf)?;
            let k = math::div_wad(math::div_wad(math::add(cur, added)?, math::add(prev, added)?)?, sf)?;
            if k.is_zero() {
                return Err(DelegationError::InvalidDepositScalingFactor { staker, strategy }.into());
            }
            k
        };
        p.dsf = new_dsf;
        self.positions.insert((staker, strategy), p);
        ev.push(Event::DepositScalingFactorUpdated { staker, strategy, new_dsf });
        Ok(())
    }

    /// `increaseDelegatedShares`: DSF update against the current slashing factor, then the
    /// operator's shares grow by exactly `added`.
    pub(crate) fn increase_delegated_shares(
        &mut self,
        staker: Address,
        strategy: StrategyId,
        prev: U256,
        added: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let operator = self.delegated_to(staker);
        let sf = self.slashing_factor(operator, strategy);
        if sf.is_zero() {
            return Err(DelegationError::FullySlashed { operator: operator.unwrap_or_default(), strategy }.into());
        }
        if added.is_zero() {
            return Ok(());
        }
        self.update_dsf(staker, strategy, prev, added, sf, ev)?;
        if let Some(op) = operator {
            self.add_operator_shares(op, staker, strategy, added, ev)?;
        }
        Ok(())
    }

    /// Operator shares in a strategy.
    pub fn operator_shares(&self, operator: Address, strategy: StrategyId) -> U256 {
        self.operator_shares.get(&(operator, strategy)).copied().unwrap_or_default()
    }

    pub(crate) fn add_operator_shares(
        &mut self,
        operator: Address,
        staker: Address,
        strategy: StrategyId,
        shares: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let v = math::add(self.operator_shares(operator, strategy), shares)?;
        self.operator_shares.insert((operator, strategy), v);
        ev.push(Event::OperatorSharesIncreased { operator, staker, strategy, shares });
        Ok(())
    }

    pub(crate) fn sub_operator_shares(
        &mut self,
        operator: Address,
        staker: Address,
        strategy: StrategyId,
        shares: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let v = math::sub(self.operator_shares(operator, strategy), shares)?;
        if v.is_zero() {
            self.operator_shares.remove(&(operator, strategy));
        } else {
            self.operator_shares.insert((operator, strategy), v);
        }
        ev.push(Event::OperatorSharesDecreased { operator, staker, strategy, shares });
        Ok(())
    }
}

/// WAD as a magnitude.
pub const WAD_U64: u64 = 1_000_000_000_000_000_000;

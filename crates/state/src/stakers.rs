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

/// Everything the protocol keeps per staker, in one record so a deposit or delegation touches one
/// entry: the operator, the withdrawal nonce and the positions (sorted by strategy).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Staker {
    /// The operator, if delegated.
    pub delegated_to: Option<Address>,
    /// Withdrawals queued so far (the next withdrawal's nonce).
    pub withdrawal_nonce: u64,
    /// Positions, ascending by strategy; none has zero deposit shares.
    pub positions: smallvec::SmallVec<[(StrategyId, Position); 1]>,
}

impl Clone for Staker {
    fn clone(&self) -> Self {
        // Positions are plain data: one copy, not an element-by-element rebuild.
        Self {
            delegated_to: self.delegated_to,
            withdrawal_nonce: self.withdrawal_nonce,
            positions: smallvec::SmallVec::from_slice(&self.positions),
        }
    }
}

impl Staker {
    fn find(&self, strategy: StrategyId) -> Result<usize, usize> {
        self.positions.binary_search_by_key(&strategy, |(s, _)| *s)
    }

    /// The position in `strategy`, if any.
    pub fn position(&self, strategy: StrategyId) -> Option<&Position> {
        self.find(strategy).ok().map(|i| &self.positions[i].1)
    }

    /// Sets (or, when `p` has no shares and a reset DSF, removes) the position in `strategy`.
    fn set_position(&mut self, strategy: StrategyId, p: Position) {
        let keep = !p.deposit_shares.is_zero() || p.dsf != WAD;
        match (self.find(strategy), keep) {
            (Ok(i), true) => self.positions[i].1 = p,
            (Ok(i), false) => {
                self.positions.remove(i);
            }
            (Err(i), true) => {
                // Most stakers hold one or two strategies: grow by one, not by doubling.
                self.positions.reserve_exact(1);
                self.positions.insert(i, (strategy, p));
            }
            (Err(_), false) => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.delegated_to.is_none() && self.withdrawal_nonce == 0 && self.positions.is_empty()
    }
}

impl State {
    /// The staker record of `staker`, if it has one.
    pub fn staker(&self, staker: Address) -> Option<&Staker> {
        self.stakers.get(&staker)
    }

    /// Applies `f` to a copy of the staker's record and stores it (an empty record is removed).
    pub(crate) fn update_staker<T>(&mut self, staker: Address, f: impl FnOnce(&mut Staker) -> T) -> T {
        let result: Result<T, std::convert::Infallible> = self.stakers.update(staker, |cur| {
            let mut rec = cur.cloned().unwrap_or_default();
            let out = f(&mut rec);
            Ok(((!rec.is_empty()).then_some(rec), out))
        });
        let Ok(out) = result;
        out
    }

    /// A staker's position in a strategy (default: no shares, DSF = WAD).
    pub fn position(&self, staker: Address, strategy: StrategyId) -> Position {
        self.staker(staker).and_then(|r| r.position(strategy)).copied().unwrap_or_default()
    }

    /// The strategies a staker holds, ascending.
    pub fn staker_strategies(&self, staker: Address) -> Vec<StrategyId> {
        self.staker(staker).map(|r| r.positions.iter().map(|(s, _)| *s).collect()).unwrap_or_default()
    }

    /// The operator a staker is delegated to.
    pub fn delegated_to(&self, staker: Address) -> Option<Address> {
        self.staker(staker).and_then(|r| r.delegated_to)
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

    /// A staker's slashing factor: the operator's magnitude, times the pod's beacon-chain
    /// slashing factor for the beacon strategy (`floor(m · l / WAD)`).
    pub fn staker_slashing_factor(
        &self,
        staker: Address,
        operator: Option<Address>,
        strategy: StrategyId,
    ) -> Result<U256, TxError> {
        let m = self.slashing_factor(operator, strategy);
        if !self.is_beacon(strategy) {
            return Ok(m);
        }
        Ok(math::mul_wad(m, U256::from(self.beacon_factor(staker)))?)
    }

    /// Withdrawable shares of a staker in a strategy now.
    pub fn withdrawable_shares(&self, staker: Address, strategy: StrategyId) -> Result<U256, TxError> {
        let p = self.position(staker, strategy);
        let sf = self.staker_slashing_factor(staker, self.delegated_to(staker), strategy)?;
        calc_withdrawable(p.deposit_shares, p.dsf, sf)
    }

    /// Credits `shares` new deposit shares (a deposit, or a withdrawal completed as shares):
    /// `addShares` then `increaseDelegatedShares`, written to the staker's record once.
    pub(crate) fn credit_deposit_shares(
        &mut self,
        staker: Address,
        strategy: StrategyId,
        shares: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        if shares.is_zero() {
            return Err(DelegationError::SharesAmountZero.into());
        }
        let max = self.g.params.max_staker_strategies;
        let rec = self.staker(staker);
        let operator = rec.and_then(|r| r.delegated_to);
        let mut p = rec.and_then(|r| r.position(strategy)).copied().unwrap_or_default();
        let prev = p.deposit_shares;
        // The limit is on token strategies (EigenLayer's StrategyManager list); beacon shares
        // live beside them (EigenPodManager) and never count.
        if prev.is_zero() && !self.is_beacon(strategy) {
            let held = rec.map_or(0, |r| r.positions.iter().filter(|(s, _)| !self.is_beacon(*s)).count());
            if held >= max as usize {
                return Err(DelegationError::MaxStrategiesExceeded { staker, max }.into());
            }
        }
        let sf = self.staker_slashing_factor(staker, operator, strategy)?;
        if sf.is_zero() {
            return Err(DelegationError::FullySlashed { operator: operator.unwrap_or_default(), strategy }.into());
        }
        p.dsf = dsf_after(staker, strategy, p.dsf, prev, shares, sf)?;
        p.deposit_shares = math::add(prev, shares)?;
        self.update_staker(staker, |r| r.set_position(strategy, p));
        ev.push(Event::DepositScalingFactorUpdated { staker, strategy, new_dsf: p.dsf });
        if let Some(op) = operator {
            self.add_operator_shares(op, staker, strategy, shares, ev)?;
        }
        Ok(())
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
        p.deposit_shares = rest;
        if rest.is_zero() {
            p.dsf = WAD;
            ev.push(Event::DepositScalingFactorUpdated { staker, strategy, new_dsf: WAD });
        }
        self.update_staker(staker, |r| r.set_position(strategy, p));
        Ok(rest)
    }

    /// Sets the DSF for `added` shares on top of `prev` at slashing factor `sf` (delegation uses
    /// `prev = 0`, which divides the DSF by the operator's magnitude).
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
        p.dsf = dsf_after(staker, strategy, p.dsf, prev, added, sf)?;
        self.update_staker(staker, |r| r.set_position(strategy, p));
        ev.push(Event::DepositScalingFactorUpdated { staker, strategy, new_dsf: p.dsf });
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
        // One hash lookup reads and writes the total.
        self.operator_shares.update((operator, strategy), |cur| {
            Ok::<_, TxError>((Some(math::add(cur.copied().unwrap_or_default(), shares)?), ()))
        })?;
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
        // One hash lookup reads and writes the total; a zero total is removed.
        self.operator_shares.update((operator, strategy), |cur| {
            let v = math::sub(cur.copied().unwrap_or_default(), shares)?;
            Ok::<_, TxError>(((!v.is_zero()).then_some(v), ()))
        })?;
        ev.push(Event::OperatorSharesDecreased { operator, staker, strategy, shares });
        Ok(())
    }
}

/// `SlashingLib.update`: the DSF after adding `added` shares to `prev` at slashing factor `sf`,
/// so that withdrawable grows by exactly `added` (up to rounding down).
fn dsf_after(
    staker: Address,
    strategy: StrategyId,
    k: U256,
    prev: U256,
    added: U256,
    sf: U256,
) -> Result<U256, TxError> {
    if prev.is_zero() {
        // First deposit or delegation: forgive past slashing, k = k / sf.
        return Ok(math::div_wad(k, sf)?);
    }
    let cur = calc_withdrawable(prev, k, sf)?;
    let k = math::div_wad(math::div_wad(math::add(cur, added)?, math::add(prev, added)?)?, sf)?;
    if k.is_zero() {
        return Err(DelegationError::InvalidDepositScalingFactor { staker, strategy }.into());
    }
    Ok(k)
}

/// WAD as a magnitude.
pub const WAD_U64: u64 = 1_000_000_000_000_000_000;

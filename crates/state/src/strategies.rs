//! Strategies: one vault per asset with EigenLayer's share accounting and its virtual offsets
//! (1e3 shares / 1e3 tokens) against inflation attacks, plus deposit caps.

use cairn_primitives::{Address, AssetId, StrategyId, U256, WAD, math, named_address};
use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError};

/// Virtual shares added to the total (`SHARES_OFFSET`).
pub const SHARES_OFFSET: U256 = U256::from_limbs([1_000, 0, 0, 0]);
/// Virtual tokens added to the balance (`BALANCE_OFFSET`).
pub const BALANCE_OFFSET: U256 = U256::from_limbs([1_000, 0, 0, 0]);
/// Most shares a strategy may issue (`MAX_TOTAL_SHARES` = 1e38 − 1).
pub const MAX_TOTAL_SHARES: U256 = U256::from_limbs([0x098a_2240_0000_0000 - 1, 0x4b3b_4ca8_5a86_c47a, 0, 0]);

/// A strategy vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strategy {
    /// The asset it holds.
    pub asset: AssetId,
    /// The account holding its tokens.
    pub address: Address,
    /// Shares issued.
    pub total_shares: U256,
    /// Most tokens it may hold after a deposit, if capped.
    pub deposit_cap: Option<U256>,
    /// The beacon-chain strategy: shares are wei of restaked ETH held in pods, not tokens here.
    #[serde(default)]
    pub native: bool,
}

/// Why a strategy operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum StrategyError {
    /// No such strategy.
    #[error("unknown strategy {strategy}")]
    UnknownStrategy {
        /// The strategy.
        strategy: StrategyId,
    },
    /// The asset already has a strategy.
    #[error("asset {asset} already has strategy {strategy}")]
    StrategyExists {
        /// The asset.
        asset: AssetId,
        /// Its strategy.
        strategy: StrategyId,
    },
    /// The deposit would mint zero shares.
    #[error("depositing {amount} mints zero shares")]
    NewSharesZero {
        /// The amount.
        amount: U256,
    },
    /// The strategy would exceed its share limit.
    #[error("total shares {total} would exceed {max}")]
    TotalSharesExceedsMax {
        /// Total after the deposit.
        total: U256,
        /// The limit.
        max: U256,
    },
    /// The deposit cap would be exceeded.
    #[error("strategy {strategy} would hold {balance_after}, above its cap {cap}")]
    DepositCapExceeded {
        /// The strategy.
        strategy: StrategyId,
        /// The cap.
        cap: U256,
        /// Tokens held after the deposit.
        balance_after: U256,
    },
    /// Deposits into the beacon-chain strategy come from validators, not tokens.
    #[error("strategy {strategy} is the beacon-chain strategy: restake validators through a pod")]
    NativeStrategyDeposit {
        /// The strategy.
        strategy: StrategyId,
    },
    /// Withdrawing more shares than exist.
    #[error("withdrawing {shares} shares from strategy {strategy} holding {total}")]
    WithdrawalExceedsTotal {
        /// The strategy.
        strategy: StrategyId,
        /// Shares asked.
        shares: U256,
        /// Total shares.
        total: U256,
    },
}

impl State {
    pub(crate) fn strategy(&self, strategy: StrategyId) -> Result<&Strategy, StrategyError> {
        self.strategies.get(&strategy).ok_or(StrategyError::UnknownStrategy { strategy })
    }

    pub(crate) fn create_strategy(&mut self, asset: AssetId, ev: &mut Vec<Event>) -> Result<StrategyId, TxError> {
        self.asset(asset)?;
        if let Some((id, _)) = self.strategies.iter().find(|(_, s)| s.asset == asset) {
            return Err(StrategyError::StrategyExists { asset, strategy: *id }.into());
        }
        let id = StrategyId(
            u32::try_from(self.strategies.len())
                .map_err(|_| crate::ledger::math_overflow("strategy id", self.strategies.len()))?,
        );
        let address = named_address(&format!("cairn/strategy/{}", id.0));
        self.strategies
            .insert(id, Strategy { asset, address, total_shares: U256::ZERO, deposit_cap: None, native: false });
        ev.push(Event::StrategyCreated { strategy: id, asset, address });
        Ok(id)
    }

    /// Creates the beacon-chain strategy of the native asset (genesis only, at most one).
    pub(crate) fn create_native_strategy(&mut self, asset: AssetId, ev: &mut Vec<Event>) -> Result<(), TxError> {
        if let Some(n) = self.g.native {
            return Err(StrategyError::StrategyExists { asset: n.asset, strategy: n.strategy }.into());
        }
        let id = self.create_strategy(asset, ev)?;
        if let Some(s) = self.strategies.get(&id).cloned() {
            self.strategies.insert(id, Strategy { native: true, ..s });
        }
        self.g.native = Some(crate::NativeConfig { asset, strategy: id });
        Ok(())
    }

    /// Raises (or lowers) a strategy's total shares without moving tokens (beacon shares).
    pub(crate) fn adjust_strategy_shares(&mut self, id: StrategyId, shares: U256, up: bool) -> Result<(), TxError> {
        let s = self.strategy(id)?.clone();
        let total = if up { math::add(s.total_shares, shares)? } else { math::sub(s.total_shares, shares)? };
        self.strategies.insert(id, Strategy { total_shares: total, ..s });
        Ok(())
    }

    /// Tokens held by a strategy (`B`).
    pub fn strategy_balance(&self, s: &Strategy) -> U256 {
        self.balance(s.address, s.asset)
    }

    /// Exchange rate `floor(1e18 · (B + 1e3) / (T + 1e3))`, tokens per share in WAD (the beacon
    /// strategy: exactly 1e18, one share is one wei).
    pub fn exchange_rate(&self, strategy: StrategyId) -> Result<U256, TxError> {
        let s = self.strategy(strategy)?;
        if s.native {
            return Ok(WAD);
        }
        rate_of(self.strategy_balance(s), s.total_shares)
    }

    /// Tokens `shares` would redeem now: `floor((B + 1e3) · s / (T + 1e3))` (rounds down); beacon
    /// shares are wei.
    pub fn shares_to_underlying(&self, strategy: StrategyId, shares: U256) -> Result<U256, TxError> {
        let s = self.strategy(strategy)?;
        if s.native {
            return Ok(shares);
        }
        let b = math::add(self.strategy_balance(s), BALANCE_OFFSET)?;
        let t = math::add(s.total_shares, SHARES_OFFSET)?;
        Ok(math::mul_div_down(b, shares, t)?)
    }

    /// Shares `amount` tokens would mint now: `floor(a · (T + 1e3) / (B + 1e3))` (rounds down).
    pub fn underlying_to_shares(&self, strategy: StrategyId, amount: U256) -> Result<U256, TxError> {
        let s = self.strategy(strategy)?;
        if s.native {
            return Ok(amount);
        }
        let b = math::add(self.strategy_balance(s), BALANCE_OFFSET)?;
        let t = math::add(s.total_shares, SHARES_OFFSET)?;
        Ok(math::mul_div_down(amount, t, b)?)
    }

    /// Moves `amount` from `from` into the strategy and mints shares (tokens already counted in B).
    fn strategy_deposit(
        &mut self,
        id: StrategyId,
        from: Address,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<U256, TxError> {
        let s = self.strategy(id)?.clone();
        if s.native {
            return Err(StrategyError::NativeStrategyDeposit { strategy: id }.into());
        }
        self.move_tokens(s.asset, from, s.address, amount)?;
        let balance = self.strategy_balance(&s);
        if let Some(cap) = s.deposit_cap
            && balance > cap
        {
            return Err(StrategyError::DepositCapExceeded { strategy: id, cap, balance_after: balance }.into());
        }
        // newShares = floor(amount · (T + 1e3) / (B + 1e3 − amount)), B including the deposit.
        let virtual_prior = math::sub(math::add(balance, BALANCE_OFFSET)?, amount)?;
        let new_shares = math::mul_div_down(amount, math::add(s.total_shares, SHARES_OFFSET)?, virtual_prior)?;
        if new_shares.is_zero() {
            return Err(StrategyError::NewSharesZero { amount }.into());
        }
        let total = math::add(s.total_shares, new_shares)?;
        if total > MAX_TOTAL_SHARES {
            return Err(StrategyError::TotalSharesExceedsMax { total, max: MAX_TOTAL_SHARES }.into());
        }
        self.strategies.insert(id, Strategy { total_shares: total, ..s });
        // The rate after the deposit from the values at hand: `exchange_rate` would look the
        // strategy and its balance up again.
        ev.push(Event::ExchangeRateEmitted { strategy: id, rate: rate_of(balance, total)? });
        Ok(new_shares)
    }

    /// Burns `shares` and pays their tokens to `to`: `floor((B + 1e3) · s / (T + 1e3))`.
    pub(crate) fn strategy_withdraw(
        &mut self,
        id: StrategyId,
        to: Address,
        shares: U256,
        ev: &mut Vec<Event>,
    ) -> Result<U256, TxError> {
        let s = self.strategy(id)?.clone();
        if shares > s.total_shares {
            return Err(StrategyError::WithdrawalExceedsTotal { strategy: id, shares, total: s.total_shares }.into());
        }
        let amount = self.shares_to_underlying(id, shares)?;
        let total = math::sub(s.total_shares, shares)?;
        self.strategies.insert(id, Strategy { total_shares: total, ..s.clone() });
        self.move_tokens(s.asset, s.address, to, amount)?;
        let rate = if s.native { WAD } else { rate_of(self.strategy_balance(&s), total)? };
        ev.push(Event::ExchangeRateEmitted { strategy: id, rate });
        Ok(amount)
    }

    pub(crate) fn tx_deposit(
        &mut self,
        ctx: &Ctx,
        strategy: StrategyId,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let staker = ctx.sender;
        self.touch_account(staker, strategy);
        let shares = self.strategy_deposit(strategy, staker, amount, ev)?;
        self.credit_deposit_shares(staker, strategy, shares, ev)?;
        ev.push(Event::Deposit { staker, strategy, amount, shares });
        Ok(())
    }

    /// In a state too large for the caches, looks up the staker's balance of the strategy's asset
    /// and its first position back to back and discards them: each is a miss to memory, and issued
    /// together the misses overlap instead of queuing one behind the other through the deposit.
    /// In a small state the lookups would only be repeated work, so they are skipped.
    #[inline(always)]
    fn touch_account(&self, staker: Address, strategy: StrategyId) {
        if !self.outgrows_caches() {
            return;
        }
        let Some(asset) = self.strategies.get(&strategy).map(|s| s.asset) else { return };
        let balance = self.balances.get(&(staker, asset)).is_some();
        let record = self.stakers.get(&staker).and_then(|r| r.positions.first()).map(|(s, _)| *s);
        std::hint::black_box((balance, record));
    }
}

/// Exchange rate of a token strategy holding `balance` tokens for `total_shares` shares:
/// `floor(1e18 · (B + 1e3) / (T + 1e3))`, rounded down (a share is never worth more than it
/// redeems).
fn rate_of(balance: U256, total_shares: U256) -> Result<U256, TxError> {
    let b = math::add(balance, BALANCE_OFFSET)?;
    let t = math::add(total_shares, SHARES_OFFSET)?;
    Ok(math::mul_div_down(WAD, b, t)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_total_shares_is_1e38_minus_1() {
        let e38 = U256::from(10u8).pow(U256::from(38u8));
        assert_eq!(MAX_TOTAL_SHARES, e38 - U256::from(1u8));
    }
}

//! The rebalance: once a round (permissionless), move toward the targets. Over-weight places
//! first (StakeStone's head/tail order, [LRV §1.4]): each queues withdrawals for its excess,
//! largest holding first (validators beyond what the pod can pay are asked to exit). Then
//! under-weight places, largest deficit first, receive what the buffer holds above its target —
//! liquid staking tokens into their strategies, ETH as whole 32 ETH validators. Deposits are
//! capped by what is on hand; withdrawals by unbonding (they arrive after the delay, into the
//! buffer). Matured unbondings are completed first.

use cairn_primitives::{Address, U256, VaultId, math};

use super::{VaultError, book};
use crate::{Ctx, Event, State, TxError};

/// One place's standing against its target (value).
#[derive(Debug, Clone, Copy)]
struct Standing {
    operator: Address,
    value: U256,
    target: U256,
}

impl State {
    /// `vault_rebalance`.
    pub(crate) fn tx_vault_rebalance(&mut self, ctx: &Ctx, vault: VaultId, ev: &mut Vec<Event>) -> Result<(), TxError> {
        let cfg = self.vault_cfg(vault)?;
        let targets = cfg.targets.clone().ok_or(VaultError::NoTargets { vault })?;
        let interval = cfg.params.rebalance_interval_blocks;
        let b = self.vault_book(vault)?;
        if b.emergency {
            return Err(VaultError::InEmergency { vault }.into());
        }
        if b.last_rebalance != 0 {
            let next = math::add_u64(b.last_rebalance, interval)?;
            if ctx.block < next {
                return Err(VaultError::RebalanceTooEarly { last: b.last_rebalance, next, block: ctx.block }.into());
            }
        }
        // The allocations may have moved since the targets were set: they must still hold.
        self.check_targets(vault, targets.buffer_bps, &targets.operators, ctx.block)?;
        let completed = self.sweep(vault, ctx, ev)?;
        let b = self.fresh_book(vault, ctx)?;
        self.refund_tickets(vault, ctx, ev)?;
        self.require_fresh_prices(vault, &b, ctx.time)?;
        let net = b.assets.saturating_sub(b.reserve);
        let mut standings = Vec::new();
        for w in &targets.operators {
            let value = self.settled_place_value(vault, w.operator)?;
            standings.push(Standing { operator: w.operator, value, target: book::bps_of(net, u64::from(w.bps))? });
        }
        // Places no longer in the targets are over-weight by all they hold.
        for (op, _) in self.vault_places_of(vault) {
            if !targets.operators.iter().any(|w| w.operator == op) {
                standings.push(Standing {
                    operator: op,
                    value: self.settled_place_value(vault, op)?,
                    target: U256::ZERO,
                });
            }
        }
        let unbonded = self.rebalance_head(vault, &standings, ctx, ev)?;
        let deployable =
            self.spendable_pool_value(vault)?.saturating_sub(book::bps_of(net, u64::from(targets.buffer_bps))?);
        let deposited = self.rebalance_tail(vault, &standings, deployable, ctx, ev)?;
        let mut b = self.vault_book(vault)?;
        b.last_rebalance = ctx.block;
        b.val_block = 0;
        self.put_book(vault, b);
        ev.push(Event::VaultRebalanced {
            vault,
            unbonded,
            deposited,
            completed: u32::try_from(completed).unwrap_or(u32::MAX),
        });
        Ok(())
    }

    /// A place's value that stays there: restaked and in transit (unbondings are leaving).
    pub(crate) fn settled_place_value(&self, vault: VaultId, operator: Address) -> Result<U256, TxError> {
        let Some(place) = self.vault_place(vault, operator) else {
            return Ok(U256::ZERO);
        };
        let mut total = math::mul(super::VALIDATOR_DEPOSIT, U256::from(place.pending_validators))?;
        for h in self.place_holdings(place.account)? {
            total = math::add(total, book::value_of(h.tokens, self.vault_price(vault, h.asset)?)?)?;
        }
        Ok(total)
    }

    /// Value of the spendable buffer over the assets the vault accepts for deposits.
    fn spendable_pool_value(&self, vault: VaultId) -> Result<U256, TxError> {
        let mut total = U256::ZERO;
        for a in self.vault_cfg(vault)?.assets.iter().filter(|a| a.deposits) {
            let s = self.spendable_buffer(vault, a.asset)?;
            if !s.is_zero() {
                total = math::add(total, book::value_of(s, self.vault_price(vault, a.asset)?)?)?;
            }
        }
        Ok(total)
    }

    /// Over-weight places queue withdrawals for their excess; returns the value queued.
    fn rebalance_head(
        &mut self,
        vault: VaultId,
        st: &[Standing],
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<U256, TxError> {
        let mut over: Vec<(U256, Address)> =
            st.iter().filter(|s| s.value > s.target).map(|s| (s.value.saturating_sub(s.target), s.operator)).collect();
        over.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut total = U256::ZERO;
        for (excess, op) in over {
            total = math::add(total, self.unbond_value(vault, op, excess, U256::ZERO, ctx, ev)?)?;
        }
        Ok(total)
    }

    /// Queues withdrawals worth about `value` from the place at `op`, largest holding first, with
    /// `committed` of it promised to tickets; asks validators to exit for what the pod cannot pay.
    /// Returns the value queued.
    pub(crate) fn unbond_value(
        &mut self,
        vault: VaultId,
        op: Address,
        value: U256,
        committed: U256,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<U256, TxError> {
        let Some(place) = self.vault_place(vault, op) else {
            return Ok(U256::ZERO);
        };
        let mut holdings = Vec::new();
        for h in self.place_holdings(place.account)? {
            let p = self.vault_price(vault, h.asset)?;
            holdings.push((book::value_of(h.tokens, p)?, h, p));
        }
        holdings.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.strategy.cmp(&b.1.strategy)));
        let mut left = value;
        let mut queued = U256::ZERO;
        for (v, h, p) in holdings {
            if left.is_zero() {
                break;
            }
            let want = left.min(v);
            let tokens = book::amount_of_up(want, p)?;
            let mut got = U256::ZERO;
            if let Some(u) = self.place_unbond(vault, op, h.strategy, tokens, committed, ctx, ev)? {
                got = book::value_of(u.expected, p)?;
                queued = math::add(queued, got)?;
                left = left.saturating_sub(got);
            }
            // ETH still on the beacon chain comes back only when validators exit.
            let short = want.saturating_sub(got);
            if self.is_beacon(h.strategy) && !short.is_zero() {
                let count = math::mul_div_up(short, U256::from(1u8), super::VALIDATOR_DEPOSIT)?;
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                ev.push(Event::VaultValidatorExitsRequested { vault, operator: op, count });
            }
        }
        Ok(queued)
    }

    /// Under-weight places receive the deployable buffer, largest deficit first; returns the value
    /// deposited.
    fn rebalance_tail(
        &mut self,
        vault: VaultId,
        st: &[Standing],
        deployable: U256,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<U256, TxError> {
        let mut under: Vec<(U256, Address)> =
            st.iter().filter(|s| s.value < s.target).map(|s| (s.target.saturating_sub(s.value), s.operator)).collect();
        under.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut assets: Vec<_> = self.vault_cfg(vault)?.assets.iter().filter(|a| a.deposits).map(|a| a.asset).collect();
        // Liquid staking tokens first, ETH (whole validators only) last.
        assets.sort_by_key(|a| (self.is_native_asset(*a), *a));
        let mut left = deployable;
        let mut total = U256::ZERO;
        for (deficit, op) in under {
            let mut need = deficit.min(left);
            for asset in &assets {
                if need.is_zero() {
                    break;
                }
                let p = self.vault_price(vault, *asset)?;
                let mut amount = book::amount_of(need, p)?.min(self.spendable_buffer(vault, *asset)?);
                if self.is_native_asset(*asset) {
                    amount = math::mul(
                        amount.checked_div(super::VALIDATOR_DEPOSIT).unwrap_or_default(),
                        super::VALIDATOR_DEPOSIT,
                    )?;
                } else if !self.can_take_deposit(op, *asset, amount)? {
                    continue;
                }
                if amount.is_zero() {
                    continue;
                }
                if !self.place_deposit(vault, op, *asset, amount, ctx, ev)? {
                    continue;
                }
                let v = book::value_of(amount, p)?;
                need = need.saturating_sub(v);
                left = left.saturating_sub(v);
                total = math::add(total, v)?;
            }
        }
        Ok(total)
    }

    /// Whether a deposit of `amount` into `asset`'s strategy at `op` would go through: non-zero
    /// shares, the operator not fully slashed, the strategy's cap not reached.
    fn can_take_deposit(&self, op: Address, asset: cairn_primitives::AssetId, amount: U256) -> Result<bool, TxError> {
        if amount.is_zero() {
            return Ok(false);
        }
        let Some(s) = self.strategy_of_asset(asset) else { return Ok(false) };
        if self.underlying_to_shares(s, amount)?.is_zero() || self.max_magnitude(op, s) == 0 {
            return Ok(false);
        }
        let strategy = self.strategy(s)?;
        if let Some(cap) = strategy.deposit_cap
            && math::add(self.strategy_balance(strategy), amount)? > cap
        {
            return Ok(false);
        }
        Ok(true)
    }
}

//! Where the pool goes: the buffer (the vault's own account) and one delegator sub-account per
//! operator. A sub-account acts exactly as a user would — its deposits, delegation, queued
//! withdrawals, completions, pod and claims are core transactions sent through `State::route`
//! (pause checks and every core rule included). Only the vault's own tables are written here.

use cairn_primitives::{Address, AssetId, Block, StrategyId, U256, VaultId, WAD, math};

use super::{Place, Unbonding, VaultError, sub_account};
use crate::{Ctx, Event, State, Tx, TxError, TxKind, pause, stakers::calc_withdrawable, tx::QueueParams};

/// One position of a place, valued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Holding {
    /// The asset.
    pub(crate) asset: AssetId,
    /// The strategy.
    pub(crate) strategy: StrategyId,
    /// Withdrawable shares.
    pub(crate) shares: U256,
    /// Their tokens now.
    pub(crate) tokens: U256,
}

impl State {
    /// Marks the cached valuation stale: moving value between places splits and joins positions,
    /// which can move their value by rounding.
    pub(crate) fn invalidate_valuation(&mut self, vault: VaultId) -> Result<(), TxError> {
        let mut b = self.vault_book(vault)?;
        if b.val_block != 0 {
            b.val_block = 0;
            self.put_book(vault, b);
        }
        Ok(())
    }

    /// Sends a core transaction as one of the vault's accounts.
    pub(crate) fn act(&mut self, account: Address, ctx: &Ctx, tx: &Tx, ev: &mut Vec<Event>) -> Result<(), TxError> {
        let sub = Ctx { sender: account, ..*ctx };
        self.route(&sub, tx, ev)
    }

    /// The vault's place at `operator`, if it has one.
    pub fn vault_place(&self, vault: VaultId, operator: Address) -> Option<Place> {
        self.vault_places.get(&(vault, operator)).copied()
    }

    /// Every place of a vault, ascending by operator.
    pub fn vault_places_of(&self, vault: VaultId) -> Vec<(Address, Place)> {
        let lo = (vault, Address::ZERO);
        let hi = (vault, Address::repeat_byte(0xff));
        self.vault_places.range(lo..=hi).map(|((_, op), p)| (*op, *p)).collect()
    }

    /// Whether the core would run transactions of these kinds now (none of their modules
    /// paused). The vault checks before it acts, so a paused module skips a step rather than
    /// refusing a whole round.
    pub(crate) fn core_open(&self, kinds: &[TxKind]) -> bool {
        kinds.iter().all(|k| pause::module_of(*k).is_none_or(|m| !self.is_paused(m)))
    }

    /// The place at `operator`, delegated there: created on first use, delegated again after
    /// the operator (or its approver) undelegated it. `None` when the core would refuse the
    /// delegation; the caller then leaves the place alone this round.
    pub(crate) fn open_place(
        &mut self,
        vault: VaultId,
        operator: Address,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<Option<Place>, TxError> {
        let existing = self.vault_place(vault, operator);
        let account = sub_account(vault, operator);
        match self.delegated_to(account) {
            Some(op) if op == operator => {}
            Some(_) => return Ok(None),
            None => {
                let salt = self.vault_cfg(vault)?.operator_limit(operator).and_then(|l| l.approval_salt);
                if !self.can_delegate(account, operator, salt, ctx.block) {
                    return Ok(None);
                }
                self.act(account, ctx, &Tx::DelegateTo { operator, approval_salt: salt }, ev)?;
            }
        }
        if let Some(p) = existing {
            return Ok(Some(p));
        }
        let place = Place { account, pending_validators: 0 };
        self.vault_places.insert((vault, operator), place);
        self.vault_accounts.insert(account, vault);
        ev.push(Event::VaultPlaceOpened { vault, operator, account });
        Ok(Some(place))
    }

    /// Whether `DelegateTo` from `account` to `operator` would go through: delegation not
    /// paused, the core's own pre-write checks (`check_delegation`), and the operator not fully
    /// slashed in anything the account holds.
    fn can_delegate(&self, account: Address, operator: Address, salt: Option<u64>, block: Block) -> bool {
        self.core_open(&[TxKind::DelegateTo])
            && self.check_delegation(account, operator, salt, block).is_ok()
            && self.staker_strategies(account).into_iter().all(|s| self.max_magnitude(operator, s) != 0)
    }

    /// What a place holds in each strategy, at withdrawable shares and their tokens now.
    pub(crate) fn place_holdings(&self, account: Address) -> Result<Vec<Holding>, TxError> {
        let mut out = Vec::new();
        for s in self.staker_strategies(account) {
            let shares = self.withdrawable_shares(account, s)?;
            let strategy = self.strategy(s)?;
            let asset = strategy.asset;
            let tokens = self.shares_to_underlying(s, shares)?;
            out.push(Holding { asset, strategy: s, shares, tokens });
        }
        Ok(out)
    }

    /// Tokens an unbonding would pay if completed now (falls while it is slashable).
    pub(crate) fn unbonding_tokens(&self, account: Address, nonce: u64, block: Block) -> Result<U256, TxError> {
        let Some(w) = self.withdrawal(account, nonce) else {
            return Ok(U256::ZERO);
        };
        let shares = self.withdrawal_payout(account, w, block)?;
        let mut total = U256::ZERO;
        for (s, x) in w.strategies.iter().zip(&shares) {
            total = math::add(total, self.shares_to_underlying(*s, *x)?)?;
        }
        Ok(total)
    }

    /// Every unbonding of a vault, ascending by (sub-account, nonce).
    pub fn vault_unbondings_of(&self, vault: VaultId) -> Vec<((Address, u64), Unbonding)> {
        let lo = (vault, Address::ZERO, 0);
        let hi = (vault, Address::repeat_byte(0xff), u64::MAX);
        self.vault_unbondings.range(lo..=hi).map(|((_, a, n), u)| ((*a, *n), *u)).collect()
    }

    /// Units of `asset` the vault holds anywhere: free buffer, restaked, unbonding.
    pub(crate) fn vault_units(&self, vault: VaultId, asset: AssetId, block: Block) -> Result<U256, TxError> {
        let mut units = self.free_buffer(vault, asset)?;
        for (_, place) in self.vault_places_of(vault) {
            for h in self.place_holdings(place.account)? {
                if h.asset == asset {
                    units = math::add(units, h.tokens)?;
                }
            }
        }
        for ((account, nonce), u) in self.vault_unbondings_of(vault) {
            if u.asset == asset {
                units = math::add(units, self.unbonding_tokens(account, nonce, block)?)?;
            }
        }
        Ok(units)
    }

    /// Buffer tokens of `asset` that belong to the pool: held less what finalized tickets are owed.
    pub(crate) fn free_buffer(&self, vault: VaultId, asset: AssetId) -> Result<U256, TxError> {
        let held = self.balance(self.vault_own(vault), asset);
        Ok(held.saturating_sub(self.asset_book(vault, asset).owed))
    }

    /// Buffer tokens of `asset` nobody has a claim on: free buffer less ticket earmarks.
    pub(crate) fn spendable_buffer(&self, vault: VaultId, asset: AssetId) -> Result<U256, TxError> {
        let ab = self.asset_book(vault, asset);
        let held = self.balance(self.vault_own(vault), asset);
        Ok(held.saturating_sub(ab.owed).saturating_sub(ab.earmarked))
    }

    /// Moves `amount` of `asset` from the buffer into the place at `operator` and deposits it
    /// into the asset's strategy (the native asset: 32 ETH validators into the place's pod).
    /// Returns false, having done nothing, when the core would refuse a step (a paused module,
    /// a delegation it would not take).
    pub(crate) fn place_deposit(
        &mut self,
        vault: VaultId,
        operator: Address,
        asset: AssetId,
        amount: U256,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<bool, TxError> {
        let native = self.is_native_asset(asset);
        let kinds: &[TxKind] = if native { &[TxKind::CreatePod] } else { &[TxKind::Transfer, TxKind::Deposit] };
        if !self.core_open(kinds) {
            return Ok(false);
        }
        let Some(place) = self.open_place(vault, operator, ctx, ev)? else {
            return Ok(false);
        };
        let own = self.vault_own(vault);
        if native {
            self.stake_validators(vault, operator, place, amount, ctx, ev)?;
            return Ok(true);
        }
        let strategy = self.strategy_of_asset(asset).ok_or(VaultError::NoStrategy { asset })?;
        self.act(own, ctx, &Tx::Transfer { asset, to: place.account, amount }, ev)?;
        self.act(place.account, ctx, &Tx::Deposit { strategy, amount }, ev)?;
        self.invalidate_valuation(vault)?;
        ev.push(Event::VaultAllocated { vault, operator, asset, amount });
        Ok(true)
    }

    /// Sends whole 32 ETH deposits for validators whose credentials point at the place's pod
    /// (created on first use). The ETH leaves for the beacon chain; it counts as in transit
    /// until the validators are verified.
    fn stake_validators(
        &mut self,
        vault: VaultId,
        operator: Address,
        mut place: Place,
        amount: U256,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let count = u32::try_from(amount.checked_div(super::VALIDATOR_DEPOSIT).unwrap_or_default()).unwrap_or(0);
        if count == 0 {
            return Ok(());
        }
        if self.pod(place.account).is_none() {
            self.act(place.account, ctx, &Tx::CreatePod {}, ev)?;
        }
        let native = self.native()?;
        let wei = math::mul(super::VALIDATOR_DEPOSIT, U256::from(count))?;
        self.move_tokens(native.asset, self.vault_own(vault), super::beacon_deposit_address(), wei)?;
        place.pending_validators = math::add_u32(place.pending_validators, count)?;
        self.vault_places.insert((vault, operator), place);
        let pod = crate::pods::pod_address(place.account);
        ev.push(Event::VaultValidatorsDeposited { vault, operator, pod, count, amount: wei });
        Ok(())
    }

    /// Queues a withdrawal of about `tokens` of `strategy` from the place at `operator` (never
    /// more than it holds), records the unbonding with `committed` of it promised to tickets,
    /// and returns it.
    #[allow(clippy::too_many_arguments)] // the vault, where, what, how much, and the tx context
    pub(crate) fn place_unbond(
        &mut self,
        vault: VaultId,
        operator: Address,
        strategy: StrategyId,
        tokens: U256,
        committed: U256,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<Option<Unbonding>, TxError> {
        let Some(place) = self.vault_place(vault, operator) else {
            return Ok(None);
        };
        if !self.core_open(&[TxKind::QueueWithdrawals]) {
            return Ok(None);
        }
        let account = place.account;
        let x = self.deposit_shares_for(account, strategy, tokens)?;
        if x.is_zero() {
            return Ok(None);
        }
        let nonce = self.staker(account).map_or(0, |r| r.withdrawal_nonce);
        let queue = QueueParams { strategies: vec![strategy], deposit_shares: vec![x] };
        self.act(account, ctx, &Tx::QueueWithdrawals { withdrawals: vec![queue] }, ev)?;
        let expected = self.unbonding_tokens(account, nonce, ctx.block)?;
        let asset = self.strategy(strategy)?.asset;
        let completable_at = math::add_u64(ctx.block, math::add_u64(self.g.params.withdrawal_delay_blocks, 1)?)?;
        let u = Unbonding { operator, asset, strategy, expected, committed: committed.min(expected), completable_at };
        self.vault_unbondings.insert((vault, account, nonce), u);
        self.invalidate_valuation(vault)?;
        ev.push(Event::VaultUnbondingQueued {
            vault,
            operator,
            asset,
            nonce,
            expected,
            committed: u.committed,
            completable_at,
        });
        Ok(Some(u))
    }

    /// Records as the vault's unbondings (promised to no ticket) the withdrawals the core queued
    /// for the sub-account `account` from `nonce` on — an operator undelegating it queues them
    /// without the vault acting. Without this their value would vanish from the rate.
    pub(crate) fn adopt_withdrawals(
        &mut self,
        vault: VaultId,
        account: Address,
        operator: Address,
        nonce: u64,
        ctx: &Ctx,
    ) -> Result<(), TxError> {
        let last = self.staker(account).map_or(0, |r| r.withdrawal_nonce);
        let delay = math::add_u64(self.g.params.withdrawal_delay_blocks, 1)?;
        for n in nonce..last {
            let Some(w) = self.withdrawal(account, n) else { continue };
            // The core queues one withdrawal per strategy when it undelegates.
            let Some(&strategy) = w.strategies.first() else { continue };
            let completable_at = math::add_u64(w.start_block, delay)?;
            let asset = self.strategy(strategy)?.asset;
            let expected = self.unbonding_tokens(account, n, ctx.block)?;
            let u = Unbonding { operator, asset, strategy, expected, committed: U256::ZERO, completable_at };
            self.vault_unbondings.insert((vault, account, n), u);
        }
        self.invalidate_valuation(vault)
    }

    /// Deposit shares to queue so that at least `tokens` come out (rounding up), capped at the
    /// position; beacon shares are also capped at the ETH the pod can pay.
    fn deposit_shares_for(&self, account: Address, strategy: StrategyId, tokens: U256) -> Result<U256, TxError> {
        let p = self.position(account, strategy);
        if p.deposit_shares.is_zero() || tokens.is_zero() {
            return Ok(U256::ZERO);
        }
        let s = self.strategy(strategy)?;
        let mut shares = if s.native {
            tokens
        } else {
            let b = math::add(self.strategy_balance(s), crate::strategies::BALANCE_OFFSET)?;
            let t = math::add(s.total_shares, crate::strategies::SHARES_OFFSET)?;
            math::mul_div_up(tokens, t, b)?
        };
        if s.native {
            shares = shares.min(self.pod_unbondable(account)?);
        }
        let sf = self.staker_slashing_factor(account, self.delegated_to(account), strategy)?;
        if sf.is_zero() || p.dsf.is_zero() {
            return Ok(U256::ZERO);
        }
        let x = math::mul_div_up(math::mul_div_up(shares, WAD, sf)?, WAD, p.dsf)?;
        // Never above the position, and never more than it can withdraw.
        let x = x.min(p.deposit_shares);
        Ok(if calc_withdrawable(x, p.dsf, sf)?.is_zero() { U256::ZERO } else { x })
    }

    /// Beacon wei a place's pod can pay now: checkpointed ETH in the pod less beacon
    /// unbondings already queued against it.
    pub(crate) fn pod_unbondable(&self, account: Address) -> Result<U256, TxError> {
        let Some(pod) = self.pod(account) else {
            return Ok(U256::ZERO);
        };
        let in_pod = math::mul(U256::from(pod.restaked_gwei), crate::oracle::GWEI)?;
        let Some(vault) = self.vault_accounts.get(&account).copied() else {
            return Ok(in_pod);
        };
        let mut queued = U256::ZERO;
        for ((a, nonce), u) in self.vault_unbondings_of(vault) {
            if a == account && self.is_beacon(u.strategy) {
                let w = self.withdrawal(a, nonce);
                let shares = match w {
                    Some(w) => self.withdrawal_payout(a, w, self.g.last_block)?.into_iter().next().unwrap_or_default(),
                    None => U256::ZERO,
                };
                queued = math::add(queued, shares)?;
            }
        }
        Ok(in_pod.saturating_sub(queued))
    }

    /// Whether the core would complete the unbonding now: past the withdrawal delay as it stands
    /// (governance may have changed it since the queueing), not held by a slash request, the
    /// modules open, and (beacon) covered by its pod.
    fn unbonding_ready(&self, account: Address, nonce: u64, u: &Unbonding, block: Block) -> Result<bool, TxError> {
        let Some(w) = self.withdrawal(account, nonce) else {
            return Ok(false);
        };
        if block <= math::add_u64(w.start_block, self.g.params.withdrawal_delay_blocks)? {
            return Ok(false);
        }
        if !self.core_open(&[TxKind::CompleteWithdrawal, TxKind::Transfer]) {
            return Ok(false);
        }
        if self.check_not_held(account, nonce, w).is_err() {
            return Ok(false);
        }
        if self.is_beacon(u.strategy) {
            let wei = self.withdrawal_payout(account, w, block)?.into_iter().next().unwrap_or_default();
            let pod = self.pod(account).map_or(0, |p| p.restaked_gwei);
            if wei.checked_div(crate::oracle::GWEI).unwrap_or_default() > U256::from(pod) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Completes every unbonding that can complete and moves its tokens to the buffer; the parts
    /// promised to tickets fund them (earliest ETA first). Returns how many completed.
    pub(crate) fn sweep(&mut self, vault: VaultId, ctx: &Ctx, ev: &mut Vec<Event>) -> Result<usize, TxError> {
        let mut done = 0usize;
        for ((account, nonce), u) in self.vault_unbondings_of(vault) {
            if !self.unbonding_ready(account, nonce, &u, ctx.block)? {
                continue;
            }
            let before = self.balance(account, u.asset);
            self.act(account, ctx, &Tx::CompleteWithdrawal { nonce, receive_as_tokens: true }, ev)?;
            let got = math::sub(self.balance(account, u.asset), before)?;
            if !got.is_zero() {
                let to = self.vault_own(vault);
                self.act(account, ctx, &Tx::Transfer { asset: u.asset, to, amount: got }, ev)?;
            }
            self.vault_unbondings.remove(&(vault, account, nonce));
            self.fund_tickets(vault, u.asset, u.committed.min(got))?;
            ev.push(Event::VaultUnbondingCompleted { vault, operator: u.operator, asset: u.asset, nonce, tokens: got });
            done = done.saturating_add(1);
        }
        if done > 0 {
            self.invalidate_valuation(vault)?;
        }
        Ok(done)
    }
}

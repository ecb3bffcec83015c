//! What a receipt token is worth.
//!
//! Total assets = the free buffer (held less what finalized tickets are owed) + every place's
//! restaked positions, unbondings and validators in transit, at the committee's prices. The
//! current rate is `(assets − reserve) / supply`, where the reserve is what every pending slash
//! request against the vault's stake would take, counted the moment it is requested (the veto
//! window is not a free option for early leavers). Fees are minted as tokens before every flow
//! (`accrue`), so the rate never jumps when they are paid.
//!
//! The settled rate moves only through `vault_update_rate`, within bounds (an APR cap and caps
//! per update up and down, [LRV §9.1]). A rise faster than the APR cap but within the per-update
//! cap is smoothed: the rate settles at the cap and the rest waits for later updates. A candidate
//! beyond a per-update cap is quarantined and minting and redemption pause until the guardian
//! accepts or rejects it. Deposits mint at
//! max(settled, current) and instant redemptions pay at min(settled, current).
//!
//! A full valuation reads every place; it is cached in the book for one block and one valuation
//! epoch (`Globals::value_epoch`, bumped by slashes, allocation changes and checkpoints), and
//! flows adjust the cache, so the hot path never walks the places twice in a block.

use cairn_primitives::{Address, AssetId, Block, Timestamp, U256, VaultId, math};

use super::{
    Book, Quarantine, RateRecord, Source, Vault, VaultError,
    book::{self, Breach, FeeRates, RateBounds},
};
use crate::{Ctx, Event, State, TxError};

/// A full valuation of a vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Valuation {
    /// Gross assets (value).
    pub(crate) assets: U256,
    /// Reserve for pending slash requests (value, rounded up).
    pub(crate) reserve: U256,
    /// The oldest price among the assets held, with its asset.
    pub(crate) oldest: Option<(AssetId, Timestamp)>,
}

impl Vault {
    pub(crate) fn fee_rates(&self) -> FeeRates {
        FeeRates { performance_bps: self.params.performance_fee_bps, management_bps: self.params.management_fee_bps }
    }

    pub(crate) fn bounds(&self) -> RateBounds {
        RateBounds {
            max_apr_bps: self.params.max_apr_bps,
            max_up_bps: self.params.max_rate_up_bps,
            max_down_bps: self.params.max_rate_down_bps,
        }
    }
}

impl State {
    /// Values every place of the vault now.
    pub(crate) fn valuation(&self, vault: VaultId, block: Block) -> Result<Valuation, TxError> {
        let cfg = self.vault_cfg(vault)?;
        let own = self.vault_own(vault);
        let mut assets = U256::ZERO;
        let mut oldest: Option<(AssetId, Timestamp)> = None;
        let mut held = |s: &Self, asset: AssetId| {
            if s.is_native_asset(asset) {
                return;
            }
            let t = s.asset_book(vault, asset).price_time;
            if oldest.is_none_or(|(_, o)| t < o) {
                oldest = Some((asset, t));
            }
        };
        for a in &cfg.assets {
            let free = self.balance(own, a.asset).saturating_sub(self.asset_book(vault, a.asset).owed);
            if free.is_zero() {
                continue;
            }
            held(self, a.asset);
            assets = math::add(assets, book::value_of(free, self.vault_price(vault, a.asset)?)?)?;
        }
        // Every place's restaked positions and validators in transit, then every unbonding, at
        // the accepted prices (rounding down), in one pass.
        for (_, place) in self.vault_places_of(vault) {
            for h in self.place_holdings(place.account)? {
                held(self, h.asset);
                assets = math::add(assets, book::value_of(h.tokens, self.vault_price(vault, h.asset)?)?)?;
            }
            let transit = math::mul(super::VALIDATOR_DEPOSIT, U256::from(place.pending_validators))?;
            assets = math::add(assets, transit)?;
        }
        for ((account, nonce), u) in self.vault_unbondings_of(vault) {
            held(self, u.asset);
            let tokens = self.unbonding_tokens(account, nonce, block)?;
            assets = math::add(assets, book::value_of(tokens, self.vault_price(vault, u.asset)?)?)?;
        }
        let reserve =
            self.slash_reserve(vault, block)?.into_iter().try_fold(U256::ZERO, |a, (_, v)| math::add(a, v))?;
        Ok(Valuation { assets, reserve, oldest })
    }

    /// What each pending slash request against the vault's stake would take (value, rounded up):
    /// for each strategy it names, the magnitude the slash would remove (rounded up, as the slash
    /// does) over the operator's max magnitude, applied to the place's withdrawable shares and
    /// its unbondings from that operator.
    pub(crate) fn slash_reserve(&self, vault: VaultId, block: Block) -> Result<Vec<(Source, U256)>, TxError> {
        let mut out = Vec::new();
        for (op, place) in self.vault_places_of(vault) {
            for (set, request_id) in self.open_requests_against(op) {
                let Some(req) = self.slash_request(set, request_id) else { continue };
                let mut loss = U256::ZERO;
                for (s, wad) in req.params.strategies.iter().zip(&req.params.wads_to_slash) {
                    let m = self.max_magnitude(op, *s);
                    if m == 0 {
                        continue;
                    }
                    let (a, _) = self.load_allocation(op, set, *s, block);
                    let removed = math::mul_wad_up(U256::from(a.current), *wad)?;
                    let mut at_risk = self.withdrawable_shares(place.account, *s)?;
                    for ((account, nonce), u) in self.vault_unbondings_of(vault) {
                        if account == place.account && u.strategy == *s {
                            let w = self.withdrawal(account, nonce);
                            let shares = match w {
                                Some(w) => self.withdrawal_payout(account, w, block)?.into_iter().next(),
                                None => None,
                            };
                            at_risk = math::add(at_risk, shares.unwrap_or_default())?;
                        }
                    }
                    let lost_shares = math::mul_div_up(at_risk, removed, U256::from(m))?.min(at_risk);
                    let asset = self.strategy(*s)?.asset;
                    let tokens = self.shares_to_underlying(*s, lost_shares)?;
                    loss = math::add(loss, book::value_of_up(tokens, self.vault_price(vault, asset)?)?)?;
                }
                if !loss.is_zero() {
                    out.push((Source::SlashReserve { set, request_id }, loss));
                }
            }
        }
        Ok(out)
    }

    /// The book with a valuation current for this block and epoch (recomputed if not).
    pub(crate) fn fresh_book(&mut self, vault: VaultId, ctx: &Ctx) -> Result<Book, TxError> {
        let mut b = self.vault_book(vault)?;
        if b.val_block == ctx.block && b.val_epoch == self.g.value_epoch {
            return Ok(b);
        }
        let v = self.valuation(vault, ctx.block)?;
        b.assets = v.assets;
        b.reserve = v.reserve;
        b.oldest_price = v.oldest.map_or(Timestamp::MAX, |(_, t)| t);
        b.val_block = ctx.block;
        b.val_epoch = self.g.value_epoch;
        self.put_book(vault, b);
        Ok(b)
    }

    /// Refuses when a price the rate depends on is stale.
    pub(crate) fn require_fresh_prices(&self, vault: VaultId, b: &Book, now: Timestamp) -> Result<(), TxError> {
        if b.oldest_price == Timestamp::MAX {
            return Ok(());
        }
        let limit = self.vault_cfg(vault)?.params.price_staleness_seconds;
        if now.saturating_sub(b.oldest_price) > limit {
            let asset = self
                .vault_cfg(vault)?
                .assets
                .iter()
                .find(|a| {
                    self.asset_book(vault, a.asset).price_time == b.oldest_price && !self.is_native_asset(a.asset)
                })
                .map_or(AssetId(0), |a| a.asset);
            return Err(VaultError::PriceStale { asset, price_time: b.oldest_price, now, limit }.into());
        }
        Ok(())
    }

    /// Refuses when the price of the asset a flow pays or takes is stale (it may not be held
    /// yet, so the book's oldest price does not cover it). The native asset is always 1.
    pub(crate) fn require_fresh_price(&self, vault: VaultId, asset: AssetId, now: Timestamp) -> Result<(), TxError> {
        if self.is_native_asset(asset) {
            return Ok(());
        }
        let limit = self.vault_cfg(vault)?.params.price_staleness_seconds;
        let price_time = self.asset_book(vault, asset).price_time;
        if now.saturating_sub(price_time) > limit {
            return Err(VaultError::PriceStale { asset, price_time, now, limit }.into());
        }
        Ok(())
    }

    /// The current rate of a book: `(assets − reserve) / supply` (fees already minted).
    pub(crate) fn current_rate(b: &Book) -> Result<U256, TxError> {
        Ok(book::rate(b.assets.saturating_sub(b.reserve), b.supply)?)
    }

    /// Mints the fees due since the last accrual to the fee recipient and raises the high-water
    /// mark; returns the book after.
    pub(crate) fn accrue(
        &mut self,
        vault: VaultId,
        mut b: Book,
        now: Timestamp,
        ev: &mut Vec<Event>,
    ) -> Result<Book, TxError> {
        let net = b.assets.saturating_sub(b.reserve);
        let elapsed = now.saturating_sub(b.fee_time);
        // No time has passed and no gain above the mark: nothing can be due (the hot path).
        if elapsed == 0 && book::rate(net, b.supply)? <= b.hwm {
            return Ok(b);
        }
        let cfg = self.vault_cfg(vault)?;
        let (rates, recipient) = (cfg.fee_rates(), cfg.fee_recipient);
        let fees = book::accrue_fees(net, b.supply, b.hwm, elapsed, rates)?;
        b.fee_time = now;
        if !fees.tokens.is_zero() {
            let before = book::rate(net, b.supply)?;
            self.credit_receipt(vault, recipient, fees.tokens)?;
            b.supply = math::add(b.supply, fees.tokens)?;
            b.fee_tokens_since = math::add(b.fee_tokens_since, fees.tokens)?;
            let value = fees.value()?;
            // The fee's part of the rate is exactly the drop the mint caused.
            let drop = before.saturating_sub(book::rate(net, b.supply)?);
            let p = super::Part {
                value: super::attribution::signed(value, true)?,
                rate: super::attribution::signed(drop, true)?,
            };
            self.add_attribution(vault, Source::Fees, p)?;
            ev.push(Event::VaultFeesMinted {
                vault,
                recipient,
                tokens: fees.tokens,
                management: fees.management,
                performance: fees.performance,
            });
        }
        let r = Self::current_rate(&b)?;
        if r > b.hwm && !b.supply.is_zero() {
            b.hwm = r;
        }
        Ok(b)
    }

    /// The book valued now: valuation current, prices fresh, fees minted.
    fn priced_book(&mut self, vault: VaultId, ctx: &Ctx, ev: &mut Vec<Event>) -> Result<Book, TxError> {
        let b = self.fresh_book(vault, ctx)?;
        self.require_fresh_prices(vault, &b, ctx.time)?;
        self.accrue(vault, b, ctx.time, ev)
    }

    fn require_no_quarantine(&self, vault: VaultId) -> Result<(), TxError> {
        let b = self.vault_books.get(&vault).ok_or(VaultError::UnknownVault { vault })?;
        match b.quarantine {
            Some(q) => Err(VaultError::RateQuarantined { vault, rate: q.rate, previous: q.previous }.into()),
            None => Ok(()),
        }
    }

    /// The book ready for a flow: no quarantine, valued now, fees minted.
    pub(crate) fn book_for_flow(&mut self, vault: VaultId, ctx: &Ctx, ev: &mut Vec<Event>) -> Result<Book, TxError> {
        self.require_no_quarantine(vault)?;
        self.priced_book(vault, ctx, ev)
    }

    /// `vault_update_rate`: settle the current rate if it is within bounds of the settled one,
    /// else quarantine it (minting and redemption pause).
    pub(crate) fn tx_vault_update_rate(
        &mut self,
        ctx: &Ctx,
        vault: VaultId,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_no_quarantine(vault)?;
        self.sweep(vault, ctx, ev)?;
        let mut b = self.priced_book(vault, ctx, ev)?;
        if b.supply.is_zero() {
            // No holder to protect or to pay: the settled rate carries on unchanged, so the
            // next depositor mints where the last holder left (no bounds, no quarantine).
            let settled = b.settled_rate;
            return self.settle(vault, b, settled, ctx, false, ev);
        }
        let candidate = Self::current_rate(&b)?;
        let elapsed = ctx.time.saturating_sub(b.settled_time);
        let bounds = self.vault_cfg(vault)?.bounds();
        match book::check_bounds(b.settled_rate, candidate, elapsed, bounds)? {
            None => self.settle(vault, b, candidate, ctx, false, ev),
            // A rise within the per-update cap but faster than the APR cap is smoothed: the rate
            // settles at the cap and the rest waits in the current rate for later updates
            // (Lido's positive-rebase smoothing). Flows meanwhile mint at the higher current rate
            // and pay at the lower settled one, so nobody can claim the held-back part early.
            Some(Breach::AprCap) => {
                let (up, _) = book::allowed_moves(b.settled_rate, elapsed, bounds)?;
                let capped = math::add(b.settled_rate, up)?;
                let held = math::sub(candidate, capped)?;
                let held_part = super::Part { value: 0, rate: super::attribution::signed(held, true)? };
                self.add_attribution(vault, Source::Smoothing, held_part)?;
                ev.push(Event::VaultRateSmoothed { vault, rate: candidate, settled: capped });
                self.settle(vault, b, capped, ctx, false, ev)?;
                let released = super::Part { value: 0, rate: super::attribution::signed(held, false)? };
                self.add_attribution(vault, Source::Smoothing, released)
            }
            Some(breach) => {
                b.quarantine = Some(Quarantine { rate: candidate, previous: b.settled_rate, breach, block: ctx.block });
                b.halted_since = Some(ctx.block);
                self.put_book(vault, b);
                ev.push(Event::VaultRateQuarantined { vault, rate: candidate, settled: b.settled_rate, breach });
                Ok(())
            }
        }
    }

    /// Records a settlement: the rate, its attribution (the residual goes to `Other`), the record.
    fn settle(
        &mut self,
        vault: VaultId,
        mut b: Book,
        rate: U256,
        ctx: &Ctx,
        from_quarantine: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let previous = b.settled_rate;
        let (attribution, fee_tokens) = self.close_attribution(vault, &mut b, previous, rate)?;
        b.settled_rate = rate;
        b.settled_block = ctx.block;
        b.settled_time = ctx.time;
        b.quarantine = None;
        b.halted_since = None;
        let n = b.settlements;
        b.settlements = math::add_u64(n, 1)?;
        self.put_book(vault, b);
        let record = RateRecord {
            block: ctx.block,
            time: ctx.time,
            rate,
            previous,
            supply: b.supply,
            assets: b.assets,
            reserve: b.reserve,
            fee_tokens,
            accepted_from_quarantine: from_quarantine,
            attribution,
        };
        ev.push(Event::VaultRateSettled(Box::new(crate::event::VaultRateSettledBody {
            vault,
            number: n,
            rate,
            previous,
            supply: b.supply,
            assets: b.assets,
            reserve: b.reserve,
        })));
        self.vault_rates.insert((vault, n), record);
        Ok(())
    }

    fn require_guardian(&self, vault: VaultId, sender: Address) -> Result<(), TxError> {
        let guardian = self.vault_cfg(vault)?.guardian;
        if sender != guardian {
            return Err(VaultError::NotGuardian { sender, guardian }.into());
        }
        Ok(())
    }

    /// `vault_accept_rate`: the guardian settles the quarantined rate (recomputed now, so an
    /// acceptance never settles a value older than the state).
    pub(crate) fn tx_vault_accept_rate(
        &mut self,
        ctx: &Ctx,
        vault: VaultId,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_guardian(vault, ctx.sender)?;
        let q = self.vault_book(vault)?.quarantine.ok_or(VaultError::NotQuarantined { vault })?;
        let b = self.priced_book(vault, ctx, ev)?;
        let rate = Self::current_rate(&b)?;
        ev.push(Event::VaultRateAccepted { vault, rate, quarantined: q.rate });
        self.settle(vault, b, rate, ctx, true, ev)
    }

    /// `vault_reject_rate`: the guardian drops the quarantined rate; the settled one stays.
    pub(crate) fn tx_vault_reject_rate(
        &mut self,
        ctx: &Ctx,
        vault: VaultId,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_guardian(vault, ctx.sender)?;
        let mut b = self.vault_book(vault)?;
        let q = b.quarantine.ok_or(VaultError::NotQuarantined { vault })?;
        b.quarantine = None;
        b.halted_since = None;
        self.put_book(vault, b);
        ev.push(Event::VaultRateRejected { vault, rate: q.rate, settled: b.settled_rate });
        Ok(())
    }

    /// The current rate of a vault as of `block` (a query: the cached valuation is not used).
    pub fn vault_current_rate(&self, vault: VaultId, block: Block, now: Timestamp) -> Result<U256, TxError> {
        let b = self.vault_book(vault)?;
        let v = self.valuation(vault, block)?;
        let net = v.assets.saturating_sub(v.reserve);
        let cfg = self.vault_cfg(vault)?;
        let fees = book::accrue_fees(net, b.supply, b.hwm, now.saturating_sub(b.fee_time), cfg.fee_rates())?;
        Ok(book::rate(net, math::add(b.supply, fees.tokens)?)?)
    }

    /// The rate a deposit mints at and an instant redemption pays at: (max, min) of the settled
    /// and the current rate.
    /// Raises the high-water mark by what a flow itself added to the rate (from `before`): an
    /// exit fee, a ticket paid below its tokens' worth, a deposit minted above the current rate.
    /// That is holders' money changing hands, not rewards, so no performance fee is due on it.
    pub(crate) fn lift_mark(b: &mut Book, before: U256) -> Result<(), TxError> {
        let after = Self::current_rate(b)?;
        if after > before && !b.supply.is_zero() {
            b.hwm = math::add(b.hwm, math::sub(after, before)?)?;
        }
        Ok(())
    }
}

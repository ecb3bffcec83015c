//! Instant redemption from the buffer: receipt tokens burned at min(settled rate, current rate),
//! paid in one asset at the committee's price, less a fee that rises as the buffer drains
//! (Renzo's curve, [LRV §2.3]); the fee stays in the vault for the holders who remain.
//!
//! Only the spendable buffer pays: what finalized tickets are owed and what is earmarked for
//! pending tickets is never touched, so an instant exit cannot delay a ticket.

use cairn_primitives::{Address, AssetId, U256, VaultId, math};

use super::{Book, VaultError, book, tx::Redeem};
use crate::{Ctx, Event, State, TxError};

/// What an instant redemption would pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedeemQuote {
    /// Value of the tokens at the redemption rate.
    pub value: U256,
    /// Fee in bps.
    pub fee_bps: u16,
    /// Asset amount paid.
    pub amount: U256,
    /// The rate used.
    pub rate: U256,
}

impl State {
    /// Value of the spendable buffer across the vault's assets.
    fn spendable_value(&self, vault: VaultId) -> Result<U256, TxError> {
        let mut total = U256::ZERO;
        for a in &self.vault_cfg(vault)?.assets {
            let s = self.spendable_buffer(vault, a.asset)?;
            if !s.is_zero() {
                total = math::add(total, book::value_of(s, self.vault_price(vault, a.asset)?)?)?;
            }
        }
        Ok(total)
    }

    /// The buffer the targets ask for (value): their buffer weight of the net assets.
    pub(crate) fn buffer_target(&self, vault: VaultId, b: &Book) -> Result<U256, TxError> {
        let cfg = self.vault_cfg(vault)?;
        let bps = cfg.targets.as_ref().map_or(cfg.policy.min_buffer_bps, |t| t.buffer_bps);
        Ok(book::bps_of(b.assets.saturating_sub(b.reserve), u64::from(bps))?)
    }

    /// Quotes against the book `b` whose current rate is `current`, `spendable` being the
    /// asset's spendable buffer and `price` its price.
    fn quote_redeem(
        &self,
        vault: VaultId,
        b: &Book,
        current: U256,
        tokens: U256,
        spendable: U256,
        price: U256,
    ) -> Result<RedeemQuote, TxError> {
        let rate = current.min(b.settled_rate);
        let value = book::to_value(tokens, rate)?;
        if value.is_zero() {
            return Err(VaultError::ZeroPayout { tokens, rate }.into());
        }
        let p = self.vault_cfg(vault)?.params;
        let target = self.buffer_target(vault, b)?;
        // The paid asset's own buffer often covers the target alone: the fee is then the minimum
        // whatever the other assets hold, and they need not be valued (the hot path).
        let own = book::value_of(spendable, price)?;
        let after = if own.saturating_sub(value) >= target {
            own.saturating_sub(value)
        } else {
            self.spendable_value(vault)?.saturating_sub(value)
        };
        let fee_bps = book::instant_fee_bps(p.instant_fee_min_bps, p.instant_fee_max_bps, after, target)?;
        let fee = book::bps_of_up(value, u64::from(fee_bps))?;
        let amount = book::amount_of(math::sub(value, fee)?, price)?;
        Ok(RedeemQuote { value, fee_bps, amount, rate })
    }

    /// The checks every exit in an asset opens with: the vault prices the asset (freshly), is
    /// not unwinding, and the owner holds the shares, unlocked.
    pub(crate) fn check_exit(
        &self,
        vault: VaultId,
        asset: AssetId,
        owner: Address,
        shares: U256,
        ctx: &Ctx,
    ) -> Result<(), TxError> {
        self.vault_cfg(vault)?.asset(asset).ok_or(VaultError::UnknownVaultAsset { vault, asset })?;
        if self.vault_books.get(&vault).is_some_and(|b| b.emergency) {
            return Err(VaultError::InEmergency { vault }.into());
        }
        let balance = self.vault_balance(vault, owner);
        if balance < shares {
            return Err(VaultError::InsufficientTokens { vault, account: owner, balance, amount: shares }.into());
        }
        self.check_unlocked(vault, owner, shares, ctx.block)?;
        self.require_fresh_price(vault, asset, ctx.time)
    }

    /// `vault_redeem`: instant redemption.
    pub(crate) fn tx_vault_redeem(&mut self, ctx: &Ctx, r: &Redeem, ev: &mut Vec<Event>) -> Result<(), TxError> {
        r.check_stateless()?;
        let (vault, asset) = (r.vault, r.asset);
        self.check_exit(vault, asset, ctx.sender, r.shares, ctx)?;
        let mut b = self.book_for_flow(vault, ctx, ev)?;
        let price = self.vault_price(vault, asset)?;
        let available = self.spendable_buffer(vault, asset)?;
        let before = Self::current_rate(&b)?;
        let q = self.quote_redeem(vault, &b, before, r.shares, available, price)?;
        if q.amount > available {
            return Err(VaultError::InsufficientLiquidity { asset, requested: q.amount, available }.into());
        }
        if q.amount < r.min_out || q.amount.is_zero() {
            return Err(VaultError::SlippageExceeded { out: q.amount, min_out: r.min_out }.into());
        }
        let paid_value = book::value_of_up(q.amount, price)?;
        self.debit_receipt(vault, ctx.sender, r.shares)?;
        self.move_tokens(asset, self.vault_own(vault), ctx.sender, q.amount)?;
        b.supply = math::sub(b.supply, r.shares)?;
        b.assets = b.assets.saturating_sub(paid_value);
        let kept = q.value.saturating_sub(paid_value);
        b.exit_fee_value = math::add(b.exit_fee_value, kept)?;
        if !b.supply.is_zero() {
            b.exit_fee_rate = math::add(b.exit_fee_rate, math::mul_div_down(kept, cairn_primitives::WAD, b.supply)?)?;
        }
        Self::lift_mark(&mut b, before)?;
        self.put_book(vault, b);
        let mut ab = self.asset_book(vault, asset);
        ab.deposited = ab.deposited.saturating_sub(q.amount);
        self.put_asset_book(vault, asset, ab);
        ev.push(Event::VaultRedeemed(Box::new(crate::event::VaultRedeemedBody {
            vault,
            owner: ctx.sender,
            asset,
            tokens: r.shares,
            value: q.value,
            fee_bps: q.fee_bps,
            amount: q.amount,
            rate: q.rate,
        })));
        Ok(())
    }

    /// What an instant redemption of `tokens` into `asset` would pay now (ERC-4626
    /// `previewRedeem`), against the cached book; an error names what would refuse it.
    pub fn vault_preview_redeem(&self, vault: VaultId, tokens: U256, asset: AssetId) -> Result<RedeemQuote, TxError> {
        let b = self.vault_book(vault)?;
        let (spendable, price) = (self.spendable_buffer(vault, asset)?, self.vault_price(vault, asset)?);
        self.quote_redeem(vault, &b, Self::current_rate(&b)?, tokens, spendable, price)
    }
}

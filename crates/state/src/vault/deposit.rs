//! Deposits: an accepted asset in, receipt tokens out, minted at max(settled rate, current
//! rate) so a deposit never dilutes the holders ([LRV §1], StakeStone's asymmetric price).
//!
//! Rules, in order: the vault exists and is not unwinding; the asset is accepted, not paused,
//! at least its minimum, within its cap; its price is known; no rate is quarantined; no price
//! the rate depends on (or of the asset itself) is stale; at least one token and at least
//! `min_out` are minted. The tokens minted stay locked for `deposit_lock_blocks`.

use cairn_primitives::{U256, math};

use super::{VaultError, book, tx::Deposit};
use crate::{Ctx, Event, State, TxError};

impl State {
    /// `vault_deposit` (ERC-4626 `deposit` with a minimum out).
    pub(crate) fn tx_vault_deposit(&mut self, ctx: &Ctx, d: &Deposit, ev: &mut Vec<Event>) -> Result<(), TxError> {
        d.check_stateless()?;
        let (vault, asset) = (d.vault, d.asset);
        let cfg = self.vault_cfg(vault)?;
        let a = cfg.asset(asset).ok_or(VaultError::UnknownVaultAsset { vault, asset })?;
        if !a.deposits {
            return Err(VaultError::DepositsNotAccepted { vault, asset }.into());
        }
        if a.paused {
            return Err(VaultError::AssetPaused { vault, asset }.into());
        }
        if d.amount < a.min_deposit {
            return Err(VaultError::BelowMinimum { asset, amount: d.amount, min: a.min_deposit }.into());
        }
        let cap = a.cap;
        let receiver = d.receiver.unwrap_or(ctx.sender);
        if receiver != ctx.sender {
            self.check_token_recipient(receiver)?;
        }
        if self.vault_book(vault)?.emergency {
            return Err(VaultError::InEmergency { vault }.into());
        }
        let price = self.vault_price(vault, asset)?;
        self.require_fresh_price(vault, asset, ctx.time)?;
        let mut ab = self.asset_book(vault, asset);
        let deposited = math::add(ab.deposited, d.amount)?;
        if let Some(cap) = cap
            && deposited > cap
        {
            return Err(VaultError::CapExceeded { asset, deposited: ab.deposited, amount: d.amount, cap }.into());
        }
        let mut b = self.book_for_flow(vault, ctx, ev)?;
        let value = book::value_of(d.amount, price)?;
        let before = Self::current_rate(&b)?;
        let mint_rate = before.max(b.settled_rate);
        if mint_rate.is_zero() {
            return Err(VaultError::ZeroTokens { value, rate: mint_rate }.into());
        }
        let tokens = book::to_tokens(value, mint_rate)?;
        if tokens.is_zero() {
            return Err(VaultError::ZeroTokens { value, rate: mint_rate }.into());
        }
        if tokens < d.min_out {
            return Err(VaultError::SlippageExceeded { out: tokens, min_out: d.min_out }.into());
        }
        self.move_tokens(asset, ctx.sender, self.vault_own(vault), d.amount)?;
        self.credit_receipt(vault, receiver, tokens)?;
        self.lock_minted(vault, receiver, tokens, ctx.block)?;
        b.assets = math::add(b.assets, value)?;
        b.supply = math::add(b.supply, tokens)?;
        Self::lift_mark(&mut b, before)?;
        if !self.is_native_asset(asset) {
            b.oldest_price = b.oldest_price.min(ab.price_time);
        }
        self.put_book(vault, b);
        ab.deposited = deposited;
        self.put_asset_book(vault, asset, ab);
        ev.push(Event::VaultDeposited(Box::new(crate::event::VaultDepositedBody {
            vault,
            sender: ctx.sender,
            receiver,
            asset,
            amount: d.amount,
            value,
            tokens,
            rate: mint_rate,
        })));
        Ok(())
    }

    /// Receipt tokens a deposit would mint now (ERC-4626 `previewDeposit`), fees and bounds as a
    /// deposit would meet them; an error names what would refuse it.
    pub fn vault_preview_deposit(
        &self,
        vault: cairn_primitives::VaultId,
        asset: cairn_primitives::AssetId,
        amount: U256,
        block: u64,
        now: u64,
    ) -> Result<U256, TxError> {
        let price = self.vault_price(vault, asset)?;
        let mut b = self.vault_book(vault)?;
        let rate = self.vault_current_rate(vault, block, now)?;
        b.settled_rate = b.settled_rate.max(rate);
        let value = book::value_of(amount, price)?;
        Ok(book::to_tokens(value, b.settled_rate)?)
    }
}

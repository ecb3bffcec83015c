//! The receipt token: balances, transfers, allowances and supply, per vault. Supply always
//! equals the sum of balances (locked ticket tokens sit in the vault's own account).

use cairn_primitives::{Address, Block, U256, VaultId, math};

use super::{
    VaultError,
    tx::{Approve, Transfer, TransferFrom},
};
use crate::{BURN_ADDRESS, Ctx, Event, State, TxError};

impl State {
    /// Receipt tokens of `holder` in `vault`.
    pub fn vault_balance(&self, vault: VaultId, holder: Address) -> U256 {
        self.vault_balances.get(&(vault, holder)).copied().unwrap_or_default()
    }

    /// Allowance `owner` gave `spender` in `vault`.
    pub fn vault_allowance(&self, vault: VaultId, owner: Address, spender: Address) -> U256 {
        self.vault_allowances.get(&(vault, owner, spender)).copied().unwrap_or_default()
    }

    /// Credits receipt tokens (the caller raises the supply).
    pub(crate) fn credit_receipt(&mut self, vault: VaultId, to: Address, amount: U256) -> Result<(), TxError> {
        if amount.is_zero() {
            return Ok(());
        }
        self.vault_balances
            .update((vault, to), |b| Ok::<_, TxError>((Some(math::add(b.copied().unwrap_or_default(), amount)?), ())))
    }

    /// Debits receipt tokens (the caller lowers the supply, or credits them elsewhere).
    pub(crate) fn debit_receipt(&mut self, vault: VaultId, from: Address, amount: U256) -> Result<(), TxError> {
        self.vault_balances.update((vault, from), |b| {
            let balance = b.copied().unwrap_or_default();
            let rest = balance.checked_sub(amount).ok_or(VaultError::InsufficientTokens {
                vault,
                account: from,
                balance,
                amount,
            })?;
            Ok::<_, TxError>(((!rest.is_zero()).then_some(rest), ()))
        })
    }

    /// Tokens of `holder` locked by recent deposits at `block`, and the block they unlock (a
    /// lock of 0 blocks, set by governance, releases every lock at once).
    pub fn vault_locked(&self, vault: VaultId, holder: Address, block: Block) -> (U256, Block) {
        if self.vaults.get(&vault).is_none_or(|v| v.params.deposit_lock_blocks == 0) {
            return (U256::ZERO, block);
        }
        match self.vault_locks.get(&(vault, holder)).copied() {
            Some((tokens, until)) if block < until => (tokens, until),
            _ => (U256::ZERO, block),
        }
    }

    /// Locks `tokens` just minted to `holder` until `deposit_lock_blocks` from now. Tokens
    /// still locked join the new lock (the holder's older, unlocked tokens stay free, so a deposit
    /// to someone else cannot freeze what they had).
    pub(crate) fn lock_minted(
        &mut self,
        vault: VaultId,
        holder: Address,
        tokens: U256,
        block: Block,
    ) -> Result<(), TxError> {
        let lock = self.vault_cfg(vault)?.params.deposit_lock_blocks;
        if lock == 0 {
            return Ok(());
        }
        let (held, _) = self.vault_locked(vault, holder, block);
        self.vault_locks.insert((vault, holder), (math::add(held, tokens)?, math::add_u64(block, lock)?));
        Ok(())
    }

    /// Refuses to move `amount` of `owner`'s tokens if that would dip into the locked ones.
    pub(crate) fn check_unlocked(
        &self,
        vault: VaultId,
        owner: Address,
        amount: U256,
        block: Block,
    ) -> Result<(), VaultError> {
        let (locked, until) = self.vault_locked(vault, owner, block);
        let free = self.vault_balance(vault, owner).saturating_sub(locked);
        if !locked.is_zero() && free < amount {
            return Err(VaultError::TokensLocked { vault, account: owner, free, amount, until, block });
        }
        Ok(())
    }

    /// Moves receipt tokens between accounts.
    pub(crate) fn move_receipt(
        &mut self,
        vault: VaultId,
        from: Address,
        to: Address,
        amount: U256,
    ) -> Result<(), TxError> {
        self.debit_receipt(vault, from, amount)?;
        self.credit_receipt(vault, to, amount)
    }

    pub(crate) fn check_token_recipient(&self, to: Address) -> Result<(), VaultError> {
        if to == Address::ZERO || to == BURN_ADDRESS || self.is_reserved_account(to) {
            return Err(VaultError::ReservedTokenRecipient { to });
        }
        Ok(())
    }

    /// `transfer`.
    pub(crate) fn tx_vault_transfer(&mut self, ctx: &Ctx, t: &Transfer, ev: &mut Vec<Event>) -> Result<(), TxError> {
        t.check_stateless()?;
        self.vault_cfg(t.vault)?;
        self.check_token_recipient(t.to)?;
        self.check_unlocked(t.vault, ctx.sender, t.amount, ctx.block)?;
        self.move_receipt(t.vault, ctx.sender, t.to, t.amount)?;
        ev.push(Event::VaultTransfer { vault: t.vault, from: ctx.sender, to: t.to, amount: t.amount });
        Ok(())
    }

    /// `approve`: sets (not adds to) the allowance.
    pub(crate) fn tx_vault_approve(&mut self, ctx: &Ctx, t: &Approve, ev: &mut Vec<Event>) -> Result<(), TxError> {
        self.vault_cfg(t.vault)?;
        if t.spender == Address::ZERO {
            return Err(VaultError::ReservedTokenRecipient { to: t.spender }.into());
        }
        let key = (t.vault, ctx.sender, t.spender);
        if t.amount.is_zero() {
            self.vault_allowances.remove(&key);
        } else {
            self.vault_allowances.insert(key, t.amount);
        }
        ev.push(Event::VaultApproval { vault: t.vault, owner: ctx.sender, spender: t.spender, amount: t.amount });
        Ok(())
    }

    /// `transferFrom`: spends the allowance (an allowance of U256::MAX is never spent).
    pub(crate) fn tx_vault_transfer_from(
        &mut self,
        ctx: &Ctx,
        t: &TransferFrom,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        t.check_stateless()?;
        self.vault_cfg(t.vault)?;
        self.check_token_recipient(t.to)?;
        self.check_unlocked(t.vault, t.from, t.amount, ctx.block)?;
        let allowance = self.vault_allowance(t.vault, t.from, ctx.sender);
        if allowance < t.amount {
            return Err(VaultError::InsufficientAllowance {
                owner: t.from,
                spender: ctx.sender,
                allowance,
                amount: t.amount,
            }
            .into());
        }
        if allowance != U256::MAX {
            let rest = math::sub(allowance, t.amount)?;
            let key = (t.vault, t.from, ctx.sender);
            if rest.is_zero() {
                self.vault_allowances.remove(&key);
            } else {
                self.vault_allowances.insert(key, rest);
            }
        }
        self.move_receipt(t.vault, t.from, t.to, t.amount)?;
        ev.push(Event::VaultTransfer { vault: t.vault, from: t.from, to: t.to, amount: t.amount });
        Ok(())
    }
}

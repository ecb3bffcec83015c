//! The emergency path: a user-sovereign exit when redemptions stay halted (the vault-redemptions
//! module paused, or a rate quarantined) for `emergency_delay_blocks` ([LRV §9.2(5)], Mellow's
//! `emergencyWithdraw`). Anyone may then start the unwind: pending tickets are cancelled (their
//! tokens return to their owners), every restaked position is queued for withdrawal, and the
//! vault stops taking deposits, targets and rebalances for good. Once nothing is unbonding any
//! more, holders exit in kind: `tokens / supply` of every idle asset. No price is needed.

use cairn_primitives::{AssetId, Block, U256, VaultId, math};

use super::{TicketStatus, VaultError, tx::EmergencyExit};
use crate::{Ctx, Event, State, TxError, pause::Module};

impl State {
    /// Since when redemptions have been halted: the module pause or a quarantine, the earlier.
    pub fn vault_halted_since(&self, vault: VaultId) -> Result<Option<Block>, TxError> {
        let q = self.vault_book(vault)?.halted_since;
        let p = self.pause_since.get(&Module::VaultRedemptions).copied();
        Ok(match (q, p) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// `vault_emergency_unwind`.
    pub(crate) fn tx_vault_emergency_unwind(
        &mut self,
        ctx: &Ctx,
        vault: VaultId,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let delay = self.vault_cfg(vault)?.params.emergency_delay_blocks;
        let halted = self.vault_halted_since(vault)?;
        let open = halted.is_some_and(|h| ctx.block >= h.saturating_add(delay));
        if !open {
            return Err(VaultError::NotHaltedLongEnough { vault, halted_since: halted, delay }.into());
        }
        self.cancel_pending_tickets(vault, ev)?;
        for (op, place) in self.vault_places_of(vault) {
            for h in self.place_holdings(place.account)? {
                if !h.shares.is_zero() {
                    self.place_unbond(vault, op, h.strategy, h.tokens.max(h.shares), U256::ZERO, ctx, ev)?;
                }
            }
        }
        for ((account, nonce), mut u) in self.vault_unbondings_of(vault) {
            u.committed = U256::ZERO;
            self.vault_unbondings.insert((vault, account, nonce), u);
        }
        self.sweep(vault, ctx, ev)?;
        let mut b = self.vault_book(vault)?;
        b.emergency = true;
        b.val_block = 0;
        self.put_book(vault, b);
        let unbondings = u32::try_from(self.vault_unbondings_of(vault).len()).unwrap_or(u32::MAX);
        ev.push(Event::VaultEmergencyUnwind { vault, unbondings });
        Ok(())
    }

    /// Returns every pending ticket's tokens to its owner and releases the earmarks.
    fn cancel_pending_tickets(&mut self, vault: VaultId, ev: &mut Vec<Event>) -> Result<(), TxError> {
        for (id, t) in self.vault_tickets_of(vault) {
            if t.status != TicketStatus::Pending {
                continue;
            }
            self.move_receipt(vault, self.vault_own(vault), t.owner, t.shares)?;
            let mut ab = self.asset_book(vault, t.asset);
            ab.earmarked = math::sub(ab.earmarked, t.funded)?;
            self.put_asset_book(vault, t.asset, ab);
            self.vault_tickets.remove(&(vault, id));
            ev.push(Event::VaultTicketCancelled { vault, ticket: id, owner: t.owner, tokens: t.shares });
        }
        Ok(())
    }

    /// `vault_emergency_exit`: `tokens / supply` of every idle asset, in kind (rounding down).
    pub(crate) fn tx_vault_emergency_exit(
        &mut self,
        ctx: &Ctx,
        e: &EmergencyExit,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        e.check_stateless()?;
        let vault = e.vault;
        let b = self.vault_book(vault)?;
        if !b.emergency {
            return Err(VaultError::NotInEmergency { vault }.into());
        }
        self.sweep(vault, ctx, ev)?;
        let unbondings = self.vault_unbondings_of(vault).len();
        if unbondings > 0 {
            return Err(VaultError::UnwindInProgress { vault, unbondings }.into());
        }
        let balance = self.vault_balance(vault, ctx.sender);
        if balance < e.shares {
            return Err(VaultError::InsufficientTokens { vault, account: ctx.sender, balance, amount: e.shares }.into());
        }
        let mut b = self.vault_book(vault)?;
        let assets: Vec<AssetId> = self.vault_cfg(vault)?.assets.iter().map(|a| a.asset).collect();
        let mut paid = Vec::new();
        for a in assets {
            let share = math::mul_div_down(self.free_buffer(vault, a)?, e.shares, b.supply)?;
            if !share.is_zero() {
                self.move_tokens(a, self.vault_own(vault), ctx.sender, share)?;
                paid.push(super::AssetAmount { asset: a, amount: share });
            }
        }
        self.debit_receipt(vault, ctx.sender, e.shares)?;
        b.supply = math::sub(b.supply, e.shares)?;
        b.val_block = 0;
        self.put_book(vault, b);
        ev.push(Event::VaultEmergencyExit { vault, owner: ctx.sender, tokens: e.shares, paid });
        Ok(())
    }
}

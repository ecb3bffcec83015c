//! The vault's invariants as code, checked with the core's after every step of the tests.

use cairn_primitives::{AssetId, Block, U256, WAD, math};

use super::{TicketStatus, book};
use crate::{State, invariants::Violation};

fn fail<T>(msg: String) -> Result<T, Violation> {
    Err(Violation(msg))
}

impl State {
    /// Every vault's invariants as of `block`.
    pub(crate) fn check_vault_invariants(&self, block: Block) -> Result<(), Violation> {
        let mut supplies: std::collections::BTreeMap<_, U256> = std::collections::BTreeMap::new();
        for ((v, _), bal) in self.vault_balances.sorted() {
            let e = supplies.entry(*v).or_default();
            *e = e.saturating_add(*bal);
        }
        for (vault, cfg) in self.vaults.iter() {
            let vault = *vault;
            let b = self.vault_book(vault).map_err(|e| Violation(e.to_string()))?;
            let sum = supplies.get(&vault).copied().unwrap_or_default();
            if sum != b.supply {
                return fail(format!("{vault}: supply {} != Σ balances {sum}", b.supply));
            }
            // Locked tokens are exactly the pending tickets' tokens.
            let tickets = self.vault_tickets_of(vault);
            let locked = tickets
                .iter()
                .filter(|(_, t)| t.status == TicketStatus::Pending)
                .fold(U256::ZERO, |a, (_, t)| a.saturating_add(t.shares));
            if locked != self.vault_balance(vault, self.vault_own(vault)) {
                return fail(format!(
                    "{vault}: locked {} != pending tickets' tokens {locked}",
                    self.vault_locked_tokens(vault)
                ));
            }
            for a in &cfg.assets {
                self.check_vault_asset(vault, a.asset, &tickets)?;
            }
            for ((account, nonce), u) in self.vault_unbondings_of(vault) {
                if u.committed > u.expected || self.withdrawal(account, nonce).is_none() {
                    return fail(format!(
                        "{vault}: unbonding {account}/{nonce} commits {} of {}",
                        u.committed, u.expected
                    ));
                }
            }
            // Every holder's claim is covered: supply × the redemption rate flows would use now ≤
            // net assets valued afresh (a cached valuation, while current, may only under-count).
            let v = self.valuation(vault, block).map_err(|e| Violation(format!("{vault}: valuation failed: {e}")))?;
            let net = v.assets.saturating_sub(v.reserve);
            let cache_current = b.val_block == block && b.val_epoch == self.g.value_epoch;
            let current = if cache_current {
                State::current_rate(&b).map_err(|e| Violation(e.to_string()))?
            } else {
                book::rate(net, b.supply).map_err(|e| Violation(e.to_string()))?
            };
            let redeem = current.min(b.settled_rate);
            let claims = book::to_value(b.supply, redeem).map_err(|e| Violation(e.to_string()))?;
            if claims > net {
                return fail(format!(
                    "{vault}: claims {claims} (supply {} at {redeem}) exceed net assets {net}",
                    b.supply
                ));
            }
            if cache_current && b.assets > v.assets {
                return fail(format!("{vault}: cached assets {} above a fresh valuation {}", b.assets, v.assets));
            }
            if b.hwm < WAD.min(b.hwm) {
                return fail(format!("{vault}: high-water mark {}", b.hwm));
            }
        }
        Ok(())
    }

    fn check_vault_asset(
        &self,
        vault: cairn_primitives::VaultId,
        asset: AssetId,
        tickets: &[(u64, super::Ticket)],
    ) -> Result<(), Violation> {
        let ab = self.asset_book(vault, asset);
        let held = self.balance(self.vault_own(vault), asset);
        let owed = tickets
            .iter()
            .filter(|(_, t)| t.asset == asset)
            .filter_map(|(_, t)| match t.status {
                TicketStatus::Finalized { amount, .. } => Some(amount),
                TicketStatus::Pending => None,
            })
            .fold(U256::ZERO, U256::saturating_add);
        if owed != ab.owed {
            return fail(format!("{vault} asset {asset}: owed {} != finalized tickets {owed}", ab.owed));
        }
        if math::add(ab.owed, ab.earmarked).map_or(true, |x| x > held) {
            return fail(format!("{vault} asset {asset}: owed {} + earmarked {} > held {held}", ab.owed, ab.earmarked));
        }
        let pending: Vec<&super::Ticket> = tickets
            .iter()
            .filter(|(_, t)| t.asset == asset && t.status == TicketStatus::Pending)
            .map(|(_, t)| t)
            .collect();
        if let Some(t) = pending.iter().find(|t| t.funded > t.requested) {
            return fail(format!("{vault}: a ticket funded {} above its request {}", t.funded, t.requested));
        }
        let funded = pending.iter().fold(U256::ZERO, |a, t| a.saturating_add(t.funded));
        if funded != ab.earmarked {
            return fail(format!(
                "{vault} asset {asset}: earmarked {} != pending tickets' funding {funded}",
                ab.earmarked
            ));
        }
        let outstanding =
            pending.iter().fold(U256::ZERO, |a, t| a.saturating_add(t.requested.saturating_sub(t.funded)));
        let committed = self
            .vault_unbondings_of(vault)
            .into_iter()
            .filter(|(_, u)| u.asset == asset)
            .fold(U256::ZERO, |a, (_, u)| a.saturating_add(u.committed));
        if committed > outstanding {
            return fail(format!(
                "{vault} asset {asset}: committed {committed} > what pending tickets lack {outstanding}"
            ));
        }
        Ok(())
    }
}

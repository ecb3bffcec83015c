//! Rewards: the sub-accounts earn as any delegator does (the off-consensus calculator puts them
//! in the merkle root); `vault_claim_rewards` claims them into the buffer with the calculator's
//! proofs, where they count at the committee's price.
//!
//! Attribution to services: a claimed amount of a token is split among the services whose
//! submissions in that token overlap the root's window (the previous root's end to this root's)
//! and that have an operator set the earner's operator is registered to, in proportion to their
//! submitted amounts over the overlap. Exact when one service pays in the token; a stated rule
//! otherwise (docs/vault.md).

use cairn_primitives::{Address, AssetId, Timestamp, U256, VaultId, math};

use super::{Source, VaultError, book, tx::ClaimRewards};
use crate::{Ctx, Event, State, Tx, TxError};

impl State {
    /// `vault_claim_rewards`.
    pub(crate) fn tx_vault_claim_rewards(
        &mut self,
        ctx: &Ctx,
        c: &ClaimRewards,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        c.check_stateless()?;
        let vault = c.vault;
        self.vault_cfg(vault)?;
        let own = self.vault_own(vault);
        for claim in &c.claims {
            let earner = claim.earner;
            if earner == own || self.vault_accounts.get(&earner) != Some(&vault) {
                return Err(VaultError::NotVaultEarner { vault, earner }.into());
            }
            let mut amounts = Vec::new();
            for leaf in &claim.token_leaves {
                if let Some(asset) = self.asset_by_address(leaf.token) {
                    let due = leaf.cumulative_earnings.saturating_sub(self.cumulative_claimed(earner, asset));
                    amounts.push((asset, due));
                }
            }
            let window = self.root_window(claim.root_index);
            self.act(earner, ctx, &Tx::ProcessClaim { claim: claim.clone(), recipient: own }, ev)?;
            for (asset, amount) in amounts {
                self.attribute_rewards(vault, earner, asset, amount, window)?;
                ev.push(Event::VaultRewardsClaimed { vault, earner, asset, amount });
            }
        }
        let mut b = self.vault_book(vault)?;
        b.val_block = 0;
        self.put_book(vault, b);
        Ok(())
    }

    /// The window a root's earnings cover: (the previous root's end, its end].
    fn root_window(&self, index: u32) -> (Timestamp, Timestamp) {
        let end = self.roots.get(&index).map_or(0, |r| r.calculation_end);
        let start = index.checked_sub(1).and_then(|i| self.roots.get(&i)).map_or(0, |r| r.calculation_end);
        (start, end)
    }

    fn attribute_rewards(
        &mut self,
        vault: VaultId,
        earner: Address,
        asset: AssetId,
        amount: U256,
        (start, end): (Timestamp, Timestamp),
    ) -> Result<(), TxError> {
        if amount.is_zero() || self.vault_cfg(vault)?.asset(asset).is_none() {
            return Ok(());
        }
        let value = book::value_of(amount, self.vault_price(vault, asset)?)?;
        let supply = self.vault_book(vault)?.supply;
        let operator = self.delegated_to(earner);
        let mut weights: Vec<(Address, U256)> = Vec::new();
        for ((service, _), s) in self.submissions.iter() {
            let eligible = operator
                .is_some_and(|op| self.operator_sets_of(*service).iter().any(|set| self.is_registered(op, *set)));
            let s_end = s.start.saturating_add(s.duration);
            let overlap = s_end.min(end).saturating_sub(s.start.max(start));
            if s.token != asset || !eligible || overlap == 0 || s.duration == 0 {
                continue;
            }
            let w = math::mul_div_down(s.amount, U256::from(overlap), U256::from(s.duration))?;
            match weights.binary_search_by_key(service, |(a, _)| *a) {
                Ok(i) => weights[i].1 = math::add(weights[i].1, w)?,
                Err(i) => weights.insert(i, (*service, w)),
            }
        }
        let total = weights.iter().try_fold(U256::ZERO, |a, (_, w)| math::add(a, *w))?;
        if total.is_zero() {
            return self.attribute(vault, Source::Other, value, false, supply);
        }
        // Split pro rata (rounding down); the remainder goes to the largest payer.
        let mut given = U256::ZERO;
        let mut largest = (U256::ZERO, Address::ZERO);
        for (service, w) in &weights {
            let v = math::mul_div_down(value, *w, total)?;
            given = math::add(given, v)?;
            if *w > largest.0 {
                largest = (*w, *service);
            }
            self.attribute(vault, Source::Service { service: *service }, v, false, supply)?;
        }
        self.attribute(vault, Source::Service { service: largest.1 }, value.saturating_sub(given), false, supply)
    }
}

//! Asset prices from a reporting committee ([LRV §9.1]): members report a round's prices; once a
//! quorum (a strict majority) reported the round, each asset reported by a quorum takes the
//! median of its reports. Every report must stay within the per-report bound of the accepted
//! price; a price older than the staleness limit stops flows and rate updates. The native asset
//! is priced at one.

use cairn_primitives::{Address, AssetId, Block, U256, VaultId, math};

use super::{VaultError, book, tx::ReportPrices};
use crate::{Ctx, Event, State, TxError, vault::Source};

impl State {
    /// `vault_report_prices`.
    pub(crate) fn tx_vault_report_prices(
        &mut self,
        ctx: &Ctx,
        r: &ReportPrices,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let prices = r.check_stateless()?;
        let vault = r.vault;
        let cfg = self.vault_cfg(vault)?;
        if cfg.committee.binary_search(&ctx.sender).is_err() {
            return Err(VaultError::NotCommitteeMember { vault, sender: ctx.sender }.into());
        }
        let (quorum, max_change) = (cfg.quorum, cfg.params.max_price_change_bps);
        let last = self.vault_book(vault)?.price_round;
        if r.round <= last {
            return Err(VaultError::StaleRound { round: r.round, last }.into());
        }
        if self.vault_price_votes.get(&(vault, ctx.sender)).is_some_and(|(round, _)| *round == r.round) {
            return Err(VaultError::AlreadyReported { member: ctx.sender, round: r.round }.into());
        }
        for p in &prices {
            self.check_price(vault, p.asset, p.price, max_change)?;
        }
        self.vault_price_votes.insert((vault, ctx.sender), (r.round, prices));
        ev.push(Event::VaultPricesReported { vault, member: ctx.sender, round: r.round });
        let votes = self.round_votes(vault, r.round);
        if u32::try_from(votes.len()).unwrap_or(u32::MAX) >= quorum {
            self.accept_round(vault, r.round, &votes, quorum, ctx, ev)?;
        }
        Ok(())
    }

    fn check_price(&self, vault: VaultId, asset: AssetId, price: U256, max_change: u16) -> Result<(), VaultError> {
        if self.is_native_asset(asset) {
            return Err(VaultError::NativeAssetPriced { asset });
        }
        self.vault_cfg(vault)?.asset(asset).ok_or(VaultError::UnknownVaultAsset { vault, asset })?;
        let previous = self.asset_book(vault, asset).price;
        if previous.is_zero() {
            return Ok(());
        }
        let bound = book::bps_of(previous, u64::from(max_change)).unwrap_or(U256::MAX);
        let diff = if price > previous { price.saturating_sub(previous) } else { previous.saturating_sub(price) };
        if diff > bound {
            return Err(VaultError::PriceOutOfBounds { asset, previous, price, max_change_bps: max_change });
        }
        Ok(())
    }

    /// Members' reports for `round`: (member, prices), ascending by member.
    fn round_votes(&self, vault: VaultId, round: u64) -> Vec<(Address, Vec<super::tx::AssetPrice>)> {
        let lo = (vault, Address::ZERO);
        let hi = (vault, Address::repeat_byte(0xff));
        self.vault_price_votes
            .range(lo..=hi)
            .filter(|(_, (r, _))| *r == round)
            .map(|((_, m), (_, p))| (*m, p.clone()))
            .collect()
    }

    /// Accepts a round: each asset reported by a quorum takes the lower median of its reports;
    /// the change in what the vault's holdings are worth is base staking.
    fn accept_round(
        &mut self,
        vault: VaultId,
        round: u64,
        votes: &[(Address, Vec<super::tx::AssetPrice>)],
        quorum: u32,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let mut by_asset: std::collections::BTreeMap<AssetId, Vec<U256>> = std::collections::BTreeMap::new();
        for (_, prices) in votes {
            for p in prices {
                by_asset.entry(p.asset).or_default().push(p.price);
            }
        }
        let mut accepted = Vec::new();
        for (asset, mut values) in by_asset {
            if u32::try_from(values.len()).unwrap_or(u32::MAX) < quorum {
                continue;
            }
            values.sort_unstable();
            let median = values[values.len().saturating_sub(1) / 2];
            self.set_price(vault, asset, median, ctx.block, ctx.time)?;
            accepted.push(super::tx::AssetPrice { asset, price: median });
        }
        for (member, _) in votes {
            self.vault_price_votes.remove(&(vault, *member));
        }
        let mut b = self.vault_book(vault)?;
        b.price_round = round;
        b.val_block = 0;
        self.put_book(vault, b);
        ev.push(Event::VaultPricesAccepted { vault, round, prices: accepted });
        Ok(())
    }

    fn set_price(
        &mut self,
        vault: VaultId,
        asset: AssetId,
        price: U256,
        block: Block,
        time: u64,
    ) -> Result<(), TxError> {
        let mut ab = self.asset_book(vault, asset);
        let old = ab.price;
        if !old.is_zero() && old != price {
            let units = self.vault_units(vault, asset, block)?;
            let (diff, loss) =
                if price > old { (price.saturating_sub(old), false) } else { (old.saturating_sub(price), true) };
            let value = math::mul_div_down(units, diff, cairn_primitives::WAD)?;
            let supply = self.vault_book(vault)?.supply;
            self.attribute(vault, Source::BaseStaking, value, loss, supply)?;
        }
        ab.price = price;
        ab.price_time = time;
        self.put_asset_book(vault, asset, ab);
        Ok(())
    }
}

//! Views of a vault, with ERC-4626's names and meaning where one exists (`totalAssets`,
//! `convertToShares`, `convertToAssets`, `previewDeposit`, `previewRedeem`, `maxDeposit`,
//! `maxRedeem`): "assets" are value in the native asset (wei), "shares" receipt tokens.

use cairn_primitives::{Address, AssetId, Block, StrategyId, Timestamp, U256, VaultId, serde_dec};
use serde::Serialize;

use super::{
    Part, Quarantine, RateRecord, Source, Targets, Ticket, book,
    book::{BPS, YEAR_SECONDS},
};
use crate::{State, TxError};

/// One priced asset of a vault.
#[derive(Debug, Clone, Serialize)]
pub struct AssetView {
    /// The asset.
    pub asset: AssetId,
    /// The chain's native asset (priced at one, never reported).
    pub native: bool,
    /// Price in the native asset (WAD).
    #[serde(with = "serde_dec")]
    pub price: U256,
    /// When it was accepted.
    pub price_time: Timestamp,
    /// Accepted for deposits.
    pub deposits: bool,
    /// Cap on net deposits (none: no cap).
    pub cap: Option<String>,
    /// Smallest deposit.
    #[serde(with = "serde_dec")]
    pub min_deposit: U256,
    /// Deposits paused.
    pub paused: bool,
    /// Net deposits.
    #[serde(with = "serde_dec")]
    pub deposited: U256,
    /// Idle in the buffer and belonging to the pool.
    #[serde(with = "serde_dec")]
    pub buffer: U256,
    /// Of which earmarked for pending tickets.
    #[serde(with = "serde_dec")]
    pub earmarked: U256,
    /// Held for finalized tickets.
    #[serde(with = "serde_dec")]
    pub owed: U256,
}

/// One holding of a place.
#[derive(Debug, Clone, Serialize)]
pub struct HoldingView {
    /// The asset.
    pub asset: AssetId,
    /// Its strategy.
    pub strategy: StrategyId,
    /// Withdrawable shares.
    #[serde(with = "serde_dec")]
    pub shares: U256,
    /// Their tokens.
    #[serde(with = "serde_dec")]
    pub tokens: U256,
    /// Their value.
    #[serde(with = "serde_dec")]
    pub value: U256,
}

/// A place at an operator.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceView {
    /// The operator.
    pub operator: Address,
    /// The sub-account.
    pub account: Address,
    /// Its target weight (bps).
    pub target_bps: u16,
    /// Value there now (restaked, unbonding, in transit).
    #[serde(with = "serde_dec")]
    pub value: U256,
    /// Its share of the vault now (bps of net assets).
    pub weight_bps: u64,
    /// Restaked holdings.
    pub holdings: Vec<HoldingView>,
    /// Validators deposited and not yet verified.
    pub pending_validators: u32,
}

/// An unbonding in flight.
#[derive(Debug, Clone, Serialize)]
pub struct UnbondingView {
    /// Sub-account.
    pub account: Address,
    /// Withdrawal nonce.
    pub nonce: u64,
    /// Operator.
    pub operator: Address,
    /// Asset.
    pub asset: AssetId,
    /// Expected when queued.
    #[serde(with = "serde_dec")]
    pub expected: U256,
    /// Promised to tickets.
    #[serde(with = "serde_dec")]
    pub committed: U256,
    /// Tokens it would pay now.
    #[serde(with = "serde_dec")]
    pub tokens_now: U256,
    /// First block it can complete.
    pub completable_at: Block,
}

/// A vault: totals, rates, assets, places.
#[derive(Debug, Clone, Serialize)]
pub struct VaultView {
    /// Id.
    pub vault: VaultId,
    /// Receipt token ticker.
    pub symbol: String,
    /// The vault's account.
    pub account: Address,
    /// Receipt tokens in existence.
    #[serde(with = "serde_dec")]
    pub supply: U256,
    /// The settled rate (WAD).
    #[serde(with = "serde_dec")]
    pub settled_rate: U256,
    /// The current rate (WAD): net assets per token, pending fees deducted.
    #[serde(with = "serde_dec")]
    pub current_rate: U256,
    /// Rate deposits mint at now: max(settled, current).
    #[serde(with = "serde_dec")]
    pub deposit_rate: U256,
    /// Rate instant redemptions pay at now: min(settled, current).
    #[serde(with = "serde_dec")]
    pub redeem_rate: U256,
    /// Gross assets (value).
    #[serde(with = "serde_dec")]
    pub gross_assets: U256,
    /// Reserve for pending slash requests.
    #[serde(with = "serde_dec")]
    pub reserve: U256,
    /// `totalAssets`: gross less the reserve.
    #[serde(with = "serde_dec")]
    pub total_assets: U256,
    /// High-water mark.
    #[serde(with = "serde_dec")]
    pub high_water_mark: U256,
    /// Block and time of the last settlement.
    pub settled_block: Block,
    /// Time of the last settlement.
    pub settled_time: Timestamp,
    /// A quarantined rate.
    pub quarantine: Option<Quarantine>,
    /// Redemptions halted since (pause or quarantine).
    pub halted_since: Option<Block>,
    /// Unwinding in an emergency.
    pub emergency: bool,
    /// Last accepted price round.
    pub price_round: u64,
    /// Last rebalance block.
    pub last_rebalance: Block,
    /// Targets in force.
    pub targets: Option<Targets>,
    /// Parameters.
    pub params: super::VaultParams,
    /// Priced assets.
    pub assets: Vec<AssetView>,
    /// Places.
    pub places: Vec<PlaceView>,
    /// Unbondings in flight.
    pub unbondings: Vec<UnbondingView>,
    /// Pending slash requests against the vault's stake, with their reserve.
    pub reserves: Vec<(Source, String)>,
    /// Tickets not yet claimed.
    pub tickets: usize,
}

/// A ticket with its id and what its tokens are worth now.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    /// Id.
    pub id: u64,
    /// The ticket.
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Blocks to its ETA (0 when due).
    pub blocks_left: u64,
}

/// An account's position in a vault.
#[derive(Debug, Clone, Serialize)]
pub struct PositionView {
    /// The vault.
    pub vault: VaultId,
    /// The holder.
    pub owner: Address,
    /// Receipt tokens (ERC-4626 "shares").
    #[serde(with = "serde_dec")]
    pub shares: U256,
    /// Their value at the current rate.
    #[serde(with = "serde_dec")]
    pub value: U256,
    /// Their value at the instant-redemption rate (before the fee).
    #[serde(with = "serde_dec")]
    pub redeemable_value: U256,
    /// Of the tokens, those still locked by a recent deposit.
    #[serde(with = "serde_dec")]
    pub locked: U256,
    /// First block the locked tokens are free (this block when none are locked).
    pub unlocks_at: Block,
    /// The holder's tickets.
    pub tickets: Vec<TicketView>,
}

/// An APR over a window, with its parts by source.
#[derive(Debug, Clone, Serialize)]
pub struct AprView {
    /// The window asked, seconds.
    pub window_seconds: u64,
    /// First settlement in the window: time and rate.
    pub from_time: Timestamp,
    /// Its rate.
    #[serde(with = "serde_dec")]
    pub from_rate: U256,
    /// Last settlement: time and rate.
    pub to_time: Timestamp,
    /// Its rate.
    #[serde(with = "serde_dec")]
    pub to_rate: U256,
    /// Annualised, bps (none: fewer than two settlements in the window).
    pub apr_bps: Option<i64>,
    /// Each source's part of it, annualised bps.
    pub by_source: Vec<(Source, i64)>,
}

impl State {
    /// A vault's overview as of `block` (valued now; the cached book is not used).
    pub fn vault_view(&self, vault: VaultId, block: Block, now: Timestamp) -> Result<VaultView, TxError> {
        let cfg = self.vault_cfg(vault)?;
        let b = self.vault_book(vault)?;
        let v = self.valuation(vault, block)?;
        let current = self.vault_current_rate(vault, block, now)?;
        let net = v.assets.saturating_sub(v.reserve);
        let mut assets = Vec::new();
        for a in &cfg.assets {
            let ab = self.asset_book(vault, a.asset);
            let price = self.vault_price(vault, a.asset).unwrap_or_default();
            assets.push(AssetView {
                asset: a.asset,
                native: self.is_native_asset(a.asset),
                price,
                price_time: ab.price_time,
                deposits: a.deposits,
                cap: a.cap.map(|c| c.to_string()),
                min_deposit: a.min_deposit,
                paused: a.paused,
                deposited: ab.deposited,
                buffer: self.free_buffer(vault, a.asset)?,
                earmarked: ab.earmarked,
                owed: ab.owed,
            });
        }
        let mut places = Vec::new();
        for (op, place) in self.vault_places_of(vault) {
            let mut holdings = Vec::new();
            for h in self.place_holdings(place.account)? {
                let value = book::value_of(h.tokens, self.vault_price(vault, h.asset)?)?;
                holdings.push(HoldingView {
                    asset: h.asset,
                    strategy: h.strategy,
                    shares: h.shares,
                    tokens: h.tokens,
                    value,
                });
            }
            let value = self.place_value(vault, op, block)?;
            let target_bps =
                cfg.targets.as_ref().and_then(|t| t.operators.iter().find(|w| w.operator == op)).map_or(0, |w| w.bps);
            let weight_bps = if net.is_zero() {
                0
            } else {
                u64::try_from(cairn_primitives::math::mul_div_down(value, U256::from(BPS), net)?).unwrap_or(u64::MAX)
            };
            places.push(PlaceView {
                operator: op,
                account: place.account,
                target_bps,
                value,
                weight_bps,
                holdings,
                pending_validators: place.pending_validators,
            });
        }
        let mut unbondings = Vec::new();
        for ((account, nonce), u) in self.vault_unbondings_of(vault) {
            unbondings.push(UnbondingView {
                account,
                nonce,
                operator: u.operator,
                asset: u.asset,
                expected: u.expected,
                committed: u.committed,
                tokens_now: self.unbonding_tokens(account, nonce, block)?,
                completable_at: u.completable_at,
            });
        }
        let reserves = self.slash_reserve(vault, block)?.into_iter().map(|(s, v)| (s, v.to_string())).collect();
        Ok(VaultView {
            vault,
            symbol: cfg.symbol.clone(),
            account: cfg.account,
            supply: b.supply,
            settled_rate: b.settled_rate,
            current_rate: current,
            deposit_rate: current.max(b.settled_rate),
            redeem_rate: current.min(b.settled_rate),
            gross_assets: v.assets,
            reserve: v.reserve,
            total_assets: net,
            high_water_mark: b.hwm,
            settled_block: b.settled_block,
            settled_time: b.settled_time,
            quarantine: b.quarantine,
            halted_since: self.vault_halted_since(vault)?,
            emergency: b.emergency,
            price_round: b.price_round,
            last_rebalance: b.last_rebalance,
            targets: cfg.targets.clone(),
            params: cfg.params,
            assets,
            places,
            unbondings,
            reserves,
            tickets: self.vault_tickets_of(vault).len(),
        })
    }

    /// ERC-4626 `totalAssets`: gross assets less the slash reserve (value).
    pub fn vault_total_assets(&self, vault: VaultId, block: Block) -> Result<U256, TxError> {
        let v = self.valuation(vault, block)?;
        Ok(v.assets.saturating_sub(v.reserve))
    }

    /// ERC-4626 `convertToShares`: tokens a value is worth at the current rate.
    pub fn vault_convert_to_shares(
        &self,
        vault: VaultId,
        value: U256,
        block: Block,
        now: Timestamp,
    ) -> Result<U256, TxError> {
        let r = self.vault_current_rate(vault, block, now)?;
        if r.is_zero() {
            return Ok(U256::ZERO);
        }
        Ok(book::to_tokens(value, r)?)
    }

    /// ERC-4626 `convertToAssets`: value of tokens at the current rate.
    pub fn vault_convert_to_assets(
        &self,
        vault: VaultId,
        tokens: U256,
        block: Block,
        now: Timestamp,
    ) -> Result<U256, TxError> {
        Ok(book::to_value(tokens, self.vault_current_rate(vault, block, now)?)?)
    }

    /// ERC-4626 `maxDeposit`: the most of `asset` a deposit may bring now (0 when refused).
    pub fn vault_max_deposit(&self, vault: VaultId, asset: AssetId) -> Result<U256, TxError> {
        let cfg = self.vault_cfg(vault)?;
        let b = self.vault_book(vault)?;
        let Some(a) = cfg.asset(asset) else { return Ok(U256::ZERO) };
        let refused = !a.deposits
            || a.paused
            || b.emergency
            || b.quarantine.is_some()
            || self.is_paused(crate::pause::Module::VaultDeposits);
        if refused {
            return Ok(U256::ZERO);
        }
        Ok(a.cap.map_or(U256::MAX, |c| c.saturating_sub(self.asset_book(vault, asset).deposited)))
    }

    /// ERC-4626 `maxRedeem`: the most tokens `owner` can redeem at once into `asset` (its balance,
    /// limited by the spendable buffer before the fee).
    pub fn vault_max_redeem(
        &self,
        vault: VaultId,
        owner: Address,
        asset: AssetId,
        block: Block,
        now: Timestamp,
    ) -> Result<U256, TxError> {
        let b = self.vault_book(vault)?;
        if b.emergency || b.quarantine.is_some() || self.is_paused(crate::pause::Module::VaultRedemptions) {
            return Ok(U256::ZERO);
        }
        let balance = self.vault_balance(vault, owner).saturating_sub(self.vault_locked(vault, owner, block).0);
        let price = self.vault_price(vault, asset)?;
        let buffer = book::value_of(self.spendable_buffer(vault, asset)?, price)?;
        let rate = self.vault_current_rate(vault, block, now)?.min(b.settled_rate);
        if rate.is_zero() {
            return Ok(U256::ZERO);
        }
        Ok(balance.min(book::to_tokens(buffer, rate)?))
    }

    /// An account's position: tokens, their value, its tickets.
    pub fn vault_position(
        &self,
        vault: VaultId,
        owner: Address,
        block: Block,
        now: Timestamp,
    ) -> Result<PositionView, TxError> {
        let b = self.vault_book(vault)?;
        let shares = self.vault_balance(vault, owner);
        let (locked, unlocks_at) = self.vault_locked(vault, owner, block);
        let current = self.vault_current_rate(vault, block, now)?;
        let tickets = self
            .vault_tickets_of(vault)
            .into_iter()
            .filter(|(_, t)| t.owner == owner)
            .map(|(id, t)| TicketView { id, ticket: t, blocks_left: t.eta_block.saturating_sub(block) })
            .collect();
        Ok(PositionView {
            vault,
            owner,
            shares,
            value: book::to_value(shares, current)?,
            redeemable_value: book::to_value(shares, current.min(b.settled_rate))?,
            locked,
            unlocks_at,
            tickets,
        })
    }

    /// Tickets of a vault (all, or one owner's), with the blocks left to their ETA.
    pub fn vault_ticket_views(&self, vault: VaultId, owner: Option<Address>, block: Block) -> Vec<TicketView> {
        self.vault_tickets_of(vault)
            .into_iter()
            .filter(|(_, t)| owner.is_none_or(|o| t.owner == o))
            .map(|(id, t)| TicketView { id, ticket: t, blocks_left: t.eta_block.saturating_sub(block) })
            .collect()
    }

    /// Settlement records from `from` on (at most `limit`), by number.
    pub fn vault_rate_history(&self, vault: VaultId, from: u64, limit: usize) -> Vec<(u64, RateRecord)> {
        self.vault_rates
            .range((vault, from)..=(vault, u64::MAX))
            .take(limit)
            .map(|((_, n), r)| (*n, r.clone()))
            .collect()
    }

    /// The APR over the settlements in the last `window` seconds before `now`, by source: the
    /// window is always stated, and so are the settlements it starts and ends at.
    pub fn vault_apr(&self, vault: VaultId, window: u64, now: Timestamp) -> Result<AprView, TxError> {
        self.vault_cfg(vault)?;
        let start = now.saturating_sub(window);
        let lo = (vault, 0u64);
        let hi = (vault, u64::MAX);
        let records: Vec<&RateRecord> =
            self.vault_rates.range(lo..=hi).map(|(_, r)| r).filter(|r| r.time >= start).collect();
        let (first, last) = match (records.first(), records.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => {
                let b = self.vault_book(vault)?;
                return Ok(AprView {
                    window_seconds: window,
                    from_time: b.settled_time,
                    from_rate: b.settled_rate,
                    to_time: b.settled_time,
                    to_rate: b.settled_rate,
                    apr_bps: None,
                    by_source: Vec::new(),
                });
            }
        };
        // The first record's own change happened before the window opens: start from its rate.
        let seconds = last.time.saturating_sub(first.time);
        let mut sums: Vec<(Source, i128)> = Vec::new();
        for r in records.iter().skip(1) {
            for (s, p) in &r.attribution {
                match sums.binary_search_by_key(s, |(k, _)| *k) {
                    Ok(i) => sums[i].1 = sums[i].1.saturating_add(p.rate),
                    Err(i) => sums.insert(i, (*s, p.rate)),
                }
            }
        }
        let annual = |rate_change: i128| -> i64 {
            if seconds == 0 || first.rate.is_zero() {
                return 0;
            }
            let base = i128::try_from(first.rate).unwrap_or(i128::MAX);
            let v = rate_change
                .saturating_mul(i128::from(BPS))
                .saturating_mul(i128::from(YEAR_SECONDS))
                .checked_div(base.saturating_mul(i128::from(seconds)).max(1))
                .unwrap_or_default();
            i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
        };
        Ok(AprView {
            window_seconds: window,
            from_time: first.time,
            from_rate: first.rate,
            to_time: last.time,
            to_rate: last.rate,
            apr_bps: book::apr_bps(first.rate, last.rate, seconds),
            by_source: sums.into_iter().map(|(s, r)| (s, annual(r))).collect(),
        })
    }

    /// Receipt tokens locked in the vault's own account (pending tickets).
    pub fn vault_locked_tokens(&self, vault: VaultId) -> U256 {
        self.vault_balance(vault, self.vault_own(vault))
    }
}

/// The value of a part, for views.
pub fn part_value(p: &Part) -> i128 {
    p.value
}

/// What a vault could lose to each service, for its targets and for what it holds now.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureView {
    /// Net assets (value).
    #[serde(with = "serde_dec")]
    pub total_assets: U256,
    /// Exposure of the targets in force by service, bps (the policy's view).
    pub targets: Vec<(Address, u16)>,
    /// The targets' worst single-service loss.
    pub worst_target: Option<(Address, u16)>,
    /// Now: the value each service could take if it slashed all it can, largest first.
    pub by_service: Vec<(Address, String)>,
    /// Loss if the k most damaging services all slash in full, k = 1, 2, … (allocations are
    /// unique stake, so losses to different services add up), capped at the total.
    pub worst_k: Vec<String>,
}

impl State {
    /// Per service, the value of the vault's stake (restaked and unbonding) it can slash now:
    /// each holding times the fraction of its operator's magnitude the service's sets hold
    /// (rounded up), at the accepted prices. Ascending by service.
    pub fn vault_service_losses(&self, vault: VaultId, block: Block) -> Result<Vec<(Address, U256)>, TxError> {
        use cairn_primitives::math;
        let mut out: std::collections::BTreeMap<Address, U256> = std::collections::BTreeMap::new();
        let unbondings = self.vault_unbondings_of(vault);
        for (op, place) in self.vault_places_of(vault) {
            let mut held: Vec<(StrategyId, AssetId, U256)> =
                self.place_holdings(place.account)?.into_iter().map(|h| (h.strategy, h.asset, h.shares)).collect();
            for ((account, nonce), u) in &unbondings {
                if *account != place.account {
                    continue;
                }
                let Some(w) = self.withdrawal(*account, *nonce) else { continue };
                let shares = self.withdrawal_payout(*account, w, block)?.into_iter().next().unwrap_or_default();
                held.push((u.strategy, u.asset, shares));
            }
            let allocations = self.operator_allocations(op, block);
            for (s, asset, shares) in held {
                let m = self.max_magnitude(op, s);
                if m == 0 || shares.is_zero() {
                    continue;
                }
                let mut by: std::collections::BTreeMap<Address, u128> = std::collections::BTreeMap::new();
                for (set, st, a) in &allocations {
                    if *st == s && self.is_slashable_by(op, *set, block) {
                        let e = by.entry(set.service).or_default();
                        *e = e.saturating_add(u128::from(a.current));
                    }
                }
                for (service, mag) in by {
                    let lost = math::mul_div_up(shares, U256::from(mag), U256::from(m))?.min(shares);
                    let tokens = self.shares_to_underlying(s, lost)?;
                    let value = book::value_of_up(tokens, self.vault_price(vault, asset)?)?;
                    let e = out.entry(service).or_default();
                    *e = math::add(*e, value)?;
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The vault's exposure: the targets' (policy view) and what it holds now.
    pub fn vault_exposure(&self, vault: VaultId, block: Block) -> Result<ExposureView, TxError> {
        let cfg = self.vault_cfg(vault)?;
        let strategies = self.vault_strategies(vault)?;
        let (targets, worst_target) = match &cfg.targets {
            Some(t) => {
                let ex = super::exposure_bps(self, &t.operators, &strategies, block)?;
                let worst = super::worst_loss(self, &t.operators, &strategies, block)?;
                (ex, worst)
            }
            None => (Vec::new(), None),
        };
        let total = self.vault_total_assets(vault, block)?;
        let mut losses = self.vault_service_losses(vault, block)?;
        losses.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut acc = U256::ZERO;
        let worst_k = losses
            .iter()
            .map(|(_, l)| {
                acc = acc.saturating_add(*l).min(total);
                acc.to_string()
            })
            .collect();
        Ok(ExposureView {
            total_assets: total,
            targets,
            worst_target,
            by_service: losses.into_iter().map(|(s, l)| (s, l.to_string())).collect(),
            worst_k,
        })
    }
}

/// One operator the keeper may weigh.
#[derive(Debug, Clone, Serialize)]
pub struct KeeperOperator {
    /// The operator.
    pub operator: Address,
    /// Its cap in the policy (bps).
    pub cap_bps: u16,
    /// Whether it is a registered operator now.
    pub registered: bool,
    /// Per service, the fraction (WAD, rounded up) of its stake the service can slash — the
    /// numbers `vault_set_targets` is checked with.
    pub fractions: Vec<(Address, String)>,
}

/// One service the vault's operators secure.
#[derive(Debug, Clone, Serialize)]
pub struct KeeperService {
    /// The service.
    pub service: Address,
    /// Its exposure cap (bps).
    pub cap_bps: u16,
    /// Rewards it paid over the window (or since it began paying, if later), annualised, per unit
    /// of stake it can slash (bps a year; value at the vault's prices).
    pub reward_apr_bps: u64,
    /// Value of the stake it can slash across all operators (the denominator above).
    #[serde(with = "serde_dec")]
    pub secured_value: U256,
    /// Its largest declared profit from corruption over its sets (risk declarations), if any.
    pub declared_prize: Option<String>,
}

/// Everything the keeper's optimizer needs, computed by the state machine in integers.
#[derive(Debug, Clone, Serialize)]
pub struct KeeperInputs {
    /// The vault.
    pub vault: VaultId,
    /// Net assets (value).
    #[serde(with = "serde_dec")]
    pub total_assets: U256,
    /// Policy: smallest buffer (bps).
    pub min_buffer_bps: u16,
    /// Policy: risk budget (bps).
    pub risk_budget_bps: u16,
    /// The window the reward rates are measured over (seconds).
    pub window_seconds: u64,
    /// Operators allowed by the policy.
    pub operators: Vec<KeeperOperator>,
    /// Services any allowed operator can be slashed by.
    pub services: Vec<KeeperService>,
}

impl State {
    /// The keeper's inputs for a vault at `block`: operators with their slashable fractions per
    /// service, and each service's reward rate over the `window` seconds before `now`.
    pub fn vault_keeper_inputs(
        &self,
        vault: VaultId,
        block: Block,
        now: Timestamp,
        window: u64,
    ) -> Result<KeeperInputs, TxError> {
        use cairn_primitives::math;
        let cfg = self.vault_cfg(vault)?;
        let strategies = self.vault_strategies(vault)?;
        let mut operators = Vec::new();
        let mut services: std::collections::BTreeMap<Address, U256> = std::collections::BTreeMap::new();
        for limit in &cfg.policy.operators {
            let fractions = super::operator_fractions(self, limit.operator, &strategies, block)?;
            for (set, s, a) in self.operator_allocations(limit.operator, block) {
                if !strategies.contains(&s) || !self.is_slashable_by(limit.operator, set, block) || a.current == 0 {
                    continue;
                }
                let shares = self.allocated_stake(limit.operator, set, s, block)?;
                let asset = self.strategy(s)?.asset;
                let price = self.vault_price(vault, asset).unwrap_or_default();
                let value = book::value_of(self.shares_to_underlying(s, shares)?, price)?;
                let e = services.entry(set.service).or_default();
                *e = math::add(*e, value)?;
            }
            operators.push(KeeperOperator {
                operator: limit.operator,
                cap_bps: limit.cap_bps,
                registered: self.is_operator(limit.operator),
                fractions: fractions.into_iter().map(|(s, f)| (s, f.to_string())).collect(),
            });
        }
        let start = now.saturating_sub(window);
        let mut out = Vec::new();
        for (service, secured) in services {
            let mut paid = U256::ZERO;
            // Annualised over what was observed: the window, or less if payments began later.
            let mut first = now;
            for ((svc, _), sub) in self.submissions.iter() {
                let end = sub.start.saturating_add(sub.duration);
                let from = sub.start.max(start);
                let overlap = end.min(now).saturating_sub(from);
                if *svc != service || overlap == 0 || sub.duration == 0 {
                    continue;
                }
                let Ok(price) = self.vault_price(vault, sub.token) else { continue };
                let amount = math::mul_div_down(sub.amount, U256::from(overlap), U256::from(sub.duration))?;
                paid = math::add(paid, book::value_of(amount, price)?)?;
                first = first.min(from);
            }
            let observed = now.saturating_sub(first).max(1);
            let apr = if secured.is_zero() || window == 0 {
                U256::ZERO
            } else {
                let yearly = math::mul_div_down(paid, U256::from(YEAR_SECONDS), U256::from(observed))?;
                math::mul_div_down(yearly, U256::from(BPS), secured)?
            };
            let prize = self
                .operator_sets_of(service)
                .into_iter()
                .filter_map(|set| self.set_risk(set).map(|d| d.prize))
                .max()
                .map(|p| p.to_string());
            out.push(KeeperService {
                service,
                cap_bps: cfg.service_cap(service),
                reward_apr_bps: u64::try_from(apr).unwrap_or(u64::MAX),
                secured_value: secured,
                declared_prize: prize,
            });
        }
        Ok(KeeperInputs {
            vault,
            total_assets: self.vault_total_assets(vault, block)?,
            min_buffer_bps: cfg.policy.min_buffer_bps,
            risk_budget_bps: cfg.policy.risk_budget_bps,
            window_seconds: window,
            operators,
            services: out,
        })
    }
}

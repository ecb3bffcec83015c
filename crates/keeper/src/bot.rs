//! The keeper's bots: one `tick` looks at a vault through scenario queries and sends what is due
//! — a price round (committee members' reports from a price feed), a rate update, targets from
//! the optimizer, a rebalance, ticket finalizations, reward claims for the sub-accounts. Every
//! action is an ordinary signed transaction; the state machine checks each one.
//!
//! The chain is a trait (`Chain`): the devnet drives it in process, `cairn keeper run` over HTTP.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use cairn_primitives::{Address, AssetId, U256, VaultId, math};
use cairn_state::{
    Tx,
    rewards::RewardsClaim,
    vault::book::{self, Breach, RateBounds},
    vault::tx::{AssetPrice, ClaimRewards, FinalizeTickets, ReportPrices, VaultRef},
};
use serde_json::{Value, json};

use crate::optimizer::{self, Config, Problem};

/// Who signs a keeper transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The vault's keeper (targets, and the permissionless upkeep).
    Keeper,
    /// A price committee member, by index among the keys the keeper holds.
    Reporter(usize),
}

/// What the keeper needs from a chain.
pub trait Chain {
    /// Evaluates a scenario query (docs/scenarios.md) at the head.
    fn query(&self, q: Value) -> Result<Value>;
    /// The head: (height, time).
    fn head(&self) -> Result<(u64, u64)>;
    /// Signs `tx` with `role`'s key and submits it.
    fn submit(&mut self, role: Role, tx: Tx) -> Result<()>;
    /// Claims (with the calculator's proofs) for `earners` against the latest posted root; empty
    /// when the chain cannot build them or nothing is due.
    fn reward_claims(&self, earners: &[Address]) -> Result<Vec<RewardsClaim>>;
}

/// Where prices come from.
pub trait PriceFeed {
    /// The prices (native asset per token, WAD) at a time.
    fn prices(&self, time: u64) -> Vec<(AssetId, U256)>;
}

/// A deterministic feed: each liquid staking token grows from its starting price at a fixed APR
/// (simple interest from `start`), the way an LST's exchange rate accrues its base staking yield.
#[derive(Debug, Clone)]
pub struct GrowthFeed {
    /// Time the starting prices hold.
    pub start: u64,
    /// (asset, starting price WAD, APR in bps).
    pub assets: Vec<(AssetId, U256, u64)>,
}

impl PriceFeed for GrowthFeed {
    fn prices(&self, time: u64) -> Vec<(AssetId, U256)> {
        let elapsed = U256::from(time.saturating_sub(self.start));
        let year = U256::from(book::YEAR_SECONDS);
        self.assets
            .iter()
            .map(|(a, p0, apr)| {
                let rate = U256::from(*apr).saturating_mul(elapsed);
                let growth =
                    math::mul_div_down(*p0, rate, U256::from(10_000u32).saturating_mul(year)).unwrap_or_default();
                (*a, p0.saturating_add(growth))
            })
            .collect()
    }
}

/// How often the keeper acts.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// The vault.
    pub vault: VaultId,
    /// Seconds between price rounds.
    pub price_every: u64,
    /// Seconds between rate updates.
    pub update_every: u64,
    /// Seconds between recomputing the targets.
    pub retarget_every: u64,
    /// Committee keys the keeper reports with (a quorum of them).
    pub reporters: usize,
    /// The optimizer's settings.
    pub optimizer: Config,
}

/// The keeper's memory between ticks (everything else is read from the chain each time).
#[derive(Debug, Clone)]
pub struct Bot {
    /// Settings.
    pub cfg: BotConfig,
    last_price: Option<u64>,
    last_update: Option<u64>,
    last_targets: Option<u64>,
    claimed_root: Option<u64>,
}

impl Bot {
    /// A bot with nothing done yet.
    pub fn new(cfg: BotConfig) -> Self {
        Self { cfg, last_price: None, last_update: None, last_targets: None, claimed_root: None }
    }

    /// The bound an update now would break, from the view's rates and parameters.
    fn breach(view: &Value, now: u64) -> Option<Breach> {
        let num = |k: &str| view[k].as_str().and_then(|s| s.parse::<U256>().ok());
        let (settled, current) = (num("settled_rate")?, num("current_rate")?);
        let p = &view["params"];
        let bounds = RateBounds {
            max_apr_bps: u32::try_from(p["max_apr_bps"].as_u64()?).ok()?,
            max_up_bps: u16::try_from(p["max_rate_up_bps"].as_u64()?).ok()?,
            max_down_bps: u16::try_from(p["max_rate_down_bps"].as_u64()?).ok()?,
        };
        let elapsed = now.saturating_sub(view["settled_time"].as_u64()?);
        book::check_bounds(settled, current, elapsed, bounds).ok().flatten()
    }

    fn due(last: Option<u64>, every: u64, now: u64) -> bool {
        last.is_none_or(|t| now >= t.saturating_add(every))
    }

    /// One round of upkeep; returns what it did, one line per action.
    pub fn tick(&mut self, chain: &mut impl Chain, feed: &impl PriceFeed) -> Result<Vec<String>> {
        let v = self.cfg.vault;
        let (height, now) = chain.head()?;
        let view = chain.query(json!({"vault": {"vault": v.0}}))?;
        let mut log = Vec::new();
        if view["emergency"] == Value::Bool(true) {
            return Ok(vec![format!("vault {} is unwinding: nothing to keep", v.0)]);
        }
        if Self::due(self.last_price, self.cfg.price_every, now) {
            self.report_prices(chain, feed, &view, now, &mut log)?;
        }
        if !view["quarantine"].is_null() {
            log.push(format!("rate quarantined ({}): waiting for the guardian", view["quarantine"]));
        } else if Self::due(self.last_update, self.cfg.update_every, now) {
            chain.submit(Role::Keeper, Tx::VaultUpdateRate(VaultRef { vault: v }))?;
            self.last_update = Some(now);
            match Self::breach(&view, now) {
                Some(Breach::AprCap) => log.push("rate update (smoothed: the rise is above the APR cap)".into()),
                Some(b) => log.push(format!("rate update (will be quarantined: {b:?})")),
                None => log.push("rate update".into()),
            }
        }
        if Self::due(self.last_targets, self.cfg.retarget_every, now) {
            self.retarget(chain, &view, &mut log)?;
            self.last_targets = Some(now);
        }
        self.upkeep(chain, &view, height, &mut log)?;
        self.claim(chain, &view, now, &mut log)?;
        Ok(log)
    }

    fn report_prices(
        &mut self,
        chain: &mut impl Chain,
        feed: &impl PriceFeed,
        view: &Value,
        now: u64,
        log: &mut Vec<String>,
    ) -> Result<()> {
        let round = view["price_round"].as_u64().unwrap_or(0).saturating_add(1);
        // Only assets the vault prices (the native asset is one by definition).
        let priced: Vec<u64> = view["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["native"] != Value::Bool(true))
            .filter_map(|a| a["asset"].as_u64())
            .collect();
        let prices: Vec<AssetPrice> = feed
            .prices(now)
            .into_iter()
            .filter(|(a, _)| priced.contains(&u64::from(a.0)))
            .map(|(asset, price)| AssetPrice { asset, price })
            .collect();
        if prices.is_empty() {
            return Ok(());
        }
        let r = ReportPrices { vault: self.cfg.vault, round, prices };
        for i in 0..self.cfg.reporters {
            chain.submit(Role::Reporter(i), Tx::VaultReportPrices(r.clone()))?;
        }
        self.last_price = Some(now);
        log.push(format!("price round {round}"));
        Ok(())
    }

    /// Targets from the optimizer, sent when they differ from those in force.
    fn retarget(&mut self, chain: &mut impl Chain, view: &Value, log: &mut Vec<String>) -> Result<()> {
        let v = self.cfg.vault;
        let inputs = chain.query(json!({"vault_keeper_inputs": {"vault": v.0}}))?;
        let problem = Problem::from_json(&inputs).map_err(|e| anyhow!("keeper inputs: {e}"))?;
        let solution = optimizer::optimize(&problem, &self.cfg.optimizer).map_err(|e| anyhow!("optimizer: {e}"))?;
        let current: BTreeMap<String, u64> = view["targets"]["operators"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t["operator"].as_str()?.to_lowercase(), t["bps"].as_u64()?)))
            .collect();
        let wanted: BTreeMap<String, u64> = solution
            .weights
            .iter()
            .filter(|w| w.bps > 0)
            .map(|w| (w.operator.to_string().to_lowercase(), u64::from(w.bps)))
            .collect();
        let same = view["targets"]["buffer_bps"].as_u64() == Some(u64::from(solution.buffer_bps))
            && current.into_iter().filter(|(_, b)| *b > 0).collect::<BTreeMap<_, _>>() == wanted;
        if same {
            return Ok(());
        }
        chain.submit(Role::Keeper, solution.to_tx(v))?;
        log.push(format!(
            "targets: buffer {} bps, {} operators, worst single-service loss {} bps",
            solution.buffer_bps,
            wanted.len(),
            solution.worst_loss_bps
        ));
        Ok(())
    }

    /// A rebalance when the round allows it; finalization when a ticket is due.
    fn upkeep(&mut self, chain: &mut impl Chain, view: &Value, height: u64, log: &mut Vec<String>) -> Result<()> {
        let v = self.cfg.vault;
        if !view["targets"].is_null() {
            let last = view["last_rebalance"].as_u64().unwrap_or(0);
            let interval = view["params"]["rebalance_interval_blocks"].as_u64().unwrap_or(u64::MAX);
            if last == 0 || height >= last.saturating_add(interval) {
                chain.submit(Role::Keeper, Tx::VaultRebalance(VaultRef { vault: v }))?;
                log.push("rebalance".into());
            }
        }
        let tickets = chain.query(json!({"vault_tickets": {"vault": v.0}}))?;
        let due = tickets
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["status"] == "pending" && t["eta_block"].as_u64().is_some_and(|e| e <= height))
            .count();
        if due > 0 {
            let max = u32::try_from(due.min(50)).unwrap_or(50);
            chain.submit(Role::Keeper, Tx::VaultFinalizeTickets(FinalizeTickets { vault: v, max }))?;
            log.push(format!("finalize {due} due tickets"));
        }
        Ok(())
    }

    /// Claims the sub-accounts' rewards once per posted root (after its activation).
    fn claim(&mut self, chain: &mut impl Chain, view: &Value, now: u64, log: &mut Vec<String>) -> Result<()> {
        let roots = chain.query(json!("distribution_roots"))?;
        let Some((index, root)) = roots.as_array().and_then(|r| r.iter().enumerate().next_back()) else {
            return Ok(());
        };
        let index = index as u64;
        if self.claimed_root == Some(index) || root["activated_at"].as_u64().is_none_or(|t| t > now) {
            return Ok(());
        }
        let earners: Vec<Address> = view["places"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["account"].as_str()?.parse().ok())
            .collect();
        let claims = chain.reward_claims(&earners)?;
        self.claimed_root = Some(index);
        if claims.is_empty() {
            return Ok(());
        }
        let n = claims.len();
        chain.submit(Role::Keeper, Tx::VaultClaimRewards(ClaimRewards { vault: self.cfg.vault, claims }))?;
        log.push(format!("claim rewards of {n} sub-accounts (root {index})"));
        Ok(())
    }
}

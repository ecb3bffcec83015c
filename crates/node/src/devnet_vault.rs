//! The devnet's liquid restaking vault: created by the governor through timelocked governance,
//! priced by the oracle committee, kept by its keeper (`cairn_keeper::bot`, driven here in
//! process), used by the stakers — so a newcomer sees the rate move within a minute.
//!
//! The price feed is deterministic (each LST grows at a fixed APR from the chain's first block),
//! so a restarted devnet reports the same prices. Validators the vault deposits appear in the
//! beacon oracle's next report and are verified through the place's pod.

use std::sync::Arc;

use alloy_primitives::{Address, U256};
use cairn_keeper::{
    bot::{Bot, BotConfig, Chain, GrowthFeed, Role},
    optimizer::Config as OptimizerConfig,
};
use cairn_primitives::{AssetId, VaultId};
use cairn_state::{
    Tx,
    oracle::ValidatorRecord,
    pods::{pod_address, pod_credentials},
    rewards::RewardsClaim,
    tx::GovernanceAction,
    vault::{
        AssetConfig, OperatorLimit, Policy, VaultParams,
        tx::{ClaimTicket, Deposit, Redeem, RequestWithdrawal, VaultSpec, VerifyValidators},
    },
};
use k256::ecdsa::SigningKey;
use serde_json::Value;

use crate::{
    devnet::{DevKeys, LSTS, Signer},
    envelope::address_of,
    node::Node,
    query,
};

/// The devnet's vault.
pub const VAULT: VaultId = VaultId(0);

const E18: u128 = 1_000_000_000_000_000_000;

/// The vault the governor proposes: ETH and the three LSTs, the oracle keys as its price
/// committee, the governor as guardian and fee recipient, every operator allowed.
pub fn vault_spec(keys: &DevKeys) -> VaultSpec {
    let committee = keys.oracle.iter().map(address_of).collect();
    let operators = keys
        .operators
        .iter()
        .map(|k| OperatorLimit { operator: address_of(k), cap_bps: 4_000, approval_salt: None })
        .collect();
    let assets = (0..=LSTS.len() as u32)
        .map(|i| AssetConfig {
            asset: AssetId(i),
            deposits: true,
            cap: None,
            min_deposit: U256::from(E18 / 100),
            paused: false,
        })
        .collect();
    let gov = address_of(&keys.governor);
    VaultSpec {
        symbol: "cETH".into(),
        committee,
        quorum: 2,
        guardian: gov,
        keeper: address_of(&keys.keeper),
        fee_recipient: gov,
        params: VaultParams {
            price_staleness_seconds: 3_600,
            max_price_change_bps: 100,
            max_apr_bps: 2_000,
            max_rate_up_bps: 200,
            max_rate_down_bps: 10,
            performance_fee_bps: 1_000,
            management_fee_bps: 0,
            instant_fee_min_bps: 10,
            instant_fee_max_bps: 100,
            ticket_delay_blocks: 10,
            rebalance_interval_blocks: 30,
            finalization_period_blocks: 1_800,
            finalization_cap: U256::ZERO,
            emergency_delay_blocks: 43_200,
            // At least one price report (every 10 blocks) between a deposit and its exit.
            deposit_lock_blocks: 10,
        },
        assets,
        policy: Policy {
            operators,
            min_buffer_bps: 1_000,
            service_cap_bps: 5_000,
            service_caps: Vec::new(),
            risk_budget_bps: 5_000,
        },
    }
}

/// The LSTs' prices: stETH from 1.0 at 3.5% a year, rETH from 1.1 at 3.0%, cbETH from 1.05 at
/// 3.2%, from `start` (the chain's first block).
pub fn feed(start: u64) -> GrowthFeed {
    let p = |x: u128| U256::from(x);
    GrowthFeed {
        start,
        assets: vec![
            (AssetId(1), p(E18), 350),
            (AssetId(2), p(11 * E18 / 10), 300),
            (AssetId(3), p(105 * E18 / 100), 320),
        ],
    }
}

/// The keeper's schedule on the devnet.
pub fn bot() -> Bot {
    Bot::new(BotConfig {
        vault: VAULT,
        price_every: 10,
        update_every: 10,
        retarget_every: 300,
        reporters: 2,
        // The devnet's services never slash: a low expected cost lets rewards lead the weights.
        optimizer: OptimizerConfig { slash_probability: 0.002, ..OptimizerConfig::default() },
    })
}

/// The chain as the keeper sees it, in process: queries at the head, transactions signed with
/// the devnet keys.
pub struct DevChain<'a> {
    /// The node.
    pub node: &'a Arc<Node>,
    /// Nonces per key.
    pub signer: &'a mut Signer,
    /// The keys.
    pub keys: &'a DevKeys,
}

impl Chain for DevChain<'_> {
    fn query(&self, q: Value) -> anyhow::Result<Value> {
        let mut q = q;
        if let Value::String(name) = &q {
            q = serde_json::json!({ name.clone(): {} });
        }
        let q: query::Query = serde_json::from_value(q)?;
        self.node
            .read(|a| query::evaluate(a.state(), &q, a.head().height, a.head().time))
            .map_err(|e| anyhow::anyhow!("{}: {}", e.name, e.message))
    }

    fn head(&self) -> anyhow::Result<(u64, u64)> {
        Ok(self.node.read(|a| (a.head().height, a.head().time)))
    }

    fn submit(&mut self, role: Role, tx: Tx) -> anyhow::Result<()> {
        let key = match role {
            Role::Keeper => self.keys.keeper.clone(),
            Role::Reporter(i) => self.keys.oracle.get(i).cloned().ok_or_else(|| anyhow::anyhow!("no reporter {i}"))?,
        };
        self.signer.submit(vec![(key, tx)]);
        Ok(())
    }

    fn reward_claims(&self, earners: &[Address]) -> anyhow::Result<Vec<RewardsClaim>> {
        match self.node.rewards_claims(earners) {
            None => Ok(Vec::new()),
            Some(r) => r.map_err(|e| anyhow::anyhow!(e)),
        }
    }
}

/// Governance: propose the vault once (proposal 1 is the devnet's only proposal), execute it
/// once the timelock has passed. True when the vault exists.
pub fn seed(node: &Node, keys: &DevKeys, signer: &mut Signer) -> bool {
    let (exists, proposal, height) = node.read(|a| {
        let s = a.state();
        (!s.vault_ids().is_empty(), s.proposal(1).cloned(), a.head().height)
    });
    if exists {
        return true;
    }
    match proposal {
        None => {
            let action = GovernanceAction::CreateVault(Box::new(vault_spec(keys)));
            signer.submit(vec![(keys.governor.clone(), Tx::Propose { action })]);
        }
        Some(p) if p.status == cairn_state::governance::ProposalStatus::Pending && height >= p.eta => {
            signer.submit(vec![(keys.governor.clone(), Tx::ExecuteProposal { id: 1 })]);
        }
        Some(_) => {}
    }
    false
}

fn vault_tx<T>(f: impl FnOnce(VaultId) -> T) -> T {
    f(VAULT)
}

/// What the stakers do with the vault at `tick`: a deposit of one LST (or, every 9th tick, of
/// 32 ETH, which the rebalance stakes as a validator) each tick; every 10th an instant
/// redemption; every 15th a ticket; due tickets are claimed by their owners.
pub fn activity(node: &Node, keys: &DevKeys, tick: u64) -> Vec<(SigningKey, Tx)> {
    let n = keys.stakers.len();
    if n == 0 {
        return Vec::new();
    }
    let pick = |salt: u64| &keys.stakers[(tick.wrapping_mul(7_919).wrapping_add(salt) as usize) % n];
    let mut out = Vec::new();
    let (asset, amount) =
        if tick.is_multiple_of(9) { (AssetId(0), 32 * E18) } else { (AssetId(1 + (tick % 3) as u32), E18) };
    let deposit =
        vault_tx(|vault| Deposit { vault, asset, amount: U256::from(amount), min_out: U256::ZERO, receiver: None });
    out.push((pick(0).clone(), Tx::VaultDeposit(deposit)));
    let (height, holders): (u64, Vec<(usize, U256)>) = node.read(|a| {
        let s = a.state();
        let held = (0..n.min(64)).map(|i| (i, s.vault_balance(VAULT, address_of(&keys.stakers[i])))).collect();
        (a.head().height, held)
    });
    let holder = holders.iter().filter(|(_, b)| !b.is_zero()).nth((tick / 10) as usize % holders.len().max(1));
    if let Some((i, bal)) = holder {
        let shares = (*bal / U256::from(5u8)).max(U256::from(1u8));
        let asset = AssetId(1 + (tick % 3) as u32);
        if tick.is_multiple_of(10) {
            let tx = vault_tx(|vault| Redeem { vault, shares, asset, min_out: U256::ZERO });
            out.push((keys.stakers[*i].clone(), Tx::VaultRedeem(tx)));
        } else if tick.is_multiple_of(15) {
            let tx = vault_tx(|vault| RequestWithdrawal { vault, shares, asset, min_out: U256::ZERO });
            out.push((keys.stakers[*i].clone(), Tx::VaultRequestWithdrawal(tx)));
        }
    }
    let due: Vec<(u64, Address)> = node.read(|a| {
        a.state()
            .vault_tickets_of(VAULT)
            .into_iter()
            .filter(|(_, t)| {
                t.eta_block <= height && matches!(t.status, cairn_state::vault::TicketStatus::Finalized { .. })
            })
            .map(|(id, t)| (id, t.owner))
            .collect()
    });
    for (ticket, owner) in due.into_iter().take(5) {
        if let Some(k) = keys.stakers.iter().find(|k| address_of(k) == owner) {
            out.push((k.clone(), Tx::VaultClaimTicket(ClaimTicket { vault: VAULT, ticket })));
        }
    }
    out
}

/// Validators the vault deposited, as the beacon oracle's next report shows them: new indices
/// (after the highest known), 32 ETH each, credentials pointing at the place's pod. Validators
/// an earlier report already showed (a devnet stopped before verifying them) are not shown
/// twice. Returns the new records and, per operator, every index to verify once the report is
/// accepted.
pub fn new_validators(node: &Node) -> (Vec<ValidatorRecord>, Vec<(Address, Vec<u64>)>) {
    node.read(|a| {
        let s = a.state();
        let slot = s.latest_beacon_report().map(|(slot, _)| slot);
        let mut next = s.pod_validators().last().map_or(1, |(i, _)| i + 1);
        let places = s.vault_places_of(VAULT);
        let mut verify: Vec<(Address, Vec<u64>)> = places.iter().map(|(op, _)| (*op, Vec::new())).collect();
        // Already reported, not yet verified.
        while let Some(rec) = slot.and_then(|sl| s.validator_record(next, sl)) {
            if let Some(i) =
                places.iter().position(|(_, p)| pod_credentials(pod_address(p.account)) == rec.withdrawal_credentials)
            {
                verify[i].1.push(next);
            }
            next += 1;
        }
        let mut records = Vec::new();
        for (i, (_, place)) in places.iter().enumerate() {
            let known = verify[i].1.len() as u32;
            for _ in known..place.pending_validators {
                records.push(ValidatorRecord {
                    index: next,
                    withdrawal_credentials: pod_credentials(pod_address(place.account)),
                    effective_balance_gwei: 32_000_000_000,
                    balance_gwei: 32_000_000_000,
                    slashed: false,
                    exited: false,
                    activation_epoch_set: true,
                });
                verify[i].1.push(next);
                next += 1;
            }
        }
        verify.retain(|(_, v)| !v.is_empty());
        (records, verify)
    })
}

/// The keeper's verification of validators reported at `slot`.
pub fn verify_txs(keys: &DevKeys, slot: u64, verify: &[(Address, Vec<u64>)]) -> Vec<(SigningKey, Tx)> {
    verify
        .iter()
        .map(|(operator, validators)| {
            let tx = VerifyValidators { vault: VAULT, operator: *operator, slot, validators: validators.clone() };
            (keys.keeper.clone(), Tx::VaultVerifyValidators(tx))
        })
        .collect()
}

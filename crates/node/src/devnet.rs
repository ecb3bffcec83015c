//! `cairn devnet`: a seeded world and the workers that keep it alive.
//!
//! The world: ETH (native) and three liquid staking tokens (stETH, rETH, cbETH); five operators;
//! four services (an oracle, a bridge, a data-availability layer and a sequencer), each with an
//! operator set over the three LST strategies and a declared risk; a thousand stakers with
//! deposits and delegations; and one liquid restaking vault (cETH) over ETH and the LSTs, kept by
//! its keeper. Everything after the genesis balances arrives as ordinary signed transactions from
//! deterministic development keys: the seeding, then the workers' oracle reports, reward
//! submissions, the rewards calculator's roots, staker activity, the vault's creation (through
//! timelocked governance) and the keeper's rounds (prices, rate updates, targets from the
//! optimizer, rebalances, finalizations, reward claims). Allocations go in once the operators'
//! allocation delay has taken effect (the devnet's `allocation_configuration_delay_blocks`).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use alloy_primitives::{Address, U256};
use cairn_primitives::{AssetId, Params, StrategyId, params::Profile};
use cairn_state::{
    Genesis, GenesisAsset, Tx,
    oracle::OracleCommittee,
    rewards::{RewardsSubmission, StrategyMultiplier},
    services::Consent,
    tx::AllocateParams,
};
use k256::ecdsa::SigningKey;

use crate::{
    envelope::{address_of, dev_key},
    node::Node,
};

/// The devnet's chain id.
pub const CHAIN_ID: u64 = 31_337;
/// LST tickers, strategies 1..=3 in this order (ETH is asset 0 with the beacon strategy).
pub const LSTS: [&str; 3] = ["stETH", "rETH", "cbETH"];
/// Service names.
pub const SERVICES: [&str; 4] = ["oracle", "bridge", "data-availability", "sequencer"];
/// Number of operators.
pub const OPERATORS: usize = 5;

const WAD: u64 = 1_000_000_000_000_000_000;

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(WAD)
}

/// The development keys, each derived from a label (`cairn/devnet/<role>/<i>`).
#[derive(Debug, Clone)]
pub struct DevKeys {
    /// Governance, unpauser, pauser and rewards updater.
    pub governor: SigningKey,
    /// Beacon oracle committee (quorum 2 of 3).
    pub oracle: Vec<SigningKey>,
    /// Operators.
    pub operators: Vec<SigningKey>,
    /// Services, in `SERVICES` order.
    pub services: Vec<SigningKey>,
    /// Stakers.
    pub stakers: Vec<SigningKey>,
    /// The vault's keeper (targets and upkeep); the oracle keys are its price committee.
    pub keeper: SigningKey,
}

fn keys(role: &str, n: usize) -> Vec<SigningKey> {
    (0..n).map(|i| dev_key(&format!("cairn/devnet/{role}/{i}"))).collect()
}

impl DevKeys {
    /// Keys for `stakers` stakers.
    pub fn new(stakers: usize) -> Self {
        Self {
            governor: dev_key("cairn/devnet/governor/0"),
            oracle: keys("oracle", 3),
            operators: keys("operator", OPERATORS),
            services: keys("service", SERVICES.len()),
            stakers: keys("staker", stakers),
            keeper: dev_key("cairn/devnet/keeper/0"),
        }
    }

    /// Named keys for printing: (role, address, private key hex).
    pub fn listing(&self) -> Vec<(String, Address, String)> {
        let mut out = vec![
            ("governor (vault guardian)".to_owned(), address_of(&self.governor), key_hex(&self.governor)),
            ("vault keeper".to_owned(), address_of(&self.keeper), key_hex(&self.keeper)),
        ];
        let groups: [(&str, &[SigningKey]); 3] =
            [("oracle", &self.oracle), ("operator", &self.operators), ("service", &self.services)];
        for (role, ks) in groups {
            for (i, k) in ks.iter().enumerate() {
                let name = match role {
                    "service" => format!("service/{}", SERVICES[i]),
                    "oracle" => format!("oracle/{i} (vault prices)"),
                    _ => format!("{role}/{i}"),
                };
                out.push((name, address_of(k), key_hex(k)));
            }
        }
        for (i, k) in self.stakers.iter().take(3).enumerate() {
            out.push((format!("staker/{i}"), address_of(k), key_hex(k)));
        }
        out
    }
}

/// A key's private scalar as `0x` hex.
pub fn key_hex(k: &SigningKey) -> String {
    crate::envelope::hex(&k.to_bytes())
}

/// The devnet's parameters: the devnet profile with one-hour reward intervals.
pub fn params() -> Params {
    let mut p = Params::profile(Profile::Devnet);
    p.rewards_interval_seconds = 3_600;
    // Allocations can start a few blocks after the operators register, not 75.
    p.allocation_configuration_delay_blocks = 10;
    p
}

/// The genesis: parameters, governance, the oracle committee and balances.
pub fn genesis(keys: &DevKeys) -> Genesis {
    let gov = address_of(&keys.governor);
    let mut eth_balances = BTreeMap::new();
    for k in keys.stakers.iter().chain(&keys.operators) {
        eth_balances.insert(address_of(k), eth(32));
    }
    let mut assets = vec![GenesisAsset {
        symbol: "ETH".into(),
        decimals: 18,
        strategy: false,
        balances: eth_balances,
        native: true,
    }];
    for sym in LSTS {
        let mut balances = BTreeMap::new();
        for k in &keys.stakers {
            balances.insert(address_of(k), eth(1_000));
        }
        for k in &keys.services {
            balances.insert(address_of(k), eth(1_000_000));
        }
        assets.push(GenesisAsset { symbol: sym.into(), decimals: 18, strategy: true, balances, native: false });
    }
    Genesis {
        params: params(),
        governor: gov,
        unpauser: gov,
        pausers: vec![gov],
        assets,
        oracle: OracleCommittee { members: keys.oracle.iter().map(address_of).collect(), quorum: 2 },
    }
}

fn strategies() -> Vec<StrategyId> {
    (1..=LSTS.len() as u32).map(StrategyId).collect()
}

/// The first seeding block: operators and services register, services create their operator
/// sets and declare their risk. (signer, transaction) pairs.
pub fn seed_setup_txs(keys: &DevKeys) -> Vec<(SigningKey, Tx)> {
    let mut out = Vec::new();
    for (i, k) in keys.operators.iter().enumerate() {
        out.push((
            k.clone(),
            Tx::RegisterAsOperator {
                delegation_approver: None,
                allocation_delay: 0,
                metadata_uri: format!("https://operator-{i}.devnet"),
            },
        ));
    }
    for (i, k) in keys.services.iter().enumerate() {
        let service = address_of(k);
        out.push((k.clone(), Tx::RegisterService { metadata_uri: format!("https://{}.devnet", SERVICES[i]) }));
        out.push((
            k.clone(),
            Tx::CreateOperatorSet {
                service,
                set_id: 0,
                strategies: strategies(),
                slasher: service,
                redistribution_recipient: None,
                consent: Consent::Open,
                veto: None,
            },
        ));
        let (num, den) = if i % 2 == 0 { (1, 3) } else { (1, 2) };
        let prize = eth(10_000 * (i as u64 + 1));
        out.push((k.clone(), Tx::DeclareSetRisk { service, set_id: 0, prize, threshold_num: num, threshold_den: den }));
    }
    out
}

/// The second seeding block, once the sets exist: operators join sets, stakers deposit and
/// delegate.
pub fn seed_participant_txs(keys: &DevKeys) -> Vec<(SigningKey, Tx)> {
    let mut out = Vec::new();
    for (i, k) in keys.operators.iter().enumerate() {
        let operator = address_of(k);
        for (j, s) in keys.services.iter().enumerate() {
            if (i + j) % 3 != 2 {
                out.push((
                    k.clone(),
                    Tx::RegisterForOperatorSets { operator, service: address_of(s), set_ids: vec![0] },
                ));
            }
        }
    }
    for (i, k) in keys.stakers.iter().enumerate() {
        let strategy = StrategyId(1 + (i % LSTS.len()) as u32);
        out.push((k.clone(), Tx::Deposit { strategy, amount: eth(10 + (i as u64 % 90)) }));
        out.push((
            k.clone(),
            Tx::DelegateTo { operator: address_of(&keys.operators[i % OPERATORS]), approval_salt: None },
        ));
    }
    out
}

/// The allocations, once the allocation delay is in force: each operator spreads 90% of its
/// magnitude over the sets it joined.
pub fn allocation_txs(keys: &DevKeys) -> Vec<(SigningKey, Tx)> {
    let mut out = Vec::new();
    for (i, k) in keys.operators.iter().enumerate() {
        let joined: Vec<Address> =
            keys.services.iter().enumerate().filter(|(j, _)| (i + j) % 3 != 2).map(|(_, s)| address_of(s)).collect();
        let share = 9 * WAD / 10 / joined.len().max(1) as u64;
        let allocations = joined
            .into_iter()
            .map(|service| AllocateParams {
                service,
                set_id: 0,
                strategies: strategies(),
                new_magnitudes: vec![share; LSTS.len()],
            })
            .collect();
        out.push((k.clone(), Tx::ModifyAllocations { operator: address_of(k), allocations }));
    }
    out
}

/// One reward submission per service over the current hour: `amount` stETH over the LSTs.
pub fn reward_txs(keys: &DevKeys, now: u64, amount: U256) -> Vec<(SigningKey, Tx)> {
    let interval = params().rewards_interval_seconds;
    let start = now / interval * interval;
    keys.services
        .iter()
        .map(|k| {
            let submission = RewardsSubmission {
                strategies_and_multipliers: strategies()
                    .into_iter()
                    .map(|strategy| StrategyMultiplier { strategy, multiplier: U256::from(WAD) })
                    .collect(),
                token: AssetId(1),
                amount,
                start,
                duration: interval,
            };
            (k.clone(), Tx::CreateRewardsSubmission { service: address_of(k), submissions: vec![submission] })
        })
        .collect()
}

/// Signs and submits transactions with locally tracked nonces (starting from the committed ones).
#[derive(Debug)]
pub struct Signer {
    node: Arc<Node>,
    next: BTreeMap<Address, u64>,
}

impl Signer {
    /// A signer over `node`.
    pub fn new(node: Arc<Node>) -> Self {
        Self { node, next: BTreeMap::new() }
    }

    /// Signs each transaction with the next nonce of its key and submits it; returns how many
    /// were admitted. A refused submission resynchronises that key's nonce from the node.
    pub fn submit(&mut self, txs: Vec<(SigningKey, Tx)>) -> usize {
        let (domain, head_time) = self.node.read(|a| (a.domain().clone(), a.head().time));
        // From the later of the node's clock and the head (a node driven ahead of the clock).
        let expiry = self.node.now().max(head_time) + 600;
        let mut admitted = 0;
        for (key, tx) in txs {
            let from = address_of(&key);
            let node = &self.node;
            let nonce = *self.next.entry(from).or_insert_with(|| node.read(|a| a.next_nonce(&from)));
            match self.node.submit(domain.sign(&key, &tx, nonce, expiry)) {
                Ok(_) => {
                    admitted += 1;
                    self.next.insert(from, nonce + 1);
                }
                Err(e) => {
                    let kind: &'static str = tx.kind().into();
                    eprintln!("devnet: {kind} from {from} refused: {e}");
                    self.next.remove(&from);
                }
            }
        }
        admitted
    }
}

/// The rewards updater's job: once an interval has closed since the last root, calculate
/// through its end over the node's recorded history and post the root.
fn post_root(node: &Node, keys: &DevKeys, signer: &mut Signer, now: u64) {
    let interval = params().rewards_interval_seconds;
    let end = now / interval * interval;
    let last = node.read(|a| a.state().distribution_roots().last().map_or(0, |r| r.calculation_end));
    if end <= last {
        return;
    }
    match node.rewards_root(end) {
        Some(Ok(root)) => {
            signer.submit(vec![(keys.governor.clone(), Tx::SubmitRoot { root, calculation_end: end })]);
        }
        Some(Err(e)) => eprintln!("devnet: rewards calculation through {end} failed: {e}"),
        None => {}
    }
}

/// One hour of rewards per service: 0.03 stETH, about 2% a year on the devnet's stake, so the
/// vault's rate grows at a believable pace within its bounds.
pub const HOURLY_REWARD: u128 = 30_000_000_000_000_000;

/// The workers' memory between ticks; everything else is read from the chain.
pub struct Workers {
    node: Arc<Node>,
    keys: Arc<DevKeys>,
    /// Nonces per key.
    pub signer: Signer,
    allocated: bool,
    last_reward_hour: u64,
    feed: cairn_keeper::bot::GrowthFeed,
    bot: cairn_keeper::bot::Bot,
    verify: Vec<(Address, Vec<u64>)>,
    tick: u64,
}

impl Workers {
    /// The workers of a (possibly resumed) devnet: what is already seeded is read from the state.
    pub fn new(node: Arc<Node>, keys: Arc<DevKeys>) -> Self {
        let signer = Signer::new(Arc::clone(&node));
        let allocated = node.read(|a| {
            let s = a.state();
            s.operator_addresses().iter().any(|op| !s.operator_allocations(*op, a.head().height).is_empty())
        });
        let now = node.now();
        let start = node.read(|a| a.store().block(1).ok().flatten().map_or(now, |b| b.header.time));
        Self {
            node,
            keys,
            signer,
            allocated,
            last_reward_hour: if allocated { now / 3_600 } else { 0 },
            feed: crate::devnet_vault::feed(start),
            bot: crate::devnet_vault::bot(),
            verify: Vec::new(),
            tick: 0,
        }
    }

    /// The seeding a fresh chain needs (operators, services, sets, stakers): what is missing.
    pub fn seed(&mut self) -> bool {
        let (has_operators, has_positions) =
            self.node.read(|a| (!a.state().operator_addresses().is_empty(), a.state().position_count() > 0));
        if !has_operators {
            self.signer.submit(seed_setup_txs(&self.keys));
            return true;
        }
        if !has_positions {
            self.signer.submit(seed_participant_txs(&self.keys));
            return true;
        }
        false
    }

    /// The seeding that needs the chain to advance: the allocations once their delay allows,
    /// then the vault through governance. True when both are done.
    pub fn seed_step(&mut self) -> bool {
        let (node, keys) = (Arc::clone(&self.node), Arc::clone(&self.keys));
        let height = node.read(|a| a.head().height);
        if !self.allocated {
            if height >= params().allocation_configuration_delay_blocks + 2 && node.mempool_len() == 0 {
                self.signer.submit(allocation_txs(&keys));
                self.allocated = true;
            }
            return false;
        }
        crate::devnet_vault::seed(&node, &keys, &mut self.signer) && node.mempool_len() == 0
    }

    /// One tick (every 2 s on a running devnet) at time `now`; returns the keeper's actions.
    pub fn step(&mut self, now: u64) -> Vec<String> {
        self.tick += 1;
        let tick = self.tick;
        let (node, keys) = (Arc::clone(&self.node), Arc::clone(&self.keys));
        let height = node.read(|a| a.head().height);
        let alloc_height = params().allocation_configuration_delay_blocks + 2;
        if !self.allocated && height >= alloc_height && node.mempool_len() == 0 {
            self.signer.submit(allocation_txs(&keys));
            self.allocated = true;
        }
        let vault = self.allocated && crate::devnet_vault::seed(&node, &keys, &mut self.signer);
        if !self.verify.is_empty() {
            let slot = node.read(|a| a.state().latest_beacon_report().map_or(0, |(slot, _)| slot));
            self.signer.submit(crate::devnet_vault::verify_txs(&keys, slot, &self.verify));
            self.verify.clear();
        }
        if tick.is_multiple_of(6) {
            let slot = now / 12;
            let (validators, to_verify) = crate::devnet_vault::new_validators(&node);
            self.verify = to_verify;
            let report = Tx::PostBeaconReport { slot, validators, withdrawals: Vec::new() };
            self.signer.submit(keys.oracle.iter().take(2).map(|k| (k.clone(), report.clone())).collect());
        }
        if tick.is_multiple_of(30) {
            post_root(&node, &keys, &mut self.signer, now);
        }
        let hour = now / 3_600;
        if hour != self.last_reward_hour && self.allocated {
            self.signer.submit(reward_txs(&keys, now, U256::from(HOURLY_REWARD)));
            self.last_reward_hour = hour;
        }
        if !keys.stakers.is_empty() {
            let k = &keys.stakers[(tick as usize * 7919) % keys.stakers.len()];
            let strategy = StrategyId(1 + (tick % LSTS.len() as u64) as u32);
            self.signer.submit(vec![(k.clone(), Tx::Deposit { strategy, amount: eth(1) })]);
        }
        if !vault {
            return Vec::new();
        }
        self.signer.submit(crate::devnet_vault::activity(&node, &keys, tick));
        let mut chain = crate::devnet_vault::DevChain { node: &node, signer: &mut self.signer, keys: &keys };
        self.bot.tick(&mut chain, &self.feed).unwrap_or_else(|e| vec![format!("error: {e:#}")])
    }
}

/// Completes the seeded world without the background activity (`cairn devnet --no-workers`):
/// seeding, then the allocations and the vault, mining the blocks their delays need at once.
/// Returns when the world is complete.
pub async fn seed_world(node: Arc<Node>, keys: Arc<DevKeys>) {
    let mut w = Workers::new(Arc::clone(&node), keys);
    let mut ticks = 0u32;
    // Bounded: the world needs a few dozen blocks.
    while ticks < 2_000 {
        ticks += 1;
        let seeding = w.seed();
        if !seeding && w.seed_step() {
            return;
        }
        if (node.mempool_len() > 0 || !seeding)
            && let Err(e) = node.dev_mine(1, 0)
        {
            eprintln!("devnet: cannot mine while seeding: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::task::yield_now().await;
    }
    eprintln!("devnet: the world is not complete after {ticks} seeding rounds");
}

/// Completes the seeded world on a chain whose blocks come from CometBFT (`cairn testnet
/// --no-workers`): like [`seed_world`], but waiting for blocks instead of mining them. Gives up,
/// saying so, after ten minutes.
pub async fn seed_world_under_consensus(node: Arc<Node>, keys: Arc<DevKeys>) {
    let mut w = Workers::new(Arc::clone(&node), keys);
    for _ in 0..2_400 {
        let seeding = w.seed();
        if !seeding && w.seed_step() {
            eprintln!("testnet: the world is seeded at height {}", node.read(|a| a.head().height));
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        for _ in 0..100 {
            if node.mempool_len() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!("testnet: the world is not complete after ten minutes");
}

/// Runs the workers until the process ends: seeding on a fresh chain, allocations once they
/// can take effect, the vault's creation through governance, then oracle reports every 12 s
/// (with the validators the vault deposited), reward submissions every hour, a rewards root
/// every minute once an interval has closed, a staker deposit every 2 s, and the vault's keeper
/// and its users every 2 s.
pub async fn run_workers(node: Arc<Node>, keys: Arc<DevKeys>) {
    let mut w = Workers::new(Arc::clone(&node), keys);
    while w.seed() {
        while node.mempool_len() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        for line in w.step(node.now()) {
            if !line.starts_with("price round") && !line.starts_with("rate update") {
                eprintln!("keeper: {line}");
            }
        }
    }
}

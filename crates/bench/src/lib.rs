//! Shared fixtures for the Cairn performance benchmarks (`benches/core.rs`, `benches/memory.rs`).
//!
//! Every state is built through `State::genesis` and `State::apply` only, exactly as a node would
//! build it: one asset with a strategy, stakers funded at genesis, operators, a service with one
//! operator set, allocations and delegations. Addresses of stakers are pseudo-random (SplitMix64
//! of the index) so that consecutive stakers land in unrelated places of every ordered map.

use std::{collections::BTreeMap, hint::black_box, time::Duration, time::Instant};

pub mod workload;

use cairn_primitives::{
    Address, AssetId, Block, OperatorSetKey, Params, Profile, StrategyId, U256, WAD, named_address,
};
use cairn_state::{
    Ctx, Genesis, GenesisAsset, State, Tx,
    tx::{AllocateParams, QueueParams},
};

/// The single asset of the benchmark genesis.
pub const ASSET: AssetId = AssetId(0);
/// Its strategy (created at genesis).
pub const STRATEGY: StrategyId = StrategyId(0);
/// The set number of the benchmark operator set.
pub const SET_ID: u32 = 0;
/// Magnitude the slashed operator allocates to the set (half of its stake).
pub const ALLOCATED_MAGNITUDE: u64 = 500_000_000_000_000_000;
/// Fraction slashed per benchmark slash, in WAD (1e-9): a million slashes leave most of the stake.
pub const SMALL_WAD: u64 = 1_000_000_000;

/// SplitMix64: a tiny deterministic generator for addresses and sampling.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The `i`-th benchmark account: 20 pseudo-random bytes, distinct for distinct `i`.
pub fn account(i: u64) -> Address {
    let mut g = SplitMix64(i ^ 0xCA1B_0000_0000_0000);
    let mut b = [0u8; 24];
    for chunk in b.chunks_mut(8) {
        chunk.copy_from_slice(&g.next_u64().to_be_bytes());
    }
    Address::from_slice(&b[..20])
}

/// The `i`-th benchmark operator.
pub fn operator(i: u64) -> Address {
    named_address(&format!("cairn-bench/operator/{i}"))
}

/// The governance account of the benchmark genesis.
pub fn governor() -> Address {
    named_address("cairn-bench/governor")
}

/// The benchmark service (AVS).
pub fn service() -> Address {
    named_address("cairn-bench/service")
}

/// The slasher of the benchmark operator set.
pub fn slasher() -> Address {
    named_address("cairn-bench/slasher")
}

/// The benchmark operator set.
pub fn set_key() -> OperatorSetKey {
    OperatorSetKey { service: service(), id: SET_ID }
}

/// `n` whole tokens (18 decimals).
pub fn tokens(n: u64) -> U256 {
    U256::from(n) * WAD
}

/// A devnet genesis with one 18-decimal asset and its strategy, funding each account with `balance`.
pub fn genesis(accounts: impl IntoIterator<Item = Address>, balance: U256) -> Genesis {
    let balances: BTreeMap<Address, U256> = accounts.into_iter().map(|a| (a, balance)).collect();
    Genesis {
        params: Params::profile(Profile::Devnet),
        governor: governor(),
        unpauser: governor(),
        pausers: vec![governor()],
        assets: vec![GenesisAsset { symbol: "BENCH".into(), decimals: 18, strategy: true, balances, native: false }],
        oracle: Default::default(),
    }
}

/// The context of a transaction from `sender` at `block` (two-second blocks).
pub fn ctx(sender: Address, block: Block) -> Ctx {
    Ctx { sender, block, time: 1_700_000_000 + 2 * block }
}

/// Applies `tx` from `sender` at `block`; panics with the error if the state machine refuses it.
pub fn must_apply(state: &mut State, sender: Address, block: Block, tx: &Tx) {
    if let Err(e) = state.apply(&ctx(sender, block), tx) {
        panic!("setup transaction {tx:?} from {sender} at block {block} refused: {e}");
    }
}

/// A deposit of `amount` into the benchmark strategy.
pub fn deposit(amount: U256) -> Tx {
    Tx::Deposit { strategy: STRATEGY, amount }
}

/// A delegation to `operator` (no approver).
pub fn delegate(operator: Address) -> Tx {
    Tx::DelegateTo { operator, approval_salt: None }
}

/// A slash of `wad` (out of 1e18) of `operator`'s allocation to the benchmark set.
pub fn slash(operator: Address, wad: u64) -> Tx {
    Tx::SlashOperator {
        service: service(),
        set_id: SET_ID,
        operator,
        strategies: vec![STRATEGY],
        wads_to_slash: vec![U256::from(wad)],
        description: "bench".into(),
    }
}

/// Applies every transaction in order and returns the wall time; panics if any was refused.
pub fn timed_apply(state: &mut State, txs: &[(Ctx, Tx)]) -> Duration {
    let mut refused = 0usize;
    let mut first = None;
    let start = Instant::now();
    for (i, (c, tx)) in txs.iter().enumerate() {
        state.prefetch_ahead(|n| txs.get(i + n).map(|(c, tx)| (*c, tx)));
        match state.apply(c, tx) {
            Ok(events) => {
                black_box(events);
            }
            Err(e) => {
                refused += 1;
                first.get_or_insert(e);
            }
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(refused, 0, "{refused} of {} benchmark transactions refused, first: {first:?}", txs.len());
    elapsed
}

/// Accounts taken from `ready` and, once used, kept in `used` until they are recycled.
#[derive(Debug, Default)]
pub struct Pool {
    /// Accounts in the starting condition of the benchmark.
    pub ready: Vec<Address>,
    /// Accounts a benchmark transaction has changed.
    pub used: Vec<Address>,
}

impl Pool {
    /// Takes up to `n` ready accounts (fewer when the pool runs dry), marking them used.
    pub fn take(&mut self, n: usize) -> Vec<Address> {
        let k = n.min(self.ready.len());
        let taken = self.ready.split_off(self.ready.len() - k);
        self.used.extend_from_slice(&taken);
        taken
    }
}

/// A state of `stakers.len()` stakers with one position each, some delegated, plus pools.
#[derive(Debug)]
pub struct StakerFixture {
    /// The state.
    pub state: State,
    /// The current block (benchmarks advance it).
    pub block: Block,
    /// Every staker holding a position.
    pub stakers: Vec<Address>,
    /// The operators stakers delegate to.
    pub operators: Vec<Address>,
    /// Undelegated stakers holding one position: the senders of benchmark delegations.
    pub undelegated: Pool,
    /// Funded accounts without a position: the senders of new stakers' deposits.
    pub fresh: Pool,
}

/// Builds `n` stakers each with one deposit, the first `delegated` of them delegated round-robin to
/// `n_operators` operators, plus `n_fresh` funded accounts that never deposited.
pub fn staker_fixture(n: usize, delegated: usize, n_operators: usize, n_fresh: usize) -> StakerFixture {
    let stakers: Vec<Address> = (0..n as u64).map(account).collect();
    let fresh: Vec<Address> = (n as u64..(n + n_fresh) as u64).map(account).collect();
    let mut state = State::genesis(&genesis(stakers.iter().chain(&fresh).copied(), tokens(1_000_000)))
        .unwrap_or_else(|e| panic!("genesis refused: {e}"));
    let mut block = 1;
    let operators: Vec<Address> = (0..n_operators as u64).map(operator).collect();
    let register =
        Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
    for op in &operators {
        must_apply(&mut state, *op, block, &register);
    }
    let first_deposit = deposit(tokens(32));
    for (i, s) in stakers.iter().enumerate() {
        if i % 10_000 == 0 {
            block += 1;
        }
        must_apply(&mut state, *s, block, &first_deposit);
        if i < delegated {
            must_apply(&mut state, *s, block, &delegate(operators[i % n_operators]));
        }
    }
    let undelegated = Pool { ready: stakers[delegated..].to_vec(), used: Vec::new() };
    StakerFixture {
        state,
        block: block + 1,
        stakers,
        operators,
        undelegated,
        fresh: Pool { ready: fresh, used: Vec::new() },
    }
}

impl StakerFixture {
    /// Returns used delegators to "undelegated with one position": undelegate, wait out the
    /// withdrawal delay, complete as shares (which re-deposits them undelegated).
    pub fn recycle_delegators(&mut self) {
        let used = std::mem::take(&mut self.undelegated.used);
        for s in &used {
            must_apply(&mut self.state, *s, self.block, &Tx::Undelegate { staker: *s });
        }
        self.block += self.state.params().withdrawal_delay_blocks + 1;
        for s in &used {
            self.complete_all(*s, false);
        }
        self.block += 1;
        self.undelegated.ready.extend(used);
    }

    /// Returns used new stakers to "funded, no position": withdraw everything, wait out the
    /// withdrawal delay, complete as tokens.
    pub fn recycle_new_stakers(&mut self) {
        let used = std::mem::take(&mut self.fresh.used);
        for s in &used {
            let shares = self.state.position(*s, STRATEGY).deposit_shares;
            let q = QueueParams { strategies: vec![STRATEGY], deposit_shares: vec![shares] };
            must_apply(&mut self.state, *s, self.block, &Tx::QueueWithdrawals { withdrawals: vec![q] });
        }
        self.block += self.state.params().withdrawal_delay_blocks + 1;
        for s in &used {
            self.complete_all(*s, true);
        }
        self.block += 1;
        self.fresh.ready.extend(used);
    }

    fn complete_all(&mut self, staker: Address, receive_as_tokens: bool) {
        for (nonce, _) in self.state.withdrawals_of(staker) {
            must_apply(&mut self.state, staker, self.block, &Tx::CompleteWithdrawal { nonce, receive_as_tokens });
        }
    }
}

/// One operator with `delegators` delegated stakers, allocated to a slashable operator set.
#[derive(Debug)]
pub struct SlashFixture {
    /// The state.
    pub state: State,
    /// The current block (each benchmark slash takes the next one).
    pub block: Block,
    /// The operator to slash.
    pub operator: Address,
}

/// Builds a service with one operator set (no veto window), one operator registered and allocated
/// (`ALLOCATED_MAGNITUDE`, in force) and `delegators` stakers who deposited and delegated to it.
pub fn slash_fixture(delegators: usize) -> SlashFixture {
    let stakers: Vec<Address> = (0..delegators as u64).map(account).collect();
    let mut state = State::genesis(&genesis(stakers.iter().copied(), tokens(1_000)))
        .unwrap_or_else(|e| panic!("genesis refused: {e}"));
    let op = operator(0);
    let mut block = 1;
    let register =
        Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
    must_apply(&mut state, op, block, &register);
    must_apply(&mut state, service(), block, &Tx::RegisterService { metadata_uri: String::new() });
    let create = Tx::CreateOperatorSet {
        service: service(),
        set_id: SET_ID,
        strategies: vec![STRATEGY],
        slasher: slasher(),
        redistribution_recipient: None,
        consent: Default::default(),
        veto: None,
    };
    must_apply(&mut state, service(), block, &create);
    let join = Tx::RegisterForOperatorSets { operator: op, service: service(), set_ids: vec![SET_ID] };
    must_apply(&mut state, op, block, &join);
    let allocate = Tx::ModifyAllocations {
        operator: op,
        allocations: vec![AllocateParams {
            service: service(),
            set_id: SET_ID,
            strategies: vec![STRATEGY],
            new_magnitudes: vec![ALLOCATED_MAGNITUDE],
        }],
    };
    must_apply(&mut state, op, block, &allocate);
    let first_deposit = deposit(tokens(32));
    for (i, s) in stakers.iter().enumerate() {
        if i % 10_000 == 0 {
            block += 1;
        }
        must_apply(&mut state, *s, block, &delegate(op));
        must_apply(&mut state, *s, block, &first_deposit);
    }
    SlashFixture { state, block: block + 1, operator: op }
}

impl SlashFixture {
    /// `n` slashes of `SMALL_WAD` by the set's slasher, one per block starting at the next block.
    pub fn next_slashes(&mut self, n: u64) -> Vec<(Ctx, Tx)> {
        let tx = slash(self.operator, SMALL_WAD);
        (0..n)
            .map(|_| {
                self.block += 1;
                (ctx(slasher(), self.block), tx.clone())
            })
            .collect()
    }

    /// The set's slash counter (one per executed slash).
    pub fn slash_count(&self) -> u32 {
        self.state.operator_set(set_key()).map_or(0, |s| s.slash_count)
    }
}

/// Fixtures of the liquid restaking vault benchmarks (`benches/vault.rs`).
///
/// A vault is created as governance creates one: a `CreateVault` proposal executed after the
/// timelock, then a price round reported by two of the three committee members. Holders enter
/// through `Tx::VaultDeposit`, the keeper sets targets with `Tx::VaultSetTargets` and rounds run
/// through `Tx::VaultRebalance`: nothing is written behind the state machine's back.
pub mod vault {
    use std::collections::BTreeMap;

    use cairn_primitives::{Address, AssetId, Block, Params, Profile, StrategyId, U256, VaultId, WAD, named_address};
    use cairn_state::{
        Event, Genesis, GenesisAsset, State, Tx,
        tx::{AllocateParams, GovernanceAction},
        vault::{
            AssetConfig, OperatorLimit, Policy, TargetWeight, VaultParams,
            tx::{AssetPrice, Deposit, Redeem, ReportPrices, SetTargets, VaultRef, VaultSpec},
        },
    };

    use super::{Pool, account, ctx, must_apply, operator, tokens};

    /// The benchmark vault (the first one created).
    pub const VAULT: VaultId = VaultId(0);
    /// The chain's native asset (ETH, priced at one).
    pub const ETH: AssetId = AssetId(0);
    /// A liquid staking token priced at 1.0 (the asset of the holder benchmarks).
    pub const STETH: AssetId = AssetId(1);
    /// A liquid staking token priced at 1.1.
    pub const RETH: AssetId = AssetId(2);
    /// stETH's price (WAD).
    pub const STETH_PRICE: u128 = 1_000_000_000_000_000_000;
    /// rETH's price (WAD).
    pub const RETH_PRICE: u128 = 1_100_000_000_000_000_000;
    /// Magnitude of one percent of an operator's stake.
    pub const PERCENT: u64 = 10_000_000_000_000_000;

    /// The vault's parameters: one-day price staleness, 10% performance and 1%/yr management
    /// fees, an instant fee of 10–110 bps, 50-block rounds.
    pub fn vault_params() -> VaultParams {
        VaultParams {
            price_staleness_seconds: 86_400,
            max_price_change_bps: 100,
            max_apr_bps: 2_000,
            max_rate_up_bps: 50,
            max_rate_down_bps: 10,
            performance_fee_bps: 1_000,
            management_fee_bps: 100,
            instant_fee_min_bps: 10,
            instant_fee_max_bps: 110,
            ticket_delay_blocks: 5,
            rebalance_interval_blocks: 50,
            finalization_period_blocks: 100,
            finalization_cap: U256::ZERO,
            emergency_delay_blocks: 50,
            deposit_lock_blocks: 0,
        }
    }

    /// The three price committee members, ascending.
    pub fn price_committee() -> Vec<Address> {
        let mut c: Vec<Address> = (1..=3).map(|i| named_address(&format!("cairn-bench/price/{i}"))).collect();
        c.sort();
        c
    }

    /// The vault's keeper (sets targets).
    pub fn keeper() -> Address {
        named_address("cairn-bench/keeper")
    }

    /// Anyone: the sender of rebalances.
    pub fn anyone() -> Address {
        named_address("cairn-bench/anyone")
    }

    /// The `k`-th service of the rebalance fixture.
    pub fn vault_service(k: u64) -> Address {
        named_address(&format!("cairn-bench/vault-service/{k}"))
    }

    /// A devnet genesis with ETH (native), stETH and rETH (each with its strategy); every account
    /// gets `balance` of stETH, and of rETH too when `with_reth`.
    pub fn vault_genesis(accounts: &[Address], with_reth: bool, balance: U256) -> Genesis {
        let funded: BTreeMap<Address, U256> = accounts.iter().map(|a| (*a, balance)).collect();
        let asset = |symbol: &str, native: bool, balances: BTreeMap<Address, U256>| GenesisAsset {
            symbol: symbol.into(),
            decimals: 18,
            strategy: !native,
            balances,
            native,
        };
        let reth = if with_reth { funded.clone() } else { BTreeMap::new() };
        Genesis {
            params: Params::profile(Profile::Devnet),
            governor: super::governor(),
            unpauser: super::governor(),
            pausers: vec![super::governor()],
            assets: vec![
                asset("ETH", true, BTreeMap::new()),
                asset("stETH", false, funded),
                asset("rETH", false, reth),
            ],
            oracle: Default::default(),
        }
    }

    /// A vault over ETH, stETH and rETH (minimum deposit 0.01, no caps) with this policy.
    pub fn vault_spec(policy: Policy) -> VaultSpec {
        VaultSpec {
            symbol: "cETH".into(),
            committee: price_committee(),
            quorum: 2,
            guardian: named_address("cairn-bench/guardian"),
            keeper: keeper(),
            fee_recipient: named_address("cairn-bench/treasury"),
            params: vault_params(),
            assets: [ETH, STETH, RETH]
                .into_iter()
                .map(|asset| AssetConfig {
                    asset,
                    deposits: true,
                    cap: None,
                    min_deposit: WAD / U256::from(100u8),
                    paused: false,
                })
                .collect(),
            policy,
        }
    }

    /// A deposit of `amount` of `asset` into the vault, minting to the sender.
    pub fn vault_deposit(asset: AssetId, amount: U256) -> Tx {
        Tx::VaultDeposit(Deposit { vault: VAULT, asset, amount, min_out: U256::ZERO, receiver: None })
    }

    /// An instant redemption of `shares` receipt tokens, paid in `asset`.
    pub fn vault_redeem(shares: U256, asset: AssetId) -> Tx {
        Tx::VaultRedeem(Redeem { vault: VAULT, shares, asset, min_out: U256::ZERO })
    }

    /// A rebalance round of the vault.
    pub fn vault_rebalance() -> Tx {
        Tx::VaultRebalance(VaultRef { vault: VAULT })
    }

    /// The keeper's targets: `operators` with their weights, the rest of 10,000 bps in the buffer.
    pub fn vault_targets(operators: &[(Address, u16)]) -> Tx {
        let used: u16 = operators.iter().map(|(_, bps)| *bps).sum();
        Tx::VaultSetTargets(SetTargets {
            vault: VAULT,
            buffer_bps: 10_000 - used,
            operators: operators
                .iter()
                .map(|(operator, bps)| TargetWeight { operator: *operator, bps: *bps })
                .collect(),
        })
    }

    /// A state holding one vault, and the block and price round it stands at.
    #[derive(Debug, Clone)]
    pub struct VaultWorld {
        /// The state.
        pub state: State,
        /// The current block (benchmarks advance it).
        pub block: Block,
        /// The last price round reported.
        pub round: u64,
        /// Block of the last accepted price round.
        pub priced_at: Block,
    }

    impl VaultWorld {
        /// Builds the genesis state, creates the vault through governance and prices it.
        pub fn new(genesis: &Genesis, policy: Policy) -> Self {
            let state = State::genesis(genesis).unwrap_or_else(|e| panic!("genesis refused: {e}"));
            let mut w = VaultWorld { state, block: 1, round: 0, priced_at: 0 };
            let gov = super::governor();
            let ev = w.apply(gov, &Tx::Propose { action: GovernanceAction::CreateVault(Box::new(vault_spec(policy))) });
            let (id, eta) = ev
                .iter()
                .find_map(|e| match e {
                    Event::ProposalCreated { id, eta, .. } => Some((*id, *eta)),
                    _ => None,
                })
                .expect("a proposal creates a ProposalCreated event");
            w.block = w.block.max(eta);
            w.apply(gov, &Tx::ExecuteProposal { id });
            w.report_prices();
            w
        }

        /// Applies `tx` from `sender` at the current block; panics with the error if refused.
        pub fn apply(&mut self, sender: Address, tx: &Tx) -> Vec<Event> {
            self.state.apply(&ctx(sender, self.block), tx).unwrap_or_else(|e| {
                panic!("setup transaction {tx:?} from {sender} at block {} refused: {e}", self.block)
            })
        }

        /// The next price round (unchanged prices), reported by two of the three members.
        pub fn report_prices(&mut self) {
            self.round += 1;
            let r = ReportPrices {
                vault: VAULT,
                round: self.round,
                prices: vec![
                    AssetPrice { asset: STETH, price: U256::from(STETH_PRICE) },
                    AssetPrice { asset: RETH, price: U256::from(RETH_PRICE) },
                ],
            };
            for member in &price_committee()[..2] {
                self.apply(*member, &Tx::VaultReportPrices(r.clone()));
            }
            self.priced_at = self.block;
        }

        /// Blocks that may pass from now before the prices need a new round: a quarter of the
        /// staleness limit at two-second blocks, less what has already passed.
        pub fn blocks_until_reprice(&self) -> u64 {
            let budget = vault_params().price_staleness_seconds / 2 / 4;
            budget.saturating_sub(self.block - self.priced_at)
        }

        /// Reports a new price round if the last one is older than the budget.
        pub fn keep_prices_fresh(&mut self) {
            if self.blocks_until_reprice() == 0 {
                self.report_prices();
            }
        }

        /// The vault's receipt-token balance of `holder`.
        pub fn receipt_balance(&self, holder: Address) -> U256 {
            self.state.vault_balance(VAULT, holder)
        }
    }

    /// A vault whose receipt token has `holders.len()` holders, all of the pool in the buffer.
    #[derive(Debug)]
    pub struct HolderFixture {
        /// The state, block and prices.
        pub world: VaultWorld,
        /// Accounts that deposited stETH and hold receipt tokens.
        pub holders: Vec<Address>,
        /// Funded accounts holding no receipt token: the senders of new holders' deposits.
        pub fresh: Pool,
    }

    /// Builds a vault with no targets (the whole pool stays in the buffer, so instant redemptions
    /// always have liquidity) and `n` holders, each made by a deposit of 32 stETH, plus `n_fresh`
    /// accounts funded with stETH that never deposited.
    pub fn holder_fixture(n: usize, n_fresh: usize) -> HolderFixture {
        let accounts: Vec<Address> = (0..(n + n_fresh) as u64).map(account).collect();
        let policy = Policy {
            operators: Vec::new(),
            min_buffer_bps: 1_000,
            service_cap_bps: 10_000,
            service_caps: Vec::new(),
            risk_budget_bps: 10_000,
        };
        let mut world = VaultWorld::new(&vault_genesis(&accounts, false, tokens(1_000_000)), policy);
        let first = vault_deposit(STETH, tokens(32));
        for (i, h) in accounts[..n].iter().enumerate() {
            if i % 10_000 == 0 {
                world.block += 1;
                world.keep_prices_fresh();
            }
            must_apply(&mut world.state, *h, world.block, &first);
        }
        world.block += 1;
        HolderFixture {
            world,
            holders: accounts[..n].to_vec(),
            fresh: Pool { ready: accounts[n..].to_vec(), used: Vec::new() },
        }
    }

    impl HolderFixture {
        /// Returns used new holders to "funded, no receipt token": each redeems all it holds.
        pub fn recycle_new_holders(&mut self) {
            let used = std::mem::take(&mut self.fresh.used);
            self.world.keep_prices_fresh();
            for h in &used {
                let all = self.world.receipt_balance(*h);
                must_apply(&mut self.world.state, *h, self.world.block, &vault_redeem(all, STETH));
            }
            self.world.block += 1;
            self.fresh.ready.extend(used);
        }
    }

    /// Target weights that alternate over the operators: `even` bps for even-numbered ones and
    /// `odd` bps for odd-numbered ones; the rest of 10,000 bps in the buffer.
    pub fn alternating_targets(operators: &[Address], even: u16, odd: u16) -> Tx {
        let weights: Vec<(Address, u16)> =
            operators.iter().enumerate().map(|(i, op)| (*op, if i % 2 == 0 { even } else { odd })).collect();
        vault_targets(&weights)
    }

    /// A vault spread over operators, with states ready for each kind of rebalance round.
    #[derive(Debug)]
    pub struct RebalanceFixture {
        /// The operators (each allowed by the policy and in the targets).
        pub operators: Vec<Address>,
        /// Accounts that deposited stETH and rETH.
        pub depositors: Vec<Address>,
        /// Before the first round: targets set, no place open yet (the round opens them all).
        pub open: VaultWorld,
        /// After the first round (6% at even-numbered operators, 3% at odd ones), targets swapped:
        /// the even half is over-weight and the buffer holds only its target, so the round queues
        /// withdrawals of the excess and has nothing to deposit.
        pub unbond: VaultWorld,
        /// After the second round's withdrawals have matured, targets of 1.5% (even) and 7.5%
        /// (odd): the round completes the 10 unbondings, queues withdrawals from the over-weight
        /// even half and deposits what the buffer holds above its target into the odd half.
        pub full: VaultWorld,
    }

    /// Builds `n_operators` operators, `n_services` services with one operator set each over the
    /// two LST strategies (operator `i` joins services `i mod n` and `(i + 1) mod n`, allocating
    /// 10–20% and 15% of its stake), and a vault allowing every operator (cap 10%) with
    /// `n_depositors` holders who each deposited 1,000 stETH and 1,000 rETH. The buffer target is
    /// 10% throughout; operator targets alternate between even- and odd-numbered operators.
    pub fn rebalance_fixture(n_operators: usize, n_services: usize, n_depositors: usize) -> RebalanceFixture {
        let depositors: Vec<Address> = (0..n_depositors as u64).map(account).collect();
        let operators: Vec<Address> = (0..n_operators as u64).map(operator).collect();
        let mut limits: Vec<OperatorLimit> =
            operators.iter().map(|op| OperatorLimit { operator: *op, cap_bps: 1_000, approval_salt: None }).collect();
        limits.sort_by_key(|l| l.operator);
        let policy = Policy {
            operators: limits,
            min_buffer_bps: 1_000,
            service_cap_bps: 3_000,
            service_caps: Vec::new(),
            risk_budget_bps: 3_000,
        };
        let mut w = VaultWorld::new(&vault_genesis(&depositors, true, tokens(1_000_000)), policy);
        let lst: Vec<StrategyId> = [STETH, RETH]
            .iter()
            .map(|a| w.state.strategy_of_asset(*a).expect("every LST has a strategy at genesis"))
            .collect();
        let register =
            Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
        for op in &operators {
            w.apply(*op, &register);
        }
        for k in 0..n_services as u64 {
            let svc = vault_service(k);
            w.apply(svc, &Tx::RegisterService { metadata_uri: String::new() });
            let create = Tx::CreateOperatorSet {
                service: svc,
                set_id: 0,
                strategies: lst.clone(),
                slasher: named_address(&format!("cairn-bench/vault-slasher/{k}")),
                redistribution_recipient: None,
                consent: Default::default(),
                veto: None,
            };
            w.apply(svc, &create);
        }
        for (i, op) in operators.iter().enumerate() {
            let joins = [(i % n_services, 10 + 5 * (i % 3) as u64), ((i + 1) % n_services, 15)];
            let mut allocations = Vec::new();
            for (k, pct) in joins {
                let svc = vault_service(k as u64);
                w.apply(*op, &Tx::RegisterForOperatorSets { operator: *op, service: svc, set_ids: vec![0] });
                allocations.push(AllocateParams {
                    service: svc,
                    set_id: 0,
                    strategies: lst.clone(),
                    new_magnitudes: vec![pct * PERCENT; lst.len()],
                });
            }
            w.apply(*op, &Tx::ModifyAllocations { operator: *op, allocations });
        }
        w.block += 1;
        for d in &depositors {
            w.apply(*d, &vault_deposit(STETH, tokens(1_000)));
            w.apply(*d, &vault_deposit(RETH, tokens(1_000)));
        }
        w.block += 1;
        w.apply(keeper(), &alternating_targets(&operators, 600, 300));
        w.block += 1;
        let open = w.clone();

        w.apply(anyone(), &vault_rebalance());
        let interval = vault_params().rebalance_interval_blocks;
        w.block += interval;
        w.apply(keeper(), &alternating_targets(&operators, 300, 600));
        w.block += 1;
        let unbond = w.clone();

        w.apply(anyone(), &vault_rebalance());
        w.block += interval.max(w.state.params().withdrawal_delay_blocks + 1);
        w.apply(keeper(), &alternating_targets(&operators, 150, 750));
        w.block += 1;
        let full = w;
        RebalanceFixture { operators, depositors, open, unbond, full }
    }

    /// What a rebalance did, from its `VaultRebalanced` event: (value unbonded, value deposited,
    /// unbondings completed).
    pub fn rebalanced(events: &[Event]) -> (U256, U256, u32) {
        events
            .iter()
            .find_map(|e| match e {
                Event::VaultRebalanced { unbonded, deposited, completed, .. } => {
                    Some((*unbonded, *deposited, *completed))
                }
                _ => None,
            })
            .expect("a rebalance emits VaultRebalanced")
    }
}

//! Shared fixtures for the Cairn performance benchmarks (`benches/core.rs`, `benches/memory.rs`).
//!
//! Every state is built through `State::genesis` and `State::apply` only, exactly as a node would
//! build it: one asset with a strategy, stakers funded at genesis, operators, a service with one
//! operator set, allocations and delegations. Addresses of stakers are pseudo-random (SplitMix64
//! of the index) so that consecutive stakers land in unrelated places of every ordered map.

use std::{collections::BTreeMap, hint::black_box, time::Duration, time::Instant};

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
    for (c, tx) in txs {
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

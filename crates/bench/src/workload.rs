//! The comparison workload of `benches/workload.rs`: the transactions EigenLayer's own contracts
//! were measured on (v1.12 in revm), replayed through `State::apply` with every call timed.
//!
//! 2,000 stakers deposit 100 tokens each; 1,000 operators register; 2,000 delegations (1,000 to
//! operator A, 10 to operator B, 990 first delegators of other operators); one service creates
//! 1,000 operator sets of one strategy; each operator registers for its own set and allocates 50%
//! to it; 1,000 slashes of 0.1% each on A and on B, alternating, then one 0.1% slash of each of
//! the other 998 operators; A's 1,000 stakers queue full withdrawals and complete them as tokens
//! after the delay. Mainnet delays, blocks from 20,000,000, one block per 10 transactions.

use std::{
    collections::BTreeMap,
    hint::black_box,
    time::{Duration, Instant},
};

use cairn_primitives::{Address, Block, Params, Profile, U256, WAD};
use cairn_state::{
    Ctx, Genesis, State, Tx,
    tx::{AllocateParams, QueueParams},
};

use crate::{ASSET, STRATEGY, account, operator, tokens};

/// Stakers who deposit.
pub const STAKERS: u64 = 2_000;
/// Operators who register.
pub const OPERATORS: u64 = 1_000;
/// Stakers delegated to operator A (the first ones).
pub const A_DELEGATORS: u64 = 1_000;
/// Stakers delegated to operator B (the next ones).
pub const B_DELEGATORS: u64 = 10;
/// Slashes of A and of B each (alternating).
pub const REPEAT_SLASHES: u64 = 1_000;
/// First block of the workload (mainnet height at the time of the comparison).
pub const FIRST_BLOCK: Block = 20_000_000;
/// Transactions per block.
pub const TXS_PER_BLOCK: u64 = 10;
/// Tokens each staker deposits.
pub const DEPOSIT_TOKENS: u64 = 100;
/// Magnitude each operator allocates: 50%.
pub const HALF: u64 = 500_000_000_000_000_000;
/// Fraction of the allocation each slash takes: 0.1% in WAD.
pub const SLASH_WAD: u64 = 1_000_000_000_000_000;
/// A's operator shares after its 1,000 slashes, in tokens to six decimals (truncated): the
/// figure EigenLayer's contracts gave on the same workload.
pub const A_SHARES_AFTER_SLASHES: &str = "68384.771238";

/// The operations of the comparison table, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// `Tx::Deposit` (EigenLayer: approve + depositIntoStrategy).
    Deposit,
    /// `Tx::RegisterAsOperator`.
    RegisterAsOperator,
    /// `Tx::DelegateTo` an operator that already holds shares.
    DelegateHolding,
    /// `Tx::DelegateTo` an operator's first delegator.
    DelegateFirst,
    /// `Tx::CreateOperatorSet` (one set of one strategy).
    CreateOperatorSet,
    /// `Tx::RegisterForOperatorSets` (one set).
    RegisterForOperatorSets,
    /// `Tx::ModifyAllocations` (one set, one strategy).
    ModifyAllocations,
    /// `Tx::SlashOperator` of an operator slashed before (10 or 1,000 delegators).
    SlashRepeat,
    /// `Tx::SlashOperator`, the first slash of an operator.
    SlashFirst,
    /// `Tx::QueueWithdrawals` (one withdrawal of one strategy).
    QueueWithdrawals,
    /// `Tx::CompleteWithdrawal` as tokens.
    CompleteWithdrawal,
}

impl Op {
    /// Every operation, in table order.
    pub const ALL: [Op; 11] = [
        Op::Deposit,
        Op::RegisterAsOperator,
        Op::DelegateHolding,
        Op::DelegateFirst,
        Op::CreateOperatorSet,
        Op::RegisterForOperatorSets,
        Op::ModifyAllocations,
        Op::SlashRepeat,
        Op::SlashFirst,
        Op::QueueWithdrawals,
        Op::CompleteWithdrawal,
    ];

    /// The row's name in the comparison table (EigenLayer's call).
    pub fn label(self) -> &'static str {
        match self {
            Op::Deposit => "approve + deposit → Deposit",
            Op::RegisterAsOperator => "registerAsOperator",
            Op::DelegateHolding => "delegateTo (operator holds shares)",
            Op::DelegateFirst => "delegateTo (first delegator)",
            Op::CreateOperatorSet => "createOperatorSets (1 set)",
            Op::RegisterForOperatorSets => "registerForOperatorSets",
            Op::ModifyAllocations => "modifyAllocations",
            Op::SlashRepeat => "slashOperator (repeat)",
            Op::SlashFirst => "slashOperator (first slash)",
            Op::QueueWithdrawals => "queueWithdrawals",
            Op::CompleteWithdrawal => "completeQueuedWithdrawal",
        }
    }

    /// EigenLayer v1.12 in revm on this kind of machine, median µs per call (issue 17).
    pub fn eigenlayer_us(self) -> f64 {
        match self {
            Op::Deposit => 35.2,
            Op::RegisterAsOperator => 23.6,
            Op::DelegateHolding => 32.8,
            Op::DelegateFirst => 33.0,
            Op::CreateOperatorSet => 15.6,
            Op::RegisterForOperatorSets => 21.4,
            Op::ModifyAllocations => 35.1,
            Op::SlashRepeat => 67.2,
            Op::SlashFirst => 66.4,
            Op::QueueWithdrawals => 59.9,
            Op::CompleteWithdrawal => 65.2,
        }
    }

    /// Cairn's target, median µs per call (at least 100× EigenLayer, rounded down).
    pub fn target_us(self) -> f64 {
        match self {
            Op::Deposit => 0.35,
            Op::RegisterAsOperator => 0.21,
            Op::DelegateHolding => 0.33,
            Op::DelegateFirst => 0.33,
            Op::CreateOperatorSet => 0.16,
            Op::RegisterForOperatorSets => 0.21,
            Op::ModifyAllocations => 0.35,
            Op::SlashRepeat => 0.67,
            Op::SlashFirst => 0.66,
            Op::QueueWithdrawals => 0.60,
            Op::CompleteWithdrawal => 0.65,
        }
    }
}

/// Per-call wall times of one or more runs, by operation.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub BTreeMap<Op, Vec<Duration>>);

impl Samples {
    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: Samples) {
        for (op, v) in other.0 {
            self.0.entry(op).or_default().extend(v);
        }
    }
}

/// What one run of the workload ends with.
#[derive(Debug)]
pub struct Outcome {
    /// Per-call wall times.
    pub samples: Samples,
    /// A's operator shares right after its last slash (wei).
    pub a_shares_after_slashes: U256,
    /// Tokens A's stakers hold after completing their withdrawals (wei, summed).
    pub a_stakers_withdrawn: U256,
    /// The state at the end.
    pub state: State,
}

/// The workload's genesis: the benchmark genesis with mainnet parameters, every staker funded
/// with exactly what it deposits.
pub fn genesis() -> Genesis {
    let mut g = crate::genesis((0..STAKERS).map(account), tokens(DEPOSIT_TOKENS));
    g.params = Params::profile(Profile::Mainnet);
    g
}

/// Called at the end of every block with the state and the block's transaction count.
pub type OnBlock<'a> = &'a mut dyn FnMut(&mut State, u64);

/// A chain being driven through the workload: the state, the block clock and the samples.
struct Run<'a> {
    state: State,
    block: Block,
    in_block: u64,
    per_block: u64,
    samples: Samples,
    on_block: OnBlock<'a>,
}

impl Run<'_> {
    fn ctx(&mut self, sender: Address) -> Ctx {
        let c = Ctx { sender, block: self.block, time: 1_700_000_000 + 12 * (self.block - FIRST_BLOCK) };
        self.in_block += 1;
        c
    }

    /// Closes the block once it holds its transactions (after the last one is applied).
    fn after_tx(&mut self) {
        if self.in_block == self.per_block {
            self.end_block();
        }
    }

    fn end_block(&mut self) {
        if self.in_block > 0 {
            (self.on_block)(&mut self.state, self.in_block);
        }
        self.in_block = 0;
        self.block += 1;
    }

    /// Moves to the first block at least `blocks` after the current one.
    fn wait(&mut self, blocks: Block) {
        let start = self.block;
        self.end_block();
        self.block = start + blocks + 1;
    }

    /// Applies one timed transaction; panics with the error if it is refused.
    fn timed(&mut self, op: Op, sender: Address, tx: &Tx) {
        let c = self.ctx(sender);
        let start = Instant::now();
        let result = self.state.apply(&c, tx);
        let elapsed = start.elapsed();
        match result {
            Ok(events) => drop(black_box(events)),
            Err(e) => panic!("{op:?} from {sender} at block {} refused: {e}", c.block),
        }
        self.samples.0.entry(op).or_default().push(elapsed);
        self.after_tx();
    }

    /// Applies one setup transaction outside the table (it is not an EigenLayer row).
    fn untimed(&mut self, sender: Address, tx: &Tx) {
        let c = self.ctx(sender);
        if let Err(e) = self.state.apply(&c, tx) {
            panic!("setup {tx:?} from {sender} at block {} refused: {e}", c.block);
        }
        self.after_tx();
    }
}

/// Runs the workload once from genesis, timing every call of the table.
pub fn run() -> Outcome {
    let state = State::genesis(&genesis()).unwrap_or_else(|e| panic!("workload genesis refused: {e}"));
    run_with(state, TXS_PER_BLOCK, &mut |_, _| {})
}

/// [`run`] from `state` (the workload's genesis state, tracking on or off) with `per_block`
/// transactions per block, calling `on_block` after each block as a node would to commit it.
pub fn run_with(state: State, per_block: u64, on_block: OnBlock<'_>) -> Outcome {
    let (service, slasher) = (crate::service(), crate::slasher());
    let params = state.params().clone();
    let mut r = Run {
        state,
        block: FIRST_BLOCK,
        in_block: 0,
        per_block: per_block.max(1),
        samples: Samples::default(),
        on_block,
    };
    let stakers: Vec<Address> = (0..STAKERS).map(account).collect();
    let operators: Vec<Address> = (0..OPERATORS).map(operator).collect();
    let (a, b) = (operators[0], operators[1]);

    let deposit = Tx::Deposit { strategy: STRATEGY, amount: tokens(DEPOSIT_TOKENS) };
    for s in &stakers {
        r.timed(Op::Deposit, *s, &deposit);
    }
    let register =
        Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
    for op in &operators {
        r.timed(Op::RegisterAsOperator, *op, &register);
    }
    r.untimed(service, &Tx::RegisterService { metadata_uri: String::new() });

    // 1,000 to A, 10 to B, then one delegator each for the next 990 operators.
    for (i, s) in stakers.iter().enumerate() {
        let i = i as u64;
        let to = if i < A_DELEGATORS {
            a
        } else if i < A_DELEGATORS + B_DELEGATORS {
            b
        } else {
            operators[(2 + i - A_DELEGATORS - B_DELEGATORS) as usize]
        };
        let op = if r.state.operator_shares(to, STRATEGY).is_zero() { Op::DelegateFirst } else { Op::DelegateHolding };
        r.timed(op, *s, &Tx::DelegateTo { operator: to, approval_salt: None });
    }

    for id in 0..OPERATORS as u32 {
        let create = Tx::CreateOperatorSet {
            service,
            set_id: id,
            strategies: vec![STRATEGY],
            slasher,
            redistribution_recipient: None,
            consent: Default::default(),
            veto: None,
        };
        r.timed(Op::CreateOperatorSet, service, &create);
    }
    for (id, op) in operators.iter().enumerate() {
        let join = Tx::RegisterForOperatorSets { operator: *op, service, set_ids: vec![id as u32] };
        r.timed(Op::RegisterForOperatorSets, *op, &join);
    }

    // The allocation delay chosen at registration takes effect after the configuration delay.
    r.wait(params.allocation_configuration_delay_blocks);
    for (id, op) in operators.iter().enumerate() {
        let allocate = Tx::ModifyAllocations {
            operator: *op,
            allocations: vec![AllocateParams {
                service,
                set_id: id as u32,
                strategies: vec![STRATEGY],
                new_magnitudes: vec![HALF],
            }],
        };
        r.timed(Op::ModifyAllocations, *op, &allocate);
    }
    r.wait(params.slasher_configuration_delay_blocks.max(1));

    let slash = |id: u64, op: Address| Tx::SlashOperator {
        service,
        set_id: id as u32,
        operator: op,
        strategies: vec![STRATEGY],
        wads_to_slash: vec![U256::from(SLASH_WAD)],
        description: String::new(),
    };
    let (slash_a, slash_b) = (slash(0, a), slash(1, b));
    for k in 0..2 * REPEAT_SLASHES {
        let tx = if k % 2 == 0 { &slash_a } else { &slash_b };
        r.timed(if k < 2 { Op::SlashFirst } else { Op::SlashRepeat }, slasher, tx);
    }
    let a_shares_after_slashes = r.state.operator_shares(a, STRATEGY);
    for (id, op) in operators.iter().enumerate().skip(2) {
        r.timed(Op::SlashFirst, slasher, &slash(id as u64, *op));
    }

    let a_stakers = &stakers[..A_DELEGATORS as usize];
    for s in a_stakers {
        let shares = r.state.position(*s, STRATEGY).deposit_shares;
        let q = QueueParams { strategies: vec![STRATEGY], deposit_shares: vec![shares] };
        r.timed(Op::QueueWithdrawals, *s, &Tx::QueueWithdrawals { withdrawals: vec![q] });
    }
    r.wait(params.withdrawal_delay_blocks);
    for s in a_stakers {
        let nonces: Vec<u64> = r.state.withdrawals_of(*s).into_iter().map(|(n, _)| n).collect();
        for nonce in nonces {
            r.timed(Op::CompleteWithdrawal, *s, &Tx::CompleteWithdrawal { nonce, receive_as_tokens: true });
        }
    }
    r.end_block();
    let a_stakers_withdrawn = a_stakers.iter().fold(U256::ZERO, |sum, s| sum + r.state.balance(*s, ASSET));
    Outcome { samples: r.samples, a_shares_after_slashes, a_stakers_withdrawn, state: r.state }
}

/// `wei` (18 decimals) in tokens with six decimals, truncated.
pub fn tokens6(wei: U256) -> String {
    let micro = wei / (WAD / U256::from(1_000_000u64));
    let (whole, frac) = (micro / U256::from(1_000_000u64), micro % U256::from(1_000_000u64));
    format!("{whole}.{:06}", frac.to::<u64>())
}

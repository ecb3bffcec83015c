//! The operation alphabet and the bytes → operations decoder.
//!
//! A step is encoded in exactly [`STEP_BYTES`] bytes (missing trailing bytes read as 0):
//!
//! | byte | meaning |
//! |------|---------|
//! | 0    | operation kind (weighted table, see [`KINDS`]) |
//! | 1    | sender: < 216 the operation's natural sender, else actor `(b − 216) mod 24` |
//! | 2    | block advance: mostly 0, sometimes past the 50-block delays; 255 = a stale block |
//! | 3..  | the operation's fields: small selectors resolved against the current state |
//!
//! Fixed-width steps keep shrinking (proptest) and mutation (libFuzzer) local to one step.
//! Selectors mostly pick valid ids; their top values pick unknown ids (garbage).

use cairn_primitives::{Address, AssetId, OperatorSetKey, StrategyId, U256};
use cairn_state::{
    Tx,
    oracle::{BeaconWithdrawal, ValidatorRecord},
    pause::Module,
    pods::pod_address,
    slashing::RequestStatus,
    tx::{AllocateParams, QueueParams},
};

use crate::world::{
    APPROVER, COMMITTEE, GOVERNOR, N_ACTORS, N_VALIDATORS, OPERATOR_BASE, ORACLE, PAUSER, SERVICE_BASE, STRANGER,
    UNPAUSER, WAD_U64, World, validator_owner,
};

/// Bytes per encoded step.
pub const STEP_BYTES: usize = 16;
/// Most steps decoded from one input.
pub const MAX_STEPS: usize = 256;

/// Who sends a step's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The account the operation naturally comes from (the staker, the slasher, ...).
    Natural,
    /// Actor `i` (mod the number of actors), usually the wrong one.
    Actor(u8),
}

/// How the block moves before a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// Advance by this many blocks (0: same block).
    Blocks(u64),
    /// Send the transaction at `last_block − 1` (must be refused once a block > 0 was applied).
    Stale,
}

/// A token amount, resolved against the sender's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// 0.
    Zero,
    /// 1 wei.
    One,
    /// A few wei.
    Small(u16),
    /// `n / 4` whole tokens plus `n` wei (so share amounts are not round).
    Quarters(u8),
    /// `balance · n / 256`.
    Fraction(u8),
    /// The whole balance.
    All,
    /// Balance + 1 (insufficient).
    AllPlusOne,
    /// 5e37 (close to the 1e38 share limit).
    Huge,
    /// U256::MAX.
    Max,
}

/// Deposit shares, resolved against the staker's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shares {
    /// 0 (refused).
    Zero,
    /// 1.
    One,
    /// Half, at least 1.
    Half,
    /// All of them.
    All,
    /// One more than held (refused).
    AllPlusOne,
    /// `held · n / 256`, at least 1.
    Fraction(u8),
    /// U256::MAX.
    Huge,
}

/// A magnitude, resolved against the allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mag {
    /// 0.
    Zero,
    /// 1.
    One,
    /// `n · WAD / 512`.
    Fraction(u8),
    /// WAD.
    Wad,
    /// WAD + 1 (always over-allocates).
    WadPlusOne,
    /// Current + all allocatable magnitude.
    Fill,
    /// One more than [`Mag::Fill`] (over-allocates).
    FillPlusOne,
    /// Current + 1.
    CurrentPlusOne,
    /// Current − 1.
    CurrentMinusOne,
    /// The current magnitude (refused: same magnitude).
    Same,
}

/// A slash fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wad {
    /// 0 (refused).
    Zero,
    /// 1.
    One,
    /// `10^n` for small `n`.
    Tiny(u8),
    /// `n · WAD / 256`.
    Fraction(u8),
    /// WAD / 2.
    Half,
    /// WAD (a full slash).
    Wad,
    /// WAD + 1 (refused).
    WadPlusOne,
    /// U256::MAX (refused).
    Max,
}

/// An index into existing objects (nonces, request ids, slash ids), or garbage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The n-th existing object (mod their count).
    Index(u8),
    /// An id that does not exist.
    Garbage(u8),
}

/// One operation with small selectors for its ids.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Transfer { from: u8, asset: u8, to: u8, amount: Amount },
    Donate { from: u8, strategy: u8, amount: Amount },
    Mint { asset: u8, to: u8, amount: Amount },
    CreateStrategy { asset: u8 },
    Deposit { staker: u8, strategy: u8, amount: Amount },
    RegisterOperator { who: u8, delay: u8 },
    SetAllocationDelay { operator: u8, delay: u8 },
    ApproveDelegation { staker: u8, operator: u8, salt: u8, expiry: u8 },
    Delegate { staker: u8, operator: u8, salt: Option<u8> },
    Undelegate { staker: u8 },
    Redelegate { staker: u8, operator: u8, salt: Option<u8> },
    RegisterForSet { operator: u8, set: u8 },
    DeregisterFromSet { operator: u8, set: u8 },
    ModifyAllocations { operator: u8, set: u8, strategy: u8, magnitude: Mag, second: Option<(u8, u8, Mag)> },
    ClearDeallocationQueue { operator: u8, strategy: u8, count: u8 },
    Slash { set: u8, operator: u8, strategies: u8, order: u8, wads: [Wad; 4] },
    VetoSlash { set: u8, request: Pick },
    ExecuteSlash { set: u8, request: Pick },
    ClearBurnable { set: u8, slash: Pick, strategy: Option<u8> },
    QueueWithdrawals { staker: u8, shape: u8, items: [(u8, Shares); 4] },
    CompleteWithdrawal { staker: u8, nonce: Pick, as_tokens: bool },
    AddStrategyToSet { set: u8, strategy: u8 },
    RemoveStrategyFromSet { set: u8, strategy: u8 },
    SetIncompatible { a: u8, b: u8, on: bool },
    Pause { module: u8 },
    Unpause { module: u8 },
    BeaconReport { slot: u8, changes: [(u8, u8); 2], withdrawal: Option<(u8, u8)> },
    CreatePod { who: u8 },
    VerifyCredentials { who: u8, validators: u8, slot: u8 },
    StartCheckpoint { who: u8, revert: bool },
    CheckpointProofs { owner: u8, validators: u8 },
    StaleBalance { owner: u8, validator: u8 },
}

/// One step: who, when, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Sender choice.
    pub sender: Sender,
    /// Block movement before the step.
    pub advance: Advance,
    /// The operation.
    pub op: Op,
}

/// Operation kinds with their weights out of 256 (byte 0 of a step).
pub const KINDS: [(&str, u8); 32] = [
    ("deposit", 28),
    ("transfer", 6),
    ("donate", 6),
    ("mint", 4),
    ("create_strategy", 2),
    ("register_operator", 4),
    ("set_allocation_delay", 3),
    ("approve_delegation", 5),
    ("delegate", 12),
    ("undelegate", 9),
    ("redelegate", 7),
    ("register_for_set", 6),
    ("deregister_from_set", 6),
    ("modify_allocations", 20),
    ("clear_deallocation_queue", 6),
    ("slash", 20),
    ("veto_slash", 7),
    ("execute_slash", 10),
    ("clear_burnable", 6),
    ("queue_withdrawals", 20),
    ("complete_withdrawal", 17),
    ("add_strategy_to_set", 3),
    ("remove_strategy_from_set", 3),
    ("set_incompatible", 3),
    ("pause", 2),
    ("unpause", 6),
    ("beacon_report", 10),
    ("create_pod", 3),
    ("verify_credentials", 6),
    ("start_checkpoint", 6),
    ("checkpoint_proofs", 8),
    ("stale_balance", 2),
];

/// The first byte-0 value that selects the kind named `name` in [`KINDS`].
pub fn kind_byte(name: &str) -> Option<u8> {
    let mut acc = 0u32;
    for (n, w) in KINDS {
        if n == name {
            return u8::try_from(acc).ok();
        }
        acc += u32::from(w);
    }
    None
}

fn kind_of(b: u8) -> usize {
    let mut acc = 0u32;
    for (i, (_, w)) in KINDS.iter().enumerate() {
        acc += u32::from(*w);
        if u32::from(b) < acc {
            return i;
        }
    }
    KINDS.len() - 1
}

fn amount(class: u8, p: u8) -> Amount {
    match class % 16 {
        0 => Amount::Zero,
        1 => Amount::One,
        2 => Amount::Small(u16::from(p) * 3 + 2),
        3..=6 => Amount::Quarters(p),
        7..=9 => Amount::Fraction(p),
        10 => Amount::All,
        11 => Amount::AllPlusOne,
        12 => Amount::Huge,
        13 => Amount::Max,
        _ => Amount::Quarters(p / 8),
    }
}

fn shares(b: u8) -> Shares {
    match b {
        0..=5 => Shares::Zero,
        6..=11 => Shares::One,
        12..=20 => Shares::AllPlusOne,
        21..=23 => Shares::Huge,
        24..=60 => Shares::Half,
        61..=130 => Shares::All,
        n => Shares::Fraction(n),
    }
}

fn mag(b: u8) -> Mag {
    match b {
        0..=19 => Mag::Zero,
        20..=24 => Mag::One,
        25..=34 => Mag::Wad,
        35..=39 => Mag::WadPlusOne,
        40..=64 => Mag::Fill,
        65..=74 => Mag::FillPlusOne,
        75..=84 => Mag::CurrentPlusOne,
        85..=94 => Mag::CurrentMinusOne,
        95..=99 => Mag::Same,
        n => Mag::Fraction(n),
    }
}

fn wad(b: u8) -> Wad {
    match b {
        0..=3 => Wad::Zero,
        4..=7 => Wad::One,
        8..=11 => Wad::WadPlusOne,
        12 => Wad::Max,
        13..=32 => Wad::Wad,
        33..=45 => Wad::Half,
        46..=60 => Wad::Tiny(b - 43),
        n => Wad::Fraction(n),
    }
}

fn pick(b: u8) -> Pick {
    if b >= 240 { Pick::Garbage(b) } else { Pick::Index(b) }
}

/// Decodes one [`STEP_BYTES`]-byte chunk (shorter chunks are zero-padded).
pub fn decode_step(chunk: &[u8]) -> Step {
    let mut b = [0u8; STEP_BYTES];
    let n = chunk.len().min(STEP_BYTES);
    b[..n].copy_from_slice(&chunk[..n]);
    let sender = if b[1] < 216 { Sender::Natural } else { Sender::Actor(b[1] - 216) };
    let advance = match b[2] {
        0..=159 => Advance::Blocks(0),
        160..=199 => Advance::Blocks(1),
        200..=229 => Advance::Blocks(u64::from(b[2] - 198)),
        230..=244 => Advance::Blocks(25),
        245..=250 => Advance::Blocks(51),
        251..=253 => Advance::Blocks(103),
        254 => Advance::Blocks(200),
        255 => Advance::Stale,
    };
    let p = &b[3..];
    let opt = |x: u8, v: u8| if x & 1 == 1 { Some(v) } else { None };
    let op = match kind_of(b[0]) {
        0 => Op::Deposit { staker: p[0], strategy: p[1], amount: amount(p[2], p[3]) },
        1 => Op::Transfer { from: p[0], asset: p[1], to: p[2], amount: amount(p[3], p[4]) },
        2 => Op::Donate { from: p[0], strategy: p[1], amount: amount(p[2], p[3]) },
        3 => Op::Mint { asset: p[0], to: p[1], amount: amount(p[2], p[3]) },
        4 => Op::CreateStrategy { asset: p[0] },
        5 => Op::RegisterOperator { who: p[0], delay: p[1] },
        6 => Op::SetAllocationDelay { operator: p[0], delay: p[1] },
        7 => Op::ApproveDelegation { staker: p[0], operator: p[1], salt: p[2], expiry: p[3] },
        8 => Op::Delegate { staker: p[0], operator: p[1], salt: opt(p[2], p[3]) },
        9 => Op::Undelegate { staker: p[0] },
        10 => Op::Redelegate { staker: p[0], operator: p[1], salt: opt(p[2], p[3]) },
        11 => Op::RegisterForSet { operator: p[0], set: p[1] },
        12 => Op::DeregisterFromSet { operator: p[0], set: p[1] },
        13 => Op::ModifyAllocations {
            operator: p[0],
            set: p[1],
            strategy: p[2],
            magnitude: mag(p[3]),
            second: (p[4] >= 192).then(|| (p[5], p[6], mag(p[7]))),
        },
        14 => Op::ClearDeallocationQueue { operator: p[0], strategy: p[1], count: p[2] },
        15 => Op::Slash {
            set: p[0],
            operator: p[1],
            strategies: p[2],
            order: p[3],
            wads: [wad(p[4]), wad(p[5]), wad(p[6]), wad(p[7])],
        },
        16 => Op::VetoSlash { set: p[0], request: pick(p[1]) },
        17 => Op::ExecuteSlash { set: p[0], request: pick(p[1]) },
        18 => Op::ClearBurnable { set: p[0], slash: pick(p[1]), strategy: opt(p[2], p[3]) },
        19 => Op::QueueWithdrawals {
            staker: p[0],
            shape: p[1],
            items: [(p[2], shares(p[3])), (p[4], shares(p[5])), (p[6], shares(p[7])), (p[8], shares(p[9]))],
        },
        20 => Op::CompleteWithdrawal { staker: p[0], nonce: pick(p[1]), as_tokens: p[2] & 3 != 0 },
        21 => Op::AddStrategyToSet { set: p[0], strategy: p[1] },
        22 => Op::RemoveStrategyFromSet { set: p[0], strategy: p[1] },
        23 => Op::SetIncompatible { a: p[0], b: p[1], on: p[2] & 1 == 0 },
        24 => Op::Pause { module: p[0] },
        25 => Op::Unpause { module: p[0] },
        26 => Op::BeaconReport {
            slot: p[0],
            changes: [(p[1], p[2]), (p[3], p[4])],
            withdrawal: (p[5] >= 128).then_some((p[6], p[7])),
        },
        27 => Op::CreatePod { who: p[0] },
        28 => Op::VerifyCredentials { who: p[0], validators: p[1], slot: p[2] },
        29 => Op::StartCheckpoint { who: p[0], revert: p[1] >= 224 },
        30 => Op::CheckpointProofs { owner: p[0], validators: p[1] },
        _ => Op::StaleBalance { owner: p[0], validator: p[1] },
    };
    Step { sender, advance, op }
}

/// Decodes an arbitrary byte string into at most [`MAX_STEPS`] steps.
pub fn decode(data: &[u8]) -> Vec<Step> {
    data.chunks(STEP_BYTES).take(MAX_STEPS).map(decode_step).collect()
}

/// A deterministic xorshift64* generator for pseudo-random byte strings (no dependencies).
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a seed (0 is replaced by a constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// `n` pseudo-random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() >> 32) as u8).collect()
    }
}

const MODULES: [Module; 10] = [
    Module::Transfers,
    Module::Deposits,
    Module::Delegation,
    Module::EnterWithdrawalQueue,
    Module::ExitWithdrawalQueue,
    Module::Allocations,
    Module::Slashing,
    Module::Registration,
    Module::SlashClearing,
    Module::Pods,
];

fn frac(v: U256, n: u8) -> U256 {
    v * U256::from(n) / U256::from(256u32)
}

impl World {
    /// A staker-like actor: stakers 0–5, operators, or the stranger.
    fn staker_sel(&self, b: u8) -> Address {
        const CHOICES: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, STRANGER];
        self.actor(CHOICES[usize::from(b) % CHOICES.len()])
    }

    /// An operator (mostly) or a non-operator.
    fn operator_sel(&self, b: u8) -> Address {
        if b < 232 {
            self.actor(OPERATOR_BASE + usize::from(b) % 3)
        } else {
            self.actor([0, STRANGER][usize::from(b) % 2])
        }
    }

    fn set_sel(&self, b: u8) -> OperatorSetKey {
        if b < 240 {
            self.sets[usize::from(b) % 3]
        } else if b.is_multiple_of(2) {
            OperatorSetKey { service: self.actor(SERVICE_BASE), id: 7 }
        } else {
            OperatorSetKey { service: self.actor(STRANGER), id: 0 }
        }
    }

    /// Strategies 0–2 (mostly), 3 (exists once created), or an unknown id.
    fn strategy_sel(b: u8) -> StrategyId {
        match b {
            0..=223 => StrategyId(u32::from(b) % 3),
            224..=239 => StrategyId(3),
            _ => StrategyId(4 + u32::from(b) % 4),
        }
    }

    fn asset_sel(b: u8) -> AssetId {
        if b < 248 { AssetId(u32::from(b) % 4) } else { AssetId(9) }
    }

    fn amount_of(&self, a: Amount, holder: Address, asset: AssetId) -> U256 {
        let bal = self.state.balance(holder, asset);
        match a {
            Amount::Zero => U256::ZERO,
            Amount::One => U256::from(1u8),
            Amount::Small(n) => U256::from(n),
            Amount::Quarters(n) => U256::from(n) * U256::from(WAD_U64 / 4 + 1),
            Amount::Fraction(n) => frac(bal, n),
            Amount::All => bal,
            Amount::AllPlusOne => bal.saturating_add(U256::from(1u8)),
            Amount::Huge => U256::from(5u8) * U256::from(10u8).pow(U256::from(37u8)),
            Amount::Max => U256::MAX,
        }
    }

    fn shares_of(&self, s: Shares, staker: Address, strategy: StrategyId) -> U256 {
        let held = self.state.position(staker, strategy).deposit_shares;
        let one = U256::from(1u8);
        match s {
            Shares::Zero => U256::ZERO,
            Shares::One => one,
            Shares::Half => (held / U256::from(2u8)).max(one),
            Shares::All => held,
            Shares::AllPlusOne => held.saturating_add(one),
            Shares::Fraction(n) => frac(held, n).max(one),
            Shares::Huge => U256::MAX,
        }
    }

    fn mag_of(&self, m: Mag, operator: Address, set: OperatorSetKey, strategy: StrategyId, block: u64) -> u64 {
        let (a, _) = self.state.load_allocation(operator, set, strategy, block);
        let free = self.state.allocatable_magnitude(operator, strategy, block);
        match m {
            Mag::Zero => 0,
            Mag::One => 1,
            Mag::Fraction(n) => (u128::from(n) * u128::from(WAD_U64) / 512) as u64,
            Mag::Wad => WAD_U64,
            Mag::WadPlusOne => WAD_U64 + 1,
            Mag::Fill => a.current.saturating_add(free),
            Mag::FillPlusOne => a.current.saturating_add(free).saturating_add(1),
            Mag::CurrentPlusOne => a.current.saturating_add(1),
            Mag::CurrentMinusOne => a.current.saturating_sub(1),
            Mag::Same => a.current,
        }
    }

    fn wad_of(w: Wad) -> U256 {
        let wad = U256::from(WAD_U64);
        match w {
            Wad::Zero => U256::ZERO,
            Wad::One => U256::from(1u8),
            Wad::Tiny(n) => U256::from(10u8).pow(U256::from(n)),
            Wad::Fraction(n) => frac(wad, n).max(U256::from(1u8)),
            Wad::Half => wad / U256::from(2u8),
            Wad::Wad => wad,
            Wad::WadPlusOne => wad + U256::from(1u8),
            Wad::Max => U256::MAX,
        }
    }

    /// A strategy the staker holds (mostly), else any selector.
    fn held_strategy_sel(&self, staker: Address, b: u8) -> StrategyId {
        let held = self.state.staker_strategies(staker);
        if b < 192 && !held.is_empty() { held[usize::from(b) % held.len()] } else { Self::strategy_sel(b) }
    }

    /// A pending slash request (mostly), else a set and a request id picked from its counter.
    fn request_sel(&self, set: u8, p: Pick) -> (OperatorSetKey, u32) {
        let mut pending = Vec::new();
        for key in self.sets {
            let count = self.state.operator_set(key).map(|s| s.request_count).unwrap_or(0);
            for id in 1..=count {
                if self.state.slash_request(key, id).is_some_and(|r| r.status == RequestStatus::Pending) {
                    pending.push((key, id));
                }
            }
        }
        match p {
            Pick::Index(n) if set < 200 && !pending.is_empty() => pending[usize::from(n) % pending.len()],
            _ => {
                let key = self.set_sel(set);
                (key, self.request_id(key, p))
            }
        }
    }

    fn request_id(&self, set: OperatorSetKey, p: Pick) -> u32 {
        let count = self.state.operator_set(set).map(|s| s.request_count).unwrap_or(0);
        match p {
            Pick::Index(n) => 1 + u32::from(n) % count.max(1),
            Pick::Garbage(n) => 1_000 + u32::from(n),
        }
    }

    fn slash_id(&self, set: OperatorSetKey, p: Pick) -> u32 {
        let count = self.state.operator_set(set).map(|s| s.slash_count).unwrap_or(0);
        match p {
            Pick::Index(n) => 1 + u32::from(n) % count.max(1),
            Pick::Garbage(n) => 1_000 + u32::from(n),
        }
    }

    /// The sender and transaction of a step at `block`, resolved against the current state.
    pub fn build(&self, step: &Step, block: u64) -> (Address, Tx) {
        let (natural, tx) = self.build_op(&step.op, block);
        let sender = match step.sender {
            Sender::Natural => natural,
            Sender::Actor(i) => self.actor(usize::from(i) % N_ACTORS),
        };
        (sender, tx)
    }

    fn build_op(&self, op: &Op, block: u64) -> (Address, Tx) {
        match *op {
            Op::Transfer { from, asset, to, amount } => {
                let from = self.actor(usize::from(from));
                let asset = Self::asset_sel(asset);
                let amount = self.amount_of(amount, from, asset);
                (from, Tx::Transfer { asset, to: self.actor(usize::from(to)), amount })
            }
            Op::Donate { from, strategy, amount } => {
                let from = self.staker_sel(from);
                let strategy = Self::strategy_sel(strategy);
                let asset = AssetId(strategy.0);
                let to = self.state.strategy_address(strategy).unwrap_or(Address::repeat_byte(0x5a));
                let amount = self.amount_of(amount, from, asset);
                (from, Tx::Transfer { asset, to, amount })
            }
            Op::Mint { asset, to, amount } => {
                let to = self.actor(usize::from(to));
                let asset = Self::asset_sel(asset);
                (self.actor(GOVERNOR), Tx::Mint { asset, to, amount: self.amount_of(amount, to, asset) })
            }
            Op::CreateStrategy { asset } => {
                (self.actor(STRANGER), Tx::CreateStrategy { asset: Self::asset_sel(asset) })
            }
            Op::Deposit { staker, strategy, amount } => {
                let staker = self.staker_sel(staker);
                let strategy = Self::strategy_sel(strategy);
                let amount = self.amount_of(amount, staker, AssetId(strategy.0));
                (staker, Tx::Deposit { strategy, amount })
            }
            Op::RegisterOperator { who, delay } => (
                self.staker_sel(who),
                Tx::RegisterAsOperator {
                    delegation_approver: (delay >= 240).then(|| self.actor(APPROVER)),
                    allocation_delay: u64::from(delay % 12),
                    metadata_uri: String::new(),
                },
            ),
            Op::SetAllocationDelay { operator, delay } => {
                let operator = self.operator_sel(operator);
                (operator, Tx::SetAllocationDelay { operator, delay: u64::from(delay % 16) })
            }
            Op::ApproveDelegation { staker, operator, salt, expiry } => (
                self.actor(APPROVER),
                Tx::ApproveDelegation {
                    staker: self.staker_sel(staker),
                    operator: self.operator_sel(operator),
                    salt: u64::from(salt % 8),
                    expiry: block.saturating_add(u64::from(expiry % 32)).saturating_sub(2),
                },
            ),
            Op::Delegate { staker, operator, salt } => (
                self.staker_sel(staker),
                Tx::DelegateTo { operator: self.operator_sel(operator), approval_salt: salt.map(|s| u64::from(s % 8)) },
            ),
            Op::Undelegate { staker } => {
                let staker = self.staker_sel(staker);
                (staker, Tx::Undelegate { staker })
            }
            Op::Redelegate { staker, operator, salt } => (
                self.staker_sel(staker),
                Tx::Redelegate { operator: self.operator_sel(operator), approval_salt: salt.map(|s| u64::from(s % 8)) },
            ),
            Op::RegisterForSet { operator, set } => {
                let operator = self.operator_sel(operator);
                let set = self.set_sel(set);
                (operator, Tx::RegisterForOperatorSets { operator, service: set.service, set_ids: vec![set.id] })
            }
            Op::DeregisterFromSet { operator, set } => {
                let operator = self.operator_sel(operator);
                let set = self.set_sel(set);
                (operator, Tx::DeregisterFromOperatorSets { operator, service: set.service, set_ids: vec![set.id] })
            }
            Op::ModifyAllocations { operator, set, strategy, magnitude, second } => {
                let operator = self.operator_sel(operator);
                let mut allocations = Vec::new();
                let mut one = |set: u8, strategy: u8, m: Mag| {
                    let set = self.set_sel(set);
                    let strategy = Self::strategy_sel(strategy);
                    let mag = self.mag_of(m, operator, set, strategy, block);
                    allocations.push(AllocateParams {
                        service: set.service,
                        set_id: set.id,
                        strategies: vec![strategy],
                        new_magnitudes: vec![mag],
                    });
                };
                one(set, strategy, magnitude);
                if let Some((set, strategy, m)) = second {
                    one(set, strategy, m);
                }
                (operator, Tx::ModifyAllocations { operator, allocations })
            }
            Op::ClearDeallocationQueue { operator, strategy, count } => (
                self.actor(STRANGER),
                Tx::ClearDeallocationQueue {
                    operator: self.operator_sel(operator),
                    strategies: vec![Self::strategy_sel(strategy)],
                    num_to_clear: vec![if count >= 200 { u32::MAX } else { u32::from(count % 4) }],
                },
            ),
            Op::Slash { set, operator, strategies, order, wads } => {
                let set = self.set_sel(set);
                let mut ss: Vec<StrategyId> = match self.state.operator_set(set) {
                    Ok(info) if strategies < 224 => {
                        let all: Vec<StrategyId> = info.strategies.iter().copied().collect();
                        let some: Vec<StrategyId> = all
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| strategies & (1 << i) != 0)
                            .map(|(_, s)| *s)
                            .collect();
                        if some.is_empty() { all } else { some }
                    }
                    _ => (0..4).filter(|i| strategies & (1 << i) != 0).map(StrategyId).collect(),
                };
                match order {
                    0..=210 => {}
                    211..=235 => ss.reverse(),
                    _ => {
                        if let Some(first) = ss.first().copied() {
                            ss.push(first);
                        }
                    }
                }
                let mut wads_to_slash: Vec<U256> = wads.iter().take(ss.len()).map(|w| Self::wad_of(*w)).collect();
                if order == 255 {
                    wads_to_slash.pop();
                }
                let slashable: Vec<Address> = (0..3)
                    .map(|i| self.actor(OPERATOR_BASE + i))
                    .filter(|op| self.state.is_slashable_by(*op, set, block))
                    .collect();
                let operator = if operator < 160 && !slashable.is_empty() {
                    slashable[usize::from(operator) % slashable.len()]
                } else {
                    self.operator_sel(operator)
                };
                let slasher = self.state.slasher(set, block).unwrap_or(self.actor(STRANGER));
                (
                    slasher,
                    Tx::SlashOperator {
                        service: set.service,
                        set_id: set.id,
                        operator,
                        strategies: ss,
                        wads_to_slash,
                        description: String::new(),
                    },
                )
            }
            Op::VetoSlash { set, request } => {
                let (set, request_id) = self.request_sel(set, request);
                (self.actor(COMMITTEE), Tx::VetoSlash { service: set.service, set_id: set.id, request_id })
            }
            Op::ExecuteSlash { set, request } => {
                let (set, request_id) = self.request_sel(set, request);
                (self.actor(STRANGER), Tx::ExecuteSlash { service: set.service, set_id: set.id, request_id })
            }
            Op::ClearBurnable { set, slash, strategy } => {
                let burnable = self.state.burnable_shares();
                let (set, slash_id, strategy) = match slash {
                    Pick::Index(n) if set < 200 && !burnable.is_empty() => {
                        let ((k, id, s), _) = burnable[usize::from(n) % burnable.len()];
                        (k, id, strategy.map(|_| s))
                    }
                    _ => {
                        let set = self.set_sel(set);
                        (set, self.slash_id(set, slash), strategy.map(Self::strategy_sel))
                    }
                };
                (
                    self.actor(STRANGER),
                    Tx::ClearBurnOrRedistributableShares { service: set.service, set_id: set.id, slash_id, strategy },
                )
            }
            Op::QueueWithdrawals { staker, shape, items } => {
                let staker = self.staker_sel(staker);
                let n_entries = if shape & 0xc0 == 0xc0 { 2 } else { 1 };
                let mut withdrawals = Vec::new();
                for e in 0..n_entries {
                    let n_strategies = if (shape >> (2 * e)) & 3 == 3 { 2 } else { 1 };
                    let mut p = QueueParams { strategies: Vec::new(), deposit_shares: Vec::new() };
                    for (s, sh) in items.iter().skip(2 * e).take(n_strategies) {
                        let s = self.held_strategy_sel(staker, *s);
                        p.strategies.push(s);
                        p.deposit_shares.push(self.shares_of(*sh, staker, s));
                    }
                    match (shape >> 4) & 15 {
                        15 => p = QueueParams { strategies: Vec::new(), deposit_shares: Vec::new() },
                        14 => {
                            p.deposit_shares.pop();
                        }
                        _ => {}
                    }
                    withdrawals.push(p);
                }
                (staker, Tx::QueueWithdrawals { withdrawals })
            }
            Op::CompleteWithdrawal { staker, nonce, as_tokens } => {
                let queued: Vec<(Address, u64)> = self
                    .actors
                    .iter()
                    .flat_map(|a| self.state.withdrawals_of(*a).into_iter().map(|(n, _)| (*a, n)))
                    .collect();
                if let (Pick::Index(n), true) = (nonce, staker < 200 && !queued.is_empty()) {
                    let (staker, nonce) = queued[usize::from(n) % queued.len()];
                    return (staker, Tx::CompleteWithdrawal { nonce, receive_as_tokens: as_tokens });
                }
                let staker = self.staker_sel(staker);
                let nonce = match nonce {
                    Pick::Index(n) => {
                        let ws = self.state.withdrawals_of(staker);
                        if ws.is_empty() { 0 } else { ws[usize::from(n) % ws.len()].0 }
                    }
                    Pick::Garbage(n) => 10_000 + u64::from(n),
                };
                (staker, Tx::CompleteWithdrawal { nonce, receive_as_tokens: as_tokens })
            }
            Op::AddStrategyToSet { set, strategy } => {
                let set = self.set_sel(set);
                (
                    set.service,
                    Tx::AddStrategiesToOperatorSet {
                        service: set.service,
                        set_id: set.id,
                        strategies: vec![Self::strategy_sel(strategy)],
                    },
                )
            }
            Op::RemoveStrategyFromSet { set, strategy } => {
                let set = self.set_sel(set);
                (
                    set.service,
                    Tx::RemoveStrategiesFromOperatorSet {
                        service: set.service,
                        set_id: set.id,
                        strategies: vec![Self::strategy_sel(strategy)],
                    },
                )
            }
            Op::SetIncompatible { a, b, on } => {
                let service = self.actor(SERVICE_BASE + usize::from(a % 2));
                let other = if b < 240 { self.actor(SERVICE_BASE + usize::from(b % 2)) } else { self.actor(STRANGER) };
                (service, Tx::SetIncompatibleService { service, other, incompatible: on })
            }
            Op::Pause { module } => {
                (self.actor(PAUSER), Tx::Pause { modules: vec![MODULES[usize::from(module) % MODULES.len()]] })
            }
            Op::Unpause { module } => {
                let modules =
                    if module >= 64 { MODULES.to_vec() } else { vec![MODULES[usize::from(module) % MODULES.len()]] };
                (self.actor(UNPAUSER), Tx::Unpause { modules })
            }
            Op::BeaconReport { slot, changes, withdrawal } => self.beacon_report(slot, changes, withdrawal),
            Op::CreatePod { who } => (self.staker_sel(who), Tx::CreatePod {}),
            Op::VerifyCredentials { who, validators, slot } => {
                let latest = self.latest_slot();
                let slot = match slot {
                    0..=239 => latest,
                    240..=247 => latest.saturating_sub(1),
                    _ => latest + 1,
                };
                // Mostly: an owner of unverified validators proves some of its own.
                let unverified: Vec<u64> =
                    (0..N_VALIDATORS).filter(|v| self.state.pod_validator(*v).is_none()).collect();
                let (sender, validators) = match unverified.get(usize::from(who) % unverified.len().max(1)) {
                    Some(v) if who < 176 && validators < 192 => {
                        let owner = self.actor(validator_owner(*v));
                        let own: Vec<u64> =
                            unverified.iter().copied().filter(|u| self.actor(validator_owner(*u)) == owner).collect();
                        let n = 1 + usize::from(validators) % own.len();
                        (owner, own[..n].to_vec())
                    }
                    _ => (self.staker_sel(who), validator_set(validators)),
                };
                (sender, Tx::VerifyWithdrawalCredentials { slot, validators })
            }
            Op::StartCheckpoint { who, revert } => {
                (self.pod_owner_sel(who), Tx::StartCheckpoint { revert_if_no_balance: revert })
            }
            Op::CheckpointProofs { owner, validators } => {
                let open: Vec<Address> =
                    self.state.pods().into_iter().filter(|(_, p)| p.checkpoint.is_some()).map(|(o, _)| o).collect();
                let owner = match open.get(usize::from(owner) % open.len().max(1)) {
                    Some(o) if owner < 192 => *o,
                    _ => self.pod_owner_sel(owner),
                };
                let validators = if validators < 160 {
                    self.active_validators(owner, validators)
                } else {
                    validator_set(validators)
                };
                (self.actor(STRANGER), Tx::VerifyCheckpointProofs { pod_owner: owner, validators })
            }
            Op::StaleBalance { owner, validator } => {
                let owner = self.pod_owner_sel(owner);
                let active = self.active_validators(owner, 0xff);
                let validator = match active.get(usize::from(validator) % active.len().max(1)) {
                    Some(v) if validator < 200 => *v,
                    _ => u64::from(validator % 8),
                };
                (self.actor(STRANGER), Tx::VerifyStaleBalance { pod_owner: owner, validator })
            }
        }
    }

    /// The owner's active verified validators: all of them, or a prefix chosen by `b`.
    fn active_validators(&self, owner: Address, b: u8) -> Vec<u64> {
        let mine: Vec<u64> = self
            .state
            .pod_validators()
            .into_iter()
            .filter(|(_, v)| v.owner == owner && v.status == cairn_state::pods::ValidatorStatus::Active)
            .map(|(i, _)| i)
            .collect();
        if b >= 128 || mine.is_empty() {
            return if mine.is_empty() { validator_set(b) } else { mine };
        }
        let n = 1 + usize::from(b) % mine.len();
        mine[..n].to_vec()
    }

    fn latest_slot(&self) -> u64 {
        self.state.latest_beacon_report().map_or(0, |(s, _)| s)
    }

    /// An account with a pod (mostly), else any staker-like actor.
    fn pod_owner_sel(&self, b: u8) -> Address {
        let owners: Vec<Address> = self.state.pods().into_iter().map(|(o, _)| o).collect();
        if b < 224 && !owners.is_empty() { owners[usize::from(b) % owners.len()] } else { self.staker_sel(b) }
    }

    /// A report one or a few slots after the latest (sometimes stale) changing up to two
    /// validators: rewards, small and large losses, a beacon slash, an exit with its withdrawal.
    fn beacon_report(&self, slot: u8, changes: [(u8, u8); 2], withdrawal: Option<(u8, u8)>) -> (Address, Tx) {
        let latest = self.latest_slot();
        let slot = if slot >= 240 { latest } else { latest + 1 + u64::from(slot % 4) };
        let mut records: Vec<ValidatorRecord> = Vec::new();
        let mut withdrawals = Vec::new();
        for (v, class) in changes {
            let index = u64::from(v) % N_VALIDATORS;
            if records.iter().any(|r| r.index == index) {
                continue;
            }
            let Some(cur) = self.state.validator_record(index, latest) else { continue };
            let mut r = ValidatorRecord {
                index,
                withdrawal_credentials: cur.withdrawal_credentials,
                effective_balance_gwei: cur.effective_balance_gwei,
                balance_gwei: cur.balance_gwei,
                slashed: cur.slashed,
                exited: cur.exited,
                activation_epoch_set: cur.activation_epoch_set,
            };
            let gwei = 1_000_000_000u64;
            match class {
                0..=79 => r.balance_gwei += u64::from(class) * 1_000_003,
                80..=139 => r.balance_gwei = r.balance_gwei.saturating_sub(u64::from(class - 79) * 7_000_001),
                140..=179 => r.balance_gwei = r.balance_gwei.saturating_sub(u64::from(class - 139) * gwei / 4),
                180..=199 => {
                    r.slashed = true;
                    r.balance_gwei = r.balance_gwei.saturating_sub(gwei);
                }
                200..=229 => {
                    // Exit: the whole balance is withdrawn to the credentials' address.
                    if r.balance_gwei > 0 {
                        withdrawals.push(BeaconWithdrawal {
                            validator_index: index,
                            address: pod_address(self.actor(validator_owner(index))),
                            amount_gwei: r.balance_gwei,
                        });
                    }
                    r.balance_gwei = 0;
                    r.exited = true;
                }
                _ => r.balance_gwei = 0,
            }
            r.effective_balance_gwei = r.balance_gwei.min(32 * gwei) / gwei * gwei;
            records.push(r);
        }
        records.sort_by_key(|r| r.index);
        if let Some((v, amount)) = withdrawal {
            let index = u64::from(v) % N_VALIDATORS;
            withdrawals.push(BeaconWithdrawal {
                validator_index: index,
                address: pod_address(self.actor(validator_owner(index))),
                amount_gwei: u64::from(amount) * 3_000_017,
            });
        }
        (self.actor(ORACLE), Tx::PostBeaconReport { slot, validators: records, withdrawals })
    }
}

/// Validators named by a bit mask (bits 0–5; bit 6 adds an unknown index, bit 7 repeats the first).
fn validator_set(mask: u8) -> Vec<u64> {
    let mut v: Vec<u64> = (0..N_VALIDATORS).filter(|i| mask & (1 << i) != 0).collect();
    if mask & 0x40 != 0 {
        v.push(40);
    }
    if mask & 0x80 != 0
        && let Some(first) = v.first().copied()
    {
        v.push(first);
    }
    v
}

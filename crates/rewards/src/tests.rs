//! The calculator on small chains, with every amount worked out by hand in the comments.

use cairn_primitives::{Address, AssetId, Params, Profile, StrategyId, U256, named_address};
use cairn_state::{
    Ctx, Genesis, GenesisAsset, State, Tx,
    rewards::{OperatorDirectedSubmission, OperatorReward, RewardsSubmission, StrategyMultiplier},
    tx::AllocateParams,
};

use crate::{Recorder, Snapshots, calculate, tree::RewardsTree};

const DAY: u64 = 86_400;
const E18: u128 = 1_000_000_000_000_000_000;
const ST: StrategyId = StrategyId(0);
const STETH: AssetId = AssetId(0);

fn a(n: &str) -> Address {
    named_address(n)
}

fn u(v: u128) -> U256 {
    U256::from(v)
}

/// A chain: the state, a block counter and the day recorder.
struct Chain {
    s: State,
    block: u64,
    rec: Recorder,
}

impl Chain {
    fn new() -> Self {
        let balances = ["alice", "bob", "carol", "avs"].iter().map(|n| (a(n), u(1_000_000 * E18))).collect();
        let g = Genesis {
            params: Params::profile(Profile::Devnet),
            governor: a("gov"),
            unpauser: a("gov"),
            pausers: vec![],
            assets: vec![GenesisAsset {
                symbol: "stETH".into(),
                decimals: 18,
                strategy: true,
                balances,
                native: false,
            }],
            oracle: Default::default(),
        };
        Chain { s: State::genesis(&g).expect("genesis"), block: 0, rec: Recorder::new(DAY, 0) }
    }

    /// Applies `tx` at `time`, in a block of a 12-second chain (at least one block per step).
    fn ok(&mut self, sender: &str, time: u64, tx: Tx) {
        self.block = (self.block + 1).max(time / 12);
        self.rec.advance(&self.s, self.block, time);
        let ctx = Ctx { sender: a(sender), block: self.block, time };
        self.s.apply(&ctx, &tx).unwrap_or_else(|e| panic!("{tx:?} refused: {e}"));
    }

    /// alice 100 and bob 300 stETH delegated to op1; carol 100 to op2; both operators in set 0
    /// of `avs`; op1 allocates half its magnitude to it, op2 all of it. All at time 10.
    fn standard() -> Self {
        let mut c = Chain::new();
        for op in ["op1", "op2"] {
            c.ok(
                op,
                10,
                Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() },
            );
        }
        for (who, amount, op) in [("alice", 100, "op1"), ("bob", 300, "op1"), ("carol", 100, "op2")] {
            c.ok(who, 10, Tx::Deposit { strategy: ST, amount: u(amount * E18) });
            c.ok(who, 10, Tx::DelegateTo { operator: a(op), approval_salt: None });
        }
        c.ok("avs", 10, Tx::RegisterService { metadata_uri: String::new() });
        c.ok(
            "avs",
            10,
            Tx::CreateOperatorSet {
                service: a("avs"),
                set_id: 0,
                strategies: vec![ST],
                slasher: a("slasher"),
                redistribution_recipient: None,
                consent: Default::default(),
                veto: None,
            },
        );
        for (op, mag) in [("op1", E18 / 2), ("op2", E18)] {
            c.ok(op, 10, Tx::RegisterForOperatorSets { operator: a(op), service: a("avs"), set_ids: vec![0] });
            let p =
                AllocateParams { service: a("avs"), set_id: 0, strategies: vec![ST], new_magnitudes: vec![mag as u64] };
            c.ok(op, 10, Tx::ModifyAllocations { operator: a(op), allocations: vec![p] });
        }
        c
    }

    fn calc(&mut self, now: u64, end: u64) -> crate::Calculation {
        self.rec.advance(&self.s, (self.block + 1).max(now / 12), now);
        calculate(&self.s.submissions(), self.rec.snapshots(), DAY, end).expect("calculation")
    }
}

fn sm() -> Vec<StrategyMultiplier> {
    vec![StrategyMultiplier { strategy: ST, multiplier: u(E18) }]
}

/// An amount-based submission of stETH over `sm()`.
fn paid(amount: u128, start: u64, duration: u64) -> RewardsSubmission {
    RewardsSubmission { strategies_and_multipliers: sm(), token: STETH, amount: u(amount), start, duration }
}

fn earned(c: &crate::Calculation, who: &str) -> U256 {
    c.earnings.get(&(a(who), STETH)).copied().unwrap_or_default()
}

#[test]
fn service_wide_rewards_split_by_stake_and_commission() {
    let mut c = Chain::standard();
    // 4000 wei over days 2 and 3 (start day 1 is not paid): 2000 a day.
    let s = paid(4000, DAY, 2 * DAY);
    c.ok("avs", DAY, Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![s] });
    let r = c.calc(4 * DAY, 3 * DAY);
    // Weights 100 : 300 : 100 (alice, bob under op1; carol under op2), Σ = 500.
    // alice: p = 0.2 → 400 a day, op1 keeps 10% = 40, alice 360. bob: 1200 → 120 / 1080.
    // carol: 400 → op2 40, carol 360. Two days each.
    assert_eq!(earned(&r, "alice"), u(720));
    assert_eq!(earned(&r, "bob"), u(2160));
    assert_eq!(earned(&r, "carol"), u(720));
    assert_eq!(earned(&r, "op1"), u(320));
    assert_eq!(earned(&r, "op2"), u(80));
    assert_eq!(r.tallies[0].distributed, u(4000));
    assert_eq!(r.tallies[0].refunded, U256::ZERO);
    // Cumulative: through day 2 only the first day counts.
    let r2 = c.calc(4 * DAY, 2 * DAY);
    assert_eq!(earned(&r2, "alice"), u(360));
    for (k, v) in &r2.earnings {
        assert!(r.earnings.get(k).is_some_and(|later| later >= v), "cumulative earnings decreased for {k:?}");
    }
}

#[test]
fn stake_changes_count_from_the_next_day() {
    let mut c = Chain::standard();
    let s = paid(1000, DAY, DAY);
    c.ok("avs", DAY, Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![s] });
    // bob leaves during day 1 (before the day-2 snapshot), alice doubles exactly at day 2's start:
    // the day-2 snapshot has bob out and alice still at 100.
    c.ok("bob", DAY + 5, Tx::Undelegate { staker: a("bob") });
    c.ok("alice", 2 * DAY, Tx::Deposit { strategy: ST, amount: u(100 * E18) });
    let r = c.calc(3 * DAY, 2 * DAY);
    // alice 100 : carol 100 → 500 each, 10% to their operators.
    assert_eq!(earned(&r, "alice"), u(450));
    assert_eq!(earned(&r, "carol"), u(450));
    assert_eq!(earned(&r, "bob"), U256::ZERO);
}

#[test]
fn operator_directed_set_rewards_refund_unregistered_operators() {
    let mut c = Chain::standard();
    c.ok("op2", DAY, Tx::DeregisterFromOperatorSets { operator: a("op2"), service: a("avs"), set_ids: vec![0] });
    let mut operator_rewards = vec![
        OperatorReward { operator: a("op1"), amount: u(1000) },
        OperatorReward { operator: a("op2"), amount: u(600) },
    ];
    operator_rewards.sort_by_key(|r| r.operator);
    let s = OperatorDirectedSubmission {
        strategies_and_multipliers: sm(),
        token: STETH,
        operator_rewards,
        start: DAY,
        duration: 2 * DAY,
        description: String::new(),
    };
    c.ok(
        "avs",
        4 * DAY,
        Tx::CreateOperatorDirectedOperatorSetRewardsSubmission { service: a("avs"), set_id: 0, submissions: vec![s] },
    );
    let r = c.calc(4 * DAY, 3 * DAY);
    // op1: 500 a day; keeps 50; alice and bob share 450 as 1 : 3 → 112 and 337 (floors, 1 left over).
    assert_eq!(earned(&r, "op1"), u(100));
    assert_eq!(earned(&r, "alice"), u(224));
    assert_eq!(earned(&r, "bob"), u(674));
    // op2 was deregistered before day 2: its 300 a day go back to the service.
    assert_eq!(earned(&r, "avs"), u(600));
    assert_eq!(r.tallies[0].refunded, u(600));
    assert_eq!(r.tallies[0].distributed, u(998));
}

#[test]
fn unique_and_total_stake_weight_operators_differently() {
    let mut c = Chain::standard();
    let s = || paid(3000, DAY, DAY);
    c.ok("avs", DAY, Tx::CreateUniqueStakeRewardsSubmission { service: a("avs"), set_id: 0, submissions: vec![s()] });
    let r = c.calc(3 * DAY, 2 * DAY);
    // Allocated stake: op1 half of 400 = 200, op2 all of 100: 2000 and 1000.
    // op1 keeps 200, alice/bob share 1800 → 450 / 1350; op2 keeps 100, carol 900.
    assert_eq!((earned(&r, "op1"), earned(&r, "alice"), earned(&r, "bob")), (u(200), u(450), u(1350)));
    assert_eq!((earned(&r, "op2"), earned(&r, "carol")), (u(100), u(900)));
    let mut c = Chain::standard();
    c.ok("avs", DAY, Tx::CreateTotalStakeRewardsSubmission { service: a("avs"), set_id: 0, submissions: vec![s()] });
    let r = c.calc(3 * DAY, 2 * DAY);
    // Total stake 400 : 100 → 2400 and 600.
    assert_eq!((earned(&r, "op1"), earned(&r, "op2")), (u(240), u(60)));
    assert_eq!((earned(&r, "alice"), earned(&r, "bob"), earned(&r, "carol")), (u(540), u(1620), u(540)));
}

#[test]
fn splits_apply_from_their_activation() {
    let mut c = Chain::standard();
    c.ok("op1", 10, Tx::SetOperatorServiceSplit { operator: a("op1"), service: a("avs"), split_bips: 5_000 });
    // Devnet activation delay: 7200 s, so days 2 and 3 use 50%.
    let s = paid(1000, DAY, DAY);
    c.ok("avs", DAY, Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![s] });
    let r = c.calc(3 * DAY, 2 * DAY);
    // alice: pair 200 → op1 100, alice 100; bob: 600 → 300 / 300; carol 200 → op2 20 (default), 180.
    assert_eq!((earned(&r, "alice"), earned(&r, "bob"), earned(&r, "op1")), (u(100), u(300), u(400)));
    assert_eq!((earned(&r, "carol"), earned(&r, "op2")), (u(180), u(20)));
}

#[test]
fn a_day_without_stake_is_not_paid_and_missing_snapshots_are_errors() {
    let mut c = Chain::new();
    c.ok("avs", 10, Tx::RegisterService { metadata_uri: String::new() });
    let s = paid(1000, DAY, DAY);
    c.ok("avs", DAY, Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![s] });
    let r = c.calc(3 * DAY, 2 * DAY);
    assert!(r.earnings.is_empty());
    assert_eq!(r.tallies[0].distributed, U256::ZERO);
    let err = calculate(&c.s.submissions(), &Snapshots::new(), DAY, 2 * DAY).unwrap_err();
    assert_eq!(err, crate::CalcError::MissingSnapshot { day: 2 * DAY });
    assert!(matches!(
        calculate(&c.s.submissions(), c.rec.snapshots(), DAY, 2 * DAY + 1),
        Err(crate::CalcError::EndNotAligned { .. })
    ));
}

#[test]
fn claims_of_a_calculated_root_pay_out_through_the_state_machine() {
    let mut c = Chain::standard();
    let s = paid(4000, DAY, 2 * DAY);
    c.ok("avs", DAY, Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![s] });
    let r = c.calc(4 * DAY, 3 * DAY);
    let tree: RewardsTree = r.tree(&c.s);
    c.ok("gov", 4 * DAY, Tx::SubmitRoot { root: tree.root(), calculation_end: 3 * DAY });
    let later = 4 * DAY + c.s.params().rewards_activation_delay_seconds;
    for who in ["alice", "bob", "carol", "op1", "op2"] {
        let claim = tree.claim(0, a(who), None).expect("an earner");
        let before = c.s.balance(a(who), STETH);
        c.ok(who, later, Tx::ProcessClaim { claim, recipient: a(who) });
        assert_eq!(c.s.balance(a(who), STETH) - before, earned(&r, who));
    }
    // Everything distributed was claimed: the escrow is empty.
    assert_eq!(c.s.balance(cairn_state::rewards::escrow_address(), STETH), U256::ZERO);
}

#[test]
fn tokens_per_day_stay_a_fraction_until_the_pair_is_floored() {
    let mut c = Chain::standard();
    // 7 wei over 2 days: 3.5 a day. bob's pair = floor(0.6 · 7 / 2) = 2 (flooring 3.5 first would
    // give floor(0.6 · 3) = 1); alice's and carol's floor(0.2 · 3.5) = 0.
    c.ok("avs", DAY, Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![paid(7, DAY, 2 * DAY)] });
    let r = c.calc(4 * DAY, 3 * DAY);
    assert_eq!(earned(&r, "bob"), u(4));
    assert_eq!(earned(&r, "alice"), U256::ZERO);
    assert_eq!(r.tallies[0].distributed, u(4));
}

#[test]
fn service_wide_counts_only_strategies_the_operator_is_restaked_in() {
    let mut c = Chain::standard();
    // A second strategy-less set: the service's only set holds stETH; a submission naming a
    // strategy no set holds pays nothing for it. Here: op2 leaves the set, so carol earns nothing.
    c.ok("op2", 20, Tx::DeregisterFromOperatorSets { operator: a("op2"), service: a("avs"), set_ids: vec![0] });
    c.ok("avs", DAY, Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![paid(400, DAY, DAY)] });
    let r = c.calc(3 * DAY, 2 * DAY);
    assert_eq!(earned(&r, "carol"), U256::ZERO);
    // alice 100 : bob 300 share the day: 100 and 300, 10% to op1.
    assert_eq!((earned(&r, "alice"), earned(&r, "bob"), earned(&r, "op1")), (u(90), u(270), u(40)));
}

#[test]
fn allocations_that_take_effect_before_the_day_count_without_a_later_transaction() {
    let mut c = Chain::standard();
    // op2 raises its allocation from 0 with a 100-block delay, 100 s before day 1 ends: the effect
    // block (~1200 s later) passes before day 2's snapshot although no transaction follows.
    c.ok(
        "op3",
        DAY - 100,
        Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 100, metadata_uri: String::new() },
    );
    c.ok("carol", DAY - 100, Tx::Undelegate { staker: a("carol") });
    c.ok("op3", DAY - 100, Tx::RegisterForOperatorSets { operator: a("op3"), service: a("avs"), set_ids: vec![0] });
    c.ok("carol", DAY - 100, Tx::Transfer { asset: STETH, to: a("op3"), amount: u(100 * E18) });
    c.ok("op3", DAY - 100, Tx::Deposit { strategy: ST, amount: u(100 * E18) });
    let p = AllocateParams { service: a("avs"), set_id: 0, strategies: vec![ST], new_magnitudes: vec![E18 as u64] };
    c.ok("op3", DAY - 100, Tx::ModifyAllocations { operator: a("op3"), allocations: vec![p] });
    let s = paid(3000, DAY, DAY);
    c.ok(
        "avs",
        DAY - 100,
        Tx::CreateUniqueStakeRewardsSubmission { service: a("avs"), set_id: 0, submissions: vec![s] },
    );
    let r = c.calc(3 * DAY, 2 * DAY);
    // Allocated: op1 200, op2 0 (carol left), op3 100 → op3 gets a third: 1000, keeps it all
    // (its only staker is itself: 10% commission + 90% as staker).
    assert_eq!(earned(&r, "op3"), u(1000));
}

mod random {
    //! Random chains: stake moves, splits, allocations and submissions of every kind over a week,
    //! then the calculation at every day: it never fails conservation, cumulative earnings never
    //! decrease, and every earner can claim everything through the state machine (the escrow
    //! always covers what the tree promises).

    use proptest::prelude::*;

    use super::*;

    /// `n` cases unless `PROPTEST_CASES` says otherwise.
    fn cases(n: u32) -> u32 {
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n)
    }

    const NAMES: [&str; 3] = ["alice", "bob", "carol"];
    const OPS: [&str; 2] = ["op1", "op2"];

    fn op_tx(c: &Chain, kind: u8, x: u8, y: u16, time: u64) -> (String, Tx) {
        let who = NAMES[usize::from(x) % 3];
        let op = OPS[usize::from(x) % 2];
        let day = time / DAY * DAY;
        let amount = u128::from(y) * 1_000_003 + 1;
        match kind % 9 {
            0 => (who.into(), Tx::Deposit { strategy: ST, amount: u(amount * 1_000_000) }),
            1 => (who.into(), Tx::Undelegate { staker: a(who) }),
            2 => (who.into(), Tx::DelegateTo { operator: a(op), approval_salt: None }),
            3 => {
                (op.into(), Tx::SetOperatorServiceSplit { operator: a(op), service: a("avs"), split_bips: y % 10_001 })
            }
            4 => (
                op.into(),
                Tx::SetOperatorSetSplit { operator: a(op), service: a("avs"), set_id: 0, split_bips: y % 10_001 },
            ),
            5 => {
                let mag = (u64::from(y) % 11) * 100_000_000_000_000_000;
                let p =
                    AllocateParams { service: a("avs"), set_id: 0, strategies: vec![ST], new_magnitudes: vec![mag] };
                (op.into(), Tx::ModifyAllocations { operator: a(op), allocations: vec![p] })
            }
            6 => {
                let s = paid(amount, day, DAY * (1 + u64::from(y % 3)));
                let tx = match x % 3 {
                    0 => Tx::CreateRewardsSubmission { service: a("avs"), submissions: vec![s] },
                    1 => Tx::CreateUniqueStakeRewardsSubmission { service: a("avs"), set_id: 0, submissions: vec![s] },
                    _ => Tx::CreateTotalStakeRewardsSubmission { service: a("avs"), set_id: 0, submissions: vec![s] },
                };
                ("avs".into(), tx)
            }
            7 => {
                let mut operator_rewards = vec![
                    OperatorReward { operator: a("op1"), amount: u(amount) },
                    OperatorReward { operator: a("op2"), amount: u(amount / 3 + 1) },
                ];
                operator_rewards.sort_by_key(|r| r.operator);
                let start = day.saturating_sub(DAY * (1 + u64::from(y % 2)));
                let s = OperatorDirectedSubmission {
                    strategies_and_multipliers: sm(),
                    token: STETH,
                    operator_rewards,
                    start,
                    duration: DAY,
                    description: String::new(),
                };
                let tx = if x.is_multiple_of(2) {
                    Tx::CreateOperatorDirectedRewardsSubmission { service: a("avs"), submissions: vec![s] }
                } else {
                    Tx::CreateOperatorDirectedOperatorSetRewardsSubmission {
                        service: a("avs"),
                        set_id: 0,
                        submissions: vec![s],
                    }
                };
                ("avs".into(), tx)
            }
            _ => {
                let registered =
                    c.s.is_registered(a(op), cairn_primitives::OperatorSetKey { service: a("avs"), id: 0 });
                let ids = vec![0];
                let tx = if registered {
                    Tx::DeregisterFromOperatorSets { operator: a(op), service: a("avs"), set_ids: ids }
                } else {
                    Tx::RegisterForOperatorSets { operator: a(op), service: a("avs"), set_ids: ids }
                };
                (op.into(), tx)
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]
        #[test]
        fn conservation_monotonicity_and_claims_on_random_chains(
            steps in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u16>(), 0u64..DAY / 2), 10..60)
        ) {
            let mut c = Chain::standard();
            let mut time = DAY;
            for (kind, x, y, dt) in steps {
                time += dt;
                let (sender, tx) = op_tx(&c, kind, x, y, time);
                c.block = (c.block + 1).max(time / 12);
                c.rec.advance(&c.s, c.block, time);
                let ctx = Ctx { sender: a(&sender), block: c.block, time };
                let _ = c.s.apply(&ctx, &tx);
                prop_assert!(c.s.check_invariants(c.block).is_ok());
            }
            let now = (time / DAY + 2) * DAY;
            let mut prev: Option<crate::Calculation> = None;
            for end in (2..=now / DAY - 1).map(|d| d * DAY) {
                let r = c.calc(now, end);
                if let Some(p) = &prev {
                    for (k, v) in &p.earnings {
                        prop_assert!(r.earnings.get(k).is_some_and(|x| x >= v), "cumulative decreased for {:?}", k);
                    }
                }
                for t in &r.tallies {
                    prop_assert!(t.distributed + t.refunded <= t.escrowed);
                }
                prev = Some(r);
            }
            // Post the last root and let every earner claim everything.
            let r = prev.expect("at least one day");
            let tree = r.tree(&c.s);
            if tree.is_empty() {
                return Ok(());
            }
            c.ok("gov", now, Tx::SubmitRoot { root: tree.root(), calculation_end: r.end });
            let later = now + c.s.params().rewards_activation_delay_seconds;
            let earners: Vec<Address> = r.earnings.keys().map(|(e, _)| *e).collect();
            for (i, earner) in earners.iter().enumerate() {
                let claim = tree.claim(0, *earner, None).expect("an earner");
                c.block = (c.block + 1).max(later / 12);
                let ctx = Ctx { sender: *earner, block: c.block, time: later + i as u64 };
                let res = c.s.apply(&ctx, &Tx::ProcessClaim { claim, recipient: a("sink") });
                prop_assert!(res.is_ok(), "claim of {} refused: {:?}", earner, res.err());
            }
            prop_assert!(c.s.check_invariants(c.block).is_ok());
        }
    }
}

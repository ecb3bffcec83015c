//! Conformance cases derived from the reference formulas (second reading of the spec).
//!
//! Every literal below was computed independently from the formulas of the reference
//! (`eigenlayer-semantics.md`) with exact integer arithmetic, outside this crate; the comment
//! next to each value gives the formula. Devnet parameters: withdrawal delay 50, deallocation
//! delay 50, allocation / slasher configuration delay 75.
//!
//! Notation: mulWad(x, y) = floor(x·y / 1e18), divWad(x, y) = floor(x·1e18 / y),
//! mulWadUp(x, y) = ceil(x·y / 1e18), ceil(x·y / d) written as such.

use super::*;
use crate::tx::{AllocateParams, QueueParams};

const WAD: u128 = E18;
const WAD64: u64 = 1_000_000_000_000_000_000;

fn queue(s: StrategyId, x: u128) -> Tx {
    Tx::QueueWithdrawals { withdrawals: vec![QueueParams { strategies: vec![s], deposit_shares: vec![u(x)] }] }
}

fn complete(nonce: u64, as_tokens: bool) -> Tx {
    Tx::CompleteWithdrawal { nonce, receive_as_tokens: as_tokens }
}

fn burned(w: &World, set: OperatorSetKey, slash_id: u32, s: StrategyId) -> Option<U256> {
    w.s.burnable_shares().into_iter().find(|(k, _)| *k == (set, slash_id, s)).map(|(_, e)| e.shares)
}

fn completed_shares(ev: &[Event]) -> Vec<U256> {
    ev.iter()
        .find_map(|e| match e {
            Event::WithdrawalCompleted { shares, .. } => Some(shares.clone()),
            _ => None,
        })
        .expect("WithdrawalCompleted")
}

fn completed_tokens(ev: &[Event]) -> Vec<U256> {
    ev.iter()
        .find_map(|e| match e {
            Event::WithdrawalCompleted { tokens, .. } => Some(tokens.clone()),
            _ => None,
        })
        .expect("WithdrawalCompleted")
}

/// (slash id, wadSlashed) of the OperatorSlashed event.
fn slashed(ev: &[Event]) -> (u32, Vec<U256>) {
    ev.iter()
        .find_map(|e| match e {
            Event::OperatorSlashed { slash_id, wad_slashed, .. } => Some((*slash_id, wad_slashed.clone())),
            _ => None,
        })
        .expect("OperatorSlashed")
}

fn queued_scaled(ev: &[Event]) -> Vec<(Vec<U256>, Vec<U256>, Option<Address>)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::WithdrawalQueued { scaled_shares, withdrawable_shares, delegated_to, .. } => {
                Some((scaled_shares.to_vec(), withdrawable_shares.to_vec(), *delegated_to))
            }
            _ => None,
        })
        .collect()
}

/// (magnitude, effect block) of each AllocationUpdated event, in order.
fn allocation_updates(ev: &[Event]) -> Vec<(u64, u64)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::AllocationUpdated { magnitude, effect_block, .. } => Some((*magnitude, *effect_block)),
            _ => None,
        })
        .collect()
}

fn alloc_at(w: &World, op: &str, set: OperatorSetKey, s: StrategyId, block: u64) -> (u64, i128, u64) {
    let (al, _) = w.s.load_allocation(a(op), set, s, block);
    (al.current, al.pending, al.effect_block)
}

// ---------------------------------------------------------------- §1.3 strategies

#[test]
fn strategy_deposit_and_withdraw_with_a_donated_balance() {
    let mut w = World::new();
    // First deposit: floor(1_000_003 · (0 + 1e3) / (1_000_003 + 1e3 − 1_000_003)) = 1_000_003.
    w.deposit("alice", ST, 1_000_003);
    assert_eq!(w.s.position(a("alice"), ST).deposit_shares, u(1_000_003));
    let vault = w.s.strategy_address(ST).unwrap();
    w.ok("attacker", Tx::Transfer { asset: STETH, to: vault, amount: u(777_777_777) });
    // B = 1_000_003 + 777_777_777 + 123_456_789_012 = 124_235_566_792 (deposit included), T = 1_000_003:
    // floor(123_456_789_012 · (1_000_003 + 1e3) / (124_235_566_792 + 1e3 − 123_456_789_012)) = 158_685_135.
    let ev = w.ok("bob", Tx::Deposit { strategy: ST, amount: u(123_456_789_012) });
    assert_eq!(w.s.position(a("bob"), ST).deposit_shares, u(158_685_135));
    assert_eq!(w.s.strategy_total_shares(ST).unwrap(), u(159_685_138));
    // Exchange rate after: floor(1e18 · (124_235_566_792 + 1e3) / (159_685_138 + 1e3)).
    assert!(ev.contains(&Event::ExchangeRateEmitted { strategy: ST, rate: u(777_998_449_633_743_412_343) }));
    // Views: floor(1e12 · (T + 1e3) / (B + 1e3)) and floor((B + 1e3) · 1e9 / (T + 1e3)).
    assert_eq!(w.s.underlying_to_shares(ST, u(1_000_000_000_000)).unwrap(), u(1_285_349_605));
    assert_eq!(w.s.shares_to_underlying(ST, u(1_000_000_000)).unwrap(), u(777_998_449_633));

    // Alice (undelegated) withdraws everything: q = x, paid at floor((B + 1e3) · x / (T + 1e3)).
    let before = w.s.balance(a("alice"), STETH);
    w.ok("alice", queue(ST, 1_000_003));
    w.to(51); // start 1 + delay 50: still in the window
    assert_eq!(w.err("alice", complete(0, true)).name(), "WithdrawalDelayNotElapsed");
    w.to(52);
    let ev = w.ok("alice", complete(0, true));
    // floor((124_235_566_792 + 1e3) · 1_000_003 / (159_685_138 + 1e3)) = 778_000_783
    assert_eq!(completed_tokens(&ev), vec![u(778_000_783)]);
    assert_eq!(w.s.balance(a("alice"), STETH), before + u(778_000_783));
    assert_eq!(w.s.strategy_total_shares(ST).unwrap(), u(158_685_135));
    // Rate after the withdrawal: floor(1e18 · (123_457_566_009 + 1e3) / (158_685_135 + 1e3)).
    assert!(ev.contains(&Event::ExchangeRateEmitted { strategy: ST, rate: u(777_998_449_637_707_793_437) }));
}

// ---------------------------------------------------------------- §2.5 / §2.6 DSF

#[test]
fn dsf_after_repeated_slashes_and_awkward_deposits() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 1_000_000_000_000_000_003);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 600_000_000_000_000_007);
    // Delegation with m = WAD: k = divWad(WAD, WAD) = WAD, op = s.
    assert_eq!(w.s.position(a("alice"), ST).dsf, u(WAD));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(1_000_000_000_000_000_003));

    w.to(2);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 333_333_333_333_333_337));
    // slashed = mulWadUp(600_000_000_000_000_007, 333_333_333_333_333_337) = 200_000_000_000_000_005
    // m1 = 1e18 − 200_000_000_000_000_005; wadSlashed = divWad(slashed, 1e18) = slashed
    assert_eq!(slashed(&ev), (1, vec![u(200_000_000_000_000_005)]));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 799_999_999_999_999_995);
    // op = ceil(1_000_000_000_000_000_003 · m1 / 1e18) = 799_999_999_999_999_998
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(799_999_999_999_999_998));
    assert_eq!(burned(&w, set, 1, ST), Some(u(200_000_000_000_000_005)));
    // withdrawable = mulWad(mulWad(s, k), m1)
    assert_eq!(w.withdrawable("alice", ST), u(799_999_999_999_999_997));

    w.to(3);
    w.deposit("alice", ST, 777_777_777_777_777_779);
    // k = divWad(divWad(cur + d, s + d), m1), cur = 799_999_999_999_999_997
    assert_eq!(w.s.position(a("alice"), ST).dsf, u(1_109_375_000_000_000_001));
    assert_eq!(w.s.position(a("alice"), ST).deposit_shares, u(1_777_777_777_777_777_782));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(1_577_777_777_777_777_777)); // op += d exactly
    assert_eq!(w.withdrawable("alice", ST), u(1_577_777_777_777_777_772));

    w.to(4);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 123_456_789_123_456_789));
    // current = 400_000_000_000_000_002; slashed = mulWadUp(current, wad) = 49_382_715_649_382_716
    // wadSlashed = divWad(slashed, m1) = 61_728_394_561_728_395; m2 = 750_617_284_350_617_279
    assert_eq!(slashed(&ev), (2, vec![u(61_728_394_561_728_395)]));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 750_617_284_350_617_279);
    assert_eq!(alloc_at(&w, "op1", set, ST, 4).0, 350_617_284_350_617_286);
    // op = ceil(1_577_777_777_777_777_777 · m2 / m1); slashed = difference
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(1_480_384_088_580_384_087));
    assert_eq!(burned(&w, set, 2, ST), Some(u(97_393_689_197_393_690)));
    assert_eq!(w.withdrawable("alice", ST), u(1_480_384_088_580_384_082));

    w.to(5);
    w.deposit("alice", ST, 5);
    // k = divWad(divWad(1_480_384_088_580_384_082 + 5, 1_777_777_777_777_777_782 + 5), m2)
    // (the rounding makes k one unit lower than before; that is what the formula gives)
    assert_eq!(w.s.position(a("alice"), ST).dsf, u(1_109_375_000_000_000_000));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(1_480_384_088_580_384_092));
    assert_eq!(w.withdrawable("alice", ST), u(1_480_384_088_580_384_085));
}

#[test]
fn delegating_to_a_slashed_operator_and_undelegating_use_its_factor() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 10 * E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD64);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 333_333_333_333_333_333));
    // m = 1e18 − mulWadUp(1e18, 333_333_333_333_333_333); op = ceil(10e18 · m / 1e18)
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 666_666_666_666_666_667);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(6_666_666_666_666_666_670));

    w.deposit("bob", ST, E18 + 1);
    w.deposit("bob", RE, 2 * E18 + 3);
    w.ok("bob", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    // ST: k = divWad(WAD, m) = 1_499_999_999_999_999_999, op += s; RE: m = WAD, k = WAD.
    assert_eq!(w.s.position(a("bob"), ST).dsf, u(1_499_999_999_999_999_999));
    assert_eq!(w.s.position(a("bob"), RE).dsf, u(WAD));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(7_666_666_666_666_666_671));
    assert_eq!(w.s.operator_shares(a("op1"), RE), u(2 * E18 + 3));
    // mulWad(mulWad(1e18 + 1, k), m) = 1e18
    assert_eq!(w.withdrawable("bob", ST), u(E18));
    assert_eq!(w.withdrawable("bob", RE), u(2 * E18 + 3));

    w.to(3);
    // The operator undelegates bob: one withdrawal per strategy, priced with op1's factors.
    let ev = w.ok("op1", Tx::Undelegate { staker: a("bob") });
    assert!(ev.contains(&Event::StakerForceUndelegated { staker: a("bob"), operator: a("op1") }));
    // ST: q = mulWad(1e18 + 1, k) = 1.5e18, w = mulWad(q, m) = 1e18; RE: q = w = 2e18 + 3.
    assert_eq!(
        queued_scaled(&ev),
        vec![
            (vec![u(1_500_000_000_000_000_000)], vec![u(E18)], Some(a("op1"))),
            (vec![u(2 * E18 + 3)], vec![u(2 * E18 + 3)], Some(a("op1"))),
        ]
    );
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(6_666_666_666_666_666_671));
    assert_eq!(w.s.operator_shares(a("op1"), RE), U256::ZERO);
    assert_eq!(w.s.delegated_to(a("bob")), None);
    assert!(w.s.staker_strategies(a("bob")).is_empty());
    assert_eq!(w.s.position(a("bob"), ST).dsf, u(WAD));
}

// ---------------------------------------------------------------- §5.1 / §2.9 slash arithmetic

#[test]
fn slash_with_non_divisible_magnitudes_rounds_magnitude_up_and_remaining_shares_up() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 3 * E18 + 1);
    w.deposit("alice", ST, 7 * E18 + 2);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 333_333_333_333_333_333);

    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 700_000_000_000_000_001));
    // slashed = ceil(333_333_333_333_333_333 · 700_000_000_000_000_001 / 1e18) = 233_333_333_333_333_334
    assert_eq!(slashed(&ev), (1, vec![u(233_333_333_333_333_334)]));
    assert_eq!(alloc_at(&w, "op1", set, ST, 1).0, 99_999_999_999_999_999);
    // No deallocation pending: one AllocationUpdated, the current magnitude as of now.
    assert_eq!(allocation_updates(&ev), vec![(99_999_999_999_999_999, 1)]);
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 766_666_666_666_666_666);
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), 99_999_999_999_999_999);
    // op = ceil(10_000_000_000_000_000_003 · 766_666_666_666_666_666 / 1e18)
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(7_666_666_666_666_666_663));
    assert_eq!(burned(&w, set, 1, ST), Some(u(2_333_333_333_333_333_340)));
    assert!(ev.contains(&Event::OperatorSharesSlashed {
        operator: a("op1"),
        strategy: ST,
        total_slashed_shares: u(2_333_333_333_333_333_340)
    }));
    assert_eq!(w.withdrawable("op1", ST), u(2_299_999_999_999_999_998));
    assert_eq!(w.withdrawable("alice", ST), u(5_366_666_666_666_666_663));

    w.to(2);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 999_999_999_999_999_999));
    // slashed = ceil(99_999_999_999_999_999 · (1e18 − 1) / 1e18) = 99_999_999_999_999_999 (all of it)
    // wadSlashed = floor(99_999_999_999_999_999 · 1e18 / 766_666_666_666_666_666) = 130_434_782_608_695_650
    assert_eq!(slashed(&ev), (2, vec![u(130_434_782_608_695_650)]));
    assert_eq!(alloc_at(&w, "op1", set, ST, 2).0, 0);
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 666_666_666_666_666_667);
    // op = ceil(7_666_666_666_666_666_663 · 666_666_666_666_666_667 / 766_666_666_666_666_666)
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(6_666_666_666_666_666_673));
    assert_eq!(burned(&w, set, 2, ST), Some(u(999_999_999_999_999_990)));
    assert_eq!(w.withdrawable("op1", ST), u(2_000_000_000_000_000_001));
    assert_eq!(w.withdrawable("alice", ST), u(4_666_666_666_666_666_670));
}

#[test]
fn tiny_slash_removes_one_unit_of_magnitude_and_zero_shares() {
    // §5.3 example: allocated magnitude 1e4, wadsToSlash 1e14, operator shares 1e17.
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 100_000_000_000_000_000);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 10_000);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 100_000_000_000_000));
    // slashed = mulWadUp(1e4, 1e14) = 1; op = ceil(1e17 · (1e18 − 1) / 1e18) = 1e17 → 0 shares slashed
    assert_eq!(slashed(&ev), (1, vec![u(1)]));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), WAD64 - 1);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(100_000_000_000_000_000));
    assert_eq!(burned(&w, set, 1, ST), Some(U256::ZERO));
    // The staker still loses a unit: mulWad(1e17, 1e18 − 1) = 1e17 − 1.
    assert_eq!(w.withdrawable("op1", ST), u(99_999_999_999_999_999));
}

#[test]
fn repeated_slashing_reaches_exactly_zero_magnitude_then_skips() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, E18 + 1);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 3);
    // ceil(3 · 0.5) = 2; wadSlashed = divWad(2, 1e18) = 2; op = ceil((1e18 + 1)(1e18 − 2) / 1e18)
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    assert_eq!(slashed(&ev), (1, vec![u(2)]));
    assert_eq!(alloc_at(&w, "op1", set, ST, 1).0, 1);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(999_999_999_999_999_999));
    assert_eq!(burned(&w, set, 1, ST), Some(u(2)));
    // ceil(1 · 0.5) = 1 → magnitude exactly 0; wadSlashed = floor(1e18 / (1e18 − 2)) = 1
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    assert_eq!(slashed(&ev), (2, vec![u(1)]));
    assert_eq!(alloc_at(&w, "op1", set, ST, 1).0, 0);
    assert_eq!(w.s.max_magnitude(a("op1"), ST), WAD64 - 3);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(999_999_999_999_999_998));
    assert_eq!(burned(&w, set, 2, ST), Some(u(1)));
    // Nothing allocated any more: skipped, no revert, the id still advances, no burn entry.
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD));
    assert_eq!(slashed(&ev), (3, vec![U256::ZERO]));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), WAD64 - 3);
    assert_eq!(burned(&w, set, 3, ST), None);
}

// ---------------------------------------------------------------- §3.3 / §5.1 deallocations

#[test]
fn pending_deallocation_is_reduced_by_a_slash_rounded_up() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 50 * E18 + 1);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 900_000_000_000_000_001);
    w.to(10);
    w.allocate("op1", set, ST, 123_456_789_000_000_007);
    // pendingDiff = 123_456_789_000_000_007 − 900_000_000_000_000_001; effect = 10 + 50 + 1
    assert_eq!(alloc_at(&w, "op1", set, ST, 10), (900_000_000_000_000_001, -776_543_210_999_999_994, 61));
    w.to(30);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 333_333_333_333_333_334));
    // slashed = mulWadUp(900_000_000_000_000_001, w) = 300_000_000_000_000_001
    // pending += mulWadUp(776_543_210_999_999_994, w) = 258_847_736_999_999_999
    assert_eq!(alloc_at(&w, "op1", set, ST, 30), (600_000_000_000_000_000, -517_695_473_999_999_995, 61));
    // Step 5's update (the shrunken target 600_000_000_000_000_000 − 517_695_473_999_999_995,
    // at its effect block), then step 6's (the current magnitude, now).
    assert_eq!(allocation_updates(&ev), vec![(82_304_526_000_000_005, 61), (600_000_000_000_000_000, 30)]);
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 699_999_999_999_999_999);
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), 600_000_000_000_000_000);
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 30), 99_999_999_999_999_999);
    // op = ceil((50e18 + 1) · 699_999_999_999_999_999 / 1e18)
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(34_999_999_999_999_999_951));
    assert_eq!(burned(&w, set, 1, ST), Some(u(15_000_000_000_000_000_050)));
    // Allocated stake = mulWad(op, divWad(600_000_000_000_000_000, 699_999_999_999_999_999)).
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 30).unwrap(), u(29_999_999_999_999_999_997));
    // Minimum slashable stake: the decrease counts only once its effect block ≤ futureBlock.
    assert_eq!(w.s.minimum_slashable_stake(a("op1"), set, ST, 30, 60).unwrap(), u(29_999_999_999_999_999_997));
    // mulWad(op, divWad(82_304_526_000_000_005, 699_999_999_999_999_999))
    assert_eq!(w.s.minimum_slashable_stake(a("op1"), set, ST, 30, 61).unwrap(), u(4_115_226_300_000_000_249));

    w.to(60);
    assert_eq!(alloc_at(&w, "op1", set, ST, 60).0, 600_000_000_000_000_000);
    w.to(61);
    // 600_000_000_000_000_000 − 517_695_473_999_999_995
    assert_eq!(alloc_at(&w, "op1", set, ST, 61), (82_304_526_000_000_005, 0, 0));
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 61).unwrap(), u(4_115_226_300_000_000_249));
    assert_eq!(w.s.encumbered_magnitude(a("op1"), ST, 61), 82_304_526_000_000_005);
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 61), 617_695_473_999_999_994);
    w.ok("anyone", Tx::ClearDeallocationQueue { operator: a("op1"), strategies: vec![ST], num_to_clear: vec![1] });
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), 82_304_526_000_000_005);
}

#[test]
fn deallocation_takes_effect_at_block_plus_delay_plus_one() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 20 * E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 700_000_000_000_000_001);
    w.to(10);
    let ev = w.ok(
        "op1",
        Tx::ModifyAllocations {
            operator: a("op1"),
            allocations: vec![AllocateParams {
                service: set.service,
                set_id: 0,
                strategies: vec![ST],
                new_magnitudes: vec![0],
            }],
        },
    );
    assert!(ev.contains(&Event::AllocationUpdated {
        operator: a("op1"),
        set,
        strategy: ST,
        magnitude: 0,
        effect_block: 61
    }));
    // Block 60 = 10 + 50: still slashable, the whole current magnitude is hit.
    w.to(60);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 500_000_000_000_000_001));
    // slashed = mulWadUp(700_000_000_000_000_001, w) = 350_000_000_000_000_002;
    // pending = −700_000_000_000_000_001 + 350_000_000_000_000_002
    assert_eq!(alloc_at(&w, "op1", set, ST, 60), (349_999_999_999_999_999, -349_999_999_999_999_999, 61));
    assert_eq!(allocation_updates(&ev), vec![(0, 61), (349_999_999_999_999_999, 60)]);
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 649_999_999_999_999_998);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(12_999_999_999_999_999_960));
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 60), 299_999_999_999_999_999);
    // Block 61: the deallocation is in force, nothing left to slash.
    w.to(61);
    assert_eq!(alloc_at(&w, "op1", set, ST, 61), (0, 0, 0));
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 61), 649_999_999_999_999_998);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD));
    assert_eq!(slashed(&ev), (2, vec![U256::ZERO]));
    assert_eq!(allocation_updates(&ev), vec![], "a skipped strategy updates no allocation");
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 649_999_999_999_999_998);
    assert_eq!(burned(&w, set, 2, ST), None);
}

#[test]
fn non_slashable_deallocations_are_immediate() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.operator("op2", 0);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 400_000_000_000_000_000);
    w.allocate("op1", set, RE, 300_000_000_000_000_000);
    // op2 is not registered: allocating is allowed; deallocating is instant.
    w.allocate("op2", set, ST, 500_000_000_000_000_000);
    w.to(5);
    w.ok("svc", Tx::RemoveStrategiesFromOperatorSet { service: set.service, set_id: 0, strategies: vec![RE] });
    // RE left the set: not slashable → immediate, encumbered freed at once.
    w.allocate("op1", set, RE, 100_000_000_000_000_000);
    assert_eq!(alloc_at(&w, "op1", set, RE, 5), (100_000_000_000_000_000, 0, 0));
    assert_eq!(w.s.stored_encumbered(a("op1"), RE), 100_000_000_000_000_000);
    w.allocate("op2", set, ST, 200_000_000_000_000_000);
    assert_eq!(alloc_at(&w, "op2", set, ST, 5), (200_000_000_000_000_000, 0, 0));
    assert_eq!(w.s.stored_encumbered(a("op2"), ST), 200_000_000_000_000_000);
    // ST is still in the set and op1 registered: queued, effect 5 + 50 + 1.
    w.allocate("op1", set, ST, 100_000_000_000_000_000);
    assert_eq!(alloc_at(&w, "op1", set, ST, 5), (400_000_000_000_000_000, -300_000_000_000_000_000, 56));
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), 400_000_000_000_000_000);
}

// ---------------------------------------------------------------- §3.3 / §3.5 allocation delays

#[test]
fn allocation_takes_effect_at_block_plus_delay_without_plus_one() {
    let mut w = World::new();
    w.operator("op1", 7);
    w.operator("op2", 0);
    w.deposit("op1", ST, 10 * E18 + 3);
    w.deposit("op2", ST, E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.register("op2", set);
    w.to(10);
    let ev = w.ok(
        "op1",
        Tx::ModifyAllocations {
            operator: a("op1"),
            allocations: vec![AllocateParams {
                service: set.service,
                set_id: 0,
                strategies: vec![ST],
                new_magnitudes: vec![400_000_000_000_000_009],
            }],
        },
    );
    assert!(ev.contains(&Event::AllocationUpdated {
        operator: a("op1"),
        set,
        strategy: ST,
        magnitude: 400_000_000_000_000_009,
        effect_block: 17
    }));
    w.to(16);
    assert_eq!(alloc_at(&w, "op1", set, ST, 16), (0, 400_000_000_000_000_009, 17));
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 16).unwrap(), U256::ZERO);
    // Pending increase: not slashable, skipped.
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    assert_eq!(slashed(&ev), (1, vec![U256::ZERO]));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), WAD64);
    w.to(17);
    // mulWad(10e18 + 3, divWad(400_000_000_000_000_009, 1e18))
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 17).unwrap(), u(4_000_000_000_000_000_091));
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    // ceil(400_000_000_000_000_009 / 2) = 200_000_000_000_000_005
    assert_eq!(slashed(&ev), (2, vec![u(200_000_000_000_000_005)]));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 799_999_999_999_999_995);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(7_999_999_999_999_999_953));
    // Delay 0: in force in the very block.
    w.allocate("op2", set, ST, 250_000_000_000_000_000);
    assert_eq!(alloc_at(&w, "op2", set, ST, 17), (250_000_000_000_000_000, 0, 0));
    assert_eq!(w.s.allocated_stake(a("op2"), set, ST, 17).unwrap(), u(250_000_000_000_000_000));
}

#[test]
fn allocation_delay_change_takes_effect_at_block_plus_config_delay_plus_one() {
    let mut w = World::new();
    w.operator("op1", 3);
    assert_eq!(w.s.allocation_delay(a("op1"), 1), Some(3));
    let set = w.service("svc");
    w.to(20);
    let ev = w.ok("op1", Tx::SetAllocationDelay { operator: a("op1"), delay: 9 });
    // 20 + 75 + 1
    assert!(ev.contains(&Event::AllocationDelaySet { operator: a("op1"), delay: 9, effect_block: 96 }));
    assert_eq!(w.s.allocation_delay(a("op1"), 95), Some(3));
    assert_eq!(w.s.allocation_delay(a("op1"), 96), Some(9));
    w.to(95);
    w.allocate("op1", set, ST, 100);
    assert_eq!(alloc_at(&w, "op1", set, ST, 95), (0, 100, 98));
    w.to(96);
    w.allocate("op1", set, RE, 100);
    assert_eq!(alloc_at(&w, "op1", set, RE, 96), (0, 100, 105));
}

#[test]
fn operator_registered_in_its_first_block_has_its_delay_at_once() {
    let mut w = World::new();
    // Block 0 is the genesis: nothing applies there (an effect block of 0 would mean "none").
    w.to(0);
    let reg = Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
    assert_eq!(w.err("op1", reg).name(), "GenesisBlock");
    w.to(1);
    w.operator("op1", 0);
    // §3.5: a new operator's delay is set and effective immediately (isSet = true).
    assert_eq!(w.s.allocation_delay(a("op1"), 1), Some(0));
    let set = w.service("svc");
    w.allocate("op1", set, ST, WAD64 / 2);
}

// ---------------------------------------------------------------- §3.6 / §3.7 registration

#[test]
fn deregistered_operator_is_slashable_through_block_plus_delay_inclusive() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 5 * E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 600_000_000_000_000_000);
    w.allocate("op1", set, RE, 400_000_000_000_000_000);
    w.to(10);
    let ev = w.ok("svc", Tx::DeregisterFromOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] });
    assert!(ev.contains(&Event::OperatorRemovedFromOperatorSet { operator: a("op1"), set, slashable_until: 60 }));
    w.to(60);
    let reg = Tx::RegisterForOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] };
    assert_eq!(w.err("op1", reg.clone()).name(), "AlreadyMemberOfSet");
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    assert_eq!(slashed(&ev), (1, vec![u(300_000_000_000_000_000)]));
    // Still slashable at 60: a decrease is queued for 60 + 50 + 1.
    w.allocate("op1", set, ST, 100_000_000_000_000_000);
    assert_eq!(alloc_at(&w, "op1", set, ST, 60), (300_000_000_000_000_000, -200_000_000_000_000_000, 111));
    w.to(61);
    assert_eq!(w.err("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2)).name(), "OperatorNotSlashable");
    assert_eq!(w.s.minimum_slashable_stake(a("op1"), set, ST, 61, 61).unwrap(), U256::ZERO);
    // No longer slashable at 61: a decrease is immediate.
    w.allocate("op1", set, RE, 100_000_000_000_000_000);
    assert_eq!(alloc_at(&w, "op1", set, RE, 61), (100_000_000_000_000_000, 0, 0));
    assert_eq!(w.s.stored_encumbered(a("op1"), RE), 100_000_000_000_000_000);
    w.ok("op1", reg);
    assert_eq!(alloc_at(&w, "op1", set, ST, 61), (300_000_000_000_000_000, -200_000_000_000_000_000, 111));
}

// ---------------------------------------------------------------- §3.8 slasher

#[test]
fn slasher_change_takes_effect_at_block_plus_delay_plus_one_and_repeat_does_not_restart() {
    let mut w = World::new();
    w.operator("op1", 0);
    let set = w.service("svc");
    w.register("op1", set);
    w.to(5);
    let upd = |s: &str| Tx::UpdateSlasher { service: a("svc"), set_id: 0, slasher: a(s) };
    let ev = w.ok("svc", upd("s2"));
    assert!(ev.contains(&Event::SlasherUpdated { set, slasher: a("s2"), effect_block: 81 })); // 5 + 75 + 1
    w.to(20);
    let ev = w.ok("svc", upd("s2"));
    assert!(ev.contains(&Event::SlasherUpdated { set, slasher: a("s2"), effect_block: 81 })); // timer kept
    w.to(80);
    assert_eq!(w.s.slasher(set, 80), Some(a("svc_slasher")));
    assert_eq!(w.err("s2", World::slash_tx(set, "op1", ST, WAD)).name(), "InvalidCaller");
    w.to(81);
    assert_eq!(w.s.slasher(set, 81), Some(a("s2")));
    w.ok("s2", World::slash_tx(set, "op1", ST, WAD));
    // A new change applies the due one first, then waits its own delay.
    let ev = w.ok("svc", upd("s3"));
    assert!(ev.contains(&Event::SlasherUpdated { set, slasher: a("s3"), effect_block: 157 }));
    assert_eq!(w.s.slasher(set, 156), Some(a("s2")));
    assert_eq!(w.s.slasher(set, 157), Some(a("s3")));
}

// ---------------------------------------------------------------- §4.2 – §4.4 withdrawal queue

#[test]
fn queue_slashing_window_and_completion_pricing() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 1_000_000_000_000_000_000_007);
    w.deposit("bob", ST, 300_000_000_000_000_000_011);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    w.ok("bob", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 800_000_000_000_000_003);

    w.to(2);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 250_000_000_000_000_001));
    // slashed = mulWadUp(800_000_000_000_000_003, 250_000_000_000_000_001) = 200_000_000_000_000_002
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 799_999_999_999_999_998);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(1_039_999_999_999_999_997_415));
    w.to(3);
    w.deposit("alice", ST, 1_234_567_891_234_567_891);
    // k = divWad(divWad(cur + d, s + d), m1)
    assert_eq!(w.s.position(a("alice"), ST).dsf, u(1_000_308_261_403_178_171));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(1_041_234_567_891_234_565_306));

    // Block 9: outside the window of a slash at 60 (60 − 50 = 10 is the first block inside).
    w.to(9);
    let ev = w.ok("alice", queue(ST, 200_000_000_000_000_000_013));
    // q = mulWad(x, k), w = mulWad(q, m1); op −= w
    assert_eq!(
        queued_scaled(&ev),
        vec![(vec![u(200_061_652_280_635_634_213)], vec![u(160_049_321_824_508_506_970)], Some(a("op1")))]
    );
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(881_185_246_066_726_058_336));
    // Block 10: two withdrawals in one block, inside the window.
    w.to(10);
    let ev = w.ok("alice", queue(ST, 300_000_000_000_000_000_017));
    assert_eq!(
        queued_scaled(&ev),
        vec![(vec![u(300_092_478_420_953_451_317)], vec![u(240_073_982_736_762_760_453)], Some(a("op1")))]
    );
    let ev = w.ok("bob", queue(ST, 100_000_000_000_000_000_019));
    assert_eq!(
        queued_scaled(&ev),
        vec![(vec![u(100_000_000_000_000_000_019)], vec![u(79_999_999_999_999_999_815)], Some(a("op1")))]
    );
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(561_111_263_329_963_298_068));

    w.to(60);
    // Slashable in the queue at 60: scaled queued in [10, 60] = 300_092_478_420_953_451_317 + 1e20 + 19,
    // times m1: mulWad(400_092_478_420_953_451_336, 799_999_999_999_999_998)
    assert_eq!(w.s.slashable_shares_in_queue(a("op1"), ST, 60).unwrap(), u(320_073_982_736_762_760_268));
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 400_000_000_000_000_003));
    // current = 600_000_000_000_000_001; slashed = 240_000_000_000_000_003; m2 = 559_999_999_999_999_995
    // wadSlashed = divWad(240_000_000_000_000_003, m1) = 300_000_000_000_000_004
    assert_eq!(slashed(&ev), (2, vec![u(300_000_000_000_000_004)]));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 559_999_999_999_999_995);
    // active: 561_111_263_329_963_298_068 − ceil(561_111_263_329_963_298_068 · m2 / m1)
    //   = 168_333_378_998_988_991_945
    // queue: 320_073_982_736_762_760_268 − ceil(320_073_982_736_762_760_268 · m2 / m1)
    //   = 96_022_194_821_028_829_520
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(392_777_884_330_974_306_123));
    assert_eq!(burned(&w, set, 2, ST), Some(u(264_355_573_820_017_821_465)));
    assert_eq!(w.s.slashable_shares_in_queue(a("op1"), ST, 60).unwrap(), u(224_051_787_915_733_930_747));

    // The block-9 withdrawal completes at 60 = 9 + 50 + 1, priced at m(59) = m1 (slash at 60 excluded).
    let ev = w.ok("alice", complete(0, true));
    assert_eq!(completed_shares(&ev), vec![u(160_049_321_824_508_506_970)]); // mulWad(q1, m1)
    assert_eq!(completed_tokens(&ev), vec![u(160_049_321_824_508_506_970)]); // 1:1 vault
    // The block-10 withdrawal is refused at exactly start + delay.
    assert_eq!(
        w.err("alice", complete(1, true)),
        TxError::Withdrawal(crate::withdrawals::WithdrawalError::WithdrawalDelayNotElapsed {
            nonce: 1,
            start_block: 10,
            slashable_until: 60,
            block: 60
        })
    );

    w.to(61);
    // Block-10 withdrawals are out of the window of a slash at 61: only active shares are charged.
    assert_eq!(w.s.slashable_shares_in_queue(a("op1"), ST, 61).unwrap(), U256::ZERO);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 100_000_000_000_000_007));
    // current = 360_000_000_000_000_001 → slashed 36_000_000_000_000_003; m3 = 523_999_999_999_999_992
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 523_999_999_999_999_992);
    assert_eq!(burned(&w, set, 3, ST), Some(u(25_250_006_849_848_350_580)));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(367_527_877_481_125_955_543));
    // Completion at 61 is priced at m(60) = m2 (the slash at 61 does not reach it).
    let ev = w.ok("alice", complete(1, true));
    assert_eq!(completed_shares(&ev), vec![u(168_051_787_915_733_931_237)]); // mulWad(q2, m2)
    let ev = w.ok("bob", complete(0, false));
    assert_eq!(completed_shares(&ev), vec![u(55_999_999_999_999_999_510)]); // mulWad(q_bob, m2)
    assert_eq!(w.withdrawable("alice", ST), u(262_727_877_481_125_956_991));
}

#[test]
fn completion_as_shares_after_redelegation_reads_the_old_operator_history() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.operator("op2", 0);
    w.deposit("op2", ST, 7 * E18 + 1);
    w.deposit("alice", ST, 900 * E18 + 13);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let set = w.service("svc");
    w.register("op1", set);
    w.register("op2", set);
    w.allocate("op1", set, ST, 500_000_000_000_000_001);
    w.allocate("op2", set, ST, 300_000_000_000_000_007);

    w.to(2);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 200_000_000_000_000_003));
    w.ok("svc_slasher", World::slash_tx(set, "op2", ST, 900_000_000_000_000_000));
    // op1: slashed 100_000_000_000_000_002; op2: slashed 270_000_000_000_000_007
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 899_999_999_999_999_998);
    assert_eq!(w.s.max_magnitude(a("op2"), ST), 729_999_999_999_999_993);
    assert_eq!(w.s.operator_shares(a("op2"), ST), u(5_109_999_999_999_999_952));
    w.to(3);
    w.deposit("alice", ST, 55 * E18 + 5);
    assert_eq!(w.s.position(a("alice"), ST).dsf, u(1_006_399_069_226_294_356));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(864_999_999_999_999_998_217));

    w.to(5);
    let ev = w.ok("alice", Tx::Redelegate { operator: a("op2"), approval_salt: None });
    // q = mulWad(955e18 + 18, k); w = mulWad(q, m1) leaves op1 with its rounding dust.
    assert_eq!(
        queued_scaled(&ev),
        vec![(vec![u(961_111_111_111_111_109_998)], vec![u(864_999_999_999_999_997_075)], Some(a("op1")))]
    );
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(1_142));
    assert_eq!(w.s.operator_shares(a("op2"), ST), u(5_109_999_999_999_999_952));
    assert_eq!(w.s.delegated_to(a("alice")), Some(a("op2")));

    // Inside the window [5, 55]: the queued shares are charged and the payout shrinks.
    w.to(30);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 111_111_111_111_111_111));
    // current 400_000_000_000_000_000 → slashed 44_444_444_444_444_445; m1' = 855_555_555_555_555_553
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 855_555_555_555_555_553);
    // active: 1_142 − ceil(1_142 · m1' / m1) = 56;
    // queue: x − ceil(x · m1' / m1) with x = mulWad(q, m1) = 864_999_999_999_999_997_075
    assert_eq!(burned(&w, set, 3, ST), Some(u(42_716_049_382_716_049_923)));
    w.to(55);
    assert_eq!(w.err("alice", complete(0, false)).name(), "WithdrawalDelayNotElapsed");
    // After the window: a slash of op1 no longer reaches the withdrawal.
    w.to(56);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 677_777_777_777_777_776);
    assert_eq!(burned(&w, set, 4, ST), Some(u(225))); // only op1's active dust
    let ev = w.ok("alice", complete(0, false));
    // shares = mulWad(q, m1(55)) = mulWad(961_111_111_111_111_109_998, 855_555_555_555_555_553)
    assert_eq!(completed_shares(&ev), vec![u(822_283_950_617_283_947_208)]);
    // Re-deposited against op2 (prev = 0): k = divWad(WAD, m2), op2 += shares.
    assert_eq!(w.s.position(a("alice"), ST).deposit_shares, u(822_283_950_617_283_947_208));
    assert_eq!(w.s.position(a("alice"), ST).dsf, u(1_369_863_013_698_630_150));
    assert_eq!(w.s.operator_shares(a("op2"), ST), u(827_393_950_617_283_947_160));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(861));
    assert_eq!(w.withdrawable("alice", ST), u(822_283_950_617_283_947_134));
}

// ---------------------------------------------------------------- §3.9 views

#[test]
fn allocated_and_minimum_slashable_stake_views() {
    let mut w = World::new();
    w.operator("op1", 5);
    w.deposit("op1", ST, 100 * E18 + 7);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, 250_000_000_000_000_003); // effect 6
    w.to(6);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 300_000_000_000_000_001));
    // slashed = mulWadUp(250_000_000_000_000_003, w) = 75_000_000_000_000_002
    // current = 175_000_000_000_000_001, max = 924_999_999_999_999_998
    // op = ceil((100e18 + 7) · max / 1e18) = 92_499_999_999_999_999_807
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(92_499_999_999_999_999_807));
    // mulWad(op, divWad(175_000_000_000_000_001, 924_999_999_999_999_998) = 189_189_189_189_189_190)
    let stake = u(17_500_000_000_000_000_038);
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 6).unwrap(), stake);
    assert_eq!(w.s.minimum_slashable_stake(a("op1"), set, ST, 6, 1_000).unwrap(), stake);
    // A pending increase counts in neither view, whatever the future block.
    w.to(10);
    w.allocate("op1", set, ST, 286_111_111_111_111_112); // effect 15
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 14).unwrap(), stake);
    assert_eq!(w.s.minimum_slashable_stake(a("op1"), set, ST, 14, 1_000).unwrap(), stake);
    // In force at 15: mulWad(op, divWad(286_111_111_111_111_112, max))
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 15).unwrap(), u(28_611_111_111_111_111_115));
}

// ---------------------------------------------------------------- §3.4 error conditions

#[test]
fn clearing_the_deallocation_queue_is_permissionless_for_any_account() {
    let mut w = World::new();
    // §3.4: permissionless; an account with no queue simply has nothing to clear.
    w.ok("anyone", Tx::ClearDeallocationQueue { operator: a("bob"), strategies: vec![ST], num_to_clear: vec![1] });
}

// ---------------------------------------------------------------- §3.1 unique stake

#[test]
fn unique_stake_freed_only_when_the_deallocation_completes() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 40 * E18 + 1);
    let set_a = w.service("svca");
    let set_b = w.service("svcb");
    w.register("op1", set_a);
    w.register("op1", set_b);
    w.allocate("op1", set_a, ST, 600_000_000_000_000_001);
    w.allocate("op1", set_b, ST, 399_999_999_999_999_999);
    let more = |m: u64| Tx::ModifyAllocations {
        operator: a("op1"),
        allocations: vec![AllocateParams {
            service: set_b.service,
            set_id: 0,
            strategies: vec![ST],
            new_magnitudes: vec![m],
        }],
    };
    assert_eq!(w.err("op1", more(400_000_000_000_000_000)).name(), "InsufficientMagnitude");
    // mulWad(40e18 + 1, 399_999_999_999_999_999)
    assert_eq!(w.s.allocated_stake(a("op1"), set_b, ST, 1).unwrap(), u(15_999_999_999_999_999_960));

    w.to(10);
    w.allocate("op1", set_a, ST, 100_000_000_000_000_000); // pending −500_000_000_000_000_001, effect 61
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 10), 0);
    w.to(20);
    w.ok("svca_slasher", World::slash_tx(set_a, "op1", ST, WAD / 2));
    // slashed = ceil(600_000_000_000_000_001 / 2) = 300_000_000_000_000_001
    // pending = −500_000_000_000_000_001 + ceil(500_000_000_000_000_001 / 2) = −250_000_000_000_000_000
    assert_eq!(alloc_at(&w, "op1", set_a, ST, 20), (300_000_000_000_000_000, -250_000_000_000_000_000, 61));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 699_999_999_999_999_999);
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), 699_999_999_999_999_999);
    // Set B keeps its magnitude; its share of the smaller total rises (rounding aside):
    // op = ceil((40e18 + 1) · 699_999_999_999_999_999 / 1e18) = 27_999_999_999_999_999_961
    // B: mulWad(op, divWad(399_999_999_999_999_999, 699_999_999_999_999_999))
    assert_eq!(alloc_at(&w, "op1", set_b, ST, 20).0, 399_999_999_999_999_999);
    assert_eq!(w.s.allocated_stake(a("op1"), set_b, ST, 20).unwrap(), u(15_999_999_999_999_999_933));
    assert_eq!(w.s.allocated_stake(a("op1"), set_a, ST, 20).unwrap(), u(11_999_999_999_999_999_999));

    w.to(60);
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 60), 0);
    assert_eq!(w.err("op1", more(400_000_000_000_000_000)).name(), "InsufficientMagnitude");
    w.to(61);
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 61), 250_000_000_000_000_000);
    // The modification clears the queue first, so the freed magnitude is usable at once.
    w.ok("op1", more(649_999_999_999_999_999));
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), 699_999_999_999_999_999);
    assert_eq!(alloc_at(&w, "op1", set_a, ST, 61), (50_000_000_000_000_000, 0, 0));
    assert_eq!(w.s.allocated_stake(a("op1"), set_b, ST, 61).unwrap(), u(25_999_999_999_999_999_951));
    assert_eq!(w.s.allocated_stake(a("op1"), set_a, ST, 61).unwrap(), u(1_999_999_999_999_999_981));
}

#[test]
fn registration_and_added_strategies_make_existing_allocations_slashable_at_once() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 10 * E18);
    w.deposit("op1", RE, 10 * E18);
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    w.ok(
        "svc",
        Tx::CreateOperatorSet {
            service: a("svc"),
            set_id: 1,
            strategies: vec![ST],
            slasher: a("svc_slasher"),
            redistribution_recipient: None,
            consent: Default::default(),
            veto: None,
        },
    );
    let set = OperatorSetKey { service: a("svc"), id: 1 };
    // Allocating needs neither membership nor the strategy being in the set.
    w.allocate("op1", set, ST, WAD64 / 2);
    w.allocate("op1", set, RE, WAD64 / 4);
    assert_eq!(w.err("svc_slasher", World::slash_tx(set, "op1", ST, WAD)).name(), "OperatorNotSlashable");
    w.to(2);
    w.register("op1", set);
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 5));
    assert_eq!(slashed(&ev), (1, vec![u(WAD / 10)])); // mulWadUp(0.5e18, 0.2e18) = 0.1e18
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(9 * E18));
    assert_eq!(w.err("svc_slasher", World::slash_tx(set, "op1", RE, WAD)).name(), "StrategyNotInOperatorSet");
    w.to(3);
    w.ok("svc", Tx::AddStrategiesToOperatorSet { service: a("svc"), set_id: 1, strategies: vec![RE] });
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", RE, WAD / 5));
    assert_eq!(slashed(&ev), (2, vec![u(WAD / 20)])); // mulWadUp(0.25e18, 0.2e18) = 0.05e18
    assert_eq!(w.s.operator_shares(a("op1"), RE), u(95 * E18 / 10));
}

// ---------------------------------------------------------------- §5.5 slash resolution delay

#[test]
fn slashed_shares_clear_only_after_the_resolution_block_has_passed() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 10 * E18 + 1);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD64);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 300_000_000_000_000_007));
    // slashed = mulWadUp(1e18, 0.3e18 + 7); op = ceil((10e18 + 1)(0.7e18 − 7) / 1e18) = 6_999_999_999_999_999_931
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(6_999_999_999_999_999_931));
    assert_eq!(burned(&w, set, 1, ST), Some(u(3_000_000_000_000_000_070)));
    let clear = Tx::ClearBurnOrRedistributableShares { service: set.service, set_id: 0, slash_id: 1, strategy: None };
    // Resolution block = 1 + 10 = 11: clearing reverts until it has passed.
    w.to(11);
    assert_eq!(w.err("anyone", clear.clone()).name(), "NotYetClearable");
    w.to(12);
    w.ok("anyone", clear);
    // floor((B + 1e3) · 3_000_000_000_000_000_070 / (T + 1e3)) with B = T = 10e18 + 1
    assert_eq!(w.s.balance(crate::BURN_ADDRESS, STETH), u(3_000_000_000_000_000_070));
}

/// §5.3: `clearBurnOrRedistributableShares[ByStrategy]` of a slash id (or strategy) that recorded
/// nothing removes nothing and pays nothing, and does not revert; §5.5: the resolution block is
/// the slash's, so a strategy it did not record is not clearable before it either.
#[test]
fn clearing_a_slash_that_recorded_nothing_is_a_no_op() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 10 * E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD64);
    let clear = |slash_id, strategy| Tx::ClearBurnOrRedistributableShares {
        service: set.service,
        set_id: set.id,
        slash_id,
        strategy,
    };
    // Accepted, so only the last applied block may move.
    let no_op = |w: &mut World, tx: Tx| {
        let mut expected = w.s.clone();
        expected.g.last_block = w.block;
        assert_eq!(w.ok("anyone", tx), vec![], "a clear that finds nothing emits nothing");
        assert!(expected.state_hash() == w.s.state_hash(), "a clear that finds nothing changes nothing");
    };
    // No slash yet: ids 0, 1 and 7 recorded nothing.
    for id in [0, 1, 7] {
        no_op(&mut w, clear(id, None));
        no_op(&mut w, clear(id, Some(ST)));
    }
    // Slash 1 records ST only (RE holds no allocation: skipped, nothing recorded).
    let slash = Tx::SlashOperator {
        service: set.service,
        set_id: set.id,
        operator: a("op1"),
        strategies: vec![ST, RE],
        wads_to_slash: vec![u(WAD / 2), u(WAD / 2)],
        description: "test".into(),
    };
    w.ok("svc_slasher", slash);
    assert_eq!(burned(&w, set, 1, ST), Some(u(5 * E18)));
    assert_eq!(burned(&w, set, 1, RE), None);
    // Resolution block 1 + 10 = 11: before it has passed, even the strategy the slash did not
    // record is not clearable.
    w.to(11);
    assert_eq!(
        w.err("anyone", clear(1, Some(RE))),
        TxError::Slashing(crate::slashing::SlashingError::NotYetClearable {
            set,
            slash_id: 1,
            clearable_at: 12,
            block: 11,
        })
    );
    w.to(12);
    no_op(&mut w, clear(1, Some(RE)));
    assert_eq!(burned(&w, set, 1, ST), Some(u(5 * E18)));
    let ev = w.ok("anyone", clear(1, Some(ST)));
    assert!(ev.iter().any(|e| matches!(e, Event::BurnOrRedistributableSharesDecreased { slash_id: 1, .. })));
    // Cleared once: clearing it again is a no-op.
    no_op(&mut w, clear(1, Some(ST)));
    no_op(&mut w, clear(1, None));
    // An unknown set is still refused (a typo must not pass silently).
    let unknown = Tx::ClearBurnOrRedistributableShares { service: set.service, set_id: 9, slash_id: 1, strategy: None };
    assert_eq!(w.err("anyone", unknown).name(), "UnknownOperatorSet");
}

// ---------------------------------------------------------------- §2.12 fully slashed

#[test]
fn zero_share_completion_is_just_deleted_even_against_a_fully_slashed_operator() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 40 * E18 + 9);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD64);
    w.ok("alice", queue(ST, 10 * E18 + 3));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(30 * E18 + 6));
    w.to(51); // last slashable block of the withdrawal (1 + 50)
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 0);
    // active 30e18 + 6 and queued mulWad(10e18 + 3, 1e18) both go entirely.
    assert_eq!(burned(&w, set, 1, ST), Some(u(40 * E18 + 9)));
    assert_eq!(w.s.operator_shares(a("op1"), ST), U256::ZERO);
    w.to(52);
    // Priced at m(51) = 0: zero shares, so no re-deposit and no FullySlashed refusal.
    let ev = w.ok("alice", complete(0, false));
    assert_eq!(completed_shares(&ev), vec![U256::ZERO]);
    assert!(w.s.withdrawal(a("alice"), 0).is_none());
    assert_eq!(w.s.position(a("alice"), ST).deposit_shares, u(30 * E18 + 6));
    assert_eq!(w.withdrawable("alice", ST), U256::ZERO);
    assert_eq!(w.err("alice", Tx::Deposit { strategy: ST, amount: u(E18) }).name(), "FullySlashed");
}

// ---------------------------------------------------------------- §7.4 parameters

#[test]
fn mainnet_parameters_match_the_reference() {
    let p = cairn_primitives::Params::profile(cairn_primitives::Profile::Mainnet);
    assert_eq!(p.withdrawal_delay_blocks, 100_800);
    assert_eq!(p.deallocation_delay_blocks, 100_800);
    assert_eq!(p.allocation_configuration_delay_blocks, 126_000);
    assert_eq!(p.slasher_configuration_delay_blocks, 126_000);
    assert_eq!(p.slash_clearing_delay_blocks, 50_400);
    assert_eq!(p.max_staker_strategies, 32);
    assert_eq!(crate::BURN_ADDRESS, "0x00000000000000000000000000000000000E16E4".parse::<Address>().unwrap());
    assert_eq!(crate::stakers::WAD_U64, WAD64);
    assert_eq!(crate::strategies::SHARES_OFFSET, u(1_000));
    assert_eq!(crate::strategies::BALANCE_OFFSET, u(1_000));
}

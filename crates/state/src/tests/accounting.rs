//! Exact share accounting: strategy offsets, deposit scaling factor, slash and queue arithmetic.

use super::*;
use crate::tx::QueueParams;

const WAD: u128 = E18;

fn ceil_div(x: U256, y: U256, d: U256) -> U256 {
    (x * y).div_ceil(d)
}

#[test]
fn first_deposit_is_one_to_one_and_zero_share_deposit_is_refused() {
    let mut w = World::new();
    let ev = w.ok("alice", Tx::Deposit { strategy: ST, amount: u(10 * E18) });
    assert!(ev.contains(&Event::Deposit {
        staker: a("alice"),
        strategy: ST,
        amount: u(10 * E18),
        shares: u(10 * E18)
    }));
    assert_eq!(w.s.position(a("alice"), ST).deposit_shares, u(10 * E18));
    let e = w.err("bob", Tx::Deposit { strategy: ST, amount: U256::ZERO });
    assert_eq!(e.name(), "NewSharesZero");
    let e = w.err("bob", Tx::Deposit { strategy: StrategyId(9), amount: u(1) });
    assert_eq!(e.name(), "UnknownStrategy");
    let e = w.err("nobody", Tx::Deposit { strategy: ST, amount: u(1) });
    assert_eq!(e.name(), "InsufficientBalance");
}

#[test]
fn inflation_attack_costs_the_attacker() {
    let mut w = World::new();
    let start = w.s.balance(a("attacker"), STETH);
    w.deposit("attacker", ST, 1);
    assert_eq!(w.s.position(a("attacker"), ST).deposit_shares, u(1));
    let vault = w.s.strategy_address(ST).unwrap();
    w.ok("attacker", Tx::Transfer { asset: STETH, to: vault, amount: u(E18) });
    // victim: floor(1e18 · (1 + 1e3) / (1e18 + 1 + 1e3)) = 1000 shares
    w.deposit("alice", ST, E18);
    assert_eq!(w.s.position(a("alice"), ST).deposit_shares, u(1000));
    w.ok(
        "attacker",
        Tx::QueueWithdrawals { withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![u(1)] }] },
    );
    w.to(100);
    w.ok("attacker", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    // (B + 1e3) · 1 / (T + 1e3) with B = 2e18 + 1, T = 1001
    let paid = (u(2 * E18 + 1) + u(1000)) / u(2001);
    assert_eq!(w.s.balance(a("attacker"), STETH), start - u(E18) - u(1) + paid);
    assert!(w.s.balance(a("attacker"), STETH) < start);
}

#[test]
fn deposit_cap_refuses_with_values() {
    let mut w = World::new();
    w.ok(
        "gov",
        Tx::Propose { action: crate::tx::GovernanceAction::SetDepositCap { strategy: ST, cap: Some(u(5 * E18)) } },
    );
    w.to(20);
    w.ok("gov", Tx::ExecuteProposal { id: 1 });
    w.deposit("alice", ST, 5 * E18);
    let e = w.err("bob", Tx::Deposit { strategy: ST, amount: u(1) });
    assert_eq!(
        e,
        TxError::Strategy(crate::strategies::StrategyError::DepositCapExceeded {
            strategy: ST,
            cap: u(5 * E18),
            balance_after: u(5 * E18 + 1)
        })
    );
}

/// Operator op1 with alice delegated, registered for `svc`, magnitude `mag` allocated to ST.
fn slashable_world(mag: u64) -> (World, OperatorSetKey) {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 100 * E18);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, mag);
    (w, set)
}

#[test]
fn slash_removes_exact_magnitude_and_shares() {
    let (mut w, set) = slashable_world((WAD / 2) as u64);
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(100 * E18));
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, w.block).unwrap(), u(50 * E18));
    let ev = w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    // slashed magnitude ceil(0.5e18 · 0.5e18 / 1e18) = 0.25e18; wadSlashed = 0.25e18 of total
    assert_eq!(w.s.max_magnitude(a("op1"), ST), (3 * WAD / 4) as u64);
    assert!(ev.iter().any(
        |e| matches!(e, Event::OperatorSlashed { wad_slashed, slash_id: 1, .. } if wad_slashed == &vec![u(WAD / 4)])
    ));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(75 * E18));
    assert_eq!(w.withdrawable("alice", ST), u(75 * E18));
    let (alloc, _) = w.s.load_allocation(a("op1"), set, ST, w.block);
    assert_eq!(alloc.current, (WAD / 4) as u64);
    assert_eq!(w.s.burnable_shares()[0].1.shares, u(25 * E18));
}

#[test]
fn slash_rounding_is_against_the_operator_and_for_the_protocol() {
    // Awkward numbers: magnitudes and shares that do not divide.
    let (mut w, set) = slashable_world(333_333_333_333_333_333);
    w.deposit("alice", ST, 7); // op shares 100e18 + 7
    let op_before = w.s.operator_shares(a("op1"), ST);
    let m_prev = U256::from(w.s.max_magnitude(a("op1"), ST));
    let wad = u(123_456_789_012_345_678);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, 123_456_789_012_345_678));
    let slashed_mag = ceil_div(u(333_333_333_333_333_333), wad, u(WAD));
    let m_new = m_prev - slashed_mag;
    assert_eq!(U256::from(w.s.max_magnitude(a("op1"), ST)), m_new);
    let remaining = ceil_div(op_before, m_new, m_prev);
    assert_eq!(w.s.operator_shares(a("op1"), ST), remaining);
    // Staker withdrawable = floor(floor(s·k/WAD)·m/WAD) never exceeds operator shares.
    assert!(w.withdrawable("alice", ST) <= remaining);
}

#[test]
fn deposit_after_slash_rescales_dsf_exactly() {
    let (mut w, set) = slashable_world(WAD as u64);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    assert_eq!(w.withdrawable("alice", ST), u(50 * E18));
    let p = w.s.position(a("alice"), ST);
    let sf = u(WAD / 2);
    w.deposit("alice", ST, 100 * E18);
    // k = divWad(divWad(cur + d, prev + d), sf) with cur = 50e18, prev = d = 100e18
    let k = ((u(150 * E18) * u(WAD) / u(200 * E18)) * u(WAD)) / sf;
    assert_eq!(p.dsf, u(WAD));
    assert_eq!(w.s.position(a("alice"), ST).dsf, k);
    assert_eq!(w.withdrawable("alice", ST), u(150 * E18));
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(150 * E18));
}

#[test]
fn fully_slashed_operator_refuses_deposits_and_delegations() {
    let (mut w, set) = slashable_world(WAD as u64);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), 0);
    assert_eq!(w.withdrawable("alice", ST), U256::ZERO);
    assert_eq!(w.err("alice", Tx::Deposit { strategy: ST, amount: u(E18) }).name(), "FullySlashed");
    w.deposit("bob", ST, E18);
    assert_eq!(w.err("bob", Tx::DelegateTo { operator: a("op1"), approval_salt: None }).name(), "FullySlashed");
    // Undelegating still works and queues zero-value withdrawals.
    w.ok("alice", Tx::Undelegate { staker: a("alice") });
    w.to(100);
    w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
}

#[test]
fn queued_withdrawal_is_slashable_through_the_delay_inclusive() {
    let (mut w, set) = slashable_world(WAD as u64);
    w.to(10);
    w.ok(
        "alice",
        Tx::QueueWithdrawals {
            withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![u(40 * E18)] }],
        },
    );
    assert_eq!(w.s.operator_shares(a("op1"), ST), u(60 * E18));
    assert_eq!(w.s.slashable_shares_in_queue(a("op1"), ST, w.block).unwrap(), u(40 * E18));
    // Last slashable block: start + delay = 60.
    w.to(60);
    assert_eq!(
        w.err("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true }).name(),
        "WithdrawalDelayNotElapsed"
    );
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 4));
    // 25% of the 40e18 in the queue plus 25% of the 60e18 active go to the burn entry.
    assert_eq!(w.s.burnable_shares()[0].1.shares, u(25 * E18));
    w.to(61);
    let ev = w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert!(ev.iter().any(|e| matches!(e, Event::WithdrawalCompleted { shares, .. } if shares == &vec![u(30 * E18)])));
    // A slash after the window does not touch the completed (or any later-completable) withdrawal.
    w.ok(
        "alice",
        Tx::QueueWithdrawals {
            withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![u(10 * E18)] }],
        },
    );
    w.to(200);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 2));
    let wd = w.s.withdrawal(a("alice"), 1).unwrap().clone();
    assert_eq!(w.s.withdrawal_payout(a("alice"), &wd, w.block).unwrap(), vec![u(75 * E18 / 10)]);
}

#[test]
fn withdrawal_errors_name_their_values() {
    let (mut w, _) = slashable_world(WAD as u64);
    let q = |x: u128| Tx::QueueWithdrawals {
        withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![u(x)] }],
    };
    assert_eq!(w.err("alice", q(0)).name(), "SharesAmountZero");
    assert_eq!(
        w.err("alice", q(101 * E18)),
        TxError::Delegation(crate::delegation::DelegationError::SharesAmountTooHigh {
            staker: a("alice"),
            strategy: ST,
            requested: u(101 * E18),
            held: u(100 * E18)
        })
    );
    let empty = Tx::QueueWithdrawals { withdrawals: vec![QueueParams { strategies: vec![], deposit_shares: vec![] }] };
    assert_eq!(w.err("alice", empty).name(), "InputArrayLengthZero");
    let mismatch =
        Tx::QueueWithdrawals { withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![] }] };
    assert_eq!(w.err("alice", mismatch).name(), "InputArrayLengthMismatch");
    assert_eq!(
        w.err("alice", Tx::CompleteWithdrawal { nonce: 7, receive_as_tokens: true }).name(),
        "WithdrawalNotFound"
    );
}

#[test]
fn complete_as_shares_redelegates_to_the_current_operator() {
    let (mut w, _) = slashable_world(WAD as u64);
    w.operator("op2", 0);
    w.ok("alice", Tx::Redelegate { operator: a("op2"), approval_salt: None });
    assert_eq!(w.s.operator_shares(a("op1"), ST), U256::ZERO);
    assert_eq!(w.s.operator_shares(a("op2"), ST), U256::ZERO);
    w.to(60);
    w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: false });
    assert_eq!(w.s.operator_shares(a("op2"), ST), u(100 * E18));
    assert_eq!(w.withdrawable("alice", ST), u(100 * E18));
}

#[test]
fn undelegate_resets_dsf_and_queues_one_withdrawal_per_strategy() {
    let (mut w, set) = slashable_world(WAD as u64);
    w.deposit("alice", RE, 5 * E18);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, WAD / 10));
    w.deposit("alice", ST, E18);
    assert!(w.s.position(a("alice"), ST).dsf > u(WAD));
    let ev = w.ok("alice", Tx::Undelegate { staker: a("alice") });
    assert_eq!(ev.iter().filter(|e| matches!(e, Event::WithdrawalQueued { .. })).count(), 2);
    assert!(w.s.staker_strategies(a("alice")).is_empty());
    assert_eq!(w.s.position(a("alice"), ST).dsf, u(WAD));
    assert_eq!(w.s.delegated_to(a("alice")), None);
    assert_eq!(w.err("bob", Tx::Undelegate { staker: a("bob") }).name(), "NotActivelyDelegated");
    assert_eq!(w.err("op1", Tx::Undelegate { staker: a("op1") }).name(), "OperatorsCannotUndelegate");
}

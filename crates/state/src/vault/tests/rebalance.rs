//! The rebalance: head/tail order, rounds, unbonding into the buffer.

use super::*;
use crate::vault::VaultError;

#[test]
fn a_rebalance_fills_under_weight_places_from_the_buffer() {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 1_000 * E18);
    v.deposit("bob", RETH, 100 * E18);
    assert_eq!(v.err("anyone", Tx::VaultRebalance(VaultRef { vault: V })), VaultError::NoTargets { vault: V }.into());
    v.w.ok("keeper", VaultWorld::targets_tx(4_000, 4_000));
    let ev = v.rebalance();
    assert!(ev.iter().any(|e| matches!(e, Event::VaultRebalanced { .. })));
    let view = v.w.s.vault_view(V, v.w.block, v.w.block * 2).unwrap();
    // 1 110 of value: 444 to each operator, 222 stays (the buffer target).
    for p in &view.places {
        assert_eq!(p.value, u(444 * E18), "{p:?}");
        assert_eq!(p.weight_bps, 4_000);
    }
    assert_eq!(view.total_assets, u(1_110 * E18));
    // The sub-accounts are real stakers delegated to their operators.
    let sub = crate::vault::sub_account(V, a("op1"));
    assert_eq!(v.w.s.delegated_to(sub), Some(a("op1")));
    assert!(v.w.s.withdrawable_shares(sub, ST).unwrap() > U256::ZERO);
    // Once a round.
    let e = v.err("anyone", Tx::VaultRebalance(VaultRef { vault: V }));
    assert_eq!(e, VaultError::RebalanceTooEarly { last: v.w.block, next: v.w.block + 10, block: v.w.block }.into());
}

#[test]
fn over_weight_places_unbond_first_and_land_in_the_buffer() {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 1_000 * E18);
    v.w.ok("keeper", VaultWorld::targets_tx(6_000, 3_000));
    v.rebalance();
    v.advance(10);
    // Swap: op1 is now over-weight by 3 000 bps, op2 under.
    v.w.ok("keeper", VaultWorld::targets_tx(3_000, 6_000));
    let ev = v.rebalance();
    let queued = ev.iter().find_map(|e| match e {
        Event::VaultUnbondingQueued { operator, expected, completable_at, .. } => {
            Some((*operator, *expected, *completable_at))
        }
        _ => None,
    });
    let (op, expected, at) = queued.expect("an unbonding");
    assert_eq!(op, a("op1"));
    assert_eq!(expected, u(300 * E18));
    // The buffer holds only its target (100): op2 waits for the unbonding.
    let view = v.w.s.vault_view(V, v.w.block, v.w.block * 2).unwrap();
    let op2 = view.places.iter().find(|p| p.operator == a("op2")).unwrap();
    assert_eq!(op2.value, u(300 * E18));
    v.to(at);
    v.rebalance();
    let view = v.w.s.vault_view(V, v.w.block, v.w.block * 2).unwrap();
    assert!(view.unbondings.is_empty());
    let op2 = view.places.iter().find(|p| p.operator == a("op2")).unwrap();
    assert_eq!(op2.value, u(600 * E18));
    assert_eq!(view.total_assets, u(1_000 * E18));
}

//! Operators, delegation approvals, allocation and registration delays, slasher changes,
//! permissions.

use super::*;
use crate::tx::AllocateParams;

const WAD: u64 = 1_000_000_000_000_000_000;

fn set_of(svc: &str) -> OperatorSetKey {
    OperatorSetKey { service: a(svc), id: 0 }
}

#[test]
fn allocation_increase_takes_effect_after_the_delay_without_plus_one() {
    let mut w = World::new();
    w.operator("op1", 5);
    w.deposit("op1", ST, 10 * E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.to(10);
    w.allocate("op1", set, ST, WAD / 2);
    assert_eq!(w.s.allocatable_magnitude(a("op1"), ST, 10), WAD / 2);
    w.to(14);
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 14).unwrap(), U256::ZERO);
    // A pending increase is not slashable: the slash skips the strategy.
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, E18));
    assert_eq!(w.s.max_magnitude(a("op1"), ST), WAD);
    w.to(15);
    assert_eq!(w.s.allocated_stake(a("op1"), set, ST, 15).unwrap(), u(5 * E18));
}

#[test]
fn pending_and_over_allocations_are_refused() {
    let mut w = World::new();
    w.operator("op1", 5);
    let set = w.service("svc");
    w.allocate("op1", set, ST, WAD / 2);
    let p = |m: u64| Tx::ModifyAllocations {
        operator: a("op1"),
        allocations: vec![AllocateParams {
            service: set.service,
            set_id: 0,
            strategies: vec![ST],
            new_magnitudes: vec![m],
        }],
    };
    assert_eq!(w.err("op1", p(WAD)).name(), "ModificationAlreadyPending");
    w.to(6);
    assert_eq!(w.err("op1", p(WAD / 2)).name(), "SameMagnitude");
    let other = w.service("svc2");
    let q = Tx::ModifyAllocations {
        operator: a("op1"),
        allocations: vec![AllocateParams {
            service: other.service,
            set_id: 0,
            strategies: vec![ST],
            new_magnitudes: vec![WAD / 2 + 1],
        }],
    };
    assert_eq!(w.err("op1", q).name(), "InsufficientMagnitude");
    assert_eq!(w.err("bob", p(1)).name(), "Unauthorized");
    let missing = Tx::ModifyAllocations {
        operator: a("op1"),
        allocations: vec![AllocateParams {
            service: a("nosvc"),
            set_id: 0,
            strategies: vec![ST],
            new_magnitudes: vec![1],
        }],
    };
    assert_eq!(w.err("op1", missing).name(), "UnknownOperatorSet");
    assert_eq!(w.err("alice", p(1)).name(), "Unauthorized");
}

#[test]
fn slashable_deallocation_waits_delay_plus_one_and_shrinks_when_slashed() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 100 * E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD / 2);
    w.to(10);
    w.allocate("op1", set, ST, WAD / 5); // pending −0.3e18, effect 10 + 50 + 1 = 61
    let (al, _) = w.s.load_allocation(a("op1"), set, ST, 10);
    assert_eq!((al.current, al.pending, al.effect_block), (WAD / 2, -(3 * WAD as i128 / 10), 61));
    assert_eq!(w.s.encumbered_magnitude(a("op1"), ST, 10), WAD / 2);
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, E18 / 2));
    let (al, _) = w.s.load_allocation(a("op1"), set, ST, 10);
    // current 0.25e18; pending −0.3e18 + ceil(0.3e18 · 0.5) = −0.15e18
    assert_eq!((al.current, al.pending), (WAD / 4, -(15 * WAD as i128 / 100)));
    w.to(60);
    assert_eq!(w.s.load_allocation(a("op1"), set, ST, 60).0.current, WAD / 4);
    w.to(61);
    assert_eq!(w.s.load_allocation(a("op1"), set, ST, 61).0.current, WAD / 10);
    assert_eq!(w.s.encumbered_magnitude(a("op1"), ST, 61), WAD / 10);
    w.ok("anyone", Tx::ClearDeallocationQueue { operator: a("op1"), strategies: vec![ST], num_to_clear: vec![10] });
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), WAD / 10);
}

#[test]
fn pending_increase_is_not_slashed_and_lands_on_the_slashed_base() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, 100 * E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD / 2);
    w.ok("op1", Tx::SetAllocationDelay { operator: a("op1"), delay: 10 });
    w.to(2 + 75 + 1);
    assert_eq!(w.s.allocation_delay(a("op1"), w.block), Some(10));
    w.allocate("op1", set, ST, WAD * 3 / 4); // pending +0.25e18 at block 88
    w.ok("svc_slasher", World::slash_tx(set, "op1", ST, E18 / 2));
    w.to(88);
    let (al, _) = w.s.load_allocation(a("op1"), set, ST, 88);
    assert_eq!(al.current, WAD / 4 + WAD / 4);
}

#[test]
fn deregistration_leaves_a_slashable_tail_and_blocks_reregistration() {
    let mut w = World::new();
    w.operator("op1", 0);
    let set = w.service("svc");
    w.register("op1", set);
    assert_eq!(
        w.err("op1", Tx::RegisterForOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] }).name(),
        "AlreadyMemberOfSet"
    );
    w.to(10);
    w.ok("svc", Tx::DeregisterFromOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] });
    assert!(w.s.is_slashable_by(a("op1"), set, 60));
    assert!(!w.s.is_slashable_by(a("op1"), set, 61));
    w.to(60);
    assert_eq!(
        w.err("op1", Tx::RegisterForOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] }).name(),
        "AlreadyMemberOfSet"
    );
    w.to(61);
    w.register("op1", set);
    assert_eq!(
        w.err("bob", Tx::DeregisterFromOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] })
            .name(),
        "DeregistrationNotAllowed"
    );
    assert_eq!(
        w.err("bob", Tx::RegisterForOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] }).name(),
        "Unauthorized"
    );
    assert_eq!(
        w.err("bob", Tx::RegisterForOperatorSets { operator: a("bob"), service: set.service, set_ids: vec![0] }).name(),
        "NotOperator"
    );
}

#[test]
fn allow_list_consent_and_set_validation() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    let create = |id: u32, strategies: Vec<StrategyId>, slasher: &str| Tx::CreateOperatorSet {
        service: a("svc"),
        set_id: id,
        strategies,
        slasher: a(slasher),
        redistribution_recipient: None,
        consent: crate::services::Consent::AllowList,
        veto: None,
    };
    assert_eq!(w.err("svc", create(0, vec![ST, ST], "s")).name(), "StrategyAlreadyInOperatorSet");
    assert_eq!(w.err("svc", create(0, vec![StrategyId(7)], "s")).name(), "UnknownStrategy");
    assert_eq!(w.err("nosvc", create(0, vec![ST], "s")).name(), "Unauthorized");
    w.ok("svc", create(0, vec![ST], "s"));
    assert_eq!(w.err("svc", create(0, vec![ST], "s")).name(), "OperatorSetExists");
    let reg = Tx::RegisterForOperatorSets { operator: a("op1"), service: a("svc"), set_ids: vec![0] };
    assert_eq!(w.err("op1", reg.clone()).name(), "RegistrationNotApproved");
    w.ok("svc", Tx::SetRegistrationAllowed { service: a("svc"), set_id: 0, operator: a("op1"), allowed: true });
    w.ok("op1", reg);
    w.ok("svc", Tx::AddStrategiesToOperatorSet { service: a("svc"), set_id: 0, strategies: vec![RE] });
    assert_eq!(
        w.err("svc", Tx::AddStrategiesToOperatorSet { service: a("svc"), set_id: 0, strategies: vec![RE] }).name(),
        "StrategyAlreadyInOperatorSet"
    );
    w.ok("svc", Tx::RemoveStrategiesFromOperatorSet { service: a("svc"), set_id: 0, strategies: vec![RE] });
    assert_eq!(
        w.err("svc", Tx::RemoveStrategiesFromOperatorSet { service: a("svc"), set_id: 0, strategies: vec![RE] }).name(),
        "StrategyNotInOperatorSet"
    );
    assert_eq!(
        w.err(
            "unreg",
            Tx::CreateOperatorSet {
                service: a("unreg"),
                set_id: 0,
                strategies: vec![],
                slasher: a("s"),
                redistribution_recipient: None,
                consent: Default::default(),
                veto: None
            }
        )
        .name(),
        "ServiceNotRegistered"
    );
}

#[test]
fn slasher_change_waits_for_its_delay() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("op1", ST, E18);
    let set = w.service("svc");
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD);
    w.ok("svc", Tx::UpdateSlasher { service: a("svc"), set_id: 0, slasher: a("new_slasher") });
    // effect = 1 + 75 + 1 = 77
    assert_eq!(w.s.slasher(set, 76), Some(a("svc_slasher")));
    assert_eq!(w.s.slasher(set, 77), Some(a("new_slasher")));
    w.to(76);
    assert_eq!(w.err("new_slasher", World::slash_tx(set, "op1", ST, E18 / 10)).name(), "InvalidCaller");
    w.to(77);
    assert_eq!(w.err("svc_slasher", World::slash_tx(set, "op1", ST, E18 / 10)).name(), "InvalidCaller");
    w.ok("new_slasher", World::slash_tx(set, "op1", ST, E18 / 10));
}

#[test]
fn slash_input_errors() {
    let mut w = World::new();
    w.operator("op1", 0);
    let set = w.service("svc");
    let tx = |strategies: Vec<StrategyId>, wads: Vec<u128>| Tx::SlashOperator {
        service: set.service,
        set_id: 0,
        operator: a("op1"),
        strategies,
        wads_to_slash: wads.into_iter().map(u).collect(),
        description: String::new(),
    };
    assert_eq!(w.err("svc_slasher", tx(vec![ST], vec![E18])).name(), "OperatorNotSlashable");
    w.register("op1", set);
    assert_eq!(w.err("svc_slasher", tx(vec![ST], vec![])).name(), "InputArrayLengthMismatch");
    assert_eq!(w.err("svc_slasher", tx(vec![RE, ST], vec![1, 1])).name(), "StrategiesMustBeInAscendingOrder");
    assert_eq!(w.err("svc_slasher", tx(vec![ST, ST], vec![1, 1])).name(), "StrategiesMustBeInAscendingOrder");
    assert_eq!(w.err("svc_slasher", tx(vec![ST], vec![0])).name(), "InvalidWadToSlash");
    assert_eq!(w.err("svc_slasher", tx(vec![ST], vec![E18 + 1])).name(), "InvalidWadToSlash");
    assert_eq!(w.err("svc_slasher", tx(vec![StrategyId(5)], vec![1])).name(), "StrategyNotInOperatorSet");
    assert_eq!(w.err("bob", tx(vec![ST], vec![1])).name(), "InvalidCaller");
    // Nothing allocated: the slash succeeds, skips the strategy, and still takes an id.
    let ev = w.ok("svc_slasher", tx(vec![ST], vec![E18]));
    assert!(ev.iter().any(
        |e| matches!(e, Event::OperatorSlashed { slash_id: 1, wad_slashed, .. } if wad_slashed == &vec![U256::ZERO])
    ));
    assert_eq!(w.s.operator_set(set_of("svc")).unwrap().slash_count, 1);
}

#[test]
fn delegation_approvals_are_single_use_and_checked() {
    let mut w = World::new();
    w.ok(
        "op1",
        Tx::RegisterAsOperator {
            delegation_approver: Some(a("approver")),
            allocation_delay: 0,
            metadata_uri: String::new(),
        },
    );
    let d = |salt| Tx::DelegateTo { operator: a("op1"), approval_salt: salt };
    assert_eq!(w.err("alice", d(None)).name(), "ApprovalRequired");
    assert_eq!(w.err("alice", d(Some(1))).name(), "ApprovalNotFound");
    assert_eq!(
        w.err("bob", Tx::ApproveDelegation { staker: a("alice"), operator: a("op1"), salt: 1, expiry: 10 }).name(),
        "NotApprover"
    );
    w.ok("approver", Tx::ApproveDelegation { staker: a("alice"), operator: a("op1"), salt: 1, expiry: 10 });
    assert_eq!(w.err("bob", d(Some(1))).name(), "ApprovalMismatch");
    w.to(11);
    assert_eq!(w.err("alice", d(Some(1))).name(), "ApprovalExpired");
    w.to(10);
    w.ok("alice", d(Some(1)));
    assert_eq!(w.err("alice", d(Some(1))).name(), "ActivelyDelegated");
    assert_eq!(
        w.err("approver", Tx::ApproveDelegation { staker: a("bob"), operator: a("op1"), salt: 1, expiry: 10 }).name(),
        "SaltSpent"
    );
    // The approver may force-undelegate.
    let ev = w.ok("approver", Tx::Undelegate { staker: a("alice") });
    assert!(ev.iter().any(|e| matches!(e, Event::StakerForceUndelegated { .. })));
    assert_eq!(w.err("alice", Tx::DelegateTo { operator: a("bob"), approval_salt: None }).name(), "NotOperator");
    assert_eq!(
        w.err(
            "op1",
            Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() }
        )
        .name(),
        "ActivelyDelegated"
    );
}

/// Registers op1 with `approver` as its delegation approver.
fn approved_operator(w: &mut World) {
    w.ok(
        "op1",
        Tx::RegisterAsOperator {
            delegation_approver: Some(a("approver")),
            allocation_delay: 0,
            metadata_uri: String::new(),
        },
    );
}

#[test]
fn a_spent_approval_salt_is_refused_when_reused() {
    let mut w = World::new();
    approved_operator(&mut w);
    let approve = |salt| Tx::ApproveDelegation { staker: a("alice"), operator: a("op1"), salt, expiry: 100 };
    let d = |salt| Tx::DelegateTo { operator: a("op1"), approval_salt: Some(salt) };
    w.ok("approver", approve(7));
    w.ok("alice", d(7));
    w.ok("alice", Tx::Undelegate { staker: a("alice") });
    // Same staker, same operator, unexpired: only the spent mark refuses it.
    assert_eq!(
        w.err("alice", d(7)),
        TxError::Delegation(crate::delegation::DelegationError::SaltSpent { approver: a("approver"), salt: 7 })
    );
    w.ok("approver", approve(8));
    w.ok("alice", d(8));
}

#[test]
fn approving_with_an_expiry_before_the_block_is_refused_and_at_it_is_accepted() {
    let mut w = World::new();
    approved_operator(&mut w);
    let approve = |salt, expiry| Tx::ApproveDelegation { staker: a("alice"), operator: a("op1"), salt, expiry };
    w.to(20);
    assert_eq!(
        w.err("approver", approve(1, 19)),
        TxError::Delegation(crate::delegation::DelegationError::ApprovalExpired { expiry: 19, block: 20 })
    );
    // Expiry is inclusive: an approval expiring in this block is accepted and usable in it.
    w.ok("approver", approve(1, 20));
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: Some(1) });
    assert_eq!(w.s.delegated_to(a("alice")), Some(a("op1")));
}

#[test]
fn a_staker_record_is_removed_after_delegating_without_deposits_then_undelegating() {
    let mut w = World::new();
    w.operator("op1", 0);
    assert_eq!(w.s.staker(a("alice")), None);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let rec = w.s.staker(a("alice")).expect("a delegated staker has a record");
    assert_eq!((rec.delegated_to, rec.withdrawal_nonce, rec.positions.len()), (Some(a("op1")), 0, 0));
    let ev = w.ok("alice", Tx::Undelegate { staker: a("alice") });
    // Nothing held, so nothing queued: the nonce stays 0 and the empty record goes.
    assert!(!ev.iter().any(|e| matches!(e, Event::WithdrawalQueued { .. })));
    assert_eq!(w.s.staker(a("alice")), None);
    assert_eq!(w.s.delegated_to(a("alice")), None);
}

#[test]
fn admins_and_appointees() {
    let mut w = World::new();
    w.operator("op1", 0);
    let meta = |uri: &str| Tx::UpdateOperatorMetadata { operator: a("op1"), metadata_uri: uri.into() };
    assert_eq!(w.err("ops_bot", meta("x")).name(), "Unauthorized");
    w.ok(
        "op1",
        Tx::SetAppointee { account: a("op1"), appointee: a("ops_bot"), action: crate::TxKind::UpdateOperatorMetadata },
    );
    w.ok("ops_bot", meta("x"));
    w.ok("op1", Tx::AddPendingAdmin { account: a("op1"), admin: a("admin") });
    assert_eq!(
        w.err("op1", Tx::AddPendingAdmin { account: a("op1"), admin: a("admin") }).name(),
        "AdminAlreadyPending"
    );
    assert_eq!(w.err("bob", Tx::AcceptAdmin { account: a("op1") }).name(), "AdminNotPending");
    w.ok("admin", Tx::AcceptAdmin { account: a("op1") });
    // The account lost its own rights once an admin exists.
    assert_eq!(w.err("op1", meta("y")).name(), "Unauthorized");
    w.ok("admin", meta("y"));
    assert_eq!(w.err("admin", Tx::RemoveAdmin { account: a("op1"), admin: a("admin") }).name(), "CannotHaveZeroAdmins");
    w.ok(
        "admin",
        Tx::RemoveAppointee {
            account: a("op1"),
            appointee: a("ops_bot"),
            action: crate::TxKind::UpdateOperatorMetadata,
        },
    );
    assert_eq!(w.err("ops_bot", meta("z")).name(), "Unauthorized");
}

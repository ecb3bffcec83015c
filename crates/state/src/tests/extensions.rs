//! Cairn's extensions: veto windows, incompatible services, timelocked governance, pausing,
//! burn clearing, and general guards.

use super::*;
use crate::tx::{GovernanceAction, ParamName, QueueParams, VetoConfig};

const WAD: u64 = 1_000_000_000_000_000_000;

fn veto_world(window: u64) -> (World, OperatorSetKey) {
    veto_world_allocating(window, WAD)
}

/// `veto_world` with op1 allocating `magnitude` of ST to the vetoable set.
fn veto_world_allocating(window: u64, magnitude: u64) -> (World, OperatorSetKey) {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 100 * E18);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    w.ok(
        "svc",
        Tx::CreateOperatorSet {
            service: a("svc"),
            set_id: 0,
            strategies: vec![ST],
            slasher: a("slasher"),
            redistribution_recipient: None,
            consent: Default::default(),
            veto: Some(VetoConfig { committee: a("committee"), window }),
        },
    );
    let set = OperatorSetKey { service: a("svc"), id: 0 };
    w.register("op1", set);
    w.allocate("op1", set, ST, magnitude);
    (w, set)
}

#[test]
fn veto_window_delays_and_can_cancel_a_slash() {
    let (mut w, set) = veto_world(20);
    w.to(5);
    let ev = w.ok("slasher", World::slash_tx(set, "op1", ST, E18 / 2));
    assert!(ev.iter().any(|e| matches!(e, Event::SlashRequested { request_id: 1, executable_at: 25, .. })));
    assert_eq!(w.withdrawable("alice", ST), u(100 * E18));
    assert_eq!(
        w.err("slasher", Tx::ExecuteSlash { service: set.service, set_id: 0, request_id: 1 }).name(),
        "VetoWindowOpen"
    );
    assert_eq!(
        w.err("bob", Tx::VetoSlash { service: set.service, set_id: 0, request_id: 1 }).name(),
        "NotVetoCommittee"
    );
    w.ok("committee", Tx::VetoSlash { service: set.service, set_id: 0, request_id: 1 });
    assert_eq!(
        w.err("committee", Tx::VetoSlash { service: set.service, set_id: 0, request_id: 1 }).name(),
        "SlashRequestNotPending"
    );
    // Second request executes after the window, by anyone.
    w.ok("slasher", World::slash_tx(set, "op1", ST, E18 / 2));
    w.to(25);
    assert_eq!(
        w.err("committee", Tx::VetoSlash { service: set.service, set_id: 0, request_id: 2 }).name(),
        "VetoWindowClosed"
    );
    w.ok("keeper", Tx::ExecuteSlash { service: set.service, set_id: 0, request_id: 2 });
    assert_eq!(w.withdrawable("alice", ST), u(50 * E18));
    // Executed once: the record says so, and a second execution is refused.
    let executed = crate::slashing::RequestStatus::Executed(1);
    assert_eq!(w.s.slash_request(set, 2).expect("request 2").status, executed);
    assert_eq!(
        w.err("keeper", Tx::ExecuteSlash { service: set.service, set_id: 0, request_id: 2 }),
        TxError::Slashing(crate::slashing::SlashingError::SlashRequestNotPending {
            set,
            request_id: 2,
            status: executed
        })
    );
    assert_eq!(w.withdrawable("alice", ST), u(50 * E18));
    assert_eq!(
        w.err("keeper", Tx::ExecuteSlash { service: set.service, set_id: 0, request_id: 9 }).name(),
        "UnknownSlashRequest"
    );
}

#[test]
fn zero_window_slashes_immediately() {
    let (mut w, set) = veto_world(0);
    w.ok("slasher", World::slash_tx(set, "op1", ST, E18 / 2));
    assert_eq!(w.withdrawable("alice", ST), u(50 * E18));
}

#[test]
fn open_request_keeps_stake_slashable_and_holds_withdrawals() {
    let (mut w, set) = veto_world(40);
    w.to(10);
    w.ok(
        "alice",
        Tx::QueueWithdrawals {
            withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![u(40 * E18)] }],
        },
    );
    w.to(30);
    w.ok("slasher", World::slash_tx(set, "op1", ST, E18 / 2)); // executable at 70
    // The operator tries to escape: deregisters and deallocates.
    w.ok("op1", Tx::DeregisterFromOperatorSets { operator: a("op1"), service: set.service, set_ids: vec![0] });
    w.allocate("op1", set, ST, 0);
    w.to(61);
    let e = w.err("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert_eq!(e.name(), "HeldBySlashRequest");
    w.to(70);
    w.ok("keeper", Tx::ExecuteSlash { service: set.service, set_id: 0, request_id: 1 });
    // Active stake and the held withdrawal both lost half.
    assert_eq!(w.withdrawable("alice", ST), u(30 * E18));
    // Slashable through the block its hold resolved in (another slash may still come in it):
    // it completes from the next block.
    let e = w.err("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert_eq!(e.name(), "WithdrawalDelayNotElapsed");
    w.to(71);
    let ev = w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert!(ev.iter().any(|e| matches!(e, Event::WithdrawalCompleted { shares, .. } if shares == &vec![u(20 * E18)])));
    // 30e18 active + 20e18 queued set aside.
    assert_eq!(w.s.burnable_shares()[0].1.shares, u(50 * E18));
}

#[test]
fn an_open_request_holds_only_withdrawals_in_its_strategies() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 100 * E18);
    w.deposit("alice", RE, 100 * E18);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    w.ok(
        "svc",
        Tx::CreateOperatorSet {
            service: a("svc"),
            set_id: 0,
            strategies: vec![ST, RE],
            slasher: a("slasher"),
            redistribution_recipient: None,
            consent: Default::default(),
            veto: Some(VetoConfig { committee: a("committee"), window: 40 }),
        },
    );
    let set = OperatorSetKey { service: a("svc"), id: 0 };
    w.register("op1", set);
    w.allocate("op1", set, ST, WAD);
    w.allocate("op1", set, RE, WAD);
    let q = |s| Tx::QueueWithdrawals {
        withdrawals: vec![QueueParams { strategies: vec![s], deposit_shares: vec![u(40 * E18)] }],
    };
    w.to(5);
    w.ok("alice", q(ST)); // nonce 0
    w.ok("alice", q(RE)); // nonce 1
    w.to(10);
    w.ok("slasher", World::slash_tx(set, "op1", RE, E18 / 2)); // RE only, open until block 50+
    w.to(56);
    // The RE withdrawal is held; the ST one, outside the request's strategies, completes.
    let e = w.err("alice", Tx::CompleteWithdrawal { nonce: 1, receive_as_tokens: true });
    assert_eq!(e.name(), "HeldBySlashRequest");
    let ev = w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert!(ev.iter().any(|e| matches!(e, Event::WithdrawalCompleted { shares, .. } if shares == &vec![u(40 * E18)])));
    assert_eq!(w.s.withdrawals_of(a("alice")).into_iter().map(|(n, _)| n).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn veto_window_is_bounded() {
    let mut w = World::new();
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    let tx = Tx::CreateOperatorSet {
        service: a("svc"),
        set_id: 0,
        strategies: vec![ST],
        slasher: a("slasher"),
        redistribution_recipient: None,
        consent: Default::default(),
        veto: Some(VetoConfig { committee: a("c"), window: 41 }),
    };
    assert_eq!(w.err("svc", tx).name(), "VetoWindowTooLong");
}

#[test]
fn incompatible_services_refuse_overlapping_allocations() {
    let mut w = World::new();
    w.operator("op1", 0);
    let s1 = w.service("oracle_a");
    let s2 = w.service("oracle_b");
    w.ok("oracle_a", Tx::SetIncompatibleService { service: a("oracle_a"), other: a("oracle_b"), incompatible: true });
    w.allocate("op1", s1, ST, WAD / 2);
    let p = crate::tx::AllocateParams { service: s2.service, set_id: 0, strategies: vec![RE], new_magnitudes: vec![1] };
    let e = w.err("op1", Tx::ModifyAllocations { operator: a("op1"), allocations: vec![p.clone()] });
    assert_eq!(
        e,
        TxError::Allocation(crate::allocations::AllocationError::IncompatibleServices {
            operator: a("op1"),
            service: a("oracle_b"),
            conflicting_service: a("oracle_a")
        })
    );
    // Fully deallocating from the first (not slashable: not registered) frees the operator.
    w.allocate("op1", s1, ST, 0);
    w.ok("op1", Tx::ModifyAllocations { operator: a("op1"), allocations: vec![p] });
    // A declaration over an existing overlap is refused, naming the operator.
    w.operator("op2", 0);
    let s3 = w.service("bridge");
    w.allocate("op2", s2, ST, 1);
    w.allocate("op2", s3, ST, 1);
    let e =
        w.err("bridge", Tx::SetIncompatibleService { service: a("bridge"), other: a("oracle_b"), incompatible: true });
    assert_eq!(e.name(), "IncompatibleOverlap");
    assert_eq!(
        w.err("bridge", Tx::SetIncompatibleService { service: a("bridge"), other: a("bridge"), incompatible: true })
            .name(),
        "SelfIncompatible"
    );
    assert_eq!(
        w.err("bridge", Tx::SetIncompatibleService { service: a("bridge"), other: a("nobody"), incompatible: true })
            .name(),
        "ServiceNotRegistered"
    );
}

#[test]
fn governance_changes_wait_for_the_timelock() {
    let mut w = World::new();
    let action = GovernanceAction::SetParam { name: ParamName::WithdrawalDelayBlocks, value: 7 };
    assert_eq!(w.err("alice", Tx::Propose { action: action.clone() }).name(), "NotGovernor");
    w.ok("gov", Tx::Propose { action });
    w.to(10);
    assert_eq!(w.err("gov", Tx::ExecuteProposal { id: 1 }).name(), "TimelockNotElapsed");
    w.to(11);
    w.ok("gov", Tx::ExecuteProposal { id: 1 });
    assert_eq!(w.s.params().withdrawal_delay_blocks, 7);
    assert_eq!(w.err("gov", Tx::ExecuteProposal { id: 1 }).name(), "ProposalNotPending");
    assert_eq!(w.err("gov", Tx::ExecuteProposal { id: 5 }).name(), "UnknownProposal");
    let bad = GovernanceAction::SetParam { name: ParamName::FaucetEnabled, value: 2 };
    assert_eq!(w.err("gov", Tx::Propose { action: bad }).name(), "InvalidParam");
    w.ok("gov", Tx::Propose { action: GovernanceAction::SetGovernor { account: a("gov2") } });
    w.ok("gov", Tx::CancelProposal { id: 2 });
    assert_eq!(w.err("gov", Tx::ExecuteProposal { id: 2 }).name(), "ProposalNotPending");
}

#[test]
fn pausers_set_and_only_the_unpauser_clears() {
    let mut w = World::new();
    use crate::pause::Module;
    assert_eq!(w.err("alice", Tx::Pause { modules: vec![Module::Deposits] }).name(), "NotPauser");
    w.ok("pauser", Tx::Pause { modules: vec![Module::Deposits] });
    assert_eq!(w.err("alice", Tx::Deposit { strategy: ST, amount: u(1) }).name(), "Paused");
    assert_eq!(w.err("pauser", Tx::Unpause { modules: vec![Module::Deposits] }).name(), "NotUnpauser");
    w.ok("unpauser", Tx::Unpause { modules: vec![Module::Deposits] });
    w.deposit("alice", ST, 1);
}

#[test]
fn burned_and_redistributed_shares_leave_after_the_clearing_delay() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 100 * E18);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    for (id, recipient) in [(0, None), (1, Some(a("insurance")))] {
        w.ok(
            "svc",
            Tx::CreateOperatorSet {
                service: a("svc"),
                set_id: id,
                strategies: vec![ST],
                slasher: a("slasher"),
                redistribution_recipient: recipient,
                consent: Default::default(),
                veto: None,
            },
        );
        let set = OperatorSetKey { service: a("svc"), id };
        w.register("op1", set);
        w.allocate("op1", set, ST, WAD / 2);
    }
    let s0 = OperatorSetKey { service: a("svc"), id: 0 };
    let s1 = OperatorSetKey { service: a("svc"), id: 1 };
    w.ok("slasher", World::slash_tx(s0, "op1", ST, E18 / 10));
    w.ok("slasher", World::slash_tx(s1, "op1", ST, E18 / 10));
    let clear = |set: OperatorSetKey| Tx::ClearBurnOrRedistributableShares {
        service: set.service,
        set_id: set.id,
        slash_id: 1,
        strategy: None,
    };
    w.to(11);
    assert_eq!(w.err("anyone", clear(s0)).name(), "NotYetClearable");
    w.to(12);

    w.ok("anyone", clear(s0));
    w.ok("anyone", clear(s1));
    // Already cleared: a no-op, as in EigenLayer (see conformance.rs, §5.3).
    assert!(w.ok("anyone", clear(s0)).is_empty());
    assert_eq!(w.s.balance(crate::BURN_ADDRESS, STETH), u(5 * E18));
    // Unique stake: set 1's allocation was untouched by set 0's slash, so 10% of it is again 5e18.
    assert_eq!(w.s.balance(a("insurance"), STETH), u(5 * E18));
    assert_eq!(w.withdrawable("alice", ST), u(90 * E18));
}

#[test]
fn general_guards() {
    let mut w = World::new();
    w.to(5);
    w.ok("alice", Tx::Transfer { asset: STETH, to: a("bob"), amount: u(1) });
    w.to(4);
    assert_eq!(w.err("alice", Tx::Transfer { asset: STETH, to: a("bob"), amount: u(1) }).name(), "BlockWentBackwards");
    w.to(5);
    let vault = w.s.strategy_address(ST).unwrap();
    assert_eq!(w.err_from(vault, Tx::Transfer { asset: STETH, to: a("bob"), amount: u(1) }).name(), "ReservedSender");
    assert_eq!(w.err("alice", Tx::Transfer { asset: STETH, to: a("bob"), amount: U256::ZERO }).name(), "ZeroAmount");
    assert_eq!(w.err("alice", Tx::Transfer { asset: AssetId(9), to: a("bob"), amount: u(1) }).name(), "UnknownAsset");
    assert_eq!(w.err("alice", Tx::Mint { asset: STETH, to: a("bob"), amount: u(1) }).name(), "NotGovernor");
    w.ok("gov", Tx::Mint { asset: STETH, to: a("bob"), amount: u(1) });
    assert_eq!(w.err("alice", Tx::CreateStrategy { asset: STETH }).name(), "StrategyExists");
    let huge = U256::MAX;
    assert_eq!(w.err("alice", Tx::Deposit { strategy: ST, amount: huge }).name(), "InsufficientBalance");
}

impl World {
    fn err_from(&mut self, sender: Address, tx: Tx) -> TxError {
        let before = self.s.canonical_bytes();
        let ctx = Ctx { sender, block: self.block, time: 0 };
        let e = self.s.apply(&ctx, &tx).expect_err("expected a refusal");
        assert_eq!(before, self.s.canonical_bytes());
        e
    }
}

#[test]
fn a_slash_in_the_block_a_hold_resolves_charges_the_held_withdrawal() {
    let mut w = World::new();
    w.operator("op1", 0);
    w.deposit("alice", ST, 100 * E18);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    for (id, veto) in [(0, Some(VetoConfig { committee: a("committee"), window: 20 })), (1, None)] {
        w.ok(
            "svc",
            Tx::CreateOperatorSet {
                service: a("svc"),
                set_id: id,
                strategies: vec![ST],
                slasher: a("slasher"),
                redistribution_recipient: None,
                consent: Default::default(),
                veto,
            },
        );
        let set = OperatorSetKey { service: a("svc"), id };
        w.register("op1", set);
        w.allocate("op1", set, ST, WAD / 2);
    }
    let (vetoable, immediate) =
        (OperatorSetKey { service: a("svc"), id: 0 }, OperatorSetKey { service: a("svc"), id: 1 });
    w.to(10);
    w.ok(
        "alice",
        Tx::QueueWithdrawals {
            withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![u(40 * E18)] }],
        },
    );
    w.to(30);
    w.ok("slasher", World::slash_tx(vetoable, "op1", ST, E18 / 2));
    w.to(70);
    // The hold resolves (m 1 → 0.75), then in the same block the other set slashes its whole
    // allocation (m 0.75 → 0.25). The withdrawal is priced at block 70, so both must charge it.
    w.ok("keeper", Tx::ExecuteSlash { service: a("svc"), set_id: 0, request_id: 1 });
    w.ok("slasher", World::slash_tx(immediate, "op1", ST, E18));
    let burned: Vec<U256> = w.s.burnable_shares().iter().map(|(_, e)| e.shares).collect();
    assert_eq!(burned, vec![u(25 * E18), u(50 * E18)]);
    assert_eq!(w.withdrawable("alice", ST), u(15 * E18));
    w.to(71);
    let ev = w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert!(ev.iter().any(|e| matches!(e, Event::WithdrawalCompleted { shares, .. } if shares == &vec![u(10 * E18)])));
}

#[test]
fn remaining_refusals_each_name_their_values_and_change_nothing() {
    let mut w = World::new();
    // Strategy-list limit, lowered by governance to 1.
    w.ok("gov", Tx::Propose { action: GovernanceAction::SetParam { name: ParamName::MaxStakerStrategies, value: 1 } });
    w.to(20);
    w.ok("gov", Tx::ExecuteProposal { id: 1 });
    w.deposit("alice", ST, E18);
    let e = w.err("alice", Tx::Deposit { strategy: RE, amount: u(E18) });
    assert_eq!(
        e,
        TxError::Delegation(crate::delegation::DelegationError::MaxStrategiesExceeded { staker: a("alice"), max: 1 })
    );
    // Permissions.
    w.operator("op1", 0);
    w.ok("op1", Tx::AddPendingAdmin { account: a("op1"), admin: a("adm") });
    w.ok("adm", Tx::AcceptAdmin { account: a("op1") });
    assert_eq!(w.err("adm", Tx::AddPendingAdmin { account: a("op1"), admin: a("adm") }).name(), "AdminAlreadySet");
    assert_eq!(w.err("adm", Tx::RemoveAdmin { account: a("op1"), admin: a("nobody") }).name(), "AdminNotSet");
    let appoint = Tx::SetAppointee { account: a("op1"), appointee: a("bot"), action: crate::TxKind::ModifyAllocations };
    w.ok("adm", appoint.clone());
    assert_eq!(w.err("adm", appoint).name(), "AppointeeAlreadySet");
    // Allocation delays are EigenLayer's u32.
    let e = w.err("adm", Tx::SetAllocationDelay { operator: a("op1"), delay: u64::from(u32::MAX) + 1 });
    assert_eq!(e.name(), "AllocationDelayTooLarge");
    // A withdrawal that could never complete (start + delay + 1 beyond u64) is refused up front.
    w.to(u64::MAX - 10);
    let q =
        Tx::QueueWithdrawals { withdrawals: vec![QueueParams { strategies: vec![ST], deposit_shares: vec![u(1)] }] };
    assert_eq!(w.err("alice", q).name(), "Overflow");
}

#[test]
fn strategy_share_limit() {
    let rich = a("whale");
    let g = Genesis {
        params: Params::profile(Profile::Devnet),
        governor: a("gov"),
        unpauser: a("unpauser"),
        pausers: vec![],
        assets: vec![GenesisAsset {
            symbol: "BIG".into(),
            decimals: 0,
            strategy: true,
            balances: [(rich, U256::from(10u8).pow(U256::from(39u8)))].into_iter().collect(),
            native: false,
        }],
        oracle: Default::default(),
    };
    let mut s = State::genesis(&g).unwrap();
    let before = s.canonical_bytes();
    let max = crate::strategies::MAX_TOTAL_SHARES;
    let ctx = Ctx { sender: rich, block: 1, time: 0 };
    let e = s.apply(&ctx, &Tx::Deposit { strategy: ST, amount: max + u(1) }).unwrap_err();
    assert_eq!(e.name(), "TotalSharesExceedsMax");
    assert_eq!(before, s.canonical_bytes());
    s.apply(&ctx, &Tx::Deposit { strategy: ST, amount: max }).unwrap();
}

#[test]
fn services_declare_their_sets_risk_on_chain() {
    let mut w = World::new();
    let set = w.service("avs");
    let declare = |num, den| Tx::DeclareSetRisk {
        service: set.service,
        set_id: 0,
        prize: U256::from(50u8),
        threshold_num: num,
        threshold_den: den,
    };
    for (num, den) in [(0, 3), (4, 3), (1, 0)] {
        assert_eq!(w.err("avs", declare(num, den)).name(), "InvalidRiskThreshold");
    }
    assert_eq!(w.err("bob", declare(1, 2)).name(), "Unauthorized");
    let other =
        Tx::DeclareSetRisk { service: set.service, set_id: 9, prize: U256::ZERO, threshold_num: 1, threshold_den: 1 };
    assert_eq!(w.err("avs", other).name(), "UnknownOperatorSet");
    w.ok("avs", declare(2, 3));
    let d = w.s.set_risk(set).unwrap();
    assert_eq!((d.prize, d.threshold_num, d.threshold_den), (U256::from(50u8), 2, 3));
}

/// op1's deallocation queue for ST, front first.
fn dealloc_queue(w: &World) -> Vec<OperatorSetKey> {
    w.s.dealloc_queue.get(&(a("op1"), ST)).map(|q| q.iter().copied().collect()).unwrap_or_default()
}

fn clear_queue(n: u32) -> Tx {
    Tx::ClearDeallocationQueue { operator: a("op1"), strategies: vec![ST], num_to_clear: vec![n] }
}

#[test]
fn a_slash_that_takes_a_frozen_deallocation_to_zero_lets_it_clear_while_another_request_is_open() {
    let (mut w, set) = veto_world(20);
    w.to(5);
    w.allocate("op1", set, ST, 0); // pending −1e18, effect 5 + 50 + 1 = 56
    w.to(6);
    w.ok("slasher", World::slash_tx(set, "op1", ST, E18)); // request 1, executable at 26
    w.ok("slasher", World::slash_tx(set, "op1", ST, E18 / 2)); // request 2
    w.to(26);
    let ev = w.ok("keeper", Tx::ExecuteSlash { service: set.service, set_id: 0, request_id: 1 });
    // All of the current magnitude and all of the pending decrease: the pending target is 0 and
    // is still announced, as EigenLayer does whenever a decrease was pending.
    let updates: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::AllocationUpdated { magnitude, effect_block, .. } => Some((*magnitude, *effect_block)),
            _ => None,
        })
        .collect();
    assert_eq!(updates, vec![(0, 56), (0, 26)]);
    let al = w.s.load_allocation(a("op1"), set, ST, 26).0;
    assert_eq!((al.current, al.pending, al.effect_block), (0, 0, 56));
    assert!(w.s.has_open_request(a("op1"), set), "request 2 stays open");
    w.to(55);
    w.ok("anyone", clear_queue(10));
    assert_eq!(dealloc_queue(&w), vec![set], "not due before block 56");
    // Nothing is pending any more, so the open request freezes nothing: it takes effect and clears.
    w.to(56);
    let al = w.s.load_allocation(a("op1"), set, ST, 56).0;
    assert_eq!((al.current, al.pending, al.effect_block), (0, 0, 0));
    w.ok("anyone", clear_queue(10));
    assert_eq!(dealloc_queue(&w), vec![]);
    assert_eq!(w.s.allocations.get(&(a("op1"), set, ST)), None, "the empty allocation is removed");
    assert!(w.s.has_open_request(a("op1"), set));
}

#[test]
fn the_deallocation_queue_keeps_fifo_order_around_a_frozen_entry_and_clearing_none_changes_nothing() {
    const HALF: u64 = WAD / 2;
    const QUARTER: u64 = WAD / 4;
    let (mut w, vetoed) = veto_world_allocating(40, HALF);
    let plain = w.service_with("svc2", &[ST]);
    w.register("op1", plain);
    w.allocate("op1", plain, ST, QUARTER);
    w.to(5);
    w.allocate("op1", vetoed, ST, 0); // entry A: effect 5 + 50 + 1 = 56
    // Governance lowers the deallocation delay to 10 (timelock 10).
    let action = GovernanceAction::SetParam { name: ParamName::DeallocationDelayBlocks, value: 10 };
    w.ok("gov", Tx::Propose { action });
    w.to(15);
    w.ok("gov", Tx::ExecuteProposal { id: 1 });
    w.to(16);
    w.allocate("op1", plain, ST, 0); // entry B: effect 16 + 10 + 1 = 27, ahead of A's
    assert_eq!(dealloc_queue(&w), vec![vetoed, plain]);
    w.to(20);
    w.ok("slasher", World::slash_tx(vetoed, "op1", ST, E18 / 10)); // open until vetoed (exec. 60)
    let enc = HALF + QUARTER;

    // Block 30: B fell due first, but A (open request, not yet due) is ahead: nothing is freed.
    w.to(30);
    assert_eq!(w.s.encumbered_magnitude(a("op1"), ST, 30), enc);
    w.ok("anyone", clear_queue(10));
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), enc);
    assert_eq!(dealloc_queue(&w), vec![vetoed, plain]);

    // Block 56: A is due but frozen by the open request; the queue passes over it to B.
    w.to(56);
    assert_eq!(w.s.encumbered_magnitude(a("op1"), ST, 56), HALF);
    // Clearing 0 entries changes nothing, not even the order: the state hash is what it was but
    // for the block applied and the vaults' valuation epoch (bumped by every allocation kind).
    let mut expected = w.s.clone();
    expected.g.last_block = w.block;
    expected.g.value_epoch = expected.g.value_epoch.wrapping_add(1);
    assert_eq!(w.ok("anyone", clear_queue(0)), vec![]);
    assert!(w.s.state_hash() == expected.state_hash(), "clearing 0 entries changed the state");
    assert_eq!(dealloc_queue(&w), vec![vetoed, plain]);
    w.ok("anyone", clear_queue(1));
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), HALF);
    assert_eq!(dealloc_queue(&w), vec![vetoed]);

    // The veto resolves the request: A takes effect and clears.
    w.to(58);
    w.ok("committee", Tx::VetoSlash { service: vetoed.service, set_id: 0, request_id: 1 });
    w.ok("anyone", clear_queue(1));
    assert_eq!(w.s.stored_encumbered(a("op1"), ST), 0);
    assert_eq!(dealloc_queue(&w), vec![]);
}

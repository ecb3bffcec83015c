//! Native restaking: pods, the beacon oracle, credential proofs, checkpoints, exits and the
//! dual-slashing orders, with amounts computed by hand from sections 2.5, 2.9 and 2.10.

use cairn_primitives::{B256, OperatorSetKey, U256, WAD};

use super::*;
use crate::{
    oracle::{BeaconWithdrawal, ValidatorRecord},
    pause::Module,
    pods::{ValidatorStatus, pod_address, pod_credentials},
    tx::QueueParams,
};

const GWEI: u64 = 1_000_000_000;
const ETH32: u64 = 32 * GWEI;

fn creds(owner: &str) -> B256 {
    pod_credentials(pod_address(a(owner)))
}

fn rec(index: u64, owner: &str, effective: u64, balance: u64) -> ValidatorRecord {
    ValidatorRecord {
        index,
        withdrawal_credentials: creds(owner),
        effective_balance_gwei: effective,
        balance_gwei: balance,
        slashed: false,
        exited: false,
        activation_epoch_set: true,
    }
}

fn report_tx(slot: u64, validators: Vec<ValidatorRecord>, withdrawals: Vec<BeaconWithdrawal>) -> Tx {
    Tx::PostBeaconReport { slot, validators, withdrawals }
}

fn to_pod(owner: &str, validator_index: u64, amount_gwei: u64) -> BeaconWithdrawal {
    BeaconWithdrawal { validator_index, address: pod_address(a(owner)), amount_gwei }
}

impl World {
    /// Two of the three oracle members post the same report: it is accepted.
    fn report(&mut self, slot: u64, validators: Vec<ValidatorRecord>, withdrawals: Vec<BeaconWithdrawal>) {
        let tx = report_tx(slot, validators, withdrawals);
        self.ok("oracle1", tx.clone());
        let ev = self.ok("oracle2", tx);
        assert!(ev.iter().any(|e| matches!(e, Event::BeaconReportAccepted { slot: s, .. } if *s == slot)));
    }

    /// Creates `owner`'s pod and restakes one 32 ETH validator at `slot`.
    fn restake(&mut self, owner: &str, index: u64, slot: u64) {
        self.ok(owner, Tx::CreatePod {});
        self.report(slot, vec![rec(index, owner, ETH32, ETH32)], vec![]);
        self.ok(owner, Tx::VerifyWithdrawalCredentials { slot, validators: vec![index] });
    }

    fn checkpoint(&mut self, owner: &str, validators: Vec<u64>) -> Vec<Event> {
        self.ok(owner, Tx::StartCheckpoint { revert_if_no_balance: false });
        if validators.is_empty() {
            return vec![];
        }
        self.ok("anyone", Tx::VerifyCheckpointProofs { pod_owner: a(owner), validators })
    }

    fn bcsf(&self, owner: &str) -> u64 {
        self.s.pod(a(owner)).expect("pod").bcsf
    }

    fn deposit_shares(&self, owner: &str) -> U256 {
        self.s.position(a(owner), BEACON).deposit_shares
    }

    /// op1 registers and allocates all its beacon stake to `svc`'s set 0 (which holds BEACON).
    fn beacon_service(&mut self, svc: &str) -> OperatorSetKey {
        self.operator("op1", 0);
        let set = self.service_with(svc, &[BEACON]);
        self.register("op1", set);
        self.allocate("op1", set, BEACON, 1_000_000_000_000_000_000);
        set
    }
}

fn eth(n: u128) -> U256 {
    u(n * E18)
}

#[test]
fn pods_are_created_once_and_cannot_send() {
    let mut w = World::new();
    let ev = w.ok("alice", Tx::CreatePod {});
    let pod = pod_address(a("alice"));
    assert!(ev.contains(&Event::PodDeployed { owner: a("alice"), pod }));
    let e = w.err("alice", Tx::CreatePod {});
    assert_eq!(e, TxError::Pod(crate::pods::PodError::PodExists { owner: a("alice"), pod }));
    // The pod is a protocol account: it may receive ETH but never sign.
    let ctx = Ctx { sender: pod, block: w.block, time: 0 };
    let before = w.s.canonical_bytes();
    let e = w.s.apply(&ctx, &Tx::CreatePod {}).unwrap_err();
    assert_eq!(e, TxError::ReservedSender { sender: pod });
    assert_eq!(before, w.s.canonical_bytes());
    // Credentials: 0x01, eleven zero bytes, the pod address.
    let c = creds("alice");
    assert_eq!(c[0], 1);
    assert!(c[1..12].iter().all(|b| *b == 0));
    assert_eq!(&c[12..], pod.as_slice());
}

#[test]
fn oracle_reports_take_effect_at_quorum() {
    let mut w = World::new();
    let r = vec![rec(1, "alice", ETH32, ETH32)];
    let ev = w.ok("oracle1", report_tx(10, r.clone(), vec![]));
    assert!(ev.iter().any(|e| matches!(e, Event::BeaconReportVoted { votes: 1, quorum: 2, .. })));
    assert_eq!(w.s.latest_beacon_report(), None);
    w.ok("alice", Tx::CreatePod {});
    // Below quorum the report cannot be used.
    let e = w.err("alice", Tx::VerifyWithdrawalCredentials { slot: 10, validators: vec![1] });
    assert_eq!(e.name(), "ReportNotAccepted");
    assert!(e.to_string().contains("1 of 2"));
    assert_eq!(w.err("mallory", report_tx(10, r.clone(), vec![])).name(), "NotOracleMember");
    assert_eq!(w.err("oracle1", report_tx(10, r.clone(), vec![])).name(), "AlreadyReported");
    // A conflicting report splits the vote; the third member decides.
    w.ok("oracle2", report_tx(10, vec![rec(1, "alice", ETH32, ETH32 + 1)], vec![]));
    assert_eq!(w.s.latest_beacon_report(), None);
    let ev = w.ok("oracle3", report_tx(10, r.clone(), vec![]));
    assert!(ev.iter().any(|e| matches!(e, Event::BeaconReportAccepted { slot: 10, validators: 1, .. })));
    assert_eq!(w.s.validator_record(1, 10).unwrap().balance_gwei, ETH32);
    // Old slots and malformed reports are refused.
    assert_eq!(
        w.err("oracle1", report_tx(10, r.clone(), vec![])),
        TxError::Oracle(crate::oracle::OracleError::StaleReport { slot: 10, latest: 10 })
    );
    assert_eq!(w.err("oracle1", report_tx(9, r, vec![])).name(), "StaleReport");
    let unsorted = vec![rec(5, "alice", ETH32, ETH32), rec(5, "bob", ETH32, ETH32)];
    assert_eq!(w.err("oracle1", report_tx(11, unsorted, vec![])).name(), "ReportNotSorted");
    assert_eq!(w.err("oracle1", report_tx(11, vec![], vec![to_pod("alice", 1, 0)])).name(), "InvalidWithdrawal");
    // Records not re-reported keep their last value.
    w.report(12, vec![rec(2, "bob", ETH32, ETH32)], vec![]);
    assert_eq!(w.s.validator_record(1, 12).unwrap().balance_gwei, ETH32);
    assert!(w.s.validator_record(2, 11).is_none());
}

#[test]
fn governance_names_the_committee_with_a_majority_quorum() {
    let mut w = World::new();
    let bad = crate::tx::GovernanceAction::SetBeaconOracle { members: vec![a("x"), a("y")], quorum: 1 };
    assert_eq!(w.err("gov", Tx::Propose { action: bad }).name(), "InvalidQuorum");
    let good = crate::tx::GovernanceAction::SetBeaconOracle { members: vec![a("x")], quorum: 1 };
    w.ok("gov", Tx::Propose { action: good });
    w.to(w.block + w.s.params().governance_timelock_blocks);
    w.ok("gov", Tx::ExecuteProposal { id: 1 });
    assert_eq!(w.s.oracle_committee(), (vec![a("x")], 1));
    assert_eq!(w.err("oracle1", report_tx(1, vec![], vec![])).name(), "NotOracleMember");
    let ev = w.ok("x", report_tx(1, vec![], vec![]));
    assert!(ev.iter().any(|e| matches!(e, Event::BeaconReportAccepted { .. })));
}

#[test]
fn credential_proofs_award_the_effective_balance_once() {
    let mut w = World::new();
    w.ok("alice", Tx::CreatePod {});
    let mut exited = rec(4, "alice", ETH32, ETH32);
    exited.exited = true;
    let elsewhere = ValidatorRecord { withdrawal_credentials: creds("bob"), ..rec(3, "alice", ETH32, ETH32) };
    w.report(
        10,
        vec![rec(1, "alice", ETH32, ETH32 + 5), rec(2, "alice", 31 * GWEI, 31 * GWEI), elsewhere, exited],
        vec![],
    );
    let verify = |v: Vec<u64>| Tx::VerifyWithdrawalCredentials { slot: 10, validators: v };
    assert_eq!(w.err("alice", verify(vec![9])).name(), "UnknownValidator");
    assert_eq!(w.err("alice", verify(vec![3])).name(), "WrongWithdrawalCredentials");
    assert_eq!(w.err("alice", verify(vec![4])).name(), "ValidatorExited");
    assert_eq!(w.err("alice", verify(vec![])).name(), "NoValidators");
    assert_eq!(w.err("bob", verify(vec![3])).name(), "NoPod");
    assert_eq!(
        w.err("alice", Tx::VerifyWithdrawalCredentials { slot: 9, validators: vec![1] }).name(),
        "NotLatestReport"
    );
    assert_eq!(
        w.err("alice", Tx::VerifyWithdrawalCredentials { slot: 11, validators: vec![1] }).name(),
        "ReportNotAccepted"
    );
    // A refused batch changes nothing, even when its first validator was fine.
    assert_eq!(w.err("alice", verify(vec![1, 9])).name(), "UnknownValidator");
    let ev = w.ok("alice", verify(vec![1, 2]));
    // Shares at the effective balance (not the current one), 1 share = 1 wei.
    assert_eq!(w.deposit_shares("alice"), u(63 * E18));
    assert!(ev.contains(&Event::PodSharesUpdated { owner: a("alice"), shares: u(63 * E18) }));
    assert_eq!(w.s.pod(a("alice")).unwrap().active_validators, 2);
    assert_eq!(w.err("alice", verify(vec![1])).name(), "ValidatorAlreadyVerified");
    // Later reports make older slots unusable for proofs.
    w.report(11, vec![], vec![]);
    assert_eq!(
        w.err("alice", verify(vec![2])),
        TxError::Oracle(crate::oracle::OracleError::NotLatestReport { slot: 10, latest: 11 })
    );
    // The beacon strategy takes no token deposits.
    assert_eq!(w.err("alice", Tx::Deposit { strategy: BEACON, amount: u(E18) }).name(), "NativeStrategyDeposit");
}

#[test]
fn checkpoint_gains_mint_shares_and_skim_becomes_withdrawable() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    // Rewards: the balance rose to 32.3 ETH and 0.2 ETH were skimmed to the pod.
    w.report(20, vec![rec(1, "alice", ETH32, ETH32 + 300_000_000)], vec![to_pod("alice", 1, 200_000_000)]);
    assert_eq!(w.s.balance(pod_address(a("alice")), ETH), u(2 * E18 / 10));
    let ev = w.checkpoint("alice", vec![1]);
    assert!(ev.iter().any(|e| matches!(e, Event::CheckpointFinalized { delta_gwei: 500_000_000, .. })));
    assert_eq!(w.deposit_shares("alice"), u(325 * E18 / 10));
    let pod = *w.s.pod(a("alice")).unwrap();
    assert_eq!(pod.restaked_gwei, 200_000_000);
    assert_eq!(pod.bcsf, 1_000_000_000_000_000_000);
    assert_eq!(pod.last_checkpoint_slot, Some(20));
    assert!(pod.checkpoint.is_none());
}

#[test]
fn checkpoint_losses_lower_the_factor_never_the_deposit_shares() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    w.beacon_service("svc");
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(32));
    w.report(20, vec![rec(1, "alice", ETH32, 24 * GWEI)], vec![]);
    let ev = w.checkpoint("alice", vec![1]);
    let l = 750_000_000_000_000_000; // floor(WAD · 24 / 32)
    assert!(ev.contains(&Event::BeaconChainSlashingFactorDecreased {
        staker: a("alice"),
        prev_factor: 1_000_000_000_000_000_000,
        new_factor: l
    }));
    assert_eq!(w.bcsf("alice"), l);
    assert_eq!(w.deposit_shares("alice"), eth(32));
    assert_eq!(w.withdrawable("alice", BEACON), eth(24));
    assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(24));
}

#[test]
fn checkpoint_refusals_and_skipped_proofs() {
    let mut w = World::new();
    assert_eq!(w.err("alice", Tx::StartCheckpoint { revert_if_no_balance: false }).name(), "NoPod");
    w.restake("alice", 1, 10);
    w.restake_second("bob", 2);
    assert_eq!(w.err("alice", Tx::StartCheckpoint { revert_if_no_balance: true }).name(), "NoBalanceToCheckpoint");
    assert_eq!(
        w.err("x", Tx::VerifyCheckpointProofs { pod_owner: a("alice"), validators: vec![1] }).name(),
        "NoActiveCheckpoint"
    );
    let ev = w.ok("alice", Tx::StartCheckpoint { revert_if_no_balance: false });
    assert!(ev.iter().any(|e| matches!(e, Event::CheckpointCreated { number: 1, proofs_remaining: 1, .. })));
    assert_eq!(w.err("alice", Tx::StartCheckpoint { revert_if_no_balance: false }).name(), "CheckpointActive");
    // Bob's validator and an unknown one are skipped, not refused; the checkpoint stays open.
    let ev = w.ok("x", Tx::VerifyCheckpointProofs { pod_owner: a("alice"), validators: vec![2, 77] });
    let skipped: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::CheckpointProofSkipped { validator_index, reason, .. } => Some((*validator_index, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, vec![(2, "not_in_pod"), (77, "not_in_pod")]);
    assert!(w.s.pod(a("alice")).unwrap().checkpoint.is_some());
    assert_eq!(
        w.err("x", Tx::VerifyCheckpointProofs { pod_owner: a("alice"), validators: vec![] }).name(),
        "NoValidators"
    );
    w.ok("x", Tx::VerifyCheckpointProofs { pod_owner: a("alice"), validators: vec![1] });
    assert!(w.s.pod(a("alice")).unwrap().checkpoint.is_none());
    // A second checkpoint counts the validator again; a duplicate in one call is skipped.
    w.ok("alice", Tx::StartCheckpoint { revert_if_no_balance: false });
    w.ok("carol", Tx::CreatePod {});
    let ev = w.ok("x", Tx::VerifyCheckpointProofs { pod_owner: a("alice"), validators: vec![1, 1] });
    assert_eq!(w.s.pod(a("alice")).unwrap().checkpoints, 2);
    assert!(!ev.iter().any(|e| matches!(e, Event::CheckpointProofSkipped { .. })), "stops at the last proof");
}

impl World {
    /// Restakes a validator for `owner` in a new report one slot after the latest.
    fn restake_second(&mut self, owner: &str, index: u64) {
        let slot = self.s.latest_beacon_report().map_or(1, |(s, _)| s + 1);
        self.restake(owner, index, slot);
    }
}

#[test]
fn validators_verified_during_a_checkpoint_join_its_base_not_its_proofs() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    w.report(20, vec![rec(1, "alice", ETH32, 16 * GWEI), rec(2, "alice", ETH32, ETH32)], vec![]);
    w.ok("alice", Tx::StartCheckpoint { revert_if_no_balance: false });
    w.ok("alice", Tx::VerifyWithdrawalCredentials { slot: 20, validators: vec![2] });
    let ev = w.ok("x", Tx::VerifyCheckpointProofs { pod_owner: a("alice"), validators: vec![2, 1] });
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::CheckpointProofSkipped { validator_index: 2, reason: "already_proven", .. }))
    );
    // P = 32 (validator 1) + 32 (validator 2, joined the base); D = 16: l = WAD · 48 / 64.
    assert_eq!(w.bcsf("alice"), 750_000_000_000_000_000);
    assert_eq!(w.withdrawable("alice", BEACON), eth(48));
}

#[test]
fn stale_balance_lets_anyone_start_a_checkpoint_after_a_beacon_slash() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    w.checkpoint("alice", vec![1]);
    let stale = |v| Tx::VerifyStaleBalance { pod_owner: a("alice"), validator: v };
    assert_eq!(w.err("bob", stale(1)).name(), "ValidatorNotSlashed");
    assert_eq!(w.err("bob", stale(5)).name(), "ValidatorNotActive");
    let mut slashed = rec(1, "alice", ETH32, 31 * GWEI);
    slashed.slashed = true;
    // Reported at the checkpoint's own slot would not be newer: use a later slot.
    w.report(11, vec![slashed], vec![]);
    let ev = w.ok("bob", stale(1));
    assert!(ev.iter().any(|e| matches!(e, Event::CheckpointCreated { slot: 11, .. })));
    assert_eq!(w.err("bob", stale(1)).name(), "CheckpointActive");
    w.ok("bob", Tx::VerifyCheckpointProofs { pod_owner: a("alice"), validators: vec![1] });
    assert_eq!(w.bcsf("alice"), 968_750_000_000_000_000); // 31 / 32
    assert_eq!(
        w.err("bob", stale(1)),
        TxError::Pod(crate::pods::PodError::StaleBalanceNotNewer { slot: 11, last_checkpoint_slot: 11 })
    );
}

#[test]
fn exits_are_credited_by_a_checkpoint_then_leave_through_the_queue() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    let mut gone = rec(1, "alice", 0, 0);
    gone.exited = true;
    w.report(20, vec![gone], vec![to_pod("alice", 1, ETH32)]);
    let shares = eth(32);
    let q = |x| Tx::QueueWithdrawals {
        withdrawals: vec![QueueParams { strategies: vec![BEACON], deposit_shares: vec![x] }],
    };
    // Queued before the exit is checkpointed: the pod has not credited the ETH yet.
    w.ok("alice", q(u(E18)));
    w.to(w.block + w.s.params().withdrawal_delay_blocks + 1);
    let e = w.err("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert_eq!(e.name(), "InsufficientWithdrawableBalance");
    let ev = w.checkpoint("alice", vec![1]);
    assert!(ev.iter().any(|e| matches!(e, Event::ValidatorWithdrawn { validator_index: 1, .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::CheckpointFinalized { delta_gwei: 0, .. })));
    assert_eq!(w.s.pod_validator(1).unwrap().status, ValidatorStatus::Withdrawn);
    assert_eq!(w.s.pod(a("alice")).unwrap().restaked_gwei, ETH32);
    let before = w.s.balance(a("alice"), ETH);
    w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    w.ok("alice", q(shares - u(E18)));
    w.to(w.block + w.s.params().withdrawal_delay_blocks + 1);
    w.ok("alice", Tx::CompleteWithdrawal { nonce: 1, receive_as_tokens: true });
    assert_eq!(w.s.balance(a("alice"), ETH) - before, shares);
    assert_eq!(w.s.balance(pod_address(a("alice")), ETH), U256::ZERO);
    assert_eq!(w.s.pod(a("alice")).unwrap().restaked_gwei, 0);
    assert_eq!(w.deposit_shares("alice"), U256::ZERO);
}

#[test]
fn queued_beacon_withdrawals_are_paid_at_the_current_factor() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    w.ok(
        "alice",
        Tx::QueueWithdrawals {
            withdrawals: vec![QueueParams { strategies: vec![BEACON], deposit_shares: vec![eth(16)] }],
        },
    );
    w.report(20, vec![rec(1, "alice", ETH32, 24 * GWEI)], vec![]);
    w.checkpoint("alice", vec![1]);
    let wd = w.s.withdrawal(a("alice"), 0).unwrap().clone();
    // Queued 16 ETH, then a quarter of the pod's restaked ETH was lost: paid 12.
    assert_eq!(w.s.withdrawal_payout(a("alice"), &wd, w.block).unwrap(), vec![eth(12)]);
    assert_eq!(w.withdrawable("alice", BEACON), eth(12));
}

/// Section 2.10 "DualSlashingEdgeCase": a service slash and a beacon-chain loss compose
/// multiplicatively in either order; the operator's shares follow the staker's exactly.
#[test]
fn dual_slashing_in_either_order() {
    for service_first in [true, false] {
        let mut w = World::new();
        w.restake("alice", 1, 10);
        let set = w.beacon_service("svc");
        w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
        w.to(5);
        let slash = World::slash_tx(set, "op1", BEACON, WAD.to::<u128>() / 2);
        if service_first {
            w.ok("svc_slasher", slash.clone());
            assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(16));
        }
        w.report(20, vec![rec(1, "alice", ETH32, 16 * GWEI)], vec![]);
        w.checkpoint("alice", vec![1]);
        if !service_first {
            assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(16));
            assert_eq!(w.withdrawable("alice", BEACON), eth(16));
            w.ok("svc_slasher", slash);
        }
        // m = 1/2, l = 1/2: 32 · 1/4 = 8 either way.
        assert_eq!(w.bcsf("alice"), 500_000_000_000_000_000);
        assert_eq!(w.withdrawable("alice", BEACON), eth(8), "service first: {service_first}");
        assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(8), "service first: {service_first}");
        assert_eq!(w.deposit_shares("alice"), eth(32));
    }
}

/// TV-16: proving a new validator before the loss is checkpointed spreads the loss over its
/// shares too; proving it after leaves it whole. Operator slashed 50%, validator 1 loses 16 ETH.
#[test]
fn dual_slashing_new_validator_before_or_after_the_loss() {
    for new_first in [false, true] {
        let mut w = World::new();
        w.restake("alice", 1, 10);
        let set = w.beacon_service("svc");
        w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
        w.ok("svc_slasher", World::slash_tx(set, "op1", BEACON, WAD.to::<u128>() / 2));
        w.report(20, vec![rec(1, "alice", ETH32, 16 * GWEI), rec(2, "alice", ETH32, ETH32)], vec![]);
        if new_first {
            w.ok("alice", Tx::VerifyWithdrawalCredentials { slot: 20, validators: vec![2] });
            // k = (16 + 32) / 64 / (1/2) = 1.5; withdrawable 64 · 1.5 · 1/2 = 48.
            assert_eq!(w.s.position(a("alice"), BEACON).dsf, u(15 * E18 / 10));
            w.checkpoint("alice", vec![1, 2]);
            // P = 64, D = 16: l = 3/4; op −= 96 · (1/2 · 1/4) = 12.
            assert_eq!(w.bcsf("alice"), 750_000_000_000_000_000);
            assert_eq!(w.withdrawable("alice", BEACON), eth(36));
            assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(36));
        } else {
            w.checkpoint("alice", vec![1]);
            assert_eq!(w.withdrawable("alice", BEACON), eth(8));
            w.ok("alice", Tx::VerifyWithdrawalCredentials { slot: 20, validators: vec![2] });
            // k = (8 + 32) / 64 / (1/4) = 2.5; withdrawable 64 · 2.5 · 1/4 = 40.
            assert_eq!(w.s.position(a("alice"), BEACON).dsf, u(25 * E18 / 10));
            assert_eq!(w.withdrawable("alice", BEACON), eth(40));
            assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(40));
        }
    }
}

#[test]
fn undelegated_losses_are_baked_into_the_delegated_amount() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    w.report(20, vec![rec(1, "alice", ETH32, 8 * GWEI)], vec![]);
    w.checkpoint("alice", vec![1]);
    w.operator("op1", 0);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    // added = floor(floor(s · k) · l) = 32 · 1/4.
    assert_eq!(w.s.operator_shares(a("op1"), BEACON), eth(8));
    assert_eq!(w.withdrawable("alice", BEACON), eth(8));
}

#[test]
fn a_fully_slashed_pod_refuses_new_shares() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    let mut zero = rec(1, "alice", ETH32, 0);
    zero.slashed = true;
    w.report(20, vec![zero, rec(2, "alice", ETH32, ETH32)], vec![]);
    w.checkpoint("alice", vec![1]);
    assert_eq!(w.bcsf("alice"), 0);
    assert_eq!(w.withdrawable("alice", BEACON), U256::ZERO);
    let e = w.err("alice", Tx::VerifyWithdrawalCredentials { slot: 20, validators: vec![2] });
    assert_eq!(e, TxError::Pod(crate::pods::PodError::PodFullySlashed { owner: a("alice") }));
}

#[test]
fn redistribution_cannot_take_native_eth_and_pods_pause() {
    let mut w = World::new();
    w.ok("svc", Tx::RegisterService { metadata_uri: String::new() });
    let e = w.err(
        "svc",
        Tx::CreateOperatorSet {
            service: a("svc"),
            set_id: 0,
            strategies: vec![BEACON],
            slasher: a("s"),
            redistribution_recipient: Some(a("treasury")),
            consent: Default::default(),
            veto: None,
        },
    );
    assert_eq!(e.name(), "NativeStrategyNotRedistributable");
    w.ok("pauser", Tx::Pause { modules: vec![Module::Pods] });
    assert_eq!(
        w.err("alice", Tx::CreatePod {}),
        TxError::Paused { module: Module::Pods, action: crate::TxKind::CreatePod }
    );
}

#[test]
fn slashed_native_shares_are_recorded_when_cleared() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    let set = w.beacon_service("svc");
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    w.ok("svc_slasher", World::slash_tx(set, "op1", BEACON, WAD.to::<u128>() / 4));
    let total = |w: &World| w.s.strategy_total_shares(BEACON).unwrap();
    assert_eq!(total(&w), eth(32));
    w.to(w.block + w.s.params().slash_clearing_delay_blocks + 1);
    let ev = w.ok(
        "anyone",
        Tx::ClearBurnOrRedistributableShares { service: set.service, set_id: 0, slash_id: 1, strategy: None },
    );
    assert!(
        ev.iter().any(|e| matches!(e, Event::BurnOrRedistributableSharesDecreased { tokens, .. } if tokens.is_zero()))
    );
    // A record only (EigenLayer's burnableETHShares): the ETH stays in the pod, shares unchanged.
    assert_eq!(total(&w), eth(32));
    assert_eq!(w.withdrawable("alice", BEACON), eth(24));
}

#[test]
fn native_restaking_needs_a_native_asset() {
    let g = Genesis {
        params: Params::profile(Profile::Devnet),
        governor: a("gov"),
        unpauser: a("unpauser"),
        pausers: vec![],
        assets: vec![],
        oracle: Default::default(),
    };
    let mut s = State::genesis(&g).unwrap();
    let e = s.apply(&Ctx { sender: a("alice"), block: 1, time: 0 }, &Tx::CreatePod {}).unwrap_err();
    assert_eq!(e.name(), "NativeRestakingDisabled");
}

/// Review finding: after a slash, a loss, a new validator and more slashes, a sole delegator's
/// withdrawable can exceed the operator's beacon shares by a few wei (reference 7.3(1));
/// queueing everything must still work.
#[test]
fn the_beacon_drift_never_blocks_an_exit() {
    let mut drifted = 0;
    'cases: for i in 0..60u64 {
        let mut w = World::new();
        w.restake("alice", 1, 10);
        let set = w.beacon_service("svc");
        w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
        let first = 123_456_789_012_345_678u128 + u128::from(i) * 7_919_000_000_000_001;
        w.ok("svc_slasher", World::slash_tx(set, "op1", BEACON, first));
        let balance = ETH32 - 1_234_567 - i * 97_531;
        w.report(20, vec![rec(1, "alice", ETH32, balance), rec(2, "alice", ETH32, ETH32)], vec![]);
        w.checkpoint("alice", vec![1]);
        w.ok("alice", Tx::VerifyWithdrawalCredentials { slot: 20, validators: vec![2] });
        for j in 0..6u128 {
            w.to(w.block + 1);
            let wad = 97_000_000_000_000_003u128 + j * 31_000_000_000_000_007 + u128::from(i) * 13;
            w.ok("svc_slasher", World::slash_tx(set, "op1", BEACON, wad));
            if w.withdrawable("alice", BEACON) > w.s.operator_shares(a("op1"), BEACON) {
                drifted += 1;
                let q = QueueParams { strategies: vec![BEACON], deposit_shares: vec![w.deposit_shares("alice")] };
                w.ok("alice", Tx::QueueWithdrawals { withdrawals: vec![q] });
                assert_eq!(w.s.operator_shares(a("op1"), BEACON), U256::ZERO);
                if drifted >= 3 {
                    break 'cases;
                }
                continue 'cases;
            }
        }
    }
    assert!(drifted > 0, "no case reproduced the drift");
}

/// Review finding: the queued part of a beacon slash is priced without `l` and can overstate;
/// clearing it must never destroy shares that later withdrawals need.
#[test]
fn beacon_burns_are_records_and_leave_withdrawals_payable() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    w.report(20, vec![rec(1, "alice", ETH32, 16 * GWEI), rec(2, "alice", ETH32, ETH32)], vec![]);
    w.checkpoint("alice", vec![1]);
    // Undelegated: queue everything (pays 16 ETH later), then delegate and restake another 32.
    let q = |x| Tx::QueueWithdrawals {
        withdrawals: vec![QueueParams { strategies: vec![BEACON], deposit_shares: vec![x] }],
    };
    w.ok("alice", q(eth(32)));
    let set = w.beacon_service("svc");
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    w.ok("alice", Tx::VerifyWithdrawalCredentials { slot: 20, validators: vec![2] });
    w.ok("alice", q(eth(32)));
    w.ok("svc_slasher", World::slash_tx(set, "op1", BEACON, WAD.to::<u128>()));
    w.to(w.block + w.s.params().slash_clearing_delay_blocks + 1);
    w.ok("x", Tx::ClearBurnOrRedistributableShares { service: set.service, set_id: 0, slash_id: 1, strategy: None });
    // The first withdrawal still pays its 16 ETH once the pod has them.
    let mut gone = rec(1, "alice", 0, 0);
    gone.exited = true;
    w.report(30, vec![gone], vec![to_pod("alice", 1, 16 * GWEI)]);
    w.checkpoint("alice", vec![1, 2]);
    w.to(w.block + w.s.params().withdrawal_delay_blocks + 1);
    let before = w.s.balance(a("alice"), ETH);
    w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert_eq!(w.s.balance(a("alice"), ETH) - before, eth(16));
}

/// Review finding: the strategy limit counts token strategies only.
#[test]
fn beacon_shares_do_not_count_toward_the_strategy_limit() {
    let mut w = World::new();
    w.ok(
        "gov",
        Tx::Propose {
            action: crate::tx::GovernanceAction::SetParam { name: crate::tx::ParamName::MaxStakerStrategies, value: 1 },
        },
    );
    w.to(w.block + w.s.params().governance_timelock_blocks);
    w.ok("gov", Tx::ExecuteProposal { id: 1 });
    w.deposit("alice", ST, E18);
    w.restake("alice", 1, 10);
    assert_eq!(w.deposit_shares("alice"), eth(32));
    assert_eq!(w.err("alice", Tx::Deposit { strategy: RE, amount: u(E18) }).name(), "MaxStrategiesExceeded");
}

#[test]
fn validators_without_an_activation_epoch_cannot_be_verified() {
    let mut w = World::new();
    w.ok("alice", Tx::CreatePod {});
    let mut pending = rec(1, "alice", ETH32, ETH32);
    pending.activation_epoch_set = false;
    w.report(10, vec![pending], vec![]);
    let e = w.err("alice", Tx::VerifyWithdrawalCredentials { slot: 10, validators: vec![1] });
    assert_eq!(e.name(), "ValidatorNotActivated");
}

#[test]
fn sub_gwei_payouts_and_uneven_losses_round_down() {
    let mut w = World::new();
    w.restake("alice", 1, 10);
    // P = 32 ETH, D = 1 gwei·7: l = floor(1e18 · (32e9 − 7) / 32e9).
    w.report(20, vec![rec(1, "alice", ETH32, ETH32 - 7)], vec![to_pod("alice", 1, 3)]);
    w.checkpoint("alice", vec![1]);
    // The pod's 3 gwei offset 3 of the 7 lost: net −4 gwei on P = 32 ETH.
    let l = (U256::from(10u8).pow(U256::from(18u8)) * U256::from(ETH32 - 4)) / U256::from(ETH32);
    assert_eq!(U256::from(w.bcsf("alice")), l);
    // Withdraw 1.5 gwei + 1 wei of shares: paid 1 gwei, the rest dropped, shares burned.
    w.ok(
        "alice",
        Tx::QueueWithdrawals {
            withdrawals: vec![QueueParams { strategies: vec![BEACON], deposit_shares: vec![u(1_500_000_001)] }],
        },
    );
    w.to(w.block + w.s.params().withdrawal_delay_blocks + 1);
    let total = w.s.strategy_total_shares(BEACON).unwrap();
    let before = w.s.balance(a("alice"), ETH);
    w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert_eq!(w.s.balance(a("alice"), ETH) - before, u(1_000_000_000));
    assert_eq!(w.s.pod(a("alice")).unwrap().restaked_gwei, 2);
    let paid = w.s.strategy_total_shares(BEACON).unwrap();
    assert!(paid < total && total - paid <= u(1_500_000_001));
}

/// §4.2: only the StrategyManager refuses a zero amount (`SharesAmountZero`); the EigenPodManager
/// takes a zero beacon entry, so it is queued, uses its nonce (later nonces and roots stay
/// EigenLayer's) and pays nothing at completion, with or without a pod.
#[test]
fn a_zero_share_beacon_entry_is_queued_and_uses_its_nonce() {
    let mut w = World::new();
    w.beacon_service("svc");
    w.restake("alice", 1, 10);
    w.ok("alice", Tx::DelegateTo { operator: a("op1"), approval_salt: None });
    let q = |s: StrategyId, x: U256| Tx::QueueWithdrawals {
        withdrawals: vec![QueueParams { strategies: vec![s], deposit_shares: vec![x] }],
    };
    let queued = |ev: &[Event]| {
        ev.iter()
            .find_map(|e| match e {
                Event::WithdrawalQueued { nonce, scaled_shares, withdrawable_shares, delegated_to, .. } => {
                    Some((*nonce, scaled_shares.to_vec(), withdrawable_shares.to_vec(), *delegated_to))
                }
                _ => None,
            })
            .expect("WithdrawalQueued")
    };
    let op_before = w.s.operator_shares(a("op1"), BEACON);
    assert_eq!(op_before, eth(32));
    let ev = w.ok("alice", q(BEACON, U256::ZERO));
    assert_eq!(queued(&ev), (0, vec![U256::ZERO], vec![U256::ZERO], Some(a("op1"))));
    assert_eq!(w.s.withdrawal(a("alice"), 0).expect("queued").scaled_shares, vec![U256::ZERO]);
    assert_eq!(w.deposit_shares("alice"), eth(32));
    assert_eq!(w.s.operator_shares(a("op1"), BEACON), op_before);
    // The nonce was used: the next withdrawal is number 1.
    let ev = w.ok("alice", q(BEACON, eth(1)));
    assert_eq!(queued(&ev), (1, vec![eth(1)], vec![eth(1)], Some(a("op1"))));
    assert_eq!(w.s.staker(a("alice")).expect("record").withdrawal_nonce, 2);
    // A token strategy still refuses zero, with or without shares in it.
    assert_eq!(w.err("alice", q(ST, U256::ZERO)).name(), "SharesAmountZero");
    // A staker with no pod and no shares may queue it too (EigenPodManager: 0 − 0 ≥ 0).
    let ev = w.ok("bob", q(BEACON, U256::ZERO));
    assert_eq!(queued(&ev), (0, vec![U256::ZERO], vec![U256::ZERO], None));
    // Completed after the delay (1 + 50 + 1), it pays nothing, as tokens or as shares.
    w.to(52);
    let ev = w.ok("alice", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: true });
    assert!(ev.iter().any(|e| matches!(e, Event::WithdrawalCompleted { nonce: 0, shares, tokens, .. }
        if shares == &vec![U256::ZERO] && tokens == &vec![U256::ZERO])));
    let ev = w.ok("bob", Tx::CompleteWithdrawal { nonce: 0, receive_as_tokens: false });
    assert!(ev.iter().any(|e| matches!(e, Event::WithdrawalCompleted { shares, .. } if shares == &vec![U256::ZERO])));
    assert_eq!(w.deposit_shares("alice"), eth(31));
    assert_eq!(w.deposit_shares("bob"), U256::ZERO);
    // Bob's record keeps his nonce so a later withdrawal cannot reuse number 0.
    assert_eq!(w.s.staker(a("bob")).expect("record").withdrawal_nonce, 1);
}

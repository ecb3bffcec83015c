//! Targets against the policy: every refusal with its numbers, and the worst loss computed.

use super::*;
use crate::vault::{ServiceCap, VaultError};

#[test]
fn targets_record_their_worst_single_service_loss() {
    let mut v = VaultWorld::new();
    let ev = v.w.ok("keeper", VaultWorld::targets_tx(4_000, 4_000));
    // svcA can take 30% of op1 and 50% of op2: 1 200 + 2 000 bps; svcB 20% of op1: 800 bps.
    assert!(ev.iter().any(
        |e| matches!(e, Event::VaultTargetsSet { worst_loss_bps: 3_200, worst_service: Some(s), .. } if *s == a("svcA"))
    ));
    let t = v.w.s.vaults.get(&V).unwrap().targets.clone().unwrap();
    assert_eq!((t.worst_loss_bps, t.buffer_bps), (3_200, 2_000));
    let ex = crate::vault::exposure_bps(&v.w.s, &t.operators, &v.w.s.vault_strategies(V).unwrap(), v.w.block).unwrap();
    let mut want = vec![(a("svcA"), 3_200u16), (a("svcB"), 800)];
    want.sort();
    assert_eq!(ex, want);
}

#[test]
fn targets_that_break_the_policy_are_refused_with_their_numbers() {
    let mut v = VaultWorld::new();
    assert_eq!(
        v.err("alice", VaultWorld::targets_tx(4_000, 4_000)),
        VaultError::NotKeeper { sender: a("alice"), keeper: a("keeper") }.into()
    );
    assert_eq!(
        v.err("keeper", VaultWorld::targets_tx(6_100, 2_000)),
        VaultError::OperatorCapExceeded { operator: a("op1"), bps: 6_100, cap_bps: 6_000 }.into()
    );
    assert_eq!(
        v.err("keeper", VaultWorld::targets_tx(5_000, 4_500)),
        VaultError::BufferBelowMinimum { buffer_bps: 500, min_bps: 1_000 }.into()
    );
    // op2 at 6 000 and op1 at 3 000: svcA takes 900 + 3 000 = 3 900 bps, under the 5 000 cap.
    v.w.ok("keeper", VaultWorld::targets_tx(3_000, 6_000));
    // A per-service cap of 3 000 bps on svcA refuses it.
    let mut p = policy();
    p.service_caps = vec![ServiceCap { service: a("svcA"), cap_bps: 3_000 }];
    v.gov(GovernanceAction::SetVaultPolicy { vault: V, policy: p.clone() });
    assert_eq!(
        v.err("keeper", VaultWorld::targets_tx(3_000, 6_000)),
        VaultError::ServiceCapExceeded { service: a("svcA"), exposure_bps: 3_900, cap_bps: 3_000 }.into()
    );
    // A risk budget of 2 000 bps refuses 3 200.
    p.service_caps.clear();
    p.risk_budget_bps = 2_000;
    v.gov(GovernanceAction::SetVaultPolicy { vault: V, policy: p });
    assert_eq!(
        v.err("keeper", VaultWorld::targets_tx(4_000, 4_000)),
        VaultError::RiskBudgetExceeded { service: a("svcA"), loss_bps: 3_200, budget_bps: 2_000 }.into()
    );
    v.w.ok("keeper", VaultWorld::targets_tx(4_000, 0));
    // Shapes: an operator twice, weights not summing to 10 000, an unknown operator.
    let ops = vec![TargetWeight { operator: a("op1"), bps: 1 }, TargetWeight { operator: a("op1"), bps: 1 }];
    let tx = Tx::VaultSetTargets(SetTargets { vault: V, buffer_bps: 9_998, operators: ops });
    assert_eq!(v.err("keeper", tx), VaultError::DuplicateTarget { operator: a("op1") }.into());
    let tx = Tx::VaultSetTargets(SetTargets { vault: V, buffer_bps: 9_000, operators: vec![] });
    assert_eq!(v.err("keeper", tx), VaultError::TargetsDoNotSum { sum: 9_000 }.into());
    let tx = Tx::VaultSetTargets(SetTargets {
        vault: V,
        buffer_bps: 9_000,
        operators: vec![TargetWeight { operator: a("op9"), bps: 1_000 }],
    });
    assert_eq!(v.err("keeper", tx), VaultError::OperatorNotAllowed { vault: V, operator: a("op9") }.into());
}

#[test]
fn governance_refuses_a_bad_vault_configuration() {
    let mut v = VaultWorld::new();
    let mut p = params();
    p.performance_fee_bps = 2_001;
    let e = v.err("gov", Tx::Propose { action: GovernanceAction::SetVaultParams { vault: V, params: p } });
    assert_eq!(e, VaultError::InvalidParam { name: "performance_fee_bps", value: 2_001, max: 2_000 }.into());
    let mut p = params();
    p.management_fee_bps = 201;
    assert_eq!(
        v.err("gov", Tx::Propose { action: GovernanceAction::SetVaultParams { vault: V, params: p } }).name(),
        "InvalidParam"
    );
    let mut s = spec();
    s.quorum = 1;
    assert_eq!(
        v.err("gov", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(s)) }),
        VaultError::InvalidQuorum { members: 3, quorum: 1 }.into()
    );
    let mut s = spec();
    s.assets.retain(|x| x.asset != ETH);
    assert_eq!(
        v.err("gov", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(s)) }).name(),
        "NativeAssetMissing"
    );
    let mut s = spec();
    s.guardian = crate::BURN_ADDRESS;
    assert_eq!(v.err("gov", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(s)) }).name(), "ReservedRole");
    let mut s = spec();
    s.committee.push(s.committee[0]);
    s.quorum = 3;
    assert_eq!(
        v.err("gov", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(s)) }),
        VaultError::DuplicateEntry { list: "committee" }.into()
    );
    assert_eq!(
        v.err("bob", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(spec())) }).name(),
        "NotGovernor"
    );
}

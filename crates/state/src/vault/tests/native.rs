//! Native validators: 32 ETH deposits from the buffer, in transit until verified through the
//! place's pod, then beacon shares; checkpoint gains are base staking.

use cairn_primitives::U256;

use super::*;
use crate::{
    oracle::{BeaconWithdrawal, ValidatorRecord},
    pods::{pod_address, pod_credentials},
    vault::{
        Source, sub_account,
        tx::{StartCheckpoint, VerifyValidators},
    },
};

const GWEI: u64 = 1_000_000_000;

fn record(index: u64, owner: cairn_primitives::Address, balance_gwei: u64) -> ValidatorRecord {
    ValidatorRecord {
        index,
        withdrawal_credentials: pod_credentials(pod_address(owner)),
        effective_balance_gwei: 32 * GWEI,
        balance_gwei,
        slashed: false,
        exited: false,
        activation_epoch_set: true,
    }
}

fn report(v: &mut VaultWorld, slot: u64, validators: Vec<ValidatorRecord>, withdrawals: Vec<BeaconWithdrawal>) {
    let tx = Tx::PostBeaconReport { slot, validators, withdrawals };
    v.w.ok("oracle1", tx.clone());
    v.w.ok("oracle2", tx);
}

#[test]
fn eth_goes_to_validators_and_earns_through_checkpoints() {
    let mut v = VaultWorld::new();
    v.deposit("alice", ETH, 100 * E18);
    // op1 40%: 40 ETH due, one 32 ETH validator fits; op2 40%: one more.
    v.w.ok("keeper", VaultWorld::targets_tx(4_000, 4_000));
    let ev = v.rebalance();
    let deposits: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::VaultValidatorsDeposited { operator, count, .. } => Some((*operator, *count)),
            _ => None,
        })
        .collect();
    assert_eq!(deposits.len(), 2);
    assert!(deposits.iter().all(|(_, c)| *c == 1));
    // In transit, the ETH still counts at face value.
    let view = v.w.s.vault_view(V, v.w.block, v.w.block * 2).unwrap();
    assert_eq!(view.total_assets, u(100 * E18));
    assert_eq!(v.w.s.balance(crate::vault::beacon_deposit_address(), ETH), u(64 * E18));
    // The beacon chain shows op1's validator; anyone verifies it for the vault.
    let sub = sub_account(V, a("op1"));
    report(&mut v, 10, vec![record(7, sub, 32 * GWEI)], vec![]);
    let verify =
        |slot| Tx::VaultVerifyValidators(VerifyValidators { vault: V, operator: a("op1"), slot, validators: vec![7] });
    v.w.ok("anyone", verify(10));
    assert_eq!(v.w.s.vault_place(V, a("op1")).unwrap().pending_validators, 0);
    assert_eq!(v.w.s.withdrawable_shares(sub, crate::tests::BEACON).unwrap(), u(32 * E18));
    assert_eq!(v.w.s.vault_total_assets(V, v.w.block).unwrap(), u(100 * E18));
    // It earns 0.01 ETH, skimmed to the pod; a checkpoint credits it as base staking.
    v.advance(1);
    report(
        &mut v,
        11,
        vec![record(7, sub, 32 * GWEI)],
        vec![BeaconWithdrawal { validator_index: 7, address: pod_address(sub), amount_gwei: GWEI / 100 }],
    );
    v.w.ok("anyone", Tx::VaultStartCheckpoint(StartCheckpoint { vault: V, operator: a("op1") }));
    v.w.ok("anyone", Tx::VerifyCheckpointProofs { pod_owner: sub, validators: vec![7] });
    assert_eq!(v.w.s.vault_total_assets(V, v.w.block).unwrap(), u(100 * E18 + E18 / 100));
    let open = v.w.s.vault_open_attribution(V);
    let base: i128 = open.iter().filter(|(s, _)| *s == Source::BaseStaking).map(|(_, p)| p.value).sum();
    assert_eq!(base, (E18 / 100) as i128);
    // Refusals: an operator without a place.
    let tx =
        Tx::VaultVerifyValidators(VerifyValidators { vault: V, operator: a("op9"), slot: 11, validators: vec![7] });
    assert_eq!(v.err("anyone", tx).name(), "NoPlace");
    let _ = U256::ZERO;
}

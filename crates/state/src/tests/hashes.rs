//! Test vectors for the identifiers the state machine hashes: a withdrawal's root and a beacon
//! report's root are `cairn_primitives::canonical` hashes, pinned here so that a dependency
//! upgrade that changes one byte of the encoding fails a test instead of changing ids.

use cairn_primitives::{Address, B256, StrategyId, U256};

use crate::{
    oracle::{BeaconReport, BeaconWithdrawal, ValidatorRecord},
    withdrawals::Withdrawal,
};

#[test]
fn a_withdrawal_root_is_pinned() {
    let w = Withdrawal {
        delegated_to: Some(Address::repeat_byte(0x11)),
        start_block: 1_000,
        strategies: vec![StrategyId(1), StrategyId(3)],
        scaled_shares: vec![U256::from(10u64).pow(U256::from(18u64)), U256::from(7u8)],
    };
    // Pinned when the root was a stored field hashed as zero: computing it on demand kept its value.
    let root = w.root(Address::repeat_byte(0x22), 4u64).expect("encodes");
    assert_eq!(root.to_string(), PINNED_WITHDRAWAL, "the withdrawal root's encoding changed");
}

#[test]
fn a_beacon_report_root_is_pinned() {
    let report = BeaconReport {
        slot: 12_345,
        validators: vec![ValidatorRecord {
            index: 9,
            withdrawal_credentials: B256::repeat_byte(0x01),
            effective_balance_gwei: 32_000_000_000,
            balance_gwei: 32_000_000_001,
            slashed: false,
            exited: false,
            activation_epoch_set: true,
        }],
        withdrawals: vec![BeaconWithdrawal { validator_index: 9, address: Address::repeat_byte(0x33), amount_gwei: 5 }],
    };
    assert_eq!(report.root().expect("encodes").to_string(), PINNED_REPORT, "the report root's encoding changed");
}

const PINNED_WITHDRAWAL: &str = "0xfbfa48430a70dfbaec23148ed770d22f62ec8a46427c56962c76195a685ef0b3";
const PINNED_REPORT: &str = "0x9e5b2b68e2d325ed7b2428ab1afe7012494c67d1e77eefdb02966c9b8e7cd1c2";

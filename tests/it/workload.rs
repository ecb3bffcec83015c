//! The EigenLayer comparison workload of `cargo bench --bench workload`, run once as a test: the
//! speed work of issue 17 must not move a single wei of its figures.

use cairn_bench::workload::{self, A_DELEGATORS, A_SHARES_AFTER_SLASHES, Op, tokens6};
use cairn_primitives::U256;

#[test]
fn the_comparison_workload_reproduces_eigenlayers_figures_to_the_wei() {
    let out = workload::run();
    assert_eq!(tokens6(out.a_shares_after_slashes), A_SHARES_AFTER_SLASHES);
    // The exact wei, from EigenLayer's rules worked by hand: each slash takes ⌈allocated · 0.1%⌉
    // magnitude, the max magnitude ends at 0.683847712385481706, and A's 100,000 tokens of shares
    // scale with it (exactly: they are a whole multiple of 1e18).
    assert_eq!(out.a_shares_after_slashes, U256::from(68_384_771_238_548_170_600_000u128));
    // Full withdrawals pay out what the slashes left, never more (each staker rounds down).
    assert!(out.a_stakers_withdrawn <= out.a_shares_after_slashes);
    assert!(out.a_shares_after_slashes - out.a_stakers_withdrawn < U256::from(A_DELEGATORS));
    let calls = |op| out.samples.0.get(&op).map_or(0, Vec::len);
    assert_eq!(calls(Op::Deposit), 2_000);
    assert_eq!(calls(Op::DelegateHolding) + calls(Op::DelegateFirst), 2_000);
    assert_eq!(calls(Op::SlashRepeat) + calls(Op::SlashFirst), 2_998);
    assert_eq!(calls(Op::CompleteWithdrawal), 1_000);
    let block = out.state.last_block();
    out.state.check_invariants(block).unwrap_or_else(|v| panic!("invariant broken after the workload: {v:?}"));
}

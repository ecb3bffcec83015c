//! Rewards: the sub-accounts' earnings claimed into the buffer, attributed to the paying service.

use cairn_primitives::{
    Bytes,
    merkle::{earner_leaf, token_leaf},
};

use super::*;
use crate::{
    rewards::{RewardsClaim, RewardsSubmission, StrategyMultiplier, TokenLeaf},
    vault::{Source, sub_account, tx::ClaimRewards},
};

const DAY: u64 = 86_400;

#[test]
fn rewards_are_claimed_into_the_buffer_and_attributed() {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 1_000 * E18);
    v.w.ok("keeper", VaultWorld::targets_tx(4_000, 4_000));
    v.rebalance();
    // svcA pays 10 stETH for day 8.
    v.w.ok("alice", Tx::Transfer { asset: STETH, to: a("svcA"), amount: u(100 * E18) });
    v.to(10 * DAY / 2);
    let submission = RewardsSubmission {
        strategies_and_multipliers: vec![StrategyMultiplier { strategy: ST, multiplier: u(E18) }],
        token: STETH,
        amount: u(10 * E18),
        start: 8 * DAY,
        duration: DAY,
    };
    v.w.ok("svcA", Tx::CreateRewardsSubmission { service: a("svcA"), submissions: vec![submission] });
    // The calculator found 3 stETH for op1's sub-account (a one-leaf tree).
    let sub = sub_account(V, a("op1"));
    let token = v.w.s.asset_address(STETH).unwrap();
    let leaf = token_leaf(token, u(3 * E18));
    let root = earner_leaf(sub, leaf);
    v.w.ok("gov", Tx::SubmitRoot { root, calculation_end: 9 * DAY });
    v.advance(v.w.s.params().rewards_activation_delay_seconds / 2 + 1);
    let claim = RewardsClaim {
        root_index: 0,
        earner_index: 0,
        earner_tree_proof: Bytes::new(),
        earner: sub,
        earner_token_root: leaf,
        token_indices: vec![0],
        token_tree_proofs: vec![Bytes::new()],
        token_leaves: vec![TokenLeaf { token, cumulative_earnings: u(3 * E18) }],
    };
    let before = v.w.s.vault_total_assets(V, v.w.block).unwrap();
    // Only the vault's sub-accounts.
    let mut foreign = claim.clone();
    foreign.earner = a("alice");
    let e = v.err("anyone", Tx::VaultClaimRewards(ClaimRewards { vault: V, claims: vec![foreign] }));
    assert_eq!(e, crate::vault::VaultError::NotVaultEarner { vault: V, earner: a("alice") }.into());
    assert_eq!(v.err("anyone", Tx::VaultClaimRewards(ClaimRewards { vault: V, claims: vec![] })).name(), "NoClaims");
    let ev = v.w.ok("anyone", Tx::VaultClaimRewards(ClaimRewards { vault: V, claims: vec![claim.clone()] }));
    assert!(ev.iter().any(|e| matches!(e, Event::VaultRewardsClaimed { .. })));
    assert_eq!(v.w.s.vault_total_assets(V, v.w.block).unwrap(), before + u(3 * E18));
    let open = v.w.s.vault_open_attribution(V);
    let part = open.iter().find(|(s, _)| *s == Source::Service { service: a("svcA") }).expect("svcA part").1;
    assert_eq!(part.value, (3 * E18) as i128);
    // The same claim again is refused by the core.
    assert_eq!(
        v.err("anyone", Tx::VaultClaimRewards(ClaimRewards { vault: V, claims: vec![claim] })).name(),
        "EarningsNotGreaterThanClaimed"
    );
}

//! The rate: settlement within bounds, quarantine, the guardian, fees, the sandwich, and the
//! slash reserve.

use super::*;
use crate::vault::{Source, VaultError, book::Breach};

/// A vault with 1 000 stETH from alice, targets op1 40% / op2 40% / buffer 20%, rebalanced.
fn invested() -> VaultWorld {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 1_000 * E18);
    v.w.ok("keeper", VaultWorld::targets_tx(4_000, 4_000));
    v.rebalance();
    v
}

#[test]
fn an_update_within_bounds_settles_and_records() {
    let mut v = VaultWorld::new();
    v.deposit("alice", RETH, 100 * E18);
    // A day (43 200 blocks of 2 s) later rETH is up 0.045%: inside the 20%/yr APR cap (0.0548%
    // a day) and the 0.5% per-update cap.
    v.advance(43_200);
    v.prices(&[(STETH, E18), (RETH, 11_005 * E18 / 10_000)]);
    let cur = v.current();
    let ev = v.update();
    assert!(ev.iter().any(|e| matches!(e, Event::VaultRateSettled(r) if r.number == 0)));
    assert_eq!(v.settled(), cur);
    let hist = v.w.s.vault_rate_history(V, 0, 10);
    assert_eq!(hist.len(), 1);
    let rec = &hist[0].1;
    // The parts sum to the change exactly.
    let sum: i128 = rec.attribution.iter().map(|(_, p)| p.rate).sum();
    assert_eq!(sum, i128::try_from(rec.rate).unwrap() - i128::try_from(rec.previous).unwrap());
    assert!(rec.attribution.iter().any(|(s, p)| *s == Source::BaseStaking && p.rate > 0));
    assert!(rec.attribution.iter().any(|(s, p)| *s == Source::Fees && p.rate < 0));
}

#[test]
fn a_jump_is_quarantined_until_the_guardian_decides() {
    let mut v = VaultWorld::new();
    v.deposit("alice", RETH, 100 * E18);
    v.advance(1);
    // +1% in two seconds breaks the APR cap (and the 0.5% per-update cap).
    v.prices(&[(STETH, E18), (RETH, 1_111 * E18 / 1_000)]);
    let ev = v.update();
    assert!(ev.iter().any(|e| matches!(e, Event::VaultRateQuarantined { breach: Breach::UpCap, .. })));
    assert_eq!(v.settled(), wad());
    let q = v.book().quarantine.expect("quarantine");
    // Minting, redemption and tickets pause.
    let e = v.err("bob", VaultWorld::deposit_tx(STETH, E18));
    assert_eq!(e, VaultError::RateQuarantined { vault: V, rate: q.rate, previous: wad() }.into());
    assert_eq!(v.err("alice", VaultWorld::redeem_tx(u(E18), RETH)).name(), "RateQuarantined");
    assert_eq!(v.err("anyone", Tx::VaultUpdateRate(VaultRef { vault: V })).name(), "RateQuarantined");
    // Only the guardian decides.
    assert_eq!(v.err("keeper", Tx::VaultAcceptRate(VaultRef { vault: V })).name(), "NotGuardian");
    v.w.ok("guardian", Tx::VaultRejectRate(VaultRef { vault: V }));
    assert_eq!(v.err("guardian", Tx::VaultRejectRate(VaultRef { vault: V })).name(), "NotQuarantined");
    assert_eq!(v.settled(), wad());
    v.update();
    let ev = v.w.ok("guardian", Tx::VaultAcceptRate(VaultRef { vault: V }));
    assert!(ev.iter().any(|e| matches!(e, Event::VaultRateAccepted { .. })));
    assert!(v.settled() > wad());
    let rec = v.w.s.vault_rate_history(V, 0, 5).pop().expect("record").1;
    assert!(rec.accepted_from_quarantine);
    v.deposit("bob", STETH, E18);
}

#[test]
fn a_sandwich_around_a_rate_update_earns_nothing() {
    let mut v = VaultWorld::new();
    // No instant fee, so only the rate rule stands between the attacker and a profit.
    let mut p = params();
    p.instant_fee_min_bps = 0;
    p.instant_fee_max_bps = 0;
    v.gov(GovernanceAction::SetVaultParams { vault: V, params: p });
    v.deposit("alice", RETH, 1_000 * E18);
    v.w.ok("keeper", VaultWorld::targets_tx(0, 0));
    v.advance(43_200);
    v.prices(&[(STETH, E18), (RETH, 11_005 * E18 / 10_000)]);
    // The attacker deposits right before the update and redeems right after.
    let before = v.w.s.balance(a("attacker"), STETH);
    let t = v.deposit("attacker", STETH, 100 * E18);
    v.update();
    let paid = v.redeem("attacker", t, STETH);
    assert!(paid <= u(100 * E18), "the sandwich paid {paid}");
    assert!(v.w.s.balance(a("attacker"), STETH) <= before);
    // And around a price report: the settled rate has not moved, so the redemption is at it.
    let t = v.deposit("attacker", STETH, 100 * E18);
    v.advance(10);
    v.prices(&[(STETH, E18), (RETH, 11_006 * E18 / 10_000)]);
    let paid = v.redeem("attacker", t, STETH);
    assert!(paid <= u(100 * E18), "the report sandwich paid {paid}");
}

#[test]
fn fees_are_minted_as_tokens_without_a_jump() {
    let mut v = VaultWorld::new();
    v.deposit("alice", RETH, 1_000 * E18);
    v.advance(43_200);
    v.prices(&[(STETH, E18), (RETH, 11_005 * E18 / 10_000)]);
    let gross = v.w.s.valuation(V, v.w.block).unwrap().assets;
    let ev = v.update();
    let Some(Event::VaultFeesMinted { tokens, performance, .. }) =
        ev.iter().find(|e| matches!(e, Event::VaultFeesMinted { .. })).cloned()
    else {
        panic!("no fee mint: {ev:?}")
    };
    // 10% of the 0.5 ETH gain (less the mark's rounding slack: 1 100 wei of value).
    assert_eq!(performance, u(5 * E18 / 100 - 110));
    assert_eq!(v.tokens("treasury"), tokens);
    // The rate after is the net rate: (gross − fee) / old supply, to the wei (rounded down).
    let net = crate::vault::book::rate(gross - performance, u(1_100 * E18)).unwrap();
    assert!(v.settled() >= net && v.settled() - net <= u(1));
    // A second update at once charges nothing more (the high-water mark moved).
    let ev = v.update();
    assert!(!ev.iter().any(|e| matches!(e, Event::VaultFeesMinted { .. })));
}

#[test]
fn a_slash_request_is_reserved_at_once_and_released_by_a_veto() {
    let mut v = invested();
    let before = v.current();
    let staked = v.w.s.withdrawable_shares(crate::vault::sub_account(V, a("op1")), ST).unwrap();
    assert_eq!(staked, u(400 * E18));
    // svcB (veto window 10) requests 50% of its allocation: 20% of op1's magnitude × 50% = 10%.
    let ev = v.w.ok("svcB_slasher", World::slash_tx(v.b, "op1", ST, E18 / 2));
    assert!(ev.iter().any(|e| matches!(e, Event::SlashRequested { .. })));
    let view = v.w.s.vault_view(V, v.w.block, v.w.block * 2).unwrap();
    assert_eq!(view.reserve, u(40 * E18));
    let after = v.current();
    assert_eq!(after, crate::vault::book::rate(u(960 * E18), u(1_000 * E18)).unwrap());
    assert!(after < before);
    // Early leavers pay the reserve: instant redemption is at min(settled, current).
    let paid = v.redeem("alice", u(10 * E18), STETH);
    assert!(paid < u(96 * E18 / 10));
    let open = v.w.s.vault_open_attribution(V);
    assert!(
        open.iter()
            .any(|(s, p)| matches!(s, Source::SlashReserve { request_id: 1, .. }) && p.value == -(40 * E18 as i128))
    );
    // The committee vetoes: the reserve is released.
    v.w.ok("vetoer", Tx::VetoSlash { service: a("svcB"), set_id: 0, request_id: 1 });
    assert_eq!(v.w.s.vault_view(V, v.w.block, v.w.block * 2).unwrap().reserve, U256::ZERO);
    assert!(v.current() > after);
    let open = v.w.s.vault_open_attribution(V);
    assert!(open.iter().any(|(s, p)| matches!(s, Source::SlashReserve { request_id: 1, .. }) && p.value == 0));
}

#[test]
fn an_executed_slash_turns_the_reserve_into_a_loss() {
    let mut v = invested();
    v.w.ok("svcB_slasher", World::slash_tx(v.b, "op1", ST, E18 / 2));
    let reserved = v.current();
    v.advance(10);
    v.w.ok("anyone", Tx::ExecuteSlash { service: a("svcB"), set_id: 0, request_id: 1 });
    let view = v.w.s.vault_view(V, v.w.block, v.w.block * 2).unwrap();
    assert_eq!(view.reserve, U256::ZERO);
    // The loss equals the reserve: the rate does not move again on execution.
    assert_eq!(v.current(), reserved);
    let open = v.w.s.vault_open_attribution(V);
    let slash = open.iter().find(|(s, _)| matches!(s, Source::Slash { .. })).expect("slash part").1;
    assert_eq!(slash.value, -(40 * E18 as i128));
    // The update is a 4% drop: quarantined (the per-update down cap is 0.1%).
    let ev = v.update();
    assert!(ev.iter().any(|e| matches!(e, Event::VaultRateQuarantined { breach: Breach::DownCap, .. })));
    v.w.ok("guardian", Tx::VaultAcceptRate(VaultRef { vault: V }));
    let rec = v.w.s.vault_rate_history(V, 0, 5).pop().unwrap().1;
    let sum: i128 = rec.attribution.iter().map(|(_, p)| p.rate).sum();
    assert_eq!(sum, i128::try_from(rec.rate).unwrap() - i128::try_from(rec.previous).unwrap());
}

#[test]
fn exit_fees_stay_with_the_holders_and_rewards_pay_the_performance_fee() {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 100 * E18);
    v.deposit("bob", STETH, 100 * E18);
    // alice leaves half at once and pays the instant fee: the rate rises for bob and her.
    let paid = v.redeem("alice", u(50 * E18), STETH);
    assert!(paid < u(50 * E18));
    assert!(v.current() > wad());
    // The next flows mint no performance fee on it: the mark moved with the rate.
    v.deposit("carol", STETH, E18);
    v.redeem("bob", u(E18), STETH);
    assert_eq!(v.tokens("treasury"), U256::ZERO);
    assert_eq!(v.book().hwm, v.current());
    // A price rise is a reward: the next flow charges 10% of it.
    v.advance(100);
    v.prices(&[(STETH, 1_001 * E18 / 1_000)]);
    v.deposit("carol", STETH, E18);
    assert!(v.tokens("treasury") > U256::ZERO);
}

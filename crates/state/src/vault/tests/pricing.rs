//! The price committee: quorum, median, bounds, staleness, membership.

use super::*;

#[test]
fn a_round_takes_the_median_of_a_quorum() {
    let mut v = VaultWorld::new();
    let round = v.next_round();
    let r1 = v.report(round, &[(RETH, 1_105 * E18 / 1_000)]);
    let r3 = v.report(round, &[(RETH, 1_102 * E18 / 1_000)]);
    v.w.ok("p1", Tx::VaultReportPrices(r1));
    // One report is not a quorum: the price stays.
    assert_eq!(v.w.s.asset_book(V, RETH).price, u(11 * E18 / 10));
    let ev = v.w.ok("p3", Tx::VaultReportPrices(r3));
    assert!(ev.iter().any(|e| matches!(e, Event::VaultPricesAccepted { .. })));
    // Lower median of {1.102, 1.105}.
    assert_eq!(v.w.s.asset_book(V, RETH).price, u(1_102 * E18 / 1_000));
    assert_eq!(v.book().price_round, round);
}

#[test]
fn report_refusals() {
    let mut v = VaultWorld::new();
    let round = v.next_round();
    let ok = v.report(round, &[(RETH, 11 * E18 / 10)]);
    assert_eq!(v.err("stranger", Tx::VaultReportPrices(ok.clone())).name(), "NotCommitteeMember");
    let stale = v.report(1, &[(RETH, 11 * E18 / 10)]);
    assert_eq!(
        v.err("p1", Tx::VaultReportPrices(stale)),
        crate::vault::VaultError::StaleRound { round: 1, last: 1 }.into()
    );
    v.w.ok("p1", Tx::VaultReportPrices(ok.clone()));
    assert_eq!(v.err("p1", Tx::VaultReportPrices(ok)).name(), "AlreadyReported");
    // More than 1% away from the accepted 1.1.
    let far = v.report(round, &[(RETH, 1_112 * E18 / 1_000)]);
    let e = v.err("p2", Tx::VaultReportPrices(far));
    assert_eq!(
        e,
        crate::vault::VaultError::PriceOutOfBounds {
            asset: RETH,
            previous: u(11 * E18 / 10),
            price: u(1_112 * E18 / 1_000),
            max_change_bps: 100
        }
        .into()
    );
    assert_eq!(v.err("p2", Tx::VaultReportPrices(v.report(round, &[(ETH, E18)]))).name(), "NativeAssetPriced");
    assert_eq!(v.err("p2", Tx::VaultReportPrices(v.report(round, &[(AssetId(8), E18)]))).name(), "UnknownVaultAsset");
    assert_eq!(v.err("p2", Tx::VaultReportPrices(v.report(round, &[]))).name(), "EmptyReport");
    assert_eq!(v.err("p2", Tx::VaultReportPrices(v.report(round, &[(STETH, 0)]))).name(), "ZeroPrice");
    let twice = v.report(round, &[(RETH, 11 * E18 / 10), (RETH, 11 * E18 / 10)]);
    assert_eq!(
        v.err("p2", Tx::VaultReportPrices(twice)),
        crate::vault::VaultError::DuplicatePrice { asset: RETH }.into()
    );
    // Any order is fine.
    v.w.ok("p2", Tx::VaultReportPrices(v.report(round, &[(RETH, 11 * E18 / 10), (STETH, E18)])));
}

#[test]
fn a_price_rise_is_base_staking_in_the_attribution() {
    let mut v = VaultWorld::new();
    v.deposit("alice", RETH, 100 * E18);
    v.advance(10);
    v.prices(&[(STETH, E18), (RETH, 1_101 * E18 / 1_000)]);
    let open = v.w.s.vault_open_attribution(V);
    // 100 rETH × 0.001 = 0.1 ETH of value, over 110 tokens.
    let (s, p) = open.iter().find(|(s, _)| *s == crate::vault::Source::BaseStaking).copied().expect("base staking");
    assert_eq!(s, crate::vault::Source::BaseStaking);
    assert_eq!(p.value, (E18 / 10) as i128);
    assert_eq!(p.rate, (E18 / 10 * E18 / (110 * E18)) as i128);
}

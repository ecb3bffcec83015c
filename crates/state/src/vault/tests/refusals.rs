//! The remaining refusals, each with its values and the state unchanged (`World::err`).

use cairn_primitives::{Params, Profile};

use super::*;
use crate::{
    Genesis, GenesisAsset, State,
    oracle::OracleCommittee,
    pause::Module,
    vault::{VaultError, tx::RequestWithdrawal},
};

#[test]
fn an_unpriced_asset_cannot_be_deposited() {
    let mut v = VaultWorld::new();
    // A second vault whose committee has not reported yet.
    v.gov(GovernanceAction::CreateVault(Box::new(spec())));
    let tx = Tx::VaultDeposit(Deposit {
        vault: VaultId(1),
        asset: RETH,
        amount: u(E18),
        min_out: U256::ZERO,
        receiver: None,
    });
    assert_eq!(v.err("alice", tx), VaultError::PriceMissing { asset: RETH }.into());
    // The native asset needs no price.
    let eth = Tx::VaultDeposit(Deposit {
        vault: VaultId(1),
        asset: ETH,
        amount: u(E18),
        min_out: U256::ZERO,
        receiver: None,
    });
    v.w.ok("alice", eth);
}

#[test]
fn dust_mints_and_pays_nothing() {
    let mut v = VaultWorld::new();
    v.gov(GovernanceAction::SetVaultAsset {
        vault: V,
        config: AssetConfig { asset: STETH, deposits: true, cap: None, min_deposit: U256::ZERO, paused: false },
    });
    v.deposit("alice", RETH, 100 * E18);
    // Above 1: one wei of stETH mints no token.
    v.advance(43_200);
    v.prices(&[(STETH, E18), (RETH, 11_005 * E18 / 10_000)]);
    v.update();
    let rate = v.settled();
    assert!(rate > wad());
    let e = v.err("bob", VaultWorld::deposit_tx(STETH, 1));
    assert_eq!(e, VaultError::ZeroTokens { value: u(1), rate }.into());
    // Below 1 (a reserve): one wei of token pays nothing.
    v.w.ok("keeper", VaultWorld::targets_tx(4_000, 4_000));
    v.rebalance();
    v.w.ok("svcB_slasher", World::slash_tx(v.b, "op1", RE, E18));
    let cur = v.current();
    assert!(cur < wad());
    let e = v.err("alice", VaultWorld::redeem_tx(u(1), RETH));
    assert_eq!(e, VaultError::ZeroPayout { tokens: u(1), rate: cur }.into());
}

#[test]
fn a_ticket_beyond_the_finalization_horizon_is_refused() {
    let mut v = VaultWorld::new();
    let mut p = params();
    p.finalization_cap = u(1);
    v.gov(GovernanceAction::SetVaultParams { vault: V, params: p });
    v.deposit("alice", STETH, 10 * E18);
    let tx =
        Tx::VaultRequestWithdrawal(RequestWithdrawal { vault: V, shares: u(E18), asset: STETH, min_out: U256::ZERO });
    let e = v.err("alice", tx);
    assert_eq!(e, VaultError::FinalizationCapReached { value: u(E18), cap: u(1), periods: 256 }.into());
}

#[test]
fn stale_prices_stop_rate_updates_and_paused_modules_stop_redemptions() {
    let mut v = VaultWorld::new();
    v.deposit("alice", RETH, 10 * E18);
    v.advance(43_201);
    assert_eq!(v.err("anyone", Tx::VaultUpdateRate(VaultRef { vault: V })).name(), "PriceStale");
    v.prices(&[(STETH, E18), (RETH, 11 * E18 / 10)]);
    v.w.ok("pauser", Tx::Pause { modules: vec![Module::VaultRedemptions, Module::VaultReports] });
    assert_eq!(v.err("alice", VaultWorld::redeem_tx(u(E18), RETH)).name(), "Paused");
    assert_eq!(v.err("anyone", Tx::VaultUpdateRate(VaultRef { vault: V })).name(), "Paused");
    assert_eq!(v.w.s.vault_max_redeem(V, a("alice"), RETH, v.w.block, v.w.block * 2).unwrap(), U256::ZERO);
}

#[test]
fn an_asset_without_a_strategy_cannot_be_accepted_for_deposits() {
    let balances = [(a("alice"), u(1_000 * E18))].into_iter().collect();
    let asset = |symbol: &str, strategy: bool, native: bool| GenesisAsset {
        symbol: symbol.into(),
        decimals: 18,
        strategy,
        balances: Clone::clone(&balances),
        native,
    };
    let g = Genesis {
        params: Params::profile(Profile::Devnet),
        governor: a("gov"),
        unpauser: a("unpauser"),
        pausers: vec![],
        assets: vec![asset("ETH", false, true), asset("USDC", false, false)],
        oracle: OracleCommittee::default(),
    };
    let mut w = World { s: State::genesis(&g).expect("genesis"), block: 1 };
    let mut s = spec();
    s.assets = vec![
        AssetConfig { asset: AssetId(0), deposits: true, cap: None, min_deposit: U256::ZERO, paused: false },
        AssetConfig { asset: AssetId(1), deposits: true, cap: None, min_deposit: U256::ZERO, paused: false },
    ];
    let e = w.err("gov", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(s.clone())) });
    assert_eq!(e, VaultError::NoStrategy { asset: AssetId(1) }.into());
    // Priced only (a reward token): fine.
    s.assets[1].deposits = false;
    w.ok("gov", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(s)) });
}

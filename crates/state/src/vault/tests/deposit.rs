//! Deposits: pricing, minting at max(settled, current), and every refusal.

use super::*;
use crate::{pause::Module, vault::tx::SetAssetPaused};

#[test]
fn the_first_deposit_mints_at_one_and_prices_lsts() {
    let mut v = VaultWorld::new();
    assert_eq!(v.deposit("alice", STETH, 10 * E18), u(10 * E18));
    // rETH at 1.1: 10 rETH are worth 11, minted at rate 1.
    assert_eq!(v.deposit("bob", RETH, 10 * E18), u(11 * E18));
    assert_eq!(v.deposit("carol", ETH, 5 * E18), u(5 * E18));
    let b = v.book();
    assert_eq!(b.supply, u(26 * E18));
    assert_eq!(b.assets, u(26 * E18));
    assert_eq!(v.w.s.vault_total_assets(V, v.w.block).unwrap(), u(26 * E18));
    assert_eq!(v.w.s.balance(crate::vault::vault_account(V), RETH), u(10 * E18));
}

#[test]
fn deposits_mint_at_the_higher_of_settled_and_current() {
    let mut v = VaultWorld::new();
    v.deposit("alice", RETH, 100 * E18);
    // rETH rises 1%: the current rate rises above the settled one (1.0).
    v.advance(1_000);
    v.prices(&[(STETH, E18), (RETH, 1_111 * E18 / 1_000)]);
    let cur = v.current();
    assert!(cur > v.settled());
    let tokens = v.deposit("bob", STETH, 10 * E18);
    // Minted at the current rate (net of the performance fee minted before the flow).
    assert_eq!(tokens, crate::vault::book::to_tokens(u(10 * E18), cur).unwrap());
    assert!(tokens < u(10 * E18));
}

#[test]
fn deposit_refusals_name_their_values() {
    let mut v = VaultWorld::new();
    let e = v.err(
        "alice",
        Tx::VaultDeposit(Deposit {
            vault: VaultId(7),
            asset: STETH,
            amount: u(E18),
            min_out: U256::ZERO,
            receiver: None,
        }),
    );
    assert_eq!(e.name(), "UnknownVault");
    assert_eq!(v.err("alice", VaultWorld::deposit_tx(STETH, 0)).name(), "ZeroAmount");
    assert_eq!(v.err("alice", VaultWorld::deposit_tx(AssetId(9), E18)).name(), "UnknownVaultAsset");
    let e = v.err("alice", VaultWorld::deposit_tx(STETH, E18 / 10_000));
    assert_eq!(
        e,
        crate::vault::VaultError::BelowMinimum { asset: STETH, amount: u(E18 / 10_000), min: u(E18 / 1_000) }.into()
    );
    // Slippage: ask for more tokens than the deposit mints.
    let tx = Tx::VaultDeposit(Deposit { vault: V, asset: STETH, amount: u(E18), min_out: u(E18 + 1), receiver: None });
    assert_eq!(
        v.err("alice", tx),
        crate::vault::VaultError::SlippageExceeded { out: u(E18), min_out: u(E18 + 1) }.into()
    );
    // More than the depositor holds.
    assert_eq!(v.err("nobody", VaultWorld::deposit_tx(STETH, E18)).name(), "InsufficientBalance");
    // Receipt tokens to a reserved account.
    let tx = Tx::VaultDeposit(Deposit {
        vault: V,
        asset: STETH,
        amount: u(E18),
        min_out: U256::ZERO,
        receiver: Some(crate::BURN_ADDRESS),
    });
    assert_eq!(v.err("alice", tx).name(), "ReservedTokenRecipient");
}

#[test]
fn caps_pauses_and_priceless_assets_refuse() {
    let mut v = VaultWorld::new();
    let mut capped =
        AssetConfig { asset: STETH, deposits: true, cap: Some(u(5 * E18)), min_deposit: U256::ZERO, paused: false };
    v.gov(GovernanceAction::SetVaultAsset { vault: V, config: capped.clone() });
    v.deposit("alice", STETH, 4 * E18);
    let e = v.err("bob", VaultWorld::deposit_tx(STETH, 2 * E18));
    assert_eq!(
        e,
        crate::vault::VaultError::CapExceeded {
            asset: STETH,
            deposited: u(4 * E18),
            amount: u(2 * E18),
            cap: u(5 * E18)
        }
        .into()
    );
    assert_eq!(v.w.s.vault_max_deposit(V, STETH).unwrap(), u(E18));
    // Not accepted for deposits (a reward token the vault only prices).
    capped.deposits = false;
    v.gov(GovernanceAction::SetVaultAsset { vault: V, config: capped });
    assert_eq!(v.err("bob", VaultWorld::deposit_tx(STETH, E18)).name(), "DepositsNotAccepted");
    // The guardian pauses rETH at once; others may not.
    let pause = Tx::VaultSetAssetPaused(SetAssetPaused { vault: V, asset: RETH, paused: true });
    assert_eq!(v.err("bob", pause.clone()).name(), "NotGuardian");
    v.w.ok("guardian", pause);
    assert_eq!(v.err("bob", VaultWorld::deposit_tx(RETH, E18)).name(), "AssetPaused");
    assert_eq!(v.w.s.vault_max_deposit(V, RETH).unwrap(), U256::ZERO);
    // A module pause refuses every deposit.
    v.w.ok("pauser", Tx::Pause { modules: vec![Module::VaultDeposits] });
    assert_eq!(v.err("bob", VaultWorld::deposit_tx(ETH, E18)).name(), "Paused");
}

#[test]
fn a_new_asset_needs_a_price_and_prices_go_stale() {
    let mut v = VaultWorld::new();
    v.deposit("alice", RETH, E18);
    // Stale: rETH's price is older than a day once the chain moves 43,201 blocks (2 s each).
    v.advance(43_201);
    let e = v.err("bob", VaultWorld::deposit_tx(ETH, E18));
    assert_eq!(e.name(), "PriceStale");
    // A fresh report reopens deposits.
    v.prices(&[(STETH, E18), (RETH, 11 * E18 / 10)]);
    v.deposit("bob", ETH, E18);
}

#[test]
fn a_donation_cannot_reach_the_vault() {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 100 * E18);
    v.w.ok("keeper", VaultWorld::targets_tx(4_000, 4_000));
    v.rebalance();
    let to = crate::vault::vault_account(V);
    assert_eq!(v.err("attacker", Tx::Transfer { asset: STETH, to, amount: u(E18) }).name(), "ReservedRecipient");
    let sub = crate::vault::sub_account(V, a("op1"));
    // Sub-accounts cannot sign either.
    assert_eq!(v.err("attacker", Tx::Transfer { asset: STETH, to: sub, amount: u(E18) }).name(), "ReservedRecipient");
    let ctx = crate::Ctx { sender: to, block: v.w.block, time: v.w.block * 2 };
    assert_eq!(v.w.s.apply(&ctx, &VaultWorld::deposit_tx(STETH, E18)).unwrap_err().name(), "ReservedSender");
}

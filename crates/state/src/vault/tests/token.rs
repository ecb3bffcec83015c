//! The receipt token: transfers, allowances, supply.

use super::*;
use crate::vault::tx::{Approve, Transfer, TransferFrom};

fn transfer(to: &str, amount: u128) -> Tx {
    Tx::VaultTransfer(Transfer { vault: V, to: a(to), amount: u(amount) })
}

#[test]
fn transfers_and_allowances() {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 10 * E18);
    v.w.ok("alice", transfer("bob", 4 * E18));
    assert_eq!(v.tokens("alice"), u(6 * E18));
    assert_eq!(v.tokens("bob"), u(4 * E18));
    v.w.ok("alice", Tx::VaultApprove(Approve { vault: V, spender: a("carol"), amount: u(2 * E18) }));
    let from =
        |amount| Tx::VaultTransferFrom(TransferFrom { vault: V, from: a("alice"), to: a("carol"), amount: u(amount) });
    v.w.ok("carol", from(E18));
    assert_eq!(v.w.s.vault_allowance(V, a("alice"), a("carol")), u(E18));
    let e = v.err("carol", from(2 * E18));
    assert_eq!(
        e,
        crate::vault::VaultError::InsufficientAllowance {
            owner: a("alice"),
            spender: a("carol"),
            allowance: u(E18),
            amount: u(2 * E18)
        }
        .into()
    );
    v.w.ok("carol", from(E18));
    assert_eq!(v.w.s.vault_allowance(V, a("alice"), a("carol")), U256::ZERO);
    // An infinite allowance is never spent.
    v.w.ok("alice", Tx::VaultApprove(Approve { vault: V, spender: a("carol"), amount: U256::MAX }));
    v.w.ok("carol", from(E18));
    assert_eq!(v.w.s.vault_allowance(V, a("alice"), a("carol")), U256::MAX);
    // Supply is unchanged by transfers.
    assert_eq!(v.book().supply, u(10 * E18));
}

#[test]
fn token_refusals() {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, E18);
    assert_eq!(v.err("alice", transfer("bob", 0)).name(), "ZeroAmount");
    let e = v.err("alice", transfer("bob", 2 * E18));
    assert_eq!(
        e,
        crate::vault::VaultError::InsufficientTokens {
            vault: V,
            account: a("alice"),
            balance: u(E18),
            amount: u(2 * E18)
        }
        .into()
    );
    let burn = Tx::VaultTransfer(Transfer { vault: V, to: crate::BURN_ADDRESS, amount: u(1) });
    assert_eq!(v.err("alice", burn).name(), "ReservedTokenRecipient");
    let own = Tx::VaultTransfer(Transfer { vault: V, to: crate::vault::vault_account(V), amount: u(1) });
    assert_eq!(v.err("alice", own).name(), "ReservedTokenRecipient");
    let zero = Tx::VaultApprove(Approve { vault: V, spender: cairn_primitives::Address::ZERO, amount: u(1) });
    assert_eq!(v.err("alice", zero).name(), "ReservedTokenRecipient");
    let other = Tx::VaultTransfer(Transfer { vault: VaultId(3), to: a("bob"), amount: u(1) });
    assert_eq!(v.err("alice", other).name(), "UnknownVault");
    v.w.ok("pauser", Tx::Pause { modules: vec![crate::pause::Module::VaultTransfers] });
    assert_eq!(v.err("alice", transfer("bob", 1)).name(), "Paused");
}

//! What the core can do to the vault without the vault acting, and how the vault keeps going:
//! an operator undelegating a place, paused core modules, stuck unbondings under due tickets,
//! stale prices of assets not yet held, deposits straddling a price report, an empty vault.

use super::*;
use crate::{
    pause::Module,
    vault::{
        VaultError,
        tx::{ClaimTicket, FinalizeTickets, RequestWithdrawal, Transfer},
    },
};

fn request(tokens: U256) -> Tx {
    Tx::VaultRequestWithdrawal(RequestWithdrawal { vault: V, shares: tokens, asset: STETH, min_out: U256::ZERO })
}

fn ticket_of(ev: &[Event]) -> (u64, u64) {
    ev.iter()
        .find_map(|e| match e {
            Event::VaultWithdrawalRequested { ticket, eta_block, .. } => Some((*ticket, *eta_block)),
            _ => None,
        })
        .expect("a ticket")
}

/// 1 000 stETH from alice, op1 and op2 at 45% each, buffer 10%.
fn invested() -> VaultWorld {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 1_000 * E18);
    v.w.ok("keeper", VaultWorld::targets_tx(4_500, 4_500));
    v.rebalance();
    v
}

fn set_params(v: &mut VaultWorld, f: impl FnOnce(&mut VaultParams)) {
    let mut p = params();
    f(&mut p);
    v.gov(GovernanceAction::SetVaultParams { vault: V, params: p });
}

#[test]
fn an_operator_undelegating_a_place_moves_its_value_into_unbondings() {
    let mut v = invested();
    let place = v.w.s.vault_place(V, a("op1")).expect("place").account;
    let total = v.w.s.vault_total_assets(V, v.w.block).unwrap();
    v.w.ok("op1", Tx::Undelegate { staker: place });
    // The 450 stETH left op1 for the withdrawal queue; the vault still counts them.
    assert_eq!(v.w.s.delegated_to(place), None);
    let adopted: Vec<_> = v.w.s.vault_unbondings_of(V).into_iter().filter(|((acc, _), _)| *acc == place).collect();
    assert_eq!(adopted.len(), 1);
    assert_eq!(adopted[0].1.expected, u(450 * E18));
    assert_eq!(adopted[0].1.committed, U256::ZERO);
    assert_eq!(v.w.s.vault_total_assets(V, v.w.block).unwrap(), total);
    let before = v.settled();
    v.update();
    assert_eq!(v.settled(), before);
    // After the delay the next rebalance brings them home and delegates the place again (op1
    // takes delegations without approval), so they go back to work.
    v.advance(v.w.s.params().withdrawal_delay_blocks + 1);
    let ev = v.rebalance();
    assert!(ev.iter().any(|e| matches!(e, Event::VaultUnbondingCompleted { tokens, .. } if *tokens == u(450 * E18))));
    assert_eq!(v.w.s.delegated_to(place), Some(a("op1")));
    assert!(ev.iter().any(|e| matches!(e, Event::VaultAllocated { operator, .. } if *operator == a("op1"))));
    assert_eq!(v.w.s.vault_total_assets(V, v.w.block).unwrap(), total);
}

#[test]
fn a_place_whose_operator_wants_approval_stays_idle_and_the_round_goes_on() {
    let mut v = invested();
    let place = v.w.s.vault_place(V, a("op1")).expect("place").account;
    v.w.ok("op1", Tx::ModifyOperatorDetails { operator: a("op1"), delegation_approver: Some(a("approver")) });
    v.w.ok("op1", Tx::Undelegate { staker: place });
    v.advance(v.w.s.params().withdrawal_delay_blocks + 1);
    // No approval in the policy: op1 is not delegated to again, op2 still receives its part.
    let ev = v.rebalance();
    assert_eq!(v.w.s.delegated_to(place), None);
    assert!(!ev.iter().any(|e| matches!(e, Event::VaultAllocated { operator, .. } if *operator == a("op1"))));
    assert!(ev.iter().any(|e| matches!(e, Event::VaultUnbondingCompleted { .. })));
}

#[test]
fn paused_core_modules_skip_steps_instead_of_refusing_the_round() {
    let mut v = invested();
    // More deposits wait in the buffer; strategy deposits are paused.
    v.deposit("bob", STETH, 500 * E18);
    v.w.ok("pauser", Tx::Pause { modules: vec![Module::Deposits] });
    v.advance(10);
    let ev = v.rebalance();
    assert!(!ev.iter().any(|e| matches!(e, Event::VaultAllocated { .. })));
    assert!(ev.iter().any(|e| matches!(e, Event::VaultRebalanced { .. })));
    v.w.ok("unpauser", Tx::Unpause { modules: vec![Module::Deposits] });
    v.advance(10);
    let ev = v.rebalance();
    assert!(ev.iter().any(|e| matches!(e, Event::VaultAllocated { .. })));
}

#[test]
fn a_stuck_unbonding_never_lets_its_ticket_spend_another_tickets_funding() {
    let mut v = invested();
    // A: 60 from the buffer (funded at once). B: 300, from unbondings.
    let (ta, eta_a) = ticket_of(&v.w.ok("alice", request(u(60 * E18))));
    let (tb, eta_b) = ticket_of(&v.w.ok("alice", request(u(300 * E18))));
    assert_eq!(v.w.s.vault_ticket(V, ta).unwrap().funded, u(60 * E18));
    assert!(v.w.s.vault_ticket(V, tb).unwrap().funded < u(300 * E18));
    assert!(eta_b > eta_a);
    // Completions are paused: B's unbonding cannot come home by its ETA.
    v.w.ok("pauser", Tx::Pause { modules: vec![Module::ExitWithdrawalQueue] });
    v.to(eta_b);
    let e = v.err("alice", Tx::VaultClaimTicket(ClaimTicket { vault: V, ticket: tb }));
    assert_eq!(e.name(), "TicketUnfunded");
    // A batch finalizes A and leaves B for later; A's funding paid A, not B.
    v.w.ok("anyone", Tx::VaultFinalizeTickets(FinalizeTickets { vault: V, max: 10 }));
    assert!(matches!(v.w.s.vault_ticket(V, ta).unwrap().status, crate::vault::TicketStatus::Finalized { .. }));
    assert_eq!(v.w.s.vault_ticket(V, tb).unwrap().status, crate::vault::TicketStatus::Pending);
    v.w.ok("alice", Tx::VaultClaimTicket(ClaimTicket { vault: V, ticket: ta }));
    // Unpaused, B's unbonding arrives, funds B, and B pays.
    v.w.ok("unpauser", Tx::Unpause { modules: vec![Module::ExitWithdrawalQueue] });
    let ev = v.w.ok("alice", Tx::VaultClaimTicket(ClaimTicket { vault: V, ticket: tb }));
    assert!(ev.iter().any(|e| matches!(e, Event::VaultTicketClaimed { amount, .. } if *amount == u(300 * E18))));
}

#[test]
fn the_price_of_an_asset_not_yet_held_must_be_fresh_too() {
    let mut v = VaultWorld::new();
    set_params(&mut v, |p| p.price_staleness_seconds = 100);
    v.prices(&[(STETH, E18), (RETH, 11 * E18 / 10)]);
    v.deposit("alice", STETH, 10 * E18);
    v.advance(60);
    v.prices(&[(STETH, E18)]);
    // The vault holds no rETH, so the book's oldest price is stETH's, which is fresh.
    let now = v.w.block * 2;
    let e = v.err("bob", VaultWorld::deposit_tx(RETH, E18));
    let price_time = v.w.s.asset_book(V, RETH).price_time;
    assert_eq!(e, VaultError::PriceStale { asset: RETH, price_time, now, limit: 100 }.into());
    assert_eq!(v.err("alice", VaultWorld::redeem_tx(u(E18), RETH)).name(), "PriceStale");
    v.deposit("bob", STETH, E18);
}

#[test]
fn tokens_minted_by_a_deposit_stay_locked_for_the_lock_period() {
    let mut v = VaultWorld::new();
    set_params(&mut v, |p| p.deposit_lock_blocks = 20);
    let old = v.deposit("alice", STETH, 10 * E18);
    v.advance(20);
    let fresh = v.deposit("alice", STETH, 5 * E18);
    let until = v.w.block + 20;
    // The older tokens are free; the fresh ones are not.
    v.redeem("alice", old, STETH);
    let e = v.err("alice", VaultWorld::redeem_tx(u(E18), STETH));
    assert_eq!(
        e,
        VaultError::TokensLocked {
            vault: V,
            account: a("alice"),
            free: U256::ZERO,
            amount: u(E18),
            until,
            block: v.w.block
        }
        .into()
    );
    assert_eq!(v.err("alice", request(u(E18))).name(), "TokensLocked");
    let give = Tx::VaultTransfer(Transfer { vault: V, to: a("bob"), amount: u(E18) });
    assert_eq!(v.err("alice", give.clone()).name(), "TokensLocked");
    let view = v.w.s.vault_position(V, a("alice"), v.w.block, v.w.block * 2).unwrap();
    assert_eq!((view.locked, view.unlocks_at), (fresh, until));
    // A deposit for someone else locks only what it gives them.
    let gift = Tx::VaultDeposit(crate::vault::tx::Deposit {
        vault: V,
        asset: STETH,
        amount: u(E18),
        min_out: U256::ZERO,
        receiver: Some(a("carol")),
    });
    let own = v.deposit("carol", STETH, 3 * E18);
    v.advance(20);
    v.w.ok("bob", gift);
    v.redeem("carol", own, STETH);
    v.to(until);
    v.w.ok("alice", give);
}

#[test]
fn an_empty_vault_keeps_its_settled_rate() {
    let mut v = VaultWorld::new();
    set_params(&mut v, |p| p.performance_fee_bps = 0);
    let tokens = v.deposit("alice", RETH, 100 * E18);
    v.advance(100);
    v.prices(&[(STETH, E18), (RETH, 11_022 * E18 / 10_000)]);
    v.update();
    let settled = v.settled();
    assert!(settled > wad());
    v.redeem("alice", tokens, RETH);
    assert!(v.book().supply.is_zero());
    // Every holder gone: an update neither quarantines nor moves the rate; the next depositor
    // mints where the last holder left.
    v.update();
    assert_eq!(v.settled(), settled);
    assert!(v.book().quarantine.is_none());
    let minted = v.deposit("bob", STETH, 10 * E18);
    assert_eq!(minted, crate::vault::book::to_tokens(u(10 * E18), settled).unwrap());
}

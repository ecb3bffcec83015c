//! Tickets: liquidity secured at request, ETAs that later requests never move, the lower of
//! request and finalization value, transfers, claims, the finalization cap, the emergency path.

use super::*;
use crate::{
    pause::Module,
    vault::{
        TicketStatus, VaultError,
        tx::{ClaimTicket, EmergencyExit, FinalizeTickets, RequestWithdrawal, TransferTicket},
    },
};

fn request(tokens: U256, asset: AssetId) -> Tx {
    Tx::VaultRequestWithdrawal(RequestWithdrawal { vault: V, shares: tokens, asset, min_out: U256::ZERO })
}

fn requested(ev: &[Event]) -> (u64, u64) {
    ev.iter()
        .find_map(|e| match e {
            Event::VaultWithdrawalRequested { ticket, eta_block, .. } => Some((*ticket, *eta_block)),
            _ => None,
        })
        .expect("a ticket")
}

fn claim(ticket: u64) -> Tx {
    Tx::VaultClaimTicket(ClaimTicket { vault: V, ticket })
}

/// 1 000 stETH from alice, op1 and op2 at 45% each, buffer 10%.
fn invested() -> VaultWorld {
    let mut v = VaultWorld::new();
    v.deposit("alice", STETH, 1_000 * E18);
    v.w.ok("keeper", VaultWorld::targets_tx(4_500, 4_500));
    v.rebalance();
    v
}

#[test]
fn a_ticket_from_the_buffer_waits_the_ticket_delay() {
    let mut v = invested();
    let ev = v.w.ok("alice", request(u(50 * E18), STETH));
    let (id, eta) = requested(&ev);
    assert_eq!(eta, v.w.block + 5);
    assert_eq!(v.w.s.asset_book(V, STETH).earmarked, u(50 * E18));
    // Locked, not burned: the supply holds until finalization.
    assert_eq!(v.tokens("alice"), u(950 * E18));
    assert_eq!(v.book().supply, u(1_000 * E18));
    assert_eq!(
        v.err("alice", claim(id)),
        VaultError::TicketNotDue { ticket: id, eta_block: eta, block: v.w.block }.into()
    );
    v.to(eta);
    assert_eq!(v.err("bob", claim(id)).name(), "NotTicketOwner");
    let before = v.w.s.balance(a("alice"), STETH);
    v.w.ok("alice", claim(id));
    assert_eq!(v.w.s.balance(a("alice"), STETH) - before, u(50 * E18));
    assert!(v.w.s.vault_ticket(V, id).is_none());
    assert_eq!(v.book().supply, u(950 * E18));
}

#[test]
fn a_bank_run_queues_unbondings_and_etas_hold() {
    let mut v = invested();
    // Drain the buffer with an instant redemption, then request more than it holds.
    let t1 = v.redeem("alice", u(90 * E18), STETH);
    assert!(t1 > U256::ZERO);
    let ev = v.w.ok("alice", request(u(300 * E18), STETH));
    let (first, eta1) = requested(&ev);
    let delay = v.w.s.params().withdrawal_delay_blocks;
    assert_eq!(eta1, v.w.block + delay + 1);
    // A later, larger request goes behind it; the first ticket's ETA does not move.
    v.advance(3);
    let ev = v.w.ok("alice", request(u(400 * E18), STETH));
    let (second, eta2) = requested(&ev);
    assert!(eta2 >= eta1);
    assert_eq!(v.w.s.vault_ticket(V, first).unwrap().eta_block, eta1);
    // The vault holds no rETH anywhere: a ticket in it is refused.
    let e = v.err("alice", request(u(11 * E18), RETH));
    assert_eq!(
        e,
        VaultError::InsufficientLiquidity { asset: RETH, requested: u(10 * E18), available: U256::ZERO }.into()
    );
    // Both are paid at their ETAs.
    v.to(eta1);
    v.w.ok("anyone", Tx::VaultFinalizeTickets(FinalizeTickets { vault: V, max: 10 }));
    assert!(matches!(v.w.s.vault_ticket(V, first).unwrap().status, TicketStatus::Finalized { .. }));
    v.w.ok("alice", claim(first));
    v.to(eta2);
    v.w.ok("alice", claim(second));
    assert!(v.w.s.vault_tickets_of(V).is_empty());
}

#[test]
fn a_ticket_pays_the_lower_of_request_and_finalization_value() {
    let mut v = invested();
    let ev = v.w.ok("alice", request(u(500 * E18), STETH));
    let (id, eta) = requested(&ev);
    // A slash of op1 executes while the ticket waits: its value falls with everyone's. The
    // ticket's 400 were unbonding from op1, which lost 30% of them.
    v.w.ok("svcA_slasher", World::slash_tx(v.a, "op1", ST, E18));
    v.to(eta);
    let fin = Tx::VaultFinalizeTickets(FinalizeTickets { vault: V, max: 1 });
    // svcA took 30% of op1's 450: 135 of 1 000, so 500 tokens are worth 432.5; 380 arrived.
    let e = v.err("anyone", fin.clone());
    assert_eq!(
        e,
        VaultError::TicketUnfunded { ticket: id, asset: STETH, needed: u(4_325 * E18 / 10), available: u(380 * E18) }
            .into()
    );
    // The next rebalance sources the shortfall from the places (an ETA that slipped only
    // because a slash hit the unbonding backing it).
    v.rebalance();
    v.advance(v.w.s.params().withdrawal_delay_blocks + 1);
    let ev = v.w.ok("anyone", fin);
    let amount = ev.iter().find_map(|e| match e {
        Event::VaultTicketFinalized { amount, .. } => Some(*amount),
        _ => None,
    });
    assert_eq!(amount, Some(u(4_325 * E18 / 10)));
}

#[test]
fn tickets_transfer_and_refusals() {
    let mut v = invested();
    let ev = v.w.ok("alice", request(u(10 * E18), STETH));
    let (id, eta) = requested(&ev);
    let give = |to: &str| Tx::VaultTransferTicket(TransferTicket { vault: V, ticket: id, to: a(to) });
    assert_eq!(v.err("bob", give("bob")).name(), "NotTicketOwner");
    v.w.ok("alice", give("bob"));
    v.to(eta);
    assert_eq!(v.err("alice", claim(id)).name(), "NotTicketOwner");
    v.w.ok("bob", claim(id));
    assert_eq!(v.err("bob", claim(id)), VaultError::UnknownTicket { vault: V, ticket: id }.into());
    assert_eq!(v.err("bob", request(U256::ZERO, STETH)).name(), "ZeroAmount");
    assert_eq!(v.err("bob", request(u(E18), STETH)).name(), "InsufficientTokens");
    assert_eq!(
        v.err("anyone", Tx::VaultFinalizeTickets(FinalizeTickets { vault: V, max: 5 })).name(),
        "NothingToFinalize"
    );
    assert_eq!(v.err("anyone", Tx::VaultFinalizeTickets(FinalizeTickets { vault: V, max: 0 })).name(), "ZeroAmount");
    let tx =
        Tx::VaultRequestWithdrawal(RequestWithdrawal { vault: V, shares: u(E18), asset: STETH, min_out: u(2 * E18) });
    assert_eq!(v.err("alice", tx).name(), "SlippageExceeded");
}

#[test]
fn the_finalization_cap_pushes_etas_in_request_order() {
    let mut v = invested();
    let mut p = params();
    p.finalization_cap = u(60 * E18);
    v.gov(GovernanceAction::SetVaultParams { vault: V, params: p });
    let (_, eta1) = requested(&v.w.ok("alice", request(u(40 * E18), STETH)));
    let (_, eta2) = requested(&v.w.ok("alice", request(u(40 * E18), STETH)));
    // The second ticket does not fit the first period's 60: it waits for the next one.
    assert_eq!(eta1, v.w.block + 5);
    assert_eq!(eta2, (eta1 / 100 + 1) * 100);
}

#[test]
fn the_emergency_path_opens_after_a_long_halt() {
    let mut v = invested();
    let (id, _) = requested(&v.w.ok("alice", request(u(10 * E18), STETH)));
    let unwind = Tx::VaultEmergencyUnwind(VaultRef { vault: V });
    assert_eq!(
        v.err("anyone", unwind.clone()),
        VaultError::NotHaltedLongEnough { vault: V, halted_since: None, delay: 50 }.into()
    );
    v.w.ok("pauser", Tx::Pause { modules: vec![Module::VaultRedemptions] });
    let since = v.w.block;
    v.advance(49);
    assert_eq!(
        v.err("anyone", unwind.clone()),
        VaultError::NotHaltedLongEnough { vault: V, halted_since: Some(since), delay: 50 }.into()
    );
    let exit = |t: u128| Tx::VaultEmergencyExit(EmergencyExit { vault: V, shares: u(t) });
    assert_eq!(v.err("alice", exit(E18)).name(), "NotInEmergency");
    v.advance(1);
    v.w.ok("anyone", unwind);
    // The pending ticket was cancelled: alice has all her tokens back.
    assert!(v.w.s.vault_ticket(V, id).is_none());
    assert_eq!(v.tokens("alice"), u(1_000 * E18));
    assert_eq!(v.err("alice", VaultWorld::deposit_tx(STETH, E18)).name(), "InEmergency");
    assert_eq!(v.err("alice", exit(E18)).name(), "UnwindInProgress");
    v.advance(v.w.s.params().withdrawal_delay_blocks + 1);
    let before = v.w.s.balance(a("alice"), STETH);
    v.w.ok("alice", exit(500 * E18));
    assert_eq!(v.w.s.balance(a("alice"), STETH) - before, u(500 * E18));
    v.w.ok("alice", exit(500 * E18));
    assert_eq!(v.book().supply, U256::ZERO);
}

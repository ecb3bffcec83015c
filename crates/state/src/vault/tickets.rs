//! Withdrawal tickets: the slow, fee-free tier ([LRV §9.2]).
//!
//! A request locks receipt tokens and records the asset amount they are worth at min(settled,
//! current) rate — the most the ticket can pay. Its liquidity is secured at once, in this order:
//! the spendable buffer (earmarked for the ticket: its `funded`), unpromised parts of unbondings
//! in flight (committed), then new unbondings queued from the most over-weight places; if the
//! vault cannot source the amount the request is refused. Committed tokens, as they arrive,
//! fund the pending tickets that still lack funding, earliest ETA first; each ticket's funding
//! is its own, so finalizing one ticket never spends another's. The ETA is the block the last of that liquidity arrives (at
//! least `ticket_delay_blocks` ahead), pushed later only by the finalization cap (value per
//! period, booked in request order). It is fixed at request: later requests never move it.
//!
//! Finalization (permissionless, due tickets in ETA order) fixes the value: the lower of the
//! requested amount and what the tokens are worth then; the tokens are burned, the payout is
//! owed and held in the buffer. The owner (tickets are transferable) claims it.

use cairn_primitives::{Address, AssetId, Block, Timestamp, U256, VaultId, math};

use super::{
    Book, Source, Ticket, TicketStatus, VaultError, book,
    tx::{ClaimTicket, FinalizeTickets, RequestWithdrawal, TransferTicket},
};
use crate::{Ctx, Event, State, TxError};

/// Most finalization periods a request's booking may span.
const MAX_BOOKED_PERIODS: u64 = 256;

impl State {
    /// A ticket.
    pub fn vault_ticket(&self, vault: VaultId, ticket: u64) -> Option<Ticket> {
        self.vault_tickets.get(&(vault, ticket)).copied()
    }

    /// Every ticket of a vault, by id.
    pub fn vault_tickets_of(&self, vault: VaultId) -> Vec<(u64, Ticket)> {
        self.vault_tickets.range((vault, 0)..=(vault, u64::MAX)).map(|((_, id), t)| (*id, *t)).collect()
    }

    /// `vault_request_withdrawal`.
    pub(crate) fn tx_vault_request(
        &mut self,
        ctx: &Ctx,
        r: &RequestWithdrawal,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        r.check_stateless()?;
        let (vault, asset) = (r.vault, r.asset);
        self.check_exit(vault, asset, ctx.sender, r.shares, ctx)?;
        let mut b = self.book_for_flow(vault, ctx, ev)?;
        let price = self.vault_price(vault, asset)?;
        let rate = Self::current_rate(&b)?.min(b.settled_rate);
        let value = book::to_value(r.shares, rate)?;
        let requested = book::amount_of(value, price)?;
        if requested.is_zero() {
            return Err(VaultError::ZeroPayout { tokens: r.shares, rate }.into());
        }
        if requested < r.min_out {
            return Err(VaultError::SlippageExceeded { out: requested, min_out: r.min_out }.into());
        }
        let delay = self.vault_cfg(vault)?.params.ticket_delay_blocks;
        let (ready, funded) = self.source_liquidity(vault, asset, requested, ctx, ev)?;
        let eta_block = self.book_finalization(vault, value, ready.max(math::add_u64(ctx.block, delay)?))?;
        self.move_receipt(vault, ctx.sender, self.vault_own(vault), r.shares)?;
        // Unbondings queued above split positions: keep the cache's staleness mark.
        b.val_block = self.vault_book(vault)?.val_block;
        let id = b.next_ticket;
        b.next_ticket = math::add_u64(id, 1)?;
        self.put_book(vault, b);
        let eta_time = self.eta_time(ctx, eta_block)?;
        let t = Ticket {
            owner: ctx.sender,
            asset,
            shares: r.shares,
            requested,
            funded,
            requested_at: ctx.block,
            eta_block,
            eta_time,
            status: TicketStatus::Pending,
        };
        self.vault_tickets.insert((vault, id), t);
        ev.push(Event::VaultWithdrawalRequested {
            vault,
            ticket: id,
            owner: ctx.sender,
            asset,
            tokens: r.shares,
            requested,
            eta_block,
            eta_time,
        });
        Ok(())
    }

    /// The estimated time of a future block (the chain's nominal block time).
    fn eta_time(&self, ctx: &Ctx, block: Block) -> Result<Timestamp, TxError> {
        let blocks = block.saturating_sub(ctx.block);
        Ok(math::add_u64(ctx.time, blocks.saturating_mul(self.g.params.block_time_seconds))?)
    }

    /// Secures `amount` of `asset` for a ticket; returns the block it is all in the buffer and
    /// how much of it the buffer funds now.
    fn source_liquidity(
        &mut self,
        vault: VaultId,
        asset: AssetId,
        amount: U256,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<(Block, U256), TxError> {
        let mut need = amount;
        let mut ready = ctx.block;
        let take = need.min(self.spendable_buffer(vault, asset)?);
        if !take.is_zero() {
            let mut ab = self.asset_book(vault, asset);
            ab.earmarked = math::add(ab.earmarked, take)?;
            self.put_asset_book(vault, asset, ab);
            need = need.saturating_sub(take);
        }
        let mut flights: Vec<_> =
            self.vault_unbondings_of(vault).into_iter().filter(|(_, u)| u.asset == asset).collect();
        flights.sort_by_key(|(k, u)| (u.completable_at, *k));
        for ((account, nonce), mut u) in flights {
            if need.is_zero() {
                break;
            }
            let free = u.expected.saturating_sub(u.committed);
            let take = need.min(free);
            if take.is_zero() {
                continue;
            }
            u.committed = math::add(u.committed, take)?;
            self.vault_unbondings.insert((vault, account, nonce), u);
            ready = ready.max(u.completable_at);
            need = need.saturating_sub(take);
        }
        if !need.is_zero() {
            let (got, at) = self.unbond_for_ticket(vault, asset, need, ctx, ev)?;
            if got < need {
                return Err(VaultError::InsufficientLiquidity {
                    asset,
                    requested: amount,
                    available: amount.saturating_sub(need).saturating_add(got),
                }
                .into());
            }
            ready = ready.max(at);
        }
        Ok((ready, take))
    }

    /// Earmarks `amount` of `asset` in the buffer for pending tickets that lack funding, earliest
    /// ETA first; returns what was earmarked.
    pub(crate) fn fund_tickets(&mut self, vault: VaultId, asset: AssetId, amount: U256) -> Result<U256, TxError> {
        if amount.is_zero() {
            return Ok(U256::ZERO);
        }
        let mut lacking: Vec<(u64, Ticket)> = self
            .vault_tickets_of(vault)
            .into_iter()
            .filter(|(_, t)| t.asset == asset && t.status == TicketStatus::Pending && t.funded < t.requested)
            .collect();
        lacking.sort_by_key(|(id, t)| (t.eta_block, *id));
        let mut left = amount;
        for (id, mut t) in lacking {
            if left.is_zero() {
                break;
            }
            let take = left.min(t.requested.saturating_sub(t.funded));
            t.funded = math::add(t.funded, take)?;
            left = left.saturating_sub(take);
            self.vault_tickets.insert((vault, id), t);
        }
        let used = amount.saturating_sub(left);
        let mut ab = self.asset_book(vault, asset);
        ab.earmarked = math::add(ab.earmarked, used)?;
        self.put_asset_book(vault, asset, ab);
        Ok(used)
    }

    /// Re-sources what pending tickets lack (their backing unbondings were slashed, or held and
    /// then released): from the spendable buffer, then new unbondings. Run by the rebalance.
    pub(crate) fn refund_tickets(&mut self, vault: VaultId, ctx: &Ctx, ev: &mut Vec<Event>) -> Result<(), TxError> {
        let assets: Vec<AssetId> = self.vault_cfg(vault)?.assets.iter().map(|a| a.asset).collect();
        for asset in assets {
            let lacking = self
                .vault_tickets_of(vault)
                .into_iter()
                .filter(|(_, t)| t.asset == asset && t.status == TicketStatus::Pending)
                .try_fold(U256::ZERO, |a, (_, t)| math::add(a, t.requested.saturating_sub(t.funded)))?;
            if lacking.is_zero() {
                continue;
            }
            let committed = self
                .vault_unbondings_of(vault)
                .into_iter()
                .filter(|(_, u)| u.asset == asset)
                .try_fold(U256::ZERO, |a, (_, u)| math::add(a, u.committed))?;
            let short = lacking.saturating_sub(committed);
            if short.is_zero() {
                continue;
            }
            let take = short.min(self.spendable_buffer(vault, asset)?);
            let take = self.fund_tickets(vault, asset, take)?;
            let rest = short.saturating_sub(take);
            if !rest.is_zero() {
                self.unbond_for_ticket(vault, asset, rest, ctx, ev)?;
            }
        }
        Ok(())
    }

    /// Queues new unbondings of `asset` for `need` tokens, from the most over-weight places
    /// first; returns the tokens committed and when they arrive.
    fn unbond_for_ticket(
        &mut self,
        vault: VaultId,
        asset: AssetId,
        need: U256,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<(U256, Block), TxError> {
        let strategy = match self.g.native {
            Some(n) if n.asset == asset => n.strategy,
            _ => match self.strategy_of_asset(asset) {
                Some(s) => s,
                None => return Ok((U256::ZERO, ctx.block)),
            },
        };
        let targets = self.vault_cfg(vault)?.targets.clone();
        let b = self.vault_book(vault)?;
        let net = b.assets.saturating_sub(b.reserve);
        let mut order = Vec::new();
        for (op, place) in self.vault_places_of(vault) {
            let value = self.settled_place_value(vault, op)?;
            let bps = targets.as_ref().and_then(|t| t.operators.iter().find(|w| w.operator == op)).map_or(0, |w| w.bps);
            let target = book::bps_of(net, u64::from(bps))?;
            let held = self.place_holdings(place.account)?.into_iter().find(|h| h.strategy == strategy);
            if let Some(h) = held.filter(|h| !h.tokens.is_zero()) {
                // Excess over target, most over-weight first (places under target come last).
                let over = value.saturating_sub(target);
                order.push((over, h.tokens, op));
            }
        }
        order.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut got = U256::ZERO;
        let mut at = ctx.block;
        for (_, tokens, op) in order {
            let want = need.saturating_sub(got);
            if want.is_zero() {
                break;
            }
            if let Some(u) = self.place_unbond(vault, op, strategy, want.min(tokens), want, ctx, ev)? {
                got = math::add(got, u.committed)?;
                at = at.max(u.completable_at);
            }
        }
        Ok((got, at))
    }

    /// Books `value` against the finalization cap from the period of `eta` on; returns the ETA
    /// pushed to the first period with room for the last of it.
    fn book_finalization(&mut self, vault: VaultId, value: U256, eta: Block) -> Result<Block, TxError> {
        let p = self.vault_cfg(vault)?.params;
        if p.finalization_cap.is_zero() {
            return Ok(eta);
        }
        let len = p.finalization_period_blocks.max(1);
        let first = eta.checked_div(len).unwrap_or_default();
        let mut period = first;
        let mut left = value;
        loop {
            let booked = self.vault_booked.get(&(vault, period)).copied().unwrap_or_default();
            let take = left.min(p.finalization_cap.saturating_sub(booked));
            if !take.is_zero() {
                self.vault_booked.insert((vault, period), math::add(booked, take)?);
                left = left.saturating_sub(take);
            }
            if left.is_zero() {
                break;
            }
            period = math::add_u64(period, 1)?;
            if period.saturating_sub(first) >= MAX_BOOKED_PERIODS {
                return Err(VaultError::FinalizationCapReached {
                    value,
                    cap: p.finalization_cap,
                    periods: MAX_BOOKED_PERIODS,
                }
                .into());
            }
        }
        Ok(if period == first { eta } else { eta.max(period.saturating_mul(len)) })
    }

    /// `vault_transfer_ticket`.
    pub(crate) fn tx_vault_transfer_ticket(
        &mut self,
        ctx: &Ctx,
        t: &TransferTicket,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let mut ticket = self.owned_ticket(t.vault, t.ticket, ctx.sender)?;
        self.check_token_recipient(t.to)?;
        ticket.owner = t.to;
        self.vault_tickets.insert((t.vault, t.ticket), ticket);
        ev.push(Event::VaultTicketTransferred { vault: t.vault, ticket: t.ticket, from: ctx.sender, to: t.to });
        Ok(())
    }

    fn owned_ticket(&self, vault: VaultId, id: u64, sender: Address) -> Result<Ticket, TxError> {
        self.vault_cfg(vault)?;
        let t = self.vault_ticket(vault, id).ok_or(VaultError::UnknownTicket { vault, ticket: id })?;
        if t.owner != sender {
            return Err(VaultError::NotTicketOwner { ticket: id, owner: t.owner, sender }.into());
        }
        Ok(t)
    }

    /// `vault_finalize_tickets`: due tickets, earliest ETA first, at most `max`.
    pub(crate) fn tx_vault_finalize(
        &mut self,
        ctx: &Ctx,
        f: &FinalizeTickets,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        f.check_stateless()?;
        let vault = f.vault;
        self.vault_cfg(vault)?;
        self.sweep(vault, ctx, ev)?;
        let mut due: Vec<(Block, u64, Ticket)> = self
            .vault_tickets_of(vault)
            .into_iter()
            .filter(|(_, t)| t.status == TicketStatus::Pending && t.eta_block <= ctx.block)
            .map(|(id, t)| (t.eta_block, id, t))
            .collect();
        if due.is_empty() {
            return Err(VaultError::NothingToFinalize { vault }.into());
        }
        due.sort_by_key(|(eta, id, _)| (*eta, *id));
        let mut b = self.book_for_flow(vault, ctx, ev)?;
        // A ticket whose funding has not arrived (its unbonding held or slashed, the buffer short)
        // waits for the next round; the others go ahead.
        let (mut done, mut first_unfunded) = (0u32, None);
        for (_, id, t) in due.into_iter().take(usize::try_from(f.max).unwrap_or(usize::MAX)) {
            match self.finalize_one(vault, id, t, &mut b, ctx, ev) {
                Ok(()) => done = done.saturating_add(1),
                Err(TxError::Vault(e)) if matches!(*e, VaultError::TicketUnfunded { .. }) => {
                    first_unfunded.get_or_insert(TxError::Vault(e));
                }
                Err(e) => return Err(e),
            }
        }
        if done == 0
            && let Some(e) = first_unfunded
        {
            return Err(e);
        }
        self.put_book(vault, b);
        Ok(())
    }

    /// Fixes a due ticket's value, burns its tokens and owes its payout: from the ticket's own
    /// funding, topped up from the spendable buffer if that fell short. Refused, with nothing
    /// changed, if the two cannot pay it.
    fn finalize_one(
        &mut self,
        vault: VaultId,
        id: u64,
        mut t: Ticket,
        b: &mut Book,
        ctx: &Ctx,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let price = self.vault_price(vault, t.asset)?;
        let before = Self::current_rate(b)?;
        let rate = before.min(b.settled_rate);
        let worth = book::to_value(t.shares, rate)?;
        let amount = t.requested.min(book::amount_of(worth, price)?);
        let available = math::add(t.funded, self.spendable_buffer(vault, t.asset)?)?;
        if amount > available {
            return Err(VaultError::TicketUnfunded { ticket: id, asset: t.asset, needed: amount, available }.into());
        }
        // What the ticket still expected from unbondings in flight is no longer promised to it.
        let outstanding = t.requested.saturating_sub(t.funded);
        if !outstanding.is_zero() {
            self.release_commitments(vault, t.asset, outstanding);
        }
        let mut ab = self.asset_book(vault, t.asset);
        ab.earmarked = math::sub(ab.earmarked, t.funded)?;
        ab.owed = math::add(ab.owed, amount)?;
        ab.deposited = ab.deposited.saturating_sub(amount);
        self.put_asset_book(vault, t.asset, ab);
        self.debit_receipt(vault, self.vault_own(vault), t.shares)?;
        b.supply = math::sub(b.supply, t.shares)?;
        let paid = book::value_of_up(amount, price)?;
        b.assets = b.assets.saturating_sub(paid);
        Self::lift_mark(b, before)?;
        self.attribute(vault, Source::Settlements, worth.saturating_sub(paid), false, b.supply)?;
        t.status = TicketStatus::Finalized { amount, block: ctx.block };
        t.funded = U256::ZERO;
        self.vault_tickets.insert((vault, id), t);
        ev.push(Event::VaultTicketFinalized { vault, ticket: id, asset: t.asset, tokens: t.shares, amount, rate });
        Ok(())
    }

    /// Lowers the commitments of unbondings of `asset` by `amount`, the latest to complete first.
    fn release_commitments(&mut self, vault: VaultId, asset: AssetId, mut amount: U256) {
        let mut flights: Vec<_> =
            self.vault_unbondings_of(vault).into_iter().filter(|(_, u)| u.asset == asset).collect();
        flights.sort_by_key(|(k, u)| std::cmp::Reverse((u.completable_at, *k)));
        for ((account, nonce), mut u) in flights {
            if amount.is_zero() {
                break;
            }
            let cut = amount.min(u.committed);
            u.committed = u.committed.saturating_sub(cut);
            amount = amount.saturating_sub(cut);
            self.vault_unbondings.insert((vault, account, nonce), u);
        }
    }

    /// `vault_claim_ticket`: finalizes a due ticket if needed, then pays its owner.
    pub(crate) fn tx_vault_claim_ticket(
        &mut self,
        ctx: &Ctx,
        c: &ClaimTicket,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let vault = c.vault;
        let mut t = self.owned_ticket(vault, c.ticket, ctx.sender)?;
        if t.status == TicketStatus::Pending {
            if ctx.block < t.eta_block {
                return Err(
                    VaultError::TicketNotDue { ticket: c.ticket, eta_block: t.eta_block, block: ctx.block }.into()
                );
            }
            self.sweep(vault, ctx, ev)?;
            // The sweep may have funded it.
            t = self.vault_ticket(vault, c.ticket).ok_or(VaultError::UnknownTicket { vault, ticket: c.ticket })?;
            let mut b = self.book_for_flow(vault, ctx, ev)?;
            self.finalize_one(vault, c.ticket, t, &mut b, ctx, ev)?;
            self.put_book(vault, b);
            t = self.vault_ticket(vault, c.ticket).ok_or(VaultError::UnknownTicket { vault, ticket: c.ticket })?;
        }
        let TicketStatus::Finalized { amount, .. } = t.status else {
            return Err(VaultError::UnknownTicket { vault, ticket: c.ticket }.into());
        };
        let mut ab = self.asset_book(vault, t.asset);
        ab.owed = math::sub(ab.owed, amount)?;
        self.put_asset_book(vault, t.asset, ab);
        self.move_tokens(t.asset, self.vault_own(vault), t.owner, amount)?;
        self.vault_tickets.remove(&(vault, c.ticket));
        ev.push(Event::VaultTicketClaimed { vault, ticket: c.ticket, owner: t.owner, asset: t.asset, amount });
        Ok(())
    }
}

//! Warming the caches for transactions about to be applied.
//!
//! In a state larger than the CPU caches, a transaction waits on memory for its sender's records
//! (a staker's record, a token balance) more than it computes. A caller applying a batch knows
//! the next transactions, so it can ask for their records early: the index lines two
//! transactions ahead, then the entries those lines point at one transaction ahead. By the time
//! a transaction runs, its records are in the cache and the loads overlapped the work before it.
//!
//! A hint changes nothing: skipping it, or hinting the wrong transaction, only costs time.

use crate::{Ctx, State, tx::Tx};

/// Which half of a transaction's lookups a prefetch warms (see `State::prefetch_ahead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The index lines of the records (asked two transactions ahead).
    Index,
    /// The records the index lines point at (asked one transaction ahead, after `Index`).
    Entries,
}

/// Stakers beyond which the staker and balance tables outgrow the CPU's last-level cache (about
/// 230 bytes per staker with one position and its balance: 23 MB here, against 32 MB of L3 on the
/// machines we measure on), so their lookups go to memory.
const CACHED_STAKERS: usize = 100_000;

impl State {
    /// Whether the per-account tables are too large for the CPU caches: below that, warming them
    /// ahead would only repeat the lookups.
    pub(crate) fn outgrows_caches(&self) -> bool {
        self.stakers.len() >= CACHED_STAKERS
    }

    /// Starts loading, without waiting, the records of the transactions one and two places after
    /// the one about to be applied: `ahead(n)` is the transaction `n` places ahead, if any. Call
    /// it before each `apply` of a batch.
    pub fn prefetch_ahead<'a>(&self, ahead: impl Fn(usize) -> Option<(Ctx, &'a Tx)>) {
        if !self.outgrows_caches() {
            return;
        }
        for (n, stage) in [(2, Stage::Index), (1, Stage::Entries)] {
            if let Some((ctx, tx)) = ahead(n) {
                self.prefetch(stage, &ctx, tx);
            }
        }
    }

    /// What `tx` from `ctx.sender` reads first from the large tables: the sender's staker
    /// record, and for a deposit its balance of the token.
    fn prefetch(&self, stage: Stage, ctx: &Ctx, tx: &Tx) {
        let staker = match tx {
            Tx::Deposit { strategy, .. } => {
                if let Some(s) = self.strategies.get(strategy) {
                    self.balances.prefetch(stage, &(ctx.sender, s.asset));
                }
                ctx.sender
            }
            Tx::DelegateTo { .. }
            | Tx::Redelegate { .. }
            | Tx::QueueWithdrawals { .. }
            | Tx::CompleteWithdrawal { .. } => ctx.sender,
            Tx::Undelegate { staker } => *staker,
            _ => return,
        };
        self.stakers.prefetch(stage, &staker);
    }
}

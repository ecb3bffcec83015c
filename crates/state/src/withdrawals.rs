//! The withdrawal queue: scaled shares `q = x · k`, slashable for the withdrawal delay, paid at
//! completion as `q · m(start + delay)` in tokens or re-deposited as shares.

use cairn_primitives::{Address, B256, Block, StrategyId, U256, WAD, math};
use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError, delegation::DelegationError, stakers::calc_withdrawable, tx::QueueParams};

/// A queued withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// The operator at queue time.
    pub delegated_to: Option<Address>,
    /// Block queued.
    pub start_block: Block,
    /// Strategies.
    pub strategies: Vec<StrategyId>,
    /// Scaled shares per strategy.
    pub scaled_shares: Vec<U256>,
}

impl Withdrawal {
    /// Its root: keccak256 of the canonical bytes of (staker, nonce, the fields above, 32 zero
    /// bytes), a stable identifier. Computed when asked for, never on the transaction path: one
    /// keccak permutation cost as much as the rest of queueing (docs/protocol.md).
    pub fn root(&self, staker: Address, nonce: u64) -> Result<B256, cairn_primitives::canonical::EncodeError> {
        // The zero bytes stand where the root field once was, so roots keep their values.
        cairn_primitives::canonical::hash("withdrawal", &(staker, nonce, self, B256::ZERO))
    }
}

/// Why a withdrawal transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum WithdrawalError {
    /// No strategies given.
    #[error("a withdrawal needs at least one strategy")]
    InputArrayLengthZero,
    /// Array lengths differ.
    #[error("{strategies} strategies against {shares} share amounts")]
    InputArrayLengthMismatch {
        /// Strategies.
        strategies: usize,
        /// Shares.
        shares: usize,
    },
    /// No such withdrawal.
    #[error("staker {staker} has no queued withdrawal {nonce}")]
    WithdrawalNotFound {
        /// Staker.
        staker: Address,
        /// Nonce.
        nonce: u64,
    },
    /// Too early.
    #[error("withdrawal {nonce} queued at {start_block} is completable after block {slashable_until}, now {block}")]
    WithdrawalDelayNotElapsed {
        /// Nonce.
        nonce: u64,
        /// Start block.
        start_block: Block,
        /// Last slashable block.
        slashable_until: Block,
        /// Now.
        block: Block,
    },
    /// An open slash request covers it.
    #[error("withdrawal {nonce} of {staker} is held by open slash request {request_id} of {set}")]
    HeldBySlashRequest {
        /// Staker.
        staker: Address,
        /// Nonce.
        nonce: u64,
        /// The set.
        set: cairn_primitives::OperatorSetKey,
        /// The request.
        request_id: u32,
    },
}

impl State {
    /// A queued withdrawal.
    pub fn withdrawal(&self, staker: Address, nonce: u64) -> Option<&Withdrawal> {
        self.withdrawals.get(&(staker, nonce))
    }

    /// A staker's queued withdrawals by nonce.
    pub fn withdrawals_of(&self, staker: Address) -> Vec<(u64, Withdrawal)> {
        self.withdrawals.range((staker, 0)..=(staker, u64::MAX)).map(|((_, n), w)| (*n, w.clone())).collect()
    }

    pub(crate) fn tx_queue_withdrawals(
        &mut self,
        ctx: &Ctx,
        params: &[QueueParams],
        ev: &mut Vec<Event>,
    ) -> Result<Vec<u64>, TxError> {
        let operator = self.delegated_to(ctx.sender);
        let mut nonces = Vec::with_capacity(params.len());
        for p in params {
            if p.strategies.len() != p.deposit_shares.len() {
                return Err(WithdrawalError::InputArrayLengthMismatch {
                    strategies: p.strategies.len(),
                    shares: p.deposit_shares.len(),
                }
                .into());
            }
            nonces.push(self.queue_withdrawal(ctx, ctx.sender, operator, &p.strategies, &p.deposit_shares, ev)?);
        }
        Ok(nonces)
    }

    /// Queues one withdrawal: removes deposit shares, stores scaled shares, takes the withdrawable
    /// amount off the operator and records it in the operator's slashable-queue history.
    pub(crate) fn queue_withdrawal(
        &mut self,
        ctx: &Ctx,
        staker: Address,
        operator: Option<Address>,
        strategies: &[StrategyId],
        shares: &[U256],
        ev: &mut Vec<Event>,
    ) -> Result<u64, TxError> {
        if strategies.is_empty() {
            return Err(WithdrawalError::InputArrayLengthZero.into());
        }
        // The withdrawal must be completable: start + delay + 1 must exist.
        math::add_u64(ctx.block, math::add_u64(self.g.params.withdrawal_delay_blocks, 1)?)?;
        let mut scaled = Vec::with_capacity(strategies.len());
        let mut withdrawable = Vec::with_capacity(strategies.len());
        for (s, x) in strategies.iter().zip(shares) {
            self.strategy(*s)?;
            // StrategyManager requires `x > 0`; EigenPodManager does not, so a zero beacon entry
            // is queued (its nonce used) and pays nothing, as in EigenLayer [ES §4.2].
            if x.is_zero() && !self.is_beacon(*s) {
                return Err(DelegationError::SharesAmountZero.into());
            }
            let p = self.position(staker, *s);
            if *x > p.deposit_shares {
                return Err(DelegationError::SharesAmountTooHigh {
                    staker,
                    strategy: *s,
                    requested: *x,
                    held: p.deposit_shares,
                }
                .into());
            }
            let sf = self.staker_slashing_factor(staker, operator, *s)?;
            let w = calc_withdrawable(*x, p.dsf, sf)?;
            let q = math::mul_wad(*x, p.dsf)?;
            if let Some(op) = operator {
                let key = (op, *s);
                self.cumulative_scaled.push_from_latest(key, ctx.block, |cum| math::add(cum.unwrap_or_default(), q))?;
                // Beacon shares: `floor(m·l)` can leave the operator a few wei below its
                // delegators' sum (reference 7.3(1)); never let that drift block an exit.
                let dec = if self.is_beacon(*s) { w.min(self.operator_shares(op, *s)) } else { w };
                self.sub_operator_shares(op, staker, *s, dec, ev)?;
            }
            self.remove_deposit_shares(staker, *s, *x, ev)?;
            scaled.push(q);
            withdrawable.push(w);
        }
        let nonce = self.staker(staker).map_or(0, |r| r.withdrawal_nonce);
        let next = math::add_u64(nonce, 1)?;
        self.update_staker(staker, |r| r.withdrawal_nonce = next);
        let w = Withdrawal {
            delegated_to: operator,
            start_block: ctx.block,
            strategies: strategies.to_vec(),
            scaled_shares: scaled,
        };
        ev.push(Event::WithdrawalQueued {
            staker,
            nonce,
            delegated_to: operator,
            start_block: ctx.block,
            strategies: w.strategies.clone(),
            scaled_shares: w.scaled_shares.clone().into_boxed_slice(),
            withdrawable_shares: withdrawable.into_boxed_slice(),
        });
        self.withdrawals.insert((staker, nonce), w);
        Ok(nonce)
    }

    /// The block whose max magnitude prices a withdrawal in `strategy`: the end of its slashable
    /// window, moved to the resolution (veto or execution) of any slash request that held it past
    /// that end; `None` while an open request still holds it (priced at the current magnitude).
    fn pricing_block(&self, w: &Withdrawal, operator: Address, strategy: StrategyId) -> Option<Block> {
        let end = w.start_block.saturating_add(self.g.params.withdrawal_delay_blocks);
        if self.earliest_open_request(operator, strategy).is_some_and(|req| req <= end) {
            return None;
        }
        let resolved = self.resolved_requests.get(&(operator, strategy));
        Some(
            resolved
                .into_iter()
                .flatten()
                .filter(|(req, done)| *req <= end && end < *done)
                .map(|(_, done)| *done)
                .fold(end, Block::max),
        )
    }

    /// The last block `w` can be slashed at: the end of its delay, or later the block a slash
    /// request that held it was resolved in (a second slash in that block still reaches it, so it
    /// completes only after).
    fn slashable_until(&self, w: &Withdrawal) -> Result<Block, TxError> {
        let end = math::add_u64(w.start_block, self.g.params.withdrawal_delay_blocks)?;
        let Some(op) = w.delegated_to else {
            return Ok(end);
        };
        Ok(w.strategies.iter().filter_map(|s| self.pricing_block(w, op, *s)).fold(end, Block::max))
    }

    /// Shares `staker`'s withdrawal pays per strategy if completed at `block` (an estimate while
    /// slashable). Beacon shares are also multiplied by the pod's current factor `l`.
    pub fn withdrawal_payout(&self, staker: Address, w: &Withdrawal, block: Block) -> Result<Vec<U256>, TxError> {
        let mut out = Vec::with_capacity(w.strategies.len());
        for (s, q) in w.strategies.iter().zip(&w.scaled_shares) {
            let mut sf = match w.delegated_to {
                None => WAD,
                Some(op) => match self.pricing_block(w, op, *s) {
                    Some(at) if at < block => U256::from(self.max_magnitude_at(op, *s, at)),
                    _ => U256::from(self.max_magnitude(op, *s)),
                },
            };
            if self.is_beacon(*s) {
                sf = math::mul_wad(sf, U256::from(self.beacon_factor(staker)))?;
            }
            out.push(math::mul_wad(*q, sf)?);
        }
        Ok(out)
    }

    pub(crate) fn check_not_held(&self, staker: Address, nonce: u64, w: &Withdrawal) -> Result<(), TxError> {
        let Some(op) = w.delegated_to else {
            return Ok(());
        };
        let end = w.start_block.saturating_add(self.g.params.withdrawal_delay_blocks);
        for (set, request_id) in self.open_requests_against(op) {
            let Some(req) = self.slash_request(set, request_id) else {
                continue;
            };
            let overlaps = req.params.strategies.iter().any(|s| w.strategies.contains(s));
            if overlaps && req.requested_at <= end {
                return Err(WithdrawalError::HeldBySlashRequest { staker, nonce, set, request_id }.into());
            }
        }
        Ok(())
    }

    pub(crate) fn tx_complete_withdrawal(
        &mut self,
        ctx: &Ctx,
        nonce: u64,
        as_tokens: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let staker = ctx.sender;
        let missing = WithdrawalError::WithdrawalNotFound { staker, nonce };
        let w = self.withdrawal(staker, nonce).ok_or(missing.clone())?;
        let slashable_until = self.slashable_until(w)?;
        if ctx.block <= slashable_until {
            return Err(WithdrawalError::WithdrawalDelayNotElapsed {
                nonce,
                start_block: w.start_block,
                slashable_until,
                block: ctx.block,
            }
            .into());
        }
        self.check_not_held(staker, nonce, w)?;
        let shares = self.withdrawal_payout(staker, w, ctx.block)?;
        // Checked by reference, then taken out: the record is copied once (into the journal).
        let w = self.withdrawals.remove(&(staker, nonce)).ok_or(missing)?;
        let mut tokens = Vec::with_capacity(shares.len());
        for (s, x) in w.strategies.iter().zip(&shares) {
            if x.is_zero() {
                tokens.push(U256::ZERO);
                continue;
            }
            if as_tokens && self.is_beacon(*s) {
                tokens.push(self.pay_beacon_withdrawal(staker, *x, ev)?);
            } else if as_tokens {
                tokens.push(self.strategy_withdraw(*s, staker, *x, ev)?);
            } else {
                self.credit_deposit_shares(staker, *s, *x, ev)?;
                tokens.push(U256::ZERO);
            }
        }
        ev.push(Event::WithdrawalCompleted { staker, nonce, receive_as_tokens: as_tokens, shares, tokens });
        Ok(())
    }
}

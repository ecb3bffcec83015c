//! Allocations: magnitudes per (operator, set, strategy), encumbered magnitude (unique stake),
//! pending increases after the allocation delay, slashable decreases after the deallocation delay
//! through a FIFO queue, and the views services use.
//!
//! A pending change is applied lazily: every read goes through `load_allocation`, which applies a
//! due change in memory; storage catches up when the allocation is next written.

use std::collections::VecDeque;

use cairn_primitives::{Address, Block, Magnitude, OperatorSetKey, StrategyId, U256, math};
use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError, TxKind, tx::AllocateParams};

/// One allocation (`Allocation { currentMagnitude, pendingDiff, effectBlock }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Allocation {
    /// Magnitude in force.
    pub current: Magnitude,
    /// Pending change (negative: a deallocation).
    pub pending: i128,
    /// Block the pending change takes effect (0: none).
    pub effect_block: Block,
}

impl Allocation {
    /// Magnitude once the pending change applies (current + pending), clamped at zero.
    pub fn target(&self) -> Magnitude {
        u64::try_from(i128::from(self.current).saturating_add(self.pending)).unwrap_or(0)
    }

    /// Size of a pending decrease (0 when none).
    pub fn pending_decrease(&self) -> Magnitude {
        if self.pending < 0 { u64::try_from(self.pending.unsigned_abs()).unwrap_or(u64::MAX) } else { 0 }
    }
}

/// Why an allocation transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum AllocationError {
    /// The operator has no allocation delay set.
    #[error("operator {operator} has no allocation delay set")]
    UninitializedAllocationDelay {
        /// The operator.
        operator: Address,
    },
    /// Array lengths differ.
    #[error("{left} items against {right}")]
    InputArrayLengthMismatch {
        /// First length.
        left: usize,
        /// Second length.
        right: usize,
    },
    /// A change is already pending.
    #[error("operator {operator} already has a pending change for {strategy} in {set} (effect block {effect_block})")]
    ModificationAlreadyPending {
        /// Operator.
        operator: Address,
        /// Set.
        set: OperatorSetKey,
        /// Strategy.
        strategy: StrategyId,
        /// When it takes effect.
        effect_block: Block,
    },
    /// The magnitude would not change.
    #[error("magnitude of {strategy} in {set} is already {magnitude}")]
    SameMagnitude {
        /// Set.
        set: OperatorSetKey,
        /// Strategy.
        strategy: StrategyId,
        /// Magnitude.
        magnitude: Magnitude,
    },
    /// Not enough free magnitude.
    #[error("operator {operator} would encumber {encumbered} of {strategy}, above max magnitude {max}")]
    InsufficientMagnitude {
        /// Operator.
        operator: Address,
        /// Strategy.
        strategy: StrategyId,
        /// Encumbered after the change.
        encumbered: u128,
        /// Max magnitude.
        max: Magnitude,
    },
    /// The allocation would make stake slashable by two incompatible services.
    #[error("operator {operator} allocates to {conflicting_service}, which {service} declares incompatible")]
    IncompatibleServices {
        /// The operator.
        operator: Address,
        /// The service being allocated to.
        service: Address,
        /// The service it already secures.
        conflicting_service: Address,
    },
}

impl State {
    /// The encumbered magnitude as stored (before simulating due deallocations).
    pub(crate) fn stored_encumbered(&self, operator: Address, strategy: StrategyId) -> Magnitude {
        self.encumbered.get(&(operator, strategy)).copied().unwrap_or(0)
    }

    /// The allocation as of `block` with any due change applied, and the encumbered magnitude
    /// after that application. A set with an open slash request keeps its deallocations pending.
    pub fn load_allocation(
        &self,
        operator: Address,
        set: OperatorSetKey,
        strategy: StrategyId,
        block: Block,
    ) -> (Allocation, Magnitude) {
        let mut a = self.allocations.get(&(operator, set, strategy)).copied().unwrap_or_default();
        let mut enc = self.stored_encumbered(operator, strategy);
        let frozen = a.pending < 0 && self.has_open_request(operator, set);
        if a.effect_block != 0 && block >= a.effect_block && !frozen {
            enc = enc.saturating_sub(a.pending_decrease());
            a.current = a.target();
            a.pending = 0;
            a.effect_block = 0;
        }
        (a, enc)
    }

    fn persist_allocation(
        &mut self,
        operator: Address,
        set: OperatorSetKey,
        strategy: StrategyId,
        a: Allocation,
        enc: Magnitude,
        ev: &mut Vec<Event>,
    ) {
        if a == Allocation::default() {
            self.allocations.remove(&(operator, set, strategy));
        } else {
            self.allocations.insert((operator, set, strategy), a);
        }
        if enc != self.stored_encumbered(operator, strategy) {
            self.set_encumbered(operator, strategy, enc, ev);
        }
    }

    pub(crate) fn set_encumbered(
        &mut self,
        operator: Address,
        strategy: StrategyId,
        enc: Magnitude,
        ev: &mut Vec<Event>,
    ) {
        if enc == 0 {
            self.encumbered.remove(&(operator, strategy));
        } else {
            self.encumbered.insert((operator, strategy), enc);
        }
        ev.push(Event::EncumberedMagnitudeUpdated { operator, strategy, encumbered: enc });
    }

    /// Which queued deallocations of (operator, strategy) are due at `block`: the entries in FIFO
    /// order up to the first that is not yet due, passing over those frozen by an open slash
    /// request (they stay queued, in order, and do not hold back the due ones behind them).
    fn due_deallocations(
        &self,
        operator: Address,
        strategy: StrategyId,
        block: Block,
    ) -> (Vec<OperatorSetKey>, VecDeque<OperatorSetKey>) {
        let mut due = Vec::new();
        let mut kept = VecDeque::new();
        let Some(queue) = self.dealloc_queue.get(&(operator, strategy)) else {
            return (due, kept);
        };
        let mut rest = queue.iter();
        for set in rest.by_ref() {
            let (a, _) = self.load_allocation(operator, *set, strategy, block);
            if a.effect_block == 0 {
                due.push(*set);
            } else if self.has_open_request(operator, *set) && block >= a.effect_block {
                kept.push_back(*set);
            } else {
                kept.push_back(*set);
                break;
            }
        }
        kept.extend(rest.copied());
        (due, kept)
    }

    /// Clears due deallocations (at most `limit`), keeping the queue's order for the rest.
    fn clear_queue(&mut self, operator: Address, strategy: StrategyId, limit: u32, block: Block, ev: &mut Vec<Event>) {
        let (due, mut kept) = self.due_deallocations(operator, strategy, block);
        if due.is_empty() || limit == 0 {
            return;
        }
        let take = due.len().min(limit as usize);
        for set in &due[..take] {
            let (a, enc) = self.load_allocation(operator, *set, strategy, block);
            self.persist_allocation(operator, *set, strategy, a, enc, ev);
        }
        // Entries over the limit stay queued ahead of the kept ones, in FIFO order.
        let mut queue: VecDeque<OperatorSetKey> = due[take..].iter().copied().collect();
        queue.append(&mut kept);
        if queue.is_empty() {
            self.dealloc_queue.remove(&(operator, strategy));
        } else {
            self.dealloc_queue.insert((operator, strategy), queue);
        }
    }

    fn push_dealloc(&mut self, operator: Address, strategy: StrategyId, set: OperatorSetKey) {
        let mut q = self.dealloc_queue.get(&(operator, strategy)).cloned().unwrap_or_else(VecDeque::new);
        q.push_back(set);
        self.dealloc_queue.insert((operator, strategy), q);
    }

    /// Refuses an allocation to `service` while the operator secures an incompatible service.
    fn check_compatible(&self, operator: Address, service: Address) -> Result<(), AllocationError> {
        if self.incompatible.is_empty() {
            // No service has declared an incompatibility: skip collecting the operator's services.
            return Ok(());
        }
        for other in self.allocated_services(operator) {
            if other != service && self.are_incompatible(service, other) {
                return Err(AllocationError::IncompatibleServices { operator, service, conflicting_service: other });
            }
        }
        Ok(())
    }

    pub(crate) fn tx_modify_allocations(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        params: &[AllocateParams],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(operator, ctx.sender, TxKind::ModifyAllocations)?;
        self.operator(operator)?;
        let delay = self
            .allocation_delay(operator, ctx.block)
            .ok_or(AllocationError::UninitializedAllocationDelay { operator })?;
        for p in params {
            let set = OperatorSetKey { service: p.service, id: p.set_id };
            self.operator_set(set)?;
            if p.strategies.len() != p.new_magnitudes.len() {
                return Err(AllocationError::InputArrayLengthMismatch {
                    left: p.strategies.len(),
                    right: p.new_magnitudes.len(),
                }
                .into());
            }
            for (strategy, new_mag) in p.strategies.iter().zip(&p.new_magnitudes) {
                self.strategy(*strategy)?;
                self.modify_one(ctx.block, operator, set, *strategy, *new_mag, delay, ev)?;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn modify_one(
        &mut self,
        block: Block,
        operator: Address,
        set: OperatorSetKey,
        strategy: StrategyId,
        new_mag: Magnitude,
        delay: Block,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.clear_queue(operator, strategy, u32::from(u16::MAX), block, ev);
        let (mut a, mut enc) = self.load_allocation(operator, set, strategy, block);
        if a.effect_block != 0 {
            return Err(AllocationError::ModificationAlreadyPending {
                operator,
                set,
                strategy,
                effect_block: a.effect_block,
            }
            .into());
        }
        let in_set = self.operator_set(set)?.strategies.contains(&strategy);
        let slashable = in_set && self.is_slashable_by(operator, set, block) && a.current != 0;
        let diff = i128::from(new_mag).saturating_sub(i128::from(a.current));
        if diff == 0 {
            return Err(AllocationError::SameMagnitude { set, strategy, magnitude: new_mag }.into());
        }
        if diff < 0 {
            if slashable {
                // Stays slashable through block + DEALLOCATION_DELAY; freed when cleared.
                self.push_dealloc(operator, strategy, set);
                a.pending = diff;
                a.effect_block = math::add_u64(block, math::add_u64(self.g.params.deallocation_delay_blocks, 1)?)?;
            } else {
                enc = math::sub_u64(enc, math::sub_u64(a.current, new_mag)?)?;
                a.current = new_mag;
                a.pending = 0;
                a.effect_block = 0;
            }
        } else {
            self.check_compatible(operator, set.service)?;
            let max = self.max_magnitude(operator, strategy);
            let after = u128::from(enc).saturating_add(diff.unsigned_abs());
            if after > u128::from(max) {
                return Err(
                    AllocationError::InsufficientMagnitude { operator, strategy, encumbered: after, max }.into()
                );
            }
            enc = u64::try_from(after).unwrap_or(u64::MAX);
            a.pending = diff;
            // No +1: a delay of 0 takes effect in this block.
            a.effect_block = math::add_u64(block, delay)?;
        }
        let target = a.target();
        let effect_block = if a.effect_block == 0 { block } else { a.effect_block };
        self.persist_allocation(operator, set, strategy, a, enc, ev);
        ev.push(Event::AllocationUpdated { operator, set, strategy, magnitude: target, effect_block });
        Ok(())
    }

    pub(crate) fn tx_clear_deallocation_queue(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        strategies: &[StrategyId],
        num_to_clear: &[u32],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        if strategies.len() != num_to_clear.len() {
            return Err(AllocationError::InputArrayLengthMismatch {
                left: strategies.len(),
                right: num_to_clear.len(),
            }
            .into());
        }
        // Permissionless, and a no-op for an account without a queue.
        for (s, n) in strategies.iter().zip(num_to_clear) {
            self.strategy(*s)?;
            self.clear_queue(operator, *s, *n, ctx.block, ev);
        }
        Ok(())
    }

    /// Encumbered magnitude with every due deallocation simulated as cleared.
    pub fn encumbered_magnitude(&self, operator: Address, strategy: StrategyId, block: Block) -> Magnitude {
        let (due, _) = self.due_deallocations(operator, strategy, block);
        due.iter().fold(self.stored_encumbered(operator, strategy), |enc, set| {
            let a = self.allocations.get(&(operator, *set, strategy)).copied().unwrap_or_default();
            enc.saturating_sub(a.pending_decrease())
        })
    }

    /// Magnitude still free to allocate: max − encumbered (after simulated clearing).
    pub fn allocatable_magnitude(&self, operator: Address, strategy: StrategyId, block: Block) -> Magnitude {
        self.max_magnitude(operator, strategy).saturating_sub(self.encumbered_magnitude(operator, strategy, block))
    }

    /// Stake of `operator` slashable by `set` in `strategy`: floor(op · floor(cur · WAD / max) / WAD).
    pub fn allocated_stake(
        &self,
        operator: Address,
        set: OperatorSetKey,
        strategy: StrategyId,
        block: Block,
    ) -> Result<U256, TxError> {
        let (a, _) = self.load_allocation(operator, set, strategy, block);
        self.stake_for_magnitude(operator, strategy, a.current)
    }

    fn stake_for_magnitude(
        &self,
        operator: Address,
        strategy: StrategyId,
        magnitude: Magnitude,
    ) -> Result<U256, TxError> {
        let max = self.max_magnitude(operator, strategy);
        if max == 0 {
            return Ok(U256::ZERO);
        }
        let proportion = math::div_wad(math::u(magnitude), math::u(max))?;
        Ok(math::mul_wad(self.operator_shares(operator, strategy), proportion)?)
    }

    /// `getMinimumSlashableStake`: allocated stake less pending decreases due by `future_block`;
    /// zero when the operator is not slashable by the set now.
    pub fn minimum_slashable_stake(
        &self,
        operator: Address,
        set: OperatorSetKey,
        strategy: StrategyId,
        block: Block,
        future_block: Block,
    ) -> Result<U256, TxError> {
        if !self.is_slashable_by(operator, set, block) {
            return Ok(U256::ZERO);
        }
        let (a, _) = self.load_allocation(operator, set, strategy, block);
        let mut mag = a.current;
        if a.pending < 0 && a.effect_block <= future_block {
            mag = mag.saturating_sub(a.pending_decrease());
        }
        self.stake_for_magnitude(operator, strategy, mag)
    }

    /// Every allocation of an operator, as of `block`, in key order.
    pub fn operator_allocations(
        &self,
        operator: Address,
        block: Block,
    ) -> Vec<(OperatorSetKey, StrategyId, Allocation)> {
        self.allocations
            .group(&operator)
            .map(|((_, set, s), _)| (set, s, self.load_allocation(operator, set, s, block).0))
            .collect()
    }
}

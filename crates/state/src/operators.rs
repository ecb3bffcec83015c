//! Operators: registration, details, metadata and the allocation delay (immediate for a new
//! operator, delayed by the configuration delay when changed).

use cairn_primitives::{Address, Block, math};
use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError, TxKind, delegation::DelegationError};

/// The allocation delay with its pending change (`AllocationDelayInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AllocationDelay {
    /// Delay in force.
    pub delay: Block,
    /// Whether a delay was ever set.
    pub is_set: bool,
    /// Delay taking effect at `effect_block`.
    pub pending_delay: Block,
    /// Block the pending delay takes effect (0: none).
    pub effect_block: Block,
}

impl AllocationDelay {
    /// The configuration as of `block` (a due pending delay applied).
    pub fn at(self, block: Block) -> Self {
        if self.effect_block != 0 && block >= self.effect_block {
            Self { delay: self.pending_delay, is_set: true, pending_delay: 0, effect_block: 0 }
        } else {
            self
        }
    }
}

/// A registered operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// Whose approval stakers need to delegate.
    pub delegation_approver: Option<Address>,
    /// Metadata URI.
    pub metadata_uri: String,
    /// Allocation delay configuration.
    pub allocation_delay: AllocationDelay,
}

/// Why an operator transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum OperatorError {
    /// The account is not an operator.
    #[error("{account} is not a registered operator")]
    NotOperator {
        /// The account.
        account: Address,
    },
    /// An allocation delay beyond EigenLayer's `u32` range.
    #[error("allocation delay {delay} exceeds {max} blocks")]
    AllocationDelayTooLarge {
        /// Asked.
        delay: Block,
        /// Largest allowed.
        max: Block,
    },
}

/// Largest allocation delay (EigenLayer stores it as `u32`).
pub const MAX_ALLOCATION_DELAY: Block = u32::MAX as Block;

fn check_delay(delay: Block) -> Result<(), OperatorError> {
    if delay > MAX_ALLOCATION_DELAY {
        return Err(OperatorError::AllocationDelayTooLarge { delay, max: MAX_ALLOCATION_DELAY });
    }
    Ok(())
}

impl State {
    /// The operator record of `account`.
    pub fn operator(&self, account: Address) -> Result<&Operator, OperatorError> {
        self.operators.get(&account).ok_or(OperatorError::NotOperator { account })
    }

    /// Whether `account` is a registered operator.
    pub fn is_operator(&self, account: Address) -> bool {
        self.operators.contains(&account)
    }

    /// The operator's allocation delay in force at `block`, if one is set.
    pub fn allocation_delay(&self, operator: Address, block: Block) -> Option<Block> {
        let d = self.operators.get(&operator)?.allocation_delay.at(block);
        d.is_set.then_some(d.delay)
    }

    pub(crate) fn tx_register_operator(
        &mut self,
        ctx: &Ctx,
        approver: Option<Address>,
        delay: Block,
        uri: &str,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let op = ctx.sender;
        check_delay(delay)?;
        if let Some(current) = self.delegated_to(op) {
            return Err(DelegationError::ActivelyDelegated { staker: op, operator: current }.into());
        }
        // A new operator's delay is in force at once (ELIP-013).
        let allocation_delay = AllocationDelay { delay, is_set: true, pending_delay: 0, effect_block: 0 };
        self.operators
            .insert(op, Operator { delegation_approver: approver, metadata_uri: uri.to_string(), allocation_delay });
        ev.push(Event::OperatorRegistered { operator: op, delegation_approver: approver });
        ev.push(Event::AllocationDelaySet { operator: op, delay, effect_block: ctx.block });
        ev.push(Event::OperatorMetadataUpdated { operator: op, metadata_uri: uri.to_string() });
        self.delegate_inner(op, op, ev)
    }

    pub(crate) fn tx_modify_operator(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        approver: Option<Address>,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(operator, ctx.sender, TxKind::ModifyOperatorDetails)?;
        let mut o = self.operator(operator)?.clone();
        o.delegation_approver = approver;
        self.operators.insert(operator, o);
        ev.push(Event::OperatorDetailsModified { operator, delegation_approver: approver });
        Ok(())
    }

    pub(crate) fn tx_update_operator_metadata(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        uri: &str,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(operator, ctx.sender, TxKind::UpdateOperatorMetadata)?;
        let mut o = self.operator(operator)?.clone();
        o.metadata_uri = uri.to_string();
        self.operators.insert(operator, o);
        ev.push(Event::OperatorMetadataUpdated { operator, metadata_uri: uri.to_string() });
        Ok(())
    }

    pub(crate) fn tx_set_allocation_delay(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        delay: Block,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(operator, ctx.sender, TxKind::SetAllocationDelay)?;
        check_delay(delay)?;
        let mut o = self.operator(operator)?.clone();
        let mut d = o.allocation_delay.at(ctx.block);
        // Stakers get the configuration delay (> the withdrawal delay) to leave before it bites.
        let config_delay = math::add_u64(self.g.params.allocation_configuration_delay_blocks, 1)?;
        d.pending_delay = delay;
        d.effect_block = math::add_u64(ctx.block, config_delay)?;
        o.allocation_delay = d;
        self.operators.insert(operator, o);
        ev.push(Event::AllocationDelaySet { operator, delay, effect_block: d.effect_block });
        Ok(())
    }
}

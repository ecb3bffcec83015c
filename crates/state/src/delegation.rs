//! Delegation: all-or-nothing delegation to one operator, approvals by the operator's approver,
//! undelegation (which queues every position) and redelegation.

use cairn_primitives::{Address, Block, StrategyId, U256};
use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError, TxKind, operators::OperatorError, pause::Module, stakers::calc_withdrawable};

/// An approver's single-use consent for a staker to delegate to its operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The staker allowed.
    pub staker: Address,
    /// The operator.
    pub operator: Address,
    /// Last usable block.
    pub expiry: Block,
    /// Whether it was used (salts are never reused).
    pub used: bool,
}

/// Why a delegation (or share) operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum DelegationError {
    /// Already delegated.
    #[error("{staker} is already delegated to {operator}")]
    ActivelyDelegated {
        /// The staker.
        staker: Address,
        /// Its operator.
        operator: Address,
    },
    /// Not delegated.
    #[error("{staker} is not delegated")]
    NotActivelyDelegated {
        /// The staker.
        staker: Address,
    },
    /// Operators are delegated to themselves forever.
    #[error("operator {operator} cannot undelegate")]
    OperatorsCannotUndelegate {
        /// The operator.
        operator: Address,
    },
    /// The caller may not undelegate this staker.
    #[error("{caller} may not undelegate {staker}")]
    UndelegateNotAllowed {
        /// The caller.
        caller: Address,
        /// The staker.
        staker: Address,
    },
    /// The operator needs its approver's consent.
    #[error("operator {operator} requires an approval from {approver}")]
    ApprovalRequired {
        /// The operator.
        operator: Address,
        /// Its approver.
        approver: Address,
    },
    /// No approval with that salt.
    #[error("no approval by {approver} with salt {salt}")]
    ApprovalNotFound {
        /// The approver.
        approver: Address,
        /// The salt.
        salt: u64,
    },
    /// The approval names another staker or operator.
    #[error("approval {salt} is for staker {staker} and operator {operator}")]
    ApprovalMismatch {
        /// The salt.
        salt: u64,
        /// Its staker.
        staker: Address,
        /// Its operator.
        operator: Address,
    },
    /// The approval expired.
    #[error("approval expired at block {expiry}, now {block}")]
    ApprovalExpired {
        /// Expiry.
        expiry: Block,
        /// Current block.
        block: Block,
    },
    /// The salt was used already.
    #[error("salt {salt} of approver {approver} already spent")]
    SaltSpent {
        /// The approver.
        approver: Address,
        /// The salt.
        salt: u64,
    },
    /// Sender is not the operator's approver.
    #[error("{sender} is not the approver of operator {operator}")]
    NotApprover {
        /// The sender.
        sender: Address,
        /// The operator.
        operator: Address,
    },
    /// The operator's magnitude in a strategy is zero.
    #[error("operator {operator} is fully slashed in {strategy}")]
    FullySlashed {
        /// The operator.
        operator: Address,
        /// The strategy.
        strategy: StrategyId,
    },
    /// Zero shares.
    #[error("share amount is zero")]
    SharesAmountZero,
    /// More shares than held.
    #[error("{staker} holds {held} shares of {strategy}, asked {requested}")]
    SharesAmountTooHigh {
        /// The staker.
        staker: Address,
        /// The strategy.
        strategy: StrategyId,
        /// Requested.
        requested: U256,
        /// Held.
        held: U256,
    },
    /// The staker holds the maximum number of strategies.
    #[error("{staker} already holds {max} strategies")]
    MaxStrategiesExceeded {
        /// The staker.
        staker: Address,
        /// The limit.
        max: u32,
    },
    /// The deposit scaling factor would be zero.
    #[error("deposit scaling factor of {staker} in {strategy} would be zero")]
    InvalidDepositScalingFactor {
        /// The staker.
        staker: Address,
        /// The strategy.
        strategy: StrategyId,
    },
}

impl State {
    pub(crate) fn tx_approve_delegation(
        &mut self,
        ctx: &Ctx,
        staker: Address,
        operator: Address,
        salt: u64,
        expiry: Block,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let approver = self.operator(operator)?.delegation_approver;
        if approver != Some(ctx.sender) {
            return Err(DelegationError::NotApprover { sender: ctx.sender, operator }.into());
        }
        if self.approvals.contains(&(ctx.sender, salt)) {
            return Err(DelegationError::SaltSpent { approver: ctx.sender, salt }.into());
        }
        if expiry < ctx.block {
            return Err(DelegationError::ApprovalExpired { expiry, block: ctx.block }.into());
        }
        self.approvals.insert((ctx.sender, salt), Approval { staker, operator, expiry, used: false });
        ev.push(Event::DelegationApproved { approver: ctx.sender, staker, operator, salt });
        Ok(())
    }

    /// The checks `DelegateTo` makes before it writes: `staker` undelegated, `operator`
    /// registered, and (if the operator has an approver) an unused, matching, unexpired approval
    /// at `salt` at `block`. Returns the approval to spend, if one is needed.
    pub(crate) fn check_delegation(
        &self,
        staker: Address,
        operator: Address,
        salt: Option<u64>,
        block: Block,
    ) -> Result<Option<(Address, u64, Approval)>, TxError> {
        if let Some(current) = self.delegated_to(staker) {
            return Err(DelegationError::ActivelyDelegated { staker, operator: current }.into());
        }
        if !self.is_operator(operator) {
            return Err(OperatorError::NotOperator { account: operator }.into());
        }
        let Some(approver) = self.operator(operator)?.delegation_approver else {
            return Ok(None);
        };
        let salt = salt.ok_or(DelegationError::ApprovalRequired { operator, approver })?;
        let a = *self.approvals.get(&(approver, salt)).ok_or(DelegationError::ApprovalNotFound { approver, salt })?;
        if a.used {
            return Err(DelegationError::SaltSpent { approver, salt }.into());
        }
        if a.staker != staker || a.operator != operator {
            return Err(DelegationError::ApprovalMismatch { salt, staker: a.staker, operator: a.operator }.into());
        }
        if a.expiry < block {
            return Err(DelegationError::ApprovalExpired { expiry: a.expiry, block }.into());
        }
        Ok(Some((approver, salt, a)))
    }

    pub(crate) fn tx_delegate(
        &mut self,
        ctx: &Ctx,
        staker: Address,
        operator: Address,
        salt: Option<u64>,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        if let Some((approver, salt, a)) = self.check_delegation(staker, operator, salt, ctx.block)? {
            self.approvals.insert((approver, salt), Approval { used: true, ..a });
        }
        self.delegate_inner(staker, operator, ev)
    }

    /// Moves every position of an undelegated staker to `operator`: k ← k / m, op += shares.
    pub(crate) fn delegate_inner(
        &mut self,
        staker: Address,
        operator: Address,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let mut moves = Vec::new();
        for strategy in self.staker_strategies(staker) {
            let m = self.max_magnitude(operator, strategy);
            if m == 0 {
                return Err(DelegationError::FullySlashed { operator, strategy }.into());
            }
            let p = self.position(staker, strategy);
            // Undelegated, the slashing factor is WAD (beacon: the pod's factor `l`, which is
            // baked into the delegated amount): added = floor(floor(s · k / WAD) · sf / WAD).
            let sf = self.staker_slashing_factor(staker, None, strategy)?;
            let added = calc_withdrawable(p.deposit_shares, p.dsf, sf)?;
            moves.push((strategy, added, U256::from(m)));
        }
        self.update_staker(staker, |r| r.delegated_to = Some(operator));
        ev.push(Event::StakerDelegated { staker, operator });
        for (strategy, added, m) in moves {
            self.update_dsf(staker, strategy, U256::ZERO, added, m, ev)?;
            self.add_operator_shares(operator, staker, strategy, added, ev)?;
        }
        Ok(())
    }

    /// Undelegates `staker`, queueing one withdrawal per strategy; returns their nonces.
    pub(crate) fn tx_undelegate(
        &mut self,
        ctx: &Ctx,
        staker: Address,
        ev: &mut Vec<Event>,
    ) -> Result<Vec<u64>, TxError> {
        let operator = self.delegated_to(staker).ok_or(DelegationError::NotActivelyDelegated { staker })?;
        if self.is_operator(staker) {
            return Err(DelegationError::OperatorsCannotUndelegate { operator: staker }.into());
        }
        if ctx.sender != staker {
            let approver = self.operator(operator)?.delegation_approver;
            let allowed = approver == Some(ctx.sender) || self.can_call(operator, ctx.sender, TxKind::Undelegate);
            if !allowed {
                return Err(DelegationError::UndelegateNotAllowed { caller: ctx.sender, staker }.into());
            }
            ev.push(Event::StakerForceUndelegated { staker, operator });
        }
        ev.push(Event::StakerUndelegated { staker, operator });
        self.update_staker(staker, |r| r.delegated_to = None);
        let mut nonces = Vec::new();
        for strategy in self.staker_strategies(staker) {
            let shares = self.position(staker, strategy).deposit_shares;
            nonces.push(self.queue_withdrawal(ctx, staker, Some(operator), &[strategy], &[shares], ev)?);
        }
        Ok(nonces)
    }

    pub(crate) fn tx_redelegate(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        salt: Option<u64>,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        if self.is_paused(Module::Delegation) {
            return Err(TxError::Paused { module: Module::Delegation, action: TxKind::Redelegate });
        }
        self.tx_undelegate(ctx, ctx.sender, ev)?;
        self.tx_delegate(ctx, ctx.sender, operator, salt, ev)
    }
}

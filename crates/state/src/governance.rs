//! Governance: every parameter change is proposed, waits for the timelock, then executes.

use cairn_primitives::{Address, Block, math};
use serde::{Deserialize, Serialize};

use crate::{
    Ctx, Event, State, TxError,
    tx::{GovernanceAction, ParamName},
};

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Waiting for the timelock.
    Pending,
    /// Carried out.
    Executed,
    /// Cancelled.
    Cancelled,
}

/// A governance proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The action.
    pub action: GovernanceAction,
    /// First block it may execute.
    pub eta: Block,
    /// Status.
    pub status: ProposalStatus,
}

/// Why a governance transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum GovernanceError {
    /// A role given to a protocol-owned account (it could never act, or would corrupt its books).
    #[error("{account} is a reserved protocol account")]
    ReservedAccount {
        /// The account.
        account: Address,
    },
    /// Sender is not the governor.
    #[error("{sender} is not the governor {governor}")]
    NotGovernor {
        /// Sender.
        sender: Address,
        /// Governor.
        governor: Address,
    },
    /// No such proposal.
    #[error("no proposal {id}")]
    UnknownProposal {
        /// Id.
        id: u64,
    },
    /// Not pending.
    #[error("proposal {id} is {status:?}")]
    ProposalNotPending {
        /// Id.
        id: u64,
        /// Status.
        status: ProposalStatus,
    },
    /// Too early.
    #[error("proposal {id} executable at block {eta}, now {block}")]
    TimelockNotElapsed {
        /// Id.
        id: u64,
        /// Executable from.
        eta: Block,
        /// Now.
        block: Block,
    },
    /// A value outside its allowed range.
    #[error("{name:?} = {value} is out of range")]
    InvalidParam {
        /// The parameter.
        name: ParamName,
        /// The value.
        value: u64,
    },
    /// A zero address where one is required.
    #[error("governance action needs a non-zero account")]
    ZeroAccount,
}

impl State {
    /// A proposal.
    pub fn proposal(&self, id: u64) -> Option<&Proposal> {
        self.proposals.get(&id)
    }

    fn require_governor(&self, ctx: &Ctx) -> Result<(), GovernanceError> {
        if ctx.sender == self.g.governor {
            Ok(())
        } else {
            Err(GovernanceError::NotGovernor { sender: ctx.sender, governor: self.g.governor })
        }
    }

    fn validate_action(&self, action: &GovernanceAction) -> Result<(), TxError> {
        match action {
            GovernanceAction::SetParam { name, value } => {
                let ok = match name {
                    ParamName::MaxStakerStrategies => (1..=256).contains(value),
                    ParamName::FaucetEnabled => *value <= 1,
                    ParamName::MaxVetoWindowBlocks => *value <= self.g.params.withdrawal_delay_blocks,
                    _ => *value < u64::from(u32::MAX),
                };
                if !ok {
                    return Err(GovernanceError::InvalidParam { name: *name, value: *value }.into());
                }
            }
            GovernanceAction::SetDepositCap { strategy, .. } => {
                self.strategy(*strategy)?;
            }
            GovernanceAction::SetPauser { account, .. }
            | GovernanceAction::SetUnpauser { account }
            | GovernanceAction::SetGovernor { account }
            | GovernanceAction::SetRewardsUpdater { account }
            | GovernanceAction::SetProtocolFeeRecipient { account } => {
                if *account == Address::ZERO {
                    return Err(GovernanceError::ZeroAccount.into());
                }
                if self.is_reserved_account(*account) {
                    return Err(GovernanceError::ReservedAccount { account: *account }.into());
                }
            }
            GovernanceAction::SetBeaconOracle { members, quorum } => {
                if members.contains(&Address::ZERO) {
                    return Err(GovernanceError::ZeroAccount.into());
                }
                self.validate_committee(members, *quorum)?;
            }
            GovernanceAction::CreateVault(_)
            | GovernanceAction::SetVaultParams { .. }
            | GovernanceAction::SetVaultAsset { .. }
            | GovernanceAction::SetVaultPolicy { .. }
            | GovernanceAction::SetVaultRoles { .. } => self.validate_vault_action(action)?,
        }
        Ok(())
    }

    pub(crate) fn tx_propose(
        &mut self,
        ctx: &Ctx,
        action: &GovernanceAction,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_governor(ctx)?;
        self.validate_action(action)?;
        let id = self.g.next_proposal;
        self.g.next_proposal = math::add_u64(id, 1)?;
        let eta = math::add_u64(ctx.block, self.g.params.governance_timelock_blocks)?;
        self.proposals.insert(id, Proposal { action: action.clone(), eta, status: ProposalStatus::Pending });
        ev.push(Event::ProposalCreated { id, action: Box::new(action.clone()), eta });
        Ok(())
    }

    fn pending_proposal(&self, id: u64) -> Result<Proposal, TxError> {
        let p = self.proposal(id).ok_or(GovernanceError::UnknownProposal { id })?;
        if p.status != ProposalStatus::Pending {
            return Err(GovernanceError::ProposalNotPending { id, status: p.status }.into());
        }
        Ok(p.clone())
    }

    pub(crate) fn tx_execute_proposal(&mut self, ctx: &Ctx, id: u64, ev: &mut Vec<Event>) -> Result<(), TxError> {
        self.require_governor(ctx)?;
        let p = self.pending_proposal(id)?;
        if ctx.block < p.eta {
            return Err(GovernanceError::TimelockNotElapsed { id, eta: p.eta, block: ctx.block }.into());
        }
        self.validate_action(&p.action)?;
        self.apply_action(ctx, &p.action, ev)?;
        ev.push(Event::ProposalExecuted { id, action: Box::new(p.action.clone()) });
        self.proposals.insert(id, Proposal { status: ProposalStatus::Executed, ..p });
        Ok(())
    }

    pub(crate) fn tx_cancel_proposal(&mut self, ctx: &Ctx, id: u64, ev: &mut Vec<Event>) -> Result<(), TxError> {
        self.require_governor(ctx)?;
        let p = self.pending_proposal(id)?;
        self.proposals.insert(id, Proposal { status: ProposalStatus::Cancelled, ..p });
        ev.push(Event::ProposalCancelled { id });
        Ok(())
    }

    fn apply_action(&mut self, ctx: &Ctx, action: &GovernanceAction, ev: &mut Vec<Event>) -> Result<(), TxError> {
        match action {
            GovernanceAction::SetParam { name, value } => {
                let p = &mut self.g.params;
                match name {
                    ParamName::WithdrawalDelayBlocks => p.withdrawal_delay_blocks = *value,
                    ParamName::DeallocationDelayBlocks => p.deallocation_delay_blocks = *value,
                    ParamName::AllocationConfigurationDelayBlocks => p.allocation_configuration_delay_blocks = *value,
                    ParamName::SlasherConfigurationDelayBlocks => p.slasher_configuration_delay_blocks = *value,
                    ParamName::SlashClearingDelayBlocks => p.slash_clearing_delay_blocks = *value,
                    ParamName::MaxVetoWindowBlocks => p.max_veto_window_blocks = *value,
                    ParamName::GovernanceTimelockBlocks => p.governance_timelock_blocks = *value,
                    ParamName::MaxStakerStrategies => {
                        p.max_staker_strategies = u32::try_from(*value).unwrap_or(u32::MAX)
                    }
                    ParamName::FaucetEnabled => p.faucet_enabled = *value == 1,
                }
            }
            GovernanceAction::SetDepositCap { strategy, cap } => {
                let mut s = self.strategy(*strategy)?.clone();
                s.deposit_cap = *cap;
                self.strategies.insert(*strategy, s);
            }
            GovernanceAction::SetPauser { account, enabled } => {
                if *enabled {
                    self.pausers.insert(*account, ());
                } else {
                    self.pausers.remove(account);
                }
            }
            GovernanceAction::SetUnpauser { account } => self.g.unpauser = *account,
            GovernanceAction::SetGovernor { account } => self.g.governor = *account,
            GovernanceAction::SetRewardsUpdater { account } => self.g.rewards_updater = *account,
            GovernanceAction::SetProtocolFeeRecipient { account } => self.g.fee_recipient = *account,
            GovernanceAction::SetBeaconOracle { members, quorum } => self.set_oracle_committee(members, *quorum)?,
            GovernanceAction::CreateVault(_)
            | GovernanceAction::SetVaultParams { .. }
            | GovernanceAction::SetVaultAsset { .. }
            | GovernanceAction::SetVaultPolicy { .. }
            | GovernanceAction::SetVaultRoles { .. } => self.apply_vault_action(ctx, action, ev)?,
        }
        Ok(())
    }
}

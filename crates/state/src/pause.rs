//! Pause flags per module: pausers may only set them, the single unpauser may only clear them.

use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError, TxKind, permissions::PermissionError};

/// A pausable part of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    /// Token transfers.
    Transfers,
    /// Deposits into strategies (and strategy creation).
    Deposits,
    /// New delegations.
    Delegation,
    /// Entering the withdrawal queue (queue, undelegate, redelegate).
    EnterWithdrawalQueue,
    /// Leaving the withdrawal queue (completion).
    ExitWithdrawalQueue,
    /// Allocation changes and deallocation clearing.
    Allocations,
    /// Slashing (requests and execution).
    Slashing,
    /// Operator-set registration and deregistration.
    Registration,
    /// Burning or redistributing slashed shares.
    SlashClearing,
    /// Pods: creation, credential proofs and checkpoints.
    Pods,
    /// Rewards submissions and split changes.
    RewardsSubmissions,
    /// Posting and disabling distribution roots.
    RewardsRoots,
    /// Claims.
    RewardsClaims,
    /// Vault deposits.
    VaultDeposits,
    /// Vault redemptions: instant, ticket requests and finalization.
    VaultRedemptions,
    /// Receipt token transfers, allowances and ticket transfers.
    VaultTransfers,
    /// Vault price reports and rate updates.
    VaultReports,
    /// Vault targets, rebalances, rewards claims and validator upkeep.
    VaultStrategy,
    /// Vault ticket claims (payouts of finalized tickets).
    VaultClaims,
    /// The vault's emergency unwind and in-kind exit.
    VaultEmergency,
    /// Vault guardian actions (asset pauses, rate acceptance and rejection).
    VaultGuardian,
}

impl Module {
    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The module a transaction kind belongs to, if it can be paused. Exhaustive: a new kind must
/// say where it belongs (none: governance, permissions, pausing itself and service setup, which
/// must stay usable to fix a paused system).
pub fn module_of(kind: TxKind) -> Option<Module> {
    use TxKind::*;
    Some(match kind {
        Transfer => Module::Transfers,
        Deposit | CreateStrategy => Module::Deposits,
        DelegateTo | RegisterAsOperator => Module::Delegation,
        QueueWithdrawals | Undelegate | Redelegate => Module::EnterWithdrawalQueue,
        CompleteWithdrawal => Module::ExitWithdrawalQueue,
        ModifyAllocations | ClearDeallocationQueue => Module::Allocations,
        SlashOperator | ExecuteSlash => Module::Slashing,
        RegisterForOperatorSets | DeregisterFromOperatorSets => Module::Registration,
        ClearBurnOrRedistributableShares => Module::SlashClearing,
        CreatePod | VerifyWithdrawalCredentials | StartCheckpoint | VerifyCheckpointProofs | VerifyStaleBalance => {
            Module::Pods
        }
        CreateRewardsSubmission
        | CreateOperatorDirectedRewardsSubmission
        | CreateOperatorDirectedOperatorSetRewardsSubmission
        | CreateUniqueStakeRewardsSubmission
        | CreateTotalStakeRewardsSubmission
        | SetOperatorServiceSplit
        | SetOperatorSetSplit => Module::RewardsSubmissions,
        SubmitRoot | DisableRoot => Module::RewardsRoots,
        ProcessClaim | ProcessClaims => Module::RewardsClaims,
        VaultDeposit => Module::VaultDeposits,
        VaultRedeem | VaultRequestWithdrawal | VaultFinalizeTickets => Module::VaultRedemptions,
        VaultTransfer | VaultApprove | VaultTransferFrom | VaultTransferTicket => Module::VaultTransfers,
        VaultReportPrices | VaultUpdateRate => Module::VaultReports,
        VaultSetTargets | VaultRebalance | VaultClaimRewards | VaultVerifyValidators | VaultStartCheckpoint => {
            Module::VaultStrategy
        }
        VaultClaimTicket => Module::VaultClaims,
        VaultEmergencyUnwind | VaultEmergencyExit => Module::VaultEmergency,
        VaultAcceptRate | VaultRejectRate | VaultSetAssetPaused => Module::VaultGuardian,
        Mint
        | ModifyOperatorDetails
        | UpdateOperatorMetadata
        | SetAllocationDelay
        | ApproveDelegation
        | RegisterService
        | CreateOperatorSet
        | AddStrategiesToOperatorSet
        | RemoveStrategiesFromOperatorSet
        | UpdateSlasher
        | SetRegistrationAllowed
        | DeclareSetRisk
        | SetIncompatibleService
        | VetoSlash
        | AddPendingAdmin
        | RemovePendingAdmin
        | AcceptAdmin
        | RemoveAdmin
        | SetAppointee
        | RemoveAppointee
        | Pause
        | Unpause
        | Propose
        | ExecuteProposal
        | CancelProposal
        | PostBeaconReport
        | SetProtocolFeeOptIn
        | SetClaimerFor => return None,
    })
}

impl State {
    /// The block `module` was paused at, while it is paused.
    pub fn paused_since(&self, module: Module) -> Option<cairn_primitives::Block> {
        self.pause_since.get(&module).copied()
    }

    /// Whether `module` is paused.
    pub fn is_paused(&self, module: Module) -> bool {
        self.g.paused & module.bit() != 0
    }

    pub(crate) fn tx_pause(&mut self, ctx: &Ctx, modules: &[Module], ev: &mut Vec<Event>) -> Result<(), TxError> {
        if !self.pausers.contains(&ctx.sender) {
            return Err(PermissionError::NotPauser { caller: ctx.sender }.into());
        }
        for m in modules {
            if !self.is_paused(*m) {
                self.pause_since.insert(*m, ctx.block);
            }
            self.g.paused |= m.bit();
        }
        ev.push(Event::Paused { by: ctx.sender, modules: modules.to_vec() });
        Ok(())
    }

    pub(crate) fn tx_unpause(&mut self, ctx: &Ctx, modules: &[Module], ev: &mut Vec<Event>) -> Result<(), TxError> {
        if ctx.sender != self.g.unpauser {
            return Err(PermissionError::NotUnpauser { caller: ctx.sender, unpauser: self.g.unpauser }.into());
        }
        for m in modules {
            self.g.paused &= !m.bit();
            self.pause_since.remove(m);
        }
        ev.push(Event::Unpaused { by: ctx.sender, modules: modules.to_vec() });
        Ok(())
    }
}

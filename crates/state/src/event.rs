//! Events: what a successful transaction did, for indexers, the rewards calculator and reports.

use cairn_primitives::{Address, AssetId, B256, Block, OperatorSetKey, StrategyId, U256, VaultId, serde_dec};
use serde::Serialize;

use crate::{
    pause::Module,
    tx::{GovernanceAction, TxKind},
};

/// One observable effect of a transaction. `Event::VARIANTS` lists the names as serialized
/// (the `event` field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, strum::VariantNames)]
#[serde(tag = "event", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[allow(missing_docs)] // field names follow EigenLayer's event arguments
pub enum Event {
    /// Tokens moved between accounts.
    Transfer {
        asset: AssetId,
        from: Address,
        to: Address,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// Tokens created by the faucet.
    Minted {
        asset: AssetId,
        to: Address,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// A strategy was created for an asset.
    StrategyCreated { strategy: StrategyId, asset: AssetId, address: Address },
    /// A staker deposited into a strategy.
    Deposit {
        staker: Address,
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        amount: U256,
        #[serde(with = "serde_dec")]
        shares: U256,
    },
    /// The strategy's exchange rate after an operation, WAD tokens per share.
    ExchangeRateEmitted {
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        rate: U256,
    },
    /// A staker's deposit scaling factor changed.
    DepositScalingFactorUpdated {
        staker: Address,
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        new_dsf: U256,
    },
    /// An operator registered.
    OperatorRegistered { operator: Address, delegation_approver: Option<Address> },
    /// Operator details changed.
    OperatorDetailsModified { operator: Address, delegation_approver: Option<Address> },
    /// Operator metadata changed.
    OperatorMetadataUpdated { operator: Address, metadata_uri: String },
    /// An allocation delay was set (effective at `effect_block`).
    AllocationDelaySet { operator: Address, delay: Block, effect_block: Block },
    /// An approver approved a delegation.
    DelegationApproved { approver: Address, staker: Address, operator: Address, salt: u64 },
    /// A staker delegated.
    StakerDelegated { staker: Address, operator: Address },
    /// A staker was undelegated.
    StakerUndelegated { staker: Address, operator: Address },
    /// A staker was undelegated by the operator's side.
    StakerForceUndelegated { staker: Address, operator: Address },
    /// An operator's shares grew.
    OperatorSharesIncreased {
        operator: Address,
        staker: Address,
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        shares: U256,
    },
    /// An operator's shares shrank (staker is zero for a slash).
    OperatorSharesDecreased {
        operator: Address,
        staker: Address,
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        shares: U256,
    },
    /// A service registered its metadata.
    ServiceRegistered { service: Address, metadata_uri: String },
    /// An operator set was created.
    OperatorSetCreated { set: OperatorSetKey, redistribution_recipient: Option<Address> },
    /// A strategy joined a set.
    StrategyAddedToOperatorSet { set: OperatorSetKey, strategy: StrategyId },
    /// A strategy left a set.
    StrategyRemovedFromOperatorSet { set: OperatorSetKey, strategy: StrategyId },
    /// A set's slasher is (or will be) `slasher` from `effect_block`.
    SlasherUpdated { set: OperatorSetKey, slasher: Address, effect_block: Block },
    /// A set's allow-list changed.
    RegistrationAllowedSet { set: OperatorSetKey, operator: Address, allowed: bool },
    /// A service declared a set's profit from corruption and threshold.
    SetRiskDeclared {
        set: OperatorSetKey,
        #[serde(with = "serde_dec")]
        prize: U256,
        threshold_num: u64,
        threshold_den: u64,
    },
    /// An incompatibility declaration changed.
    IncompatibleServiceSet { service: Address, other: Address, incompatible: bool },
    /// An operator joined a set.
    OperatorAddedToOperatorSet { operator: Address, set: OperatorSetKey },
    /// An operator left a set (slashable until `slashable_until`).
    OperatorRemovedFromOperatorSet { operator: Address, set: OperatorSetKey, slashable_until: Block },
    /// An allocation's target magnitude and the block it takes effect.
    AllocationUpdated {
        operator: Address,
        set: OperatorSetKey,
        strategy: StrategyId,
        magnitude: u64,
        effect_block: Block,
    },
    /// An operator's encumbered magnitude changed.
    EncumberedMagnitudeUpdated { operator: Address, strategy: StrategyId, encumbered: u64 },
    /// An operator's max magnitude changed (only by slashing).
    MaxMagnitudeUpdated { operator: Address, strategy: StrategyId, max_magnitude: u64 },
    /// A slash was requested and waits for its veto window.
    SlashRequested {
        set: OperatorSetKey,
        request_id: u32,
        operator: Address,
        strategies: Vec<StrategyId>,
        #[serde(with = "serde_dec::vec")]
        wads_to_slash: Vec<U256>,
        executable_at: Block,
    },
    /// A slash request was vetoed.
    SlashVetoed { set: OperatorSetKey, request_id: u32, operator: Address },
    /// A slash request was executed as slash `slash_id`.
    SlashRequestExecuted { set: OperatorSetKey, request_id: u32, slash_id: u32 },
    /// An operator was slashed.
    OperatorSlashed {
        operator: Address,
        set: OperatorSetKey,
        slash_id: u32,
        strategies: Vec<StrategyId>,
        #[serde(with = "serde_dec::vec")]
        wad_slashed: Vec<U256>,
        description: String,
    },
    /// Deposit shares slashed from the operator and its queue for one strategy.
    OperatorSharesSlashed {
        operator: Address,
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        total_slashed_shares: U256,
    },
    /// Shares set aside to burn or redistribute.
    BurnOrRedistributableSharesIncreased {
        set: OperatorSetKey,
        slash_id: u32,
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        shares: U256,
        clearable_at: Block,
    },
    /// Set-aside shares were burned or redistributed.
    BurnOrRedistributableSharesDecreased {
        set: OperatorSetKey,
        slash_id: u32,
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        shares: U256,
        #[serde(with = "serde_dec")]
        tokens: U256,
        recipient: Address,
    },
    /// A withdrawal entered the queue.
    WithdrawalQueued {
        staker: Address,
        nonce: u64,
        delegated_to: Option<Address>,
        start_block: Block,
        strategies: Vec<StrategyId>,
        // Boxed slices (16 bytes, not a vector's 24) keep this event within 128 bytes.
        #[serde(with = "serde_dec::vec")]
        scaled_shares: Box<[U256]>,
        #[serde(with = "serde_dec::vec")]
        withdrawable_shares: Box<[U256]>,
    },
    /// A withdrawal left the queue.
    WithdrawalCompleted {
        staker: Address,
        nonce: u64,
        receive_as_tokens: bool,
        #[serde(with = "serde_dec::vec")]
        shares: Vec<U256>,
        #[serde(with = "serde_dec::vec")]
        tokens: Vec<U256>,
    },
    /// A pending admin was proposed.
    PendingAdminAdded { account: Address, admin: Address },
    /// A pending admin was withdrawn.
    PendingAdminRemoved { account: Address, admin: Address },
    /// An admin was added.
    AdminSet { account: Address, admin: Address },
    /// An admin was removed.
    AdminRemoved { account: Address, admin: Address },
    /// An appointee was set.
    AppointeeSet { account: Address, appointee: Address, action: TxKind },
    /// An appointee was removed.
    AppointeeRemoved { account: Address, appointee: Address, action: TxKind },
    /// Modules were paused.
    Paused { by: Address, modules: Vec<Module> },
    /// Modules were unpaused.
    Unpaused { by: Address, modules: Vec<Module> },
    /// Governance proposed an action.
    ProposalCreated { id: u64, action: Box<GovernanceAction>, eta: Block },
    /// A proposal was executed.
    ProposalExecuted { id: u64, action: Box<GovernanceAction> },
    /// A proposal was cancelled.
    ProposalCancelled { id: u64 },
    /// An oracle member reported a slot (`votes` of `quorum` for this root so far).
    BeaconReportVoted { member: Address, slot: u64, root: B256, votes: u32, quorum: u32 },
    /// A report reached quorum and took effect.
    BeaconReportAccepted { slot: u64, root: B256, validators: usize, withdrawals: usize },
    /// A beacon-chain withdrawal was paid to its address.
    BeaconWithdrawalPaid { validator_index: u64, address: Address, amount_gwei: u64 },
    /// A pod was created.
    PodDeployed { owner: Address, pod: Address },
    /// A validator was verified into a pod.
    ValidatorRestaked { owner: Address, validator_index: u64, effective_balance_gwei: u64 },
    /// A pod owner's beacon shares grew (credential proof or checkpoint gain).
    PodSharesUpdated {
        owner: Address,
        #[serde(with = "serde_dec")]
        shares: U256,
    },
    /// A checkpoint started.
    CheckpointCreated { owner: Address, number: u64, slot: u64, pod_balance_gwei: u64, proofs_remaining: u32 },
    /// A validator's balance was proven in the open checkpoint.
    ValidatorCheckpointed { owner: Address, validator_index: u64, balance_gwei: u64 },
    /// A proof was skipped (not in the pod, not active, already proven, no record).
    CheckpointProofSkipped { owner: Address, validator_index: u64, reason: &'static str },
    /// A validator proved a zero balance and left the pod's active set.
    ValidatorWithdrawn { owner: Address, validator_index: u64 },
    /// A checkpoint completed with the pod's total balance change.
    CheckpointFinalized { owner: Address, number: u64, slot: u64, prev_restaked_gwei: u64, delta_gwei: i128 },
    /// A checkpoint loss lowered the pod's beacon-chain slashing factor.
    BeaconChainSlashingFactorDecreased { staker: Address, prev_factor: u64, new_factor: u64 },
    /// A rewards submission escrowed its tokens (`amount` net of the protocol `fee`).
    RewardsSubmissionCreated(Box<RewardsSubmissionCreatedBody>),
    /// An operator's split changes to `new` at `activated_at`.
    OperatorSplitSet {
        operator: Address,
        target: crate::rewards::SplitTarget,
        old: Option<u16>,
        new: u16,
        activated_at: u64,
    },
    /// A submitter opted in or out of the protocol fee.
    ProtocolFeeOptInSet { submitter: Address, opt_in: bool },
    /// A distribution root was posted.
    DistributionRootSubmitted { index: u32, root: B256, calculation_end: u64, activated_at: u64 },
    /// A distribution root was disabled.
    DistributionRootDisabled { index: u32 },
    /// An earner's claimer changed.
    ClaimerForSet { earner: Address, claimer: Option<Address> },
    /// Rewards were claimed.
    RewardsClaimed(Box<RewardsClaimedBody>),
    // vault (vault/)
    /// A vault was created (by governance).
    VaultCreated { vault: VaultId, symbol: String, account: Address },
    /// A vault's parameters changed (by governance).
    VaultParamsSet { vault: VaultId, params: crate::vault::VaultParams },
    /// One of a vault's priced assets was added or replaced (by governance).
    VaultAssetSet { vault: VaultId, config: crate::vault::AssetConfig },
    /// A vault's policy changed (by governance).
    VaultPolicySet { vault: VaultId, policy: crate::vault::Policy },
    /// A vault's roles changed (by governance).
    VaultRolesSet { vault: VaultId, roles: crate::vault::tx::VaultRoles },
    /// The guardian paused or resumed deposits of an asset.
    VaultAssetPaused { vault: VaultId, asset: AssetId, paused: bool },
    /// Receipt tokens moved.
    VaultTransfer {
        vault: VaultId,
        from: Address,
        to: Address,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// An allowance was set.
    VaultApproval {
        vault: VaultId,
        owner: Address,
        spender: Address,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// An asset was deposited for receipt tokens at `rate` (value per token, WAD).
    VaultDeposited(Box<VaultDepositedBody>),
    /// Receipt tokens were redeemed at once from the buffer.
    VaultRedeemed(Box<VaultRedeemedBody>),
    /// Fees were minted to the recipient as receipt tokens.
    VaultFeesMinted {
        vault: VaultId,
        recipient: Address,
        #[serde(with = "serde_dec")]
        tokens: U256,
        #[serde(with = "serde_dec")]
        management: U256,
        #[serde(with = "serde_dec")]
        performance: U256,
    },
    /// A committee member reported prices for a round.
    VaultPricesReported { vault: VaultId, member: Address, round: u64 },
    /// A round reached quorum: these prices are in force.
    VaultPricesAccepted { vault: VaultId, round: u64, prices: Vec<crate::vault::tx::AssetPrice> },
    /// The rate was settled (settlement `number`).
    VaultRateSettled(Box<VaultRateSettledBody>),
    /// A rise faster than the APR cap settled at the cap; the rest waits in the current rate.
    VaultRateSmoothed {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        rate: U256,
        #[serde(with = "serde_dec")]
        settled: U256,
    },
    /// A rate broke its bounds and waits for the guardian; minting and redemption pause.
    VaultRateQuarantined {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        rate: U256,
        #[serde(with = "serde_dec")]
        settled: U256,
        breach: crate::vault::book::Breach,
    },
    /// The guardian accepted a quarantined rate (settled at `rate`, recomputed now).
    VaultRateAccepted {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        rate: U256,
        #[serde(with = "serde_dec")]
        quarantined: U256,
    },
    /// The guardian rejected a quarantined rate.
    VaultRateRejected {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        rate: U256,
        #[serde(with = "serde_dec")]
        settled: U256,
    },
    /// The keeper set targets; the worst single-service loss the state machine computed for them.
    VaultTargetsSet {
        vault: VaultId,
        buffer_bps: u16,
        operators: Vec<crate::vault::TargetWeight>,
        worst_loss_bps: u16,
        worst_service: Option<Address>,
    },
    /// A sub-account was opened at an operator (and delegated there).
    VaultPlaceOpened { vault: VaultId, operator: Address, account: Address },
    /// Buffer tokens were deposited at an operator's place.
    VaultAllocated {
        vault: VaultId,
        operator: Address,
        asset: AssetId,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// 32 ETH validator deposits left for the beacon chain, credentials pointing at `pod`.
    VaultValidatorsDeposited {
        vault: VaultId,
        operator: Address,
        pod: Address,
        count: u32,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// Deposited validators were verified into the place's pod.
    VaultValidatorsVerified { vault: VaultId, operator: Address, count: u32 },
    /// The operator is asked to exit this many validators (ETH the pod cannot pay yet).
    VaultValidatorExitsRequested { vault: VaultId, operator: Address, count: u32 },
    /// A place queued a withdrawal (`committed` of it promised to tickets).
    VaultUnbondingQueued {
        vault: VaultId,
        operator: Address,
        asset: AssetId,
        nonce: u64,
        #[serde(with = "serde_dec")]
        expected: U256,
        #[serde(with = "serde_dec")]
        committed: U256,
        completable_at: Block,
    },
    /// An unbonding completed into the buffer.
    VaultUnbondingCompleted {
        vault: VaultId,
        operator: Address,
        asset: AssetId,
        nonce: u64,
        #[serde(with = "serde_dec")]
        tokens: U256,
    },
    /// A rebalance ran (values queued out and deposited, unbondings completed).
    VaultRebalanced {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        unbonded: U256,
        #[serde(with = "serde_dec")]
        deposited: U256,
        completed: u32,
    },
    /// A withdrawal ticket was opened with its ETA.
    VaultWithdrawalRequested {
        vault: VaultId,
        ticket: u64,
        owner: Address,
        asset: AssetId,
        #[serde(with = "serde_dec")]
        tokens: U256,
        #[serde(with = "serde_dec")]
        requested: U256,
        eta_block: Block,
        eta_time: u64,
    },
    /// A ticket changed hands.
    VaultTicketTransferred { vault: VaultId, ticket: u64, from: Address, to: Address },
    /// A ticket's value was fixed; its tokens burned.
    VaultTicketFinalized {
        vault: VaultId,
        ticket: u64,
        asset: AssetId,
        #[serde(with = "serde_dec")]
        tokens: U256,
        #[serde(with = "serde_dec")]
        amount: U256,
        #[serde(with = "serde_dec")]
        rate: U256,
    },
    /// A ticket was paid.
    VaultTicketClaimed {
        vault: VaultId,
        ticket: u64,
        owner: Address,
        asset: AssetId,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// A pending ticket was cancelled by the emergency unwind; its tokens returned.
    VaultTicketCancelled {
        vault: VaultId,
        ticket: u64,
        owner: Address,
        #[serde(with = "serde_dec")]
        tokens: U256,
    },
    /// The emergency unwind started (withdrawals still unbonding).
    VaultEmergencyUnwind { vault: VaultId, unbondings: u32 },
    /// A holder exited in kind.
    VaultEmergencyExit {
        vault: VaultId,
        owner: Address,
        #[serde(with = "serde_dec")]
        tokens: U256,
        paid: Vec<crate::vault::AssetAmount>,
    },
    /// A sub-account's rewards were claimed into the buffer.
    VaultRewardsClaimed {
        vault: VaultId,
        earner: Address,
        asset: AssetId,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
}

// The largest events are boxed so that `Event` stays at 128 bytes: every transaction pushes a few,
// and a move of 128 bytes is a handful of register stores where 192 was a call to `memcpy`.

/// An asset was deposited for receipt tokens at `rate` (value per token, WAD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)] // field names follow the event's arguments
pub struct VaultDepositedBody {
    pub vault: VaultId,
    pub sender: Address,
    pub receiver: Address,
    pub asset: AssetId,
    #[serde(with = "serde_dec")]
    pub amount: U256,
    #[serde(with = "serde_dec")]
    pub value: U256,
    #[serde(with = "serde_dec")]
    pub tokens: U256,
    #[serde(with = "serde_dec")]
    pub rate: U256,
}

/// The rate was settled (settlement `number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)] // field names follow the event's arguments
pub struct VaultRateSettledBody {
    pub vault: VaultId,
    pub number: u64,
    #[serde(with = "serde_dec")]
    pub rate: U256,
    #[serde(with = "serde_dec")]
    pub previous: U256,
    #[serde(with = "serde_dec")]
    pub supply: U256,
    #[serde(with = "serde_dec")]
    pub assets: U256,
    #[serde(with = "serde_dec")]
    pub reserve: U256,
}

/// Receipt tokens were redeemed at once from the buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)] // field names follow the event's arguments
pub struct VaultRedeemedBody {
    pub vault: VaultId,
    pub owner: Address,
    pub asset: AssetId,
    #[serde(with = "serde_dec")]
    pub tokens: U256,
    #[serde(with = "serde_dec")]
    pub value: U256,
    pub fee_bps: u16,
    #[serde(with = "serde_dec")]
    pub amount: U256,
    #[serde(with = "serde_dec")]
    pub rate: U256,
}

/// A rewards submission escrowed its tokens (`amount` net of the protocol `fee`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)] // field names follow the event's arguments
pub struct RewardsSubmissionCreatedBody {
    pub service: Address,
    pub nonce: u64,
    pub hash: B256,
    pub kind: crate::rewards::SubmissionKind,
    pub token: AssetId,
    #[serde(with = "serde_dec")]
    pub amount: U256,
    #[serde(with = "serde_dec")]
    pub fee: U256,
    pub start: u64,
    pub duration: u64,
}

/// Rewards were claimed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)] // field names follow the event's arguments
pub struct RewardsClaimedBody {
    pub root: B256,
    pub earner: Address,
    pub claimer: Address,
    pub recipient: Address,
    pub token: AssetId,
    #[serde(with = "serde_dec")]
    pub amount: U256,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every transaction moves a few events: a new variant past 128 bytes belongs in a box.
    #[test]
    fn an_event_is_128_bytes() {
        assert_eq!(std::mem::size_of::<Event>(), 128);
    }
}

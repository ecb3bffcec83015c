//! Transactions: everything a signer can ask the state machine to do.

use cairn_primitives::{Address, AssetId, B256, Block, StrategyId, Timestamp, U256, VaultId, serde_dec};
use serde::{Deserialize, Serialize};

use crate::{
    oracle::{BeaconWithdrawal, ValidatorRecord},
    pause::Module,
    rewards::{OperatorDirectedSubmission, RewardsClaim, RewardsSubmission},
    services::Consent,
    vault::tx as vault,
};

/// A veto configuration for an operator set's slash requests (beyond EigenLayer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VetoConfig {
    /// The account that may veto a pending slash request.
    pub committee: Address,
    /// Blocks a request waits before it can execute; 0 slashes immediately.
    pub window: Block,
}

/// One operator set's part of a `modify_allocations` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocateParams {
    /// The service owning the set.
    pub service: Address,
    /// The set's number.
    pub set_id: u32,
    /// Strategies whose magnitude changes.
    pub strategies: Vec<StrategyId>,
    /// The new magnitude for each strategy (out of 1e18).
    pub new_magnitudes: Vec<u64>,
}

/// One withdrawal of a `queue_withdrawals` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    /// Strategies to withdraw from.
    pub strategies: Vec<StrategyId>,
    /// Deposit shares to withdraw from each.
    #[serde(with = "serde_dec::vec")]
    pub deposit_shares: Vec<U256>,
}

/// A parameter governance may change (each a number; booleans are 0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamName {
    /// `Params::withdrawal_delay_blocks`.
    WithdrawalDelayBlocks,
    /// `Params::deallocation_delay_blocks`.
    DeallocationDelayBlocks,
    /// `Params::allocation_configuration_delay_blocks`.
    AllocationConfigurationDelayBlocks,
    /// `Params::slasher_configuration_delay_blocks`.
    SlasherConfigurationDelayBlocks,
    /// `Params::slash_clearing_delay_blocks`.
    SlashClearingDelayBlocks,
    /// `Params::max_veto_window_blocks`.
    MaxVetoWindowBlocks,
    /// `Params::governance_timelock_blocks`.
    GovernanceTimelockBlocks,
    /// `Params::max_staker_strategies`.
    MaxStakerStrategies,
    /// `Params::faucet_enabled` (0 or 1).
    FaucetEnabled,
}

/// A change governance proposes and executes after the timelock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GovernanceAction {
    /// Set one numeric parameter.
    SetParam {
        /// Which parameter.
        name: ParamName,
        /// Its new value.
        value: u64,
    },
    /// Set or lift a strategy's deposit cap (total tokens the strategy may hold after a deposit).
    SetDepositCap {
        /// The strategy.
        strategy: StrategyId,
        /// The cap in tokens; none lifts it.
        #[serde(with = "serde_dec::opt", default)]
        cap: Option<U256>,
    },
    /// Grant or revoke the pauser role.
    SetPauser {
        /// The account.
        account: Address,
        /// Whether it may pause.
        enabled: bool,
    },
    /// Name the single unpauser.
    SetUnpauser {
        /// The new unpauser.
        account: Address,
    },
    /// Hand governance to another account.
    SetGovernor {
        /// The new governor.
        account: Address,
    },
    /// Name the rewards updater (posts and disables distribution roots).
    SetRewardsUpdater {
        /// The updater.
        account: Address,
    },
    /// Name the receiver of the opt-in protocol fee on rewards submissions.
    SetProtocolFeeRecipient {
        /// The recipient.
        account: Address,
    },
    /// Name the beacon-chain oracle committee and its quorum (a strict majority).
    SetBeaconOracle {
        /// Members.
        members: Vec<Address>,
        /// Matching reports needed.
        quorum: u32,
    },
    // vault
    /// Create a liquid restaking vault.
    CreateVault(Box<crate::vault::tx::VaultSpec>),
    /// Replace a vault's parameters.
    SetVaultParams {
        /// The vault.
        vault: VaultId,
        /// The new parameters.
        params: crate::vault::VaultParams,
    },
    /// Add or replace one priced asset of a vault.
    SetVaultAsset {
        /// The vault.
        vault: VaultId,
        /// The asset's configuration.
        config: crate::vault::AssetConfig,
    },
    /// Replace a vault's allocation policy.
    SetVaultPolicy {
        /// The vault.
        vault: VaultId,
        /// The policy.
        policy: crate::vault::Policy,
    },
    /// Replace a vault's roles.
    SetVaultRoles {
        /// The vault.
        vault: VaultId,
        /// The roles.
        roles: crate::vault::tx::VaultRoles,
    },
}

/// A transaction. The sender, block height and time come with it from outside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumDiscriminants)]
#[strum_discriminants(name(TxKind), derive(Serialize, Deserialize, PartialOrd, Ord, Hash, strum::IntoStaticStr))]
#[strum_discriminants(serde(rename_all = "snake_case"))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Tx {
    // ledger
    /// Move tokens to another account.
    Transfer {
        /// Token.
        asset: AssetId,
        /// Recipient.
        to: Address,
        /// Amount in the token's smallest unit.
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// Governance faucet (devnet only): create tokens.
    Mint {
        /// Token.
        asset: AssetId,
        /// Recipient.
        to: Address,
        /// Amount.
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// Create the strategy of an asset that has none (permissionless, one per asset).
    CreateStrategy {
        /// The asset.
        asset: AssetId,
    },
    // deposits
    /// Deposit tokens into a strategy for shares.
    Deposit {
        /// Target strategy.
        strategy: StrategyId,
        /// Token amount.
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    // operators
    /// Become an operator (delegated to yourself).
    RegisterAsOperator {
        /// Account whose approval stakers need to delegate, if any.
        #[serde(default)]
        delegation_approver: Option<Address>,
        /// Blocks before an allocation increase takes effect.
        allocation_delay: Block,
        /// Metadata URI.
        #[serde(default)]
        metadata_uri: String,
    },
    /// Change an operator's delegation approver.
    ModifyOperatorDetails {
        /// The operator.
        operator: Address,
        /// New approver (none removes it).
        #[serde(default)]
        delegation_approver: Option<Address>,
    },
    /// Change an operator's metadata URI.
    UpdateOperatorMetadata {
        /// The operator.
        operator: Address,
        /// New URI.
        metadata_uri: String,
    },
    /// Change an operator's allocation delay (effective after the configuration delay).
    SetAllocationDelay {
        /// The operator.
        operator: Address,
        /// New delay in blocks.
        delay: Block,
    },
    // delegation
    /// The approver's consent for one staker to delegate to its operator (single-use salt).
    ApproveDelegation {
        /// The staker allowed.
        staker: Address,
        /// The operator.
        operator: Address,
        /// Single-use salt.
        salt: u64,
        /// Last block at which the approval may be used.
        expiry: Block,
    },
    /// Delegate all your stake to an operator.
    DelegateTo {
        /// The operator.
        operator: Address,
        /// Salt of the approver's approval, when the operator has an approver.
        #[serde(default)]
        approval_salt: Option<u64>,
    },
    /// Undelegate a staker: queues a withdrawal of every position.
    Undelegate {
        /// The staker.
        staker: Address,
    },
    /// Undelegate yourself and delegate to another operator.
    Redelegate {
        /// The new operator.
        operator: Address,
        /// Salt of the new operator's approver's approval.
        #[serde(default)]
        approval_salt: Option<u64>,
    },
    // services
    /// Register the sender as a service (AVS) with metadata.
    RegisterService {
        /// Metadata URI.
        #[serde(default)]
        metadata_uri: String,
    },
    /// Create an operator set.
    CreateOperatorSet {
        /// The service.
        service: Address,
        /// New set number.
        set_id: u32,
        /// Strategies the set accepts.
        strategies: Vec<StrategyId>,
        /// The single account that may slash.
        slasher: Address,
        /// Receiver of slashed funds (none burns them).
        #[serde(default)]
        redistribution_recipient: Option<Address>,
        /// Who may register.
        #[serde(default)]
        consent: Consent,
        /// Veto committee and window for slash requests.
        #[serde(default)]
        veto: Option<VetoConfig>,
    },
    /// Add strategies to a set.
    AddStrategiesToOperatorSet {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// Strategies to add.
        strategies: Vec<StrategyId>,
    },
    /// Remove strategies from a set.
    RemoveStrategiesFromOperatorSet {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// Strategies to remove.
        strategies: Vec<StrategyId>,
    },
    /// Change a set's slasher (effective after the slasher configuration delay).
    UpdateSlasher {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// The new slasher.
        slasher: Address,
    },
    /// Allow or disallow an operator to register for an allow-list set.
    SetRegistrationAllowed {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// The operator.
        operator: Address,
        /// Allowed or not.
        allowed: bool,
    },
    /// Declare a set's profit from corruption and corruption threshold, for the risk engine.
    DeclareSetRisk {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// Profit from corrupting the set, in underlying tokens.
        #[serde(with = "serde_dec")]
        prize: U256,
        /// Threshold numerator (the fraction of allocated stake needed to corrupt the set).
        threshold_num: u64,
        /// Threshold denominator.
        threshold_den: u64,
    },
    /// Declare (or withdraw the declaration) that stake securing `service` must never secure `other`.
    SetIncompatibleService {
        /// The declaring service.
        service: Address,
        /// The other service.
        other: Address,
        /// Incompatible or not.
        incompatible: bool,
    },
    /// Register an operator for sets of one service.
    RegisterForOperatorSets {
        /// The operator.
        operator: Address,
        /// The service.
        service: Address,
        /// Set numbers.
        set_ids: Vec<u32>,
    },
    /// Deregister an operator from sets (by the operator or the service).
    DeregisterFromOperatorSets {
        /// The operator.
        operator: Address,
        /// The service.
        service: Address,
        /// Set numbers.
        set_ids: Vec<u32>,
    },
    // allocations
    /// Change an operator's magnitudes.
    ModifyAllocations {
        /// The operator.
        operator: Address,
        /// Per set, strategies and new magnitudes.
        allocations: Vec<AllocateParams>,
    },
    /// Apply completed deallocations (permissionless).
    ClearDeallocationQueue {
        /// The operator.
        operator: Address,
        /// Strategies.
        strategies: Vec<StrategyId>,
        /// How many entries to clear per strategy at most.
        num_to_clear: Vec<u32>,
    },
    // slashing
    /// Slash an operator (the set's slasher); pending first if the set has a veto window.
    SlashOperator {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// The operator.
        operator: Address,
        /// Strategies, strictly ascending.
        strategies: Vec<StrategyId>,
        /// Fraction of the set's allocated magnitude to slash, per strategy, in (0, 1e18].
        #[serde(with = "serde_dec::vec")]
        wads_to_slash: Vec<U256>,
        /// Why.
        #[serde(default)]
        description: String,
    },
    /// Cancel a pending slash request (the set's veto committee).
    VetoSlash {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// The request.
        request_id: u32,
    },
    /// Carry out a pending slash request once its window has passed (permissionless).
    ExecuteSlash {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// The request.
        request_id: u32,
    },
    /// Burn or redistribute the shares a slash set aside (permissionless, after the clearing delay).
    ClearBurnOrRedistributableShares {
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// The slash.
        slash_id: u32,
        /// One strategy, or all of the slash's strategies.
        #[serde(default)]
        strategy: Option<StrategyId>,
    },
    // withdrawals
    /// Queue withdrawals of deposit shares.
    QueueWithdrawals {
        /// One withdrawal per entry.
        withdrawals: Vec<QueueParams>,
    },
    /// Complete your withdrawal `nonce` after the delay, as tokens or as shares.
    CompleteWithdrawal {
        /// The withdrawal's nonce.
        nonce: u64,
        /// Tokens (true) or re-deposited shares (false).
        receive_as_tokens: bool,
    },
    // permissions
    /// Propose an admin for an operator or service account.
    AddPendingAdmin {
        /// The account.
        account: Address,
        /// The proposed admin.
        admin: Address,
    },
    /// Withdraw a pending admin proposal.
    RemovePendingAdmin {
        /// The account.
        account: Address,
        /// The proposed admin.
        admin: Address,
    },
    /// Accept becoming an admin of `account`.
    AcceptAdmin {
        /// The account.
        account: Address,
    },
    /// Remove an admin (never the last one).
    RemoveAdmin {
        /// The account.
        account: Address,
        /// The admin.
        admin: Address,
    },
    /// Allow `appointee` to send one kind of transaction for `account`.
    SetAppointee {
        /// The account.
        account: Address,
        /// The appointee.
        appointee: Address,
        /// The transaction kind.
        action: TxKind,
    },
    /// Revoke an appointment.
    RemoveAppointee {
        /// The account.
        account: Address,
        /// The appointee.
        appointee: Address,
        /// The transaction kind.
        action: TxKind,
    },
    // pause and governance
    /// Pause modules (pausers).
    Pause {
        /// Modules to pause.
        modules: Vec<Module>,
    },
    /// Unpause modules (the unpauser).
    Unpause {
        /// Modules to unpause.
        modules: Vec<Module>,
    },
    /// Propose a governance action (the governor).
    Propose {
        /// The action.
        action: GovernanceAction,
    },
    /// Execute a proposal whose timelock has passed (the governor).
    ExecuteProposal {
        /// Proposal id.
        id: u64,
    },
    /// Cancel a pending proposal (the governor).
    CancelProposal {
        /// Proposal id.
        id: u64,
    },
    // native restaking
    /// Report validator records and withdrawals for a slot (an oracle committee member).
    PostBeaconReport {
        /// The beacon-chain slot.
        slot: u64,
        /// Changed validator records, strictly ascending by index.
        #[serde(default)]
        validators: Vec<ValidatorRecord>,
        /// Beacon-chain withdrawals since the previous report.
        #[serde(default)]
        withdrawals: Vec<BeaconWithdrawal>,
    },
    /// Create the sender's pod.
    CreatePod {},
    /// Restake validators whose credentials point at the sender's pod, as of the latest report.
    VerifyWithdrawalCredentials {
        /// The latest accepted report's slot.
        slot: u64,
        /// Validator indices.
        validators: Vec<u64>,
    },
    /// Start a checkpoint of the sender's pod.
    StartCheckpoint {
        /// Refuse when the pod holds no uncredited ETH.
        #[serde(default)]
        revert_if_no_balance: bool,
    },
    /// Prove validators' balances for a pod's open checkpoint (permissionless; bad proofs are skipped).
    VerifyCheckpointProofs {
        /// The pod's owner.
        pod_owner: Address,
        /// Validator indices.
        validators: Vec<u64>,
    },
    /// Start a checkpoint of a pod whose validator was slashed on the beacon chain (permissionless).
    VerifyStaleBalance {
        /// The pod's owner.
        pod_owner: Address,
        /// The slashed validator.
        validator: u64,
    },
    // rewards
    /// Service-wide stake-weighted rewards (v1): every operator registered to the service.
    CreateRewardsSubmission {
        /// The paying service.
        service: Address,
        /// Submissions.
        submissions: Vec<RewardsSubmission>,
    },
    /// Operator-directed rewards for a past period, service-wide (v2).
    CreateOperatorDirectedRewardsSubmission {
        /// The paying service.
        service: Address,
        /// Submissions.
        submissions: Vec<OperatorDirectedSubmission>,
    },
    /// Operator-directed rewards for a past period, scoped to an operator set (v2.1).
    CreateOperatorDirectedOperatorSetRewardsSubmission {
        /// The paying service.
        service: Address,
        /// The set.
        set_id: u32,
        /// Submissions.
        submissions: Vec<OperatorDirectedSubmission>,
    },
    /// Rewards weighted by unique (allocated) stake of a set's operators (v2.2).
    CreateUniqueStakeRewardsSubmission {
        /// The paying service.
        service: Address,
        /// The set.
        set_id: u32,
        /// Submissions.
        submissions: Vec<RewardsSubmission>,
    },
    /// Rewards weighted by total delegated stake of a set's operators (v2.2).
    CreateTotalStakeRewardsSubmission {
        /// The paying service.
        service: Address,
        /// The set.
        set_id: u32,
        /// Submissions.
        submissions: Vec<RewardsSubmission>,
    },
    /// An operator's commission on a service's service-wide and operator-directed rewards.
    SetOperatorServiceSplit {
        /// The operator.
        operator: Address,
        /// The service.
        service: Address,
        /// Basis points (≤ 10000), effective after the activation delay.
        split_bips: u16,
    },
    /// An operator's commission on rewards scoped to one operator set.
    SetOperatorSetSplit {
        /// The operator.
        operator: Address,
        /// The service.
        service: Address,
        /// The set.
        set_id: u32,
        /// Basis points (≤ 10000), effective after the activation delay.
        split_bips: u16,
    },
    /// Opt a submitter in or out of the protocol fee.
    SetProtocolFeeOptIn {
        /// The submitter.
        submitter: Address,
        /// Pays the fee from now on.
        opt_in: bool,
    },
    /// Post a root of cumulative earnings (the rewards updater).
    SubmitRoot {
        /// The merkle root.
        root: B256,
        /// Earnings up to this time are included (before now, after the previous root's).
        calculation_end: Timestamp,
    },
    /// Disable a root before it activates (the rewards updater).
    DisableRoot {
        /// Its index.
        index: u32,
    },
    /// Let `claimer` claim for `earner` (none removes it).
    SetClaimerFor {
        /// The earner.
        earner: Address,
        /// The claimer.
        #[serde(default)]
        claimer: Option<Address>,
    },
    /// Claim rewards with a merkle proof.
    ProcessClaim {
        /// The claim.
        claim: RewardsClaim,
        /// Who receives the tokens.
        recipient: Address,
    },
    /// Claim several earners' (or roots') rewards at once.
    ProcessClaims {
        /// The claims.
        claims: Vec<RewardsClaim>,
        /// Who receives the tokens.
        recipient: Address,
    },
    // vault (payloads in `vault::tx`)
    /// Deposit an asset into a vault for receipt tokens.
    VaultDeposit(vault::Deposit),
    /// Redeem receipt tokens at once from the buffer.
    VaultRedeem(vault::Redeem),
    /// Move receipt tokens.
    VaultTransfer(vault::Transfer),
    /// Set an allowance on the sender's receipt tokens.
    VaultApprove(vault::Approve),
    /// Move receipt tokens within an allowance.
    VaultTransferFrom(vault::TransferFrom),
    /// Report asset prices for a round (a committee member).
    VaultReportPrices(vault::ReportPrices),
    /// Settle the rate, or quarantine it if it breaks its bounds (permissionless).
    VaultUpdateRate(vault::VaultRef),
    /// Settle the quarantined rate (the guardian).
    VaultAcceptRate(vault::VaultRef),
    /// Drop the quarantined rate (the guardian).
    VaultRejectRate(vault::VaultRef),
    /// Set target weights (the keeper), checked against the policy.
    VaultSetTargets(vault::SetTargets),
    /// Move toward the targets (permissionless, once a round).
    VaultRebalance(vault::VaultRef),
    /// Lock receipt tokens for a withdrawal ticket.
    VaultRequestWithdrawal(vault::RequestWithdrawal),
    /// Give a ticket to another account.
    VaultTransferTicket(vault::TransferTicket),
    /// Finalize due tickets (permissionless).
    VaultFinalizeTickets(vault::FinalizeTickets),
    /// Claim a ticket's payout.
    VaultClaimTicket(vault::ClaimTicket),
    /// Start the emergency unwind after a long halt (permissionless).
    VaultEmergencyUnwind(vault::VaultRef),
    /// Exit in kind during the emergency.
    VaultEmergencyExit(vault::EmergencyExit),
    /// Claim the sub-accounts' rewards into the buffer (permissionless).
    VaultClaimRewards(vault::ClaimRewards),
    /// Verify validators deposited into a sub-account's pod (permissionless).
    VaultVerifyValidators(vault::VerifyValidators),
    /// Start a checkpoint of a sub-account's pod (permissionless).
    VaultStartCheckpoint(vault::StartCheckpoint),
    /// Pause or resume deposits of an asset (the guardian).
    VaultSetAssetPaused(vault::SetAssetPaused),
}

impl Tx {
    /// The transaction's kind (its variant name).
    pub fn kind(&self) -> TxKind {
        TxKind::from(self)
    }
}

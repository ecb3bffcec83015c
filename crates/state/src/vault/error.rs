//! Why a vault transaction was refused: one variant per reason, carrying the values involved.

use cairn_primitives::{Address, AssetId, Block, Timestamp, U256, VaultId};
use serde::Serialize;

/// Why a vault transaction (or a vault governance action) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum VaultError {
    /// No such vault.
    #[error("unknown vault {vault}")]
    UnknownVault {
        /// The vault.
        vault: VaultId,
    },
    /// A zero amount where one is needed.
    #[error("amount must be positive")]
    ZeroAmount,
    /// The vault does not price this asset.
    #[error("{vault} does not price asset {asset}")]
    UnknownVaultAsset {
        /// The vault.
        vault: VaultId,
        /// The asset.
        asset: AssetId,
    },
    /// The asset is priced but not accepted for deposits.
    #[error("{vault} does not accept deposits of asset {asset}")]
    DepositsNotAccepted {
        /// The vault.
        vault: VaultId,
        /// The asset.
        asset: AssetId,
    },
    /// Deposits of the asset are paused.
    #[error("deposits of asset {asset} into {vault} are paused")]
    AssetPaused {
        /// The vault.
        vault: VaultId,
        /// The asset.
        asset: AssetId,
    },
    /// Below the asset's minimum deposit.
    #[error("deposit of {amount} of asset {asset} is below the minimum {min}")]
    BelowMinimum {
        /// The asset.
        asset: AssetId,
        /// The amount.
        amount: U256,
        /// The minimum.
        min: U256,
    },
    /// Above the asset's cap.
    #[error("asset {asset}: net deposits {deposited} + {amount} would exceed the cap {cap}")]
    CapExceeded {
        /// The asset.
        asset: AssetId,
        /// Net deposits so far.
        deposited: U256,
        /// This deposit.
        amount: U256,
        /// The cap.
        cap: U256,
    },
    /// The asset has never been priced.
    #[error("asset {asset} has no accepted price")]
    PriceMissing {
        /// The asset.
        asset: AssetId,
    },
    /// A price the rate depends on is too old.
    #[error("the price of asset {asset} was accepted at {price_time}, older than {limit} s at {now}")]
    PriceStale {
        /// The asset (the oldest held).
        asset: AssetId,
        /// When it was accepted.
        price_time: Timestamp,
        /// Now.
        now: Timestamp,
        /// The staleness limit.
        limit: u64,
    },
    /// Fewer tokens (or less of the asset) than the sender's minimum.
    #[error("would give {out}, below the minimum {min_out}")]
    SlippageExceeded {
        /// What it would give.
        out: U256,
        /// The minimum asked.
        min_out: U256,
    },
    /// The deposit is too small to mint a token.
    #[error("a value of {value} mints no token at rate {rate}")]
    ZeroTokens {
        /// The deposit's value.
        value: U256,
        /// The rate.
        rate: U256,
    },
    /// The redemption is too small to pay anything.
    #[error("{tokens} tokens pay nothing at rate {rate}")]
    ZeroPayout {
        /// Tokens.
        tokens: U256,
        /// The rate.
        rate: U256,
    },
    /// A rate update is quarantined: minting and redemption pause until the guardian decides.
    #[error("{vault}: rate {rate} (settled {previous}) is quarantined")]
    RateQuarantined {
        /// The vault.
        vault: VaultId,
        /// The quarantined rate.
        rate: U256,
        /// The settled rate.
        previous: U256,
    },
    /// Not enough receipt tokens.
    #[error("{account} holds {balance} tokens of {vault}, needs {amount}")]
    InsufficientTokens {
        /// The vault.
        vault: VaultId,
        /// The account.
        account: Address,
        /// Its balance.
        balance: U256,
        /// The amount asked.
        amount: U256,
    },
    /// Tokens minted by a recent deposit are still locked.
    #[error(
        "{account} can move {free} tokens of {vault} (the rest is locked until block {until}, now {block}), asked {amount}"
    )]
    TokensLocked {
        /// The vault.
        vault: VaultId,
        /// The account.
        account: Address,
        /// Its tokens not locked.
        free: U256,
        /// The amount asked.
        amount: U256,
        /// First block the lock is over.
        until: Block,
        /// Now.
        block: Block,
    },
    /// Not enough allowance.
    #[error("{spender} may move {allowance} of {owner}'s tokens, asked {amount}")]
    InsufficientAllowance {
        /// Owner.
        owner: Address,
        /// Spender.
        spender: Address,
        /// Allowance.
        allowance: U256,
        /// Asked.
        amount: U256,
    },
    /// Receipt tokens sent to a protocol account (zero, the burn address, a vault account).
    #[error("cannot send receipt tokens to reserved account {to}")]
    ReservedTokenRecipient {
        /// The recipient.
        to: Address,
    },
    /// A price report without prices.
    #[error("a price report needs at least one price")]
    EmptyReport,
    /// An asset priced twice in one report.
    #[error("asset {asset} is priced twice")]
    DuplicatePrice {
        /// The asset.
        asset: AssetId,
    },
    /// A zero price.
    #[error("asset {asset} priced at zero")]
    ZeroPrice {
        /// The asset.
        asset: AssetId,
    },
    /// The native asset is priced at one by definition.
    #[error("asset {asset} is the native asset, priced at one")]
    NativeAssetPriced {
        /// The asset.
        asset: AssetId,
    },
    /// The sender is not on the price committee.
    #[error("{sender} is not on the price committee of {vault}")]
    NotCommitteeMember {
        /// The vault.
        vault: VaultId,
        /// The sender.
        sender: Address,
    },
    /// A round at or below the last accepted one.
    #[error("round {round} is not after the last accepted round {last}")]
    StaleRound {
        /// The round.
        round: u64,
        /// The last accepted.
        last: u64,
    },
    /// The member already reported this round.
    #[error("{member} already reported round {round}")]
    AlreadyReported {
        /// The member.
        member: Address,
        /// The round.
        round: u64,
    },
    /// A reported price moves more than the per-report bound from the accepted one.
    #[error("asset {asset}: {price} is more than {max_change_bps} bps from {previous}")]
    PriceOutOfBounds {
        /// The asset.
        asset: AssetId,
        /// The accepted price.
        previous: U256,
        /// The reported price.
        price: U256,
        /// The bound.
        max_change_bps: u16,
    },
    /// The sender is not the vault's guardian.
    #[error("{sender} is not the guardian {guardian}")]
    NotGuardian {
        /// The sender.
        sender: Address,
        /// The guardian.
        guardian: Address,
    },
    /// The sender is not the vault's keeper.
    #[error("{sender} is not the keeper {keeper}")]
    NotKeeper {
        /// The sender.
        sender: Address,
        /// The keeper.
        keeper: Address,
    },
    /// No rate is quarantined.
    #[error("{vault} has no quarantined rate")]
    NotQuarantined {
        /// The vault.
        vault: VaultId,
    },
    /// An operator named twice in the targets.
    #[error("operator {operator} appears twice in the targets")]
    DuplicateTarget {
        /// The operator.
        operator: Address,
    },
    /// Weights do not add up to 10 000 bps.
    #[error("target weights sum to {sum} bps, not 10000")]
    TargetsDoNotSum {
        /// The sum.
        sum: u64,
    },
    /// An operator the policy does not allow.
    #[error("the policy of {vault} does not allow operator {operator}")]
    OperatorNotAllowed {
        /// The vault.
        vault: VaultId,
        /// The operator.
        operator: Address,
    },
    /// Not a registered operator.
    #[error("{operator} is not a registered operator")]
    NotAnOperator {
        /// The account.
        operator: Address,
    },
    /// An operator's weight above its cap.
    #[error("operator {operator}: {bps} bps is above its cap of {cap_bps}")]
    OperatorCapExceeded {
        /// The operator.
        operator: Address,
        /// Its weight.
        bps: u16,
        /// Its cap.
        cap_bps: u16,
    },
    /// The buffer target below the policy's minimum.
    #[error("buffer of {buffer_bps} bps is below the minimum {min_bps}")]
    BufferBelowMinimum {
        /// The buffer.
        buffer_bps: u16,
        /// The minimum.
        min_bps: u16,
    },
    /// A service's possible loss above its cap.
    #[error("service {service} could take {exposure_bps} bps, above its cap of {cap_bps}")]
    ServiceCapExceeded {
        /// The service.
        service: Address,
        /// Its exposure.
        exposure_bps: u16,
        /// Its cap.
        cap_bps: u16,
    },
    /// The worst single-service loss above the risk budget.
    #[error("service {service} could take {loss_bps} bps, above the risk budget of {budget_bps}")]
    RiskBudgetExceeded {
        /// The service.
        service: Address,
        /// The loss.
        loss_bps: u16,
        /// The budget.
        budget_bps: u16,
    },
    /// No targets set yet.
    #[error("{vault} has no targets")]
    NoTargets {
        /// The vault.
        vault: VaultId,
    },
    /// A rebalance already ran this round.
    #[error("last rebalance at block {last}; the next from block {next}, now {block}")]
    RebalanceTooEarly {
        /// Last rebalance.
        last: Block,
        /// Next allowed.
        next: Block,
        /// Now.
        block: Block,
    },
    /// The vault cannot source the asset: buffer, unbonding and restaked positions together hold
    /// less than asked.
    #[error("asset {asset}: {requested} asked, {available} available")]
    InsufficientLiquidity {
        /// The asset.
        asset: AssetId,
        /// Asked.
        requested: U256,
        /// Available.
        available: U256,
    },
    /// No such ticket.
    #[error("{vault} has no ticket {ticket}")]
    UnknownTicket {
        /// The vault.
        vault: VaultId,
        /// The ticket.
        ticket: u64,
    },
    /// The sender does not own the ticket.
    #[error("ticket {ticket} belongs to {owner}, not {sender}")]
    NotTicketOwner {
        /// The ticket.
        ticket: u64,
        /// Its owner.
        owner: Address,
        /// The sender.
        sender: Address,
    },
    /// The ticket's ETA has not come.
    #[error("ticket {ticket} is due at block {eta_block}, now {block}")]
    TicketNotDue {
        /// The ticket.
        ticket: u64,
        /// Its ETA.
        eta_block: Block,
        /// Now.
        block: Block,
    },
    /// The buffer does not hold the ticket's payout yet (its unbonding was slashed or is held).
    #[error("ticket {ticket} needs {needed} of asset {asset}, the buffer can give {available}")]
    TicketUnfunded {
        /// The ticket.
        ticket: u64,
        /// The asset.
        asset: AssetId,
        /// Needed.
        needed: U256,
        /// Available.
        available: U256,
    },
    /// The finalization cap cannot fit the request within the booking horizon.
    #[error("a value of {value} does not fit {periods} periods of the finalization cap {cap}")]
    FinalizationCapReached {
        /// The request's value.
        value: U256,
        /// The cap per period.
        cap: U256,
        /// The horizon.
        periods: u64,
    },
    /// No ticket was due.
    #[error("{vault} has no due ticket to finalize")]
    NothingToFinalize {
        /// The vault.
        vault: VaultId,
    },
    /// Redemptions have not been halted long enough for the emergency path.
    #[error("{vault}: redemptions halted since {halted_since:?}; the emergency path needs {delay} blocks")]
    NotHaltedLongEnough {
        /// The vault.
        vault: VaultId,
        /// Since when (none: not halted).
        halted_since: Option<Block>,
        /// The delay.
        delay: Block,
    },
    /// The emergency unwind has not started.
    #[error("{vault} is not unwinding")]
    NotInEmergency {
        /// The vault.
        vault: VaultId,
    },
    /// The vault is unwinding: deposits, targets and rebalances stop.
    #[error("{vault} is unwinding in an emergency")]
    InEmergency {
        /// The vault.
        vault: VaultId,
    },
    /// In-kind exits wait for the unwind's withdrawals.
    #[error("{vault} still has {unbondings} withdrawals unbonding")]
    UnwindInProgress {
        /// The vault.
        vault: VaultId,
        /// How many.
        unbondings: usize,
    },
    /// A claim for an earner that is not one of the vault's sub-accounts.
    #[error("{earner} is not a sub-account of {vault}")]
    NotVaultEarner {
        /// The vault.
        vault: VaultId,
        /// The earner.
        earner: Address,
    },
    /// No claims given.
    #[error("no claims given")]
    NoClaims,
    /// The vault has no place at the operator.
    #[error("{vault} has no sub-account at operator {operator}")]
    NoPlace {
        /// The vault.
        vault: VaultId,
        /// The operator.
        operator: Address,
    },
    /// A parameter outside its allowed range.
    #[error("{name} = {value} is above its limit {max}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: u64,
        /// Its limit.
        max: u64,
    },
    /// A committee with a quorum that is not a strict majority (or an empty committee).
    #[error("quorum {quorum} of {members} members is not a strict majority")]
    InvalidQuorum {
        /// Members.
        members: usize,
        /// Quorum.
        quorum: u32,
    },
    /// An entry named twice in a list (committee, assets, policy operators, service caps).
    #[error("{list} names an entry twice")]
    DuplicateEntry {
        /// Which list.
        list: &'static str,
    },
    /// The vault must price the native asset.
    #[error("a vault must list the native asset")]
    NativeAssetMissing,
    /// An asset without a strategy cannot be restaked.
    #[error("asset {asset} has no strategy")]
    NoStrategy {
        /// The asset.
        asset: AssetId,
    },
    /// A role given to a protocol-owned or zero account.
    #[error("{account} cannot hold a vault role")]
    ReservedRole {
        /// The account.
        account: Address,
    },
}

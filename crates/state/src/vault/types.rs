//! The vault's records: its configuration (changed only through timelocked governance), its hot
//! totals (`Book`, a small `Copy` struct written by every deposit and redemption), per-asset
//! books, places, unbondings, tickets and the rate history with its attribution.

use cairn_primitives::{Address, AssetId, Block, OperatorSetKey, StrategyId, Timestamp, U256, serde_dec};
use serde::{Deserialize, Serialize};

use super::book::Breach;

/// One asset the vault prices, and whether (and how much) it accepts it for deposits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetConfig {
    /// The asset.
    pub asset: AssetId,
    /// Accepted for deposits (otherwise only priced and counted: a reward token).
    #[serde(default = "yes")]
    pub deposits: bool,
    /// Most net deposits of the asset the vault takes (deposits minus redemptions paid in it);
    /// none: no cap.
    #[serde(with = "serde_dec::opt", default)]
    pub cap: Option<U256>,
    /// Smallest deposit.
    #[serde(with = "serde_dec", default)]
    pub min_deposit: U256,
    /// Deposits of the asset paused (by the guardian, at once).
    #[serde(default)]
    pub paused: bool,
}

fn yes() -> bool {
    true
}

/// Numbers that shape the vault's pricing, rate, fees and withdrawals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultParams {
    /// A price older than this (seconds) is stale: deposits, redemptions and rate updates stop.
    pub price_staleness_seconds: u64,
    /// Largest change of an asset's price per accepted report, in bps of the previous price.
    pub max_price_change_bps: u16,
    /// Rate bound: largest annualised rise, in bps a year.
    pub max_apr_bps: u32,
    /// Rate bound: largest rise per update, in bps.
    pub max_rate_up_bps: u16,
    /// Rate bound: largest fall per update, in bps.
    pub max_rate_down_bps: u16,
    /// Performance fee on gains above the high-water mark, in bps (≤ 2 000, hard cap in code).
    pub performance_fee_bps: u16,
    /// Management fee per year, in bps of assets (≤ 200, hard cap in code).
    pub management_fee_bps: u16,
    /// Instant redemption fee with a full buffer, in bps.
    pub instant_fee_min_bps: u16,
    /// Instant redemption fee with an empty buffer, in bps (≤ 500, hard cap in code).
    pub instant_fee_max_bps: u16,
    /// Fewest blocks between a withdrawal request and its ETA (the slow tier is never instant).
    pub ticket_delay_blocks: Block,
    /// Blocks between two rebalances (a round).
    pub rebalance_interval_blocks: Block,
    /// Length of a finalization period, in blocks.
    pub finalization_period_blocks: Block,
    /// Most value (wei of the native asset) finalized per period; 0: no cap.
    #[serde(with = "serde_dec")]
    pub finalization_cap: U256,
    /// Blocks redemptions must have been halted (paused or quarantined) before the emergency
    /// unwind and in-kind exit open.
    pub emergency_delay_blocks: Block,
    /// Blocks newly minted receipt tokens stay locked (no redemption, request or transfer), so
    /// a deposit cannot straddle one price report for free ([LRV §7], Veda's share lock); 0: none.
    #[serde(default)]
    pub deposit_lock_blocks: Block,
}

/// One operator the policy lets the vault delegate to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorLimit {
    /// The operator.
    pub operator: Address,
    /// Largest target weight, in bps of the vault.
    pub cap_bps: u16,
    /// Salt of the operator approver's approval for the vault's sub-account, if it needs one.
    #[serde(default)]
    pub approval_salt: Option<u64>,
}

/// A cap on the vault's exposure to one service, in bps of the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCap {
    /// The service.
    pub service: Address,
    /// Largest loss the vault accepts if this service slashes all it can, in bps.
    pub cap_bps: u16,
}

/// The allocation policy: where the pool may go and how much risk it may carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Operators the vault may delegate to, with their caps (kept ascending).
    pub operators: Vec<OperatorLimit>,
    /// Smallest buffer target, in bps.
    pub min_buffer_bps: u16,
    /// Exposure cap for any service not listed in `service_caps`, in bps.
    pub service_cap_bps: u16,
    /// Per-service exposure caps (kept ascending by service).
    #[serde(default)]
    pub service_caps: Vec<ServiceCap>,
    /// Risk budget: the largest loss the vault accepts if any one service slashes all it can.
    pub risk_budget_bps: u16,
}

/// One operator's target weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetWeight {
    /// The operator.
    pub operator: Address,
    /// Its weight, in bps of the vault.
    pub bps: u16,
}

/// The targets in force, with the worst single-service loss the state machine computed for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// Buffer weight, in bps.
    pub buffer_bps: u16,
    /// Operator weights, ascending by operator.
    pub operators: Vec<TargetWeight>,
    /// The largest loss, in bps of the vault, if one service slashes all it can.
    pub worst_loss_bps: u16,
    /// That service.
    pub worst_service: Option<Address>,
    /// Block the targets were set.
    pub set_at: Block,
}

/// A vault: roles, parameters, assets, policy and targets. Written only by governance, the
/// guardian's pause flags and the keeper's targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    /// Receipt token ticker.
    pub symbol: String,
    /// The vault's own account: holds the buffer, locked ticket tokens and finalized payouts.
    pub account: Address,
    /// Price committee members, ascending.
    pub committee: Vec<Address>,
    /// Matching reports (a strict majority) for a price round to be accepted.
    pub quorum: u32,
    /// Accepts or rejects a quarantined rate; pauses assets.
    pub guardian: Address,
    /// Submits targets.
    pub keeper: Address,
    /// Receives fees as receipt tokens.
    pub fee_recipient: Address,
    /// Parameters.
    pub params: VaultParams,
    /// Priced assets, ascending by id; ETH (the native asset) is priced at one.
    pub assets: Vec<AssetConfig>,
    /// The policy.
    pub policy: Policy,
    /// The targets in force (none: the pool stays in the buffer).
    pub targets: Option<Targets>,
}

/// A rate candidate held for the guardian because it broke its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantine {
    /// The rate the update computed.
    pub rate: U256,
    /// The settled rate it would replace.
    pub previous: U256,
    /// Which bound it broke.
    pub breach: Breach,
    /// Block it was held.
    pub block: Block,
}

/// The vault's hot totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// Receipt tokens in existence (= Σ balances).
    pub supply: U256,
    /// The last settled rate (value per token, WAD).
    pub settled_rate: U256,
    /// Block and time of the last settlement.
    pub settled_block: Block,
    /// Time of the last settlement (fees accrue from here).
    pub settled_time: Timestamp,
    /// High-water mark of the rate (performance fees only above it).
    pub hwm: U256,
    /// Time fees were last minted.
    pub fee_time: Timestamp,
    /// Fee tokens minted since the last settlement.
    pub fee_tokens_since: U256,
    /// Instant-redemption fees kept since the last settlement (value).
    pub exit_fee_value: U256,
    /// Their effect on the rate, summed at the supply of each redemption.
    pub exit_fee_rate: U256,
    /// Cached valuation: block and valuation epoch it is current for.
    pub val_block: Block,
    /// Valuation epoch it is current for (`Globals::value_epoch`).
    pub val_epoch: u64,
    /// Gross assets (value, wei of the native asset) as of the cached valuation plus flows since.
    pub assets: U256,
    /// Reserve held against pending slash requests (value).
    pub reserve: U256,
    /// Oldest price time among the assets the vault holds.
    pub oldest_price: Timestamp,
    /// A quarantined rate candidate.
    pub quarantine: Option<Quarantine>,
    /// Block a rate was quarantined, while it is (redemptions halted).
    pub halted_since: Option<Block>,
    /// The last accepted price round.
    pub price_round: u64,
    /// Block of the last rebalance.
    pub last_rebalance: Block,
    /// Next ticket id.
    pub next_ticket: u64,
    /// Settlements so far (the next rate record's number).
    pub settlements: u64,
    /// Emergency unwind started: no deposits, no rebalance; in-kind exits.
    pub emergency: bool,
}

/// Per (vault, asset): the accepted price and what the vault owes or has set aside in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AssetBook {
    /// Price in the native asset, WAD.
    pub price: U256,
    /// Time the price was accepted.
    pub price_time: Timestamp,
    /// Net deposits (for the cap).
    pub deposited: U256,
    /// Buffer tokens set aside for tickets not yet finalized.
    pub earmarked: U256,
    /// Tokens owed to finalized tickets, not yet claimed.
    pub owed: U256,
}

/// A vault's place at an operator: the sub-account that deposits and delegates there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The delegator sub-account (also its pod's owner).
    pub account: Address,
    /// Validators deposited (32 ETH each) and not yet verified into the pod.
    pub pending_validators: u32,
}

/// One of the vault's queued core withdrawals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbonding {
    /// The operator it comes from.
    pub operator: Address,
    /// The asset it pays.
    pub asset: AssetId,
    /// The strategy.
    pub strategy: StrategyId,
    /// Tokens expected when queued.
    pub expected: U256,
    /// Part of `expected` promised to tickets.
    pub committed: U256,
    /// First block it can complete.
    pub completable_at: Block,
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting for its ETA.
    Pending,
    /// Value fixed: `amount` of the asset is owed to the owner.
    Finalized {
        /// Owed.
        #[serde(with = "serde_dec")]
        amount: U256,
        /// Block it was finalized.
        block: Block,
    },
}

/// A withdrawal ticket: receipt tokens locked for an asset amount, paid once finalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Owner (transferable).
    pub owner: Address,
    /// The asset paid.
    pub asset: AssetId,
    /// Receipt tokens locked (ERC-4626 "shares").
    #[serde(with = "serde_dec")]
    pub shares: U256,
    /// Asset amount at the request's value (the most it can pay).
    #[serde(with = "serde_dec")]
    pub requested: U256,
    /// Of it, buffer tokens earmarked for this ticket so far (the rest is committed in flight).
    #[serde(default, with = "serde_dec")]
    pub funded: U256,
    /// Block requested.
    pub requested_at: Block,
    /// The block it can be finalized from (never moved by later requests).
    pub eta_block: Block,
    /// That block's estimated time.
    pub eta_time: Timestamp,
    /// Status.
    pub status: TicketStatus,
}

/// What moved the rate (see `attribution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Base staking: LST prices rising, validators' balances growing.
    BaseStaking,
    /// Beacon-chain penalties: checkpoints that found less ETH.
    BeaconPenalties,
    /// Rewards a service paid (claimed by the vault's sub-accounts).
    Service {
        /// The service.
        service: Address,
    },
    /// A reserve held while a slash request against the vault's stake is pending.
    SlashReserve {
        /// The set.
        set: OperatorSetKey,
        /// The request.
        request_id: u32,
    },
    /// A slash that took the vault's stake.
    Slash {
        /// The set.
        set: OperatorSetKey,
        /// The operator.
        operator: Address,
    },
    /// Instant redemption fees left in the vault.
    ExitFees,
    /// Tickets paid below their tokens' value (the lower of request and finalization).
    Settlements,
    /// Performance and management fees.
    Fees,
    /// A rise held back by the APR cap (−), released into the next period (+).
    Smoothing,
    /// What no other source explains: strategy rounding, allocation changes under a pending slash.
    Other,
}

/// A source's share of a rate change: its value and its effect on the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Part {
    /// Value gained (negative: lost), wei of the native asset.
    pub value: i128,
    /// Effect on the rate, WAD per token.
    pub rate: i128,
}

/// One settlement of the rate, with what moved it since the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRecord {
    /// Block settled.
    pub block: Block,
    /// Time settled.
    pub time: Timestamp,
    /// The settled rate.
    pub rate: U256,
    /// The rate before.
    pub previous: U256,
    /// Supply after the fee mint.
    pub supply: U256,
    /// Gross assets.
    pub assets: U256,
    /// Reserve for pending slash requests.
    pub reserve: U256,
    /// Fee tokens minted.
    pub fee_tokens: U256,
    /// Whether the guardian accepted it out of quarantine.
    pub accepted_from_quarantine: bool,
    /// The change decomposed by source; the parts' rate effects sum to `rate − previous`.
    pub attribution: Vec<(Source, Part)>,
}

/// An amount of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetAmount {
    /// The asset.
    pub asset: AssetId,
    /// The amount.
    #[serde(with = "serde_dec")]
    pub amount: U256,
}

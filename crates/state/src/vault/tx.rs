//! The vault's transactions: one struct per kind, each with the checks that need no state
//! (`check_stateless`), run before anything is read.

use cairn_primitives::{Address, AssetId, U256, VaultId, serde_dec};
use serde::{Deserialize, Serialize};

use super::{
    VaultError,
    book::BPS,
    types::{AssetConfig, Policy, TargetWeight, VaultParams},
};
use crate::rewards::RewardsClaim;

fn non_zero(v: U256) -> Result<(), VaultError> {
    if v.is_zero() { Err(VaultError::ZeroAmount) } else { Ok(()) }
}

/// `items` sorted by `key`, or the first key that appears twice. Lists written by people (or
/// scenario files, where names hash to arbitrary addresses) may come in any order; the state
/// keeps them sorted.
pub fn sorted_unique<T: Clone, K: Ord + Copy>(items: &[T], key: impl Fn(&T) -> K) -> Result<Vec<T>, K> {
    let mut v = items.to_vec();
    v.sort_by_key(|x| key(x));
    match v.windows(2).find(|w| key(&w[0]) == key(&w[1])) {
        Some(w) => Err(key(&w[0])),
        None => Ok(v),
    }
}

/// Deposit an asset into the pool for receipt tokens, minted at max(settled rate, current rate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deposit {
    /// The vault.
    pub vault: VaultId,
    /// The asset deposited.
    pub asset: AssetId,
    /// Amount of it.
    #[serde(with = "serde_dec")]
    pub amount: U256,
    /// Fewest receipt tokens accepted.
    #[serde(with = "serde_dec", default)]
    pub min_out: U256,
    /// Who receives the tokens (default: the sender).
    #[serde(default)]
    pub receiver: Option<Address>,
}

impl Deposit {
    /// Non-zero amount.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        non_zero(self.amount)
    }
}

/// Redeem receipt tokens at once from the buffer, at min(settled rate, current rate), less a fee
/// that rises as the buffer drains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redeem {
    /// The vault.
    pub vault: VaultId,
    /// Receipt tokens burned (ERC-4626 "shares").
    #[serde(with = "serde_dec")]
    pub shares: U256,
    /// The asset paid.
    pub asset: AssetId,
    /// Smallest asset amount accepted, after the fee.
    #[serde(with = "serde_dec", default)]
    pub min_out: U256,
}

impl Redeem {
    /// Non-zero shares.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        non_zero(self.shares)
    }
}

/// Move receipt tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The vault.
    pub vault: VaultId,
    /// Recipient.
    pub to: Address,
    /// Tokens.
    #[serde(with = "serde_dec")]
    pub amount: U256,
}

impl Transfer {
    /// Non-zero amount.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        non_zero(self.amount)
    }
}

/// Let `spender` move up to `amount` of the sender's receipt tokens (0 revokes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The vault.
    pub vault: VaultId,
    /// The spender.
    pub spender: Address,
    /// The allowance.
    #[serde(with = "serde_dec")]
    pub amount: U256,
}

/// Move receipt tokens of `from` within the sender's allowance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferFrom {
    /// The vault.
    pub vault: VaultId,
    /// Owner of the tokens.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Tokens.
    #[serde(with = "serde_dec")]
    pub amount: U256,
}

impl TransferFrom {
    /// Non-zero amount.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        non_zero(self.amount)
    }
}

/// One asset's price in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetPrice {
    /// The asset.
    pub asset: AssetId,
    /// Its price in the native asset, WAD.
    #[serde(with = "serde_dec")]
    pub price: U256,
}

/// A committee member's prices for a round (accepted at quorum, at the median).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportPrices {
    /// The vault.
    pub vault: VaultId,
    /// The round: above the last accepted one.
    pub round: u64,
    /// Prices, each asset once.
    pub prices: Vec<AssetPrice>,
}

impl ReportPrices {
    /// At least one price, no asset twice, no zero price; returns the prices by asset.
    pub fn check_stateless(&self) -> Result<Vec<AssetPrice>, VaultError> {
        if self.prices.is_empty() {
            return Err(VaultError::EmptyReport);
        }
        let prices = sorted_unique(&self.prices, |p| p.asset).map_err(|asset| VaultError::DuplicatePrice { asset })?;
        if let Some(p) = prices.iter().find(|p| p.price.is_zero()) {
            return Err(VaultError::ZeroPrice { asset: p.asset });
        }
        Ok(prices)
    }
}

/// A transaction naming only the vault (rate update, acceptance, rebalance, unwind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultRef {
    /// The vault.
    pub vault: VaultId,
}

/// The keeper's target weights (checked against the policy in integers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetTargets {
    /// The vault.
    pub vault: VaultId,
    /// Buffer weight, in bps.
    pub buffer_bps: u16,
    /// Operator weights, each operator once; with the buffer they sum to 10 000.
    pub operators: Vec<TargetWeight>,
}

impl SetTargets {
    /// No operator twice, weights summing to 10 000; returns the weights by operator.
    pub fn check_stateless(&self) -> Result<Vec<TargetWeight>, VaultError> {
        let ops = sorted_unique(&self.operators, |t| t.operator)
            .map_err(|operator| VaultError::DuplicateTarget { operator })?;
        let sum = ops.iter().fold(u64::from(self.buffer_bps), |s, t| s.saturating_add(u64::from(t.bps)));
        if sum != BPS {
            return Err(VaultError::TargetsDoNotSum { sum });
        }
        Ok(ops)
    }
}

/// Lock receipt tokens for a ticket paid in `asset` once its ETA has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestWithdrawal {
    /// The vault.
    pub vault: VaultId,
    /// Receipt tokens locked (ERC-4626 "shares").
    #[serde(with = "serde_dec")]
    pub shares: U256,
    /// The asset paid.
    pub asset: AssetId,
    /// Smallest requested amount accepted (the ticket pays at most this much at finalization).
    #[serde(with = "serde_dec", default)]
    pub min_out: U256,
}

impl RequestWithdrawal {
    /// Non-zero shares.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        non_zero(self.shares)
    }
}

/// Give a ticket to another account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferTicket {
    /// The vault.
    pub vault: VaultId,
    /// The ticket.
    pub ticket: u64,
    /// New owner.
    pub to: Address,
}

/// Finalize due tickets, oldest first (permissionless).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalizeTickets {
    /// The vault.
    pub vault: VaultId,
    /// At most this many.
    pub max: u32,
}

impl FinalizeTickets {
    /// At least one.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        if self.max == 0 { Err(VaultError::ZeroAmount) } else { Ok(()) }
    }
}

/// Claim a ticket's payout (finalizing it first if it is due).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimTicket {
    /// The vault.
    pub vault: VaultId,
    /// The ticket.
    pub ticket: u64,
}

/// Burn receipt tokens for their share of every idle asset, in kind (after a long halt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyExit {
    /// The vault.
    pub vault: VaultId,
    /// Receipt tokens burned (ERC-4626 "shares").
    #[serde(with = "serde_dec")]
    pub shares: U256,
}

impl EmergencyExit {
    /// Non-zero shares.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        non_zero(self.shares)
    }
}

/// Claim the sub-accounts' rewards into the buffer (permissionless; proofs from the calculator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRewards {
    /// The vault.
    pub vault: VaultId,
    /// Claims, each for one of the vault's sub-accounts.
    pub claims: Vec<RewardsClaim>,
}

impl ClaimRewards {
    /// At least one claim.
    pub fn check_stateless(&self) -> Result<(), VaultError> {
        if self.claims.is_empty() { Err(VaultError::NoClaims) } else { Ok(()) }
    }
}

/// Verify validators the vault deposited into an operator's pod (permissionless).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyValidators {
    /// The vault.
    pub vault: VaultId,
    /// The operator whose sub-account owns the pod.
    pub operator: Address,
    /// The latest accepted beacon report's slot.
    pub slot: u64,
    /// Validator indices.
    pub validators: Vec<u64>,
}

/// Start a checkpoint of an operator sub-account's pod (permissionless).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartCheckpoint {
    /// The vault.
    pub vault: VaultId,
    /// The operator whose sub-account owns the pod.
    pub operator: Address,
}

/// Pause or resume deposits of one asset (the guardian, at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAssetPaused {
    /// The vault.
    pub vault: VaultId,
    /// The asset.
    pub asset: AssetId,
    /// Paused or not.
    pub paused: bool,
}

/// Everything `create_vault` needs (a governance action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSpec {
    /// Receipt token ticker.
    pub symbol: String,
    /// Price committee members (any order, each once).
    pub committee: Vec<Address>,
    /// Matching reports needed (a strict majority).
    pub quorum: u32,
    /// The guardian.
    pub guardian: Address,
    /// The keeper.
    pub keeper: Address,
    /// The fee recipient.
    pub fee_recipient: Address,
    /// Parameters.
    pub params: VaultParams,
    /// Priced assets (any order, each once).
    pub assets: Vec<AssetConfig>,
    /// The policy.
    pub policy: Policy,
}

impl VaultSpec {
    /// The roles the spec names.
    pub fn roles(&self) -> VaultRoles {
        VaultRoles {
            committee: self.committee.clone(),
            quorum: self.quorum,
            guardian: self.guardian,
            keeper: self.keeper,
            fee_recipient: self.fee_recipient,
        }
    }
}

/// A vault's roles, as governance replaces them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultRoles {
    /// Price committee members (any order, each once).
    pub committee: Vec<Address>,
    /// Matching reports needed.
    pub quorum: u32,
    /// The guardian.
    pub guardian: Address,
    /// The keeper.
    pub keeper: Address,
    /// The fee recipient.
    pub fee_recipient: Address,
}

//! Rewards, the on-chain half (reference section 6): submissions escrow tokens, operators set
//! their commission (splits), the rewards updater posts merkle roots of cumulative earnings, and
//! earners (or their claimers) claim with proofs. The daily calculation runs off-consensus in
//! `cairn-rewards`; this module only checks what it posts.

use cairn_primitives::{
    Address, AssetId, B256, Bytes, OperatorSetKey, StrategyId, Timestamp, U256, math, merkle, named_address,
};
use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError, TxKind};

/// Most tokens one submission may carry (`MAX_REWARDS_AMOUNT` = 1e38 − 1).
pub const MAX_REWARDS_AMOUNT: U256 = crate::strategies::MAX_TOTAL_SHARES;
/// Largest strategy multiplier (`uint96`).
pub const MAX_MULTIPLIER: U256 = U256::from_limbs([u64::MAX, u32::MAX as u64, 0, 0]);
/// A split in basis points is at most 100%.
pub const MAX_SPLIT_BIPS: u16 = 10_000;

/// The account holding escrowed rewards until they are claimed (`named_address("cairn/rewards")`,
/// computed once: every transaction checks it is not the sender).
pub fn escrow_address() -> Address {
    static ESCROW: std::sync::OnceLock<Address> = std::sync::OnceLock::new();
    *ESCROW.get_or_init(|| named_address("cairn/rewards"))
}

/// A strategy and the weight of one of its shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyMultiplier {
    /// The strategy.
    pub strategy: StrategyId,
    /// Weight per share (a `uint96`, WAD = 1 is usual).
    #[serde(with = "cairn_primitives::serde_dec")]
    pub multiplier: U256,
}

/// An amount-based submission: `amount` spread evenly over `duration`, weighted by stake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardsSubmission {
    /// Strategies whose stake earns, strictly ascending.
    pub strategies_and_multipliers: Vec<StrategyMultiplier>,
    /// The reward token.
    pub token: AssetId,
    /// Tokens in total.
    #[serde(with = "cairn_primitives::serde_dec")]
    pub amount: U256,
    /// Start (unix seconds, a multiple of the interval).
    pub start: Timestamp,
    /// Length in seconds (a multiple of the interval).
    pub duration: u64,
}

/// One operator's part of an operator-directed submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorReward {
    /// The operator.
    pub operator: Address,
    /// Its tokens over the whole duration.
    #[serde(with = "cairn_primitives::serde_dec")]
    pub amount: U256,
}

/// An operator-directed submission: the service names each operator's amount (retroactive only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorDirectedSubmission {
    /// Strategies whose stake shares the stakers' part, strictly ascending.
    pub strategies_and_multipliers: Vec<StrategyMultiplier>,
    /// The reward token.
    pub token: AssetId,
    /// Per operator, strictly ascending.
    pub operator_rewards: Vec<OperatorReward>,
    /// Start.
    pub start: Timestamp,
    /// Length in seconds.
    pub duration: u64,
    /// Free text.
    #[serde(default)]
    pub description: String,
}

/// How a submission is distributed (reference 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionKind {
    /// v1: all operators registered to the service, stakers by stake weight.
    ServiceWide,
    /// v2: amounts per operator, service-wide registration.
    OperatorDirected,
    /// v2.1: amounts per operator, scoped to one operator set.
    OperatorDirectedSet,
    /// v2.2: operators of a set weighted by allocated (unique) stake.
    UniqueStake,
    /// v2.2: operators of a set weighted by total delegated stake.
    TotalStake,
}

/// A submission as escrowed (amounts after the protocol fee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// Kind.
    pub kind: SubmissionKind,
    /// The paying service.
    pub service: Address,
    /// The operator set, for set-scoped kinds.
    pub set_id: Option<u32>,
    /// Strategies and multipliers.
    pub strategies: Vec<StrategyMultiplier>,
    /// Token.
    pub token: AssetId,
    /// Net tokens escrowed (Σ operator rewards for operator-directed kinds).
    pub amount: U256,
    /// Net per-operator amounts (operator-directed kinds).
    pub operator_rewards: Vec<OperatorReward>,
    /// Start.
    pub start: Timestamp,
    /// Duration.
    pub duration: u64,
    /// keccak256 of (service, nonce, the fields above).
    pub hash: B256,
}

/// Who an operator's commission applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitTarget {
    /// Service-wide submissions of a service.
    Service(Address),
    /// Submissions scoped to one operator set.
    Set(OperatorSetKey),
}

/// A split with its pending change (`OperatorSplit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Value before the change (`None`: never set, the default applies).
    pub old: Option<u16>,
    /// Value from `activated_at`.
    pub new: u16,
    /// When `new` applies.
    pub activated_at: Timestamp,
}

/// A posted root of cumulative earnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionRoot {
    /// The merkle root.
    pub root: B256,
    /// Earnings up to this time are included.
    pub calculation_end: Timestamp,
    /// Claimable from this time.
    pub activated_at: Timestamp,
    /// Disabled before activation.
    pub disabled: bool,
}

/// One token leaf of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenLeaf {
    /// Token address (the asset's `address`).
    pub token: Address,
    /// Cumulative earnings of the earner in it.
    #[serde(with = "cairn_primitives::serde_dec")]
    pub cumulative_earnings: U256,
}

/// A claim against a root (`RewardsMerkleClaim`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardsClaim {
    /// Index of the root.
    pub root_index: u32,
    /// The earner's leaf index in the earner tree.
    pub earner_index: u32,
    /// Siblings from the earner leaf to the root (32 bytes each).
    pub earner_tree_proof: Bytes,
    /// The earner.
    pub earner: Address,
    /// Root of the earner's token tree.
    pub earner_token_root: B256,
    /// Leaf index of each token.
    pub token_indices: Vec<u32>,
    /// Proof of each token leaf in the earner's token tree.
    pub token_tree_proofs: Vec<Bytes>,
    /// The token leaves claimed (a subset of the earner's tokens is fine).
    pub token_leaves: Vec<TokenLeaf>,
}

/// Why a rewards transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum RewardsError {
    /// No strategies.
    #[error("a submission needs at least one strategy")]
    NoStrategies,
    /// Strategies not strictly ascending.
    #[error("strategy {strategy} at position {position} is not after the previous one")]
    StrategiesNotAscending {
        /// Position.
        position: usize,
        /// The strategy there.
        strategy: StrategyId,
    },
    /// A multiplier above `uint96`.
    #[error("multiplier {multiplier} of strategy {strategy} exceeds 2^96 - 1")]
    MultiplierTooLarge {
        /// Strategy.
        strategy: StrategyId,
        /// Multiplier.
        multiplier: U256,
    },
    /// Zero amount.
    #[error("reward amount is zero")]
    AmountZero,
    /// Above `MAX_REWARDS_AMOUNT`.
    #[error("reward amount {amount} exceeds {max}")]
    AmountExceedsMax {
        /// Amount.
        amount: U256,
        /// Limit.
        max: U256,
    },
    /// Zero or too long.
    #[error("duration {duration} is not in (0, {max}]")]
    InvalidDuration {
        /// Duration.
        duration: u64,
        /// Limit.
        max: u64,
    },
    /// Duration not a whole number of intervals.
    #[error("duration {duration} is not a multiple of {interval}")]
    DurationNotMultipleOfInterval {
        /// Duration.
        duration: u64,
        /// Interval.
        interval: u64,
    },
    /// Start not on an interval boundary.
    #[error("start {start} is not a multiple of {interval}")]
    StartNotMultipleOfInterval {
        /// Start.
        start: Timestamp,
        /// Interval.
        interval: u64,
    },
    /// Start before the retroactive limit or the rewards genesis.
    #[error("start {start} is before the earliest allowed {earliest}")]
    StartTooSoon {
        /// Start.
        start: Timestamp,
        /// Earliest.
        earliest: Timestamp,
    },
    /// Start beyond the future limit.
    #[error("start {start} is after the latest allowed {latest}")]
    StartTooFarInFuture {
        /// Start.
        start: Timestamp,
        /// Latest.
        latest: Timestamp,
    },
    /// An operator-directed submission that has not ended.
    #[error("operator-directed rewards must have ended: end {end} is not before now {now}")]
    SubmissionNotRetroactive {
        /// start + duration.
        end: Timestamp,
        /// Now.
        now: Timestamp,
    },
    /// No operators.
    #[error("an operator-directed submission needs at least one operator")]
    NoOperatorRewards,
    /// Operators not strictly ascending (or the zero address).
    #[error("operator {operator} at position {position} is zero or not after the previous one")]
    OperatorsNotAscending {
        /// Position.
        position: usize,
        /// The operator there.
        operator: Address,
    },
    /// An operator's amount is zero.
    #[error("operator {operator} is given zero tokens")]
    OperatorAmountZero {
        /// The operator.
        operator: Address,
    },
    /// A split above 100%.
    #[error("split {split_bips} exceeds 10000 basis points")]
    SplitExceedsMax {
        /// The split.
        split_bips: u16,
    },
    /// The previous split change has not activated.
    #[error("the previous split change activates at {activated_at}, now {now}")]
    PreviousSplitPending {
        /// Its activation.
        activated_at: Timestamp,
        /// Now.
        now: Timestamp,
    },
    /// Sender is not the rewards updater.
    #[error("{sender} is not the rewards updater {updater}")]
    NotRewardsUpdater {
        /// Sender.
        sender: Address,
        /// The updater.
        updater: Address,
    },
    /// Root end not after the previous one, or not in the past.
    #[error("calculation end {end} must be after {previous} and before now {now}")]
    InvalidCalculationEnd {
        /// Given end.
        end: Timestamp,
        /// Previous root's end.
        previous: Timestamp,
        /// Now.
        now: Timestamp,
    },
    /// No such root.
    #[error("no distribution root {index}")]
    UnknownRoot {
        /// Index.
        index: u32,
    },
    /// The root was disabled.
    #[error("distribution root {index} is disabled")]
    RootDisabled {
        /// Index.
        index: u32,
    },
    /// The root is not active yet.
    #[error("distribution root {index} activates at {activated_at}, now {now}")]
    RootNotActivated {
        /// Index.
        index: u32,
        /// Activation.
        activated_at: Timestamp,
        /// Now.
        now: Timestamp,
    },
    /// Disabling a root that is already active.
    #[error("distribution root {index} is already active (since {activated_at})")]
    RootAlreadyActivated {
        /// Index.
        index: u32,
        /// Activation.
        activated_at: Timestamp,
    },
    /// The sender may not claim for the earner.
    #[error("{sender} may not claim for {earner} (claimer {claimer:?})")]
    UnauthorizedClaimer {
        /// Sender.
        sender: Address,
        /// Earner.
        earner: Address,
        /// The earner's claimer, if set.
        claimer: Option<Address>,
    },
    /// Array lengths differ.
    #[error("{indices} token indices, {proofs} proofs, {leaves} leaves")]
    ClaimLengthMismatch {
        /// Token indices.
        indices: usize,
        /// Proofs.
        proofs: usize,
        /// Leaves.
        leaves: usize,
    },
    /// The earner proof fails.
    #[error("earner proof for {earner} at index {index} fails: {reason}")]
    InvalidEarnerProof {
        /// Earner.
        earner: Address,
        /// Index.
        index: u32,
        /// Why.
        reason: String,
    },
    /// A token proof fails.
    #[error("token proof for {token} at index {index} fails: {reason}")]
    InvalidTokenProof {
        /// Token.
        token: Address,
        /// Index.
        index: u32,
        /// Why.
        reason: String,
    },
    /// The token is not an asset.
    #[error("token {token} is not a registered asset")]
    UnknownToken {
        /// Token address.
        token: Address,
    },
    /// Nothing new to claim (also what a replayed claim gets).
    #[error("cumulative earnings {cumulative} of {earner} in {token} are not above the {claimed} claimed")]
    EarningsNotGreaterThanClaimed {
        /// Earner.
        earner: Address,
        /// Token.
        token: Address,
        /// Cumulative in the leaf.
        cumulative: U256,
        /// Already claimed.
        claimed: U256,
    },
}

/// Maps a proof failure to the claim error for an earner or a token.
fn proof_reason(e: merkle::ProofError) -> String {
    e.to_string()
}

/// Net amount per entry of a submission (with its operator for operator-directed kinds).
type NetAmounts = Vec<(Option<Address>, U256)>;

/// Either shape of submission, normalized for validation and escrow.
pub(crate) trait Scheduled {
    /// The submission as `kind` from `service` (for `set_id`).
    fn to_new(&self, kind: SubmissionKind, service: Address, set_id: Option<u32>) -> NewSubmission<'_>;
}

impl Scheduled for RewardsSubmission {
    fn to_new(&self, kind: SubmissionKind, service: Address, set_id: Option<u32>) -> NewSubmission<'_> {
        let (strategies, token, start, duration) =
            (&self.strategies_and_multipliers, self.token, self.start, self.duration);
        NewSubmission { kind, service, set_id, strategies, token, start, duration, amounts: vec![(None, self.amount)] }
    }
}

impl Scheduled for OperatorDirectedSubmission {
    fn to_new(&self, kind: SubmissionKind, service: Address, set_id: Option<u32>) -> NewSubmission<'_> {
        let (strategies, token, start, duration) =
            (&self.strategies_and_multipliers, self.token, self.start, self.duration);
        let amounts = self.operator_rewards.iter().map(|r| (Some(r.operator), r.amount)).collect();
        NewSubmission { kind, service, set_id, strategies, token, start, duration, amounts }
    }
}

/// The args of one submission transaction, normalized.
pub(crate) struct NewSubmission<'a> {
    kind: SubmissionKind,
    service: Address,
    set_id: Option<u32>,
    strategies: &'a [StrategyMultiplier],
    token: AssetId,
    start: Timestamp,
    duration: u64,
    /// Gross per-operator amounts, or one amount with no operator.
    amounts: Vec<(Option<Address>, U256)>,
}

impl State {
    /// A submission by (service, nonce).
    pub fn submission(&self, service: Address, nonce: u64) -> Option<&Submission> {
        self.submissions.get(&(service, nonce))
    }

    /// Every submission, by (service, nonce).
    pub fn submissions(&self) -> Vec<((Address, u64), Submission)> {
        self.submissions.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Posted distribution roots, by index.
    pub fn distribution_roots(&self) -> Vec<DistributionRoot> {
        self.roots.iter().map(|(_, r)| *r).collect()
    }

    /// What `earner` has claimed of `token` so far.
    pub fn cumulative_claimed(&self, earner: Address, token: AssetId) -> U256 {
        self.claimed.get(&(earner, token)).copied().unwrap_or_default()
    }

    /// The earner's claimer, if set.
    pub fn claimer_for(&self, earner: Address) -> Option<Address> {
        self.claimers.get(&earner).copied()
    }

    /// The rewards updater (posts and disables roots).
    pub fn rewards_updater(&self) -> Address {
        self.g.rewards_updater
    }

    /// Whether `submitter` pays the protocol fee.
    pub fn fee_opted_in(&self, submitter: Address) -> bool {
        self.fee_opt_in.contains(&submitter)
    }

    /// An operator's split for `target` at `time`, in basis points (reference 6.5 getter).
    pub fn operator_split(&self, operator: Address, target: SplitTarget, time: Timestamp) -> u16 {
        let default = self.g.params.default_operator_split_bips;
        match self.splits.get(&(operator, target)) {
            None => default,
            Some(s) if time >= s.activated_at => s.new,
            Some(s) => s.old.unwrap_or(default),
        }
    }

    /// Creates each submission in order (all or none: a refusal rolls the transaction back).
    pub(crate) fn tx_create_submissions<T: Scheduled>(
        &mut self,
        ctx: &Ctx,
        kind: SubmissionKind,
        service: Address,
        set_id: Option<u32>,
        submissions: &[T],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        for s in submissions {
            self.create_submission(ctx, s.to_new(kind, service, set_id), ev)?;
        }
        Ok(())
    }

    fn check_submitter(&self, ctx: &Ctx, n: &NewSubmission<'_>, action: TxKind) -> Result<(), TxError> {
        self.require_service(n.service)?;
        self.check_can_call(n.service, ctx.sender, action)?;
        if let Some(id) = n.set_id {
            self.operator_set(OperatorSetKey { service: n.service, id })?;
        }
        self.asset(n.token)?;
        Ok(())
    }

    /// Section 6.1's common rules: strategies, multipliers, interval alignment, duration, start.
    fn validate_schedule(&self, ctx: &Ctx, n: &NewSubmission<'_>) -> Result<(), TxError> {
        let p = &self.g.params;
        if n.strategies.is_empty() {
            return Err(RewardsError::NoStrategies.into());
        }
        for (position, sm) in n.strategies.iter().enumerate() {
            self.strategy(sm.strategy)?;
            if position > 0 && n.strategies[position.saturating_sub(1)].strategy >= sm.strategy {
                return Err(RewardsError::StrategiesNotAscending { position, strategy: sm.strategy }.into());
            }
            if sm.multiplier > MAX_MULTIPLIER {
                return Err(
                    RewardsError::MultiplierTooLarge { strategy: sm.strategy, multiplier: sm.multiplier }.into()
                );
            }
        }
        let interval = p.rewards_interval_seconds.max(1);
        if n.duration == 0 || n.duration > p.max_rewards_duration_seconds {
            return Err(
                RewardsError::InvalidDuration { duration: n.duration, max: p.max_rewards_duration_seconds }.into()
            );
        }
        if !n.duration.is_multiple_of(interval) {
            return Err(RewardsError::DurationNotMultipleOfInterval { duration: n.duration, interval }.into());
        }
        if !n.start.is_multiple_of(interval) {
            return Err(RewardsError::StartNotMultipleOfInterval { start: n.start, interval }.into());
        }
        let earliest = ctx.time.saturating_sub(p.max_retroactive_length_seconds).max(p.genesis_rewards_timestamp);
        if n.start < earliest {
            return Err(RewardsError::StartTooSoon { start: n.start, earliest }.into());
        }
        let end = math::add_u64(n.start, n.duration)?;
        let operator_directed =
            matches!(n.kind, SubmissionKind::OperatorDirected | SubmissionKind::OperatorDirectedSet);
        if operator_directed {
            if end >= ctx.time {
                return Err(RewardsError::SubmissionNotRetroactive { end, now: ctx.time }.into());
            }
        } else {
            let latest = ctx.time.saturating_add(p.max_future_length_seconds);
            if n.start > latest {
                return Err(RewardsError::StartTooFarInFuture { start: n.start, latest }.into());
            }
        }
        Ok(())
    }

    /// Checks amounts (and operators), returning (gross total, net per entry, fee).
    fn validate_amounts(&self, n: &NewSubmission<'_>) -> Result<(U256, NetAmounts, U256), TxError> {
        // The service is the submitter (its appointees submit for it), as EigenLayer's
        // operator-directed path checks the AVS.
        let fee_bips = if self.fee_opt_in.contains(&n.service) { self.g.params.protocol_fee_bips } else { 0 };
        let is_directed = n.kind == SubmissionKind::OperatorDirected || n.kind == SubmissionKind::OperatorDirectedSet;
        if is_directed && n.amounts.is_empty() {
            return Err(RewardsError::NoOperatorRewards.into());
        }
        let (mut gross, mut fee) = (U256::ZERO, U256::ZERO);
        let mut net = Vec::with_capacity(n.amounts.len());
        for (position, (op, amount)) in n.amounts.iter().enumerate() {
            if let Some(op) = op {
                let prev = position.checked_sub(1).and_then(|i| n.amounts[i].0);
                if *op == Address::ZERO || prev.is_some_and(|p| p >= *op) {
                    return Err(RewardsError::OperatorsNotAscending { position, operator: *op }.into());
                }
                if amount.is_zero() {
                    return Err(RewardsError::OperatorAmountZero { operator: *op }.into());
                }
            } else if amount.is_zero() {
                return Err(RewardsError::AmountZero.into());
            }
            // The fee rounds down: the service pays at most the stated percentage.
            let f = math::mul_div_down(*amount, U256::from(fee_bips), U256::from(10_000u16))?;
            gross = math::add(gross, *amount)?;
            fee = math::add(fee, f)?;
            net.push((*op, math::sub(*amount, f)?));
        }
        if gross > MAX_REWARDS_AMOUNT {
            return Err(RewardsError::AmountExceedsMax { amount: gross, max: MAX_REWARDS_AMOUNT }.into());
        }
        Ok((gross, net, fee))
    }

    fn create_submission(&mut self, ctx: &Ctx, n: NewSubmission<'_>, ev: &mut Vec<Event>) -> Result<(), TxError> {
        let action = match n.kind {
            SubmissionKind::ServiceWide => TxKind::CreateRewardsSubmission,
            SubmissionKind::OperatorDirected => TxKind::CreateOperatorDirectedRewardsSubmission,
            SubmissionKind::OperatorDirectedSet => TxKind::CreateOperatorDirectedOperatorSetRewardsSubmission,
            SubmissionKind::UniqueStake => TxKind::CreateUniqueStakeRewardsSubmission,
            SubmissionKind::TotalStake => TxKind::CreateTotalStakeRewardsSubmission,
        };
        self.check_submitter(ctx, &n, action)?;
        self.validate_schedule(ctx, &n)?;
        let (gross, net, fee) = self.validate_amounts(&n)?;
        // Escrow everything, then pay the fee out of escrow: one debit of the submitter.
        let escrow = escrow_address();
        self.move_tokens(n.token, ctx.sender, escrow, gross)?;
        if !fee.is_zero() {
            self.move_tokens(n.token, escrow, self.g.fee_recipient, fee)?;
        }
        let amount = math::sub(gross, fee)?;
        let nonce = self.submission_nonces.get(&n.service).copied().unwrap_or(0);
        self.submission_nonces.insert(n.service, math::add_u64(nonce, 1)?);
        let operator_rewards: Vec<OperatorReward> =
            net.iter().filter_map(|(op, a)| op.map(|operator| OperatorReward { operator, amount: *a })).collect();
        let mut s = Submission {
            kind: n.kind,
            service: n.service,
            set_id: n.set_id,
            strategies: n.strategies.to_vec(),
            token: n.token,
            amount,
            operator_rewards,
            start: n.start,
            duration: n.duration,
            hash: B256::ZERO,
        };
        s.hash = cairn_primitives::canonical::hash("rewards submission", &(n.service, nonce, &s))?;
        ev.push(Event::RewardsSubmissionCreated(Box::new(crate::event::RewardsSubmissionCreatedBody {
            service: n.service,
            nonce,
            hash: s.hash,
            kind: n.kind,
            token: n.token,
            amount,
            fee,
            start: n.start,
            duration: n.duration,
        })));
        self.submissions.insert((n.service, nonce), s);
        Ok(())
    }

    pub(crate) fn tx_set_split(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        target: SplitTarget,
        split_bips: u16,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let action = match target {
            SplitTarget::Service(service) => {
                self.require_service(service)?;
                TxKind::SetOperatorServiceSplit
            }
            SplitTarget::Set(set) => {
                self.operator_set(set)?;
                TxKind::SetOperatorSetSplit
            }
        };
        self.operator(operator)?;
        self.check_can_call(operator, ctx.sender, action)?;
        if split_bips > MAX_SPLIT_BIPS {
            return Err(RewardsError::SplitExceedsMax { split_bips }.into());
        }
        let prev = self.splits.get(&(operator, target)).copied();
        if let Some(p) = prev
            && ctx.time <= p.activated_at
        {
            return Err(RewardsError::PreviousSplitPending { activated_at: p.activated_at, now: ctx.time }.into());
        }
        let activated_at = math::add_u64(ctx.time, self.g.params.rewards_activation_delay_seconds)?;
        let split = Split { old: prev.map(|p| p.new), new: split_bips, activated_at };
        self.splits.insert((operator, target), split);
        ev.push(Event::OperatorSplitSet { operator, target, old: split.old, new: split_bips, activated_at });
        Ok(())
    }

    pub(crate) fn tx_set_fee_opt_in(
        &mut self,
        ctx: &Ctx,
        submitter: Address,
        opt_in: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(submitter, ctx.sender, TxKind::SetProtocolFeeOptIn)?;
        if opt_in {
            self.fee_opt_in.insert(submitter, ());
        } else {
            self.fee_opt_in.remove(&submitter);
        }
        ev.push(Event::ProtocolFeeOptInSet { submitter, opt_in });
        Ok(())
    }

    fn require_updater(&self, ctx: &Ctx) -> Result<(), RewardsError> {
        if ctx.sender == self.g.rewards_updater {
            Ok(())
        } else {
            Err(RewardsError::NotRewardsUpdater { sender: ctx.sender, updater: self.g.rewards_updater })
        }
    }

    pub(crate) fn tx_submit_root(
        &mut self,
        ctx: &Ctx,
        root: B256,
        calculation_end: Timestamp,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.require_updater(ctx)?;
        let previous = self.g.rewards_calculation_end;
        if calculation_end <= previous || calculation_end >= ctx.time {
            return Err(RewardsError::InvalidCalculationEnd { end: calculation_end, previous, now: ctx.time }.into());
        }
        let index =
            u32::try_from(self.roots.len()).map_err(|_| crate::ledger::math_overflow("root", self.roots.len()))?;
        let activated_at = math::add_u64(ctx.time, self.g.params.rewards_activation_delay_seconds)?;
        self.roots.insert(index, DistributionRoot { root, calculation_end, activated_at, disabled: false });
        self.g.rewards_calculation_end = calculation_end;
        ev.push(Event::DistributionRootSubmitted { index, root, calculation_end, activated_at });
        Ok(())
    }

    pub(crate) fn tx_disable_root(&mut self, ctx: &Ctx, index: u32, ev: &mut Vec<Event>) -> Result<(), TxError> {
        self.require_updater(ctx)?;
        let mut r = *self.roots.get(&index).ok_or(RewardsError::UnknownRoot { index })?;
        if r.disabled {
            return Err(RewardsError::RootDisabled { index }.into());
        }
        if ctx.time >= r.activated_at {
            return Err(RewardsError::RootAlreadyActivated { index, activated_at: r.activated_at }.into());
        }
        r.disabled = true;
        self.roots.insert(index, r);
        ev.push(Event::DistributionRootDisabled { index });
        Ok(())
    }

    pub(crate) fn tx_set_claimer(
        &mut self,
        ctx: &Ctx,
        earner: Address,
        claimer: Option<Address>,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        // The earner itself; an operator or service earner may also delegate this to its admins
        // and appointees (EigenLayer's PermissionController rule).
        let privileged = self.is_operator(earner) || !self.operator_sets_of(earner).is_empty();
        if ctx.sender != earner && !(privileged && self.can_call(earner, ctx.sender, TxKind::SetClaimerFor)) {
            return Err(crate::permissions::PermissionError::Unauthorized {
                account: earner,
                caller: ctx.sender,
                action: TxKind::SetClaimerFor,
            }
            .into());
        }
        // The zero address means "no claimer" (the earner claims), as in EigenLayer.
        let claimer = claimer.filter(|c| *c != Address::ZERO);
        match claimer {
            Some(c) => self.claimers.insert(earner, c),
            None => {
                self.claimers.remove(&earner);
            }
        }
        ev.push(Event::ClaimerForSet { earner, claimer });
        Ok(())
    }

    /// The root a claim may use now.
    fn claimable_root(&self, index: u32, now: Timestamp) -> Result<DistributionRoot, RewardsError> {
        let r = *self.roots.get(&index).ok_or(RewardsError::UnknownRoot { index })?;
        if r.disabled {
            return Err(RewardsError::RootDisabled { index });
        }
        if now < r.activated_at {
            return Err(RewardsError::RootNotActivated { index, activated_at: r.activated_at, now });
        }
        Ok(r)
    }

    /// Checks a claim's proofs against its root (no state change).
    pub fn check_claim(&self, c: &RewardsClaim, now: Timestamp) -> Result<(), TxError> {
        let r = self.claimable_root(c.root_index, now)?;
        let (n_i, n_p, n_l) = (c.token_indices.len(), c.token_tree_proofs.len(), c.token_leaves.len());
        if n_i != n_p || n_p != n_l {
            return Err(RewardsError::ClaimLengthMismatch { indices: n_i, proofs: n_p, leaves: n_l }.into());
        }
        let leaf = merkle::earner_leaf(c.earner, c.earner_token_root);
        merkle::verify_proof(r.root, leaf, u64::from(c.earner_index), &c.earner_tree_proof).map_err(|e| {
            RewardsError::InvalidEarnerProof { earner: c.earner, index: c.earner_index, reason: proof_reason(e) }
        })?;
        for ((index, proof), t) in c.token_indices.iter().zip(&c.token_tree_proofs).zip(&c.token_leaves) {
            let leaf = merkle::token_leaf(t.token, t.cumulative_earnings);
            merkle::verify_proof(c.earner_token_root, leaf, u64::from(*index), proof).map_err(|e| {
                RewardsError::InvalidTokenProof { token: t.token, index: *index, reason: proof_reason(e) }
            })?;
        }
        Ok(())
    }

    pub(crate) fn tx_process_claims(
        &mut self,
        ctx: &Ctx,
        claims: &[RewardsClaim],
        recipient: Address,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        // Paying into the escrow would count a claim without moving tokens.
        if recipient == Address::ZERO || recipient == crate::BURN_ADDRESS || recipient == escrow_address() {
            return Err(crate::ledger::LedgerError::ReservedRecipient { to: recipient }.into());
        }
        for c in claims {
            // EigenLayer's order: the claim itself (root, lengths, proofs), then the caller.
            self.check_claim(c, ctx.time)?;
            let claimer = self.claimer_for(c.earner);
            let allowed = match claimer {
                Some(cl) => ctx.sender == cl,
                None => ctx.sender == c.earner,
            };
            if !allowed {
                return Err(RewardsError::UnauthorizedClaimer { sender: ctx.sender, earner: c.earner, claimer }.into());
            }
            let root = self.claimable_root(c.root_index, ctx.time)?.root;
            for t in &c.token_leaves {
                let asset = self.asset_by_address(t.token).ok_or(RewardsError::UnknownToken { token: t.token })?;
                let claimed = self.cumulative_claimed(c.earner, asset);
                if t.cumulative_earnings <= claimed {
                    return Err(RewardsError::EarningsNotGreaterThanClaimed {
                        earner: c.earner,
                        token: t.token,
                        cumulative: t.cumulative_earnings,
                        claimed,
                    }
                    .into());
                }
                let amount = math::sub(t.cumulative_earnings, claimed)?;
                self.claimed.insert((c.earner, asset), t.cumulative_earnings);
                self.move_tokens(asset, escrow_address(), recipient, amount)?;
                ev.push(Event::RewardsClaimed(Box::new(crate::event::RewardsClaimedBody {
                    root,
                    earner: c.earner,
                    claimer: ctx.sender,
                    recipient,
                    token: asset,
                    amount,
                })));
            }
        }
        Ok(())
    }
}

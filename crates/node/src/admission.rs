//! Admission: the rules a verified transaction must pass before it may wait in the mempool and
//! use a nonce. Every executed transaction uses its nonce, accepted or refused by the state
//! machine, so a transaction that would certainly fail, or certainly do nothing, is refused here
//! instead, changing nothing.
//!
//! The state machine stays the authority: admission refuses only what it would refuse too (or
//! run as a no-op), judged against the committed state and the transactions waiting at
//! submission, never anything that might succeed.
//!
//! - **Shapes** (no state): zero amounts the state machine refuses (`transfer`, `mint`,
//!   `deposit`, queued shares, rewards amounts, the vault's own stateless checks), lists whose
//!   lengths must match, empty lists that make the transaction a no-op or a refusal, slash
//!   fractions outside (0, 1e18].
//! - **Ids** (cheap lookups): assets (registered at genesis only); strategies (unknown unless an
//!   asset without a strategy could still get it); operators and services (unknown unless the
//!   address has its registration waiting); vaults (unknown unless the governor has an
//!   `execute_proposal` waiting).
//! - **Budget**: an account that holds nothing of value and no granted role may have at most
//!   `EMPTY_ACCOUNT_MAX_WAITING` transactions waiting, and all such accounts together at most
//!   `EMPTY_ACCOUNTS_MAX_WAITING` (see docs/node.md, "Spam").

use alloy_primitives::{Address, U256};
use cairn_primitives::{AssetId, StrategyId, VaultId, WAD};
use cairn_state::{
    State, Tx,
    rewards::{OperatorDirectedSubmission, RewardsSubmission, StrategyMultiplier},
    tx::{AllocateParams, QueueParams, TxKind},
    vault::VaultError,
};

use crate::{envelope::Verified, mempool::Mempool};

/// Most transactions an account that holds nothing may have waiting.
pub const EMPTY_ACCOUNT_MAX_WAITING: usize = 4;
/// Most transactions all accounts that hold nothing may have waiting together (so at most this
/// many per block).
pub const EMPTY_ACCOUNTS_MAX_WAITING: usize = 256;

/// Why admission refuses a verified transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
pub enum AdmissionError {
    /// An amount the state machine refuses when zero.
    #[error("{field} is 0: the state machine refuses a zero amount there")]
    ZeroAmount {
        /// Where, e.g. `amount` or `withdrawals[0].deposit_shares[1]`.
        field: String,
    },
    /// A list that must not be empty.
    #[error("{field} is empty: the transaction would fail or do nothing")]
    EmptyList {
        /// Which list.
        field: String,
    },
    /// Two lists that must have the same length.
    #[error("{left} has {left_len} entries but {right} has {right_len}")]
    LengthMismatch {
        /// The first list.
        left: String,
        /// Its length.
        left_len: usize,
        /// The second list.
        right: String,
        /// Its length.
        right_len: usize,
    },
    /// A slash fraction outside (0, 1e18].
    #[error("wads_to_slash[{index}] is {wad}, outside (0, 1e18]")]
    WadOutOfRange {
        /// Its position.
        index: usize,
        /// The fraction.
        wad: U256,
    },
    /// No such asset (assets exist from genesis only).
    #[error("{asset} does not exist")]
    UnknownAsset {
        /// The asset.
        asset: AssetId,
    },
    /// No such strategy, and none can be created with this id.
    #[error("{strategy} does not exist, nor can it be created (ids below {limit} exist or still can be)")]
    UnknownStrategy {
        /// The strategy.
        strategy: StrategyId,
        /// One past the highest id that exists or could still be created.
        limit: u32,
    },
    /// Not a registered operator, and no registration of it is waiting.
    #[error("{operator} is not a registered operator")]
    NotAnOperator {
        /// The account.
        operator: Address,
    },
    /// Not a registered service, and no registration of it is waiting.
    #[error("{service} is not a registered service")]
    UnknownService {
        /// The account.
        service: Address,
    },
    /// No such vault, and the governor has no proposal execution waiting.
    #[error("{vault} does not exist")]
    UnknownVault {
        /// The vault.
        vault: VaultId,
    },
    /// The vault's own stateless check refuses the payload.
    #[error("vault transaction refused: {0}")]
    Vault(VaultError),
    /// An account that holds nothing already has its budget of waiting transactions.
    #[error("{sender} holds nothing and already has {waiting} transactions waiting, at most {max}")]
    EmptyAccountBudget {
        /// The account.
        sender: Address,
        /// Its waiting transactions.
        waiting: usize,
        /// The budget.
        max: usize,
    },
    /// Accounts that hold nothing already have their shared budget of waiting transactions.
    #[error("accounts that hold nothing have {waiting} transactions waiting, at most {max} together")]
    EmptyAccountsBusy {
        /// Their waiting transactions.
        waiting: usize,
        /// The shared budget.
        max: usize,
    },
    /// An account that holds nothing sent a nonce that cannot run next: its transactions may not
    /// wait behind a gap (they would hold the shared budget until they expire).
    #[error("{sender} holds nothing: its nonce {nonce} must follow its waiting ones, expected {expected}")]
    EmptyAccountGap {
        /// The account.
        sender: Address,
        /// The nonce sent.
        nonce: u64,
        /// The only nonce it may send now.
        expected: u64,
    },
}

impl AdmissionError {
    /// The variant's name, for API errors (a vault refusal gives the vault error's name).
    pub fn name(&self) -> &'static str {
        match self {
            AdmissionError::Vault(e) => e.into(),
            e => e.into(),
        }
    }

    /// Whether this is a budget refusal (retry later) rather than a rule (never valid).
    pub fn is_budget(&self) -> bool {
        matches!(self, AdmissionError::EmptyAccountBudget { .. } | AdmissionError::EmptyAccountsBusy { .. })
    }
}

/// A transaction that passed admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// Its sender holds nothing: it counts against the empty accounts' budget.
    pub budgeted: bool,
}

/// Checks `v` against the rules, the committed `state` and the waiting `pool`.
pub fn check(state: &State, pool: &Mempool, v: &Verified, next: u64) -> Result<Admitted, AdmissionError> {
    shape(&v.tx)?;
    ids(state, pool, &v.tx)?;
    budget(state, pool, v, next)
}

type Rule = Result<(), AdmissionError>;

fn non_zero(field: impl Into<String>, amount: U256) -> Rule {
    if amount.is_zero() { Err(AdmissionError::ZeroAmount { field: field.into() }) } else { Ok(()) }
}

fn non_empty<T>(field: impl Into<String>, list: &[T]) -> Rule {
    if list.is_empty() { Err(AdmissionError::EmptyList { field: field.into() }) } else { Ok(()) }
}

fn same_len(left: (String, usize), right: (String, usize)) -> Rule {
    if left.1 == right.1 {
        return Ok(());
    }
    Err(AdmissionError::LengthMismatch { left: left.0, left_len: left.1, right: right.0, right_len: right.1 })
}

/// The stateless rules.
pub fn shape(tx: &Tx) -> Rule {
    use Tx::*;
    match tx {
        Transfer { amount, .. } | Mint { amount, .. } | Deposit { amount, .. } => non_zero("amount", *amount),
        QueueWithdrawals { withdrawals } => queue_shape(withdrawals),
        ModifyAllocations { allocations, .. } => allocations_shape(allocations),
        ClearDeallocationQueue { strategies, num_to_clear, .. } => {
            non_empty("strategies", strategies)?;
            same_len(("strategies".into(), strategies.len()), ("num_to_clear".into(), num_to_clear.len()))
        }
        SlashOperator { strategies, wads_to_slash, .. } => slash_shape(strategies, wads_to_slash),
        AddStrategiesToOperatorSet { strategies, .. } | RemoveStrategiesFromOperatorSet { strategies, .. } => {
            non_empty("strategies", strategies)
        }
        RegisterForOperatorSets { set_ids, .. } | DeregisterFromOperatorSets { set_ids, .. } => {
            non_empty("set_ids", set_ids)
        }
        Pause { modules } | Unpause { modules } => non_empty("modules", modules),
        VerifyWithdrawalCredentials { validators, .. } | VerifyCheckpointProofs { validators, .. } => {
            non_empty("validators", validators)
        }
        CreateRewardsSubmission { submissions, .. }
        | CreateUniqueStakeRewardsSubmission { submissions, .. }
        | CreateTotalStakeRewardsSubmission { submissions, .. } => rewards_shape(submissions),
        CreateOperatorDirectedRewardsSubmission { submissions, .. }
        | CreateOperatorDirectedOperatorSetRewardsSubmission { submissions, .. } => directed_shape(submissions),
        ProcessClaims { claims, .. } => non_empty("claims", claims),
        _ => vault_shape(tx),
    }
}

fn queue_shape(withdrawals: &[QueueParams]) -> Rule {
    non_empty("withdrawals", withdrawals)?;
    for (i, w) in withdrawals.iter().enumerate() {
        let (strategies, shares) = (format!("withdrawals[{i}].strategies"), format!("withdrawals[{i}].deposit_shares"));
        same_len((strategies.clone(), w.strategies.len()), (shares.clone(), w.deposit_shares.len()))?;
        non_empty(strategies, &w.strategies)?;
        for (j, x) in w.deposit_shares.iter().enumerate() {
            non_zero(format!("{shares}[{j}]"), *x)?;
        }
    }
    Ok(())
}

fn allocations_shape(allocations: &[AllocateParams]) -> Rule {
    non_empty("allocations", allocations)?;
    for (i, a) in allocations.iter().enumerate() {
        same_len(
            (format!("allocations[{i}].strategies"), a.strategies.len()),
            (format!("allocations[{i}].new_magnitudes"), a.new_magnitudes.len()),
        )?;
    }
    Ok(())
}

fn slash_shape(strategies: &[StrategyId], wads: &[U256]) -> Rule {
    same_len(("strategies".into(), strategies.len()), ("wads_to_slash".into(), wads.len()))?;
    match wads.iter().enumerate().find(|(_, w)| w.is_zero() || **w > WAD) {
        Some((index, wad)) => Err(AdmissionError::WadOutOfRange { index, wad: *wad }),
        None => Ok(()),
    }
}

fn multipliers_shape(field: &str, list: &[StrategyMultiplier]) -> Rule {
    non_empty(format!("{field}.strategies_and_multipliers"), list)
}

fn rewards_shape(submissions: &[RewardsSubmission]) -> Rule {
    non_empty("submissions", submissions)?;
    for (i, s) in submissions.iter().enumerate() {
        let field = format!("submissions[{i}]");
        multipliers_shape(&field, &s.strategies_and_multipliers)?;
        non_zero(format!("{field}.amount"), s.amount)?;
    }
    Ok(())
}

fn directed_shape(submissions: &[OperatorDirectedSubmission]) -> Rule {
    non_empty("submissions", submissions)?;
    for (i, s) in submissions.iter().enumerate() {
        let field = format!("submissions[{i}]");
        multipliers_shape(&field, &s.strategies_and_multipliers)?;
        non_empty(format!("{field}.operator_rewards"), &s.operator_rewards)?;
        for (j, r) in s.operator_rewards.iter().enumerate() {
            non_zero(format!("{field}.operator_rewards[{j}].amount"), r.amount)?;
        }
    }
    Ok(())
}

/// The vault payloads' own stateless checks (the ones their handlers run first).
fn vault_shape(tx: &Tx) -> Rule {
    use Tx::*;
    let checked = match tx {
        VaultDeposit(t) => t.check_stateless(),
        VaultRedeem(t) => t.check_stateless(),
        VaultTransfer(t) => t.check_stateless(),
        VaultTransferFrom(t) => t.check_stateless(),
        VaultReportPrices(t) => t.check_stateless().map(|_| ()),
        VaultSetTargets(t) => t.check_stateless().map(|_| ()),
        VaultRequestWithdrawal(t) => t.check_stateless(),
        VaultFinalizeTickets(t) => t.check_stateless(),
        VaultEmergencyExit(t) => t.check_stateless(),
        VaultClaimRewards(t) => t.check_stateless(),
        VaultVerifyValidators(t) => return non_empty("validators", &t.validators),
        _ => Ok(()),
    };
    checked.map_err(AdmissionError::Vault)
}

/// The id lookups against the committed state and the waiting transactions.
pub fn ids(state: &State, pool: &Mempool, tx: &Tx) -> Rule {
    use Tx::*;
    let strategies = |list: &[StrategyId]| list.iter().try_for_each(|s| strategy(state, *s));
    match tx {
        Transfer { asset, .. } | Mint { asset, .. } | CreateStrategy { asset } => known_asset(state, *asset),
        Deposit { strategy: s, .. } => strategy(state, *s),
        QueueWithdrawals { withdrawals } => withdrawals.iter().try_for_each(|w| strategies(&w.strategies)),
        ClearDeallocationQueue { strategies: list, .. } | AddStrategiesToOperatorSet { strategies: list, .. } => {
            strategies(list)
        }
        ModifyAllocations { operator, allocations } => {
            operator_known(state, pool, *operator)?;
            allocations.iter().try_for_each(|a| strategies(&a.strategies))
        }
        DelegateTo { operator, .. } | Redelegate { operator, .. } | RegisterForOperatorSets { operator, .. } => {
            operator_known(state, pool, *operator)
        }
        CreateOperatorSet { service, strategies: list, .. } => {
            service_known(state, pool, *service)?;
            strategies(list)
        }
        CreateRewardsSubmission { service, submissions }
        | CreateUniqueStakeRewardsSubmission { service, submissions, .. }
        | CreateTotalStakeRewardsSubmission { service, submissions, .. } => {
            service_known(state, pool, *service)?;
            submissions.iter().try_for_each(|s| submission_ids(state, s.token, &s.strategies_and_multipliers))
        }
        CreateOperatorDirectedRewardsSubmission { service, submissions }
        | CreateOperatorDirectedOperatorSetRewardsSubmission { service, submissions, .. } => {
            service_known(state, pool, *service)?;
            submissions.iter().try_for_each(|s| submission_ids(state, s.token, &s.strategies_and_multipliers))
        }
        _ => vault_of(tx).map_or(Ok(()), |v| vault_known(state, pool, v)),
    }
}

fn known_asset(state: &State, asset: AssetId) -> Rule {
    match state.asset_symbol(asset) {
        Some(_) => Ok(()),
        None => Err(AdmissionError::UnknownAsset { asset }),
    }
}

/// A strategy exists, or its id is one the assets still without a strategy could get (ids are
/// handed out in order by `create_strategy`).
fn strategy(state: &State, s: StrategyId) -> Rule {
    if state.strategy_address(s).is_ok() {
        return Ok(());
    }
    let assets = state.asset_list();
    let creatable = assets.iter().filter(|(id, _)| state.strategy_of_asset(*id).is_none()).count();
    let limit = state.strategy_ids().len().saturating_add(creatable);
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    if s.0 < limit { Ok(()) } else { Err(AdmissionError::UnknownStrategy { strategy: s, limit }) }
}

fn submission_ids(state: &State, token: AssetId, list: &[StrategyMultiplier]) -> Rule {
    known_asset(state, token)?;
    list.iter().try_for_each(|m| strategy(state, m.strategy))
}

fn operator_known(state: &State, pool: &Mempool, operator: Address) -> Rule {
    if state.is_operator(operator) || pool.has_waiting(&operator, TxKind::RegisterAsOperator) {
        Ok(())
    } else {
        Err(AdmissionError::NotAnOperator { operator })
    }
}

fn service_known(state: &State, pool: &Mempool, service: Address) -> Rule {
    if state.is_service(service) || pool.has_waiting(&service, TxKind::RegisterService) {
        Ok(())
    } else {
        Err(AdmissionError::UnknownService { service })
    }
}

fn vault_known(state: &State, pool: &Mempool, vault: VaultId) -> Rule {
    if state.vault_cfg(vault).is_ok() || pool.has_waiting(&state.governor(), TxKind::ExecuteProposal) {
        Ok(())
    } else {
        Err(AdmissionError::UnknownVault { vault })
    }
}

/// The vault a vault transaction names.
fn vault_of(tx: &Tx) -> Option<VaultId> {
    use Tx::*;
    Some(match tx {
        VaultDeposit(t) => t.vault,
        VaultRedeem(t) => t.vault,
        VaultTransfer(t) => t.vault,
        VaultApprove(t) => t.vault,
        VaultTransferFrom(t) => t.vault,
        VaultReportPrices(t) => t.vault,
        VaultUpdateRate(t) | VaultAcceptRate(t) | VaultRejectRate(t) | VaultRebalance(t) | VaultEmergencyUnwind(t) => {
            t.vault
        }
        VaultSetTargets(t) => t.vault,
        VaultRequestWithdrawal(t) => t.vault,
        VaultTransferTicket(t) => t.vault,
        VaultFinalizeTickets(t) => t.vault,
        VaultClaimTicket(t) => t.vault,
        VaultEmergencyExit(t) => t.vault,
        VaultClaimRewards(t) => t.vault,
        VaultVerifyValidators(t) => t.vault,
        VaultStartCheckpoint(t) => t.vault,
        VaultSetAssetPaused(t) => t.vault,
        _ => return None,
    })
}

/// The budget of an account that holds nothing.
fn budget(state: &State, pool: &Mempool, v: &Verified, next: u64) -> Result<Admitted, AdmissionError> {
    let sender = v.sender;
    if holds_something(state, sender) {
        return Ok(Admitted { budgeted: false });
    }
    let expected = pool.contiguous_end(&sender, next);
    if v.nonce != expected {
        return Err(AdmissionError::EmptyAccountGap { sender, nonce: v.nonce, expected });
    }
    let waiting = pool.waiting_of(&sender);
    if waiting >= EMPTY_ACCOUNT_MAX_WAITING {
        return Err(AdmissionError::EmptyAccountBudget { sender, waiting, max: EMPTY_ACCOUNT_MAX_WAITING });
    }
    let waiting = pool.budgeted_len();
    if waiting >= EMPTY_ACCOUNTS_MAX_WAITING {
        return Err(AdmissionError::EmptyAccountsBusy { waiting, max: EMPTY_ACCOUNTS_MAX_WAITING });
    }
    Ok(Admitted { budgeted: true })
}

/// Whether `a` holds value (a token balance, a staker position or queued withdrawal, vault
/// tokens) or a role someone else granted (protocol roles, a vault role). Registrations anyone
/// can make for free (operator, service, pod, delegation) do not count: they would let any
/// fresh key out of the budget with one transaction.
pub fn holds_something(state: &State, a: Address) -> bool {
    state.asset_list().iter().any(|(id, _)| !state.balance(a, *id).is_zero())
        || state.staker(a).is_some_and(|s| !s.positions.is_empty())
        || !state.withdrawals_of(a).is_empty()
        || state.has_protocol_role(a)
        || state.vault_ids().into_iter().any(|v| vault_tie(state, v, a))
}

fn vault_tie(state: &State, vault: VaultId, a: Address) -> bool {
    let role = state
        .vault_cfg(vault)
        .is_ok_and(|c| c.guardian == a || c.keeper == a || c.fee_recipient == a || c.committee.contains(&a));
    role || !state.vault_balance(vault, a).is_zero()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        devnet::{self, DevKeys},
        envelope::{Domain, address_of, dev_key},
    };
    use cairn_state::{
        Ctx,
        rewards::OperatorReward,
        vault::tx::{Approve, VaultRef},
    };

    fn world() -> (State, DevKeys) {
        let keys = DevKeys::new(2);
        (State::genesis(&devnet::genesis(&keys)).expect("genesis"), keys)
    }

    fn verified(key: &k256::ecdsa::SigningKey, tx: &Tx, nonce: u64) -> Verified {
        let d = Domain::new(1);
        d.verify(d.sign(key, tx, nonce, 100)).expect("verifies")
    }

    fn eth(n: u64) -> U256 {
        U256::from(n) * WAD
    }

    fn zero(field: &str) -> AdmissionError {
        AdmissionError::ZeroAmount { field: field.into() }
    }

    fn empty(field: &str) -> AdmissionError {
        AdmissionError::EmptyList { field: field.into() }
    }

    fn mismatch(left: &str, left_len: usize, right: &str, right_len: usize) -> AdmissionError {
        AdmissionError::LengthMismatch { left: left.into(), left_len, right: right.into(), right_len }
    }

    #[test]
    fn zero_amounts_are_refused_naming_the_field() {
        let to = Address::repeat_byte(7);
        assert_eq!(shape(&Tx::Transfer { asset: AssetId(1), to, amount: U256::ZERO }), Err(zero("amount")));
        assert_eq!(shape(&Tx::Mint { asset: AssetId(1), to, amount: U256::ZERO }), Err(zero("amount")));
        assert_eq!(shape(&Tx::Deposit { strategy: StrategyId(1), amount: U256::ZERO }), Err(zero("amount")));
        let q =
            QueueParams { strategies: vec![StrategyId(1), StrategyId(2)], deposit_shares: vec![eth(1), U256::ZERO] };
        let err = shape(&Tx::QueueWithdrawals { withdrawals: vec![q] });
        assert_eq!(err, Err(zero("withdrawals[0].deposit_shares[1]")));
        assert_eq!(shape(&Tx::Deposit { strategy: StrategyId(1), amount: U256::from(1) }), Ok(()));
        let err = zero("amount");
        assert_eq!(
            (err.name(), err.to_string().as_str()),
            ("ZeroAmount", "amount is 0: the state machine refuses a zero amount there")
        );
    }

    #[test]
    fn lists_must_match_and_not_be_empty() {
        assert_eq!(shape(&Tx::QueueWithdrawals { withdrawals: vec![] }), Err(empty("withdrawals")));
        let q = QueueParams { strategies: vec![StrategyId(1)], deposit_shares: vec![eth(1), eth(2)] };
        assert_eq!(
            shape(&Tx::QueueWithdrawals { withdrawals: vec![q] }),
            Err(mismatch("withdrawals[0].strategies", 1, "withdrawals[0].deposit_shares", 2))
        );
        let q = QueueParams { strategies: vec![], deposit_shares: vec![] };
        assert_eq!(shape(&Tx::QueueWithdrawals { withdrawals: vec![q] }), Err(empty("withdrawals[0].strategies")));
        let op = Address::repeat_byte(1);
        assert_eq!(shape(&Tx::ModifyAllocations { operator: op, allocations: vec![] }), Err(empty("allocations")));
        let a = AllocateParams { service: op, set_id: 0, strategies: vec![StrategyId(1)], new_magnitudes: vec![] };
        assert_eq!(
            shape(&Tx::ModifyAllocations { operator: op, allocations: vec![a] }),
            Err(mismatch("allocations[0].strategies", 1, "allocations[0].new_magnitudes", 0))
        );
        let clear = Tx::ClearDeallocationQueue { operator: op, strategies: vec![StrategyId(1)], num_to_clear: vec![] };
        assert_eq!(shape(&clear), Err(mismatch("strategies", 1, "num_to_clear", 0)));
        let clear = Tx::ClearDeallocationQueue { operator: op, strategies: vec![], num_to_clear: vec![] };
        assert_eq!(shape(&clear), Err(empty("strategies")));
        for tx in [
            Tx::RegisterForOperatorSets { operator: op, service: op, set_ids: vec![] },
            Tx::DeregisterFromOperatorSets { operator: op, service: op, set_ids: vec![] },
        ] {
            assert_eq!(shape(&tx), Err(empty("set_ids")));
        }
        assert_eq!(
            shape(&Tx::AddStrategiesToOperatorSet { service: op, set_id: 0, strategies: vec![] }),
            Err(empty("strategies"))
        );
        assert_eq!(shape(&Tx::Pause { modules: vec![] }), Err(empty("modules")));
        assert_eq!(shape(&Tx::Unpause { modules: vec![] }), Err(empty("modules")));
        let verify = Tx::VerifyWithdrawalCredentials { slot: 1, validators: vec![] };
        assert_eq!(shape(&verify), Err(empty("validators")));
        assert_eq!(shape(&Tx::ProcessClaims { claims: vec![], recipient: op }), Err(empty("claims")));
        // Reports with nothing new are valid (they advance the slot).
        assert_eq!(shape(&Tx::PostBeaconReport { slot: 1, validators: vec![], withdrawals: vec![] }), Ok(()));
    }

    #[test]
    fn slashes_need_matching_lists_and_fractions_in_range() {
        let op = Address::repeat_byte(1);
        let slash = |wads: Vec<U256>| Tx::SlashOperator {
            service: op,
            set_id: 0,
            operator: op,
            strategies: vec![StrategyId(1), StrategyId(2)],
            wads_to_slash: wads,
            description: String::new(),
        };
        assert_eq!(shape(&slash(vec![WAD])), Err(mismatch("strategies", 2, "wads_to_slash", 1)));
        assert_eq!(
            shape(&slash(vec![WAD, U256::ZERO])),
            Err(AdmissionError::WadOutOfRange { index: 1, wad: U256::ZERO })
        );
        let over = WAD + U256::from(1);
        assert_eq!(shape(&slash(vec![over, WAD])), Err(AdmissionError::WadOutOfRange { index: 0, wad: over }));
        assert_eq!(shape(&slash(vec![WAD, U256::from(1)])), Ok(()));
    }

    #[test]
    fn rewards_submissions_need_entries_strategies_and_amounts() {
        let s = Address::repeat_byte(2);
        let m = vec![StrategyMultiplier { strategy: StrategyId(1), multiplier: WAD }];
        let sub = |strategies: Vec<StrategyMultiplier>, amount: U256| RewardsSubmission {
            strategies_and_multipliers: strategies,
            token: AssetId(1),
            amount,
            start: 0,
            duration: 3_600,
        };
        let tx = |subs| Tx::CreateRewardsSubmission { service: s, submissions: subs };
        assert_eq!(shape(&tx(vec![])), Err(empty("submissions")));
        assert_eq!(shape(&tx(vec![sub(vec![], eth(1))])), Err(empty("submissions[0].strategies_and_multipliers")));
        assert_eq!(shape(&tx(vec![sub(m.clone(), U256::ZERO)])), Err(zero("submissions[0].amount")));
        assert_eq!(shape(&tx(vec![sub(m.clone(), eth(1))])), Ok(()));
        let directed = |rewards: Vec<OperatorReward>| Tx::CreateOperatorDirectedRewardsSubmission {
            service: s,
            submissions: vec![OperatorDirectedSubmission {
                strategies_and_multipliers: m.clone(),
                token: AssetId(1),
                operator_rewards: rewards,
                start: 0,
                duration: 3_600,
                description: String::new(),
            }],
        };
        assert_eq!(shape(&directed(vec![])), Err(empty("submissions[0].operator_rewards")));
        let r = OperatorReward { operator: s, amount: U256::ZERO };
        assert_eq!(shape(&directed(vec![r])), Err(zero("submissions[0].operator_rewards[0].amount")));
    }

    #[test]
    fn vault_payloads_get_the_vaults_own_stateless_checks() {
        let deposit = cairn_state::vault::tx::Deposit {
            vault: VaultId(0),
            asset: AssetId(1),
            amount: U256::ZERO,
            min_out: U256::ZERO,
            receiver: None,
        };
        let err = shape(&Tx::VaultDeposit(deposit)).unwrap_err();
        assert_eq!((err.clone(), err.name()), (AdmissionError::Vault(VaultError::ZeroAmount), "ZeroAmount"));
        let report = cairn_state::vault::tx::ReportPrices { vault: VaultId(0), round: 1, prices: vec![] };
        assert_eq!(shape(&Tx::VaultReportPrices(report)), Err(AdmissionError::Vault(VaultError::EmptyReport)));
        let verify = cairn_state::vault::tx::VerifyValidators {
            vault: VaultId(0),
            operator: Address::repeat_byte(1),
            slot: 1,
            validators: vec![],
        };
        assert_eq!(shape(&Tx::VaultVerifyValidators(verify)), Err(empty("validators")));
    }

    #[test]
    fn unknown_assets_and_strategies_are_refused() {
        let (state, _) = world();
        let pool = Mempool::new(10);
        let to = Address::repeat_byte(7);
        let transfer = Tx::Transfer { asset: AssetId(9), to, amount: U256::from(1) };
        assert_eq!(ids(&state, &pool, &transfer), Err(AdmissionError::UnknownAsset { asset: AssetId(9) }));
        assert_eq!(
            ids(&state, &pool, &Tx::CreateStrategy { asset: AssetId(4) }),
            Err(AdmissionError::UnknownAsset { asset: AssetId(4) })
        );
        // Every devnet asset has its strategy (0..=3): 4 cannot be created.
        let deposit = Tx::Deposit { strategy: StrategyId(4), amount: U256::from(1) };
        let unknown = AdmissionError::UnknownStrategy { strategy: StrategyId(4), limit: 4 };
        assert_eq!(ids(&state, &pool, &deposit), Err(unknown.clone()));
        let q = QueueParams { strategies: vec![StrategyId(1), StrategyId(4)], deposit_shares: vec![eth(1), eth(1)] };
        assert_eq!(ids(&state, &pool, &Tx::QueueWithdrawals { withdrawals: vec![q] }), Err(unknown));
        assert_eq!(ids(&state, &pool, &Tx::Deposit { strategy: StrategyId(3), amount: U256::from(1) }), Ok(()));
    }

    #[test]
    fn a_strategy_an_asset_can_still_get_is_not_unknown() {
        let keys = DevKeys::new(1);
        let mut genesis = devnet::genesis(&keys);
        genesis.assets[3].strategy = false;
        let state = State::genesis(&genesis).expect("genesis");
        let pool = Mempool::new(10);
        // Strategies 0..=2 exist; cbETH (asset 3) may still create strategy 3, not 4.
        assert_eq!(ids(&state, &pool, &Tx::Deposit { strategy: StrategyId(3), amount: U256::from(1) }), Ok(()));
        assert_eq!(
            ids(&state, &pool, &Tx::Deposit { strategy: StrategyId(4), amount: U256::from(1) }),
            Err(AdmissionError::UnknownStrategy { strategy: StrategyId(4), limit: 4 })
        );
    }

    #[test]
    fn operators_services_and_vaults_are_known_or_waiting_to_be() {
        let (mut state, keys) = world();
        let mut pool = Mempool::new(10);
        let op_key = &keys.operators[0];
        let op = address_of(op_key);
        let delegate = Tx::DelegateTo { operator: op, approval_salt: None };
        assert_eq!(ids(&state, &pool, &delegate), Err(AdmissionError::NotAnOperator { operator: op }));
        let register =
            Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
        pool.insert(verified(op_key, &register, 0), 0, false).expect("waits");
        assert_eq!(ids(&state, &pool, &delegate), Ok(()), "its registration waits");
        let service = address_of(&keys.services[0]);
        let set = Tx::CreateOperatorSet {
            service,
            set_id: 0,
            strategies: vec![StrategyId(1)],
            slasher: service,
            redistribution_recipient: None,
            consent: Default::default(),
            veto: None,
        };
        assert_eq!(ids(&state, &pool, &set), Err(AdmissionError::UnknownService { service }));
        let ctx = Ctx { sender: service, block: 1, time: 1 };
        state.apply(&ctx, &Tx::RegisterService { metadata_uri: String::new() }).expect("registers");
        assert_eq!(ids(&state, &pool, &set), Ok(()));
        let rate = Tx::VaultUpdateRate(VaultRef { vault: VaultId(0) });
        assert_eq!(ids(&state, &pool, &rate), Err(AdmissionError::UnknownVault { vault: VaultId(0) }));
        let approve = Tx::VaultApprove(Approve { vault: VaultId(3), spender: op, amount: U256::from(1) });
        assert_eq!(ids(&state, &pool, &approve), Err(AdmissionError::UnknownVault { vault: VaultId(3) }));
        pool.insert(verified(&keys.governor, &Tx::ExecuteProposal { id: 1 }, 0), 0, false).expect("waits");
        assert_eq!(ids(&state, &pool, &rate), Ok(()), "the governor's execution waits");
    }

    #[test]
    fn accounts_that_hold_nothing_have_a_budget_of_waiting_transactions() {
        let (state, keys) = world();
        let mut pool = Mempool::new(1_000);
        let staker = &keys.stakers[0];
        assert!(holds_something(&state, address_of(staker)), "a balance");
        assert!(holds_something(&state, address_of(&keys.governor)), "a role");
        assert!(holds_something(&state, address_of(&keys.oracle[0])), "the oracle committee");
        let fresh = dev_key("admission/fresh");
        let who = address_of(&fresh);
        assert!(!holds_something(&state, who));
        let pod = Tx::CreatePod {};
        for n in 0..EMPTY_ACCOUNT_MAX_WAITING as u64 {
            let v = verified(&fresh, &pod, n);
            assert_eq!(check(&state, &pool, &v, 0), Ok(Admitted { budgeted: true }));
            pool.insert(v, 0, true).expect("waits");
        }
        let v = verified(&fresh, &pod, EMPTY_ACCOUNT_MAX_WAITING as u64);
        let err = check(&state, &pool, &v, 0).unwrap_err();
        let max = EMPTY_ACCOUNT_MAX_WAITING;
        assert_eq!(err, AdmissionError::EmptyAccountBudget { sender: who, waiting: max, max });
        assert!(err.is_budget());
        // A funded account is not budgeted, and may wait behind a gap.
        assert_eq!(check(&state, &pool, &verified(staker, &pod, 3), 0), Ok(Admitted { budgeted: false }));
        // An empty account may not park transactions behind a gap (they would hold the shared
        // budget until they expire): only the nonce that runs next is admitted.
        let other = dev_key("admission/gap");
        let gap = check(&state, &pool, &verified(&other, &pod, 1), 0).unwrap_err();
        assert_eq!(gap, AdmissionError::EmptyAccountGap { sender: address_of(&other), nonce: 1, expected: 0 });
        assert!(!gap.is_budget(), "a rule, not a budget");
        assert_eq!(check(&state, &pool, &verified(&other, &pod, 5), 5), Ok(Admitted { budgeted: true }));
    }

    #[test]
    fn accounts_that_hold_nothing_share_a_budget() {
        let (state, _) = world();
        let mut pool = Mempool::new(1_000);
        let per = EMPTY_ACCOUNT_MAX_WAITING;
        for i in 0..EMPTY_ACCOUNTS_MAX_WAITING {
            let key = dev_key(&format!("admission/sybil/{}", i / per));
            pool.insert(verified(&key, &Tx::CreatePod {}, (i % per) as u64), 0, true).expect("waits");
        }
        let v = verified(&dev_key("admission/one-more"), &Tx::CreatePod {}, 0);
        let max = EMPTY_ACCOUNTS_MAX_WAITING;
        assert_eq!(check(&state, &pool, &v, 0), Err(AdmissionError::EmptyAccountsBusy { waiting: max, max }));
    }
}

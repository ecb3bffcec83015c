//! Queries a scenario step may ask, each a plain function of the state at the step's block.
//!
//! Results are JSON: amounts (U256) as decimal strings, magnitudes and blocks as numbers,
//! addresses as `0x` strings, missing records as `null`.

use cairn_primitives::{
    Address, AssetId, B256, Block, OperatorSetKey, StrategyId, Timestamp, U256, VaultId, serde_dec,
};
use cairn_state::{
    State, TxError, pause::Module, pods::pod_credentials, rewards::SplitTarget, slashing::RequestStatus,
    withdrawals::Withdrawal,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A query, deserialized after name resolution (`{ <name> = { fields } }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)] // field names are the state's argument names
pub enum Query {
    /// Token balance of an account.
    Balance { account: Address, asset: AssetId },
    /// Deposit shares `s` of a staker.
    DepositShares { staker: Address, strategy: StrategyId },
    /// Withdrawable shares of a staker now.
    WithdrawableShares { staker: Address, strategy: StrategyId },
    /// Deposit scaling factor `k` of a staker.
    DepositScalingFactor { staker: Address, strategy: StrategyId },
    /// The operator a staker is delegated to (null if none).
    DelegatedTo { staker: Address },
    /// Operator shares.
    OperatorShares { operator: Address, strategy: StrategyId },
    /// Max magnitude of an operator in a strategy.
    MaxMagnitude { operator: Address, strategy: StrategyId },
    /// An allocation as of the step's block: magnitude, pending change, effect block.
    Allocation { operator: Address, service: Address, set_id: u32, strategy: StrategyId },
    /// Slashable stake (shares) of an allocation now.
    AllocatedStake { operator: Address, service: Address, set_id: u32, strategy: StrategyId },
    /// Allocated stake less decreases due by `future_block` (zero if not slashable now).
    MinimumSlashableStake {
        operator: Address,
        service: Address,
        set_id: u32,
        strategy: StrategyId,
        future_block: Block,
    },
    /// Encumbered magnitude (due deallocations simulated as cleared).
    EncumberedMagnitude { operator: Address, strategy: StrategyId },
    /// Max magnitude minus encumbered magnitude.
    AllocatableMagnitude { operator: Address, strategy: StrategyId },
    /// Whether the set may slash the operator now.
    IsSlashable { operator: Address, service: Address, set_id: u32 },
    /// A queued withdrawal with its expected payout (null if none).
    Withdrawal { staker: Address, nonce: u64 },
    /// Shares in the operator's queue a full slash would take now.
    SlashableSharesInQueue { operator: Address, strategy: StrategyId },
    /// A strategy: asset, address, total shares, balance, exchange rate.
    Strategy { strategy: StrategyId },
    /// Tokens a number of shares redeems now.
    SharesToUnderlying {
        strategy: StrategyId,
        #[serde(with = "serde_dec")]
        shares: U256,
    },
    /// A slash request and its status (null if none).
    SlashRequest { service: Address, set_id: u32, request_id: u32 },
    /// Every uncleared entry of shares set aside by slashes.
    BurnableShares {},
    /// A governance proposal (null if none).
    Proposal { id: u64 },
    /// The parameters in force.
    Params {},
    /// keccak256 of the canonical state.
    StateHash {},
    /// An operator's allocation delay in force (null if none).
    AllocationDelay { operator: Address },
    /// A set's slasher in force (null if the set does not exist).
    Slasher { service: Address, set_id: u32 },
    /// Whether an account is a registered operator.
    IsOperator { account: Address },
    /// Whether a module is paused.
    IsPaused { module: Module },
    /// An operator's registration record in a set (null if never registered).
    Registration { operator: Address, service: Address, set_id: u32 },
    /// The whole state summary (the report's `final_state` format).
    Summary {},
    /// A pod: address, credentials, validators, checkpointed ETH, beacon factor, open checkpoint
    /// (null if the owner has none).
    Pod { owner: Address },
    /// A verified validator: its pod, status, restaked balance and the oracle's latest record
    /// (null if never verified).
    Validator { index: u64 },
    /// The beacon oracle: members, quorum, latest accepted slot and root.
    BeaconOracle {},
    /// A staker's beacon-chain slashing factor `l` (WAD without a pod).
    BeaconFactor { staker: Address },
    /// What a service declared about a set for the risk engine (null if nothing).
    SetRisk { service: Address, set_id: u32 },
    /// A rewards submission (null if none).
    Submission { service: Address, nonce: u64 },
    /// Every posted distribution root, by index.
    DistributionRoots {},
    /// What an earner has claimed of a token so far.
    CumulativeClaimed { earner: Address, asset: AssetId },
    /// An earner's claimer (null if none).
    ClaimerFor { earner: Address },
    /// An operator's split in force at the step's time: for a set, or service-wide.
    OperatorSplit {
        operator: Address,
        service: Address,
        #[serde(default)]
        set_id: Option<u32>,
    },
    /// A vault: supply, settled and current rates, assets, reserve, places, unbondings, targets.
    Vault { vault: VaultId },
    /// Receipt tokens an account holds.
    VaultBalance { vault: VaultId, account: Address },
    /// An account's position: tokens, their value now and at the redemption rate, its tickets.
    VaultPosition { vault: VaultId, owner: Address },
    /// Tickets (all, or one owner's) with their ETA.
    VaultTickets {
        vault: VaultId,
        #[serde(default)]
        owner: Option<Address>,
    },
    /// One ticket (null if none: never opened, or claimed).
    VaultTicket { vault: VaultId, ticket: u64 },
    /// Settlement records from number `first` (default 0), at most `limit` (default 100), each with
    /// its attribution.
    VaultRates {
        vault: VaultId,
        #[serde(default)]
        first: u64,
        #[serde(default = "default_limit")]
        limit: u32,
    },
    /// What moved the rate since the last settlement, by source.
    VaultAttribution { vault: VaultId },
    /// The APR over the settlements of the last `window` seconds, by source.
    VaultApr { vault: VaultId, window: u64 },
    /// ERC-4626 `totalAssets`: gross assets less the slash reserve.
    VaultTotalAssets { vault: VaultId },
    /// ERC-4626 `convertToShares`: receipt tokens `value` is worth at the current rate.
    VaultConvertToShares {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        value: U256,
    },
    /// ERC-4626 `convertToAssets`: value of `shares` receipt tokens at the current rate.
    VaultConvertToAssets {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        shares: U256,
    },
    /// ERC-4626 `previewDeposit`: tokens a deposit would mint now.
    VaultPreviewDeposit {
        vault: VaultId,
        asset: AssetId,
        #[serde(with = "serde_dec")]
        amount: U256,
    },
    /// ERC-4626 `previewRedeem`: what an instant redemption would pay now (value, fee, amount).
    VaultPreviewRedeem {
        vault: VaultId,
        #[serde(with = "serde_dec")]
        shares: U256,
        asset: AssetId,
    },
    /// ERC-4626 `maxDeposit`: the most of an asset a deposit may bring now.
    VaultMaxDeposit { vault: VaultId, asset: AssetId },
    /// ERC-4626 `maxRedeem`: the most tokens an owner can redeem at once into an asset.
    VaultMaxRedeem { vault: VaultId, owner: Address, asset: AssetId },
    /// The vault's exposure to each service for its targets (bps), and the worst.
    VaultExposure { vault: VaultId },
    /// What the keeper's optimizer needs: allowed operators with their slashable fraction per
    /// service, and each service's reward rate over the last `window` seconds (default 30 days).
    VaultKeeperInputs {
        vault: VaultId,
        #[serde(default = "default_window")]
        window: u64,
    },
}

fn default_window() -> u64 {
    30 * 86_400
}

fn default_limit() -> u32 {
    100
}

fn set(service: Address, id: u32) -> OperatorSetKey {
    OperatorSetKey { service, id }
}

fn dec(v: U256) -> Value {
    Value::String(v.to_string())
}

fn decs(v: &[U256]) -> Value {
    Value::Array(v.iter().map(|x| dec(*x)).collect())
}

fn to_json<T: Serialize>(v: &T) -> Result<Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// Why a query could not be answered: the state machine's error name and message.
#[derive(Debug, Clone)]
pub struct QueryError {
    /// Error name (`TxError::name`), or `QueryFailed`.
    pub name: String,
    /// Message.
    pub message: String,
}

impl From<TxError> for QueryError {
    fn from(e: TxError) -> Self {
        Self { name: e.name().to_string(), message: e.to_string() }
    }
}

impl From<String> for QueryError {
    fn from(message: String) -> Self {
        Self { name: "QueryFailed".to_string(), message }
    }
}

/// Answers `q` against `state` as of `block`.
pub fn evaluate(state: &State, q: &Query, block: Block, time: Timestamp) -> Result<Value, QueryError> {
    use Query::*;
    match q {
        Submission { .. }
        | DistributionRoots {}
        | CumulativeClaimed { .. }
        | ClaimerFor { .. }
        | OperatorSplit { .. }
        | SetRisk { .. } => rewards_query(state, q, time),
        Balance { .. } | DepositShares { .. } | WithdrawableShares { .. } | DepositScalingFactor { .. } => {
            staker_query(state, q)
        }
        DelegatedTo { staker } => Ok(to_json(&state.delegated_to(*staker))?),
        Withdrawal { staker, nonce } => withdrawal(state, *staker, *nonce, block),
        OperatorShares { .. }
        | MaxMagnitude { .. }
        | EncumberedMagnitude { .. }
        | AllocatableMagnitude { .. }
        | SlashableSharesInQueue { .. }
        | AllocationDelay { .. }
        | IsOperator { .. } => operator_query(state, q, block),
        Allocation { .. }
        | AllocatedStake { .. }
        | MinimumSlashableStake { .. }
        | IsSlashable { .. }
        | Registration { .. }
        | Slasher { .. } => set_query(state, q, block),
        SlashRequest { service, set_id, request_id } => Ok(slash_request(state, set(*service, *set_id), *request_id)),
        BurnableShares {} => Ok(burnable(state)),
        Strategy { strategy } => strategy_info(state, *strategy, block),
        SharesToUnderlying { strategy, shares } => Ok(dec(state.shares_to_underlying(*strategy, *shares)?)),
        Pod { .. } | Validator { .. } | BeaconOracle {} | BeaconFactor { .. } => native_query(state, q),
        Vault { .. }
        | VaultBalance { .. }
        | VaultPosition { .. }
        | VaultTickets { .. }
        | VaultTicket { .. }
        | VaultRates { .. }
        | VaultAttribution { .. }
        | VaultApr { .. } => vault_query(state, q, block, time),
        VaultTotalAssets { .. }
        | VaultConvertToShares { .. }
        | VaultConvertToAssets { .. }
        | VaultPreviewDeposit { .. }
        | VaultPreviewRedeem { .. }
        | VaultMaxDeposit { .. }
        | VaultMaxRedeem { .. }
        | VaultExposure { .. }
        | VaultKeeperInputs { .. } => vault_erc4626_query(state, q, block, time),
        _ => global_query(state, q, block),
    }
}

fn staker_query(state: &State, q: &Query) -> Result<Value, QueryError> {
    Ok(match q {
        Query::Balance { account, asset } => dec(state.balance(*account, *asset)),
        Query::DepositShares { staker, strategy } => dec(state.position(*staker, *strategy).deposit_shares),
        Query::WithdrawableShares { staker, strategy } => dec(state.withdrawable_shares(*staker, *strategy)?),
        Query::DepositScalingFactor { staker, strategy } => dec(state.position(*staker, *strategy).dsf),
        _ => return Err(QueryError::from(format!("not a staker query: {q:?}"))),
    })
}

fn operator_query(state: &State, q: &Query, block: Block) -> Result<Value, QueryError> {
    Ok(match q {
        Query::OperatorShares { operator, strategy } => dec(state.operator_shares(*operator, *strategy)),
        Query::MaxMagnitude { operator, strategy } => Value::from(state.max_magnitude(*operator, *strategy)),
        Query::EncumberedMagnitude { operator, strategy } => {
            Value::from(state.encumbered_magnitude(*operator, *strategy, block))
        }
        Query::AllocatableMagnitude { operator, strategy } => {
            Value::from(state.allocatable_magnitude(*operator, *strategy, block))
        }
        Query::SlashableSharesInQueue { operator, strategy } => {
            dec(state.slashable_shares_in_queue(*operator, *strategy, block)?)
        }
        Query::AllocationDelay { operator } => to_json(&state.allocation_delay(*operator, block))?,
        Query::IsOperator { account } => Value::Bool(state.is_operator(*account)),
        _ => return Err(QueryError::from(format!("not an operator query: {q:?}"))),
    })
}

fn set_query(state: &State, q: &Query, block: Block) -> Result<Value, QueryError> {
    Ok(match q {
        Query::Allocation { operator, service, set_id, strategy } => {
            let (a, _) = state.load_allocation(*operator, set(*service, *set_id), *strategy, block);
            json!({ "magnitude": a.current, "pending": to_json(&a.pending)?, "effect_block": a.effect_block })
        }
        Query::AllocatedStake { operator, service, set_id, strategy } => {
            dec(state.allocated_stake(*operator, set(*service, *set_id), *strategy, block)?)
        }
        Query::MinimumSlashableStake { operator, service, set_id, strategy, future_block } => {
            let key = set(*service, *set_id);
            dec(state.minimum_slashable_stake(*operator, key, *strategy, block, *future_block)?)
        }
        Query::IsSlashable { operator, service, set_id } => {
            Value::Bool(state.is_slashable_by(*operator, set(*service, *set_id), block))
        }
        Query::Registration { operator, service, set_id } => {
            to_json(&state.registration(*operator, set(*service, *set_id)))?
        }
        Query::Slasher { service, set_id } => to_json(&state.slasher(set(*service, *set_id), block))?,
        _ => return Err(QueryError::from(format!("not an operator-set query: {q:?}"))),
    })
}

fn global_query(state: &State, q: &Query, block: Block) -> Result<Value, QueryError> {
    Ok(match q {
        Query::Proposal { id } => to_json(&state.proposal(*id))?,
        Query::Params {} => to_json(state.params())?,
        Query::StateHash {} => {
            Value::String(state.state_hash().map_err(|e| QueryError::from(e.to_string()))?.to_string())
        }
        Query::IsPaused { module } => Value::Bool(state.is_paused(*module)),
        Query::Summary {} => to_json(&state.summary(block)?)?,
        _ => return Err(QueryError::from(format!("not a global query: {q:?}"))),
    })
}

fn rewards_query(state: &State, q: &Query, time: Timestamp) -> Result<Value, QueryError> {
    Ok(match q {
        Query::Submission { service, nonce } => to_json(&state.submission(*service, *nonce))?,
        Query::DistributionRoots {} => to_json(&state.distribution_roots())?,
        Query::SetRisk { service, set_id } => to_json(&state.set_risk(set(*service, *set_id)))?,
        Query::CumulativeClaimed { earner, asset } => dec(state.cumulative_claimed(*earner, *asset)),
        Query::ClaimerFor { earner } => to_json(&state.claimer_for(*earner))?,
        Query::OperatorSplit { operator, service, set_id } => {
            let target = match set_id {
                Some(id) => SplitTarget::Set(set(*service, *id)),
                None => SplitTarget::Service(*service),
            };
            Value::from(state.operator_split(*operator, target, time))
        }
        _ => return Err(QueryError::from(format!("not a rewards query: {q:?}"))),
    })
}

fn vault_query(state: &State, q: &Query, block: Block, time: Timestamp) -> Result<Value, QueryError> {
    Ok(match q {
        Query::Vault { vault } => to_json(&state.vault_view(*vault, block, time)?)?,
        Query::VaultBalance { vault, account } => dec(state.vault_balance(*vault, *account)),
        Query::VaultPosition { vault, owner } => to_json(&state.vault_position(*vault, *owner, block, time)?)?,
        Query::VaultTickets { vault, owner } => to_json(&state.vault_ticket_views(*vault, *owner, block))?,
        Query::VaultTicket { vault, ticket } => {
            to_json(&state.vault_ticket_views(*vault, None, block).into_iter().find(|t| t.id == *ticket))?
        }
        Query::VaultRates { vault, first, limit } => {
            let rows = state.vault_rate_history(*vault, *first, *limit as usize);
            Value::Array(rows.into_iter().map(|(n, r)| vault_rate_json(n, &r)).collect::<Result<Vec<_>, String>>()?)
        }
        Query::VaultAttribution { vault } => attribution_json(&state.vault_open_attribution(*vault))?,
        Query::VaultApr { vault, window } => to_json(&state.vault_apr(*vault, *window, time)?)?,
        _ => return Err(QueryError::from(format!("not a vault query: {q:?}"))),
    })
}

fn vault_erc4626_query(state: &State, q: &Query, block: Block, time: Timestamp) -> Result<Value, QueryError> {
    Ok(match q {
        Query::VaultTotalAssets { vault } => dec(state.vault_total_assets(*vault, block)?),
        Query::VaultConvertToShares { vault, value } => {
            dec(state.vault_convert_to_shares(*vault, *value, block, time)?)
        }
        Query::VaultConvertToAssets { vault, shares } => {
            dec(state.vault_convert_to_assets(*vault, *shares, block, time)?)
        }
        Query::VaultPreviewDeposit { vault, asset, amount } => {
            dec(state.vault_preview_deposit(*vault, *asset, *amount, block, time)?)
        }
        Query::VaultPreviewRedeem { vault, shares, asset } => {
            let r = state.vault_preview_redeem(*vault, *shares, *asset)?;
            json!({ "value": dec(r.value), "fee_bps": r.fee_bps, "amount": dec(r.amount), "rate": dec(r.rate) })
        }
        Query::VaultMaxDeposit { vault, asset } => dec(state.vault_max_deposit(*vault, *asset)?),
        Query::VaultMaxRedeem { vault, owner, asset } => {
            dec(state.vault_max_redeem(*vault, *owner, *asset, block, time)?)
        }
        Query::VaultExposure { vault } => to_json(&state.vault_exposure(*vault, block)?)?,
        Query::VaultKeeperInputs { vault, window } => {
            to_json(&state.vault_keeper_inputs(*vault, block, time, *window)?)?
        }
        _ => return Err(QueryError::from(format!("not a vault query: {q:?}"))),
    })
}

/// A settlement record: rates and totals as decimal strings, its parts by source.
pub fn vault_rate_json(number: u64, r: &cairn_state::vault::RateRecord) -> Result<Value, String> {
    Ok(json!({
        "number": number,
        "block": r.block,
        "time": r.time,
        "rate": dec(r.rate),
        "previous": dec(r.previous),
        "supply": dec(r.supply),
        "assets": dec(r.assets),
        "reserve": dec(r.reserve),
        "fee_tokens": dec(r.fee_tokens),
        "accepted_from_quarantine": r.accepted_from_quarantine,
        "attribution": attribution_json(&r.attribution)?,
    }))
}

/// Parts by source: `[{ source, value, rate }]`, signed integers as decimal strings.
pub fn attribution_json(parts: &[(cairn_state::vault::Source, cairn_state::vault::Part)]) -> Result<Value, String> {
    parts
        .iter()
        .map(|(s, p)| Ok(json!({ "source": to_json(s)?, "value": p.value.to_string(), "rate": p.rate.to_string() })))
        .collect::<Result<Vec<_>, String>>()
        .map(Value::Array)
}

fn native_query(state: &State, q: &Query) -> Result<Value, QueryError> {
    Ok(match q {
        Query::Pod { owner } => match state.pod(*owner) {
            None => Value::Null,
            Some(p) => json!({
                "address": p.address,
                "withdrawal_credentials": pod_credentials(p.address),
                "active_validators": p.active_validators,
                "restaked_gwei": p.restaked_gwei,
                "beacon_factor": p.bcsf,
                "checkpoints": p.checkpoints,
                "last_checkpoint_slot": p.last_checkpoint_slot,
                "checkpoint": to_json(&p.checkpoint)?,
            }),
        },
        Query::Validator { index } => match state.pod_validator(*index) {
            None => Value::Null,
            Some(v) => {
                let record = state.latest_beacon_report().and_then(|(slot, _)| state.validator_record(*index, slot));
                json!({
                    "pod_owner": v.owner,
                    "status": to_json(&v.status)?,
                    "restaked_balance_gwei": v.restaked_balance_gwei,
                    "last_checkpointed": v.last_checkpointed,
                    "record": to_json(&record)?,
                })
            }
        },
        Query::BeaconOracle {} => {
            let (members, quorum) = state.oracle_committee();
            let latest = state.latest_beacon_report();
            json!({
                "members": members,
                "quorum": quorum,
                "latest_slot": latest.map(|l| l.0),
                "latest_root": latest.map(|l| l.1),
            })
        }
        Query::BeaconFactor { staker } => Value::from(state.beacon_factor(*staker)),
        _ => return Err(QueryError::from(format!("not a native-restaking query: {q:?}"))),
    })
}

fn withdrawal(state: &State, staker: Address, nonce: u64, block: Block) -> Result<Value, QueryError> {
    let Some(w) = state.withdrawal(staker, nonce) else {
        return Ok(Value::Null);
    };
    let shares = state.withdrawal_payout(staker, w, block)?;
    let mut tokens = Vec::with_capacity(shares.len());
    for (s, x) in w.strategies.iter().zip(&shares) {
        tokens.push(state.shares_to_underlying(*s, *x)?);
    }
    let root = w.root(staker, nonce).map_err(|e| QueryError::from(e.to_string()))?;
    Ok(withdrawal_json(state, w, root, &shares, &tokens))
}

fn withdrawal_json(state: &State, w: &Withdrawal, root: B256, shares: &[U256], tokens: &[U256]) -> Value {
    let delay = state.params().withdrawal_delay_blocks;
    json!({
        "root": root,
        "delegated_to": w.delegated_to,
        "start_block": w.start_block,
        "completable_at": w.start_block.saturating_add(delay).saturating_add(1),
        "strategies": w.strategies.iter().map(|s| s.0).collect::<Vec<_>>(),
        "scaled_shares": decs(&w.scaled_shares),
        "expected_shares": decs(shares),
        "expected_tokens": decs(tokens),
    })
}

fn slash_request(state: &State, key: OperatorSetKey, request_id: u32) -> Value {
    let Some(r) = state.slash_request(key, request_id) else {
        return Value::Null;
    };
    let (status, slash_id) = match r.status {
        RequestStatus::Pending => ("pending", None),
        RequestStatus::Vetoed => ("vetoed", None),
        RequestStatus::Executed(id) => ("executed", Some(id)),
    };
    json!({
        "status": status,
        "slash_id": slash_id,
        "operator": r.params.operator,
        "strategies": r.params.strategies.iter().map(|s| s.0).collect::<Vec<_>>(),
        "wads_to_slash": decs(&r.params.wads_to_slash),
        "description": r.params.description,
        "requested_at": r.requested_at,
        "executable_at": r.executable_at,
    })
}

fn burnable(state: &State) -> Value {
    let rows = state.burnable_shares().into_iter().map(|((key, slash_id, strategy), e)| {
        json!({
            "service": key.service,
            "set_id": key.id,
            "slash_id": slash_id,
            "strategy": strategy.0,
            "shares": dec(e.shares),
            "clearable_at": e.clearable_at,
        })
    });
    Value::Array(rows.collect())
}

fn strategy_info(state: &State, strategy: StrategyId, block: Block) -> Result<Value, QueryError> {
    let address = state.strategy_address(strategy)?;
    let summary = state.summary(block)?;
    let s = summary
        .strategies
        .iter()
        .find(|s| s.id == strategy)
        .ok_or_else(|| QueryError::from(format!("strategy {strategy} missing from the summary")))?;
    Ok(json!({
        "asset": s.asset.0,
        "address": address,
        "total_shares": dec(s.total_shares),
        "balance": dec(s.balance),
        "exchange_rate": dec(s.exchange_rate),
    }))
}

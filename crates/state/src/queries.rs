//! Read-only views over the state, and the summary the scenario runner prints.

use std::collections::BTreeMap;

use cairn_primitives::{Address, AssetId, B256, Block, OperatorSetKey, StrategyId, U256, serde_dec};
use serde::Serialize;

use crate::{BURN_ADDRESS, State, TxError};

/// One asset in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct AssetSummary {
    /// Asset id.
    pub id: AssetId,
    /// Ticker.
    pub symbol: String,
    /// Total minted.
    #[serde(with = "serde_dec")]
    pub minted: U256,
    /// Held by the burn address.
    #[serde(with = "serde_dec")]
    pub burned: U256,
}

/// One strategy in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct StrategySummary {
    /// Strategy id.
    pub id: StrategyId,
    /// Its asset.
    pub asset: AssetId,
    /// Shares issued.
    #[serde(with = "serde_dec")]
    pub total_shares: U256,
    /// Tokens held.
    #[serde(with = "serde_dec")]
    pub balance: U256,
    /// WAD tokens per share.
    #[serde(with = "serde_dec")]
    pub exchange_rate: U256,
}

/// A staker's position with its withdrawable shares.
#[derive(Debug, Clone, Serialize)]
pub struct PositionSummary {
    /// Staker.
    pub staker: Address,
    /// Strategy.
    pub strategy: StrategyId,
    /// Deposit shares.
    #[serde(with = "serde_dec")]
    pub deposit_shares: U256,
    /// Withdrawable shares now.
    #[serde(with = "serde_dec")]
    pub withdrawable_shares: U256,
    /// Deposit scaling factor.
    #[serde(with = "serde_dec")]
    pub dsf: U256,
    /// Operator, if delegated.
    pub delegated_to: Option<Address>,
}

/// An operator's per-strategy totals.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorStrategySummary {
    /// Strategy.
    pub strategy: StrategyId,
    /// Operator shares.
    #[serde(with = "serde_dec")]
    pub shares: U256,
    /// Max magnitude.
    pub max_magnitude: u64,
    /// Encumbered magnitude (after simulated clearing).
    pub encumbered_magnitude: u64,
}

/// One allocation as of the summary block.
#[derive(Debug, Clone, Serialize)]
pub struct AllocationSummary {
    /// Operator.
    pub operator: Address,
    /// Set.
    pub set: OperatorSetKey,
    /// Strategy.
    pub strategy: StrategyId,
    /// Magnitude in force.
    pub magnitude: u64,
    /// Pending change.
    pub pending: i128,
    /// When it takes effect.
    pub effect_block: Block,
    /// Slashable stake (shares) now.
    #[serde(with = "serde_dec")]
    pub allocated_stake: U256,
}

/// A queued withdrawal with its expected payout.
#[derive(Debug, Clone, Serialize)]
pub struct WithdrawalSummary {
    /// Staker.
    pub staker: Address,
    /// Nonce.
    pub nonce: u64,
    /// Root.
    pub root: B256,
    /// Operator at queue time.
    pub delegated_to: Option<Address>,
    /// Start block.
    pub start_block: Block,
    /// First block it may complete.
    pub completable_at: Block,
    /// Strategies.
    pub strategies: Vec<StrategyId>,
    /// Expected shares per strategy (may still fall while slashable).
    #[serde(with = "serde_dec::vec")]
    pub expected_shares: Vec<U256>,
}

/// The final-state summary of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Last applied block.
    pub block: Block,
    /// keccak256 of the canonical state.
    pub state_hash: B256,
    /// Assets.
    pub assets: Vec<AssetSummary>,
    /// Strategies.
    pub strategies: Vec<StrategySummary>,
    /// Operators and their per-strategy totals.
    pub operators: BTreeMap<Address, Vec<OperatorStrategySummary>>,
    /// Allocations.
    pub allocations: Vec<AllocationSummary>,
    /// Staker positions.
    pub positions: Vec<PositionSummary>,
    /// Queued withdrawals.
    pub withdrawals: Vec<WithdrawalSummary>,
    /// Open slash requests (set, request id, operator).
    pub open_slash_requests: Vec<(OperatorSetKey, u32, Address)>,
    /// Shares set aside by slashes and not yet cleared: (set, slash id, strategy, shares).
    pub burnable: Vec<(OperatorSetKey, u32, StrategyId, String)>,
    /// Pods by owner.
    pub pods: BTreeMap<Address, crate::pods::Pod>,
    /// The latest accepted beacon report: (slot, root).
    pub latest_beacon_report: Option<(u64, B256)>,
}

impl State {
    /// Every asset, in id order.
    pub fn asset_list(&self) -> Vec<(AssetId, &crate::ledger::Asset)> {
        self.assets.iter().map(|(id, a)| (*id, a)).collect()
    }

    /// Every registered service, in address order.
    pub fn service_list(&self) -> Vec<(Address, &crate::services::Service)> {
        self.services.iter().map(|(a, s)| (*a, s)).collect()
    }

    /// Whether `account` is a registered service.
    pub fn is_service(&self, account: Address) -> bool {
        self.services.contains(&account)
    }

    /// The governor.
    pub fn governor(&self) -> Address {
        self.g.governor
    }

    /// Whether `account` holds a protocol-wide role: governor, unpauser, pauser, rewards
    /// updater, protocol fee recipient or beacon oracle member.
    pub fn has_protocol_role(&self, account: Address) -> bool {
        let g = &self.g;
        [g.governor, g.unpauser, g.rewards_updater, g.fee_recipient].contains(&account)
            || self.pausers.contains(&account)
            || self.oracle_members.contains(&account)
    }

    /// Every operator set, in key order.
    pub fn operator_set_list(&self) -> Vec<(OperatorSetKey, &crate::services::OperatorSet)> {
        self.operator_sets.iter().map(|(k, s)| (*k, s)).collect()
    }

    /// Looks up an asset by ticker.
    pub fn asset_by_symbol(&self, symbol: &str) -> Option<AssetId> {
        self.assets.iter().find(|(_, a)| a.symbol == symbol).map(|(id, _)| *id)
    }

    /// The strategy of an asset.
    pub fn strategy_of_asset(&self, asset: AssetId) -> Option<StrategyId> {
        self.strategies.iter().find(|(_, s)| s.asset == asset).map(|(id, _)| *id)
    }

    /// The address holding a strategy's tokens.
    pub fn strategy_address(&self, strategy: StrategyId) -> Result<Address, TxError> {
        Ok(self.strategy(strategy)?.address)
    }

    /// Total shares of a strategy.
    pub fn strategy_total_shares(&self, strategy: StrategyId) -> Result<U256, TxError> {
        Ok(self.strategy(strategy)?.total_shares)
    }

    /// Every strategy id, ascending.
    pub fn strategy_ids(&self) -> Vec<StrategyId> {
        self.strategies.iter().map(|(id, _)| *id).collect()
    }

    /// Every operator address.
    pub fn operator_addresses(&self) -> Vec<Address> {
        self.operators.sorted().into_iter().map(|(a, _)| *a).collect()
    }

    /// Every position as (staker, strategy, deposit shares, dsf).
    pub fn all_positions(&self) -> impl Iterator<Item = (Address, StrategyId, U256, U256)> + '_ {
        self.stakers
            .sorted()
            .into_iter()
            .flat_map(|(a, r)| r.positions.iter().map(move |(s, p)| (*a, *s, p.deposit_shares, p.dsf)))
    }

    /// Every staker record in no particular order (for order-free work such as the rewards
    /// calculation, whose results are keyed and sorted afterwards).
    pub fn stakers_unordered(&self) -> impl Iterator<Item = (&Address, &crate::stakers::Staker)> + '_ {
        self.stakers.iter_unordered()
    }

    /// Number of (staker, strategy) positions.
    pub fn position_count(&self) -> usize {
        self.stakers.values_unordered().map(|r| r.positions.len()).sum()
    }

    /// The summary of the state as of `block`.
    pub fn summary(&self, block: Block) -> Result<Summary, TxError> {
        let assets = self
            .assets
            .iter()
            .map(|(id, a)| AssetSummary {
                id: *id,
                symbol: a.symbol.clone(),
                minted: a.minted,
                burned: self.balance(BURN_ADDRESS, *id),
            })
            .collect();
        let mut strategies = Vec::new();
        for (id, s) in self.strategies.iter() {
            strategies.push(StrategySummary {
                id: *id,
                asset: s.asset,
                total_shares: s.total_shares,
                balance: self.strategy_balance(s),
                exchange_rate: self.exchange_rate(*id)?,
            });
        }
        let mut operators = BTreeMap::new();
        for op in self.operator_addresses() {
            let rows = self
                .strategies
                .iter()
                .map(|(s, _)| OperatorStrategySummary {
                    strategy: *s,
                    shares: self.operator_shares(op, *s),
                    max_magnitude: self.max_magnitude(op, *s),
                    encumbered_magnitude: self.encumbered_magnitude(op, *s, block),
                })
                .collect();
            operators.insert(op, rows);
        }
        let mut allocations = Vec::new();
        for op in self.operator_addresses() {
            for (set, s, a) in self.operator_allocations(op, block) {
                allocations.push(AllocationSummary {
                    operator: op,
                    set,
                    strategy: s,
                    magnitude: a.current,
                    pending: a.pending,
                    effect_block: a.effect_block,
                    allocated_stake: self.allocated_stake(op, set, s, block)?,
                });
            }
        }
        let mut positions = Vec::new();
        for (staker, strategy, deposit_shares, dsf) in self.all_positions() {
            positions.push(PositionSummary {
                staker,
                strategy,
                deposit_shares,
                withdrawable_shares: self.withdrawable_shares(staker, strategy)?,
                dsf,
                delegated_to: self.delegated_to(staker),
            });
        }
        let mut withdrawals = Vec::new();
        for ((staker, nonce), w) in self.withdrawals.iter() {
            withdrawals.push(WithdrawalSummary {
                staker: *staker,
                nonce: *nonce,
                root: w.root(*staker, *nonce)?,
                delegated_to: w.delegated_to,
                start_block: w.start_block,
                completable_at: w.start_block.saturating_add(self.g.params.withdrawal_delay_blocks).saturating_add(1),
                strategies: w.strategies.clone(),
                expected_shares: self.withdrawal_payout(*staker, w, block)?,
            });
        }
        let open_slash_requests = self.open_requests.iter().map(|((op, set, id), _)| (*set, *id, *op)).collect();
        let burnable = self.burnable.iter().map(|((set, id, s), e)| (*set, *id, *s, e.shares.to_string())).collect();
        Ok(Summary {
            block,
            state_hash: self.state_hash()?,
            assets,
            strategies,
            operators,
            allocations,
            positions,
            withdrawals,
            open_slash_requests,
            burnable,
            pods: self.pods.iter().map(|(k, v)| (*k, *v)).collect(),
            latest_beacon_report: self.g.latest_report,
        })
    }
}

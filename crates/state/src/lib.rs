//! The pure Cairn restaking state machine.
//!
//! `State::apply(ctx, tx)` takes a transaction with its sender, block height and time and returns
//! the events it caused, or a typed error and no change at all. Nothing here reads a clock, a file,
//! a socket or a random number. The accounting follows EigenLayer's rules (deposit scaling factors,
//! magnitudes, O(1) slashing, the slashable withdrawal queue) exactly, with Cairn's extensions:
//! veto windows for slashes, incompatible services and timelocked governance.
#![forbid(unsafe_code)]
#![deny(clippy::arithmetic_side_effects)]

/// Passes every table field of `State` to `$m`, in storage order: `persist` numbers the tables
/// by their place here (append, never reorder). The users destructure `State` without `..`, so
/// a table added to `State` but not listed here is a compile error: no table can escape commit,
/// rollback or the store.
macro_rules! with_tables {
    ($m:ident ! ($($args:tt)*)) => {
        $m!(($($args)*)
            assets,
            balances,
            strategies,
            stakers,
            operators,
            operator_shares,
            approvals,
            max_magnitude,
            encumbered,
            cumulative_scaled,
            allocations,
            dealloc_queue,
            services,
            operator_sets,
            registrations,
            allow_list,
            incompatible,
            slash_requests,
            open_requests,
            resolved_requests,
            burnable,
            withdrawals,
            admins,
            pending_admins,
            appointees,
            pausers,
            proposals,
            oracle_members,
            report_votes,
            beacon_records,
            pods,
            pod_accounts,
            pod_validators,
            submissions,
            submission_nonces,
            splits,
            fee_opt_in,
            roots,
            claimed,
            claimers,
            set_risk,
            pause_since,
            vaults,
            vault_books,
            vault_assets,
            vault_balances,
            vault_allowances,
            vault_price_votes,
            vault_places,
            vault_accounts,
            vault_unbondings,
            vault_tickets,
            vault_booked,
            vault_rates,
            vault_attribution,
            vault_locks
        )
    };
}

pub mod allocations;
pub mod delegation;
mod dense;
pub mod error;
pub mod event;
pub mod governance;
pub mod invariants;
pub mod ledger;
pub mod operators;
pub mod oracle;
pub mod pause;
pub mod permissions;
pub mod persist;
pub mod pods;
pub mod prefetch;
pub mod queries;
pub mod rewards;
pub mod services;
pub mod slashing;
pub mod stakers;
mod store;
pub mod strategies;
pub mod tx;
pub mod vault;
pub mod withdrawals;

use std::collections::{BTreeMap, VecDeque};

use cairn_primitives::{
    Address, AssetId, B256, Block, OperatorSetKey, Params, StrategyId, Timestamp, U256, VaultId, keccak256,
};
use serde::{Deserialize, Serialize};

/// A journaled table on a `DenseMap`: for the per-account tables that outgrow the CPU caches.
type DenseTable<K, V> = HashTable<K, V, dense::DenseMap<K, V>>;

pub use error::TxError;
pub use event::Event;
pub use pods::NativeConfig;
pub use store::{Backing, Grouped, HashTable, History, IndexedTable, Table};
pub use tx::{Tx, TxKind};

use store::Journaled;

/// Where a transaction comes from: its (already authenticated) sender, block height and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ctx {
    /// The signer.
    pub sender: Address,
    /// The block height the transaction is included in.
    pub block: Block,
    /// The block's timestamp (unix seconds).
    pub time: Timestamp,
}

/// Events reserved per transaction: most emit eight or fewer, and 8 × 128 bytes stays within the
/// allocator's per-thread cache (glibc serves up to 1,032 bytes from it; more takes the slow path).
const EVENTS_CAPACITY: usize = 8;

/// Events to reserve for `tx`: a slash emits up to seven per strategy and one more, so it
/// reserves them at once rather than growing (and copying) the vector midway. The count is the
/// sender's and comes before any check, so it is capped at `SLASH_EVENTS_STRATEGIES` strategies.
fn events_capacity(tx: &Tx) -> usize {
    match tx {
        Tx::SlashOperator { strategies, .. } => {
            strategies.len().min(SLASH_EVENTS_STRATEGIES).saturating_mul(7).saturating_add(1)
        }
        _ => EVENTS_CAPACITY,
    }
}

/// Most strategies of a slash whose events are reserved up front (a longer slash grows its vector).
const SLASH_EVENTS_STRATEGIES: usize = 8;

/// EigenLayer's burn address: slashed tokens of non-redistributing sets go here, never to leave.
pub const BURN_ADDRESS: Address = Address::new([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0E, 0x16, 0xE4]);

/// One asset of the genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAsset {
    /// Ticker, unique.
    pub symbol: String,
    /// Decimals (informational).
    pub decimals: u8,
    /// Whether the asset gets a strategy at genesis.
    pub strategy: bool,
    /// Initial balances: the only tokens that exist besides the devnet faucet.
    pub balances: BTreeMap<Address, U256>,
    /// Whether this is the chain's native ETH: it gets the beacon-chain strategy (pods) instead
    /// of a token strategy, and beacon-chain withdrawals are paid in it.
    #[serde(default)]
    pub native: bool,
}

/// The initial state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Parameters.
    pub params: Params,
    /// The governance account (proposes and executes after the timelock).
    pub governor: Address,
    /// The single unpauser.
    pub unpauser: Address,
    /// Accounts allowed to pause.
    pub pausers: Vec<Address>,
    /// Assets with their initial balances, numbered in order.
    pub assets: Vec<GenesisAsset>,
    /// The beacon-chain oracle committee (empty: none until governance names one).
    #[serde(default)]
    pub oracle: oracle::OracleCommittee,
}

/// Scalar state, small enough to copy at the start of each transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Globals {
    pub(crate) params: Params,
    pub(crate) governor: Address,
    pub(crate) unpauser: Address,
    pub(crate) paused: u32,
    pub(crate) next_proposal: u64,
    pub(crate) last_block: Block,
    pub(crate) native: Option<NativeConfig>,
    pub(crate) oracle_quorum: u32,
    pub(crate) latest_report: Option<(u64, B256)>,
    pub(crate) rewards_updater: Address,
    pub(crate) fee_recipient: Address,
    pub(crate) rewards_calculation_end: Timestamp,
    /// Bumped by every transaction that can change what a vault's positions are worth (slashes,
    /// allocations, checkpoints): a vault's cached valuation is current only for one epoch.
    pub(crate) value_epoch: u64,
}

/// The whole protocol state. Maps are ordered (`Table`), hashed with an ordered index of each
/// group's keys (`IndexedTable`), or hashed with their order never observable (`HashTable` and
/// `History` iterate, print and serialize sorted), so iteration, output and hashing are
/// deterministic.
#[derive(Debug, Clone, Serialize)]
pub struct State {
    pub(crate) g: Globals,
    /// Whether committed writes are remembered for the store (`persist::State::take_changes`).
    #[serde(skip)]
    pub(crate) track: bool,
    /// Bytes the last `take_changes` produced: the next one reserves about as much.
    #[serde(skip)]
    pub(crate) changes_capacity: usize,
    pub(crate) assets: Table<AssetId, ledger::Asset>,
    pub(crate) balances: DenseTable<(Address, AssetId), U256>,
    pub(crate) strategies: Table<StrategyId, strategies::Strategy>,
    pub(crate) stakers: DenseTable<Address, stakers::Staker>,
    pub(crate) operators: HashTable<Address, operators::Operator>,
    pub(crate) operator_shares: HashTable<(Address, StrategyId), U256>,
    pub(crate) approvals: HashTable<(Address, u64), delegation::Approval>,
    pub(crate) max_magnitude: History<(Address, StrategyId), u64>,
    pub(crate) encumbered: HashTable<(Address, StrategyId), u64>,
    pub(crate) cumulative_scaled: History<(Address, StrategyId), U256>,
    pub(crate) allocations: IndexedTable<(Address, OperatorSetKey, StrategyId), allocations::Allocation>,
    pub(crate) dealloc_queue: HashTable<(Address, StrategyId), VecDeque<OperatorSetKey>>,
    pub(crate) services: Table<Address, services::Service>,
    pub(crate) operator_sets: IndexedTable<OperatorSetKey, services::OperatorSet>,
    pub(crate) registrations: HashTable<(Address, OperatorSetKey), services::Registration>,
    pub(crate) allow_list: Table<(OperatorSetKey, Address), ()>,
    pub(crate) incompatible: Table<(Address, Address), ()>,
    pub(crate) slash_requests: Table<(OperatorSetKey, u32), slashing::SlashRequest>,
    pub(crate) open_requests: Table<(Address, OperatorSetKey, u32), ()>,
    pub(crate) resolved_requests: Table<(Address, StrategyId), Vec<(Block, Block)>>,
    pub(crate) burnable: Table<(OperatorSetKey, u32, StrategyId), slashing::BurnEntry>,
    pub(crate) withdrawals: Table<(Address, u64), withdrawals::Withdrawal>,
    pub(crate) admins: Table<(Address, Address), ()>,
    pub(crate) pending_admins: Table<(Address, Address), ()>,
    pub(crate) appointees: HashTable<(Address, Address, TxKind), ()>,
    pub(crate) pausers: Table<Address, ()>,
    pub(crate) proposals: Table<u64, governance::Proposal>,
    pub(crate) oracle_members: Table<Address, ()>,
    pub(crate) report_votes: Table<(u64, Address), B256>,
    pub(crate) beacon_records: History<u64, oracle::ValidatorState>,
    pub(crate) pods: Table<Address, pods::Pod>,
    pub(crate) pod_accounts: Table<Address, Address>,
    pub(crate) pod_validators: Table<u64, pods::PodValidator>,
    pub(crate) submissions: Table<(Address, u64), rewards::Submission>,
    pub(crate) submission_nonces: Table<Address, u64>,
    pub(crate) splits: Table<(Address, rewards::SplitTarget), rewards::Split>,
    pub(crate) fee_opt_in: Table<Address, ()>,
    pub(crate) roots: Table<u32, rewards::DistributionRoot>,
    pub(crate) claimed: Table<(Address, AssetId), U256>,
    pub(crate) claimers: Table<Address, Address>,
    pub(crate) set_risk: Table<OperatorSetKey, services::SetRiskDeclaration>,
    /// Module → block it was paused (pause.rs): how long a halt has lasted.
    pub(crate) pause_since: Table<pause::Module, Block>,
    /// Vault → its configuration, policy and targets (vault/admin.rs, policy.rs).
    pub(crate) vaults: Table<VaultId, vault::Vault>,
    /// Vault → its hot totals: supply, rates, cached valuation (vault/).
    pub(crate) vault_books: Table<VaultId, vault::Book>,
    /// (vault, asset) → price, net deposits, earmarks and payouts owed (vault/).
    pub(crate) vault_assets: Table<(VaultId, AssetId), vault::AssetBook>,
    /// (vault, holder) → receipt tokens (vault/token.rs).
    pub(crate) vault_balances: HashTable<(VaultId, Address), U256>,
    /// (vault, owner, spender) → allowance (vault/token.rs).
    pub(crate) vault_allowances: Table<(VaultId, Address, Address), U256>,
    /// (vault, member) → its open price report: round and prices (vault/pricing.rs).
    pub(crate) vault_price_votes: Table<(VaultId, Address), (u64, Vec<vault::tx::AssetPrice>)>,
    /// (vault, operator) → the sub-account placed there (vault/places.rs).
    pub(crate) vault_places: Table<(VaultId, Address), vault::Place>,
    /// Account → the vault owning it: its own account and sub-accounts (vault/places.rs).
    pub(crate) vault_accounts: Table<Address, VaultId>,
    /// (vault, sub-account, withdrawal nonce) → an unbonding in flight (vault/places.rs).
    pub(crate) vault_unbondings: Table<(VaultId, Address, u64), vault::Unbonding>,
    /// (vault, ticket id) → a withdrawal ticket (vault/tickets.rs).
    pub(crate) vault_tickets: Table<(VaultId, u64), vault::Ticket>,
    /// (vault, finalization period) → value booked for finalization in it (vault/tickets.rs).
    pub(crate) vault_booked: Table<(VaultId, u64), U256>,
    /// (vault, settlement number) → the settled rate and its attribution (vault/rate.rs).
    pub(crate) vault_rates: Table<(VaultId, u64), vault::RateRecord>,
    /// Vault → what moved its rate since the last settlement (vault/attribution.rs).
    pub(crate) vault_attribution: Table<VaultId, Vec<(vault::Source, vault::Part)>>,
    /// (vault, holder) → tokens minted by recent deposits and the block they unlock (vault/token.rs).
    pub(crate) vault_locks: Table<(VaultId, Address), (U256, Block)>,
}

macro_rules! each_table_of {
    (($self:ident, $method:ident, $args:tt) $($t:ident),*) => {{
        let State { g: _, track: _, changes_capacity: _, $($t),* } = $self;
        $( $t.$method $args; )*
    }};
}

/// Calls `$method` (with the arguments) on every table.
macro_rules! each_table {
    ($self:ident, $method:ident $(, $arg:expr)*) => {
        with_tables!(each_table_of!($self, $method, ($($arg),*)))
    };
}

impl State {
    /// A state with these globals and every table empty.
    pub(crate) fn empty(g: Globals) -> Self {
        State {
            g,
            track: false,
            changes_capacity: 0,
            assets: Table::default(),
            balances: HashTable::default(),
            strategies: Table::default(),
            stakers: HashTable::default(),
            operators: HashTable::default(),
            operator_shares: HashTable::default(),
            approvals: HashTable::default(),
            max_magnitude: History::default(),
            encumbered: HashTable::default(),
            cumulative_scaled: History::default(),
            allocations: IndexedTable::default(),
            dealloc_queue: HashTable::default(),
            services: Table::default(),
            operator_sets: IndexedTable::default(),
            registrations: HashTable::default(),
            allow_list: Table::default(),
            incompatible: Table::default(),
            slash_requests: Table::default(),
            open_requests: Table::default(),
            resolved_requests: Table::default(),
            burnable: Table::default(),
            withdrawals: Table::default(),
            admins: Table::default(),
            pending_admins: Table::default(),
            appointees: HashTable::default(),
            pausers: Table::default(),
            proposals: Table::default(),
            oracle_members: Table::default(),
            report_votes: Table::default(),
            beacon_records: History::default(),
            pods: Table::default(),
            pod_accounts: Table::default(),
            pod_validators: Table::default(),
            submissions: Table::default(),
            submission_nonces: Table::default(),
            splits: Table::default(),
            fee_opt_in: Table::default(),
            roots: Table::default(),
            claimed: Table::default(),
            claimers: Table::default(),
            set_risk: Table::default(),
            pause_since: Table::default(),
            vaults: Table::default(),
            vault_books: Table::default(),
            vault_assets: Table::default(),
            vault_balances: HashTable::default(),
            vault_allowances: Table::default(),
            vault_price_votes: Table::default(),
            vault_places: Table::default(),
            vault_accounts: Table::default(),
            vault_unbondings: Table::default(),
            vault_tickets: Table::default(),
            vault_booked: Table::default(),
            vault_rates: Table::default(),
            vault_attribution: Table::default(),
            vault_locks: Table::default(),
        }
    }

    /// Builds the initial state. Fails if the genesis is inconsistent (duplicate symbols).
    pub fn genesis(genesis: &Genesis) -> Result<Self, TxError> {
        let p = &genesis.params;
        for (name, bips) in
            [("default_operator_split_bips", p.default_operator_split_bips), ("protocol_fee_bips", p.protocol_fee_bips)]
        {
            if bips > rewards::MAX_SPLIT_BIPS {
                return Err(TxError::InvalidGenesis { reason: format!("{name} = {bips} exceeds 10000") });
            }
        }
        if p.rewards_interval_seconds == 0 {
            return Err(TxError::InvalidGenesis { reason: "rewards_interval_seconds is 0".into() });
        }
        let mut s = State::empty(Globals {
            params: genesis.params.clone(),
            governor: genesis.governor,
            unpauser: genesis.unpauser,
            paused: 0,
            next_proposal: 1,
            last_block: 0,
            native: None,
            oracle_quorum: 0,
            latest_report: None,
            rewards_updater: genesis.governor,
            fee_recipient: genesis.governor,
            rewards_calculation_end: 0,
            value_epoch: 0,
        });
        for p in &genesis.pausers {
            s.pausers.insert(*p, ());
        }
        let mut events = Vec::new();
        for a in &genesis.assets {
            let id = s.register_asset(&a.symbol, a.decimals)?;
            for (who, amount) in &a.balances {
                s.mint_tokens(id, *who, *amount)?;
            }
            if a.native {
                s.create_native_strategy(id, &mut events)?;
            } else if a.strategy {
                s.create_strategy(id, &mut events)?;
            }
        }
        if !genesis.oracle.members.is_empty() {
            s.set_oracle_committee(&genesis.oracle.members, genesis.oracle.quorum)?;
        }
        s.commit();
        Ok(s)
    }

    /// Applies one transaction: events on success; on failure a typed error and the state unchanged.
    pub fn apply(&mut self, ctx: &Ctx, tx: &Tx) -> Result<Vec<Event>, TxError> {
        let saved = self.g.clone();
        let mut events = Vec::with_capacity(events_capacity(tx));
        let seen = self.vault_before(ctx, tx);
        match self.dispatch(ctx, tx, &mut events).and_then(|()| self.vault_after(ctx, tx, seen)) {
            Ok(()) => {
                self.g.last_block = ctx.block;
                self.commit();
                Ok(events)
            }
            Err(e) => {
                self.g = saved;
                each_table!(self, rollback);
                Err(e)
            }
        }
    }

    /// Runs one transaction and undoes it, leaving the state as it was either way (a preview
    /// before signing): its events and what `inspect` reads from the state right after it, or its
    /// typed error.
    pub fn simulate<R>(
        &mut self,
        ctx: &Ctx,
        tx: &Tx,
        inspect: impl FnOnce(&State) -> R,
    ) -> Result<(Vec<Event>, R), TxError> {
        let saved = self.g.clone();
        let mut events = Vec::with_capacity(events_capacity(tx));
        let seen = self.vault_before(ctx, tx);
        let result = self.dispatch(ctx, tx, &mut events).and_then(|()| self.vault_after(ctx, tx, seen));
        let out = result.map(|()| {
            self.g.last_block = ctx.block;
            inspect(self)
        });
        self.g = saved;
        each_table!(self, rollback);
        out.map(|r| (events, r))
    }

    fn commit(&mut self) {
        let track = self.track;
        each_table!(self, commit, track);
    }

    fn dispatch(&mut self, ctx: &Ctx, tx: &Tx, ev: &mut Vec<Event>) -> Result<(), TxError> {
        if ctx.block == 0 {
            return Err(TxError::GenesisBlock);
        }
        if ctx.block < self.g.last_block {
            return Err(TxError::BlockWentBackwards { block: ctx.block, last_block: self.g.last_block });
        }
        if self.is_reserved_account(ctx.sender) {
            return Err(TxError::ReservedSender { sender: ctx.sender });
        }
        self.route(ctx, tx, ev)
    }

    /// Runs one transaction after the sender checks: the pause check, then its handler. The
    /// vault sends its sub-accounts' core transactions through here, as a user's would go.
    pub(crate) fn route(&mut self, ctx: &Ctx, tx: &Tx, ev: &mut Vec<Event>) -> Result<(), TxError> {
        if let Some(module) = pause::module_of(tx.kind())
            && self.is_paused(module)
        {
            return Err(TxError::Paused { module, action: tx.kind() });
        }
        use Tx::*;
        match tx {
            Transfer { asset, to, amount } => self.tx_transfer(ctx, *asset, *to, *amount, ev)?,
            Mint { asset, to, amount } => self.tx_mint(ctx, *asset, *to, *amount, ev)?,
            CreateStrategy { asset } => {
                self.create_strategy(*asset, ev)?;
            }
            Deposit { strategy, amount } => self.tx_deposit(ctx, *strategy, *amount, ev)?,
            RegisterAsOperator { delegation_approver, allocation_delay, metadata_uri } => {
                self.tx_register_operator(ctx, *delegation_approver, *allocation_delay, metadata_uri, ev)?
            }
            ModifyOperatorDetails { operator, delegation_approver } => {
                self.tx_modify_operator(ctx, *operator, *delegation_approver, ev)?
            }
            UpdateOperatorMetadata { operator, metadata_uri } => {
                self.tx_update_operator_metadata(ctx, *operator, metadata_uri, ev)?
            }
            SetAllocationDelay { operator, delay } => self.tx_set_allocation_delay(ctx, *operator, *delay, ev)?,
            ApproveDelegation { staker, operator, salt, expiry } => {
                self.tx_approve_delegation(ctx, *staker, *operator, *salt, *expiry, ev)?
            }
            DelegateTo { operator, approval_salt } => {
                self.tx_delegate(ctx, ctx.sender, *operator, *approval_salt, ev)?
            }
            Undelegate { staker } => {
                self.tx_undelegate(ctx, *staker, ev)?;
            }
            Redelegate { operator, approval_salt } => self.tx_redelegate(ctx, *operator, *approval_salt, ev)?,
            RegisterService { metadata_uri } => self.tx_register_service(ctx, metadata_uri, ev)?,
            CreateOperatorSet { service, set_id, strategies, slasher, redistribution_recipient, consent, veto } => {
                let p = services::NewSet {
                    strategies,
                    slasher: *slasher,
                    recipient: *redistribution_recipient,
                    consent: *consent,
                    veto: *veto,
                };
                self.tx_create_operator_set(ctx, OperatorSetKey { service: *service, id: *set_id }, p, ev)?
            }
            AddStrategiesToOperatorSet { service, set_id, strategies } => {
                self.tx_add_strategies(ctx, OperatorSetKey { service: *service, id: *set_id }, strategies, ev)?
            }
            RemoveStrategiesFromOperatorSet { service, set_id, strategies } => {
                self.tx_remove_strategies(ctx, OperatorSetKey { service: *service, id: *set_id }, strategies, ev)?
            }
            UpdateSlasher { service, set_id, slasher } => {
                self.tx_update_slasher(ctx, OperatorSetKey { service: *service, id: *set_id }, *slasher, ev)?
            }
            SetRegistrationAllowed { service, set_id, operator, allowed } => {
                self.tx_set_allowed(ctx, OperatorSetKey { service: *service, id: *set_id }, *operator, *allowed, ev)?
            }
            DeclareSetRisk { service, set_id, prize, threshold_num, threshold_den } => {
                let d = services::SetRiskDeclaration {
                    prize: *prize,
                    threshold_num: *threshold_num,
                    threshold_den: *threshold_den,
                };
                self.tx_declare_set_risk(ctx, OperatorSetKey { service: *service, id: *set_id }, d, ev)?
            }
            SetIncompatibleService { service, other, incompatible } => {
                self.tx_set_incompatible(ctx, *service, *other, *incompatible, ev)?
            }
            RegisterForOperatorSets { operator, service, set_ids } => {
                self.tx_register_for_sets(ctx, *operator, *service, set_ids, ev)?
            }
            DeregisterFromOperatorSets { operator, service, set_ids } => {
                self.tx_deregister_from_sets(ctx, *operator, *service, set_ids, ev)?
            }
            ModifyAllocations { operator, allocations } => {
                self.tx_modify_allocations(ctx, *operator, allocations, ev)?
            }
            ClearDeallocationQueue { operator, strategies, num_to_clear } => {
                self.tx_clear_deallocation_queue(ctx, *operator, strategies, num_to_clear, ev)?
            }
            SlashOperator { service, set_id, operator, strategies, wads_to_slash, description } => {
                let req = slashing::SlashParams {
                    operator: *operator,
                    strategies: strategies.clone(),
                    wads_to_slash: wads_to_slash.clone(),
                    description: description.clone(),
                };
                self.tx_slash(ctx, OperatorSetKey { service: *service, id: *set_id }, req, ev)?
            }
            VetoSlash { service, set_id, request_id } => {
                self.tx_veto_slash(ctx, OperatorSetKey { service: *service, id: *set_id }, *request_id, ev)?
            }
            ExecuteSlash { service, set_id, request_id } => {
                self.tx_execute_slash(ctx, OperatorSetKey { service: *service, id: *set_id }, *request_id, ev)?
            }
            ClearBurnOrRedistributableShares { service, set_id, slash_id, strategy } => self.tx_clear_burnable(
                ctx,
                OperatorSetKey { service: *service, id: *set_id },
                *slash_id,
                *strategy,
                ev,
            )?,
            QueueWithdrawals { withdrawals } => {
                self.tx_queue_withdrawals(ctx, withdrawals, ev)?;
            }
            CompleteWithdrawal { nonce, receive_as_tokens } => {
                self.tx_complete_withdrawal(ctx, *nonce, *receive_as_tokens, ev)?
            }
            AddPendingAdmin { account, admin } => self.tx_add_pending_admin(ctx, *account, *admin, ev)?,
            RemovePendingAdmin { account, admin } => self.tx_remove_pending_admin(ctx, *account, *admin, ev)?,
            AcceptAdmin { account } => self.tx_accept_admin(ctx, *account, ev)?,
            RemoveAdmin { account, admin } => self.tx_remove_admin(ctx, *account, *admin, ev)?,
            SetAppointee { account, appointee, action } => {
                self.tx_set_appointee(ctx, *account, *appointee, *action, ev)?
            }
            RemoveAppointee { account, appointee, action } => {
                self.tx_remove_appointee(ctx, *account, *appointee, *action, ev)?
            }
            Pause { modules } => self.tx_pause(ctx, modules, ev)?,
            Unpause { modules } => self.tx_unpause(ctx, modules, ev)?,
            Propose { action } => self.tx_propose(ctx, action, ev)?,
            ExecuteProposal { id } => self.tx_execute_proposal(ctx, *id, ev)?,
            CancelProposal { id } => self.tx_cancel_proposal(ctx, *id, ev)?,
            PostBeaconReport { slot, validators, withdrawals } => {
                let report = oracle::BeaconReport {
                    slot: *slot,
                    validators: validators.clone(),
                    withdrawals: withdrawals.clone(),
                };
                self.tx_post_beacon_report(ctx, &report, ev)?
            }
            CreatePod {} => self.tx_create_pod(ctx, ev)?,
            VerifyWithdrawalCredentials { slot, validators } => {
                self.tx_verify_credentials(ctx, *slot, validators, ev)?
            }
            StartCheckpoint { revert_if_no_balance } => self.tx_start_checkpoint(ctx, *revert_if_no_balance, ev)?,
            VerifyCheckpointProofs { pod_owner, validators } => {
                self.tx_verify_checkpoint_proofs(*pod_owner, validators, ev)?
            }
            VerifyStaleBalance { pod_owner, validator } => self.tx_verify_stale_balance(*pod_owner, *validator, ev)?,
            CreateRewardsSubmission { service, submissions } => {
                self.tx_create_submissions(ctx, rewards::SubmissionKind::ServiceWide, *service, None, submissions, ev)?
            }
            CreateOperatorDirectedRewardsSubmission { service, submissions } => {
                let kind = rewards::SubmissionKind::OperatorDirected;
                self.tx_create_submissions(ctx, kind, *service, None, submissions, ev)?
            }
            CreateOperatorDirectedOperatorSetRewardsSubmission { service, set_id, submissions } => {
                let kind = rewards::SubmissionKind::OperatorDirectedSet;
                self.tx_create_submissions(ctx, kind, *service, Some(*set_id), submissions, ev)?
            }
            CreateUniqueStakeRewardsSubmission { service, set_id, submissions } => {
                let kind = rewards::SubmissionKind::UniqueStake;
                self.tx_create_submissions(ctx, kind, *service, Some(*set_id), submissions, ev)?
            }
            CreateTotalStakeRewardsSubmission { service, set_id, submissions } => {
                let kind = rewards::SubmissionKind::TotalStake;
                self.tx_create_submissions(ctx, kind, *service, Some(*set_id), submissions, ev)?
            }
            SetOperatorServiceSplit { operator, service, split_bips } => {
                self.tx_set_split(ctx, *operator, rewards::SplitTarget::Service(*service), *split_bips, ev)?
            }
            SetOperatorSetSplit { operator, service, set_id, split_bips } => {
                let target = rewards::SplitTarget::Set(OperatorSetKey { service: *service, id: *set_id });
                self.tx_set_split(ctx, *operator, target, *split_bips, ev)?
            }
            SetProtocolFeeOptIn { submitter, opt_in } => self.tx_set_fee_opt_in(ctx, *submitter, *opt_in, ev)?,
            SubmitRoot { root, calculation_end } => self.tx_submit_root(ctx, *root, *calculation_end, ev)?,
            DisableRoot { index } => self.tx_disable_root(ctx, *index, ev)?,
            SetClaimerFor { earner, claimer } => self.tx_set_claimer(ctx, *earner, *claimer, ev)?,
            ProcessClaim { claim, recipient } => {
                self.tx_process_claims(ctx, std::slice::from_ref(claim), *recipient, ev)?
            }
            ProcessClaims { claims, recipient } => self.tx_process_claims(ctx, claims, *recipient, ev)?,
            VaultDeposit(t) => self.tx_vault_deposit(ctx, t, ev)?,
            VaultRedeem(t) => self.tx_vault_redeem(ctx, t, ev)?,
            VaultTransfer(t) => self.tx_vault_transfer(ctx, t, ev)?,
            VaultApprove(t) => self.tx_vault_approve(ctx, t, ev)?,
            VaultTransferFrom(t) => self.tx_vault_transfer_from(ctx, t, ev)?,
            VaultReportPrices(t) => self.tx_vault_report_prices(ctx, t, ev)?,
            VaultUpdateRate(t) => self.tx_vault_update_rate(ctx, t.vault, ev)?,
            VaultAcceptRate(t) => self.tx_vault_accept_rate(ctx, t.vault, ev)?,
            VaultRejectRate(t) => self.tx_vault_reject_rate(ctx, t.vault, ev)?,
            VaultSetTargets(t) => self.tx_vault_set_targets(ctx, t, ev)?,
            VaultRebalance(t) => self.tx_vault_rebalance(ctx, t.vault, ev)?,
            VaultRequestWithdrawal(t) => self.tx_vault_request(ctx, t, ev)?,
            VaultTransferTicket(t) => self.tx_vault_transfer_ticket(ctx, t, ev)?,
            VaultFinalizeTickets(t) => self.tx_vault_finalize(ctx, t, ev)?,
            VaultClaimTicket(t) => self.tx_vault_claim_ticket(ctx, t, ev)?,
            VaultEmergencyUnwind(t) => self.tx_vault_emergency_unwind(ctx, t.vault, ev)?,
            VaultEmergencyExit(t) => self.tx_vault_emergency_exit(ctx, t, ev)?,
            VaultClaimRewards(t) => self.tx_vault_claim_rewards(ctx, t, ev)?,
            VaultVerifyValidators(t) => self.tx_vault_verify_validators(ctx, t, ev)?,
            VaultStartCheckpoint(t) => self.tx_vault_start_checkpoint(ctx, t, ev)?,
            VaultSetAssetPaused(t) => self.tx_vault_set_asset_paused(ctx, t, ev)?,
        }
        Ok(())
    }

    /// The parameters in force.
    pub fn params(&self) -> &Params {
        &self.g.params
    }

    /// The highest block a transaction has been applied at.
    pub fn last_block(&self) -> Block {
        self.g.last_block
    }

    /// Canonical bytes of the whole state (`cairn_primitives::canonical` over ordered maps):
    /// equal states, equal bytes.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, cairn_primitives::canonical::EncodeError> {
        cairn_primitives::canonical::encode("state", self)
    }

    /// keccak256 of the canonical bytes: identical across runs and machines for the same history.
    pub fn state_hash(&self) -> Result<B256, cairn_primitives::canonical::EncodeError> {
        self.canonical_bytes().map(keccak256)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests;

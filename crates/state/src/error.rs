//! The transaction error: one enum per module, each variant carrying the offending values.

use cairn_primitives::{Address, Block, MathError};
use serde::Serialize;

use crate::{
    allocations::AllocationError, delegation::DelegationError, governance::GovernanceError, ledger::LedgerError,
    operators::OperatorError, oracle::OracleError, pause::Module, permissions::PermissionError, pods::PodError,
    rewards::RewardsError, services::ServiceError, slashing::SlashingError, strategies::StrategyError, tx::TxKind,
    withdrawals::WithdrawalError,
};

/// Why a transaction was refused. The state is unchanged whenever this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum TxError {
    /// The block height is lower than one already applied.
    #[error("block {block} is before the last applied block {last_block}")]
    BlockWentBackwards {
        /// Given block.
        block: Block,
        /// Last applied block.
        last_block: Block,
    },
    /// The genesis is inconsistent (e.g. a split or fee above 100%).
    #[error("invalid genesis: {reason}")]
    InvalidGenesis {
        /// What is wrong.
        reason: String,
    },
    /// Block 0 is the genesis; transactions start at block 1.
    #[error("transactions cannot be applied at the genesis block 0")]
    GenesisBlock,
    /// The sender is a protocol-owned account (a strategy vault, the burn address or zero).
    #[error("sender {sender} is a reserved protocol account")]
    ReservedSender {
        /// The sender.
        sender: Address,
    },
    /// The module this transaction belongs to is paused.
    #[error("module {module:?} is paused; {action:?} refused")]
    Paused {
        /// The paused module.
        module: Module,
        /// The refused action.
        action: TxKind,
    },
    /// Token ledger.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Strategies and deposits.
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    /// Operators.
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// Delegation.
    #[error(transparent)]
    Delegation(#[from] DelegationError),
    /// Services, operator sets and registration.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Allocations.
    #[error(transparent)]
    Allocation(#[from] AllocationError),
    /// Slashing.
    #[error(transparent)]
    Slashing(#[from] SlashingError),
    /// Withdrawal queue.
    #[error(transparent)]
    Withdrawal(#[from] WithdrawalError),
    /// Permissions and pausing roles.
    #[error(transparent)]
    Permission(#[from] PermissionError),
    /// Governance.
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    /// The beacon-chain oracle.
    #[error(transparent)]
    Oracle(#[from] OracleError),
    /// Pods and native restaking.
    #[error(transparent)]
    Pod(#[from] PodError),
    /// Rewards submissions, splits, roots and claims.
    #[error(transparent)]
    Rewards(#[from] RewardsError),
    /// The liquid restaking vault (boxed: its variants carry several amounts).
    #[error(transparent)]
    Vault(Box<crate::vault::VaultError>),
    /// Checked arithmetic failed (an overflow is an error, never a wrap).
    #[error(transparent)]
    Math(#[from] MathError),
    /// A value that feeds a hash could not be encoded canonically.
    #[error(transparent)]
    Encoding(#[from] cairn_primitives::canonical::EncodeError),
}

impl TxError {
    /// The error's name as scenarios assert it: the innermost variant (e.g. `NewSharesZero`).
    pub fn name(&self) -> &'static str {
        match self {
            TxError::Ledger(e) => e.into(),
            TxError::Strategy(e) => e.into(),
            TxError::Operator(e) => e.into(),
            TxError::Delegation(e) => e.into(),
            TxError::Service(e) => e.into(),
            TxError::Allocation(e) => e.into(),
            TxError::Slashing(e) => e.into(),
            TxError::Withdrawal(e) => e.into(),
            TxError::Permission(e) => e.into(),
            TxError::Governance(e) => e.into(),
            TxError::Oracle(e) => e.into(),
            TxError::Pod(e) => e.into(),
            TxError::Rewards(e) => e.into(),
            TxError::Vault(e) => e.as_ref().into(),
            TxError::Math(e) => match e {
                MathError::Overflow { .. } => "Overflow",
                MathError::Underflow { .. } => "Underflow",
                MathError::DivisionByZero { .. } => "DivisionByZero",
            },
            other => other.into(),
        }
    }

    /// The module that refused the transaction.
    pub fn module(&self) -> &'static str {
        self.into()
    }
}

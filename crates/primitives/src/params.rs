//! The protocol parameter set and its two profiles.

use serde::{Deserialize, Serialize};

use crate::Block;

/// A named parameter profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// EigenLayer mainnet values (reference section 7.4).
    Mainnet,
    /// Short delays for local use: tens of blocks, a faucet.
    Devnet,
}

/// Every tunable number of the state machine. Changed after genesis only through governance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Blocks a queued withdrawal stays slashable (`MIN_WITHDRAWAL_DELAY_BLOCKS`).
    pub withdrawal_delay_blocks: Block,
    /// Blocks a slashable deallocation (and a deregistration) stays slashable (`DEALLOCATION_DELAY`).
    pub deallocation_delay_blocks: Block,
    /// Delay before a changed allocation delay takes effect (`ALLOCATION_CONFIGURATION_DELAY`).
    pub allocation_configuration_delay_blocks: Block,
    /// Delay before a changed slasher takes effect (`SLASHER_CONFIGURATION_DELAY`).
    pub slasher_configuration_delay_blocks: Block,
    /// Blocks after a slash before its burned or redistributed shares can be cleared (ELIP-016).
    pub slash_clearing_delay_blocks: Block,
    /// Longest veto window an operator set may configure for its slash requests.
    pub max_veto_window_blocks: Block,
    /// Blocks between a governance proposal and its earliest execution.
    pub governance_timelock_blocks: Block,
    /// Most distinct strategies one staker may hold (`MAX_STAKER_STRATEGY_LIST_LENGTH`).
    pub max_staker_strategies: u32,
    /// Whether governance may mint tokens after genesis (devnet faucet).
    pub faucet_enabled: bool,
    /// Nominal seconds per block (informational: used to show delays as durations).
    pub block_time_seconds: u64,
}

impl Params {
    /// The parameters of a profile.
    pub fn profile(p: Profile) -> Self {
        match p {
            Profile::Mainnet => Self {
                withdrawal_delay_blocks: 100_800,
                deallocation_delay_blocks: 100_800,
                allocation_configuration_delay_blocks: 126_000,
                slasher_configuration_delay_blocks: 126_000,
                slash_clearing_delay_blocks: 50_400,
                max_veto_window_blocks: 50_400,
                governance_timelock_blocks: 72_000,
                max_staker_strategies: 32,
                faucet_enabled: false,
                block_time_seconds: 12,
            },
            Profile::Devnet => Self {
                withdrawal_delay_blocks: 50,
                deallocation_delay_blocks: 50,
                allocation_configuration_delay_blocks: 75,
                slasher_configuration_delay_blocks: 75,
                slash_clearing_delay_blocks: 10,
                max_veto_window_blocks: 40,
                governance_timelock_blocks: 10,
                max_staker_strategies: 32,
                faucet_enabled: true,
                block_time_seconds: 2,
            },
        }
    }
}

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
    /// Rewards: submissions start and last whole multiples of this (`CALCULATION_INTERVAL_SECONDS`).
    pub rewards_interval_seconds: u64,
    /// Rewards: longest submission (`MAX_REWARDS_DURATION`).
    pub max_rewards_duration_seconds: u64,
    /// Rewards: how far back a submission may start (`MAX_RETROACTIVE_LENGTH`).
    pub max_retroactive_length_seconds: u64,
    /// Rewards: how far ahead a submission may start (`MAX_FUTURE_LENGTH`).
    pub max_future_length_seconds: u64,
    /// Rewards: no submission starts before this time (`GENESIS_REWARDS_TIMESTAMP`).
    pub genesis_rewards_timestamp: u64,
    /// Rewards: delay before a posted root becomes claimable and before a split change applies.
    pub rewards_activation_delay_seconds: u64,
    /// Rewards: operator commission when none is set (basis points, `defaultOperatorSplitBips`).
    pub default_operator_split_bips: u16,
    /// Rewards: the opt-in protocol fee (basis points, `PROTOCOL_FEE_BIPS`).
    pub protocol_fee_bips: u16,
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
                rewards_interval_seconds: 86_400,
                max_rewards_duration_seconds: 63_072_000,
                max_retroactive_length_seconds: 14_515_200,
                max_future_length_seconds: 2_592_000,
                genesis_rewards_timestamp: 1_710_979_200,
                rewards_activation_delay_seconds: 604_800,
                default_operator_split_bips: 1_000,
                protocol_fee_bips: 2_000,
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
                rewards_interval_seconds: 86_400,
                max_rewards_duration_seconds: 63_072_000,
                max_retroactive_length_seconds: 14_515_200,
                max_future_length_seconds: 2_592_000,
                genesis_rewards_timestamp: 0,
                rewards_activation_delay_seconds: 7_200,
                default_operator_split_bips: 1_000,
                protocol_fee_bips: 2_000,
            },
        }
    }
}

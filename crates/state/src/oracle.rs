//! The beacon-chain oracle: a committee, named by governance, reports validator records and
//! beacon-chain withdrawals for a slot. A report takes effect when a quorum of members has posted
//! the same report (same root) for that slot; it stands in for EigenLayer's EIP-4788 proofs.
//!
//! A report lists only validators whose record changed since they were last reported: the record
//! of a validator "as of slot X" is its latest reported record at or before X. Withdrawals
//! (EIP-4895) are paid to their execution-layer address when the report is accepted: this is how
//! exited and skimmed ETH reaches a pod.

use cairn_primitives::{Address, B256, U256, math};
use serde::{Deserialize, Serialize};

use crate::{Ctx, Event, State, TxError, pods::PodError};

/// One validator as the beacon chain shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorRecord {
    /// The validator's index on the beacon chain.
    pub index: u64,
    /// Its 32-byte withdrawal credentials (0x01/0x02 prefix, 11 zero bytes, the address).
    pub withdrawal_credentials: B256,
    /// Effective balance in gwei.
    pub effective_balance_gwei: u64,
    /// Current balance in gwei.
    pub balance_gwei: u64,
    /// Whether the beacon chain has slashed it.
    #[serde(default)]
    pub slashed: bool,
    /// Whether it has exited (its exit epoch is set).
    #[serde(default)]
    pub exited: bool,
    /// Whether its activation epoch is set (default true); credentials of a validator still
    /// waiting to activate cannot be verified.
    #[serde(default = "yes")]
    pub activation_epoch_set: bool,
}

fn yes() -> bool {
    true
}

/// A beacon-chain withdrawal (EIP-4895): gwei paid to an execution-layer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconWithdrawal {
    /// The validator the ETH comes from.
    pub validator_index: u64,
    /// The recipient (a pod, for restaked validators).
    pub address: Address,
    /// Amount in gwei.
    pub amount_gwei: u64,
}

/// What the committee reports for one slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeaconReport {
    /// The beacon-chain slot the records describe.
    pub slot: u64,
    /// Changed validator records, strictly ascending by index.
    #[serde(default)]
    pub validators: Vec<ValidatorRecord>,
    /// Withdrawals processed since the previous report.
    #[serde(default)]
    pub withdrawals: Vec<BeaconWithdrawal>,
}

impl BeaconReport {
    /// keccak256 of the report's canonical bytes: members vote for this.
    pub fn root(&self) -> Result<B256, cairn_primitives::canonical::EncodeError> {
        cairn_primitives::canonical::hash("beacon report", self)
    }
}

/// A validator's record without its index, as stored per slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorState {
    /// Withdrawal credentials.
    pub withdrawal_credentials: B256,
    /// Effective balance in gwei.
    pub effective_balance_gwei: u64,
    /// Current balance in gwei.
    pub balance_gwei: u64,
    /// Slashed on the beacon chain.
    pub slashed: bool,
    /// Exited.
    pub exited: bool,
    /// Activation epoch set.
    pub activation_epoch_set: bool,
}

impl From<&ValidatorRecord> for ValidatorState {
    fn from(r: &ValidatorRecord) -> Self {
        Self {
            withdrawal_credentials: r.withdrawal_credentials,
            effective_balance_gwei: r.effective_balance_gwei,
            balance_gwei: r.balance_gwei,
            slashed: r.slashed,
            exited: r.exited,
            activation_epoch_set: r.activation_epoch_set,
        }
    }
}

/// The committee at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OracleCommittee {
    /// Members.
    pub members: Vec<Address>,
    /// Matching reports needed for one to take effect.
    pub quorum: u32,
}

/// Why an oracle transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum OracleError {
    /// The sender is not on the committee.
    #[error("{sender} is not a member of the beacon oracle committee")]
    NotOracleMember {
        /// The sender.
        sender: Address,
    },
    /// The report's slot is not after the latest accepted one.
    #[error("report for slot {slot} is not newer than the accepted slot {latest}")]
    StaleReport {
        /// The report's slot.
        slot: u64,
        /// The latest accepted slot.
        latest: u64,
    },
    /// The member already reported for this slot.
    #[error("{member} already reported {root} for slot {slot}")]
    AlreadyReported {
        /// The member.
        member: Address,
        /// The slot.
        slot: u64,
        /// What it reported.
        root: B256,
    },
    /// Validator records are not strictly ascending by index.
    #[error("validator {index} at position {position} is not after the previous record")]
    ReportNotSorted {
        /// Position in the list.
        position: usize,
        /// The index found there.
        index: u64,
    },
    /// A withdrawal of zero gwei or to the zero address.
    #[error("withdrawal of validator {validator_index} is empty or goes to the zero address")]
    InvalidWithdrawal {
        /// The validator.
        validator_index: u64,
    },
    /// The quorum does not fit the committee (it must be a strict majority).
    #[error("quorum {quorum} is not a strict majority of {members} members")]
    InvalidQuorum {
        /// The quorum.
        quorum: u32,
        /// The committee size.
        members: usize,
    },
    /// No report has been accepted yet.
    #[error("no beacon report has been accepted yet")]
    NoAcceptedReport,
    /// A proof names a slot whose report has not reached quorum.
    #[error("report for slot {slot} is not accepted: {votes} of {quorum} votes for the best root")]
    ReportNotAccepted {
        /// The slot.
        slot: u64,
        /// Votes for the most supported root at that slot.
        votes: u32,
        /// The quorum.
        quorum: u32,
    },
    /// A proof names an accepted report that is no longer the latest.
    #[error("slot {slot} is not the latest accepted report (slot {latest})")]
    NotLatestReport {
        /// The slot given.
        slot: u64,
        /// The latest accepted.
        latest: u64,
    },
}

impl State {
    /// The latest accepted report: (slot, root).
    pub fn latest_beacon_report(&self) -> Option<(u64, B256)> {
        self.g.latest_report
    }

    /// The committee: members (ascending) and quorum.
    pub fn oracle_committee(&self) -> (Vec<Address>, u32) {
        (self.oracle_members.iter().map(|(a, _)| *a).collect(), self.g.oracle_quorum)
    }

    /// A validator's record as of `slot` (its latest report at or before it).
    pub fn validator_record(&self, index: u64, slot: u64) -> Option<ValidatorState> {
        self.beacon_records.at(&index, slot)
    }

    /// Replaces the committee; pending votes are dropped (they were cast under the old one).
    pub(crate) fn set_oracle_committee(&mut self, members: &[Address], quorum: u32) -> Result<(), TxError> {
        self.validate_committee(members, quorum)?;
        let old: Vec<Address> = self.oracle_members.iter().map(|(a, _)| *a).collect();
        for a in old {
            self.oracle_members.remove(&a);
        }
        for a in members {
            self.oracle_members.insert(*a, ());
        }
        self.g.oracle_quorum = quorum;
        let votes: Vec<_> = self.report_votes.iter().map(|(k, _)| *k).collect();
        for k in votes {
            self.report_votes.remove(&k);
        }
        Ok(())
    }

    /// Refuses a committee whose quorum is zero, larger than it, or not a strict majority (two
    /// conflicting reports for one slot could otherwise both reach quorum).
    pub(crate) fn validate_committee(&self, members: &[Address], quorum: u32) -> Result<(), TxError> {
        let mut sorted = members.to_vec();
        sorted.sort();
        sorted.dedup();
        let q = usize::try_from(quorum).unwrap_or(usize::MAX);
        if quorum == 0 || q > sorted.len() || q.saturating_mul(2) <= sorted.len() {
            return Err(OracleError::InvalidQuorum { quorum, members: sorted.len() }.into());
        }
        Ok(())
    }

    /// Votes for the most supported root at `slot`.
    fn best_votes(&self, slot: u64) -> u32 {
        let mut counts: std::collections::BTreeMap<B256, u32> = std::collections::BTreeMap::new();
        for (_, root) in self.report_votes.range((slot, Address::ZERO)..=(slot, Address::repeat_byte(0xff))) {
            let c = counts.entry(*root).or_default();
            *c = c.saturating_add(1);
        }
        counts.into_values().max().unwrap_or(0)
    }

    /// The latest accepted slot, checking that `slot` is it (proofs name the report they use).
    pub(crate) fn require_latest_report(&self, slot: u64) -> Result<(), TxError> {
        match self.g.latest_report {
            Some((latest, _)) if latest == slot => Ok(()),
            Some((latest, _)) if slot < latest => Err(OracleError::NotLatestReport { slot, latest }.into()),
            _ => {
                Err(OracleError::ReportNotAccepted { slot, votes: self.best_votes(slot), quorum: self.g.oracle_quorum }
                    .into())
            }
        }
    }

    fn validate_report(&self, r: &BeaconReport) -> Result<(), TxError> {
        if let Some((latest, _)) = self.g.latest_report
            && r.slot <= latest
        {
            return Err(OracleError::StaleReport { slot: r.slot, latest }.into());
        }
        for (position, pair) in r.validators.windows(2).enumerate() {
            if pair[1].index <= pair[0].index {
                return Err(OracleError::ReportNotSorted {
                    position: position.saturating_add(1),
                    index: pair[1].index,
                }
                .into());
            }
        }
        if let Some(w) = r.withdrawals.iter().find(|w| w.amount_gwei == 0 || w.address == Address::ZERO) {
            return Err(OracleError::InvalidWithdrawal { validator_index: w.validator_index }.into());
        }
        Ok(())
    }

    pub(crate) fn tx_post_beacon_report(
        &mut self,
        ctx: &Ctx,
        report: &BeaconReport,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let native = self.native()?;
        if !self.oracle_members.contains(&ctx.sender) {
            return Err(OracleError::NotOracleMember { sender: ctx.sender }.into());
        }
        self.validate_report(report)?;
        let slot = report.slot;
        if let Some(root) = self.report_votes.get(&(slot, ctx.sender)) {
            return Err(OracleError::AlreadyReported { member: ctx.sender, slot, root: *root }.into());
        }
        let root = report.root()?;
        self.report_votes.insert((slot, ctx.sender), root);
        let votes = self
            .report_votes
            .range((slot, Address::ZERO)..=(slot, Address::repeat_byte(0xff)))
            .filter(|(_, r)| **r == root)
            .count();
        let votes = u32::try_from(votes).unwrap_or(u32::MAX);
        let quorum = self.g.oracle_quorum;
        ev.push(Event::BeaconReportVoted { member: ctx.sender, slot, root, votes, quorum });
        if votes < quorum {
            return Ok(());
        }
        self.g.latest_report = Some((slot, root));
        for v in &report.validators {
            self.beacon_records.push(v.index, slot, ValidatorState::from(v));
        }
        for w in &report.withdrawals {
            let amount = math::mul(U256::from(w.amount_gwei), GWEI)?;
            self.mint_tokens(native.asset, w.address, amount)?;
            ev.push(Event::BeaconWithdrawalPaid {
                validator_index: w.validator_index,
                address: w.address,
                amount_gwei: w.amount_gwei,
            });
        }
        // Votes at or below the accepted slot can never count again.
        let dead: Vec<_> = self.report_votes.range(..=(slot, Address::repeat_byte(0xff))).map(|(k, _)| *k).collect();
        for k in dead {
            self.report_votes.remove(&k);
        }
        ev.push(Event::BeaconReportAccepted {
            slot,
            root,
            validators: report.validators.len(),
            withdrawals: report.withdrawals.len(),
        });
        Ok(())
    }

    /// The native asset and its beacon strategy, or an error if the genesis has none.
    pub(crate) fn native(&self) -> Result<crate::NativeConfig, TxError> {
        self.g.native.ok_or_else(|| PodError::NativeRestakingDisabled.into())
    }
}

/// One gwei in wei.
pub const GWEI: U256 = U256::from_limbs([1_000_000_000, 0, 0, 0]);

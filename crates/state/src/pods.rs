//! Native restaking: pods, withdrawal-credential verification, checkpoints and the beacon-chain
//! slashing factor (EigenLayer's EigenPods, reference sections 1.4, 2.10 and 4.6), with the
//! beacon-chain oracle's accepted reports in place of EIP-4788 proofs.
//!
//! Beacon-chain ETH is one strategy (the native asset's beacon strategy) where one share is one
//! wei. A pod owner's slashing factor in it is `m · l`: the operator's magnitude times the pod's
//! beacon-chain slashing factor `l`, which only ever falls, when a checkpoint finds less ETH
//! than was restaked. Losses never touch deposit shares.

use cairn_primitives::{Address, B256, StrategyId, U256, math, named_address};
use serde::{Deserialize, Serialize};

use crate::{
    Ctx, Event, State, TxError,
    oracle::{GWEI, OracleError},
    stakers::WAD_U64,
};

/// The native asset and its beacon strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeConfig {
    /// The native asset (ETH).
    pub asset: cairn_primitives::AssetId,
    /// The beacon-chain strategy.
    pub strategy: StrategyId,
}

/// A validator's standing in its pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorStatus {
    /// Verified; its balance is restaked and proven at each checkpoint.
    Active,
    /// A checkpoint proved a zero balance: it has left the beacon chain.
    Withdrawn,
}

/// A validator verified into a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodValidator {
    /// The pod's owner.
    pub owner: Address,
    /// Active or withdrawn.
    pub status: ValidatorStatus,
    /// Balance (gwei) last credited as shares.
    pub restaked_balance_gwei: u64,
    /// Number of the last checkpoint that counted it.
    pub last_checkpointed: u64,
}

/// An open checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Its number (the pod's completed checkpoints + 1).
    pub number: u64,
    /// The report slot its proofs are read from.
    pub slot: u64,
    /// ETH in the pod (gwei) not yet credited when it started.
    pub pod_balance_gwei: u64,
    /// Active validators still to prove.
    pub proofs_remaining: u32,
    /// Σ previous balances of the validators counted (gwei).
    pub prev_beacon_balance_gwei: u64,
    /// Σ balance changes proven so far (gwei).
    pub balance_deltas_gwei: i128,
}

/// A pod: the withdrawal address of its owner's validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    /// Its address (withdrawal credentials point here).
    pub address: Address,
    /// Validators verified and not withdrawn.
    pub active_validators: u32,
    /// ETH in the pod (gwei) already credited as shares: what the withdrawal queue can pay out.
    pub restaked_gwei: u64,
    /// Checkpoints completed.
    pub checkpoints: u64,
    /// Report slot of the last completed checkpoint.
    pub last_checkpoint_slot: Option<u64>,
    /// The open checkpoint.
    pub checkpoint: Option<Checkpoint>,
    /// Beacon-chain slashing factor `l` (WAD = no loss); only decreases.
    pub bcsf: u64,
    /// Checkpoints that lowered `l` (bounds the beacon strategy's rounding drift).
    pub losses: u32,
}

/// Why a pod transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum PodError {
    /// The genesis declared no native asset.
    #[error("native restaking is disabled: the genesis has no native asset")]
    NativeRestakingDisabled,
    /// The owner already has a pod.
    #[error("{owner} already has pod {pod}")]
    PodExists {
        /// The owner.
        owner: Address,
        /// Its pod.
        pod: Address,
    },
    /// The account has no pod.
    #[error("{owner} has no pod")]
    NoPod {
        /// The account.
        owner: Address,
    },
    /// No validators given.
    #[error("no validators given")]
    NoValidators,
    /// The oracle has no record of the validator.
    #[error("validator {index} is unknown to the beacon report of slot {slot}")]
    UnknownValidator {
        /// The validator.
        index: u64,
        /// The report slot.
        slot: u64,
    },
    /// The validator's withdrawal credentials point elsewhere.
    #[error("validator {index} has credentials {credentials}, not pod {pod}")]
    WrongWithdrawalCredentials {
        /// The validator.
        index: u64,
        /// The pod it should point at.
        pod: Address,
        /// Its credentials.
        credentials: B256,
    },
    /// The validator was verified before.
    #[error("validator {index} is already verified in the pod of {owner}")]
    ValidatorAlreadyVerified {
        /// The validator.
        index: u64,
        /// Its pod's owner.
        owner: Address,
    },
    /// The validator has exited.
    #[error("validator {index} has exited the beacon chain")]
    ValidatorExited {
        /// The validator.
        index: u64,
    },
    /// The validator has no activation epoch yet.
    #[error("validator {index} has no activation epoch yet")]
    ValidatorNotActivated {
        /// The validator.
        index: u64,
    },
    /// The validator is not an active validator of this pod.
    #[error("validator {index} is not active in the pod of {owner}")]
    ValidatorNotActive {
        /// The validator.
        index: u64,
        /// The pod's owner.
        owner: Address,
    },
    /// The validator is not slashed in the latest report.
    #[error("validator {index} is not slashed as of slot {slot}")]
    ValidatorNotSlashed {
        /// The validator.
        index: u64,
        /// The report slot.
        slot: u64,
    },
    /// The latest report is not newer than the pod's last checkpoint.
    #[error("report slot {slot} is not after the last checkpoint's slot {last_checkpoint_slot}")]
    StaleBalanceNotNewer {
        /// The latest report slot.
        slot: u64,
        /// The pod's last checkpoint slot.
        last_checkpoint_slot: u64,
    },
    /// A checkpoint is already open.
    #[error("pod of {owner} already has checkpoint {number} open (slot {slot})")]
    CheckpointActive {
        /// The owner.
        owner: Address,
        /// The open checkpoint.
        number: u64,
        /// Its slot.
        slot: u64,
    },
    /// No checkpoint is open.
    #[error("pod of {owner} has no open checkpoint")]
    NoActiveCheckpoint {
        /// The owner.
        owner: Address,
    },
    /// The pod holds no uncredited ETH and the owner asked to refuse an empty checkpoint.
    #[error("pod of {owner} holds no uncredited ETH")]
    NoBalanceToCheckpoint {
        /// The owner.
        owner: Address,
    },
    /// The pod's beacon-chain slashing factor is zero: it can never get new shares.
    #[error("pod of {owner} is fully slashed on the beacon chain and refuses new shares")]
    PodFullySlashed {
        /// The owner.
        owner: Address,
    },
    /// The pod has not checkpointed enough ETH to pay the withdrawal.
    #[error("pod of {owner} can pay {available_gwei} gwei, asked {requested_gwei}")]
    InsufficientWithdrawableBalance {
        /// The owner.
        owner: Address,
        /// Gwei asked.
        requested_gwei: u64,
        /// Gwei checkpointed in the pod.
        available_gwei: u64,
    },
}

/// The pod address of `owner` (a pure function, so credentials can be set before the pod exists).
pub fn pod_address(owner: Address) -> Address {
    named_address(&format!("cairn/pod/{owner}"))
}

/// The 0x01 withdrawal credentials of a pod: `0x01 ‖ 11 zero bytes ‖ address`.
pub fn pod_credentials(pod: Address) -> B256 {
    let mut b = [0u8; 32];
    b[0] = 1;
    b[12..].copy_from_slice(pod.as_slice());
    B256::from(b)
}

/// Whether `credentials` point at `pod` (0x01 or 0x02 prefix, then 11 zero bytes, then it).
fn points_at(credentials: &B256, pod: Address) -> bool {
    let c = credentials.as_slice();
    matches!(c[0], 1 | 2) && c[1..12].iter().all(|b| *b == 0) && &c[12..] == pod.as_slice()
}

fn gwei_to_wei(gwei: u64) -> Result<U256, TxError> {
    Ok(math::mul(U256::from(gwei), GWEI)?)
}

/// `floor(wei / 1e9)`.
fn wei_to_gwei(wei: U256) -> U256 {
    wei.checked_div(GWEI).unwrap_or_default()
}

fn add_gwei(a: u64, b: u64) -> Result<u64, TxError> {
    Ok(math::add_u64(a, b)?)
}

impl State {
    /// The native asset and beacon strategy, if the genesis declared one.
    pub fn native_config(&self) -> Option<NativeConfig> {
        self.g.native
    }

    /// A pod by owner.
    pub fn pod(&self, owner: Address) -> Option<&Pod> {
        self.pods.get(&owner)
    }

    /// Every pod, by owner.
    pub fn pods(&self) -> Vec<(Address, Pod)> {
        self.pods.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// A verified validator.
    pub fn pod_validator(&self, index: u64) -> Option<&PodValidator> {
        self.pod_validators.get(&index)
    }

    /// Every verified validator, by index.
    pub fn pod_validators(&self) -> Vec<(u64, PodValidator)> {
        self.pod_validators.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Whether `strategy` is the beacon-chain strategy.
    pub fn is_beacon(&self, strategy: StrategyId) -> bool {
        self.g.native.is_some_and(|n| n.strategy == strategy)
    }

    /// A staker's beacon-chain slashing factor (WAD without a pod).
    pub fn beacon_factor(&self, staker: Address) -> u64 {
        self.pods.get(&staker).map_or(WAD_U64, |p| p.bcsf)
    }

    fn pod_of(&self, owner: Address) -> Result<Pod, TxError> {
        self.pods.get(&owner).copied().ok_or_else(|| PodError::NoPod { owner }.into())
    }

    pub(crate) fn tx_create_pod(&mut self, ctx: &Ctx, ev: &mut Vec<Event>) -> Result<(), TxError> {
        self.native()?;
        let owner = ctx.sender;
        if let Some(p) = self.pods.get(&owner) {
            return Err(PodError::PodExists { owner, pod: p.address }.into());
        }
        let address = pod_address(owner);
        let pod = Pod {
            address,
            active_validators: 0,
            restaked_gwei: 0,
            checkpoints: 0,
            last_checkpoint_slot: None,
            checkpoint: None,
            bcsf: WAD_U64,
            losses: 0,
        };
        self.pods.insert(owner, pod);
        self.pod_accounts.insert(address, owner);
        ev.push(Event::PodDeployed { owner, pod: address });
        Ok(())
    }

    pub(crate) fn tx_verify_credentials(
        &mut self,
        ctx: &Ctx,
        slot: u64,
        validators: &[u64],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.native()?;
        let owner = ctx.sender;
        let mut pod = self.pod_of(owner)?;
        self.require_latest_report(slot)?;
        if validators.is_empty() {
            return Err(PodError::NoValidators.into());
        }
        if pod.bcsf == 0 {
            return Err(PodError::PodFullySlashed { owner }.into());
        }
        let mut total: u64 = 0;
        for &index in validators {
            let rec = self.validator_record(index, slot).ok_or(PodError::UnknownValidator { index, slot })?;
            if let Some(v) = self.pod_validators.get(&index) {
                return Err(PodError::ValidatorAlreadyVerified { index, owner: v.owner }.into());
            }
            if !points_at(&rec.withdrawal_credentials, pod.address) {
                return Err(PodError::WrongWithdrawalCredentials {
                    index,
                    pod: pod.address,
                    credentials: rec.withdrawal_credentials,
                }
                .into());
            }
            if rec.exited {
                return Err(PodError::ValidatorExited { index }.into());
            }
            if !rec.activation_epoch_set {
                return Err(PodError::ValidatorNotActivated { index }.into());
            }
            // Verified during an open checkpoint: not eligible to prove in it, but its balance
            // joins the checkpoint's base so a loss is measured against everything restaked.
            let last_checkpointed = match &mut pod.checkpoint {
                Some(cp) => {
                    cp.prev_beacon_balance_gwei = add_gwei(cp.prev_beacon_balance_gwei, rec.effective_balance_gwei)?;
                    cp.number
                }
                None => pod.checkpoints,
            };
            let v = PodValidator {
                owner,
                status: ValidatorStatus::Active,
                restaked_balance_gwei: rec.effective_balance_gwei,
                last_checkpointed,
            };
            self.pod_validators.insert(index, v);
            pod.active_validators = math::add_u32(pod.active_validators, 1)?;
            total = add_gwei(total, rec.effective_balance_gwei)?;
            ev.push(Event::ValidatorRestaked {
                owner,
                validator_index: index,
                effective_balance_gwei: rec.effective_balance_gwei,
            });
        }
        self.pods.insert(owner, pod);
        self.credit_beacon_shares(owner, gwei_to_wei(total)?, ev)
    }

    /// Mints beacon shares for a positive balance change: the deposit path of section 2.6.
    fn credit_beacon_shares(&mut self, owner: Address, wei: U256, ev: &mut Vec<Event>) -> Result<(), TxError> {
        if wei.is_zero() {
            return Ok(());
        }
        if self.beacon_factor(owner) == 0 {
            return Err(PodError::PodFullySlashed { owner }.into());
        }
        let strategy = self.native()?.strategy;
        self.adjust_strategy_shares(strategy, wei, true)?;
        self.credit_deposit_shares(owner, strategy, wei, ev)?;
        ev.push(Event::PodSharesUpdated { owner, shares: wei });
        Ok(())
    }

    pub(crate) fn tx_start_checkpoint(
        &mut self,
        ctx: &Ctx,
        revert_if_no_balance: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.native()?;
        self.start_checkpoint(ctx.sender, revert_if_no_balance, ev)
    }

    fn start_checkpoint(
        &mut self,
        owner: Address,
        revert_if_no_balance: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let native = self.native()?;
        let mut pod = self.pod_of(owner)?;
        if let Some(cp) = pod.checkpoint {
            return Err(PodError::CheckpointActive { owner, number: cp.number, slot: cp.slot }.into());
        }
        let (slot, _) = self.g.latest_report.ok_or(OracleError::NoAcceptedReport)?;
        let held_gwei = wei_to_gwei(self.balance(pod.address, native.asset));
        // As EigenLayer's uint64 cast: a pod can never hold that much, and a donation must not
        // be able to make checkpoints revert.
        let held_gwei = u64::try_from(held_gwei).unwrap_or(u64::MAX);
        let pod_balance_gwei = math::sub_u64(held_gwei, pod.restaked_gwei)?;
        if revert_if_no_balance && pod_balance_gwei == 0 {
            return Err(PodError::NoBalanceToCheckpoint { owner }.into());
        }
        let cp = Checkpoint {
            number: math::add_u64(pod.checkpoints, 1)?,
            slot,
            pod_balance_gwei,
            proofs_remaining: pod.active_validators,
            prev_beacon_balance_gwei: 0,
            balance_deltas_gwei: 0,
        };
        ev.push(Event::CheckpointCreated {
            owner,
            number: cp.number,
            slot,
            pod_balance_gwei,
            proofs_remaining: cp.proofs_remaining,
        });
        pod.checkpoint = Some(cp);
        self.pods.insert(owner, pod);
        if cp.proofs_remaining == 0 {
            self.finalize_checkpoint(owner, ev)?;
        }
        Ok(())
    }

    pub(crate) fn tx_verify_checkpoint_proofs(
        &mut self,
        owner: Address,
        validators: &[u64],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.native()?;
        let mut pod = self.pod_of(owner)?;
        let mut cp = pod.checkpoint.ok_or(PodError::NoActiveCheckpoint { owner })?;
        if validators.is_empty() {
            return Err(PodError::NoValidators.into());
        }
        for &index in validators {
            let Some(mut v) = self.pod_validators.get(&index).copied() else {
                ev.push(Event::CheckpointProofSkipped { owner, validator_index: index, reason: "not_in_pod" });
                continue;
            };
            // Duplicate and stale proofs are skipped, not refused, so nobody can grief a
            // checkpoint by front-running its proofs.
            let reason = if v.owner != owner {
                Some("not_in_pod")
            } else if v.status != ValidatorStatus::Active {
                Some("not_active")
            } else if v.last_checkpointed >= cp.number {
                Some("already_proven")
            } else {
                None
            };
            let record = self.validator_record(index, cp.slot);
            let (Some(rec), None) = (record, reason) else {
                let reason = reason.unwrap_or("no_record");
                ev.push(Event::CheckpointProofSkipped { owner, validator_index: index, reason });
                continue;
            };
            let prev = v.restaked_balance_gwei;
            cp.prev_beacon_balance_gwei = add_gwei(cp.prev_beacon_balance_gwei, prev)?;
            let delta = i128::from(rec.balance_gwei).saturating_sub(i128::from(prev));
            cp.balance_deltas_gwei = math::add_i128(cp.balance_deltas_gwei, delta)?;
            cp.proofs_remaining = math::sub_u32(cp.proofs_remaining, 1)?;
            v.restaked_balance_gwei = rec.balance_gwei;
            v.last_checkpointed = cp.number;
            ev.push(Event::ValidatorCheckpointed { owner, validator_index: index, balance_gwei: rec.balance_gwei });
            if rec.balance_gwei == 0 {
                v.status = ValidatorStatus::Withdrawn;
                pod.active_validators = math::sub_u32(pod.active_validators, 1)?;
                ev.push(Event::ValidatorWithdrawn { owner, validator_index: index });
            }
            self.pod_validators.insert(index, v);
            if cp.proofs_remaining == 0 {
                break;
            }
        }
        pod.checkpoint = Some(cp);
        self.pods.insert(owner, pod);
        if cp.proofs_remaining == 0 {
            self.finalize_checkpoint(owner, ev)?;
        }
        Ok(())
    }

    /// Closes the open checkpoint: new pod ETH becomes withdrawable, gains mint shares, losses
    /// lower the beacon-chain slashing factor.
    fn finalize_checkpoint(&mut self, owner: Address, ev: &mut Vec<Event>) -> Result<(), TxError> {
        let mut pod = self.pod_of(owner)?;
        let cp = pod.checkpoint.take().ok_or(PodError::NoActiveCheckpoint { owner })?;
        let prev_restaked_gwei = add_gwei(pod.restaked_gwei, cp.prev_beacon_balance_gwei)?;
        let delta_gwei = math::add_i128(i128::from(cp.pod_balance_gwei), cp.balance_deltas_gwei)?;
        pod.restaked_gwei = add_gwei(pod.restaked_gwei, cp.pod_balance_gwei)?;
        pod.checkpoints = cp.number;
        pod.last_checkpoint_slot = Some(cp.slot);
        self.pods.insert(owner, pod);
        ev.push(Event::CheckpointFinalized { owner, number: cp.number, slot: cp.slot, prev_restaked_gwei, delta_gwei });
        let magnitude = math::to_u64(U256::from(delta_gwei.unsigned_abs()))?;
        if delta_gwei > 0 {
            self.credit_beacon_shares(owner, gwei_to_wei(magnitude)?, ev)?;
        } else if delta_gwei < 0 {
            self.record_beacon_loss(owner, gwei_to_wei(prev_restaked_gwei)?, gwei_to_wei(magnitude)?, ev)?;
        }
        Ok(())
    }

    /// Section 2.10: `l_new = floor(l · (P − D) / P)`; the operator loses the owner's share of it.
    fn record_beacon_loss(
        &mut self,
        owner: Address,
        prev: U256,
        loss: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let strategy = self.native()?.strategy;
        let mut pod = self.pod_of(owner)?;
        let l_prev = pod.bcsf;
        let kept = math::sub(prev, loss)?;
        let l_new = math::mul_div_down(U256::from(l_prev), kept, prev)?;
        let l_new = math::to_u64(l_new)?;
        pod.bcsf = l_new;
        pod.losses = math::add_u32(pod.losses, 1)?;
        self.pods.insert(owner, pod);
        ev.push(Event::BeaconChainSlashingFactorDecreased { staker: owner, prev_factor: l_prev, new_factor: l_new });
        let Some(op) = self.delegated_to(owner) else {
            return Ok(());
        };
        let p = self.position(owner, strategy);
        let m = U256::from(self.max_magnitude(op, strategy));
        let dl = U256::from(math::sub_u64(l_prev, l_new)?);
        let dec = math::mul_wad(math::mul_wad(p.deposit_shares, p.dsf)?, math::mul_wad(m, dl)?)?;
        // The beacon strategy's floors can leave operator shares a few wei below the owner's
        // exact part (reference 7.3(1)); never let that underflow brick the checkpoint.
        let dec = dec.min(self.operator_shares(op, strategy));
        if !dec.is_zero() {
            self.sub_operator_shares(op, owner, strategy, dec, ev)?;
        }
        Ok(())
    }

    pub(crate) fn tx_verify_stale_balance(
        &mut self,
        owner: Address,
        index: u64,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.native()?;
        let pod = self.pod_of(owner)?;
        let (slot, _) = self.g.latest_report.ok_or(OracleError::NoAcceptedReport)?;
        let active =
            self.pod_validators.get(&index).is_some_and(|v| v.owner == owner && v.status == ValidatorStatus::Active);
        if !active {
            return Err(PodError::ValidatorNotActive { index, owner }.into());
        }
        let rec = self.validator_record(index, slot).ok_or(PodError::UnknownValidator { index, slot })?;
        if !rec.slashed {
            return Err(PodError::ValidatorNotSlashed { index, slot }.into());
        }
        if let Some(last) = pod.last_checkpoint_slot
            && slot <= last
        {
            return Err(PodError::StaleBalanceNotNewer { slot, last_checkpoint_slot: last }.into());
        }
        self.start_checkpoint(owner, false, ev)
    }

    /// Pays a completed beacon withdrawal in ETH from the owner's pod (sub-gwei amounts are
    /// dropped, as on the beacon chain); returns the wei paid.
    pub(crate) fn pay_beacon_withdrawal(
        &mut self,
        owner: Address,
        shares: U256,
        ev: &mut Vec<Event>,
    ) -> Result<U256, TxError> {
        let native = self.native()?;
        let mut pod = self.pod_of(owner)?;
        let gwei = wei_to_gwei(shares);
        let requested_gwei = u64::try_from(gwei).unwrap_or(u64::MAX);
        if requested_gwei > pod.restaked_gwei {
            return Err(PodError::InsufficientWithdrawableBalance {
                owner,
                requested_gwei,
                available_gwei: pod.restaked_gwei,
            }
            .into());
        }
        pod.restaked_gwei = math::sub_u64(pod.restaked_gwei, requested_gwei)?;
        self.pods.insert(owner, pod);
        self.adjust_strategy_shares(native.strategy, shares, false)?;
        let wei = gwei_to_wei(requested_gwei)?;
        self.move_tokens(native.asset, pod.address, owner, wei)?;
        ev.push(Event::Transfer { asset: native.asset, from: pod.address, to: owner, amount: wei });
        Ok(wei)
    }
}

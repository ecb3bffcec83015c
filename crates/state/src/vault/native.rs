//! Native validators: the rebalance sends whole 32 ETH deposits for validators whose withdrawal
//! credentials point at a place's pod (`places.rs`); they count in transit until verified here,
//! after which they are beacon-chain shares delegated to the place's operator. Checkpoints credit
//! what the validators earned (base staking) or lost (beacon penalties).

use cairn_primitives::{Address, U256, VaultId, math};

use super::{Source, VaultError, tx::StartCheckpoint, tx::VerifyValidators};
use crate::{Ctx, Event, State, Tx, TxError};

impl State {
    /// `vault_verify_validators` (permissionless): restakes validators deposited into the
    /// operator's pod; they leave the in-transit count.
    pub(crate) fn tx_vault_verify_validators(
        &mut self,
        ctx: &Ctx,
        v: &VerifyValidators,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let (vault, operator) = (v.vault, v.operator);
        self.vault_cfg(vault)?;
        let mut place = self.vault_place(vault, operator).ok_or(VaultError::NoPlace { vault, operator })?;
        let before = self.place_value(vault, operator, ctx.block)?;
        let tx = Tx::VerifyWithdrawalCredentials { slot: v.slot, validators: v.validators.clone() };
        self.act(place.account, ctx, &tx, ev)?;
        let count = u32::try_from(v.validators.len()).unwrap_or(u32::MAX);
        place.pending_validators = place.pending_validators.saturating_sub(count);
        self.vault_places.insert((vault, operator), place);
        self.attribute_place_change(vault, operator, before, ctx)?;
        ev.push(Event::VaultValidatorsVerified { vault, operator, count });
        Ok(())
    }

    /// `vault_start_checkpoint` (permissionless): starts (and, with nothing to prove, completes)
    /// a checkpoint of the operator sub-account's pod.
    pub(crate) fn tx_vault_start_checkpoint(
        &mut self,
        ctx: &Ctx,
        s: &StartCheckpoint,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let (vault, operator) = (s.vault, s.operator);
        self.vault_cfg(vault)?;
        let place = self.vault_place(vault, operator).ok_or(VaultError::NoPlace { vault, operator })?;
        let before = self.place_value(vault, operator, ctx.block)?;
        self.act(place.account, ctx, &Tx::StartCheckpoint { revert_if_no_balance: false }, ev)?;
        self.attribute_place_change(vault, operator, before, ctx)
    }

    /// Attributes a place's change in value since `before` (gain: base staking; loss: beacon
    /// penalties) and invalidates the cached valuation.
    fn attribute_place_change(
        &mut self,
        vault: VaultId,
        operator: Address,
        before: U256,
        ctx: &Ctx,
    ) -> Result<(), TxError> {
        let after = self.place_value(vault, operator, ctx.block)?;
        let mut b = self.vault_book(vault)?;
        if after >= before {
            self.attribute(vault, Source::BaseStaking, math::sub(after, before)?, false, b.supply)?;
        } else {
            self.attribute(vault, Source::BeaconPenalties, math::sub(before, after)?, true, b.supply)?;
        }
        b.val_block = 0;
        self.put_book(vault, b);
        Ok(())
    }
}

//! Rate attribution: every settled rate change decomposed into base staking, each service's
//! rewards, fees, each slash (and its reserve), exit fees and settlements ([LRV §11.10]).
//!
//! Each source's part is recorded when it happens, in value and in its effect on the rate at
//! the supply of that moment (`value · WAD / supply`): price reports (base staking), reward
//! claims (per service), fee mints, instant-redemption fees (summed in the book on the hot path),
//! ticket settlements, and — observed around the core transactions that cause them — slashes,
//! slash requests (the reserve), vetoes and pod checkpoints. At settlement the parts are closed
//! into the rate record; what they do not explain (strategy rounding, allocation changes under a
//! pending request, rate effects of flows between events) is `Other`, so the parts always sum to
//! the settled change exactly.

use cairn_primitives::{Address, Block, OperatorSetKey, U256, VaultId, WAD, math};

use super::{Part, Source, book};
use crate::{Ctx, State, Tx, TxError, TxKind};

/// A core transaction's effect on vaults, as seen before it ran.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    items: Vec<Observed>,
}

#[derive(Debug, Clone, Copy)]
enum Observed {
    /// A slash (or a slash request) of `operator` by `set`.
    Slash { vault: VaultId, set: OperatorSetKey, operator: Address, before: U256, requests: u32 },
    /// A request executed: the stake it takes, the reserve it releases.
    Execute { vault: VaultId, set: OperatorSetKey, request_id: u32, operator: Address, before: U256, reserve: U256 },
    /// A request vetoed: the reserve it releases.
    Veto { vault: VaultId, set: OperatorSetKey, request_id: u32, reserve: U256 },
    /// A checkpoint of a sub-account's pod.
    Checkpoint { vault: VaultId, operator: Address, before: U256 },
    /// An operator (or its approver) undelegated a sub-account: the withdrawals the core queues
    /// from `nonce` on are the vault's unbondings.
    Undelegated { vault: VaultId, account: Address, operator: Address, nonce: u64 },
}

/// Kinds that can change what a vault's positions are worth without the vault acting.
fn moves_values(kind: TxKind) -> bool {
    use TxKind::*;
    matches!(
        kind,
        SlashOperator
            | VetoSlash
            | ExecuteSlash
            | ModifyAllocations
            | ClearDeallocationQueue
            | VerifyCheckpointProofs
            | VerifyStaleBalance
            | StartCheckpoint
            | Undelegate
    )
}

/// A value as a signed part (negative when `loss`).
pub(crate) fn signed(value: U256, loss: bool) -> Result<i128, TxError> {
    let v = i128::try_from(value).map_err(|_| math_overflow(value))?;
    Ok(if loss { v.saturating_neg() } else { v })
}

fn math_overflow(v: U256) -> cairn_primitives::MathError {
    cairn_primitives::MathError::Overflow { op: "to_i128", a: v, b: U256::ZERO }
}

/// A part: the value and its rate effect at `supply` (rounded toward zero).
pub(crate) fn part(value: U256, loss: bool, supply: U256) -> Result<Part, TxError> {
    let rate = if supply.is_zero() { U256::ZERO } else { math::mul_div_down(value, WAD, supply)? };
    Ok(Part { value: signed(value, loss)?, rate: signed(rate, loss)? })
}

fn add_part(a: Part, b: Part) -> Result<Part, TxError> {
    let add = |x: i128, y: i128| math::add_i128(x, y);
    Ok(Part { value: add(a.value, b.value)?, rate: add(a.rate, b.rate)? })
}

impl State {
    /// Adds a part to the vault's open attribution.
    pub(crate) fn attribute(
        &mut self,
        vault: VaultId,
        source: Source,
        value: U256,
        loss: bool,
        supply: U256,
    ) -> Result<(), TxError> {
        if value.is_zero() {
            return Ok(());
        }
        self.add_attribution(vault, source, part(value, loss, supply)?)
    }

    pub(crate) fn add_attribution(&mut self, vault: VaultId, source: Source, p: Part) -> Result<(), TxError> {
        let mut parts = self.vault_attribution.get(&vault).cloned().unwrap_or_default();
        match parts.binary_search_by_key(&source, |(s, _)| *s) {
            Ok(i) => {
                let (_, old) = parts[i];
                parts[i].1 = add_part(old, p)?;
            }
            Err(i) => parts.insert(i, (source, p)),
        }
        self.vault_attribution.insert(vault, parts);
        Ok(())
    }

    /// The parts recorded since the last settlement (the open period), by source.
    pub fn vault_open_attribution(&self, vault: VaultId) -> Vec<(Source, Part)> {
        self.vault_attribution.get(&vault).cloned().unwrap_or_default()
    }

    /// Closes the open period at a settlement from `previous` to `rate`: folds in the exit fees
    /// summed in the book `b` (and zeroes its period counters) and the residual (`Other`), so the
    /// rate parts sum to `rate − previous`. Returns the parts and the fee tokens minted.
    pub(crate) fn close_attribution(
        &mut self,
        vault: VaultId,
        b: &mut super::Book,
        previous: U256,
        rate: U256,
    ) -> Result<(Vec<(Source, Part)>, U256), TxError> {
        if !b.exit_fee_value.is_zero() {
            let p = Part { value: signed(b.exit_fee_value, false)?, rate: signed(b.exit_fee_rate, false)? };
            self.add_attribution(vault, Source::ExitFees, p)?;
        }
        let mut parts = self.vault_attribution.remove(&vault).unwrap_or_default();
        let explained = parts.iter().try_fold(0i128, |acc, (_, p)| math::add_i128(acc, p.rate))?;
        let change = math::add_i128(signed(rate, false)?, signed(previous, true)?)?;
        let residual = math::add_i128(change, explained.checked_neg().ok_or(math_overflow(U256::ZERO))?)?;
        if residual != 0 {
            let p = Part { value: 0, rate: residual };
            match parts.binary_search_by_key(&Source::Other, |(s, _)| *s) {
                Ok(i) => parts[i].1.rate = math::add_i128(parts[i].1.rate, residual)?,
                Err(i) => parts.insert(i, (Source::Other, p)),
            }
        }
        let fee_tokens = b.fee_tokens_since;
        b.exit_fee_value = U256::ZERO;
        b.exit_fee_rate = U256::ZERO;
        b.fee_tokens_since = U256::ZERO;
        Ok((parts, fee_tokens))
    }

    /// Vaults with a place at `operator`.
    fn vaults_at(&self, operator: Address) -> Vec<VaultId> {
        self.vaults.iter().map(|(v, _)| *v).filter(|v| self.vault_places.contains(&(*v, operator))).collect()
    }

    /// Value of one place now: restaked, unbonding and in transit.
    pub(crate) fn place_value(&self, vault: VaultId, operator: Address, block: Block) -> Result<U256, TxError> {
        let Some(place) = self.vault_place(vault, operator) else {
            return Ok(U256::ZERO);
        };
        let mut total = math::mul(super::VALIDATOR_DEPOSIT, U256::from(place.pending_validators))?;
        for h in self.place_holdings(place.account)? {
            total = math::add(total, book::value_of(h.tokens, self.vault_price(vault, h.asset)?)?)?;
        }
        for ((account, nonce), u) in self.vault_unbondings_of(vault) {
            if account == place.account {
                let t = self.unbonding_tokens(account, nonce, block)?;
                total = math::add(total, book::value_of(t, self.vault_price(vault, u.asset)?)?)?;
            }
        }
        Ok(total)
    }

    fn request_reserve(
        &self,
        vault: VaultId,
        set: OperatorSetKey,
        request_id: u32,
        block: Block,
    ) -> Result<U256, TxError> {
        let src = Source::SlashReserve { set, request_id };
        Ok(self.slash_reserve(vault, block)?.into_iter().filter(|(s, _)| *s == src).map(|(_, v)| v).sum())
    }

    /// Looks, before a core transaction runs, at what it may do to vaults.
    pub(crate) fn vault_before(&self, ctx: &Ctx, tx: &Tx) -> Option<Seen> {
        if self.vaults.is_empty() {
            return None;
        }
        let mut items = Vec::new();
        let block = ctx.block;
        match tx {
            Tx::SlashOperator { service, set_id, operator, .. } => {
                let set = OperatorSetKey { service: *service, id: *set_id };
                let requests = self.operator_set(set).map_or(0, |i| i.request_count);
                for vault in self.vaults_at(*operator) {
                    let before = self.place_value(vault, *operator, block).ok()?;
                    items.push(Observed::Slash { vault, set, operator: *operator, before, requests });
                }
            }
            Tx::ExecuteSlash { service, set_id, request_id } | Tx::VetoSlash { service, set_id, request_id } => {
                let set = OperatorSetKey { service: *service, id: *set_id };
                let operator = self.slash_request(set, *request_id)?.params.operator;
                for vault in self.vaults_at(operator) {
                    let reserve = self.request_reserve(vault, set, *request_id, block).ok()?;
                    items.push(if matches!(tx, Tx::VetoSlash { .. }) {
                        Observed::Veto { vault, set, request_id: *request_id, reserve }
                    } else {
                        let before = self.place_value(vault, operator, block).ok()?;
                        Observed::Execute { vault, set, request_id: *request_id, operator, before, reserve }
                    });
                }
            }
            Tx::VerifyCheckpointProofs { pod_owner, .. } | Tx::VerifyStaleBalance { pod_owner, .. } => {
                let vault = *self.vault_accounts.get(pod_owner)?;
                let operator = self.delegated_to(*pod_owner)?;
                let before = self.place_value(vault, operator, block).ok()?;
                items.push(Observed::Checkpoint { vault, operator, before });
            }
            Tx::Undelegate { staker } => {
                let vault = *self.vault_accounts.get(staker)?;
                let operator = self.delegated_to(*staker)?;
                let nonce = self.staker(*staker).map_or(0, |r| r.withdrawal_nonce);
                items.push(Observed::Undelegated { vault, account: *staker, operator, nonce });
            }
            _ => return None,
        }
        Some(Seen { items })
    }

    /// After a core transaction succeeded: bumps the valuation epoch if it can move values, and
    /// attributes what it did to each vault it touched.
    pub(crate) fn vault_after(&mut self, ctx: &Ctx, tx: &Tx, seen: Option<Seen>) -> Result<(), TxError> {
        if moves_values(tx.kind()) {
            self.g.value_epoch = self.g.value_epoch.wrapping_add(1);
        }
        let Some(seen) = seen else { return Ok(()) };
        for item in seen.items {
            self.observe(ctx, item)?;
        }
        Ok(())
    }

    fn observe(&mut self, ctx: &Ctx, item: Observed) -> Result<(), TxError> {
        let block = ctx.block;
        match item {
            Observed::Undelegated { vault, account, operator, nonce } => {
                self.adopt_withdrawals(vault, account, operator, nonce, ctx)?;
            }
            Observed::Slash { vault, set, operator, before, requests } => {
                let supply = self.vault_book(vault)?.supply;
                let after = self.place_value(vault, operator, block)?;
                self.attribute(vault, Source::Slash { set, operator }, before.saturating_sub(after), true, supply)?;
                let now = self.operator_set(set)?.request_count;
                if now != requests {
                    let reserve = self.request_reserve(vault, set, now, block)?;
                    self.attribute(vault, Source::SlashReserve { set, request_id: now }, reserve, true, supply)?;
                }
            }
            Observed::Execute { vault, set, request_id, operator, before, reserve } => {
                let supply = self.vault_book(vault)?.supply;
                let after = self.place_value(vault, operator, block)?;
                self.attribute(vault, Source::Slash { set, operator }, before.saturating_sub(after), true, supply)?;
                self.attribute(vault, Source::SlashReserve { set, request_id }, reserve, false, supply)?;
            }
            Observed::Veto { vault, set, request_id, reserve } => {
                let supply = self.vault_book(vault)?.supply;
                self.attribute(vault, Source::SlashReserve { set, request_id }, reserve, false, supply)?;
            }
            Observed::Checkpoint { vault, operator, before } => {
                let supply = self.vault_book(vault)?.supply;
                let after = self.place_value(vault, operator, block)?;
                if after >= before {
                    self.attribute(vault, Source::BaseStaking, math::sub(after, before)?, false, supply)?;
                } else {
                    self.attribute(vault, Source::BeaconPenalties, math::sub(before, after)?, true, supply)?;
                }
            }
        }
        Ok(())
    }
}

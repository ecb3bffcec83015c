//! The liquid restaking vault: one pool for ETH and liquid staking tokens, one receipt token,
//! and a strategy layer that spreads the pool over operators within risk limits
//! ([LRV §1–§11]; docs/vault.md explains the rate, the tiers and the policy with numbers).
//!
//! Start reading at `deposit.rs` (the hot path) and `rate.rs` (what the token is worth).
//!
//! - **Pool and token** (`token.rs`, `deposit.rs`, `redeem.rs`): accepted assets with caps,
//!   minimums and pause flags, priced by a committee (`pricing.rs`); the receipt token is a full
//!   token. Minting is at max(settled rate, current rate), instant redemption at min(…), so a
//!   sandwich around a rate update earns nothing.
//! - **Places** (`places.rs`): the buffer (the vault's own account), and per operator one
//!   delegator sub-account that deposits, delegates, queues withdrawals, owns a pod for native
//!   validators and claims rewards — real core transactions sent through the same routing as a
//!   user's (`State::route`, pause checks included). The vault never writes a core table.
//! - **Policy and rebalance** (`policy.rs`, `rebalance.rs`): the keeper's targets are checked in
//!   integers against the policy (operator and service caps, minimum buffer, a risk budget on
//!   the worst single-service loss the state machine computes itself); a permissionless
//!   rebalance per round moves toward them, over-weight places first.
//! - **Rate** (`rate.rs`): total assets from every place, less a reserve for every pending slash
//!   request against the vault's stake, less fees (minted as tokens, `fees` in `book.rs`);
//!   bounded per update, a breach is quarantined until the guardian decides.
//! - **Withdrawals** (`redeem.rs`, `tickets.rs`, `emergency.rs`): instant from the buffer with a
//!   fee that rises as it drains; transferable tickets paid at the lower of request and
//!   finalization value, with an ETA fixed at request; an in-kind exit after a long halt.
//! - **Attribution** (`attribution.rs`): every settled rate change decomposed by source.
//!
//! Invariants (`invariants.rs`): receipt supply = Σ balances; supply × settled rate and
//! supply × current rate ≤ assets; finalized payouts are held in the buffer; earmarks and
//! commitments never exceed what backs them.

mod admin;
mod attribution;
pub mod book;
mod deposit;
mod emergency;
mod error;
mod invariants;
mod native;
mod places;
mod policy;
mod pricing;
pub mod queries;
mod rate;
mod rebalance;
mod redeem;
mod rewards;
mod tickets;
mod token;
pub mod tx;
pub mod types;

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests;

use cairn_primitives::{Address, AssetId, U256, VaultId, WAD, named_address};

pub use error::VaultError;
pub use policy::{exposure_bps, operator_fractions, worst_loss};
pub use types::*;

use crate::{State, TxError};

/// Where ETH staked into validators goes: it leaves the chain for the beacon chain, and comes back
/// only through beacon withdrawals into a pod. A reserved account that never sends.
pub fn beacon_deposit_address() -> Address {
    static A: std::sync::OnceLock<Address> = std::sync::OnceLock::new();
    *A.get_or_init(|| named_address("cairn/beacon-deposit"))
}

/// A validator's deposit: 32 ETH.
pub const VALIDATOR_DEPOSIT: U256 = U256::from_limbs([13_553_255_926_290_448_384, 1, 0, 0]);

/// The vault's own account (buffer, locked ticket tokens, finalized payouts).
pub fn vault_account(vault: VaultId) -> Address {
    named_address(&format!("cairn/vault/{}", vault.0))
}

/// The vault's delegator sub-account at `operator` (also the owner of that place's pod).
pub fn sub_account(vault: VaultId, operator: Address) -> Address {
    named_address(&format!("cairn/vault/{}/operator/{operator}", vault.0))
}

impl State {
    /// The vault's own account, as stored at creation (deriving it hashes; this is a lookup).
    pub fn vault_own(&self, vault: VaultId) -> Address {
        self.vaults.get(&vault).map_or_else(|| vault_account(vault), |v| v.account)
    }

    /// A vault's configuration, policy and targets.
    pub fn vault_cfg(&self, vault: VaultId) -> Result<&Vault, VaultError> {
        self.vaults.get(&vault).ok_or(VaultError::UnknownVault { vault })
    }

    /// A vault's hot totals: supply, rates, cached valuation.
    pub fn vault_book(&self, vault: VaultId) -> Result<Book, VaultError> {
        self.vault_books.get(&vault).copied().ok_or(VaultError::UnknownVault { vault })
    }

    pub(crate) fn asset_book(&self, vault: VaultId, asset: AssetId) -> AssetBook {
        self.vault_assets.get(&(vault, asset)).copied().unwrap_or_default()
    }

    /// Whether `asset` is the chain's native asset (priced at one).
    pub(crate) fn is_native_asset(&self, asset: AssetId) -> bool {
        self.g.native.is_some_and(|n| n.asset == asset)
    }

    /// The accepted price of an asset for a vault (WAD; the native asset is one).
    pub(crate) fn vault_price(&self, vault: VaultId, asset: AssetId) -> Result<U256, VaultError> {
        if self.is_native_asset(asset) {
            return Ok(WAD);
        }
        let p = self.asset_book(vault, asset).price;
        if p.is_zero() { Err(VaultError::PriceMissing { asset }) } else { Ok(p) }
    }

    /// Whether `a` is one of a vault's accounts (its own or a sub-account).
    pub fn is_vault_account(&self, a: Address) -> bool {
        self.vault_accounts.contains(&a)
    }

    /// Every vault id, ascending.
    pub fn vault_ids(&self) -> Vec<VaultId> {
        self.vaults.iter().map(|(k, _)| *k).collect()
    }

    pub(crate) fn put_book(&mut self, vault: VaultId, book: Book) {
        self.vault_books.insert(vault, book);
    }

    pub(crate) fn put_asset_book(&mut self, vault: VaultId, asset: AssetId, b: AssetBook) {
        self.vault_assets.insert((vault, asset), b);
    }
}

impl From<VaultError> for TxError {
    fn from(e: VaultError) -> Self {
        TxError::Vault(Box::new(e))
    }
}

impl Vault {
    /// The configuration of a priced asset.
    pub fn asset(&self, asset: AssetId) -> Option<&AssetConfig> {
        self.assets.binary_search_by_key(&asset, |a| a.asset).ok().map(|i| &self.assets[i])
    }

    /// The policy's limit for an operator.
    pub fn operator_limit(&self, operator: Address) -> Option<&OperatorLimit> {
        let ops = &self.policy.operators;
        ops.binary_search_by_key(&operator, |o| o.operator).ok().map(|i| &ops[i])
    }

    /// The exposure cap of a service, in bps.
    pub fn service_cap(&self, service: Address) -> u16 {
        let caps = &self.policy.service_caps;
        caps.binary_search_by_key(&service, |c| c.service).map_or(self.policy.service_cap_bps, |i| caps[i].cap_bps)
    }
}

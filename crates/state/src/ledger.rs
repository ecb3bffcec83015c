//! The token ledger: balances per account and asset, transfers, genesis minting and the devnet
//! faucet. Strategies hold their tokens in their own account, slashed tokens go to the burn
//! address, so Σ balances = minted for every asset.

use cairn_primitives::{Address, AssetId, U256, math};
use serde::{Deserialize, Serialize};

use crate::{BURN_ADDRESS, Ctx, Event, State, TxError};

/// A registered token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Ticker.
    pub symbol: String,
    /// Decimals (informational).
    pub decimals: u8,
    /// Total ever minted.
    pub minted: U256,
    /// The token's address in reward leaves: `named_address("cairn/asset/<symbol>")`.
    pub address: Address,
}

/// Why a ledger transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum LedgerError {
    /// No such asset.
    #[error("unknown asset {asset}")]
    UnknownAsset {
        /// The asset.
        asset: AssetId,
    },
    /// A second asset with the same symbol.
    #[error("asset symbol {symbol} already registered")]
    DuplicateSymbol {
        /// The symbol.
        symbol: String,
    },
    /// Zero amount.
    #[error("amount must be positive")]
    ZeroAmount,
    /// Not enough tokens.
    #[error("{account} holds {balance} of {asset}, needs {amount}")]
    InsufficientBalance {
        /// The account.
        account: Address,
        /// The asset.
        asset: AssetId,
        /// Its balance.
        balance: U256,
        /// The amount asked.
        amount: U256,
    },
    /// Transfer to a protocol-owned account (use deposit instead).
    #[error("cannot transfer to reserved account {to}")]
    ReservedRecipient {
        /// The recipient.
        to: Address,
    },
    /// The faucet is off in this profile.
    #[error("the faucet is disabled")]
    FaucetDisabled,
    /// Only governance may mint.
    #[error("{sender} is not the governor {governor}")]
    NotGovernor {
        /// The sender.
        sender: Address,
        /// The governor.
        governor: Address,
    },
}

/// An id space ran out (more than 2^32 entries).
pub(crate) fn math_overflow(op: &'static str, len: usize) -> cairn_primitives::MathError {
    cairn_primitives::MathError::Overflow { op, a: U256::from(len), b: U256::from(1u8) }
}

impl State {
    pub(crate) fn register_asset(&mut self, symbol: &str, decimals: u8) -> Result<AssetId, TxError> {
        if self.assets.iter().any(|(_, a)| a.symbol == symbol) {
            return Err(LedgerError::DuplicateSymbol { symbol: symbol.to_string() }.into());
        }
        let id = AssetId(u32::try_from(self.assets.len()).map_err(|_| math_overflow("asset id", self.assets.len()))?);
        let address = cairn_primitives::named_address(&format!("cairn/asset/{symbol}"));
        self.assets.insert(id, Asset { symbol: symbol.to_string(), decimals, minted: U256::ZERO, address });
        Ok(id)
    }

    /// The asset whose reward-leaf address is `token`.
    pub fn asset_by_address(&self, token: Address) -> Option<AssetId> {
        self.assets.iter().find(|(_, a)| a.address == token).map(|(id, _)| *id)
    }

    /// The ticker of an asset.
    pub fn asset_symbol(&self, asset: AssetId) -> Option<String> {
        self.assets.get(&asset).map(|a| a.symbol.clone())
    }

    /// The reward-leaf address of an asset.
    pub fn asset_address(&self, asset: AssetId) -> Option<Address> {
        self.assets.get(&asset).map(|a| a.address)
    }

    pub(crate) fn asset(&self, asset: AssetId) -> Result<&Asset, LedgerError> {
        self.assets.get(&asset).ok_or(LedgerError::UnknownAsset { asset })
    }

    /// Balance of `account` in `asset`.
    pub fn balance(&self, account: Address, asset: AssetId) -> U256 {
        self.balances.get(&(account, asset)).copied().unwrap_or_default()
    }

    pub(crate) fn credit(&mut self, account: Address, asset: AssetId, amount: U256) -> Result<(), TxError> {
        if amount.is_zero() {
            return Ok(());
        }
        self.balances.update((account, asset), |b| {
            Ok::<_, TxError>((Some(math::add(b.copied().unwrap_or_default(), amount)?), ()))
        })
    }

    pub(crate) fn debit(&mut self, account: Address, asset: AssetId, amount: U256) -> Result<(), TxError> {
        self.balances.update((account, asset), |b| {
            let balance = b.copied().unwrap_or_default();
            let rest = balance.checked_sub(amount).ok_or(LedgerError::InsufficientBalance {
                account,
                asset,
                balance,
                amount,
            })?;
            // An emptied balance is removed, so equal ledgers have equal bytes.
            Ok::<_, TxError>(((!rest.is_zero()).then_some(rest), ()))
        })
    }

    pub(crate) fn move_tokens(
        &mut self,
        asset: AssetId,
        from: Address,
        to: Address,
        amount: U256,
    ) -> Result<(), TxError> {
        self.debit(from, asset, amount)?;
        self.credit(to, asset, amount)
    }

    pub(crate) fn mint_tokens(&mut self, asset: AssetId, to: Address, amount: U256) -> Result<(), TxError> {
        let a = self.asset(asset)?;
        let minted = math::add(a.minted, amount)?;
        let mut a = a.clone();
        a.minted = minted;
        self.assets.insert(asset, a);
        self.credit(to, asset, amount)
    }

    /// Whether `a` is owned by the protocol (zero, burn address, a strategy vault, a pod): never a sender.
    pub fn is_reserved_account(&self, a: Address) -> bool {
        a == Address::ZERO
            || a == BURN_ADDRESS
            || a == crate::rewards::escrow_address()
            || a == crate::vault::beacon_deposit_address()
            || self.pod_accounts.contains(&a)
            || self.vault_accounts.contains(&a)
            || self.strategies.iter().any(|(_, s)| s.address == a)
    }

    pub(crate) fn tx_transfer(
        &mut self,
        ctx: &Ctx,
        asset: AssetId,
        to: Address,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.asset(asset)?;
        if amount.is_zero() {
            return Err(LedgerError::ZeroAmount.into());
        }
        // Donations to a strategy are allowed (they raise its share price, as in EigenLayer);
        // transfers to zero or the burn address are refused as mistakes.
        // The rewards escrow only takes submissions, so its balance is exactly what is owed.
        if to == Address::ZERO || to == BURN_ADDRESS || to == crate::rewards::escrow_address() {
            return Err(LedgerError::ReservedRecipient { to }.into());
        }
        // A vault's accounts take tokens only from each other (its own moves), never a donation,
        // and the beacon deposit address only from a vault's validator deposits.
        let vault_of = |a: &Address| self.vault_accounts.get(a).copied();
        if to == crate::vault::beacon_deposit_address()
            || vault_of(&to).is_some_and(|v| vault_of(&ctx.sender) != Some(v))
        {
            return Err(LedgerError::ReservedRecipient { to }.into());
        }
        self.move_tokens(asset, ctx.sender, to, amount)?;
        ev.push(Event::Transfer { asset, from: ctx.sender, to, amount });
        Ok(())
    }

    pub(crate) fn tx_mint(
        &mut self,
        ctx: &Ctx,
        asset: AssetId,
        to: Address,
        amount: U256,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        if ctx.sender != self.g.governor {
            return Err(LedgerError::NotGovernor { sender: ctx.sender, governor: self.g.governor }.into());
        }
        if !self.g.params.faucet_enabled {
            return Err(LedgerError::FaucetDisabled.into());
        }
        if amount.is_zero() {
            return Err(LedgerError::ZeroAmount.into());
        }
        if self.is_reserved_account(to) {
            return Err(LedgerError::ReservedRecipient { to }.into());
        }
        self.mint_tokens(asset, to, amount)?;
        ev.push(Event::Minted { asset, to, amount });
        Ok(())
    }
}

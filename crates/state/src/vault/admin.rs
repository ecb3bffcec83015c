//! Creating and configuring vaults: every change goes through timelocked governance (proposed,
//! then executed after the timelock), except the guardian's immediate per-asset pause.

use cairn_primitives::{Address, U256, VaultId, WAD};

use super::{
    AssetConfig, Book, Policy, Vault, VaultError, VaultParams,
    book::{BPS, MAX_INSTANT_FEE_BPS, MAX_MANAGEMENT_FEE_BPS, MAX_PERFORMANCE_FEE_BPS},
    tx::{SetAssetPaused, VaultRoles, VaultSpec, sorted_unique},
    vault_account,
};
use crate::{Ctx, Event, State, TxError, tx::GovernanceAction};

fn unique<T: Clone, K: Ord + Copy>(
    items: &[T],
    key: impl Fn(&T) -> K,
    list: &'static str,
) -> Result<Vec<T>, VaultError> {
    sorted_unique(items, key).map_err(|_| VaultError::DuplicateEntry { list })
}

/// The lists of a policy, sorted.
fn sorted_policy(p: &Policy) -> Result<Policy, VaultError> {
    Ok(Policy {
        operators: unique(&p.operators, |o| o.operator, "policy operators")?,
        service_caps: unique(&p.service_caps, |c| c.service, "service caps")?,
        ..p.clone()
    })
}

fn at_most(name: &'static str, value: u64, max: u64) -> Result<(), VaultError> {
    if value > max { Err(VaultError::InvalidParam { name, value, max }) } else { Ok(()) }
}

/// Checks parameters against the hard caps in code.
pub(crate) fn check_params(p: &VaultParams) -> Result<(), VaultError> {
    at_most("performance_fee_bps", u64::from(p.performance_fee_bps), u64::from(MAX_PERFORMANCE_FEE_BPS))?;
    at_most("management_fee_bps", u64::from(p.management_fee_bps), u64::from(MAX_MANAGEMENT_FEE_BPS))?;
    at_most("instant_fee_max_bps", u64::from(p.instant_fee_max_bps), u64::from(MAX_INSTANT_FEE_BPS))?;
    at_most("instant_fee_min_bps", u64::from(p.instant_fee_min_bps), u64::from(p.instant_fee_max_bps))?;
    at_most("max_price_change_bps", u64::from(p.max_price_change_bps), BPS)?;
    at_most("max_rate_up_bps", u64::from(p.max_rate_up_bps), BPS)?;
    at_most("max_rate_down_bps", u64::from(p.max_rate_down_bps), BPS)?;
    at_most("max_apr_bps", u64::from(p.max_apr_bps), 100 * BPS)?;
    if p.finalization_period_blocks == 0 {
        return Err(VaultError::InvalidParam {
            name: "finalization_period_blocks (must be positive)",
            value: 0,
            max: 0,
        });
    }
    Ok(())
}

impl State {
    fn check_role(&self, account: Address) -> Result<(), VaultError> {
        if account == Address::ZERO || self.is_reserved_account(account) {
            return Err(VaultError::ReservedRole { account });
        }
        Ok(())
    }

    fn check_roles(&self, r: &VaultRoles) -> Result<(), TxError> {
        unique(&r.committee, |a| *a, "committee")?;
        let n = r.committee.len();
        if n == 0 || r.quorum as usize > n || (r.quorum as usize).saturating_mul(2) <= n {
            return Err(VaultError::InvalidQuorum { members: n, quorum: r.quorum }.into());
        }
        for a in r.committee.iter().chain([&r.guardian, &r.keeper, &r.fee_recipient]) {
            self.check_role(*a)?;
        }
        Ok(())
    }

    fn check_asset(&self, a: &AssetConfig) -> Result<(), TxError> {
        self.asset(a.asset)?;
        if a.deposits && !self.is_native_asset(a.asset) && self.strategy_of_asset(a.asset).is_none() {
            return Err(VaultError::NoStrategy { asset: a.asset }.into());
        }
        Ok(())
    }

    fn check_assets(&self, assets: &[AssetConfig]) -> Result<(), TxError> {
        unique(assets, |a| a.asset, "assets")?;
        let native = self.g.native.map(|n| n.asset);
        if native.is_none_or(|n| !assets.iter().any(|a| a.asset == n)) {
            return Err(VaultError::NativeAssetMissing.into());
        }
        assets.iter().try_for_each(|a| self.check_asset(a))
    }

    fn check_policy(&self, p: &Policy) -> Result<(), TxError> {
        let p = sorted_policy(p)?;
        for o in &p.operators {
            at_most("operator cap_bps", u64::from(o.cap_bps), BPS)?;
        }
        for c in &p.service_caps {
            at_most("service cap_bps", u64::from(c.cap_bps), BPS)?;
        }
        at_most("min_buffer_bps", u64::from(p.min_buffer_bps), BPS)?;
        at_most("service_cap_bps", u64::from(p.service_cap_bps), BPS)?;
        at_most("risk_budget_bps", u64::from(p.risk_budget_bps), BPS)?;
        Ok(())
    }

    /// Checks a vault governance action (at proposal and again at execution).
    pub(crate) fn validate_vault_action(&self, action: &GovernanceAction) -> Result<(), TxError> {
        match action {
            GovernanceAction::CreateVault(spec) => {
                self.check_roles(&spec.roles())?;
                check_params(&spec.params)?;
                self.check_assets(&spec.assets)?;
                self.check_policy(&spec.policy)
            }
            GovernanceAction::SetVaultParams { vault, params } => {
                self.vault_cfg(*vault)?;
                Ok(check_params(params)?)
            }
            GovernanceAction::SetVaultAsset { vault, config } => {
                self.vault_cfg(*vault)?;
                self.check_asset(config)
            }
            GovernanceAction::SetVaultPolicy { vault, policy } => {
                self.vault_cfg(*vault)?;
                self.check_policy(policy)
            }
            GovernanceAction::SetVaultRoles { vault, roles } => {
                self.vault_cfg(*vault)?;
                self.check_roles(roles)
            }
            _ => Ok(()),
        }
    }

    /// Carries out a validated vault governance action.
    pub(crate) fn apply_vault_action(
        &mut self,
        ctx: &Ctx,
        action: &GovernanceAction,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        match action {
            GovernanceAction::CreateVault(spec) => self.create_vault(ctx, spec, ev),
            GovernanceAction::SetVaultParams { vault, params } => {
                // Fees due so far are minted at the old rates first, when the prices allow it
                // (with a stale price the new rates reach back to the last accrual).
                let b = self.fresh_book(*vault, ctx)?;
                if self.require_fresh_prices(*vault, &b, ctx.time).is_ok() {
                    let b = self.accrue(*vault, b, ctx.time, ev)?;
                    self.put_book(*vault, b);
                }
                self.update_vault(*vault, |v| v.params = *params)?;
                ev.push(Event::VaultParamsSet { vault: *vault, params: *params });
                Ok(())
            }
            GovernanceAction::SetVaultAsset { vault, config } => {
                self.update_vault(*vault, |v| match v.assets.binary_search_by_key(&config.asset, |a| a.asset) {
                    Ok(i) => v.assets[i] = config.clone(),
                    Err(i) => v.assets.insert(i, config.clone()),
                })?;
                ev.push(Event::VaultAssetSet { vault: *vault, config: config.clone() });
                Ok(())
            }
            GovernanceAction::SetVaultPolicy { vault, policy } => {
                let policy = &sorted_policy(policy)?;
                self.update_vault(*vault, |v| v.policy = policy.clone())?;
                ev.push(Event::VaultPolicySet { vault: *vault, policy: policy.clone() });
                Ok(())
            }
            GovernanceAction::SetVaultRoles { vault, roles } => {
                let committee = unique(&roles.committee, |a| *a, "committee")?;
                self.update_vault(*vault, |v| {
                    v.committee = committee.clone();
                    v.quorum = roles.quorum;
                    v.guardian = roles.guardian;
                    v.keeper = roles.keeper;
                    v.fee_recipient = roles.fee_recipient;
                })?;
                // Open reports from members who left no longer count.
                let lo = (*vault, Address::ZERO);
                let hi = (*vault, Address::repeat_byte(0xff));
                let stale: Vec<_> = self
                    .vault_price_votes
                    .range(lo..=hi)
                    .filter(|((_, m), _)| committee.binary_search(m).is_err())
                    .map(|(k, _)| *k)
                    .collect();
                for k in stale {
                    self.vault_price_votes.remove(&k);
                }
                ev.push(Event::VaultRolesSet { vault: *vault, roles: roles.clone() });
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn update_vault(&mut self, vault: VaultId, f: impl FnOnce(&mut Vault)) -> Result<(), TxError> {
        let mut v = self.vault_cfg(vault)?.clone();
        f(&mut v);
        self.vaults.insert(vault, v);
        Ok(())
    }

    fn create_vault(&mut self, ctx: &Ctx, spec: &VaultSpec, ev: &mut Vec<Event>) -> Result<(), TxError> {
        let id = VaultId(
            u32::try_from(self.vaults.len())
                .map_err(|_| crate::ledger::math_overflow("vault id", self.vaults.len()))?,
        );
        let account = vault_account(id);
        let v = Vault {
            symbol: spec.symbol.clone(),
            account,
            committee: unique(&spec.committee, |a| *a, "committee")?,
            quorum: spec.quorum,
            guardian: spec.guardian,
            keeper: spec.keeper,
            fee_recipient: spec.fee_recipient,
            params: spec.params,
            assets: unique(&spec.assets, |a| a.asset, "assets")?,
            policy: sorted_policy(&spec.policy)?,
            targets: None,
        };
        let book = Book {
            supply: U256::ZERO,
            settled_rate: WAD,
            settled_block: ctx.block,
            settled_time: ctx.time,
            hwm: WAD,
            fee_time: ctx.time,
            fee_tokens_since: U256::ZERO,
            exit_fee_value: U256::ZERO,
            exit_fee_rate: U256::ZERO,
            val_block: 0,
            val_epoch: 0,
            assets: U256::ZERO,
            reserve: U256::ZERO,
            oldest_price: u64::MAX,
            quarantine: None,
            halted_since: None,
            price_round: 0,
            last_rebalance: 0,
            next_ticket: 0,
            settlements: 0,
            emergency: false,
        };
        self.vaults.insert(id, v);
        self.vault_books.insert(id, book);
        self.vault_accounts.insert(account, id);
        ev.push(Event::VaultCreated { vault: id, symbol: spec.symbol.clone(), account });
        Ok(())
    }

    /// `vault_set_asset_paused`: the guardian pauses or resumes deposits of one asset at once.
    pub(crate) fn tx_vault_set_asset_paused(
        &mut self,
        ctx: &Ctx,
        s: &SetAssetPaused,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        let cfg = self.vault_cfg(s.vault)?;
        if ctx.sender != cfg.guardian {
            return Err(VaultError::NotGuardian { sender: ctx.sender, guardian: cfg.guardian }.into());
        }
        cfg.asset(s.asset).ok_or(VaultError::UnknownVaultAsset { vault: s.vault, asset: s.asset })?;
        self.update_vault(s.vault, |v| {
            if let Ok(i) = v.assets.binary_search_by_key(&s.asset, |a| a.asset) {
                v.assets[i].paused = s.paused;
            }
        })?;
        ev.push(Event::VaultAssetPaused { vault: s.vault, asset: s.asset, paused: s.paused });
        Ok(())
    }
}

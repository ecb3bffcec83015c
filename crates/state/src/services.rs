//! Services (AVSs) and operator sets: creation, strategies, the single slasher with its change
//! delay, registration with the service's consent and deregistration with the slashable tail,
//! and incompatibility declarations between services.

use std::{collections::BTreeSet, sync::Arc};

use cairn_primitives::{Address, Block, OperatorSetKey, StrategyId, U256, math};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{BURN_ADDRESS, Ctx, Event, State, TxError, TxKind, operators::OperatorError, tx::VetoConfig};

/// Who may register for a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Any operator.
    #[default]
    Open,
    /// Only operators the service allowed (`set_registration_allowed`).
    AllowList,
}

/// A registered service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// Metadata URI.
    pub metadata_uri: String,
}

/// The slasher and its pending change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlasherConfig {
    /// Slasher in force.
    pub slasher: Address,
    /// Slasher from `effect_block`.
    pub pending: Address,
    /// 0 when nothing is pending.
    pub effect_block: Block,
}

impl SlasherConfig {
    /// The slasher in force at `block`.
    pub fn at(&self, block: Block) -> Address {
        if self.effect_block != 0 && block >= self.effect_block { self.pending } else { self.slasher }
    }
}

/// The strategies of an operator set, ascending and distinct. Shared, not copied, when the set's
/// record is cloned: a slash journals the record it rewrites, and that copy allocates nothing.
/// Serialized as the ascending list an ordered set gives.
#[derive(Clone, PartialEq, Eq)]
pub struct StrategySet(Arc<[StrategyId]>);

impl std::fmt::Debug for StrategySet {
    /// Printed as the ordered set it replaces prints.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.iter()).finish()
    }
}

impl StrategySet {
    /// Whether `s` is in the set.
    pub fn contains(&self, s: &StrategyId) -> bool {
        self.0.binary_search(s).is_ok()
    }

    /// The strategies, ascending.
    pub fn iter(&self) -> impl Iterator<Item = &StrategyId> {
        self.0.iter()
    }

    /// Number of strategies.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set has no strategy.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The set of `list`, sorted (one allocation; duplicates are the caller's to refuse).
    fn sorted(list: &[StrategyId]) -> Self {
        let mut all: Arc<[StrategyId]> = list.iter().copied().collect();
        match Arc::get_mut(&mut all) {
            Some(v) => {
                v.sort_unstable();
                Self(all)
            }
            None => Self::from(list.to_vec()),
        }
    }

    /// A list to edit, ascending.
    fn to_vec(&self) -> Vec<StrategyId> {
        self.0.to_vec()
    }
}

impl From<Vec<StrategyId>> for StrategySet {
    /// Sorts and drops repeats, as collecting into an ordered set does.
    fn from(mut v: Vec<StrategyId>) -> Self {
        v.sort_unstable();
        v.dedup();
        Self(v.into())
    }
}

impl Serialize for StrategySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for StrategySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<StrategyId>::deserialize(d).map(Self::from)
    }
}

/// An operator set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSet {
    /// Strategies it accepts.
    pub strategies: StrategySet,
    /// Who may slash.
    pub slasher: SlasherConfig,
    /// Receiver of slashed tokens (none: burned).
    pub redistribution_recipient: Option<Address>,
    /// Registration policy.
    pub consent: Consent,
    /// Veto committee and window.
    pub veto: Option<VetoConfig>,
    /// Slashes so far (ids start at 1).
    pub slash_count: u32,
    /// Slash requests so far (ids start at 1).
    pub request_count: u32,
}

/// What a service declares about an operator set: its profit from corruption (in underlying
/// tokens) and the fraction of the set's allocated stake needed to corrupt it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRiskDeclaration {
    /// Profit from corrupting the set.
    pub prize: U256,
    /// Threshold numerator.
    pub threshold_num: u64,
    /// Threshold denominator.
    pub threshold_den: u64,
}

/// An operator's membership of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Currently registered.
    pub registered: bool,
    /// After deregistration, slashable through this block.
    pub slashable_until: Block,
}

/// Arguments of `create_operator_set`.
pub(crate) struct NewSet<'a> {
    pub(crate) strategies: &'a [StrategyId],
    pub(crate) slasher: Address,
    pub(crate) recipient: Option<Address>,
    pub(crate) consent: Consent,
    pub(crate) veto: Option<VetoConfig>,
}

/// Why a service or registration transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, strum::IntoStaticStr)]
pub enum ServiceError {
    /// A corruption threshold outside (0, 1].
    #[error("threshold {num}/{den} is not in (0, 1]")]
    InvalidRiskThreshold {
        /// Numerator.
        num: u64,
        /// Denominator.
        den: u64,
    },
    /// Not a registered service.
    #[error("{service} is not a registered service")]
    ServiceNotRegistered {
        /// The account.
        service: Address,
    },
    /// No such set.
    #[error("operator set {set} does not exist")]
    UnknownOperatorSet {
        /// The set.
        set: OperatorSetKey,
    },
    /// The set exists.
    #[error("operator set {set} already exists")]
    OperatorSetExists {
        /// The set.
        set: OperatorSetKey,
    },
    /// A zero address where one is required.
    #[error("{field} must not be the zero address")]
    ZeroAddress {
        /// Which field.
        field: &'static str,
    },
    /// Redistributing sets cannot hold the beacon strategy (slashed native ETH cannot move).
    #[error("redistributing set {set} cannot hold the beacon-chain strategy {strategy}")]
    NativeStrategyNotRedistributable {
        /// The set.
        set: OperatorSetKey,
        /// The beacon strategy.
        strategy: StrategyId,
    },
    /// Bad redistribution recipient.
    #[error("redistribution recipient {recipient} is invalid (zero or the burn address)")]
    InvalidRedistributionRecipient {
        /// The recipient.
        recipient: Address,
    },
    /// Veto window beyond the limit.
    #[error("veto window {window} exceeds the maximum {max}")]
    VetoWindowTooLong {
        /// Asked.
        window: Block,
        /// Limit.
        max: Block,
    },
    /// Strategy already in the set.
    #[error("strategy {strategy} already in operator set {set}")]
    StrategyAlreadyInOperatorSet {
        /// The set.
        set: OperatorSetKey,
        /// The strategy.
        strategy: StrategyId,
    },
    /// Strategy not in the set.
    #[error("strategy {strategy} is not in operator set {set}")]
    StrategyNotInOperatorSet {
        /// The set.
        set: OperatorSetKey,
        /// The strategy.
        strategy: StrategyId,
    },
    /// Still slashable by the set (registered, or inside the tail after deregistration).
    #[error("operator {operator} is still a member of (or slashable by) {set}")]
    AlreadyMemberOfSet {
        /// The operator.
        operator: Address,
        /// The set.
        set: OperatorSetKey,
    },
    /// Not registered.
    #[error("operator {operator} is not registered for {set}")]
    NotMemberOfSet {
        /// The operator.
        operator: Address,
        /// The set.
        set: OperatorSetKey,
    },
    /// The service has not allowed this operator.
    #[error("operator {operator} is not on the allow-list of {set}")]
    RegistrationNotApproved {
        /// The operator.
        operator: Address,
        /// The set.
        set: OperatorSetKey,
    },
    /// A service cannot be incompatible with itself.
    #[error("service {service} cannot declare itself incompatible")]
    SelfIncompatible {
        /// The service.
        service: Address,
    },
    /// An operator already secures both services.
    #[error("operator {operator} already allocates to both {service} and {other}")]
    IncompatibleOverlap {
        /// The declaring service.
        service: Address,
        /// The other service.
        other: Address,
        /// An operator allocated to both.
        operator: Address,
    },
    /// Caller is neither the operator's nor the service's authorised account.
    #[error("{caller} may not deregister {operator} from {set}")]
    DeregistrationNotAllowed {
        /// Caller.
        caller: Address,
        /// Operator.
        operator: Address,
        /// Set.
        set: OperatorSetKey,
    },
}

impl State {
    /// The operator set `set`.
    pub fn operator_set(&self, set: OperatorSetKey) -> Result<&OperatorSet, ServiceError> {
        self.operator_sets.get(&set).ok_or(ServiceError::UnknownOperatorSet { set })
    }

    pub(crate) fn require_service(&self, service: Address) -> Result<(), ServiceError> {
        if self.services.contains(&service) { Ok(()) } else { Err(ServiceError::ServiceNotRegistered { service }) }
    }

    /// The slasher of `set` in force at `block`.
    pub fn slasher(&self, set: OperatorSetKey, block: Block) -> Option<Address> {
        self.operator_sets.get(&set).map(|s| s.slasher.at(block))
    }

    /// The operator sets of a service, ascending by id.
    pub fn operator_sets_of(&self, service: Address) -> Vec<OperatorSetKey> {
        self.operator_sets.group(&service).map(|(k, _)| k).collect()
    }

    /// Whether `operator` is registered (not merely slashable) in `set`.
    pub fn is_registered(&self, operator: Address, set: OperatorSetKey) -> bool {
        self.registrations.get(&(operator, set)).is_some_and(|r| r.registered)
    }

    /// The registration record of an operator in a set.
    pub fn registration(&self, operator: Address, set: OperatorSetKey) -> Option<Registration> {
        self.registrations.get(&(operator, set)).copied()
    }

    /// Whether `a` and `b` are declared incompatible (by either side).
    pub fn are_incompatible(&self, a: Address, b: Address) -> bool {
        self.incompatible.contains(&(a, b)) || self.incompatible.contains(&(b, a))
    }

    pub(crate) fn tx_register_service(&mut self, ctx: &Ctx, uri: &str, ev: &mut Vec<Event>) -> Result<(), TxError> {
        self.services.insert(ctx.sender, Service { metadata_uri: uri.to_string() });
        ev.push(Event::ServiceRegistered { service: ctx.sender, metadata_uri: uri.to_string() });
        Ok(())
    }

    pub(crate) fn tx_create_operator_set(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        p: NewSet<'_>,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(set.service, ctx.sender, TxKind::CreateOperatorSet)?;
        self.require_service(set.service)?;
        if self.operator_sets.contains(&set) {
            return Err(ServiceError::OperatorSetExists { set }.into());
        }
        if p.slasher == Address::ZERO {
            return Err(ServiceError::ZeroAddress { field: "slasher" }.into());
        }
        if let Some(r) = p.recipient
            && (r == Address::ZERO || r == BURN_ADDRESS)
        {
            return Err(ServiceError::InvalidRedistributionRecipient { recipient: r }.into());
        }
        if let Some(v) = p.veto {
            let max = self.g.params.max_veto_window_blocks;
            if v.window > max {
                return Err(ServiceError::VetoWindowTooLong { window: v.window, max }.into());
            }
            if v.committee == Address::ZERO {
                return Err(ServiceError::ZeroAddress { field: "veto.committee" }.into());
            }
        }
        for (i, s) in p.strategies.iter().enumerate() {
            self.strategy(*s)?;
            if p.recipient.is_some() && self.is_beacon(*s) {
                return Err(ServiceError::NativeStrategyNotRedistributable { set, strategy: *s }.into());
            }
            // Every listed strategy exists, so the scan stops at a repeat within the first
            // (number of strategies + 1) entries: quadratic only in the strategies that exist.
            if p.strategies[..i].contains(s) {
                return Err(ServiceError::StrategyAlreadyInOperatorSet { set, strategy: *s }.into());
            }
        }
        let strategies = StrategySet::sorted(p.strategies);
        let slasher = SlasherConfig { slasher: p.slasher, pending: Address::ZERO, effect_block: 0 };
        ev.push(Event::OperatorSetCreated { set, redistribution_recipient: p.recipient });
        ev.push(Event::SlasherUpdated { set, slasher: p.slasher, effect_block: ctx.block });
        ev.extend(strategies.iter().map(|&strategy| Event::StrategyAddedToOperatorSet { set, strategy }));
        let info = OperatorSet {
            strategies,
            slasher,
            redistribution_recipient: p.recipient,
            consent: p.consent,
            veto: p.veto,
            slash_count: 0,
            request_count: 0,
        };
        self.operator_sets.insert(set, info);
        Ok(())
    }

    pub(crate) fn tx_add_strategies(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        strategies: &[StrategyId],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(set.service, ctx.sender, TxKind::AddStrategiesToOperatorSet)?;
        let mut info = self.operator_set(set)?.clone();
        let mut list = info.strategies.to_vec();
        for s in strategies {
            self.strategy(*s)?;
            if info.redistribution_recipient.is_some() && self.is_beacon(*s) {
                return Err(ServiceError::NativeStrategyNotRedistributable { set, strategy: *s }.into());
            }
            let Err(at) = list.binary_search(s) else {
                return Err(ServiceError::StrategyAlreadyInOperatorSet { set, strategy: *s }.into());
            };
            list.insert(at, *s);
            ev.push(Event::StrategyAddedToOperatorSet { set, strategy: *s });
        }
        info.strategies = StrategySet::from(list);
        self.operator_sets.insert(set, info);
        Ok(())
    }

    pub(crate) fn tx_remove_strategies(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        strategies: &[StrategyId],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(set.service, ctx.sender, TxKind::RemoveStrategiesFromOperatorSet)?;
        let mut info = self.operator_set(set)?.clone();
        let mut list = info.strategies.to_vec();
        for s in strategies {
            let Ok(at) = list.binary_search(s) else {
                return Err(ServiceError::StrategyNotInOperatorSet { set, strategy: *s }.into());
            };
            list.remove(at);
            ev.push(Event::StrategyRemovedFromOperatorSet { set, strategy: *s });
        }
        info.strategies = StrategySet::from(list);
        self.operator_sets.insert(set, info);
        Ok(())
    }

    pub(crate) fn tx_update_slasher(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        slasher: Address,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(set.service, ctx.sender, TxKind::UpdateSlasher)?;
        if slasher == Address::ZERO {
            return Err(ServiceError::ZeroAddress { field: "slasher" }.into());
        }
        let mut info = self.operator_set(set)?.clone();
        let mut cfg = info.slasher;
        if cfg.effect_block != 0 && ctx.block >= cfg.effect_block {
            cfg = SlasherConfig { slasher: cfg.pending, pending: Address::ZERO, effect_block: 0 };
        }
        // Re-proposing the pending slasher does not restart its timer.
        if !(cfg.effect_block != 0 && cfg.pending == slasher) {
            let delay = math::add_u64(self.g.params.slasher_configuration_delay_blocks, 1)?;
            cfg.pending = slasher;
            cfg.effect_block = math::add_u64(ctx.block, delay)?;
        }
        info.slasher = cfg;
        self.operator_sets.insert(set, info);
        ev.push(Event::SlasherUpdated { set, slasher, effect_block: cfg.effect_block });
        Ok(())
    }

    pub(crate) fn tx_set_allowed(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        operator: Address,
        allowed: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(set.service, ctx.sender, TxKind::SetRegistrationAllowed)?;
        self.operator_set(set)?;
        if allowed {
            self.allow_list.insert((set, operator), ());
        } else {
            self.allow_list.remove(&(set, operator));
        }
        ev.push(Event::RegistrationAllowedSet { set, operator, allowed });
        Ok(())
    }

    /// Services an operator currently allocates to (current or pending, not yet freed magnitude).
    pub fn allocated_services(&self, operator: Address) -> BTreeSet<Address> {
        self.allocations
            .group(&operator)
            .filter(|(_, a)| a.current != 0 || a.pending != 0)
            .map(|((_, set, _), _)| set.service)
            .collect()
    }

    /// What a service declares about one of its sets for the risk engine, if anything.
    pub fn set_risk(&self, set: OperatorSetKey) -> Option<SetRiskDeclaration> {
        self.set_risk.get(&set).copied()
    }

    /// Every declaration, by set.
    pub fn set_risks(&self) -> Vec<(OperatorSetKey, SetRiskDeclaration)> {
        self.set_risk.iter().map(|(k, v)| (*k, *v)).collect()
    }

    pub(crate) fn tx_declare_set_risk(
        &mut self,
        ctx: &Ctx,
        set: OperatorSetKey,
        d: SetRiskDeclaration,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(set.service, ctx.sender, TxKind::DeclareSetRisk)?;
        self.operator_set(set)?;
        if d.threshold_den == 0 || d.threshold_num == 0 || d.threshold_num > d.threshold_den {
            return Err(ServiceError::InvalidRiskThreshold { num: d.threshold_num, den: d.threshold_den }.into());
        }
        self.set_risk.insert(set, d);
        ev.push(Event::SetRiskDeclared {
            set,
            prize: d.prize,
            threshold_num: d.threshold_num,
            threshold_den: d.threshold_den,
        });
        Ok(())
    }

    pub(crate) fn tx_set_incompatible(
        &mut self,
        ctx: &Ctx,
        service: Address,
        other: Address,
        incompatible: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(service, ctx.sender, TxKind::SetIncompatibleService)?;
        self.require_service(service)?;
        if service == other {
            return Err(ServiceError::SelfIncompatible { service }.into());
        }
        if incompatible {
            self.require_service(other)?;
            // Keep the invariant: no operator may already secure both.
            for operator in self.operators.sorted().into_iter().map(|(a, _)| *a) {
                let services = self.allocated_services(operator);
                if services.contains(&service) && services.contains(&other) {
                    return Err(ServiceError::IncompatibleOverlap { service, other, operator }.into());
                }
            }
            self.incompatible.insert((service, other), ());
        } else {
            self.incompatible.remove(&(service, other));
        }
        ev.push(Event::IncompatibleServiceSet { service, other, incompatible });
        Ok(())
    }

    pub(crate) fn tx_register_for_sets(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        service: Address,
        ids: &[u32],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        self.check_can_call(operator, ctx.sender, TxKind::RegisterForOperatorSets)?;
        if !self.is_operator(operator) {
            return Err(OperatorError::NotOperator { account: operator }.into());
        }
        for id in ids {
            let set = OperatorSetKey { service, id: *id };
            let info = self.operator_set(set)?;
            if self.is_slashable_by(operator, set, ctx.block) {
                return Err(ServiceError::AlreadyMemberOfSet { operator, set }.into());
            }
            if info.consent == Consent::AllowList && !self.allow_list.contains(&(set, operator)) {
                return Err(ServiceError::RegistrationNotApproved { operator, set }.into());
            }
            self.registrations.insert((operator, set), Registration { registered: true, slashable_until: 0 });
            ev.push(Event::OperatorAddedToOperatorSet { operator, set });
        }
        Ok(())
    }

    pub(crate) fn tx_deregister_from_sets(
        &mut self,
        ctx: &Ctx,
        operator: Address,
        service: Address,
        ids: &[u32],
        ev: &mut Vec<Event>,
    ) -> Result<(), TxError> {
        for id in ids {
            let set = OperatorSetKey { service, id: *id };
            self.operator_set(set)?;
            let allowed = self.can_call(operator, ctx.sender, TxKind::DeregisterFromOperatorSets)
                || self.can_call(service, ctx.sender, TxKind::DeregisterFromOperatorSets);
            if !allowed {
                return Err(ServiceError::DeregistrationNotAllowed { caller: ctx.sender, operator, set }.into());
            }
            if !self.registration(operator, set).is_some_and(|r| r.registered) {
                return Err(ServiceError::NotMemberOfSet { operator, set }.into());
            }
            let slashable_until = math::add_u64(ctx.block, self.g.params.deallocation_delay_blocks)?;
            self.registrations.insert((operator, set), Registration { registered: false, slashable_until });
            ev.push(Event::OperatorRemovedFromOperatorSet { operator, set, slashable_until });
        }
        Ok(())
    }

    /// Whether `operator` can be slashed by `set` at `block`: registered, inside the tail after
    /// deregistration, or held by an open slash request.
    pub fn is_slashable_by(&self, operator: Address, set: OperatorSetKey, block: Block) -> bool {
        let reg = self.registration(operator, set).is_some_and(|r| r.registered || block <= r.slashable_until);
        reg || self.has_open_request(operator, set)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn a_strategy_set_reads_and_writes_as_an_ordered_set() {
        let ids = [7u32, 2, 9, 2, 0].map(StrategyId);
        let ordered: BTreeSet<StrategyId> = ids.iter().copied().collect();
        let set = StrategySet::from(ids.to_vec());
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), ordered.iter().copied().collect::<Vec<_>>());
        assert_eq!(postcard::to_allocvec(&set).unwrap(), postcard::to_allocvec(&ordered).unwrap());
        // Read back from a list in any order with repeats, as the ordered set would be.
        let unsorted = postcard::to_allocvec(&ids.to_vec()).unwrap();
        assert_eq!(postcard::from_bytes::<StrategySet>(&unsorted).unwrap(), set);
        assert!(set.contains(&StrategyId(9)) && !set.contains(&StrategyId(3)));
        assert_eq!((set.len(), set.is_empty()), (4, false));
        assert_eq!(
            StrategySet::sorted(&[StrategyId(5), StrategyId(1)]),
            StrategySet::from(vec![StrategyId(1), StrategyId(5)])
        );
    }

    #[test]
    fn a_cloned_record_shares_its_strategies() {
        let set = StrategySet::sorted(&[StrategyId(3)]);
        let copy = set.clone();
        assert!(Arc::ptr_eq(&set.0, &copy.0));
        let ordered: BTreeSet<StrategyId> = [StrategyId(3)].into_iter().collect();
        assert_eq!(format!("{set:?}"), format!("{ordered:?}"));
    }
}

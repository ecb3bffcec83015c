//! Services (AVSs) and operator sets: creation, strategies, the single slasher with its change
//! delay, registration with the service's consent and deregistration with the slashable tail,
//! and incompatibility declarations between services.

use std::collections::BTreeSet;

use cairn_primitives::{Address, Block, OperatorSetKey, StrategyId, U256, math};
use serde::{Deserialize, Serialize};

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

/// An operator set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSet {
    /// Strategies it accepts.
    pub strategies: BTreeSet<StrategyId>,
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
        let lo = OperatorSetKey { service, id: 0 };
        let hi = OperatorSetKey { service, id: u32::MAX };
        self.operator_sets.range(lo..=hi).map(|(k, _)| *k).collect()
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
        let mut strategies = BTreeSet::new();
        for s in p.strategies {
            self.strategy(*s)?;
            if p.recipient.is_some() && self.is_beacon(*s) {
                return Err(ServiceError::NativeStrategyNotRedistributable { set, strategy: *s }.into());
            }
            if !strategies.insert(*s) {
                return Err(ServiceError::StrategyAlreadyInOperatorSet { set, strategy: *s }.into());
            }
        }
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
        for s in strategies {
            self.strategy(*s)?;
            if info.redistribution_recipient.is_some() && self.is_beacon(*s) {
                return Err(ServiceError::NativeStrategyNotRedistributable { set, strategy: *s }.into());
            }
            if !info.strategies.insert(*s) {
                return Err(ServiceError::StrategyAlreadyInOperatorSet { set, strategy: *s }.into());
            }
            ev.push(Event::StrategyAddedToOperatorSet { set, strategy: *s });
        }
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
        for s in strategies {
            if !info.strategies.remove(s) {
                return Err(ServiceError::StrategyNotInOperatorSet { set, strategy: *s }.into());
            }
            ev.push(Event::StrategyRemovedFromOperatorSet { set, strategy: *s });
        }
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
        let lo = (operator, OperatorSetKey { service: Address::ZERO, id: 0 }, StrategyId(0));
        let hi = (operator, OperatorSetKey { service: Address::repeat_byte(0xff), id: u32::MAX }, StrategyId(u32::MAX));
        self.allocations
            .range(lo..=hi)
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

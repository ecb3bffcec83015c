//! The allocation optimizer: from the state machine's keeper inputs (`vault_keeper_inputs`) to
//! integer target weights that pass the vault's policy exactly as `vault_set_targets` checks it.
//!
//! **Model.** One weight `x_op` (a fraction of the vault) per registered operator, capped at its
//! policy cap; the buffer `b = 1 − Σ x_op` is at least the buffer the keeper wants (at least the
//! policy minimum). Each operator earns, per unit of weight and per year,
//!
//! ```text
//! net(op) = Σ_S f(op, S) · (reward_apr_bps(S) − 10⁴ · slash_probability(S))      (bps a year)
//! ```
//!
//! where `f(op, S)` is the fraction of the operator's stake S can slash (the WAD numbers the state
//! machine checks with). The objective is the expected net yield `Σ x_op · net(op)` less a convex,
//! piecewise-linear concentration penalty per operator: the interpolant of `λ · x²` on the
//! breakpoints of [`Config::penalty_breakpoints`]. Per service S the exposure `Σ x_op · f(op, S)`
//! stays within both the service's cap and the risk budget (the worst single-service loss is the
//! largest exposure). It is a linear program, solved with good_lp's pure-Rust `microlp` backend.
//!
//! **Presolve.** Operators that are unregistered, capped at zero, without a positive net yield,
//! or slashable at all by a service whose limit is zero (exposure is rounded up) keep weight zero
//! and get no variable; a penalty segment whose slope already exceeds the operator's yield gets no
//! variable either (it would stay empty); service rows that can never bind are dropped. Each
//! operator's weight is the sum of its segment variables, whose lengths are clipped to its cap, so
//! no cap row is needed.
//!
//! **Rounding.** The LP's weights are rounded to basis points by largest remainder (ties by
//! operator address, the buffer last), then repaired in integers: bps are taken from the
//! lowest-yield operators until the buffer is what the keeper wants, and while a service's exposure
//! — `ceil(Σ bps · f_wad / 1e18)`, in U256, exactly the state machine's `exposure_bps` — is above
//! its limit, the operator contributing most to it gives the buffer just enough bps to bring it
//! back. The result is re-checked with [`check_targets`], an integer mirror of the state
//! machine's `check_targets`; if that ever failed, the all-buffer targets are returned instead.
//!
//! Everything is sorted by address before it is used, so the same inputs give the same output.

use std::collections::BTreeMap;

use cairn_primitives::{Address, Block, MathError, Timestamp, U256, VaultId, WAD, serde_dec};
use cairn_state::{
    State, Tx,
    vault::{TargetWeight, tx::SetTargets},
};
use serde::{Deserialize, Serialize};

mod integer;
mod lp;

/// Basis points in one (the whole vault).
pub const BPS: u16 = 10_000;

/// One operator the vault may weigh, as `vault_keeper_inputs` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorInput {
    /// The operator.
    pub operator: Address,
    /// Its cap in the policy (bps).
    pub cap_bps: u16,
    /// Whether it is a registered operator now (an unregistered one gets weight zero).
    pub registered: bool,
    /// Per service, the fraction (WAD, rounded up, at most 1e18) of its stake the service can slash.
    #[serde(with = "wad_pairs")]
    pub fractions: Vec<(Address, U256)>,
}

/// One service the vault's operators secure, as `vault_keeper_inputs` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInput {
    /// The service.
    pub service: Address,
    /// Its exposure cap (bps).
    pub cap_bps: u16,
    /// Its rewards over the window, annualised, per unit of stake it can slash (bps a year).
    pub reward_apr_bps: u64,
    /// Value of the stake it can slash across all operators.
    #[serde(with = "serde_dec")]
    pub secured_value: U256,
    /// Its largest declared profit from corruption, if any.
    #[serde(with = "serde_dec::opt", default)]
    pub declared_prize: Option<U256>,
}

/// The optimizer's input: the JSON of the state query `vault_keeper_inputs`
/// (`cairn_state::vault::queries::KeeperInputs`), deserialized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The vault.
    pub vault: VaultId,
    /// Net assets (value).
    #[serde(with = "serde_dec")]
    pub total_assets: U256,
    /// Policy: smallest buffer (bps).
    pub min_buffer_bps: u16,
    /// Policy: risk budget, the largest single-service loss (bps).
    pub risk_budget_bps: u16,
    /// The window the reward rates were measured over (seconds).
    pub window_seconds: u64,
    /// Operators allowed by the policy.
    pub operators: Vec<OperatorInput>,
    /// Services any allowed operator can be slashed by.
    pub services: Vec<ServiceInput>,
}

impl Problem {
    /// Reads the JSON of a `vault_keeper_inputs` answer.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, OptimizeError> {
        Ok(Self::deserialize(value)?)
    }

    /// Asks the state for the keeper inputs of `vault` at `block` (reward rates over the `window`
    /// seconds before `now`) and converts them.
    pub fn from_state(
        state: &State,
        vault: VaultId,
        block: Block,
        now: Timestamp,
        window: u64,
    ) -> Result<Self, OptimizeError> {
        let inputs =
            state.vault_keeper_inputs(vault, block, now, window).map_err(|e| OptimizeError::State(Box::new(e)))?;
        Self::from_json(&serde_json::to_value(&inputs)?)
    }
}

/// The keeper's preferences (everything the state does not know).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Annual probability that a service slashes all it can, for every service not overridden.
    pub slash_probability: f64,
    /// Per-service annual slash probabilities.
    pub slash_probability_overrides: BTreeMap<Address, f64>,
    /// Weight `λ` of the concentration penalty, in bps a year: an operator at weight `x` costs
    /// about `λ · x²` (the piecewise-linear interpolant on `penalty_breakpoints`).
    pub concentration_penalty_bps: f64,
    /// The penalty's breakpoints (fractions of the vault), strictly increasing, ending at 1.
    pub penalty_breakpoints: Vec<f64>,
    /// The buffer the keeper wants (bps); `None`, or anything below it: the policy minimum.
    pub buffer_bps: Option<u16>,
    /// Cap assumed for a service an operator's fractions name but the inputs do not list (its
    /// allocation is only pending, so its policy cap is not reported); 0 keeps such operators out.
    pub unknown_service_cap_bps: u16,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            slash_probability: 0.01,
            slash_probability_overrides: BTreeMap::new(),
            concentration_penalty_bps: 200.0,
            penalty_breakpoints: vec![0.05, 0.15, 0.30, 1.0],
            buffer_bps: None,
            unknown_service_cap_bps: 0,
        }
    }
}

impl Config {
    /// The annual slash probability used for `service`.
    pub fn slash_probability_of(&self, service: Address) -> f64 {
        self.slash_probability_overrides.get(&service).copied().unwrap_or(self.slash_probability)
    }

    fn validate(&self) -> Result<(), OptimizeError> {
        let probability = |p: f64| p.is_finite() && (0.0..=1.0).contains(&p);
        if !probability(self.slash_probability) || !self.slash_probability_overrides.values().all(|p| probability(*p)) {
            return Err(OptimizeError::InvalidConfig("slash probabilities must be within [0, 1]"));
        }
        if !self.concentration_penalty_bps.is_finite() || self.concentration_penalty_bps < 0.0 {
            return Err(OptimizeError::InvalidConfig("the concentration penalty must be finite and non-negative"));
        }
        let b = &self.penalty_breakpoints;
        let increasing = b.iter().try_fold(0.0_f64, |prev, &x| (x.is_finite() && x > prev).then_some(x)).is_some();
        if !increasing || b.last() != Some(&1.0) {
            return Err(OptimizeError::InvalidConfig("penalty breakpoints must increase strictly from above 0 to 1"));
        }
        Ok(())
    }
}

/// Integer targets that pass the policy, with what the optimizer expects of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// Buffer weight (bps).
    pub buffer_bps: u16,
    /// Operator weights, ascending by operator; zero weights are omitted (the rebalance treats
    /// an operator without a target as target zero).
    pub weights: Vec<TargetWeight>,
    /// The worst single-service loss of these weights (bps), as the state machine computes it.
    pub worst_loss_bps: u16,
    /// The service with that loss (ties: the lowest address); `None` when nothing is exposed.
    pub worst_service: Option<Address>,
    /// Exposure per service (bps, rounded up), ascending by service.
    pub exposures: Vec<(Address, u16)>,
    /// Expected restaking yield of the vault net of expected slashing (bps a year; base staking
    /// excluded), for the rounded weights.
    pub expected_net_apr_bps: f64,
    /// The objective for the rounded weights: expected net yield less the concentration penalty.
    pub objective: f64,
    /// The LP's optimum before rounding (an upper bound of `objective`).
    pub lp_objective: f64,
    /// Bps the integer repair moved to the buffer after rounding.
    pub repaired_bps: u16,
}

impl Solution {
    /// The keeper's `vault_set_targets` transaction for these weights.
    pub fn to_tx(&self, vault: VaultId) -> Tx {
        Tx::VaultSetTargets(SetTargets { vault, buffer_bps: self.buffer_bps, operators: self.weights.clone() })
    }
}

/// What an integer check of targets found (mirrors the state's `Targets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    /// The worst single-service loss (bps).
    pub worst_loss_bps: u16,
    /// The service with that loss (ties: the lowest address).
    pub worst_service: Option<Address>,
    /// Exposure per service (bps, rounded up), ascending by service.
    pub exposures: Vec<(Address, u16)>,
}

/// Why targets break the policy (the integer check's refusal, as the state machine would name it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum PolicyViolation {
    /// The weights and the buffer do not sum to 10 000.
    #[error("targets sum to {sum}, not 10000")]
    DoesNotSum {
        /// Their sum.
        sum: u64,
    },
    /// An operator appears twice.
    #[error("operator {operator} appears twice")]
    DuplicateTarget {
        /// The operator.
        operator: Address,
    },
    /// The buffer is below the policy minimum.
    #[error("buffer {buffer_bps} bps below the minimum {min_bps}")]
    BufferBelowMinimum {
        /// The buffer.
        buffer_bps: u16,
        /// The minimum.
        min_bps: u16,
    },
    /// An operator the policy does not allow.
    #[error("operator {operator} is not allowed")]
    OperatorNotAllowed {
        /// The operator.
        operator: Address,
    },
    /// An operator above its cap.
    #[error("operator {operator} at {bps} bps above its cap {cap_bps}")]
    OperatorCapExceeded {
        /// The operator.
        operator: Address,
        /// Its weight.
        bps: u16,
        /// Its cap.
        cap_bps: u16,
    },
    /// A positive weight on an operator that is not registered.
    #[error("{operator} is not a registered operator")]
    NotAnOperator {
        /// The operator.
        operator: Address,
    },
    /// A service's exposure above its cap.
    #[error("exposure to {service} is {exposure_bps} bps, above its cap {cap_bps}")]
    ServiceCapExceeded {
        /// The service.
        service: Address,
        /// The exposure.
        exposure_bps: u16,
        /// The cap.
        cap_bps: u16,
    },
    /// The worst single-service loss above the risk budget.
    #[error("worst loss {loss_bps} bps (service {service}) above the risk budget {budget_bps}")]
    RiskBudgetExceeded {
        /// The service.
        service: Address,
        /// The loss.
        loss_bps: u16,
        /// The budget.
        budget_bps: u16,
    },
}

/// Why the optimizer produced no targets.
#[derive(Debug, thiserror::Error)]
pub enum OptimizeError {
    /// The inputs are not a `vault_keeper_inputs` answer.
    #[error("invalid keeper inputs: {0}")]
    Json(#[from] serde_json::Error),
    /// The state refused the keeper-inputs query.
    #[error("keeper inputs query failed: {0}")]
    State(Box<cairn_state::TxError>),
    /// An operator appears twice in the inputs.
    #[error("operator {0} appears twice in the inputs")]
    DuplicateOperator(Address),
    /// A service appears twice in the inputs (in the service list or in one operator's fractions).
    #[error("service {0} appears twice in the inputs")]
    DuplicateService(Address),
    /// A slashable fraction above one.
    #[error("operator {operator}: fraction {fraction} for service {service} is above 1e18")]
    FractionAboveOne {
        /// The operator.
        operator: Address,
        /// The service.
        service: Address,
        /// The fraction (WAD).
        fraction: U256,
    },
    /// The configuration is unusable.
    #[error("invalid optimizer config: {0}")]
    InvalidConfig(&'static str),
    /// The LP solver failed.
    #[error("LP solver failed: {0}")]
    Solver(String),
    /// Integer arithmetic overflowed (cannot happen with fractions ≤ 1e18 and weights ≤ 10 000).
    #[error(transparent)]
    Math(#[from] MathError),
    /// Targets break the policy (from [`check_targets`]).
    #[error("targets break the policy: {0}")]
    Policy(PolicyViolation),
    /// Not even the all-buffer targets pass the policy.
    #[error("no targets pass the policy, not even all-buffer: {0}")]
    NoFeasibleTargets(PolicyViolation),
}

/// An operator, normalised: fractions by service index, and its yield.
#[derive(Debug, Clone)]
struct Op {
    operator: Address,
    cap_bps: u16,
    registered: bool,
    /// (service index, WAD fraction, the same as f64), ascending by service.
    fractions: Vec<(usize, U256, f64)>,
    /// Expected net yield per unit of weight (bps a year).
    net_bps: f64,
}

/// A service, normalised.
#[derive(Debug, Clone)]
struct Svc {
    service: Address,
    /// The cap the state machine checks it against (for an unlisted service, the config's guess).
    cap_bps: u16,
}

/// The problem, sorted by address and indexed.
#[derive(Debug, Clone)]
struct Model {
    ops: Vec<Op>,
    svcs: Vec<Svc>,
    min_buffer_bps: u16,
    risk_budget_bps: u16,
    /// The buffer the keeper wants: at least the policy minimum, at most 10 000.
    desired_buffer_bps: u16,
    /// Penalty segments: (start, end, slope in bps a year per unit weight).
    segments: Vec<(f64, f64, f64)>,
}

fn wad_to_f64(w: U256) -> f64 {
    // Fractions are checked to be ≤ 1e18, so they fit in a u128.
    u128::try_from(w).map_or(f64::INFINITY, |v| v as f64) / 1e18
}

impl Model {
    fn new(p: &Problem, cfg: &Config) -> Result<Self, OptimizeError> {
        cfg.validate()?;
        let mut listed: BTreeMap<Address, &ServiceInput> = BTreeMap::new();
        for s in &p.services {
            if listed.insert(s.service, s).is_some() {
                return Err(OptimizeError::DuplicateService(s.service));
            }
        }
        let mut ops_in: Vec<&OperatorInput> = p.operators.iter().collect();
        ops_in.sort_by_key(|o| o.operator);
        if let Some(w) = ops_in.windows(2).find(|w| w[0].operator == w[1].operator) {
            return Err(OptimizeError::DuplicateOperator(w[0].operator));
        }
        // Every service anyone names, listed or not, ascending.
        let mut names: Vec<Address> = listed.keys().copied().collect();
        names.extend(ops_in.iter().flat_map(|o| o.fractions.iter().map(|(s, _)| *s)));
        names.sort_unstable();
        names.dedup();
        let index: BTreeMap<Address, usize> = names.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let svcs: Vec<Svc> = names
            .iter()
            .map(|s| Svc { service: *s, cap_bps: listed.get(s).map_or(cfg.unknown_service_cap_bps, |l| l.cap_bps) })
            .collect();
        // Yield per unit of stake slashable by each service (bps a year).
        let margin: Vec<f64> = names
            .iter()
            .map(|s| {
                let apr = listed.get(s).map_or(0.0, |l| l.reward_apr_bps as f64);
                apr - f64::from(BPS) * cfg.slash_probability_of(*s)
            })
            .collect();
        let mut ops = Vec::with_capacity(ops_in.len());
        for o in ops_in {
            let mut fractions = Vec::with_capacity(o.fractions.len());
            for (service, wad) in &o.fractions {
                if *wad > WAD {
                    return Err(OptimizeError::FractionAboveOne {
                        operator: o.operator,
                        service: *service,
                        fraction: *wad,
                    });
                }
                let i = index.get(service).copied().ok_or(OptimizeError::DuplicateService(*service))?;
                fractions.push((i, *wad, wad_to_f64(*wad)));
            }
            fractions.sort_by_key(|f| f.0);
            if let Some(w) = fractions.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(OptimizeError::DuplicateService(names[w[0].0]));
            }
            let net_bps = fractions.iter().map(|(i, _, f)| f * margin[*i]).sum();
            ops.push(Op { operator: o.operator, cap_bps: o.cap_bps, registered: o.registered, fractions, net_bps });
        }
        let lambda = cfg.concentration_penalty_bps;
        let mut segments = Vec::with_capacity(cfg.penalty_breakpoints.len());
        let mut start = 0.0;
        for &end in &cfg.penalty_breakpoints {
            // The chord of λ·x² over [start, end].
            segments.push((start, end, lambda * (start + end)));
            start = end;
        }
        let desired_buffer_bps = cfg.buffer_bps.unwrap_or(0).max(p.min_buffer_bps).min(BPS);
        Ok(Self {
            ops,
            svcs,
            min_buffer_bps: p.min_buffer_bps,
            risk_budget_bps: p.risk_budget_bps,
            desired_buffer_bps,
            segments,
        })
    }

    /// The limit on a service's exposure: its cap and the risk budget (bps).
    fn limit_bps(&self, svc: usize) -> u16 {
        self.svcs[svc].cap_bps.min(self.risk_budget_bps)
    }

    /// Whether an operator may take weight at all (and is worth it). Exposure is rounded up, so
    /// an operator any service with a zero limit can slash at all must stay at zero.
    fn usable(&self, op: usize) -> bool {
        let o = &self.ops[op];
        o.registered
            && o.cap_bps > 0
            && o.net_bps > 0.0
            && o.fractions.iter().all(|(s, wad, _)| wad.is_zero() || self.limit_bps(*s) > 0)
    }

    /// The concentration penalty of weight `x` (bps a year).
    fn penalty(&self, x: f64) -> f64 {
        self.segments.iter().map(|(a, b, slope)| slope * (x.min(*b) - a).max(0.0)).sum()
    }

    /// Expected net yield and objective of integer weights (bps a year).
    fn score(&self, bps: &[u16]) -> (f64, f64) {
        bps.iter().zip(&self.ops).fold((0.0, 0.0), |(net, obj), (b, o)| {
            let x = f64::from(*b) / f64::from(BPS);
            (net + x * o.net_bps, obj + x * o.net_bps - self.penalty(x))
        })
    }
}

/// Integer targets for `p` that pass its policy, maximising expected net yield less a
/// concentration penalty (see the module documentation for the model and the rounding).
pub fn optimize(p: &Problem, cfg: &Config) -> Result<Solution, OptimizeError> {
    let model = Model::new(p, cfg)?;
    let (x, lp_objective) = lp::solve(&model)?;
    let mut bps = integer::round(&model, &x);
    let (mut buffer, repaired_bps) = integer::repair(&model, &mut bps)?;
    let checked = match integer::check(&model, buffer, &bps)? {
        Ok(c) => c,
        Err(_) => {
            // Cannot happen (the repair only moves bps into the buffer until every check
            // passes), but the all-buffer targets are always the safe answer.
            buffer = BPS;
            bps.iter_mut().for_each(|b| *b = 0);
            integer::check(&model, buffer, &bps)?.map_err(OptimizeError::NoFeasibleTargets)?
        }
    };
    let (expected_net_apr_bps, objective) = model.score(&bps);
    let weights = model
        .ops
        .iter()
        .zip(&bps)
        .filter(|(_, b)| **b > 0)
        .map(|(o, b)| TargetWeight { operator: o.operator, bps: *b })
        .collect();
    Ok(Solution {
        buffer_bps: buffer,
        weights,
        worst_loss_bps: checked.worst_loss_bps,
        worst_service: checked.worst_service,
        exposures: checked.exposures,
        expected_net_apr_bps,
        objective,
        lp_objective,
        repaired_bps,
    })
}

/// Checks targets against the policy described by `p` in integers, exactly as the state
/// machine's `check_targets` does (plus the sum and duplicate checks of `vault_set_targets`);
/// services missing from `p.services` are held to `cfg.unknown_service_cap_bps`. A refusal is
/// [`OptimizeError::Policy`].
pub fn check_targets(
    p: &Problem,
    cfg: &Config,
    buffer_bps: u16,
    weights: &[TargetWeight],
) -> Result<Checked, OptimizeError> {
    let model = Model::new(p, cfg)?;
    let mut sorted = weights.to_vec();
    sorted.sort_by_key(|w| w.operator);
    if let Some(w) = sorted.windows(2).find(|w| w[0].operator == w[1].operator) {
        return Err(OptimizeError::Policy(PolicyViolation::DuplicateTarget { operator: w[0].operator }));
    }
    let mut bps = vec![0u16; model.ops.len()];
    for w in &sorted {
        match model.ops.binary_search_by_key(&w.operator, |o| o.operator) {
            Ok(i) => bps[i] = w.bps,
            Err(_) => return Err(OptimizeError::Policy(PolicyViolation::OperatorNotAllowed { operator: w.operator })),
        }
    }
    integer::check(&model, buffer_bps, &bps)?.map_err(OptimizeError::Policy)
}

/// Serde for `[[service, "fraction"], …]`: addresses with WAD amounts written as decimal strings.
mod wad_pairs {
    use cairn_primitives::{Address, U256, serde_dec};
    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    struct Dec(#[serde(with = "serde_dec")] U256);

    pub(super) fn serialize<S: Serializer>(v: &[(Address, U256)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|(a, f)| (a, f.to_string())))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(Address, U256)>, D::Error> {
        Ok(Vec::<(Address, Dec)>::deserialize(d)?.into_iter().map(|(a, f)| (a, f.0)).collect())
    }
}

#[cfg(test)]
mod tests;

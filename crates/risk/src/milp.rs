//! The exact security check as a mixed-integer program (reference §7.1), for graphs beyond
//! enumeration: max Σ π_s x_s − Σ σ_v y_v s.t. Σ_{v∈N(s)} σ_v y_v ≥ α_s σ_{N(s)} x_s, Σ x ≥ 1,
//! x, y binary. Solved in floating point by microlp (pure Rust, through good_lp); the solution's
//! validator set is then re-evaluated exactly, so a reported witness is always exact.
//! `security_deep` (the CLI's `--deep`) runs the exact branch-and-bound of `certify` first: a
//! proof of security ends it; otherwise the MILP looks for the best attack, and its "secure"
//! stands on the solver's optimum only when the exact search stopped at its node limit.

// Floating-point model building (good_lp expressions): no integer arithmetic to overflow here.
#![allow(clippy::arithmetic_side_effects)]

use cairn_primitives::U256;
use good_lp::{Expression, Solution, SolverModel, constraint, variable, variables};
// HiGHS when it is built in (the default), else microlp (pure Rust, much slower on large programs).
#[cfg(feature = "highs")]
use good_lp::highs as backend;
#[cfg(not(feature = "highs"))]
use good_lp::microlp as backend;

/// HiGHS on one thread (every HiGHS in the process must agree on its thread count, and the
/// certificate has the other core) with tight feasibility tolerances, since the programs'
/// big-M rows amplify a violation.
#[cfg(feature = "highs")]
fn tuned(p: good_lp::solvers::highs::HighsProblem) -> good_lp::solvers::highs::HighsProblem {
    p.set_threads(1)
        .set_option("mip_feasibility_tolerance", 1e-9)
        .set_option("primal_feasibility_tolerance", 1e-9)
        .set_option("random_seed", 0)
}

/// microlp takes no options.
#[cfg(not(feature = "highs"))]
fn tuned(p: good_lp::solvers::microlp::MicroLpProblem) -> good_lp::solvers::microlp::MicroLpProblem {
    p
}
use serde::Serialize;

use num_bigint::BigInt;
use num_rational::BigRational;

use crate::{
    exact::Attack,
    graph::Graph,
    leverage::{Exact, big},
};

/// The MILP's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilpReport {
    /// The solver's optimum, in units of the largest stake (floating point); none without
    /// services.
    pub optimum: Option<f64>,
    /// The optimal coalition re-evaluated exactly (A = every service its validators corrupt).
    pub witness: Option<Attack>,
    /// Exactly profitable witness ⇒ insecure; otherwise secure according to the solver.
    pub secure: bool,
    /// γ* by Dinkelbach iterations (exact ratio of the best coalition found).
    pub slack: Option<Exact>,
}

#[allow(clippy::cast_precision_loss)] // floats only inside the solver; the witness is re-checked exactly
fn f(v: U256, scale: f64) -> f64 {
    let x: f64 = v.to_string().parse().unwrap_or(f64::MAX);
    x / scale
}

/// One solve of max λ·Σ π_s x_s − Σ σ_v y_v under the thresholds and Σ x ≥ 1; returns the
/// solver's optimum (in units of `scale`) and the validator set it chose.
fn solve(g: &Graph, lambda: f64, scale: f64) -> Result<(f64, Vec<usize>), String> {
    let mut vars = variables!();
    let x: Vec<_> = g.prize.iter().map(|_| vars.add(variable().binary())).collect();
    let y: Vec<_> = g.stake.iter().map(|_| vars.add(variable().binary())).collect();
    let mut objective = Expression::from(0.0);
    for (s, p) in g.prize.iter().enumerate() {
        objective += lambda * f(*p, scale) * x[s];
    }
    for (v, st) in g.stake.iter().enumerate() {
        objective -= f(*st, scale) * y[v];
    }
    let mut model = tuned(vars.maximise(objective.clone()).using(backend));
    let mut any = Expression::from(0.0);
    for (s, edges) in g.service_edges.iter().enumerate() {
        let t = g.threshold[s];
        #[allow(clippy::cast_precision_loss)]
        let alpha = t.num as f64 / t.den as f64;
        let mut lhs = Expression::from(0.0);
        for (v, _) in edges {
            lhs += f(g.stake[*v], scale) * y[*v];
        }
        let need = alpha * f(g.service_stake(s), scale);
        model = model.with(constraint!(lhs - need * x[s] >= 0.0));
        any += x[s];
    }
    model = model.with(constraint!(any >= 1.0));
    let sol = model.solve().map_err(|e| format!("MILP solver: {e}"))?;
    Ok((sol.eval(&objective), (0..g.stake.len()).filter(|v| sol.value(y[*v]) > 0.5).collect()))
}

/// The exact coalition of a validator set: (A*(B), π_A, σ_B).
fn coalition(g: &Graph, b: &[usize]) -> (Vec<usize>, U256, U256) {
    let mut in_b = vec![false; g.stake.len()];
    for v in b {
        in_b[*v] = true;
    }
    crate::bounds::evaluate(g, &in_b)
}

/// γ* by Dinkelbach iterations (reference §7.2): start from the all-in coalition's σ_V/π_S and
/// move λ to the exact ratio of each solution's coalition until the program finds none lower.
/// The reported value is the exact ratio of a real coalition, so it is an upper bound on γ*
/// (equal to it when the solver is optimal).
fn slack(g: &Graph, scale: f64) -> Result<Option<Exact>, String> {
    let all: Vec<usize> = (0..g.stake.len()).collect();
    let (services, prize, cost) = coalition(g, &all);
    if services.is_empty() {
        return Ok(None);
    }
    let (mut best_p, mut best_c) = (prize, cost);
    for _ in 0..32 {
        let lambda = f(best_c, 1.0) / f(best_p, 1.0);
        let (_, b) = solve(g, lambda, scale)?;
        let (services, p, c) = coalition(g, &b);
        // Strictly lower ratio c/p < best_c/best_p (exact, cross-multiplied)?
        if services.is_empty() || c.saturating_mul(best_p) >= best_c.saturating_mul(p) {
            break;
        }
        (best_p, best_c) = (p, c);
    }
    let r = BigRational::new(big(best_c), big(best_p)) - BigRational::from_integer(BigInt::from(1));
    Ok(Some(Exact::from(&r)))
}

/// Solves the security MILP./// Solves the security MILP.
pub fn security_milp(g: &Graph) -> Result<MilpReport, String> {
    if g.prize.is_empty() {
        return Ok(MilpReport { optimum: None, witness: None, secure: true, slack: None });
    }
    let scale = g.stake.iter().chain(&g.prize).map(|v| f(*v, 1.0)).fold(1.0, f64::max);
    let (optimum, b) = solve(g, 1.0, scale)?;
    let (services, prize, cost) = coalition(g, &b);
    let witness = (!services.is_empty()).then(|| crate::exact::attack_of(g, &services, &b, prize, cost));
    let secure = prize <= cost || services.is_empty();
    let slack = slack(g, scale)?;
    Ok(MilpReport { optimum: Some(optimum), witness, secure, slack })
}

/// The elastic model's security program for an explicit graph (reference §4.3, Bar-Zur & Eyal):
/// validators commit a(v, s) ≤ w(v, s) to attacking services; a service falls when the committed
/// stake reaches θ_s·W_s; a validator forfeits c_v = min(σ_v, Σ_s a(v, s)) (stake is lost once).
/// Returns the solver's best profit, in the graph's units (floating point: the elastic attack is
/// continuous, so there is no finite witness to re-check exactly).
pub fn elastic_best_profit(g: &Graph) -> Result<f64, String> {
    Ok(elastic_attack(g)?.map_or(f64::NEG_INFINITY, |a| a.profit))
}

/// The elastic program's best attack: its profit (solver, graph units), the services it takes
/// and each edge's commitment a(v, s) (graph units, floating point).
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticSolution {
    /// The solver's optimum, in the graph's integer units.
    pub profit: f64,
    /// Services attacked.
    pub services: Vec<usize>,
    /// (service, validator, a(v, s)) for every edge with a positive commitment.
    pub commitments: Vec<(usize, usize, f64)>,
}

/// Solves the elastic security program (see [`elastic_best_profit`]); none without services.
pub fn elastic_attack(g: &Graph) -> Result<Option<ElasticSolution>, String> {
    if g.prize.is_empty() {
        return Ok(None);
    }
    let scale = g.stake.iter().chain(&g.prize).map(|v| f(*v, 1.0)).fold(1.0, f64::max);
    let mut vars = variables!();
    let x: Vec<_> = g.prize.iter().map(|_| vars.add(variable().binary())).collect();
    let c: Vec<_> = g.stake.iter().map(|s| vars.add(variable().min(0.0).max(f(*s, scale)))).collect();
    let z: Vec<_> = g.stake.iter().map(|_| vars.add(variable().binary())).collect();
    // a(v, s) per edge.
    let mut per_validator: Vec<Vec<good_lp::Variable>> = vec![Vec::new(); g.stake.len()];
    let mut per_service: Vec<Vec<good_lp::Variable>> = vec![Vec::new(); g.prize.len()];
    let mut edge_vars = Vec::new();
    for (s, edges) in g.service_edges.iter().enumerate() {
        for (v, w) in edges {
            let a = vars.add(variable().min(0.0).max(f(*w, scale)));
            per_validator[*v].push(a);
            per_service[s].push(a);
            edge_vars.push((s, *v, a));
        }
    }
    let mut objective = Expression::from(0.0);
    for (s, p) in g.prize.iter().enumerate() {
        objective += f(*p, scale) * x[s];
    }
    for cv in &c {
        objective -= *cv;
    }
    let mut model = tuned(vars.maximise(objective.clone()).using(backend));
    let total_w = |s: usize| g.service_edges[s].iter().fold(0.0, |acc, (_, w)| acc + f(*w, scale));
    #[allow(clippy::cast_precision_loss)]
    let theta = |s: usize| g.threshold[s].num as f64 / g.threshold[s].den as f64;
    let big_f = (0..g.prize.len()).map(|s| theta(s) * total_w(s)).fold(0.0, f64::max);
    let big_c = (0..g.stake.len())
        .map(|v| f(g.stake[v], scale).max(per_validator[v].len() as f64 * f(g.stake[v], scale)))
        .fold(0.0, f64::max)
        + 1.0;
    let mut any = Expression::from(0.0);
    for s in 0..g.prize.len() {
        let committed: Expression = per_service[s].iter().fold(Expression::from(0.0), |e, a| e + *a);
        model = model.with(constraint!(committed + big_f * (1.0 - x[s]) >= theta(s) * total_w(s)));
        any += x[s];
    }
    model = model.with(constraint!(any >= 1.0));
    for v in 0..g.stake.len() {
        let spent: Expression = per_validator[v].iter().fold(Expression::from(0.0), |e, a| e + *a);
        let sigma = f(g.stake[v], scale);
        model = model.with(constraint!(c[v] <= spent.clone()));
        model = model.with(constraint!(c[v] >= sigma - big_c * z[v]));
        model = model.with(constraint!(c[v] >= spent - big_c * (1.0 - z[v])));
    }
    let sol = model.solve().map_err(|e| format!("MILP solver: {e}"))?;
    Ok(Some(ElasticSolution {
        profit: sol.eval(&objective) * scale,
        services: (0..g.prize.len()).filter(|s| sol.value(x[*s]) > 0.5).collect(),
        commitments: edge_vars
            .iter()
            .map(|(s, v, a)| (*s, *v, sol.value(*a) * scale))
            .filter(|(_, _, a)| *a > 0.0)
            .collect(),
    }))
}

/// How much an elastic attack must beat −L by, in units of the largest amount, to count: well
/// above HiGHS's feasibility tolerances, so a tie stays secure.
pub const STRICT: f64 = 1e-6;

/// Most services `elastic_robustness` enumerates Byzantine sets over (2^S security programs).
pub const ROBUSTNESS_LIMIT: usize = 12;

/// The network after the services in `byzantine` slash everything allocated to them: remaining
/// stake σ′_v = max(0, σ_v − Σ_{s∈Y} w(v, s)), remaining allocations w′ = min(w, σ′), Y removed
/// (validators left with nothing drop out).
pub fn after_byzantine(g: &Graph, byzantine: &[usize]) -> Result<Graph, crate::graph::GraphError> {
    use crate::graph::{EdgeSpec, GraphSpec, ServiceSpec, ValidatorSpec};
    let mut left = g.stake.clone();
    for s in byzantine {
        for (v, w) in &g.service_edges[*s] {
            left[*v] = left[*v].saturating_sub(*w);
        }
    }
    let validators = (0..g.stake.len())
        .filter(|v| !left[*v].is_zero())
        .map(|v| ValidatorSpec { name: g.validator_names[v].clone(), stake: left[v].into() })
        .collect();
    let kept: Vec<usize> = (0..g.prize.len()).filter(|s| !byzantine.contains(s)).collect();
    let services = kept
        .iter()
        .map(|s| ServiceSpec {
            name: g.service_names[*s].clone(),
            prize: g.prize[*s].into(),
            threshold: g.threshold[*s],
        })
        .collect();
    let edges = kept
        .iter()
        .flat_map(|s| g.service_edges[*s].iter().map(move |(v, w)| (*s, *v, *w)))
        .filter(|(_, v, _)| !left[*v].is_zero())
        .map(|(s, v, w)| EdgeSpec {
            service: g.service_names[s].clone(),
            validator: g.validator_names[v].clone(),
            allocation: Some(w.min(left[v]).into()),
        })
        .collect();
    let mut after = Graph::from_spec(&GraphSpec { validators, services, edges, budget: None })?;
    // Already in the graph's integer units: keep its scale and budget.
    (after.decimals, after.budget) = (g.decimals, g.budget);
    Ok(after)
}

/// Exact robustness weight π_s/θ_s of a service.
fn weight(g: &Graph, s: usize) -> BigRational {
    BigRational::new(big(g.prize[s]) * BigInt::from(g.threshold[s].den), BigInt::from(g.threshold[s].num))
}

/// Elastic robustness (reference §4.2): the smallest weight fraction of Byzantine services
/// (weights π_s/θ_s, exact) after which some attack loses less than the budget L (profit > −L).
/// Up to `ROBUSTNESS_LIMIT` services by enumerating Byzantine sets with the elastic security
/// program for each; beyond, by the single robustness MILP (`elastic_robustness_milp`).
/// None when the network stays secure whatever turns Byzantine short of everything.
pub fn elastic_robustness(g: &Graph, budget: f64) -> Result<Option<(Exact, Vec<String>)>, String> {
    if g.prize.len() > ROBUSTNESS_LIMIT {
        return elastic_robustness_milp(g, budget);
    }
    elastic_robustness_enumerated(g, budget)
}

/// Elastic robustness by enumerating every Byzantine set (at most `ROBUSTNESS_LIMIT` services).
pub fn elastic_robustness_enumerated(g: &Graph, budget: f64) -> Result<Option<(Exact, Vec<String>)>, String> {
    let n = g.prize.len();
    if n > ROBUSTNESS_LIMIT {
        return Err(format!("{n} services exceed the robustness enumeration limit of {ROBUSTNESS_LIMIT}"));
    }
    let weight = |s: usize| weight(g, s);
    let total: BigRational = (0..n).map(weight).sum();
    let scale = g.stake.iter().chain(&g.prize).map(|v| f(*v, 1.0)).fold(1.0, f64::max);
    let mut best: Option<(BigRational, Vec<usize>)> = None;
    for mask in 0u32..(1u32 << n) {
        let ys: Vec<usize> = (0..n).filter(|s| mask & (1 << s) != 0).collect();
        if ys.len() == n {
            continue; // nothing left to attack
        }
        let w: BigRational = ys.iter().map(|s| weight(*s)).sum();
        if best.as_ref().is_some_and(|(b, _)| *b <= w) {
            continue;
        }
        let after = after_byzantine(g, &ys).map_err(|e| e.to_string())?;
        // The same strictness as the robustness MILP: beat −L by 1e-6 of the largest amount, well
        // above the solver's tolerances (a tie is secure).
        if elastic_best_profit(&after)? > -budget + STRICT * scale {
            best = Some((w, ys));
        }
    }
    Ok(best
        .map(|(w, ys)| (Exact::from(&(w / total.clone())), ys.iter().map(|s| g.service_names[*s].clone()).collect())))
}

/// Elastic robustness as one MILP (reference §4.3): minimise the Byzantine weight Σ (π_s/θ_s) y_s
/// such that, after the services with y_s = 1 slash everything allocated to them, an attack on
/// the rest loses less than L. Remaining stake r_v = max(0, σ_v − Σ_s w(v,s) y_s) and remaining
/// allocations r(v,s) = min(w(v,s), r_v) are linearised with one binary per validator and per
/// edge; the attack is the elastic security program over them. The chosen Byzantine set is then
/// re-checked by solving the security program on the network it leaves (a disagreement is an
/// error), and its weight fraction is computed exactly.
pub fn elastic_robustness_milp(g: &Graph, budget: f64) -> Result<Option<(Exact, Vec<String>)>, String> {
    let (n, m) = (g.prize.len(), g.stake.len());
    if n == 0 {
        return Ok(None);
    }
    let scale = g.stake.iter().chain(&g.prize).map(|v| f(*v, 1.0)).fold(1.0, f64::max);
    let sigma: Vec<f64> = g.stake.iter().map(|v| f(*v, scale)).collect();
    #[allow(clippy::cast_precision_loss)]
    let theta = |s: usize| g.threshold[s].num as f64 / g.threshold[s].den as f64;
    let weights: Vec<f64> = (0..n).map(|s| f(g.prize[s], scale) / theta(s)).collect();
    let total_weight: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);

    let mut vars = variables!();
    let y: Vec<_> = (0..n).map(|_| vars.add(variable().binary())).collect();
    let x: Vec<_> = (0..n).map(|_| vars.add(variable().binary())).collect();
    let r: Vec<_> = sigma.iter().map(|s| vars.add(variable().min(0.0).max(*s))).collect();
    let u: Vec<_> = (0..m).map(|_| vars.add(variable().binary())).collect();
    let c: Vec<_> = sigma.iter().map(|s| vars.add(variable().min(0.0).max(*s))).collect();
    let z: Vec<_> = (0..m).map(|_| vars.add(variable().binary())).collect();
    // Per edge: remaining allocation r(v,s) with its binary, and the committed a(v,s).
    struct Edge {
        v: usize,
        w: f64,
        r: good_lp::Variable,
        b: good_lp::Variable,
        a: good_lp::Variable,
    }
    let mut edges: Vec<Vec<Edge>> = Vec::with_capacity(n);
    for es in &g.service_edges {
        let mut row = Vec::with_capacity(es.len());
        for (v, w) in es {
            let w = f(*w, scale);
            row.push(Edge {
                v: *v,
                w,
                r: vars.add(variable().min(0.0).max(w)),
                b: vars.add(variable().binary()),
                a: vars.add(variable().min(0.0).max(w)),
            });
        }
        edges.push(row);
    }
    let objective: Expression = (0..n).fold(Expression::from(0.0), |e, s| e + (weights[s] / total_weight) * y[s]);
    let mut model = tuned(vars.minimise(objective).using(backend));

    // r_v = max(0, e_v) with e_v = σ_v − Σ_s w(v,s) y_s.
    let mut slashed: Vec<Expression> = vec![Expression::from(0.0); m];
    let mut alloc_sum = vec![0.0; m];
    for (s, row) in edges.iter().enumerate() {
        for e in row {
            slashed[e.v] += e.w * y[s];
            alloc_sum[e.v] += e.w;
        }
    }
    for v in 0..m {
        let ev = sigma[v] - slashed[v].clone();
        let big = alloc_sum[v].max(sigma[v]) + 1.0;
        model = model.with(constraint!(r[v] >= ev.clone()));
        model = model.with(constraint!(r[v] <= ev + big * (1.0 - u[v])));
        model = model.with(constraint!(r[v] <= sigma[v] * u[v]));
    }
    // r(v,s) = min(w, r_v); a(v,s) ≤ r(v,s); thresholds over the remaining allocations.
    let big_f = (0..n).map(|s| theta(s) * edges[s].iter().map(|e| e.w).sum::<f64>()).fold(0.0, f64::max) + 1.0;
    let mut any = Expression::from(0.0);
    let mut spent: Vec<Expression> = vec![Expression::from(0.0); m];
    for s in 0..n {
        let mut committed = Expression::from(0.0);
        let mut remaining = Expression::from(0.0);
        for e in &edges[s] {
            let sv = sigma[e.v] + 1.0;
            model = model.with(constraint!(e.r <= r[e.v]));
            model = model.with(constraint!(e.r >= e.w - sv * (1.0 - e.b)));
            model = model.with(constraint!(e.r >= r[e.v] - sv * e.b));
            model = model.with(constraint!(e.a <= e.r));
            committed += e.a;
            remaining += e.r;
            spent[e.v] += e.a;
        }
        model = model.with(constraint!(committed - theta(s) * remaining + big_f * (1.0 - x[s]) >= 0.0));
        model = model.with(constraint!(x[s] + y[s] <= 1.0));
        any += x[s];
    }
    model = model.with(constraint!(any >= 1.0));
    // c_v = min(r_v, Σ_s a(v,s)) (the attacker minimises cost, so lower bounds suffice).
    let big_c = alloc_sum.iter().chain(&sigma).fold(0.0, |a: f64, b| a.max(*b)) + 1.0;
    let mut profit: Expression = (0..n).fold(Expression::from(0.0), |e, s| e + f(g.prize[s], scale) * x[s]);
    for v in 0..m {
        model = model.with(constraint!(c[v] >= r[v] - big_c * z[v]));
        model = model.with(constraint!(c[v] >= spent[v].clone() - big_c * (1.0 - z[v])));
        profit -= c[v];
    }
    // The attack must lose strictly less than L. A margin well above the solver's feasibility
    // tolerance keeps a tie (a best profit of exactly −L, secure by convention) out.
    model = model.with(constraint!(profit >= -budget / scale + STRICT));
    let sol = match model.solve() {
        Ok(sol) => sol,
        Err(good_lp::ResolutionError::Infeasible) => return Ok(None),
        Err(e) => return Err(format!("robustness MILP: {e}")),
    };
    let ys: Vec<usize> = (0..n).filter(|s| sol.value(y[*s]) > 0.5).collect();
    let after = after_byzantine(g, &ys).map_err(|e| e.to_string())?;
    let check = elastic_best_profit(&after)?;
    if check <= -budget + 1e-9 * scale {
        // (Half the strictness: the MILP's own solution may sit just at its bound.)
        return Err(format!(
            "robustness MILP chose {:?}, but the network it leaves is secure (best profit {check})",
            ys.iter().map(|s| &g.service_names[*s]).collect::<Vec<_>>()
        ));
    }
    let total: BigRational = (0..n).map(|s| weight(g, s)).sum();
    let w: BigRational = ys.iter().map(|s| weight(g, *s)).sum();
    Ok(Some((Exact::from(&(w / total)), ys.iter().map(|s| g.service_names[*s].clone()).collect())))
}

/// An elastic attack re-checked exactly: integer commitments that meet every attacked service's
/// threshold, and the exact profit they give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElasticWitness {
    /// Services attacked.
    pub services: Vec<String>,
    /// (validator, service, stake committed) per edge used.
    pub commitments: Vec<(String, String, String)>,
    /// Σ π over the services.
    pub prize: String,
    /// Σ_v min(σ_v, Σ_s a(v, s)): what the validators forfeit.
    pub cost: String,
    /// prize − cost.
    pub profit: String,
    /// The profit beats −budget (a valid attack at that budget).
    pub beats_budget: bool,
}

/// Rounds the solver's commitments up to integers (within each edge's allocation), tops up any
/// service left short of its threshold, and evaluates the attack exactly; none if the services
/// cannot be met.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // non-negative, below 2^121
pub fn elastic_witness(g: &Graph, sol: &ElasticSolution) -> Option<ElasticWitness> {
    use std::collections::BTreeMap;
    let mut a: BTreeMap<(usize, usize), U256> = BTreeMap::new();
    for (s, v, x) in &sol.commitments {
        let w = g.service_edges[*s].iter().find(|(u, _)| u == v).map(|(_, w)| *w)?;
        a.insert((*s, *v), U256::from(x.ceil().max(0.0) as u128).min(w));
    }
    for s in &sol.services {
        let t = g.threshold[*s];
        let total = g.service_edges[*s].iter().fold(U256::ZERO, |acc, (_, w)| acc.saturating_add(*w));
        // need = ⌈θ·W⌉, exactly.
        let need = total.saturating_mul(U256::from(t.num)).div_ceil(U256::from(t.den));
        let mut have = g.service_edges[*s]
            .iter()
            .fold(U256::ZERO, |acc, (v, _)| acc.saturating_add(a.get(&(*s, *v)).copied().unwrap_or_default()));
        for (v, w) in &g.service_edges[*s] {
            if have >= need {
                break;
            }
            let cur = a.entry((*s, *v)).or_default();
            let add = w.saturating_sub(*cur).min(need.saturating_sub(have));
            *cur = cur.saturating_add(add);
            have = have.saturating_add(add);
        }
        if have < need {
            return None;
        }
    }
    let attacked: std::collections::BTreeSet<usize> = sol.services.iter().copied().collect();
    a.retain(|(s, _), x| attacked.contains(s) && !x.is_zero());
    let mut spent = vec![U256::ZERO; g.stake.len()];
    for ((_, v), x) in &a {
        spent[*v] = spent[*v].saturating_add(*x);
    }
    let cost = spent.iter().zip(&g.stake).fold(U256::ZERO, |acc, (x, s)| acc.saturating_add((*x).min(*s)));
    let prize = sol.services.iter().fold(U256::ZERO, |acc, s| acc.saturating_add(g.prize[*s]));
    // Valid at budget L when prize − cost > −L, i.e. prize + L > cost.
    let beats_budget = !sol.services.is_empty() && prize.saturating_add(g.budget) > cost;
    Some(ElasticWitness {
        services: sol.services.iter().map(|s| g.service_names[*s].clone()).collect(),
        commitments: a
            .iter()
            .map(|((s, v), x)| (g.validator_names[*v].clone(), g.service_names[*s].clone(), g.show(*x)))
            .collect(),
        prize: g.show(prize),
        cost: g.show(cost),
        profit: g.show_signed(prize, cost),
        beats_budget,
    })
}

/// The worst-case loss L_ψ beyond enumeration (reference §5, D&R Corollary 1: a cascade
/// collapses to one attack on G↓D): maximise σ_D + σ_B over a shock D with σ_D ≤ ψ·σ_V and a
/// valid attack B on what D leaves, as one MILP. A service s is taken when
/// σ(B ∩ N(s)) + α_s·σ(D ∩ N(s)) ≥ α_s·σ_N(s) (its threshold over the stake D leaves); the attack
/// must profit (Σ π x − Σ σ b > 0) unless there is none (t = 0). The solver's (D, B) is then
/// re-evaluated exactly, so the loss reported is an exact loss of a real shock and attack: L_ψ
/// itself when the solver is optimal, never more.
pub fn worst_case_loss_milp(g: &Graph, psi: crate::graph::Ratio) -> Result<crate::LossReport, String> {
    let scale = g.stake.iter().chain(&g.prize).map(|v| f(*v, 1.0)).fold(1.0, f64::max);
    let sigma: Vec<f64> = g.stake.iter().map(|v| f(*v, scale)).collect();
    let total: f64 = sigma.iter().sum();
    let mut vars = variables!();
    let d: Vec<_> = sigma.iter().map(|_| vars.add(variable().binary())).collect();
    let b: Vec<_> = sigma.iter().map(|_| vars.add(variable().binary())).collect();
    let x: Vec<_> = g.prize.iter().map(|_| vars.add(variable().binary())).collect();
    let t = vars.add(variable().binary());
    let objective = (0..sigma.len()).fold(Expression::from(0.0), |e, v| e + sigma[v] * d[v] + sigma[v] * b[v]);
    let mut model = tuned(vars.maximise(objective).using(backend));
    let mut shock = Expression::from(0.0);
    let mut cost = Expression::from(0.0);
    for v in 0..sigma.len() {
        model = model.with(constraint!(d[v] + b[v] <= 1.0));
        model = model.with(constraint!(b[v] <= t));
        shock += sigma[v] * d[v];
        cost += sigma[v] * b[v];
    }
    model = model.with(constraint!(shock <= psi.to_f64() * total));
    let mut prize = Expression::from(0.0);
    let mut any = Expression::from(0.0);
    for (s, edges) in g.service_edges.iter().enumerate() {
        let alpha = g.threshold[s].to_f64();
        let mut held = Expression::from(0.0);
        for (v, _) in edges {
            held += sigma[*v] * b[*v] + alpha * sigma[*v] * d[*v];
        }
        let need = alpha * f(g.service_stake(s), scale);
        model = model.with(constraint!(held >= need * x[s]));
        model = model.with(constraint!(x[s] <= t));
        prize += f(g.prize[s], scale) * x[s];
        any += x[s];
    }
    model = model.with(constraint!(any >= t));
    model = model.with(constraint!(prize - cost >= 1e-6 * t));
    let sol = model.solve().map_err(|e| format!("loss MILP: {e}"))?;
    let shock_set: Vec<usize> = (0..sigma.len()).filter(|v| sol.value(d[*v]) > 0.5).collect();
    let attack_set: Vec<usize> = (0..sigma.len()).filter(|v| sol.value(b[*v]) > 0.5).collect();
    crate::exact::loss_of(g, psi, &shock_set, &attack_set).ok_or_else(|| {
        "the loss MILP's shock exceeds ψ once evaluated exactly (a solver tolerance); no exact loss".to_string()
    })
}

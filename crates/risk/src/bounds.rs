//! Bounds for graphs too large to enumerate (pooled model M1), reported as an interval
//! [best attack found, certified upper bound] on the most profitable attack's profit.
//!
//! Upper bound: in any valid attack π_A ≤ Σ_{v∈B} σ_v ρ_v (the EigenLayer proof), so
//! profit ≤ Σ_v σ_v·max(ρ_v − 1, 0), and never more than π_S. That bound is the Lagrangian dual of
//! the attack LP at one point; [`lagrangian_bound`] searches the others (subgradient, floating
//! point) and evaluates the best exactly, so it certifies the LP relaxation's value up to the
//! search's precision and is never worse. Lower bound: witnesses found by a greedy search (for
//! each service its cheapest largest-stake-first corrupting set, then unions of those while the
//! profit grows), each re-evaluated exactly.

use cairn_primitives::U256;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};
use serde::Serialize;

use crate::{
    exact::Attack,
    graph::Graph,
    leverage::{Exact, big, rhos},
};

/// The interval report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundsReport {
    /// `"secure"` (upper bound ≤ 0), `"insecure"` (a profitable witness) or `"undecided"`.
    pub verdict: &'static str,
    /// The best attack the search found, re-verified exactly (its profit is the lower end).
    pub best_found: Option<Attack>,
    /// Certified upper bound on any attack's profit.
    pub upper_bound: Exact,
}

/// Exact evaluation of B: (A*(B), π_A, σ_B).
pub(crate) fn evaluate(g: &Graph, in_b: &[bool]) -> (Vec<usize>, U256, U256) {
    let cost = g.stake.iter().zip(in_b).filter(|(_, b)| **b).fold(U256::ZERO, |a, (s, _)| a.saturating_add(*s));
    let mut services = Vec::new();
    let mut prize = U256::ZERO;
    for (s, edges) in g.service_edges.iter().enumerate() {
        let have = edges.iter().filter(|(v, _)| in_b[*v]).fold(U256::ZERO, |a, (v, _)| a.saturating_add(g.stake[*v]));
        let t = g.threshold[s];
        if have.saturating_mul(U256::from(t.den)) >= g.service_stake(s).saturating_mul(U256::from(t.num)) {
            services.push(s);
            prize = prize.saturating_add(g.prize[s]);
        }
    }
    (services, prize, cost)
}

/// The cheapest-looking set corrupting service `s`: its validators by decreasing stake until the
/// threshold is met.
fn seed(g: &Graph, s: usize) -> Vec<usize> {
    let mut vs: Vec<usize> = g.service_edges[s].iter().map(|(v, _)| *v).collect();
    vs.sort_by(|a, b| g.stake[*b].cmp(&g.stake[*a]).then(a.cmp(b)));
    let t = g.threshold[s];
    let need = g.service_stake(s).saturating_mul(U256::from(t.num));
    let mut have = U256::ZERO;
    let mut out = Vec::new();
    for v in vs {
        if have.saturating_mul(U256::from(t.den)) >= need {
            break;
        }
        have = have.saturating_add(g.stake[v]);
        out.push(v);
    }
    out
}

/// Steps of the subgradient search.
const LAGRANGE_STEPS: usize = 300;
/// Multipliers are rounded to multiples of 2^-20 before the exact evaluation.
const LAGRANGE_GRID: i64 = 1 << 20;

/// The attack program relaxed to [0, 1] and dualized on its coverage constraints
/// `α_s σ_N(s) y_s ≤ Σ_{v∈N(s)} σ_v x_v` with multipliers `λ_s = μ_s π_s / (α_s σ_N(s))`:
/// for every μ ∈ [0, 1]^S, any attack's profit ≤ L(μ) = Σ_s π_s (1 − μ_s) + Σ_v σ_v (Σ_{s∋v} μ_s r_s − 1)⁺
/// (r_s the service's rate). μ = 1 gives the leverage bound. The search is floating point; the
/// value returned is L at the best μ found, computed exactly, so it is certified whatever the
/// search did.
#[allow(clippy::arithmetic_side_effects)] // f64 search, arbitrary precision evaluation
pub fn lagrangian_bound(g: &Graph) -> BigRational {
    use num_traits::ToPrimitive;
    let rates = crate::leverage::rates(g);
    let rf: Vec<f64> = rates.iter().map(|r| r.to_f64().unwrap_or(f64::MAX)).collect();
    let pf: Vec<f64> = g.prize.iter().map(|p| f64::from(*p)).collect();
    let sf: Vec<f64> = g.stake.iter().map(|s| f64::from(*s)).collect();
    // Services without stake take no multiplier: their prize counts in full.
    let free: Vec<bool> = (0..g.prize.len()).map(|s| g.service_stake(s).is_zero()).collect();
    let value = |mu: &[f64]| -> (f64, Vec<f64>) {
        let lam: Vec<f64> =
            g.validator_edges.iter().map(|ss| ss.iter().map(|s| mu[*s] * rf[*s]).sum::<f64>()).collect();
        let v = (0..mu.len()).map(|s| pf[s] * if free[s] { 1.0 } else { 1.0 - mu[s] }).sum::<f64>()
            + lam.iter().zip(&sf).map(|(l, s)| s * (l - 1.0).max(0.0)).sum::<f64>();
        (v, lam)
    };
    let mut mu: Vec<f64> = free.iter().map(|f| if *f { 0.0 } else { 1.0 }).collect();
    let (mut best_v, _) = value(&mu);
    let mut best = mu.clone();
    for step in 0..LAGRANGE_STEPS {
        let (v, lam) = value(&mu);
        if v < best_v {
            (best_v, best) = (v, mu.clone());
        }
        // ∂L/∂μ_s = −π_s + r_s Σ_{v∈N(s), Λ_v>1} σ_v.
        let grad: Vec<f64> = (0..mu.len())
            .map(|s| {
                let over: f64 = g.service_edges[s].iter().filter(|(v, _)| lam[*v] > 1.0).map(|(v, _)| sf[*v]).sum();
                if free[s] { 0.0 } else { rf[s] * over - pf[s] }
            })
            .collect();
        let norm = grad.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            break;
        }
        let t = 1.0 / ((step + 1) as f64).sqrt();
        for (m, d) in mu.iter_mut().zip(&grad) {
            *m = (*m - t * d / norm).clamp(0.0, 1.0);
        }
    }
    // Exact evaluation at the best μ, rounded to the grid.
    let grid = BigInt::from(LAGRANGE_GRID);
    let mu: Vec<BigRational> = best
        .iter()
        .map(|m| BigRational::new(BigInt::from((m * LAGRANGE_GRID as f64).round() as i64), grid.clone()))
        .collect();
    let one = BigRational::one();
    let services: BigRational =
        (0..mu.len()).map(|s| BigRational::from_integer(big(g.prize[s])) * (&one - &mu[s])).sum();
    let validators: BigRational = g
        .validator_edges
        .iter()
        .zip(&g.stake)
        .map(|(ss, st)| {
            let lam: BigRational = ss.iter().map(|s| &mu[*s] * &rates[*s]).sum();
            if lam > one { (lam - &one) * BigRational::from_integer(big(*st)) } else { BigRational::zero() }
        })
        .sum();
    services + validators
}

fn profit_gt(a: (U256, U256), b: (U256, U256)) -> bool {
    // a.prize − a.cost > b.prize − b.cost
    a.0.saturating_add(b.1) > b.0.saturating_add(a.1)
}

/// The interval [best found, certified bound] for the pooled model, in O(passes · S · E).
pub fn bounds(g: &Graph) -> BoundsReport {
    let n = g.stake.len();
    let seeds: Vec<Vec<usize>> = (0..g.prize.len()).map(|s| seed(g, s)).collect();
    let mut best: Option<(U256, U256, Vec<bool>, Vec<usize>)> = None;
    for sd in &seeds {
        let mut in_b = vec![false; n];
        for v in sd {
            in_b[*v] = true;
        }
        let (services, prize, cost) = evaluate(g, &in_b);
        if best.as_ref().is_none_or(|(bp, bc, _, _)| profit_gt((prize, cost), (*bp, *bc))) {
            best = Some((prize, cost, in_b, services));
        }
    }
    // Grow the best set by whole seeds while that raises the profit (a few passes).
    for _ in 0..4 {
        let Some((bp, bc, cur, _)) = best.clone() else { break };
        let mut improved = false;
        for sd in &seeds {
            if sd.iter().all(|v| cur[*v]) {
                continue;
            }
            let mut in_b = cur.clone();
            for v in sd {
                in_b[*v] = true;
            }
            let (services, prize, cost) = evaluate(g, &in_b);
            if profit_gt((prize, cost), (bp, bc))
                && best.as_ref().is_some_and(|(p, c, _, _)| profit_gt((prize, cost), (*p, *c)))
            {
                best = Some((prize, cost, in_b, services));
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
    #[allow(clippy::arithmetic_side_effects)] // arbitrary precision
    let upper = {
        let one = BigRational::one();
        let excess: BigRational = rhos(g)
            .into_iter()
            .zip(&g.stake)
            .filter(|(r, _)| *r > one)
            .map(|(r, s)| (r - &one) * BigRational::from_integer(big(*s)))
            .sum();
        // Services without stake are free: their prizes are profit outright.
        let free: BigInt = (0..g.prize.len()).filter(|s| g.service_stake(*s).is_zero()).map(|s| big(g.prize[s])).sum();
        let total: BigInt = g.prize.iter().map(|p| big(*p)).sum();
        let leverage = excess + BigRational::from_integer(free);
        leverage.min(lagrangian_bound(g)).min(BigRational::from_integer(total))
    };
    let found = best.map(|(prize, cost, in_b, services)| {
        let b: Vec<usize> = (0..n).filter(|v| in_b[*v]).collect();
        crate::exact::attack_of(g, &services, &b, prize, cost)
    });
    let positive = found.as_ref().is_some_and(|a| !a.profit.starts_with('-') && a.profit != "0");
    let verdict = if positive {
        "insecure"
    } else if upper <= BigRational::zero() {
        "secure"
    } else {
        "undecided"
    };
    BoundsReport { verdict, best_found: found, upper_bound: Exact::from(&upper) }
}

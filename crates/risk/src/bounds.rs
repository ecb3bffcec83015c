//! Bounds for graphs too large to enumerate (pooled model M1), reported as an interval
//! [best attack found, certified upper bound] on the most profitable attack's profit.
//!
//! Upper bound: in any valid attack π_A ≤ Σ_{v∈B} σ_v ρ_v (the EigenLayer proof), so
//! profit ≤ Σ_v σ_v·max(ρ_v − 1, 0), and never more than π_S. Lower bound: witnesses found by
//! a greedy search (for each service its cheapest largest-stake-first corrupting set, then
//! unions of those while the profit grows), each re-evaluated exactly.

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
        (excess + BigRational::from_integer(free)).min(BigRational::from_integer(total))
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

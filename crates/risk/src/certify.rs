//! An exact certificate that no attack is profitable, for graphs beyond enumeration.
//!
//! Depth-first branch-and-bound over the validators: each node fixes some validators in the
//! attacking coalition (I) or out of it (O). A node is pruned when an upper bound on the profit
//! of every coalition below it is ≤ 0, computed exactly:
//! 1. Σ π over the services the node can still reach (those whose threshold I ∪ free stake can
//!    meet) − σ(I);
//! 2. a Lagrangian bound over the reachable services. A validator is *essential* to a service
//!    when the service's threshold cannot be met without it (σ(N(s) \ O) − σ_v < α_s σ_N(s)): a
//!    coalition corrupting s holds all of s's essential validators E_s, so π_s can be charged to
//!    them in equal shares. Services without essential validators are dualized on their coverage
//!    constraint with λ_s = μ_s r_s (r_s = π_s / (α_s σ_N(s)), μ ∈ [0, 1]). Then every coalition
//!    below the node profits at most
//!    L(μ) = Σ_{s: E_s=∅} π_s (1 − μ_s) + Σ_{v free} σ_v (c_v)⁺ + Σ_{v∈I} σ_v c_v, with
//!    c_v = (Σ_{s: v∈E_s} π_s / |E_s|) / σ_v + Σ_{s∋v, E_s=∅} μ_s r_s − 1.
//!    μ is searched in floating point (warm started from the parent) and rounded to multiples of
//!    2^-20; the bound used is L at that μ in exact rationals, so a prune is sound whatever the
//!    search did.
//!
//! A leaf (every validator fixed) is evaluated exactly; a profitable one is a witness. If every
//! node is pruned the network is proven secure (a profit of exactly 0 counts as secure).

// Floating-point search and arbitrary-precision evaluation: no fixed-width arithmetic to overflow.
#![allow(clippy::arithmetic_side_effects)]

use cairn_primitives::U256;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, ToPrimitive, Zero};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{
    exact::{Attack, attack_of},
    graph::Graph,
    leverage::{big, rates},
};

/// Subgradient steps per node.
const STEPS: usize = 40;
/// μ is rounded to multiples of 1/GRID before the exact evaluation.
const GRID: i64 = 1 << 20;

/// The outcome of the search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    /// Every coalition was shown unprofitable: the network is secure, exactly.
    pub proven: bool,
    /// Nodes explored.
    pub nodes: u64,
    /// A profitable coalition met on the way (then the network is insecure).
    pub witness: Option<Attack>,
    /// The node limit stopped the search before a proof.
    pub exhausted: bool,
}

/// What the bound needs at one node.
struct Node {
    /// Services that can still be corrupted.
    reach: Vec<bool>,
    /// Per reachable service, its essential validators (empty: dualized instead).
    essential: Vec<Vec<usize>>,
    /// Per validator, the prize charged to it through essential services: exact and float.
    charge: Vec<BigRational>,
    charge_f: Vec<f64>,
}

struct Search<'a> {
    g: &'a Graph,
    rates: Vec<BigRational>,
    rf: Vec<f64>,
    pf: Vec<f64>,
    sf: Vec<f64>,
    /// Services without stake: their coverage constraint is empty, so they take no multiplier
    /// (μ_s = 0: the prize counts in full).
    free: Vec<bool>,
    /// Validators in branching order.
    order: Vec<usize>,
    /// None free, Some(true) in I, Some(false) in O.
    fixed: Vec<Option<bool>>,
    nodes: u64,
    limit: u64,
    witness: Option<Attack>,
    /// Raised by another search that has answered: stop at the next node.
    stop: Option<&'a AtomicBool>,
}

/// Searches for a proof that no coalition is profitable, exploring at most `node_limit` nodes.
pub fn certify(g: &Graph, node_limit: u64) -> Certificate {
    certify_until(g, node_limit, None)
}

/// [`certify`], also stopping (as if at its node limit) once `stop` is raised.
pub fn certify_until(g: &Graph, node_limit: u64, stop: Option<&AtomicBool>) -> Certificate {
    let rates = rates(g);
    let rf: Vec<f64> = rates.iter().map(|r| r.to_f64().unwrap_or(f64::MAX)).collect();
    let pf: Vec<f64> = g.prize.iter().map(|p| f64::from(*p)).collect();
    let sf: Vec<f64> = g.stake.iter().map(|s| f64::from(*s)).collect();
    // Branch first on the validators with the most leverage (Σ rates), heaviest first.
    let mut order: Vec<usize> = (0..g.stake.len()).collect();
    let lev = |v: usize| g.validator_edges[v].iter().map(|s| rf[*s]).sum::<f64>() * sf[v];
    order.sort_by(|a, b| lev(*b).total_cmp(&lev(*a)).then(a.cmp(b)));
    let free: Vec<bool> = (0..g.prize.len()).map(|s| g.service_stake(s).is_zero()).collect();
    let mu: Vec<f64> = free.iter().map(|f| if *f { 0.0 } else { 1.0 }).collect();
    let mut s = Search {
        g,
        free,
        rates,
        rf,
        pf,
        sf,
        order,
        fixed: vec![None; g.stake.len()],
        nodes: 0,
        limit: node_limit,
        witness: None,
        stop,
    };
    let complete = s.visit(0, &mu);
    let exhausted = !complete && s.witness.is_none();
    Certificate { proven: complete && s.witness.is_none(), nodes: s.nodes, witness: s.witness, exhausted }
}

impl Search<'_> {
    /// Explores the subtree below depth `depth`; false when the node limit or a witness stopped it.
    fn visit(&mut self, depth: usize, parent_mu: &[f64]) -> bool {
        self.nodes += 1;
        if self.nodes > self.limit || self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            return false;
        }
        let reach = self.reachable();
        if self.reach_bound(&reach) <= BigInt::zero() {
            return true;
        }
        if depth == self.order.len() {
            return self.leaf();
        }
        let node = self.node(reach);
        let mu = self.search_mu(&node, parent_mu);
        if self.lagrangian(&node, &mu) <= BigRational::zero() {
            return true;
        }
        let v = self.order[depth];
        for choice in [true, false] {
            self.fixed[v] = Some(choice);
            let done = self.visit(depth + 1, &mu);
            self.fixed[v] = None;
            if !done {
                return false;
            }
        }
        true
    }

    /// Services whose threshold the validators in I and the free ones can still meet.
    fn reachable(&self) -> Vec<bool> {
        let g = self.g;
        (0..g.prize.len())
            .map(|s| {
                let can = g.service_edges[s]
                    .iter()
                    .filter(|(v, _)| self.fixed[*v] != Some(false))
                    .fold(U256::ZERO, |a, (v, _)| a.saturating_add(g.stake[*v]));
                let t = g.threshold[s];
                big(can) * BigInt::from(t.den) >= big(g.service_stake(s)) * BigInt::from(t.num)
            })
            .collect()
    }

    /// Essential validators and their charges at this node.
    fn node(&self, reach: Vec<bool>) -> Node {
        let g = self.g;
        let m = g.stake.len();
        let mut essential = vec![Vec::new(); g.prize.len()];
        let mut charge = vec![BigRational::zero(); m];
        for s in (0..g.prize.len()).filter(|s| reach[*s] && !self.free[*s]) {
            let t = g.threshold[s];
            let avail: BigInt = g.service_edges[s]
                .iter()
                .filter(|(v, _)| self.fixed[*v] != Some(false))
                .map(|(v, _)| big(g.stake[*v]))
                .sum();
            let need = big(g.service_stake(s)) * BigInt::from(t.num);
            let ess: Vec<usize> = g.service_edges[s]
                .iter()
                .filter(|(v, _)| self.fixed[*v] != Some(false))
                .filter(|(v, _)| (&avail - big(g.stake[*v])) * BigInt::from(t.den) < need)
                .map(|(v, _)| *v)
                .collect();
            if !ess.is_empty() {
                let share = BigRational::new(big(g.prize[s]), BigInt::from(ess.len()));
                for v in &ess {
                    charge[*v] += &share;
                }
            }
            essential[s] = ess;
        }
        let charge_f = charge.iter().map(|c| c.to_f64().unwrap_or(f64::MAX)).collect();
        Node { reach, essential, charge, charge_f }
    }

    /// Whether service `s` is dualized at this node (reachable, staked, no essential validator).
    fn dualized(&self, n: &Node, s: usize) -> bool {
        n.reach[s] && !self.free[s] && n.essential[s].is_empty()
    }

    /// Σ π over reachable services − σ(I), exactly.
    fn reach_bound(&self, reach: &[bool]) -> BigInt {
        let prize: BigInt = (0..reach.len()).filter(|s| reach[*s]).map(|s| big(self.g.prize[s])).sum();
        let cost: BigInt =
            (0..self.fixed.len()).filter(|v| self.fixed[*v] == Some(true)).map(|v| big(self.g.stake[v])).sum();
        prize - cost
    }

    fn leaf(&mut self) -> bool {
        let in_b: Vec<bool> = self.fixed.iter().map(|f| *f == Some(true)).collect();
        let (services, prize, cost) = crate::bounds::evaluate(self.g, &in_b);
        if prize > cost && !services.is_empty() {
            let b: Vec<usize> = (0..in_b.len()).filter(|v| in_b[*v]).collect();
            self.witness = Some(attack_of(self.g, &services, &b, prize, cost));
            return false;
        }
        true
    }

    /// The float value of L(μ) and each validator's c_v + 1.
    fn value(&self, n: &Node, mu: &[f64]) -> (f64, Vec<f64>) {
        let g = self.g;
        let gv: Vec<f64> = (0..g.stake.len())
            .map(|v| {
                let dual: f64 =
                    g.validator_edges[v].iter().filter(|s| self.dualized(n, **s)).map(|s| mu[*s] * self.rf[*s]).sum();
                dual + n.charge_f[v] / self.sf[v].max(f64::MIN_POSITIVE)
            })
            .collect();
        let services: f64 = (0..mu.len())
            .filter(|s| n.reach[*s] && (self.free[*s] || n.essential[*s].is_empty()))
            .map(|s| self.pf[s] * (1.0 - mu[s]))
            .sum();
        let validators: f64 = (0..gv.len())
            .map(|v| match self.fixed[v] {
                None => self.sf[v] * (gv[v] - 1.0).max(0.0),
                Some(true) => self.sf[v] * (gv[v] - 1.0),
                Some(false) => 0.0,
            })
            .sum();
        (services + validators, gv)
    }

    /// A few projected subgradient steps from the parent's μ; the best μ seen.
    fn search_mu(&self, n: &Node, start: &[f64]) -> Vec<f64> {
        let g = self.g;
        let mut mu = start.to_vec();
        let (mut best_v, _) = self.value(n, &mu);
        let mut best = mu.clone();
        for step in 0..STEPS {
            let (v, gv) = self.value(n, &mu);
            if v < best_v {
                (best_v, best) = (v, mu.clone());
            }
            let grad: Vec<f64> = (0..mu.len())
                .map(|s| {
                    if !self.dualized(n, s) {
                        return 0.0;
                    }
                    let over: f64 = g.service_edges[s]
                        .iter()
                        .filter(|(v, _)| match self.fixed[*v] {
                            None => gv[*v] > 1.0,
                            Some(inb) => inb,
                        })
                        .map(|(v, _)| self.sf[*v])
                        .sum();
                    self.rf[s] * over - self.pf[s]
                })
                .collect();
            let norm = grad.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 || !norm.is_finite() {
                break;
            }
            let t = 0.5 / ((step + 1) as f64).sqrt();
            for (m, d) in mu.iter_mut().zip(&grad) {
                *m = (*m - t * d / norm).clamp(0.0, 1.0);
            }
        }
        let (v, _) = self.value(n, &mu);
        if v < best_v { mu } else { best }
    }

    /// L(μ) at μ rounded to the grid, in exact rationals.
    fn lagrangian(&self, n: &Node, mu: &[f64]) -> BigRational {
        let grid = BigInt::from(GRID);
        #[allow(clippy::cast_possible_truncation)] // μ ∈ [0, 1], so μ·GRID fits
        let mu: Vec<BigRational> = (0..mu.len())
            .map(|s| {
                let k = if self.dualized(n, s) { (mu[s] * GRID as f64).round() as i64 } else { 0 };
                BigRational::new(BigInt::from(k), grid.clone())
            })
            .collect();
        let one = BigRational::one();
        let g = self.g;
        let services: BigRational = (0..mu.len())
            .filter(|s| n.reach[*s] && (self.free[*s] || n.essential[*s].is_empty()))
            .map(|s| BigRational::from_integer(big(g.prize[s])) * (&one - &mu[s]))
            .sum();
        let validators: BigRational = (0..g.stake.len())
            .filter(|v| self.fixed[*v] != Some(false))
            .map(|v| {
                let stake = BigRational::from_integer(big(g.stake[v]));
                let dual: BigRational = g.validator_edges[v]
                    .iter()
                    .filter(|s| self.dualized(n, **s))
                    .map(|s| &mu[*s] * &self.rates[*s])
                    .sum();
                // σ_v c_v = charge_v + σ_v (dual − 1).
                let excess = &n.charge[v] + (dual - &one) * stake;
                match self.fixed[v] {
                    Some(true) => excess,
                    _ if excess > BigRational::zero() => excess,
                    _ => BigRational::zero(),
                }
            })
            .sum();
        services + validators
    }
}

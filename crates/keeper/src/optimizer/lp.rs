//! The linear program, in fractions of the vault, solved with good_lp's `microlp` backend.
//!
//! ```text
//! maximise   Σ_op Σ_k (net(op) − slope_k) · s[op,k]
//! subject to 0 ≤ s[op,k] ≤ len_k(op)                     (segment k of [0, cap_op])
//!            Σ_op Σ_k s[op,k] ≤ 1 − buffer
//!            Σ_op f(op,S) · Σ_k s[op,k] ≤ min(cap_S, budget) / 10⁴        for every service S
//! ```
//!
//! and `x_op = Σ_k s[op,k]`. The slopes increase, so the optimum fills each operator's segments
//! in order and the objective is the expected net yield less the convex penalty.

use good_lp::{Expression, ProblemVariables, SolverModel, Variable, microlp, solvers::Solution as _, variable};

use super::{BPS, Model, OptimizeError};

/// Fractions below this are left out of the LP's rows (the integer repair still counts them).
const TINY_FRACTION: f64 = 1e-9;

/// The LP's weight per operator of the model (fractions of the vault) and its optimum.
pub(super) fn solve(model: &Model) -> Result<(Vec<f64>, f64), OptimizeError> {
    let bps = f64::from(BPS);
    let room = f64::from(BPS.saturating_sub(model.desired_buffer_bps)) / bps;
    let mut x = vec![0.0; model.ops.len()];
    let mut vars = ProblemVariables::new();
    let mut objective = Expression::with_capacity(model.ops.len());
    // (operator index, variable, objective coefficient)
    let mut segs: Vec<(usize, Variable, f64)> = Vec::new();
    // The most weight each operator can get.
    let mut reach = vec![0.0; model.ops.len()];
    for (i, o) in model.ops.iter().enumerate() {
        if !model.usable(i) {
            continue;
        }
        let cap = (f64::from(o.cap_bps) / bps).min(room);
        for (start, end, slope) in &model.segments {
            let len = end.min(cap) - start;
            let c = o.net_bps - slope;
            // An empty segment, or one that would lower the objective, stays at zero (and so do
            // the later ones, whose slopes are larger).
            if len <= 0.0 || c <= 0.0 {
                break;
            }
            let v = vars.add(variable().min(0.0).max(len));
            objective.add_mul(c, v);
            segs.push((i, v, c));
            reach[i] += len;
        }
    }
    if segs.is_empty() {
        return Ok((x, 0.0));
    }
    let mut lp = vars.maximise(objective).using(microlp);
    if reach.iter().sum::<f64>() > room {
        let total: Expression = segs.iter().map(|(_, v, _)| *v).sum();
        lp.add_constraint(total.leq(room));
    }
    for s in 0..model.svcs.len() {
        let limit = model.limit_bps(s);
        if limit >= BPS {
            continue;
        }
        let limit = f64::from(limit) / bps;
        let coefficient = |i: usize| -> f64 {
            let f = model.ops[i].fractions.iter().find(|f| f.0 == s).map_or(0.0, |f| f.2);
            if f < TINY_FRACTION { 0.0 } else { f }
        };
        let most: f64 = reach.iter().enumerate().map(|(i, r)| if *r > 0.0 { r * coefficient(i) } else { 0.0 }).sum();
        if most <= limit {
            continue;
        }
        let mut row = Expression::with_capacity(segs.len());
        for (i, v, _) in &segs {
            let f = coefficient(*i);
            if f > 0.0 {
                row.add_mul(f, *v);
            }
        }
        lp.add_constraint(row.leq(limit));
    }
    let solution = lp.solve().map_err(|e| OptimizeError::Solver(e.to_string()))?;
    let mut optimum = 0.0;
    for (i, v, c) in &segs {
        let value = solution.value(*v).max(0.0);
        x[*i] += value;
        optimum += c * value;
    }
    Ok((x, optimum))
}

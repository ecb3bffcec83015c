//! HiGHS on the security program (reference §7.1), for graphs beyond enumeration: minimise
//! Σ σ_v y_v − Σ π_s x_s (the attack's loss) subject to Σ_{v∈N(s)} σ_v y_v ≥ α_s σ_{N(s)} x_s and
//! Σ x ≥ 1, x and y binary, with a cutoff at `+margin`: the solver prunes every part of the search
//! where the loss is provably at least the margin. If it prunes everything, no coalition profits
//! more than −margin *according to the solver* (floating point, within its tolerances); every
//! coalition it does return is re-evaluated exactly, so a witness it reports is exact.
//!
//! The margin is stated against HiGHS's tolerances: amounts are divided by the largest one, so
//! every coefficient is in [0, 1]; the LP bounds HiGHS prunes with are correct to its dual
//! feasibility tolerance (1e-7) per unit-bounded variable, so the margin is 10 × 1e-7 × the
//! number of variables, in units of the largest amount.

// Floating-point model building: no fixed-width integer arithmetic here.
#![allow(clippy::arithmetic_side_effects)]

use std::time::{Duration, Instant};

use cairn_primitives::U256;
use serde::Serialize;

use crate::graph::Graph;

/// HiGHS's dual feasibility tolerance (its default), which the margin is stated against.
pub const DUAL_TOLERANCE: f64 = 1e-7;

/// What the solver said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolverAnswer {
    /// The solver that ran (`"HiGHS"`).
    pub solver: &'static str,
    /// How it ended: `"no attack above −margin"`, `"optimal"`, `"time limit"`, or its status.
    pub status: String,
    /// Secure by the solver's word: nothing within the cutoff (the margin) remained.
    pub secure: bool,
    /// The margin, in units of the largest amount.
    pub margin: f64,
    /// The largest amount (stake or prize) in the graph's units, which the margin multiplies.
    pub unit: String,
    /// The best coalition the solver found (validator indices), if any.
    #[serde(skip)]
    pub coalition: Option<Vec<usize>>,
    /// The solver's bound on the best profit (largest-amount units), when it has one.
    pub profit_bound: Option<f64>,
    /// Wall time, seconds.
    pub seconds: f64,
}

#[allow(clippy::cast_precision_loss)] // floats only inside the solver; coalitions are re-checked exactly
fn f(v: U256) -> f64 {
    f64::from(v)
}

/// The margin for a graph (see the module comment).
#[allow(clippy::cast_precision_loss)]
pub fn margin(g: &Graph) -> f64 {
    10.0 * DUAL_TOLERANCE * (g.stake.len() + g.prize.len()) as f64
}

/// The largest amount in the graph (at least 1), which the margin is in units of.
pub(crate) fn unit(g: &Graph) -> U256 {
    g.stake.iter().chain(&g.prize).copied().max().unwrap_or(U256::from(1u8)).max(U256::from(1u8))
}

/// Runs HiGHS (one thread) on the security program for at most `limit`.
#[cfg(feature = "highs")]
pub fn pooled(g: &Graph, limit: Duration) -> Result<SolverAnswer, String> {
    use highs::{HighsModelStatus as St, RowProblem, Sense};
    let began = Instant::now();
    let scale = f(unit(g));
    let margin = margin(g);
    let mut pb = RowProblem::default();
    let x: Vec<_> = g.prize.iter().map(|p| pb.add_integer_column(-f(*p) / scale, 0..=1)).collect();
    let y: Vec<_> = g.stake.iter().map(|s| pb.add_integer_column(f(*s) / scale, 0..=1)).collect();
    for (s, edges) in g.service_edges.iter().enumerate() {
        let need = g.threshold[s].to_f64() * f(g.service_stake(s)) / scale;
        let row: Vec<_> = edges.iter().map(|(v, _)| (y[*v], f(g.stake[*v]) / scale)).chain([(x[s], -need)]).collect();
        pb.add_row(0.0.., row);
    }
    pb.add_row(1.0.., x.iter().map(|c| (*c, 1.0)));
    let mut model = pb.optimise(Sense::Minimise);
    model.make_quiet();
    model.set_option("threads", 1);
    model.set_option("time_limit", limit.as_secs_f64());
    // Prune what provably loses at least the margin; stop at the first attack that profits more
    // than the margin (it is re-checked exactly).
    model.set_option("objective_bound", margin);
    model.set_option("objective_target", -margin);
    model.set_option("random_seed", 0);
    let solved = model.try_solve().map_err(|e| format!("HiGHS: {e:?}"))?;
    let status = solved.status();
    let coalition = (solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible).then(|| {
        let cols = solved.get_solution().columns().to_vec();
        (0..g.stake.len()).filter(|v| cols[g.prize.len() + v] > 0.5).collect::<Vec<_>>()
    });
    let dual = solved.double_info_value(c"mip_dual_bound").ok().filter(|d| d.is_finite());
    let (secure, status) = match status {
        St::Infeasible | St::ObjectiveBound => (true, "no attack above −margin".to_string()),
        St::ObjectiveTarget => (false, "found an attack".to_string()),
        St::Optimal => (dual.is_some_and(|d| d >= margin), "optimal".to_string()),
        St::ReachedTimeLimit => (false, "time limit".to_string()),
        other => (false, format!("{other:?}")),
    };
    Ok(SolverAnswer {
        solver: "HiGHS",
        status,
        secure,
        margin,
        unit: g.show(unit(g)),
        coalition,
        profit_bound: dual.map(|d| -d),
        seconds: began.elapsed().as_secs_f64(),
    })
}

/// Without the `highs` feature there is no MILP solver for large graphs.
#[cfg(not(feature = "highs"))]
pub fn pooled(_g: &Graph, _limit: Duration) -> Result<SolverAnswer, String> {
    let _ = (Instant::now(), margin, unit, f);
    Err("built without HiGHS (the `highs` feature of cairn-risk)".into())
}

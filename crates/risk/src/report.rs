//! One report over every model, shared by `cairn risk check|scenario` and `GET /v1/risk`: a
//! verdict per model with its evidence, then the measures. Its JSON is the versioned schema
//! [`SCHEMA`] documented in docs/risk.md.
//!
//! The pooled model (Durvasula–Roughgarden) is decided, in order of cost: by enumeration up to
//! [`exact::SECURITY_LIMIT`] validators; by the polynomial bounds (a profitable greedy witness,
//! or a certified profit bound ≤ 0); else by the exact certificate and HiGHS run side by side
//! within the time limit, the first decisive answer winning. The elastic model (Bar-Zur–Eyal) is
//! solved by MILP up to [`ELASTIC_LIMIT`], its best attack re-checked exactly at the budget.

// Arbitrary-precision and floating-point reporting: no fixed-width arithmetic to overflow.
#![allow(clippy::arithmetic_side_effects)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};
use serde::Serialize;

use crate::{
    Attack, Graph, LeverageReport, LossReport, Ratio, bounds,
    certify::{self, Certificate},
    concentration::{self, Concentration, UniqueStakeCheck},
    exact,
    exposure::Exposure,
    graph::Amount,
    leverage::{self, Exact, big},
    milp::{self, ElasticWitness},
    solver::{self, SolverAnswer},
};

/// The JSON schema's name and version; a change that breaks a reader bumps it.
pub const SCHEMA: &str = "cairn.risk/1";

/// Largest graph (validators, services) the elastic programs run on.
#[cfg(feature = "highs")]
pub const ELASTIC_LIMIT: (usize, usize) = (40, 40);
/// Largest graph (validators, services) the elastic programs run on (microlp only).
#[cfg(not(feature = "highs"))]
pub const ELASTIC_LIMIT: (usize, usize) = (12, 8);

/// What to compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Shock sizes ψ for the worst-case loss, in order.
    pub psi: Vec<Ratio>,
    /// Wall time allowed to each search beyond the polynomial bounds.
    pub limit: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { psi: Vec::new(), limit: Duration::from_secs(10) }
    }
}

/// A model's (or the network's) verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No attack profits (how it is known is the model's `method`).
    Secure,
    /// A profitable attack exists: the model's `witness`.
    Insecure,
    /// Neither was shown within the limits.
    Undecided,
}

impl Verdict {
    /// The command's exit status: 0 secure, 1 insecure, 3 undecided (2 is bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Secure => 0,
            Verdict::Insecure => 1,
            Verdict::Undecided => 3,
        }
    }

    /// Upper-case word for people.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Secure => "SECURE",
            Verdict::Insecure => "INSECURE",
            Verdict::Undecided => "UNDECIDED",
        }
    }
}

/// Everything the engine says about one graph.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The network's verdict: insecure if any model is, secure if every model run is, else
    /// undecided.
    pub verdict: Verdict,
    /// Graph size.
    pub size: Size,
    /// The unit of every amount in this report: `"document"` (the graph document's own) or
    /// `"wei"` (graphs of a protocol state: scenarios and the node).
    pub unit: &'static str,
    /// L, the attacker's budget the elastic model assumed (a decimal in `unit`).
    pub budget: String,
    /// The pooled-stake model.
    pub pooled: Pooled,
    /// The elastic model.
    pub elastic: Elastic,
    /// Unique stake (each service's own allocations): per-service verdicts, informational.
    pub unique_stake: Vec<UniqueStakeCheck>,
    /// Worst-case loss after a shock, one per ψ asked.
    pub losses: Vec<Loss>,
    /// ρ per validator and the EigenLayer condition.
    pub leverage: LeverageReport,
    /// HHI and Nakamoto coefficients.
    pub concentration: Vec<Concentration>,
    /// Per operator and staker, losses if services slash in full (scenario states only).
    pub exposures: Vec<Exposure>,
    /// Each search that ran: how it ended and how long it took.
    pub searches: Vec<Search>,
    /// Wall time of the whole report, seconds.
    pub seconds: f64,
}

/// Graph size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    /// Validators (operators).
    pub validators: usize,
    /// Services (operator sets).
    pub services: usize,
    /// Edges (allocations).
    pub edges: usize,
}

/// An interval known about a quantity; `exact` when both ends are the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Interval {
    /// Lower end (none: unbounded).
    pub lower: Option<Exact>,
    /// Upper end (none: unbounded).
    pub upper: Option<Exact>,
    /// The value is known exactly (lower = upper).
    pub exact: bool,
}

/// The pooled model's verdict and evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Pooled {
    /// Verdict.
    pub verdict: Verdict,
    /// How it was decided: `enumeration`, `eigenlayer-condition`, `bounds`, `greedy`,
    /// `certificate`, `solver`, or `none`.
    pub method: &'static str,
    /// What the verdict rests on, in one sentence.
    pub rests_on: String,
    /// The profitable attack (insecure only).
    pub witness: Option<Attack>,
    /// The most profitable coalition known when not insecure (the closest call).
    pub closest: Option<Attack>,
    /// The best attack's profit: lower end from a real coalition, upper end certified.
    pub profit: Interval,
    /// γ* = min σ_B/π_A − 1 (≥ 0 iff secure).
    pub gamma: Interval,
    /// The solver's answer, when it ran.
    pub solver: Option<SolverAnswer>,
    /// The exact branch-and-bound, when it ran.
    pub certificate: Option<Certificate>,
}

/// The elastic model's verdict and evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Elastic {
    /// Verdict (undecided when skipped).
    pub verdict: Verdict,
    /// Why it did not run or did not finish, if so.
    pub skipped: Option<String>,
    /// The budget L it assumed (secure iff the best profit ≤ −L).
    pub budget: String,
    /// What the verdict rests on.
    pub rests_on: String,
    /// The solver's best profit (floating point, document units).
    pub best_profit: Option<f64>,
    /// The solver's best attack re-checked exactly (insecure when it beats the budget).
    pub witness: Option<ElasticWitness>,
    /// Robustness to Byzantine services.
    pub robustness: Option<Robustness>,
}

/// Elastic robustness (Bar-Zur–Eyal): the smallest weight of Byzantine services after which an
/// attack beats the budget.
#[derive(Debug, Clone, Serialize)]
pub struct Robustness {
    /// The budget assumed.
    pub budget: String,
    /// Secure whatever turns Byzantine, short of every service.
    pub survives_all: bool,
    /// The smallest breaking weight fraction (weights π_s/θ_s), when one exists.
    pub fraction: Option<Exact>,
    /// The Byzantine services of that fraction.
    pub byzantine: Vec<String>,
    /// The best attack's profit once they have slashed (solver, document units).
    pub profit_after: Option<f64>,
}

/// The worst-case loss for one ψ.
#[derive(Debug, Clone, Serialize)]
pub struct Loss {
    /// ψ as a reduced fraction.
    pub psi: String,
    /// `enumeration` (exact L_ψ) or `solver` (an exact loss of the solver's shock and attack:
    /// L_ψ when the solver is optimal).
    pub method: &'static str,
    /// The result, when computed.
    pub result: Option<LossReport>,
    /// Why not.
    pub error: Option<String>,
}

/// One search's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Search {
    /// `enumeration`, `bounds`, `certificate`, `solver`, `elastic`, `loss`.
    pub name: &'static str,
    /// How it ended (`decided secure`, `witness`, `time limit`, `skipped: …`).
    pub outcome: String,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Runs every model on `g`.
pub fn analyse(g: &Graph, opts: &Options) -> Report {
    let began = Instant::now();
    let mut searches = Vec::new();
    let leverage = leverage::leverage(g);
    let pooled = pooled(g, &leverage, opts, &mut searches);
    let elastic = elastic(g, opts, &mut searches);
    let losses = opts.psi.iter().map(|p| loss(g, *p, opts.limit, &mut searches)).collect();
    let verdict = match (pooled.verdict, elastic.skipped.is_some(), elastic.verdict) {
        (Verdict::Insecure, _, _) | (_, false, Verdict::Insecure) => Verdict::Insecure,
        (Verdict::Secure, true, _) | (Verdict::Secure, false, Verdict::Secure) => Verdict::Secure,
        _ => Verdict::Undecided,
    };
    Report {
        schema: SCHEMA,
        verdict,
        size: Size {
            validators: g.stake.len(),
            services: g.prize.len(),
            edges: g.service_edges.iter().map(Vec::len).sum(),
        },
        unit: "document",
        budget: g.show(g.budget),
        pooled,
        elastic,
        unique_stake: concentration::unique_stake(g),
        losses,
        leverage,
        concentration: concentration::concentrations(g),
        exposures: Vec::new(),
        searches,
        seconds: began.elapsed().as_secs_f64(),
    }
}

/// The pooled model alone (the report's first model), for callers that need only its verdict.
pub fn pooled_only(g: &Graph, opts: &Options) -> Pooled {
    pooled(g, &leverage::leverage(g), opts, &mut Vec::new())
}

fn timed<T>(searches: &mut Vec<Search>, name: &'static str, f: impl FnOnce() -> (T, String)) -> T {
    let t = Instant::now();
    let (v, outcome) = f();
    searches.push(Search { name, outcome, seconds: t.elapsed().as_secs_f64() });
    v
}

/// An amount in the graph's integer units as an exact value in the document's units.
fn amount(g: &Graph, r: &BigRational) -> Exact {
    Exact::from(&g.unscale(r))
}

/// An attack's (prize, cost) back in the graph's integer units.
fn parts(g: &Graph, a: &Attack) -> Option<(BigInt, BigInt)> {
    let read = |t: &str| Amount::parse(t).and_then(|x| x.scaled(g.decimals)).map(big);
    Some((read(&a.prize)?, read(&a.cost)?))
}

/// σ_B/π_A − 1 of an attack.
fn ratio(g: &Graph, a: &Attack) -> Option<BigRational> {
    let (p, c) = parts(g, a)?;
    (!p.is_zero()).then(|| BigRational::new(c, p) - BigRational::one())
}

fn profit_of(g: &Graph, a: &Attack) -> Option<BigRational> {
    parts(g, a).map(|(p, c)| BigRational::from_integer(p - c))
}

fn pooled(g: &Graph, lev: &LeverageReport, opts: &Options, searches: &mut Vec<Search>) -> Pooled {
    let mut out = blank();
    if g.prize.is_empty() {
        out.verdict = Verdict::Secure;
        out.method = "enumeration";
        out.rests_on = "there is no service to corrupt".into();
        return out;
    }
    if g.stake.len() <= exact::SECURITY_LIMIT {
        let sec = timed(searches, "enumeration", || match exact::security(g) {
            Ok(s) => {
                let o = format!("decided {}", if s.secure { "secure" } else { "insecure" });
                (Some(s), o)
            }
            Err(e) => (None, format!("skipped: {e}")),
        });
        if let Some(s) = sec {
            out.method = "enumeration";
            out.verdict = if s.secure { Verdict::Secure } else { Verdict::Insecure };
            out.rests_on = format!("every one of the 2^{} coalitions of validators was checked exactly", g.stake.len());
            let best = s.best_attack.as_ref().and_then(|a| profit_of(g, a)).map(|p| amount(g, &p));
            out.profit = Interval { lower: best.clone(), upper: best, exact: true };
            out.gamma = Interval { lower: s.slack.clone(), upper: s.slack.clone(), exact: s.slack.is_some() };
            if s.secure {
                out.closest = s.best_attack;
            } else {
                out.witness = s.best_attack;
            }
            return out;
        }
    }
    let b = timed(searches, "bounds", || {
        let b = bounds::bounds(g);
        let o = b.verdict.to_string();
        (b, o)
    });
    let upper = parse_exact(&b.upper_bound.exact).unwrap_or_else(BigRational::zero);
    out.profit = Interval {
        lower: b.best_found.as_ref().and_then(|a| profit_of(g, a)).map(|p| amount(g, &p)),
        upper: Some(amount(g, &upper)),
        exact: false,
    };
    let lower_gamma = if lev.condition_holds { lev.certified_slack.clone() } else { None };
    out.gamma = Interval {
        lower: lower_gamma,
        upper: b.best_found.as_ref().and_then(|a| ratio(g, a)).map(|r| Exact::from(&r)),
        exact: false,
    };
    match b.verdict {
        "insecure" => {
            out.verdict = Verdict::Insecure;
            out.method = "greedy";
            out.rests_on = "a coalition found by the greedy search, re-checked exactly, profits".into();
            out.witness = b.best_found;
            return out;
        }
        "secure" => {
            out.verdict = Verdict::Secure;
            out.method = if lev.condition_holds { "eigenlayer-condition" } else { "bounds" };
            out.rests_on = if lev.condition_holds {
                "every validator has ρ_v ≤ 1 (the EigenLayer condition), which rules out every profitable attack".into()
            } else {
                "a certified bound on any attack's profit (leverage and Lagrangian, exact) is ≤ 0".into()
            };
            out.closest = b.best_found;
            secure_gamma(&mut out.gamma);
            return out;
        }
        _ => {}
    }
    out.closest = b.best_found.clone();
    let parts = g.components();
    if parts.len() > 1 {
        by_component(g, &parts, opts.limit, &mut out, searches);
    } else {
        race(g, opts.limit, &mut out, searches);
    }
    if out.verdict == Verdict::Secure {
        secure_gamma(&mut out.gamma);
    }
    if out.verdict == Verdict::Undecided {
        out.rests_on = format!(
            "nothing decided within {} s: the best attack's profit lies in the interval shown",
            opts.limit.as_secs_f64()
        );
    }
    out
}

/// Nothing known yet.
fn blank() -> Pooled {
    Pooled {
        verdict: Verdict::Undecided,
        method: "none",
        rests_on: String::new(),
        witness: None,
        closest: None,
        profit: Interval::default(),
        gamma: Interval::default(),
        solver: None,
        certificate: None,
    }
}

/// One component's pooled verdict: enumeration when small, else the bounds, else the race.
fn decide_part(g: &Graph, limit: Duration) -> Pooled {
    if g.stake.len() <= exact::SECURITY_LIMIT
        && let Ok(s) = exact::security(g)
    {
        let mut p = blank();
        p.verdict = if s.secure { Verdict::Secure } else { Verdict::Insecure };
        p.method = "enumeration";
        p.witness = s.best_attack.filter(|a| a.profitable);
        return p;
    }
    let b = bounds::bounds(g);
    if b.verdict != "undecided" {
        let mut p = blank();
        p.verdict = if b.verdict == "secure" { Verdict::Secure } else { Verdict::Insecure };
        p.method = if b.verdict == "secure" { "bounds" } else { "greedy" };
        p.witness = b.best_found.filter(|a| a.profitable);
        return p;
    }
    race_only(g, limit)
}

/// A graph in independent parts is secure iff every part is (an attack's profit is the sum of
/// its parts', and each part of a valid attack is valid on its own): each part is decided alone,
/// smallest first, sharing the time limit; the first insecure part decides.
fn by_component(
    g: &Graph,
    parts: &[(Vec<usize>, Vec<usize>)],
    limit: Duration,
    out: &mut Pooled,
    searches: &mut Vec<Search>,
) {
    let deadline = Instant::now() + limit;
    let mut order: Vec<&(Vec<usize>, Vec<usize>)> = parts.iter().collect();
    order.sort_by_key(|(v, s)| (v.len(), s.len()));
    let mut methods: std::collections::BTreeMap<&'static str, usize> = std::collections::BTreeMap::new();
    let mut open = 0usize;
    for (vs, ss) in order {
        let started = Instant::now();
        let sub = g.subgraph(vs, ss);
        let p = decide_part(&sub, deadline.saturating_duration_since(started));
        searches.push(Search {
            name: "component",
            outcome: format!("{} validators, {} services: {:?} by {}", vs.len(), ss.len(), p.verdict, p.method)
                .to_lowercase(),
            seconds: started.elapsed().as_secs_f64(),
        });
        match p.verdict {
            Verdict::Insecure => {
                out.verdict = Verdict::Insecure;
                out.method = p.method;
                out.rests_on = format!(
                    "one of the graph's {} independent components has a profitable attack ({})",
                    parts.len(),
                    p.method
                );
                if let Some(w) = &p.witness {
                    raise_lower(g, out, w);
                }
                out.witness = p.witness;
                return;
            }
            Verdict::Secure => *methods.entry(p.method).or_default() += 1,
            Verdict::Undecided => open += 1,
        }
    }
    if open == 0 {
        out.verdict = Verdict::Secure;
        out.method = if methods.contains_key("solver") { "solver" } else { "components" };
        let how: Vec<String> = methods.iter().map(|(m, k)| format!("{k} by {m}")).collect();
        out.rests_on = format!(
            "the graph splits into {} independent components, each secure: {}{}",
            parts.len(),
            how.join(", "),
            if methods.contains_key("solver") { " (HiGHS within its margin: not an exact proof)" } else { "" }
        );
    }
}

/// The pooled verdict from the certificate and the solver alone (what decides graphs beyond
/// enumeration that the bounds leave open), on any graph: for cross-checks against enumeration.
pub fn race_only(g: &Graph, limit: Duration) -> Pooled {
    let mut out = blank();
    race(g, limit, &mut out, &mut Vec::new());
    out
}

/// Secure means γ* ≥ 0.
fn secure_gamma(gamma: &mut Interval) {
    if gamma.lower.is_none() {
        gamma.lower = Some(Exact::from(&BigRational::zero()));
    }
}

fn parse_exact(text: &str) -> Option<BigRational> {
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    Some(BigRational::new(n.parse().ok()?, d.parse().ok()?))
}

enum Answer {
    Certificate(Certificate),
    Solver(Result<SolverAnswer, String>),
}

/// The certificate and HiGHS side by side; the first decisive answer wins. The solver cannot be
/// interrupted: if the certificate wins, its thread runs on to its own time limit, detached.
fn race(g: &Graph, limit: Duration, out: &mut Pooled, searches: &mut Vec<Search>) {
    let began = Instant::now();
    let graph = Arc::new(g.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    {
        let (graph, stop, tx) = (Arc::clone(&graph), Arc::clone(&stop), tx.clone());
        std::thread::spawn(move || {
            let c = certify::certify_until(&graph, u64::MAX, Some(&stop));
            let _ = tx.send((Answer::Certificate(c), Instant::now()));
        });
    }
    {
        let graph = Arc::clone(&graph);
        std::thread::spawn(move || {
            // Its own limit ends a little before the race's, so its best coalition still counts.
            let own = limit.saturating_sub(limit / 20).max(limit.min(Duration::from_millis(100)));
            // No warm start from the greedy coalition: measured, it keeps HiGHS's feasibility jump
            // from finding a profitable coalition in 0.1 s on the 2,000 × 100 graphs.
            let s = solver::pooled(&graph, own);
            let _ = tx.send((Answer::Solver(s), Instant::now()));
        });
    }
    let mut deadline = began + limit;
    let mut stopped = false;
    let mut pending = 2;
    while pending > 0 && out.verdict == Verdict::Undecided {
        let wait = deadline.saturating_duration_since(Instant::now());
        let Ok((answer, at)) = rx.recv_timeout(wait) else {
            if stopped {
                break;
            }
            // Time is up: stop the certificate and give it a moment to say how far it got.
            stop.store(true, Ordering::Relaxed);
            stopped = true;
            deadline = Instant::now() + Duration::from_millis(250);
            searches.push(Search {
                name: "race",
                outcome: format!("time limit ({} s)", limit.as_secs_f64()),
                seconds: began.elapsed().as_secs_f64(),
            });
            continue;
        };
        pending -= 1;
        let secs = at.duration_since(began).as_secs_f64();
        match answer {
            Answer::Certificate(c) => {
                let outcome = if c.proven {
                    out.verdict = Verdict::Secure;
                    out.method = "certificate";
                    out.rests_on = format!(
                        "the exact branch-and-bound showed every coalition unprofitable ({} nodes, rational arithmetic)",
                        c.nodes
                    );
                    "proved secure".to_string()
                } else if let Some(w) = &c.witness {
                    out.verdict = Verdict::Insecure;
                    out.method = "certificate";
                    out.rests_on = "the exact branch-and-bound met a profitable coalition".into();
                    out.witness = Some(w.clone());
                    raise_lower(g, out, w);
                    "witness".to_string()
                } else {
                    format!("stopped after {} nodes", c.nodes)
                };
                searches.push(Search { name: "certificate", outcome, seconds: secs });
                out.certificate = Some(c);
            }
            Answer::Solver(Err(e)) => searches.push(Search { name: "solver", outcome: e, seconds: secs }),
            Answer::Solver(Ok(s)) => {
                let found = s.coalition.as_ref().map(|b| {
                    let mut in_b = vec![false; g.stake.len()];
                    for v in b {
                        in_b[*v] = true;
                    }
                    let (services, prize, cost) = bounds::evaluate(g, &in_b);
                    exact::attack_of(g, &services, b, prize, cost)
                });
                let outcome = if let Some(w) = found.as_ref().filter(|a| a.profitable) {
                    out.verdict = Verdict::Insecure;
                    out.method = "solver";
                    out.rests_on = format!("{}'s best coalition, re-checked exactly, profits", s.solver);
                    out.witness = Some(w.clone());
                    raise_lower(g, out, w);
                    "witness".to_string()
                } else if s.secure {
                    out.verdict = Verdict::Secure;
                    out.method = "solver";
                    out.rests_on = format!(
                        "{} (floating point) found no attack with profit above −{:e} × {} (its margin: 10 × its \
                         dual feasibility tolerance {:e} × {} variables); not an exact proof",
                        s.solver,
                        s.margin,
                        s.unit,
                        solver::DUAL_TOLERANCE,
                        g.stake.len() + g.prize.len()
                    );
                    format!("no attack above −margin ({})", s.status)
                } else {
                    if let Some(w) = &found {
                        raise_lower(g, out, w);
                    }
                    s.status.clone()
                };
                searches.push(Search { name: "solver", outcome, seconds: secs });
                out.solver = Some(s);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
}

/// A coalition better than the interval's lower end raises it (and lowers γ*'s upper end).
fn raise_lower(g: &Graph, out: &mut Pooled, a: &Attack) {
    let Some(p) = profit_of(g, a) else { return };
    let p = g.unscale(&p);
    let better = out.profit.lower.as_ref().and_then(|l| parse_exact(&l.exact)).is_none_or(|l| p > l);
    if better {
        out.profit.lower = Some(Exact::from(&p));
        if a.profitable {
            out.closest = None;
        }
        if let Some(r) = ratio(g, a) {
            out.gamma.upper = Some(Exact::from(&r));
        }
    }
}

fn elastic(g: &Graph, opts: &Options, searches: &mut Vec<Search>) -> Elastic {
    let budget = g.show(g.budget);
    let mut out = Elastic {
        verdict: Verdict::Undecided,
        skipped: None,
        budget: budget.clone(),
        rests_on: String::new(),
        best_profit: None,
        witness: None,
        robustness: None,
    };
    let (v, s) = (g.stake.len(), g.prize.len());
    if v > ELASTIC_LIMIT.0 || s > ELASTIC_LIMIT.1 {
        let why = format!(
            "{v} validators and {s} services exceed the elastic programs' limit of {} and {}",
            ELASTIC_LIMIT.0, ELASTIC_LIMIT.1
        );
        searches.push(Search { name: "elastic", outcome: format!("skipped: {why}"), seconds: 0.0 });
        out.skipped = Some(why);
        return out;
    }
    let began = Instant::now();
    let result = with_limit(g, opts.limit, |graph| {
        let best = milp::elastic_attack(graph)?;
        let witness = best.as_ref().and_then(|b| milp::elastic_witness(graph, b));
        #[allow(clippy::cast_precision_loss)]
        let budget = f64::from(graph.budget);
        let rob = milp::elastic_robustness(graph, budget)?;
        let after = match &rob {
            Some((_, ys)) => {
                let idx: Vec<usize> =
                    ys.iter().filter_map(|n| graph.service_names.iter().position(|m| m == n)).collect();
                let left = milp::after_byzantine(graph, &idx).map_err(|e| e.to_string())?;
                Some(milp::elastic_best_profit(&left)?)
            }
            None => None,
        };
        Ok((best, witness, rob, after))
    });
    let secs = began.elapsed().as_secs_f64();
    let unit = 10f64.powi(i32::try_from(g.decimals).unwrap_or(0));
    match result {
        Err(e) => {
            searches.push(Search { name: "elastic", outcome: e.clone(), seconds: secs });
            out.skipped = Some(e);
        }
        Ok((best, witness, rob, after)) => {
            out.best_profit = best.as_ref().map(|b| b.profit / unit);
            #[allow(clippy::cast_precision_loss)]
            let budget_f = f64::from(g.budget);
            let tolerance = solver::margin(g) * f64::from(solver::unit(g));
            match (&best, witness.as_ref().filter(|w| w.beats_budget)) {
                (_, Some(_)) => {
                    out.verdict = Verdict::Insecure;
                    out.rests_on = format!(
                        "the solver's best attack, rounded to whole units and re-checked exactly, loses less than the \
                         budget {budget}"
                    );
                }
                (None, None) => {
                    out.verdict = Verdict::Secure;
                    out.rests_on = "there is no service to attack".into();
                }
                (Some(b), None) if b.profit <= -budget_f - tolerance => {
                    out.verdict = Verdict::Secure;
                    out.rests_on = format!(
                        "the solver's optimum ({:.6}) is below −budget by more than its margin (floating point, not an \
                         exact proof)",
                        b.profit / unit
                    );
                }
                _ => out.rests_on = "the solver's optimum is within its margin of −budget".into(),
            }
            out.witness = witness;
            out.robustness = Some(Robustness {
                budget: budget.clone(),
                survives_all: rob.is_none(),
                fraction: rob.as_ref().map(|r| r.0.clone()),
                byzantine: rob.map(|r| r.1).unwrap_or_default(),
                profit_after: after.map(|p| p / unit),
            });
            let o = format!("{:?}", out.verdict).to_lowercase();
            searches.push(Search { name: "elastic", outcome: o, seconds: secs });
        }
    }
    out
}

/// Most validators the loss MILP is given.
pub const LOSS_MILP_LIMIT: usize = 200;

fn loss(g: &Graph, psi: Ratio, limit: Duration, searches: &mut Vec<Search>) -> Loss {
    let text = String::from(psi);
    let failed = |method, e: String| Loss { psi: text.clone(), method, result: None, error: Some(e) };
    if g.stake.len() <= exact::LOSS_LIMIT {
        return timed(searches, "loss", || match exact::worst_case_loss(g, psi) {
            Ok(l) => (
                Loss { psi: text.clone(), method: "enumeration", result: Some(l), error: None },
                format!("ψ = {text}: exact"),
            ),
            Err(e) => (failed("enumeration", e.to_string()), format!("ψ = {text}: {e}")),
        });
    }
    if g.stake.len() > LOSS_MILP_LIMIT {
        let e = format!("{} validators exceed the loss program's limit of {LOSS_MILP_LIMIT}", g.stake.len());
        searches.push(Search { name: "loss", outcome: format!("ψ = {text}: skipped: {e}"), seconds: 0.0 });
        return failed("solver", e);
    }
    timed(searches, "loss", || match with_limit(g, limit, move |graph| milp::worst_case_loss_milp(graph, psi)) {
        Ok(l) => {
            (Loss { psi: text.clone(), method: "solver", result: Some(l), error: None }, format!("ψ = {text}: solver"))
        }
        Err(e) => (failed("solver", e.clone()), format!("ψ = {text}: {e}")),
    })
}

/// Runs `work` on a copy of the graph in a worker thread, abandoned after `limit`.
fn with_limit<T: Send + 'static>(
    g: &Graph,
    limit: Duration,
    work: impl FnOnce(&Graph) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let graph = g.clone();
    std::thread::spawn(move || {
        let _ = tx.send(work(&graph));
    });
    rx.recv_timeout(limit).map_err(|_| format!("did not finish within {} s", limit.as_secs_f64()))?
}

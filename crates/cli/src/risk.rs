//! `cairn risk check FILE`: the risk engine over a restaking graph document (docs/risk.md).

use std::{fmt::Write as _, time::Duration};

use cairn_risk::{
    Graph, LeverageReport, LossReport, Ratio, SecurityReport,
    bounds::{self, BoundsReport},
    concentration::{self, Concentration, UniqueStakeCheck},
    exact,
    graph::GraphError,
    leverage,
    milp::{self, MilpReport},
};
use serde::Serialize;

/// Everything `cairn risk check` reports.
#[derive(Debug, Clone, Serialize)]
pub struct RiskReport {
    /// Validators and services in the graph.
    pub size: (usize, usize),
    /// The EigenLayer condition (always computed; O(edges)).
    pub leverage: LeverageReport,
    /// The exact check (pooled model), or why it was skipped.
    pub security: Result<SecurityReport, String>,
    /// The MILP's answer (`--deep`, graphs beyond enumeration), or why it has none.
    pub milp: Option<Result<MilpReport, String>>,
    /// The elastic model (`--deep`): best attack profit with divisible participation, and the
    /// robustness (smallest Byzantine weight fraction that breaks it, with the set).
    pub elastic: Option<Result<ElasticReport, String>>,
    /// Polynomial bounds: [best attack found, certified upper bound] (any size).
    pub bounds: BoundsReport,
    /// The worst-case loss after a shock, per ψ given (`--psi`), in order.
    pub losses: Vec<Result<LossReport, String>>,
    /// Unique-stake (M3) verdict per service, from the edges' allocations.
    pub unique_stake: Vec<UniqueStakeCheck>,
    /// HHI and Nakamoto coefficients per service and for the network.
    pub concentration: Vec<Concentration>,
    /// Per operator and staker, losses if services slash in full (scenario states only).
    pub exposures: Vec<cairn_risk::exposure::Exposure>,
}

/// Runs the checks on a JSON graph document.
pub fn check(text: &str, psi: Vec<Ratio>, deep: Option<Duration>) -> Result<RiskReport, String> {
    report(&Graph::from_json(text)?, psi, deep)
}

/// Runs a scenario file, builds the graph of its final state from the services' `risk`
/// declarations, and runs the checks. A scenario with a failed step is an error.
pub fn check_scenario(path: &std::path::Path, psi: Vec<Ratio>, deep: Option<Duration>) -> Result<RiskReport, String> {
    use crate::scenario::{Scenario, run_with_state};
    use cairn_primitives::{Address, OperatorSetKey};
    let scenario = Scenario::from_file(path).map_err(|e| format!("{e:#}"))?;
    let (rep, state) = run_with_state(&scenario, "scenario").map_err(|e| format!("{e:#}"))?;
    if !rep.ok() {
        return Err(format!("the scenario failed: {}", rep.failure_lines().join("; ")));
    }
    let address = |who: &str| -> Result<Address, String> {
        rep.accounts.get(who).copied().or_else(|| who.parse().ok()).ok_or_else(|| format!("unknown account {who:?}"))
    };
    // What the services declared on chain (`declare_set_risk`), then the file's `[[risk]]`
    // entries, which override a declaration for the same set.
    let mut declared: std::collections::BTreeMap<OperatorSetKey, cairn_risk::from_state::SetRisk> = state
        .set_risks()
        .into_iter()
        .map(|(set, d)| {
            let threshold = Ratio { num: d.threshold_num, den: d.threshold_den };
            (set, cairn_risk::from_state::SetRisk { set, prize: d.prize, threshold })
        })
        .collect();
    for r in &scenario.risk {
        let threshold = Ratio::try_from(r.threshold.clone())?;
        let set = OperatorSetKey { service: address(&r.service)?, id: r.set_id };
        declared.insert(set, cairn_risk::from_state::SetRisk { set, prize: r.prize.0, threshold });
    }
    let sets: Vec<_> = declared.into_values().collect();
    let by_address: std::collections::BTreeMap<Address, String> =
        rep.accounts.iter().map(|(n, a)| (*a, n.clone())).collect();
    let name = |a: Address| by_address.get(&a).cloned().unwrap_or_else(|| a.to_string());
    let block = state.last_block();
    let g = cairn_risk::from_state::graph_from_state(&state, block, &sets, name).map_err(|e| e.to_string())?;
    let mut r = report(&g, psi, deep)?;
    use cairn_risk::exposure::{operator_exposure, staker_exposure};
    r.exposures =
        state.operator_addresses().into_iter().map(|op| operator_exposure(&state, op, block, &name)).collect();
    let stakers: std::collections::BTreeSet<Address> = state.all_positions().map(|(a, ..)| a).collect();
    r.exposures.extend(
        stakers.into_iter().filter(|a| !state.is_operator(*a)).map(|a| staker_exposure(&state, a, block, &name)),
    );
    Ok(r)
}

/// The elastic model's answers for the same graph (allocations as written on the edges).
#[derive(Debug, Clone, Serialize)]
pub struct ElasticReport {
    /// Best attack profit (solver, floating point, graph units).
    pub best_profit: f64,
    /// Smallest Byzantine weight fraction that makes some attack profitable, with the set.
    pub robustness: Option<(cairn_risk::leverage::Exact, Vec<String>)>,
}

/// Largest graph the elastic programs run on from the CLI (their MILPs grow with every edge and
/// robustness solves one per Byzantine set).
const ELASTIC_LIMIT: (usize, usize) = (12, 8);

fn elastic_report(g: &Graph, limit: Duration) -> Result<ElasticReport, String> {
    let (v, s) = (g.stake.len(), g.prize.len());
    if v > ELASTIC_LIMIT.0 || s > ELASTIC_LIMIT.1 {
        return Err(format!(
            "{v} validators and {s} services exceed the elastic programs' limit of {} and {}",
            ELASTIC_LIMIT.0, ELASTIC_LIMIT.1
        ));
    }
    with_limit(g, limit, "the elastic programs did not finish", |graph| {
        let best_profit = milp::elastic_best_profit(graph)?;
        Ok(ElasticReport { best_profit, robustness: milp::elastic_robustness(graph, 0.0)? })
    })
}

/// The MILP in a worker thread, abandoned after `limit` (the process exits without it).
fn milp_with_limit(g: &Graph, limit: Duration) -> Result<MilpReport, String> {
    with_limit(g, limit, "the MILP did not finish (the bounds stand)", milp::security_deep)
}

/// Runs `work` on a copy of the graph in a worker thread, abandoned after `limit`.
fn with_limit<T: Send + 'static>(
    g: &Graph,
    limit: Duration,
    what: &str,
    work: impl FnOnce(&Graph) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let graph = g.clone();
    std::thread::spawn(move || {
        let _ = tx.send(work(&graph));
    });
    rx.recv_timeout(limit).map_err(|_| format!("{what} within {} s", limit.as_secs()))?
}

fn report(g: &Graph, psi: Vec<Ratio>, deep: Option<Duration>) -> Result<RiskReport, String> {
    let skipped = |e: GraphError| e.to_string();
    Ok(RiskReport {
        size: (g.stake.len(), g.prize.len()),
        leverage: leverage::leverage(g),
        security: exact::security(g).map_err(|e| match e {
            GraphError::TooLargeForExact { .. } if deep.is_none() => format!("{e}; use --deep for the MILP"),
            other => other.to_string(),
        }),
        milp: deep.filter(|_| g.stake.len() > exact::SECURITY_LIMIT).map(|limit| milp_with_limit(g, limit)),
        elastic: deep.map(|limit| elastic_report(g, limit)),
        bounds: bounds::bounds(g),
        losses: psi.into_iter().map(|p| exact::worst_case_loss(g, p).map_err(skipped)).collect(),
        unique_stake: concentration::unique_stake(g),
        concentration: concentration::concentrations(g),
        exposures: Vec::new(),
    })
}

/// What a report decides about the network, in the order of proof: an insecurity witness from
/// any check wins; else a proof of security from any check; else undecided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Proven: no coalition can profit.
    Secure,
    /// A profitable attack was found (the witness is in the report).
    Insecure,
    /// Neither within the limits (the bounds' interval straddles zero).
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
}

/// The report's verdict over all its checks (exact, MILP, bounds).
pub fn verdict(r: &RiskReport) -> Verdict {
    let milp = |secure: bool| r.milp.as_ref().is_some_and(|m| m.as_ref().is_ok_and(|m| m.secure == secure));
    let exact = |secure: bool| r.security.as_ref().is_ok_and(|s| s.secure == secure);
    if exact(false) || milp(false) || r.bounds.verdict == "insecure" {
        Verdict::Insecure
    } else if exact(true) || milp(true) || r.bounds.verdict == "secure" {
        Verdict::Secure
    } else {
        Verdict::Undecided
    }
}

/// A shock size ψ in [0, 1]: a fraction `p/q` or a decimal (`0.1`, `.05`, `1`).
pub fn psi(text: &str) -> Result<Ratio, String> {
    let t = text.trim();
    let r = if t.contains('/') {
        Ratio::try_from(t.to_string())?
    } else {
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = format!("{whole}{frac}");
        let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && frac.len() <= 18;
        let num = if ok { digits.parse::<u64>().ok() } else { None };
        let num = num.ok_or_else(|| format!("{t:?} is not a fraction (1/10) or a decimal (0.1)"))?;
        let den = 10u64.pow(u32::try_from(frac.len()).unwrap_or(0));
        let (mut a, mut b) = (num, den);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        let g = a.max(1);
        Ratio { num: num / g, den: den / g }
    };
    if r.den == 0 || r.num > r.den {
        return Err(format!("{t:?} is not in [0, 1]"));
    }
    Ok(r)
}

/// Parses a non-negative rational written `p/q`, `p` or a decimal amount (`32e18`).
pub fn rational(text: &str) -> Result<num_rational::BigRational, String> {
    use num_bigint::BigInt;
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let int = |t: &str| -> Result<BigInt, String> {
        let v = cairn_primitives::parse_amount(t).ok_or_else(|| format!("not a number: {t:?}"))?;
        Ok(BigInt::from_bytes_be(num_bigint::Sign::Plus, &v.to_be_bytes::<32>()))
    };
    let (n, d) = (int(n)?, int(d)?);
    if d == BigInt::from(0) {
        return Err(format!("zero denominator in {text:?}"));
    }
    Ok(num_rational::BigRational::new(n, d))
}

/// `cairn risk symmetric`: the elastic model's closed form (docs/risk.md).
pub fn symmetric(net: &cairn_risk::elastic::Symmetric) -> Result<String, String> {
    net.validate().map_err(|e| e.to_string())?;
    let show = |r: &num_rational::BigRational| cairn_risk::leverage::Exact::from(r);
    let mut out = String::new();
    match net.best_profit(0) {
        Some(p) => {
            let verdict = if net.secure(0) { "SECURE" } else { "INSECURE" };
            let e = show(&p);
            let _ = writeln!(
                out,
                "{verdict}: best attack profit {} (≈ {}), budget {}",
                e.exact,
                e.approx,
                show(&net.budget).exact
            );
        }
        None => {
            let _ = writeln!(out, "SECURE: nothing to attack");
        }
    }
    match net.robustness() {
        Some(h) => {
            let _ = writeln!(out, "robustness: insecure once {h} of {} services are Byzantine", net.services);
        }
        None => {
            let _ = writeln!(out, "robustness: secure even with every service Byzantine");
        }
    }
    if let Some(s) = net.min_secure_stake() {
        let e = show(&s);
        let _ = writeln!(
            out,
            "minimum secure stake per validator (no Byzantine service, L = 0): {} (≈ {})",
            e.exact, e.approx
        );
    }
    Ok(out)
}

/// The report for people: verdict first, then the evidence.
pub fn human(r: &RiskReport) -> String {
    let mut out = String::new();
    let (v, s) = r.size;
    let _ = writeln!(out, "graph: {v} validators, {s} services");
    match &r.security {
        Ok(sec) => {
            let verdict = if sec.secure { "SECURE" } else { "INSECURE" };
            let _ = writeln!(out, "exact check (pooled stake): {verdict}");
            if let Some(a) = &sec.best_attack {
                let label = if sec.secure { "closest coalition" } else { "witness attack" };
                let _ = writeln!(
                    out,
                    "  {label}: validators {:?} corrupt {:?}: prize {} - cost {} = profit {}",
                    a.validators, a.services, a.prize, a.cost, a.profit
                );
            }
            if let Some(g) = &sec.slack {
                let _ = writeln!(out, "  exact slack γ* = {} (≈ {})", g.exact, g.approx);
            }
        }
        Err(e) => {
            let _ = writeln!(out, "exact check skipped: {e}");
        }
    }
    match &r.milp {
        Some(Ok(m)) => {
            let proven = m.certificate.as_ref().is_some_and(|c| c.proven);
            let verdict = match (m.secure, proven) {
                (true, true) => "SECURE (proven exactly)",
                (true, false) => "SECURE (solver optimum; exact proof not completed)",
                (false, _) => "INSECURE",
            };
            let w = m
                .witness
                .as_ref()
                .map_or("none".to_string(), |a| format!("{:?} → {:?}, profit {}", a.validators, a.services, a.profit));
            let optimum = m.optimum.map_or("not needed".to_string(), |o| format!("{o:.6} (× largest amount)"));
            let _ = writeln!(out, "MILP (--deep): {verdict}: optimum {optimum}; witness {w}");
            if let Some(g) = &m.slack {
                let _ = writeln!(out, "  slack γ* (Dinkelbach) = {} (≈ {})", g.exact, g.approx);
            }
            if let Some(c) = &m.certificate {
                let how = if c.proven {
                    "every coalition shown unprofitable"
                } else if c.witness.is_some() {
                    "met a profitable coalition"
                } else {
                    "stopped at its node limit"
                };
                let _ = writeln!(out, "  exact branch-and-bound: {how} ({} nodes)", c.nodes);
            }
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "MILP (--deep): {e}");
        }
        None => {}
    }
    match &r.elastic {
        Some(Ok(e)) => {
            let rob = e.robustness.as_ref().map_or("survives any Byzantine set short of all".to_string(), |(f, ys)| {
                format!("breaks once {} of the weight is Byzantine ({ys:?})", f.exact)
            });
            let _ = writeln!(out, "elastic model (--deep): best attack profit {:.6}; robustness: {rob}", e.best_profit);
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "elastic model (--deep): {e}");
        }
        None => {}
    }
    let b = &r.bounds;
    let found = b.best_found.as_ref().map_or("none".to_string(), |a| a.profit.clone());
    let _ = writeln!(
        out,
        "bounds (any size): {}: best attack found {found}, certified profit bound {} (≈ {})",
        b.verdict, b.upper_bound.exact, b.upper_bound.approx
    );
    let lev = &r.leverage;
    let holds = if lev.condition_holds { "holds (secure)" } else { "fails" };
    let _ = writeln!(out, "EigenLayer condition (ρ_v ≤ 1 for all v): {holds}");
    if let Some(g) = &lev.certified_slack {
        let _ = writeln!(out, "  certified slack γ_EL = {} (≈ {})", g.exact, g.approx);
    }
    for u in &lev.unsecured_services {
        let _ = writeln!(out, "  service {u:?} has no stake: free to corrupt");
    }
    for v in lev.validators.iter().filter(|v| v.over_leveraged) {
        let _ = writeln!(out, "  over-leveraged: {} ρ = {} (≈ {})", v.validator, v.rho.exact, v.rho.approx);
    }
    for loss in &r.losses {
        match loss {
            Ok(l) => {
                let _ = writeln!(
                    out,
                    "worst-case loss after a shock of {}/{}: {} (≈ {}) of all stake; shock {:?}; attack part {}",
                    l.psi.num, l.psi.den, l.loss.exact, l.loss.approx, l.shock, l.attack_loss.exact
                );
            }
            Err(e) => {
                let _ = writeln!(out, "worst-case loss skipped: {e}");
            }
        }
    }
    for u in &r.unique_stake {
        let verdict = if u.secure { "secure" } else { "INSECURE" };
        let _ = writeln!(
            out,
            "unique stake: {} {verdict}: cost of corruption {} vs profit {} (allocated {})",
            u.service, u.cost_of_corruption.exact, u.profit_from_corruption, u.allocated
        );
    }
    for e in &r.exposures {
        let one = e.per_service.first().map_or("nothing".to_string(), |(s, l)| format!("{l} ({s})"));
        let all = e.worst_k.last().map_or("0", String::as_str);
        let _ = writeln!(
            out,
            "exposure {} ({}): stake {}, one service slashing in full: {one}, all: {all}",
            e.account, e.role, e.stake
        );
    }
    for c in &r.concentration {
        let _ = writeln!(
            out,
            "concentration {}: HHI {} (≈ {}), Nakamoto 1/3: {}, 1/2: {}",
            c.scope, c.hhi.exact, c.hhi.approx, c.nakamoto_one_third, c.nakamoto_one_half
        );
    }
    out
}

/// `cairn risk vault FILE`: run a scenario and report the vault's exposure — per service, what it
/// could take if it slashed all it can, the worst single service, any k together, and the
/// targets' worst loss as the policy checks it.
pub fn vault_scenario(path: &std::path::Path, vault: u32) -> Result<serde_json::Value, String> {
    use crate::scenario::{Scenario, run_with_state};
    let scenario = Scenario::from_file(path).map_err(|e| format!("{e:#}"))?;
    let (rep, state) = run_with_state(&scenario, "scenario").map_err(|e| format!("{e:#}"))?;
    if !rep.ok() {
        return Err(format!("the scenario failed: {}", rep.failure_lines().join("; ")));
    }
    let by_address: std::collections::BTreeMap<cairn_primitives::Address, String> =
        rep.accounts.iter().map(|(n, a)| (*a, n.clone())).collect();
    let name = |a: cairn_primitives::Address| by_address.get(&a).cloned().unwrap_or_else(|| a.to_string());
    let vault = cairn_primitives::VaultId(vault);
    let block = state.last_block();
    let exposure = cairn_risk::exposure::vault_exposure(&state, vault, block, &name).map_err(|e| e.to_string())?;
    let view = state.vault_exposure(vault, block).map_err(|e| e.to_string())?;
    let targets: Vec<serde_json::Value> =
        view.targets.iter().map(|(s, b)| serde_json::json!({"service": name(*s), "bps": b})).collect();
    Ok(serde_json::json!({
        "exposure": exposure,
        "targets": targets,
        "worst_target": view.worst_target.map(|(s, b)| serde_json::json!({"service": name(s), "bps": b})),
    }))
}

/// The vault report in words.
pub fn vault_human(v: &serde_json::Value) -> String {
    let mut out = String::new();
    let e = &v["exposure"];
    let stake = e["stake"].as_str().unwrap_or("0");
    let _ = writeln!(out, "{}: net assets {stake}", e["account"].as_str().unwrap_or("vault"));
    let pct = |x: &str| -> String {
        let (Ok(x), Ok(t)) = (x.parse::<f64>(), stake.parse::<f64>()) else { return "?".into() };
        if t == 0.0 { "0%".into() } else { format!("{:.2}%", 100.0 * x / t) }
    };
    match e["per_service"].as_array().and_then(|p| p.first()) {
        Some(w) => {
            let (s, l) = (w[0].as_str().unwrap_or("?"), w[1].as_str().unwrap_or("0"));
            let _ = writeln!(out, "worst single service: {s} could take {l} ({})", pct(l));
        }
        None => {
            let _ = writeln!(out, "no service can slash the vault's stake");
        }
    }
    for (k, l) in e["worst_k"].as_array().into_iter().flatten().enumerate() {
        let l = l.as_str().unwrap_or("0");
        let _ = writeln!(out, "  any {} together: {l} ({})", k + 1, pct(l));
    }
    for p in e["per_service"].as_array().into_iter().flatten() {
        let l = p[1].as_str().unwrap_or("0");
        let _ = writeln!(out, "  {}: {l} ({})", p[0].as_str().unwrap_or("?"), pct(l));
    }
    if let Some(w) = v["worst_target"].as_object() {
        let _ = writeln!(
            out,
            "targets in force: worst single-service loss {} bps ({})",
            w["bps"],
            w["service"].as_str().unwrap_or("?")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_exposure_adds_what_each_service_can_take() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/vault_stacked_yield.toml");
        let v = vault_scenario(std::path::Path::new(path), 0).unwrap();
        // op1 holds 735.84 stETH-value for the vault; the oracle and the bridge each hold a 10%
        // allocation of it, so each can take 73.584, and both together twice that.
        let e = &v["exposure"];
        let each = "73584000000000000000";
        assert_eq!(e["per_service"], serde_json::json!([["bridge_avs", each], ["oracle_avs", each]]));
        assert_eq!(e["worst_k"], serde_json::json!([each, "147168000000000000000"]));
        assert_eq!(v["worst_target"]["bps"], 1000);
        assert!(vault_human(&v).contains("any 2 together: 147168000000000000000 (19.88%)"));
    }

    #[test]
    fn psi_takes_fractions_and_decimals_in_zero_to_one() {
        let r = |t: &str| psi(t).map(|r| (r.num, r.den));
        assert_eq!(r("1/10"), Ok((1, 10)));
        assert_eq!(r("0.1"), Ok((1, 10)));
        assert_eq!(r(".05"), Ok((1, 20)), "reduced");
        assert_eq!(r("1"), Ok((1, 1)));
        assert_eq!(r("0"), Ok((0, 1)));
        assert_eq!(r(" 0.25 "), Ok((1, 4)));
        for bad in ["1.5", "2/1", "x", "", "-0.1", "0.1.2", "1/0"] {
            assert!(psi(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_verdict_prefers_a_witness_then_a_proof_else_undecided() {
        let read = |f: &str| {
            std::fs::read_to_string(format!("{}/../../examples/risk/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap()
        };
        let secure = check(&read("dr5.json"), Vec::new(), None).unwrap();
        assert_eq!(verdict(&secure), Verdict::Secure);
        let insecure =
            check(&read("dr5b.json"), vec![Ratio { num: 1, den: 10 }, Ratio { num: 1, den: 5 }], None).unwrap();
        assert_eq!(verdict(&insecure), Verdict::Insecure);
        assert_eq!(insecure.losses.len(), 2, "one worst-case loss per ψ");
        assert_eq!(human(&insecure).matches("worst-case loss after a shock").count(), 2);
        // Neither an exact answer nor bounds that decide: undecided, exit status 3.
        let mut open = secure.clone();
        open.security = Err("too large for the exact search".into());
        open.bounds.verdict = "undecided";
        assert_eq!(verdict(&open), Verdict::Undecided);
        assert_eq!([Verdict::Secure, Verdict::Insecure, Verdict::Undecided].map(Verdict::exit_code), [0, 1, 3]);
    }

    #[test]
    fn example_graphs_give_their_documented_verdicts() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/risk/dr5b.json")).unwrap();
        let r = check(&text, vec![Ratio { num: 1, den: 4 }], None).unwrap();
        let sec = r.security.as_ref().unwrap();
        assert!(!sec.secure);
        assert_eq!(sec.best_attack.as_ref().unwrap().profit, "16");
        assert!(!r.leverage.condition_holds);
        let text = human(&r);
        assert!(text.contains("INSECURE"), "{text}");
        assert!(text.contains("over-leveraged"), "{text}");
    }

    #[test]
    fn the_graph_of_a_scenario_state() {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/risk_network.toml"));
        let r = check_scenario(path, Vec::new(), None).unwrap();
        assert_eq!(r.size, (3, 2));
        let sec = r.security.as_ref().unwrap();
        assert!(!sec.secure);
        let w = sec.best_attack.as_ref().unwrap();
        assert_eq!(
            (w.validators.clone(), w.profit.as_str()),
            (vec!["op1".to_string(), "op2".to_string()], "60000000000000000000")
        );
        // Unique stake: each set holds 50 stETH; α·W = 25 < 50 (oracle), 100/3 < 80 (bridge).
        assert_eq!(r.unique_stake[0].allocated, "50000000000000000000");
        assert!(r.unique_stake.iter().all(|u| !u.secure));
        // op1 (40 stETH) has 20 behind each service; alice (op1's only staker) the same.
        let op1 = r.exposures.iter().find(|e| e.account == "op1").unwrap();
        assert_eq!(op1.per_service[0].1, "20000000000000000000");
        assert_eq!(op1.worst_k, vec!["20000000000000000000".to_string(), "40000000000000000000".to_string()]);
        let alice = r.exposures.iter().find(|e| e.account == "alice").unwrap();
        assert_eq!((alice.role, alice.worst_k.last().unwrap().as_str()), ("staker", "40000000000000000000"));
        assert!(check_scenario(std::path::Path::new("/nonexistent.toml"), Vec::new(), None).is_err());
    }

    #[test]
    fn symmetric_closed_form_from_the_cli_helpers() {
        let net = cairn_risk::elastic::Symmetric {
            validators: 3,
            services: 3,
            stake: rational("2").unwrap(),
            prize: rational("1").unwrap(),
            threshold: Ratio { num: 1, den: 2 },
            degree: rational("3").unwrap(),
            base_prize: None,
            budget: rational("0").unwrap(),
        };
        let text = symmetric(&net).unwrap();
        assert!(text.starts_with("SECURE: best attack profit -1 "), "{text}");
        assert!(text.contains("insecure once 1 of 3"), "{text}");
        assert_eq!(rational("3/2").unwrap(), rational("6/4").unwrap());
        assert!(rational("1/0").is_err() && rational("x").is_err());
        assert!(symmetric(&cairn_risk::elastic::Symmetric { validators: 0, ..net }).is_err());
    }

    #[test]
    fn deep_mode_proves_a_secure_network_beyond_enumeration_exactly() {
        // 30 validators in a ring, each service needing both of its two validators (θ = 2/3):
        // over-leveraged (ρ = 27/20) yet secure; only the exact branch-and-bound can say so.
        let mut doc = serde_json::json!({"validators": [], "services": [], "edges": []});
        for i in 0..30 {
            doc["validators"].as_array_mut().unwrap().push(serde_json::json!({"name": format!("v{i}"), "stake": "10"}));
            doc["services"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"name": format!("s{i}"), "prize": "9", "threshold": "2/3"}));
            for v in [i, (i + 1) % 30] {
                doc["edges"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"service": format!("s{i}"), "validator": format!("v{v}")}));
            }
        }
        let deep = check(&doc.to_string(), Vec::new(), Some(Duration::from_secs(60))).unwrap();
        let m = deep.milp.as_ref().unwrap().as_ref().unwrap();
        assert!(m.secure && m.certificate.as_ref().is_some_and(|c| c.proven), "{m:?}");
        let text = human(&deep);
        assert!(
            text.contains("SECURE (proven exactly)") && text.contains("every coalition shown unprofitable"),
            "{text}"
        );
    }

    #[test]
    fn deep_mode_solves_beyond_enumeration_and_its_witness_is_exact() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/risk/forty_operators.json"))
                .unwrap();
        let plain = check(&text, Vec::new(), None).unwrap();
        assert!(plain.security.as_ref().unwrap_err().contains("use --deep"));
        assert!(plain.milp.is_none());
        let deep = check(&text, Vec::new(), Some(Duration::from_secs(60))).unwrap();
        let m = deep.milp.unwrap().unwrap();
        let w = m.witness.unwrap();
        assert!(!m.secure);
        // The MILP's witness is at least as good as the greedy one and within the certified bound.
        let found: i64 = deep.bounds.best_found.unwrap().profit.parse().unwrap();
        let bound = &deep.bounds.upper_bound.exact;
        let (num, den) = bound.split_once('/').unwrap_or((bound, "1"));
        let (num, den): (i128, i128) = (num.parse().unwrap(), den.parse().unwrap());
        let profit: i64 = w.profit.parse().unwrap();
        assert!(found <= profit && i128::from(profit) * den <= num, "{found} ≤ {profit} ≤ {bound}");
        // Too large for the elastic programs: refused with the limits named, not run.
        assert!(deep.elastic.unwrap().unwrap_err().contains("exceed the elastic programs' limit"));
        let small =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/risk/dr5.json")).unwrap();
        let e = check(&small, Vec::new(), Some(Duration::from_secs(60))).unwrap().elastic.unwrap().unwrap();
        assert!((e.best_profit + 2.0).abs() < 1e-6);
        assert!(e.robustness.is_none());
    }

    #[test]
    fn malformed_graphs_are_errors() {
        assert!(check("{}", Vec::new(), None).is_err());
        assert!(
            check(
                r#"{"validators":[],"services":[{"name":"x","prize":"1","threshold":"2/1"}],"edges":[]}"#,
                Vec::new(),
                None
            )
            .is_err()
        );
    }
}

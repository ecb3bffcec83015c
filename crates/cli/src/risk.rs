//! `cairn risk check FILE` and `cairn risk scenario FILE`: the risk engine's report
//! (`cairn_risk::report`, schema `cairn.risk/1` in docs/risk.md) with inputs and output for people.

use std::{fmt::Write as _, time::Duration};

use cairn_risk::{
    Graph, GraphSpec, Options, Ratio, Report, Verdict,
    graph::Amount,
    leverage::Exact,
    report::{self, Interval},
};

/// Reads and validates a graph document, with `budget` (if given) replacing the document's.
pub fn graph(text: &str, budget: Option<Amount>) -> Result<Graph, String> {
    let mut spec: GraphSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if budget.is_some() {
        spec.budget = budget;
    }
    Graph::from_spec(&spec).map_err(|e| e.to_string())
}

/// Runs the report on a JSON graph document.
pub fn check(text: &str, opts: &Options, budget: Option<Amount>) -> Result<Report, String> {
    Ok(report::analyse(&graph(text, budget)?, opts))
}

/// Runs a scenario, builds the graph of its final state from the services' `risk` declarations
/// (and the file's `[[risk]]` entries), and reports on it with every account's exposure. A
/// scenario with a failed step is an error.
pub fn check_scenario(path: &std::path::Path, opts: &Options, budget: Option<Amount>) -> Result<Report, String> {
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
    let mut declared: std::collections::BTreeMap<OperatorSetKey, cairn_risk::from_state::SetRisk> =
        cairn_risk::from_state::declared_sets(&state).into_iter().map(|r| (r.set, r)).collect();
    for r in &scenario.risk {
        let threshold = Ratio::parse(&r.threshold)?;
        let set = OperatorSetKey { service: address(&r.service)?, id: r.set_id };
        declared.insert(set, cairn_risk::from_state::SetRisk { set, prize: r.prize.0, threshold });
    }
    let sets: Vec<_> = declared.into_values().collect();
    let by_address: std::collections::BTreeMap<Address, String> =
        rep.accounts.iter().map(|(n, a)| (*a, n.clone())).collect();
    let name = |a: Address| by_address.get(&a).cloned().unwrap_or_else(|| a.to_string());
    let block = state.last_block();
    let mut g = cairn_risk::from_state::graph_from_state(&state, block, &sets, name).map_err(|e| e.to_string())?;
    if let Some(b) = budget {
        // Scenario amounts are base units (wei): a budget with decimals has no place there.
        g.budget = b.scaled(0).ok_or_else(|| {
            format!("--budget {} must be a whole number of base units (wei) for a scenario", String::from(b))
        })?;
    }
    let mut r = report::analyse(&g, opts);
    r.unit = "wei";
    use cairn_risk::exposure::{operator_exposure, staker_exposure};
    r.exposures =
        state.operator_addresses().into_iter().map(|op| operator_exposure(&state, op, block, &name)).collect();
    let stakers: std::collections::BTreeSet<Address> = state.all_positions().map(|(a, ..)| a).collect();
    r.exposures.extend(
        stakers.into_iter().filter(|a| !state.is_operator(*a)).map(|a| staker_exposure(&state, a, block, &name)),
    );
    Ok(r)
}

/// The options of a `check` or `scenario` run: ψ values and the time limit (10 s, or `--deep`'s).
pub fn options(psi: &[String], deep: Option<u64>) -> Result<Options, String> {
    let psi = psi.iter().map(|p| self::psi(p)).collect::<Result<Vec<_>, _>>()?;
    Ok(Options { psi, limit: Duration::from_secs(deep.unwrap_or(10)) })
}

/// A shock size ψ in [0, 1]: a fraction `p/q` or a decimal (`0.1`, `.05`, `1`).
pub fn psi(text: &str) -> Result<Ratio, String> {
    let r = Ratio::parse(text)?;
    if r.den == 0 || r.num > r.den {
        return Err(format!("{:?} is not in [0, 1]", text.trim()));
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

/// A value for people: the fraction only when it is short, else its decimal.
fn q(e: &Exact) -> String {
    let approx = trim(&e.approx);
    if !e.exact.contains('/') {
        e.exact.clone()
    } else if e.exact.len() <= 12 {
        format!("{} ≈ {approx}", e.exact)
    } else {
        format!("≈ {approx}")
    }
}

fn trim(d: &str) -> String {
    if d.contains('.') { d.trim_end_matches('0').trim_end_matches('.').to_string() } else { d.to_string() }
}

/// A solver's float, to six decimals without trailing zeros.
fn float(x: f64) -> String {
    trim(&format!("{x:.6}"))
}

fn percent(e: &Exact) -> String {
    e.approx.parse::<f64>().map_or_else(|_| q(e), |x| format!("{:.2}%", 100.0 * x))
}

/// How amounts are shown: in the document's units, or wei shown as tokens (10^18 wei).
#[derive(Clone, Copy)]
struct Units {
    wei: bool,
}

impl Units {
    /// An amount string of the report (a decimal, maybe negative), with a real minus sign.
    fn amount(self, text: &str) -> String {
        let (sign, digits) = text.strip_prefix('-').map_or(("", text), |d| ("−", d));
        let shown = match Amount::parse(digits) {
            Some(a) if self.wei => cairn_risk::graph::decimal_text(a.digits, a.decimals.saturating_add(18)),
            _ => digits.to_string(),
        };
        format!("{sign}{shown}")
    }

    /// An exact amount (profit bounds): whole and short as is, else its decimal.
    fn exact(self, e: &Exact) -> String {
        if self.wei || e.exact.contains('/') {
            let x: f64 = e.approx.parse().unwrap_or(f64::NAN);
            let x = if self.wei { x / 1e18 } else { x };
            float(x).replacen('-', "−", 1)
        } else {
            self.amount(&e.exact)
        }
    }

    fn float(self, x: f64) -> String {
        float(if self.wei { x / 1e18 } else { x }).replacen('-', "−", 1)
    }

    fn interval(self, i: &Interval) -> String {
        match (&i.lower, &i.upper) {
            (Some(l), Some(u)) if i.exact || l == u => self.exact(l),
            (Some(l), Some(u)) => format!("between {} and {}", self.exact(l), self.exact(u)),
            (Some(l), None) => format!("at least {}", self.exact(l)),
            (None, Some(u)) => format!("at most {}", self.exact(u)),
            (None, None) => "unknown".into(),
        }
    }

    fn attack_line(self, a: &cairn_risk::Attack) -> String {
        let verb = if a.profitable { "profit" } else { "a loss, not an attack:" };
        format!(
            "validators {} corrupt {}: prize {} − cost {} = {verb} {}",
            a.validators.join(", "),
            a.services.join(", "),
            self.amount(&a.prize),
            self.amount(&a.cost),
            self.amount(&a.profit)
        )
    }
}

/// γ* and other ratios: the fraction when short, else the decimal.
fn ratio_interval(i: &Interval) -> String {
    match (&i.lower, &i.upper) {
        (Some(l), Some(u)) if i.exact || l == u => q(l),
        (Some(l), Some(u)) => format!("between {} and {}", q(l), q(u)),
        (Some(l), None) => format!("at least {}", q(l)),
        (None, Some(u)) => format!("at most {}", q(u)),
        (None, None) => "unknown".into(),
    }
}

/// The report for people: one verdict line per model, then the evidence.
pub fn human(r: &Report) -> String {
    let mut out = String::new();
    let (p, e) = (&r.pooled, &r.elastic);
    let u = Units { wei: r.unit == "wei" };
    let _ = writeln!(out, "{:<10} pooled model: {}", p.verdict.word(), p.rests_on);
    match &e.skipped {
        Some(why) => {
            let _ = writeln!(out, "{:<10} elastic model (budget {}): not run: {why}", "—", u.amount(&e.budget));
        }
        None => {
            let _ = writeln!(
                out,
                "{:<10} elastic model (budget {}): {}",
                e.verdict.word(),
                u.amount(&e.budget),
                e.rests_on
            );
        }
    }
    let _ = writeln!(
        out,
        "network: {} ({} validators, {} services, {} edges; amounts in {})\n",
        r.verdict.word(),
        r.size.validators,
        r.size.services,
        r.size.edges,
        if u.wei { "tokens of 10^18 wei" } else { "the document's units" }
    );
    let _ = writeln!(out, "pooled model (how: {})", p.method);
    if let Some(w) = &p.witness {
        let _ = writeln!(out, "  attack: {}", u.attack_line(w));
    }
    if let Some(c) = &p.closest {
        let _ = writeln!(out, "  closest call: {}", u.attack_line(c));
    }
    let _ = writeln!(out, "  best attack's profit: {}", u.interval(&p.profit));
    let _ = writeln!(out, "  slack γ* (stake over prize − 1; ≥ 0 iff secure): {}", ratio_interval(&p.gamma));
    if let Some(s) = &p.solver {
        let bound = s.profit_bound.map_or(String::new(), |b| format!(", profit bound {b:.6} × {}", s.unit));
        let _ = writeln!(out, "  {}: {} after {:.2} s{bound}", s.solver, s.status, s.seconds);
    }
    if let Some(c) = &p.certificate {
        let how = if c.proven {
            "every coalition shown unprofitable"
        } else if c.witness.is_some() {
            "met a profitable coalition"
        } else {
            "stopped before a proof"
        };
        let _ = writeln!(out, "  exact branch-and-bound: {how} ({} nodes)", c.nodes);
    }
    if e.skipped.is_none() {
        let _ = writeln!(
            out,
            "elastic model (budget {}: secure iff the best attack loses at least that)",
            u.amount(&e.budget)
        );
        if let Some(b) = e.best_profit {
            let _ = writeln!(out, "  best attack's profit (solver, floating point): {}", u.float(b));
        }
        if let Some(w) = &e.witness {
            let _ = writeln!(
                out,
                "  best attack re-checked exactly: {} corrupted for prize {} − forfeited {} = {}",
                w.services.join(", "),
                u.amount(&w.prize),
                u.amount(&w.cost),
                u.amount(&w.profit)
            );
        }
        if let Some(rob) = &e.robustness {
            let line = match (&rob.fraction, rob.survives_all) {
                (Some(_), _) if rob.byzantine.is_empty() => "insecure with no Byzantine service".to_string(),
                (Some(f), _) => format!(
                    "breaks once {} of the service weight (π/θ) is Byzantine ({}); best profit after: {}",
                    percent(f),
                    rob.byzantine.join(", "),
                    rob.profit_after.map_or("?".into(), |x| u.float(x))
                ),
                (None, _) => "survives any Byzantine set short of every service".into(),
            };
            let _ = writeln!(out, "  robustness at budget {}: {line}", u.amount(&rob.budget));
        }
    }
    for l in &r.losses {
        match (&l.result, &l.error) {
            (Some(x), _) => {
                let _ = writeln!(
                    out,
                    "worst-case loss after a shock of ψ = {}: {} of all stake (shock: {}; then attack: {})",
                    l.psi,
                    percent(&x.loss),
                    if x.shock.is_empty() { "none".into() } else { x.shock.join(", ") },
                    percent(&x.attack_loss)
                );
            }
            (None, e) => {
                let _ = writeln!(
                    out,
                    "worst-case loss after a shock of ψ = {}: not computed: {}",
                    l.psi,
                    e.as_deref().unwrap_or("?")
                );
            }
        }
    }
    let lev = &r.leverage;
    let _ = writeln!(
        out,
        "EigenLayer condition (ρ_v ≤ 1 for every validator): {}",
        if lev.condition_holds { "holds" } else { "fails" }
    );
    if let Some(g) = &lev.certified_slack {
        let _ = writeln!(out, "  certified slack γ_EL: {}", q(g));
    }
    for u in &lev.unsecured_services {
        let _ = writeln!(out, "  service {u} has no stake: free to corrupt");
    }
    let over: Vec<String> = lev
        .validators
        .iter()
        .filter(|v| v.over_leveraged)
        .map(|v| format!("{} (ρ {})", v.validator, q(&v.rho)))
        .collect();
    if !over.is_empty() {
        let shown = over.len().min(10);
        let more = if over.len() > shown { format!(" and {} more", over.len() - shown) } else { String::new() };
        let _ = writeln!(out, "  over-leveraged: {}{more}", over[..shown].join(", "));
    }
    let insecure: Vec<&str> = r.unique_stake.iter().filter(|u| !u.secure).map(|u| u.service.as_str()).collect();
    let _ = writeln!(
        out,
        "unique stake (each service's own allocations): {} of {} services secure{}",
        r.unique_stake.len() - insecure.len(),
        r.unique_stake.len(),
        if insecure.is_empty() { String::new() } else { format!("; insecure: {}", insecure.join(", ")) }
    );
    for e in &r.exposures {
        let one = e.per_service.first().map_or("nothing".to_string(), |(s, l)| format!("{l} ({s})"));
        let all = e.worst_k.last().map_or("0", String::as_str);
        let _ = writeln!(
            out,
            "exposure {} ({}): stake {}, one service slashing in full: {one}, all: {all}",
            e.account, e.role, e.stake
        );
    }
    for c in r.concentration.iter().filter(|c| c.scope == "network") {
        let _ = writeln!(
            out,
            "concentration: HHI {}, Nakamoto coefficient {} (1/3 of stake), {} (1/2)",
            trim(&c.hhi.approx),
            c.nakamoto_one_third,
            c.nakamoto_one_half
        );
    }
    let searches: Vec<String> =
        r.searches.iter().map(|s| format!("{} {:.2} s ({})", s.name, s.seconds, s.outcome)).collect();
    let _ = writeln!(out, "searches: {}", searches.join("; "));
    out
}

/// The exit status of a report.
pub fn exit_code(r: &Report) -> u8 {
    let v: Verdict = r.verdict;
    v.exit_code()
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

    fn read(f: &str) -> String {
        std::fs::read_to_string(format!("{}/../../examples/risk/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn opts(psi: Vec<Ratio>) -> Options {
        Options { psi, limit: Duration::from_secs(60) }
    }

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
    fn verdicts_exit_codes_and_one_loss_per_psi() {
        let secure = check(&read("dr5.json"), &opts(Vec::new()), None).unwrap();
        assert_eq!((secure.verdict, exit_code(&secure)), (Verdict::Secure, 0));
        let insecure =
            check(&read("dr5b.json"), &opts(vec![Ratio { num: 1, den: 10 }, Ratio { num: 1, den: 5 }]), None).unwrap();
        assert_eq!((insecure.verdict, exit_code(&insecure)), (Verdict::Insecure, 1));
        assert_eq!(insecure.losses.len(), 2, "one worst-case loss per ψ");
        assert_eq!(human(&insecure).matches("worst-case loss after a shock").count(), 2);
        assert_eq!(Verdict::Undecided.exit_code(), 3);
    }

    #[test]
    fn human_output_leads_with_one_verdict_line_per_model() {
        let r = check(&read("dr5b.json"), &opts(vec![Ratio { num: 1, den: 4 }]), None).unwrap();
        assert!(!r.leverage.condition_holds);
        let w = r.pooled.witness.as_ref().unwrap();
        assert_eq!((w.profit.as_str(), w.profitable), ("16", true));
        let text = human(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("INSECURE   pooled model"), "{text}");
        assert!(lines[1].starts_with("INSECURE   elastic model (budget 0)"), "{text}");
        assert!(lines[2].starts_with("network: INSECURE"), "{text}");
        assert!(text.contains("over-leveraged"), "{text}");
        // A secure network's closest call is called a loss, not an attack; γ* is shown.
        let text = human(&check(&read("dr5.json"), &opts(Vec::new()), None).unwrap());
        assert!(text.contains("closest call") && text.contains("a loss, not an attack"), "{text}");
        assert!(!text.contains("best attack found"), "{text}");
        assert!(text.contains("slack γ*"), "{text}");
    }

    #[test]
    fn the_graph_of_a_scenario_state() {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/risk_network.toml"));
        let r = check_scenario(path, &opts(Vec::new()), None).unwrap();
        assert_eq!((r.size.validators, r.size.services), (3, 2));
        assert_eq!(r.pooled.verdict, Verdict::Insecure);
        let w = r.pooled.witness.as_ref().unwrap();
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
        assert!(check_scenario(std::path::Path::new("/nonexistent.toml"), &opts(Vec::new()), None).is_err());
        // A budget with decimals has no place among base units.
        let half = Amount::parse("0.5");
        assert!(check_scenario(path, &opts(Vec::new()), half).unwrap_err().contains("whole number"));
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

    /// 30 validators in a ring, each service needing both of its two validators (θ = 2/3):
    /// over-leveraged (ρ = 27/20) yet secure.
    fn ring(n: usize) -> String {
        let mut doc = serde_json::json!({"validators": [], "services": [], "edges": []});
        for i in 0..n {
            doc["validators"].as_array_mut().unwrap().push(serde_json::json!({"name": format!("v{i}"), "stake": 10}));
            doc["services"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"name": format!("s{i}"), "prize": "9", "threshold": "2/3"}));
            for v in [i, (i + 1) % n] {
                doc["edges"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"service": format!("s{i}"), "validator": format!("v{v}")}));
            }
        }
        doc.to_string()
    }

    #[test]
    fn beyond_enumeration_a_secure_network_is_proven_by_the_race() {
        let r = check(&ring(30), &opts(Vec::new()), None).unwrap();
        let p = &r.pooled;
        assert_eq!(p.verdict, Verdict::Secure, "{:?}", r.searches);
        assert!(["certificate", "solver"].contains(&p.method), "{}", p.method);
        assert_eq!(p.gamma.lower.as_ref().map(|g| g.exact.as_str()), Some("0"), "secure: γ* ≥ 0");
        // 30 validators and 30 services: within the elastic programs' reach (with HiGHS).
        if cairn_risk::report::ELASTIC_LIMIT.0 >= 30 {
            assert!(r.elastic.skipped.is_none(), "{:?}", r.elastic.skipped);
        }
        let text = human(&r);
        assert!(text.starts_with("SECURE     pooled model"), "{text}");
    }

    #[test]
    fn beyond_enumeration_a_witness_is_exact() {
        let r = check(&read("forty_operators.json"), &opts(Vec::new()), None).unwrap();
        let p = &r.pooled;
        assert_eq!(p.verdict, Verdict::Insecure);
        let w = p.witness.as_ref().unwrap();
        assert!(w.profitable);
        // The witness's profit is the interval's lower end, within the certified upper end.
        let lower = p.profit.lower.as_ref().unwrap();
        assert_eq!(lower.exact, w.profit);
        let (l, u): (f64, f64) =
            (lower.approx.parse().unwrap(), p.profit.upper.as_ref().unwrap().approx.parse().unwrap());
        assert!(0.0 < l && l <= u, "{l} ≤ {u}");
        assert_eq!(r.verdict, Verdict::Insecure);
        // The elastic model's attack is re-checked exactly and beats the budget (0).
        if cairn_risk::report::ELASTIC_LIMIT.0 >= 40 {
            let w = r.elastic.witness.as_ref().unwrap();
            assert!(w.beats_budget && !w.profit.starts_with('-'), "{w:?}");
            assert_eq!(r.elastic.verdict, Verdict::Insecure);
            assert!(human(&r).contains("insecure with no Byzantine service"), "{}", human(&r));
        }
    }

    #[test]
    fn malformed_graphs_are_errors() {
        let o = opts(Vec::new());
        assert!(check("{}", &o, None).is_err());
        let bad = r#"{"validators":[],"services":[{"name":"x","prize":"1","threshold":"2/1"}],"edges":[]}"#;
        assert!(check(bad, &o, None).is_err());
    }
}

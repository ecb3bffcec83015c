//! Worked cases of the reference's test catalogue (§9) and refused inputs.

use crate::{
    exact::{security, worst_case_loss},
    graph::{Graph, GraphError, Ratio},
    leverage::leverage,
};

/// Builds a graph from (validators, services, edges); every service on every validator when
/// `edges` is None.
fn graph(
    validators: &[(&str, u64)],
    services: &[(&str, u64, &str)],
    edges: Option<&[(&str, &str)]>,
) -> Result<Graph, GraphError> {
    let v: Vec<_> = validators.iter().map(|(n, s)| format!(r#"{{"name":"{n}","stake":"{s}"}}"#)).collect();
    let s: Vec<_> =
        services.iter().map(|(n, p, t)| format!(r#"{{"name":"{n}","prize":"{p}","threshold":"{t}"}}"#)).collect();
    let pairs: Vec<(String, String)> = match edges {
        Some(e) => e.iter().map(|(s, v)| (s.to_string(), v.to_string())).collect(),
        None => services
            .iter()
            .flat_map(|(s, _, _)| validators.iter().map(move |(v, _)| (s.to_string(), v.to_string())))
            .collect(),
    };
    let e: Vec<_> = pairs.iter().map(|(s, v)| format!(r#"{{"service":"{s}","validator":"{v}"}}"#)).collect();
    let text = format!(r#"{{"validators":[{}],"services":[{}],"edges":[{}]}}"#, v.join(","), s.join(","), e.join(","));
    let spec = serde_json::from_str(&text).expect("spec");
    Graph::from_spec(&spec)
}

fn ratio(num: u64, den: u64) -> Ratio {
    Ratio { num, den }
}

#[test]
fn dr1_tight_condition_secure_but_one_shock_loses_everything() {
    // D&R Theorem 2 with ε = 0.1, stakes scaled by 10: a = 1, b = 9, π_x = 10, α = 1.
    let g = graph(&[("a", 1), ("b", 9)], &[("x", 10, "1")], None).unwrap();
    let lev = leverage(&g);
    assert!(lev.condition_holds);
    assert_eq!(lev.validators[0].rho.exact, "1");
    assert_eq!(lev.certified_slack.unwrap().exact, "0");
    let sec = security(&g).unwrap();
    assert!(sec.secure);
    assert_eq!(sec.best_attack.unwrap().profit, "0");
    assert_eq!(sec.slack.unwrap().exact, "0");
    assert_eq!(worst_case_loss(&g, ratio(9, 100)).unwrap().loss.exact, "0");
    let l = worst_case_loss(&g, ratio(1, 10)).unwrap();
    assert_eq!(l.loss.exact, "1");
    assert_eq!(l.shock, vec!["a"]);
    assert_eq!(l.attack.unwrap().validators, vec!["b"]);
}

#[test]
fn dr5_whitepaper_example_is_secure_with_slack_one() {
    let ops = [("o1", 2), ("o2", 2), ("o3", 2), ("o4", 2)];
    let g = graph(&ops, &[("avs", 2, "1/2")], None).unwrap();
    let lev = leverage(&g);
    assert!(lev.condition_holds);
    assert_eq!(lev.validators[0].rho.exact, "1/2");
    assert_eq!(lev.certified_slack.unwrap().exact, "1");
    let sec = security(&g).unwrap();
    assert!(sec.secure);
    let best = sec.best_attack.unwrap();
    assert_eq!((best.cost.as_str(), best.profit.as_str()), ("4", "-2"));
    assert_eq!(sec.slack.unwrap().exact, "1");
}

#[test]
fn dr5b_ten_services_make_it_insecure_with_a_witness() {
    let ops = [("o1", 2), ("o2", 2), ("o3", 2), ("o4", 2)];
    let names: Vec<String> = (0..10).map(|i| format!("avs{i}")).collect();
    let services: Vec<(&str, u64, &str)> = names.iter().map(|n| (n.as_str(), 2, "1/2")).collect();
    let g = graph(&ops, &services, None).unwrap();
    let lev = leverage(&g);
    assert!(!lev.condition_holds);
    assert_eq!(lev.validators[0].rho.exact, "5");
    assert!(lev.validators.iter().all(|v| v.over_leveraged));
    let sec = security(&g).unwrap();
    assert!(!sec.secure);
    let w = sec.best_attack.unwrap();
    assert_eq!((w.prize.as_str(), w.cost.as_str(), w.profit.as_str()), ("20", "4", "16"));
    assert_eq!(w.validators.len(), 2);
    assert_eq!(w.services.len(), 10);
}

#[test]
fn el1_reference_example_pooled_part() {
    // 3 services π = 1, θ = 1/2; 3 validators σ = 2 on every service: two validators (cost 4)
    // take all three (prize 3), profit −1.
    let g = graph(&[("v1", 2), ("v2", 2), ("v3", 2)], &[("s1", 1, "1/2"), ("s2", 1, "1/2"), ("s3", 1, "1/2")], None)
        .unwrap();
    let sec = security(&g).unwrap();
    assert!(sec.secure);
    assert_eq!(sec.best_attack.unwrap().profit, "-1");
    assert_eq!(sec.slack.unwrap().exact, "1/3");
}

#[test]
fn eg2_unique_stake_of_an_operator_set() {
    // ELIP-002 Fig. 4: Op2 gives 10% of 100 ETH and Op3 20% of 100 ETH to Operator Set 1:
    // unique stake 30 ETH. With θ = 1/2 the set is secure for π ≤ 15, not for π = 16.
    let doc = |prize: u64| {
        format!(
            r#"{{"validators":[{{"name":"op2","stake":"100"}},{{"name":"op3","stake":"100"}}],
               "services":[{{"name":"set1","prize":"{prize}","threshold":"1/2"}}],
               "edges":[{{"service":"set1","validator":"op2","allocation":"10"}},
                        {{"service":"set1","validator":"op3","allocation":"20"}}]}}"#
        )
    };
    let g = Graph::from_json(&doc(15)).unwrap();
    let c = &crate::concentration::unique_stake(&g)[0];
    assert_eq!((c.allocated.as_str(), c.cost_of_corruption.exact.as_str(), c.secure), ("30", "15", true));
    let g = Graph::from_json(&doc(16)).unwrap();
    assert!(!crate::concentration::unique_stake(&g)[0].secure);
}

#[test]
fn bounds_on_the_whitepaper_examples() {
    let ops = [("o1", 2), ("o2", 2), ("o3", 2), ("o4", 2)];
    let names: Vec<String> = (0..10).map(|i| format!("avs{i}")).collect();
    let services: Vec<(&str, u64, &str)> = names.iter().map(|n| (n.as_str(), 2, "1/2")).collect();
    let b = crate::bounds::bounds(&graph(&ops, &services, None).unwrap());
    assert_eq!(b.verdict, "insecure");
    assert_eq!(b.best_found.unwrap().profit, "16");
    // Σ σ_v (ρ_v − 1) = 4 · 2 · 4 = 32, capped by π_S = 20; the Lagrangian search gets close to
    // the LP relaxation's value, 16 (= the optimum here: with X validators, 20·min(1, X/2) − 2X).
    let upper = parse_ratio(&b.upper_bound.exact);
    assert!(upper >= parse_ratio("16") && upper <= parse_ratio("161/10"), "{}", b.upper_bound.exact);
    assert!(crate::bounds::lagrangian_bound(&graph(&ops, &services, None).unwrap()) < parse_ratio("20"));
    let b = crate::bounds::bounds(&graph(&ops, &[("avs", 2, "1/2")], None).unwrap());
    assert_eq!((b.verdict, b.upper_bound.exact.as_str()), ("secure", "0"));
}

#[test]
fn milp_on_the_whitepaper_examples() {
    let ops = [("o1", 2), ("o2", 2), ("o3", 2), ("o4", 2)];
    let names: Vec<String> = (0..10).map(|i| format!("avs{i}")).collect();
    let services: Vec<(&str, u64, &str)> = names.iter().map(|n| (n.as_str(), 2, "1/2")).collect();
    let m = crate::milp::security_milp(&graph(&ops, &services, None).unwrap()).unwrap();
    assert!(!m.secure);
    assert_eq!(m.witness.unwrap().profit, "16");
    let m = crate::milp::security_milp(&graph(&ops, &[("avs", 2, "1/2")], None).unwrap()).unwrap();
    assert!(m.secure);
    assert_eq!(m.witness.unwrap().profit, "-2");
}

#[test]
fn a_service_without_stake_is_free_to_corrupt() {
    let g = graph(&[("a", 5)], &[("x", 1, "1"), ("orphan", 1, "1")], Some(&[("x", "a")])).unwrap();
    let sec = security(&g).unwrap();
    assert!(!sec.secure);
    let w = sec.best_attack.unwrap();
    assert_eq!(
        (w.services, w.validators, w.profit),
        (vec!["orphan".to_string()], Vec::<String>::new(), "1".to_string())
    );
}

#[test]
fn theorem1_bound_holds_on_small_examples() {
    // γ* > 0 implies L_ψ < (1 + 1/γ*)ψ. Two services sharing validators, several ψ.
    let g = graph(
        &[("a", 3), ("b", 4), ("c", 5)],
        &[("x", 2, "1/2"), ("y", 3, "2/3")],
        Some(&[("x", "a"), ("x", "b"), ("y", "b"), ("y", "c")]),
    )
    .unwrap();
    let sec = security(&g).unwrap();
    assert!(sec.secure);
    for (num, den) in [(1, 12), (1, 6), (1, 4), (1, 3)] {
        let l = worst_case_loss(&g, ratio(num, den)).unwrap();
        // γ* here is (cheapest σ_B/π_A) − 1; the bound is checked with exact fractions below.
        let gamma: num_rational::BigRational = parse_ratio(&sec.slack.clone().unwrap().exact);
        let loss = parse_ratio(&l.loss.exact);
        let psi = num_rational::BigRational::new(num.into(), den.into());
        let one = num_rational::BigRational::from_integer(1.into());
        assert!(loss < (one.clone() + one / gamma.clone()) * psi, "ψ = {num}/{den}: loss {}", l.loss.exact);
    }
}

fn parse_ratio(s: &str) -> num_rational::BigRational {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    num_rational::BigRational::new(n.parse().unwrap(), d.parse().unwrap())
}

#[test]
fn bad_graphs_are_refused_with_their_values() {
    let e = graph(&[("a", 0)], &[("x", 1, "1")], None).unwrap_err();
    assert_eq!(e, GraphError::ZeroStake { name: "a".into() });
    let e = graph(&[("a", 1)], &[("x", 0, "1")], None).unwrap_err();
    assert_eq!(e, GraphError::ZeroPrize { name: "x".into() });
    for t in ["0/1", "3/2", "1/0"] {
        let e = graph(&[("a", 1)], &[("x", 1, t)], None).unwrap_err();
        assert!(matches!(e, GraphError::ThresholdOutOfRange { .. }), "{t}: {e}");
    }
    let e = graph(&[("a", 1)], &[("x", 1, "1")], Some(&[("x", "ghost")])).unwrap_err();
    assert_eq!(e, GraphError::UnknownNode { kind: "validator", name: "ghost".into() });
    let e = graph(&[("a", 1)], &[("x", 1, "1")], Some(&[("nope", "a")])).unwrap_err();
    assert_eq!(e, GraphError::UnknownNode { kind: "service", name: "nope".into() });
    let e = graph(&[("a", 1)], &[("x", 1, "1")], Some(&[("x", "a"), ("x", "a")])).unwrap_err();
    assert!(matches!(e, GraphError::DuplicateEdge { .. }));
    let e = graph(&[("a", 1), ("a", 2)], &[("x", 1, "1")], Some(&[])).unwrap_err();
    assert_eq!(e, GraphError::DuplicateName { name: "a".into() });
    assert!(Graph::from_json(r#"{"validators":[{"name":"a","stake":"-5"}],"services":[],"edges":[]}"#).is_err());
    let big: Vec<(String, u64)> = (0..27).map(|i| (format!("v{i}"), 1)).collect();
    let refs: Vec<(&str, u64)> = big.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let g = graph(&refs, &[("x", 1, "1")], None).unwrap();
    assert_eq!(security(&g).unwrap_err(), GraphError::TooLargeForExact { validators: 27, limit: 26 });
    assert!(matches!(worst_case_loss(&g, ratio(1, 2)), Err(GraphError::TooLargeForExact { limit: 12, .. })));
}

mod properties {
    use super::*;
    use crate::report::Verdict;
    use proptest::prelude::*;

    /// Random graphs: `nv` validators and `ns` services in the given ranges, stakes below
    /// `stake`, prizes below `prize`, thresholds p/q with p ≤ q ≤ 3, each possible edge present
    /// with probability 1 − 1/`sparsity`.
    fn graphs(
        nv: std::ops::Range<usize>,
        ns: std::ops::Range<usize>,
        stake: u64,
        prize: u64,
        sparsity: u8,
    ) -> impl Strategy<Value = Graph> {
        (nv, ns).prop_flat_map(move |(nv, ns)| {
            (
                proptest::collection::vec(1u64..stake, nv),
                proptest::collection::vec((1u64..prize, 1u64..4, 1u64..4), ns),
                proptest::collection::vec(0u8..sparsity, nv * ns),
            )
                .prop_map(move |(stakes, services, mask)| {
                    let v: Vec<(String, u64)> = stakes.iter().enumerate().map(|(i, s)| (format!("v{i}"), *s)).collect();
                    let s: Vec<(String, u64, String)> = services
                        .iter()
                        .enumerate()
                        .map(|(i, (p, a, b))| (format!("s{i}"), *p, format!("{}/{}", a.min(b), a.max(b))))
                        .collect();
                    let e: Vec<(String, String)> = (0..nv * ns)
                        .filter(|k| mask[*k] > 0)
                        .map(|k| (format!("s{}", k / nv), format!("v{}", k % nv)))
                        .collect();
                    let vr: Vec<(&str, u64)> = v.iter().map(|(n, x)| (n.as_str(), *x)).collect();
                    let sr: Vec<(&str, u64, &str)> = s.iter().map(|(n, p, t)| (n.as_str(), *p, t.as_str())).collect();
                    let er: Vec<(&str, &str)> = e.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                    graph(&vr, &sr, Some(&er)).expect("valid random graph")
                })
        })
    }

    /// Small random graphs: up to 6 validators and 3 services, edges with probability 1/2.
    fn random_graph() -> impl Strategy<Value = Graph> {
        graphs(2..7, 1..4, 20, 30, 2)
    }

    /// A deliberately naive reference: every subset, every service, rationals.
    fn naive(g: &Graph) -> (Option<num_rational::BigRational>, Option<num_rational::BigRational>) {
        use num_rational::BigRational;
        let n = g.stake.len();
        let (mut best, mut tight): (Option<BigRational>, Option<BigRational>) = (None, None);
        for b in 0u32..(1 << n) {
            let cost: u128 = (0..n).filter(|v| b & (1 << v) != 0).map(|v| g.stake[v].to::<u128>()).sum();
            let mut prize = 0u128;
            let mut any = false;
            for s in 0..g.prize.len() {
                let total: u128 = g.service_edges[s].iter().map(|(v, _)| g.stake[*v].to::<u128>()).sum();
                let inb: u128 = g.service_edges[s]
                    .iter()
                    .filter(|(v, _)| b & (1 << v) != 0)
                    .map(|(v, _)| g.stake[*v].to::<u128>())
                    .sum();
                let t = g.threshold[s];
                if BigRational::new(inb.into(), 1.into())
                    >= BigRational::new((t.num as u128 * total).into(), t.den.into())
                {
                    prize += g.prize[s].to::<u128>();
                    any = true;
                }
            }
            if !any {
                continue;
            }
            let profit = BigRational::from_integer(prize.into()) - BigRational::from_integer(cost.into());
            let ratio = BigRational::new(cost.into(), prize.into()) - BigRational::from_integer(1.into());
            best = Some(best.map_or(profit.clone(), |x| x.max(profit)));
            tight = Some(tight.map_or(ratio.clone(), |x| x.min(ratio)));
        }
        (best, tight)
    }

    /// Larger random graphs for the certificate: up to 12 validators and 5 services, stakes and
    /// prizes spread so that both verdicts are common.
    fn larger_graph() -> impl Strategy<Value = Graph> {
        graphs(6..13, 2..6, 50, 120, 3)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// On graphs up to 12 validators the certificate's verdict is enumeration's.
        #[test]
        fn certificate_agrees_with_enumeration_on_larger_graphs(g in larger_graph()) {
            let sec = security(&g).unwrap();
            let c = crate::certify::certify(&g, 1_000_000);
            prop_assert!(!c.exhausted);
            prop_assert_eq!(c.proven, sec.secure);
            prop_assert_eq!(c.witness.is_some(), !sec.secure);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
        /// The branch-and-bound certificate proves exactly the secure graphs; on the others it
        /// stops at a witness whose profit enumeration confirms is positive.
        #[test]
        fn certificate_agrees_with_enumeration(g in random_graph()) {
            let sec = security(&g).unwrap();
            let c = crate::certify::certify(&g, 1_000_000);
            prop_assert!(!c.exhausted);
            prop_assert_eq!(c.proven, sec.secure);
            if let Some(w) = &c.witness {
                prop_assert!(!w.profit.starts_with('-') && w.profit != "0", "witness {:?}", w);
            }
            prop_assert_eq!(c.witness.is_some(), !sec.secure);
        }
    }

    /// `k` disjoint copies of a graph (names prefixed by the copy).
    fn copies(g: &Graph, k: usize) -> Graph {
        use crate::graph::{EdgeSpec, GraphSpec, ServiceSpec, ValidatorSpec};
        let mut spec = GraphSpec { validators: Vec::new(), services: Vec::new(), edges: Vec::new(), budget: None };
        for c in 0..k {
            for (v, name) in g.validator_names.iter().enumerate() {
                spec.validators.push(ValidatorSpec { name: format!("c{c}{name}"), stake: g.stake[v].into() });
            }
            for (s, name) in g.service_names.iter().enumerate() {
                spec.services.push(ServiceSpec {
                    name: format!("c{c}{name}"),
                    prize: g.prize[s].into(),
                    threshold: g.threshold[s],
                });
                for (v, _) in &g.service_edges[s] {
                    spec.edges.push(EdgeSpec {
                        service: format!("c{c}{name}"),
                        validator: format!("c{c}{}", g.validator_names[*v]),
                        allocation: None,
                    });
                }
            }
        }
        Graph::from_spec(&spec).expect("copies are valid")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// A graph of four disjoint copies (past enumeration's 26 validators) is decided component
        /// by component, with the verdict enumeration gives one copy.
        #[test]
        fn disjoint_copies_are_decided_by_component(g in graphs(7..11, 1..4, 20, 25, 2)) {
            let one = security(&g).unwrap();
            let four = copies(&g, 4);
            prop_assert_eq!(four.components().len(), g.components().len() * 4);
            let p = crate::report::pooled_only(&four, &crate::report::Options::default());
            let expected = if one.secure { Verdict::Secure } else { Verdict::Insecure };
            prop_assert_eq!(p.verdict, expected, "{:?}", p);
            if let Some(w) = &p.witness {
                prop_assert!(w.profitable);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        /// Beyond enumeration (28–36 validators) the two deciders check each other: when the
        /// exact certificate and HiGHS both decide, they agree; HiGHS's coalition, re-checked
        /// exactly, is never profitable on a graph the certificate proved secure, and a proof
        /// from HiGHS never meets a certificate's witness.
        #[test]
        fn beyond_enumeration_the_certificate_and_highs_agree(g in graphs(28..37, 3..9, 60, 150, 4)) {
            // A node limit keeps the debug-build test short (a node costs about 3 ms here).
            let c = crate::certify::certify(&g, 5_000);
            let s = crate::solver::pooled(&g, std::time::Duration::from_secs(20));
            #[cfg(feature = "highs")]
            {
                let s = s.expect("HiGHS runs");
                let exact = s.coalition.as_ref().map(|b| {
                    let mut in_b = vec![false; g.stake.len()];
                    for v in b {
                        in_b[*v] = true;
                    }
                    let (services, prize, cost) = crate::bounds::evaluate(&g, &in_b);
                    !services.is_empty() && prize > cost
                });
                if c.proven {
                    prop_assert!(exact != Some(true), "certificate proved secure, HiGHS found {:?}", s);
                }
                if c.witness.is_some() {
                    prop_assert!(!s.secure, "certificate found {:?}, HiGHS says secure", c.witness);
                }
                if s.secure {
                    prop_assert!(c.witness.is_none());
                }
            }
            #[cfg(not(feature = "highs"))]
            prop_assert!(s.is_err() && c.nodes > 0);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// The race that decides large graphs (exact certificate beside HiGHS) never contradicts
        /// enumeration, and its witness is a real profitable attack; the full report's verdict
        /// equals enumeration's.
        #[test]
        fn the_race_and_the_report_agree_with_enumeration(g in random_graph()) {
            let sec = security(&g).unwrap();
            let raced = crate::report::race_only(&g, std::time::Duration::from_secs(20));
            let expected = if sec.secure { Verdict::Secure } else { Verdict::Insecure };
            prop_assert_eq!(raced.verdict, expected, "{:?}", raced);
            if let Some(w) = &raced.witness {
                prop_assert!(w.profitable, "witness {:?}", w);
            }
            let full = crate::report::analyse(&g, &crate::report::Options::default());
            prop_assert_eq!(full.pooled.verdict, expected);
            // A decided verdict is never contradicted by the certified bounds.
            let b = crate::bounds::bounds(&g);
            let contradicts = if sec.secure { b.verdict == "insecure" } else { b.verdict == "secure" };
            prop_assert!(!contradicts, "bounds say {} against enumeration", b.verdict);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// The loss MILP (used beyond 12 validators) finds the worst-case loss enumeration finds,
        /// for ψ from 0 to 1; its shock and attack are exact.
        #[test]
        fn loss_milp_matches_enumeration(g in random_graph(), psi in 0u64..=4) {
            let psi = Ratio { num: psi, den: 4 };
            let enumerated = worst_case_loss(&g, psi).expect("enumeration");
            let milp = crate::milp::worst_case_loss_milp(&g, psi).expect("milp");
            prop_assert_eq!(&enumerated.loss, &milp.loss, "enumerated {:?}, milp {:?}", enumerated, milp);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// The single robustness MILP finds the same smallest Byzantine weight as enumerating
        /// every Byzantine set, with and without a loss budget.
        #[test]
        fn robustness_milp_matches_enumeration(g in random_graph(), budget in 0u64..6) {
            let budget = budget as f64;
            let enumerated = crate::milp::elastic_robustness_enumerated(&g, budget).expect("enumeration");
            let milp = crate::milp::elastic_robustness_milp(&g, budget).expect("milp");
            prop_assert_eq!(enumerated.map(|e| e.0), milp.map(|m| m.0));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// The MILP finds the same best attack as enumeration (its witness re-verified exactly).
        #[test]
        fn milp_agrees_with_enumeration(g in random_graph()) {
            let sec = security(&g).unwrap();
            let m = crate::milp::security_milp(&g).unwrap();
            prop_assert_eq!(m.secure, sec.secure);
            if let (Some(e), Some(w)) = (&sec.best_attack, &m.witness) {
                prop_assert_eq!(parse_ratio(&w.profit), parse_ratio(&e.profit));
            }
            prop_assert_eq!(m.slack.map(|s| parse_ratio(&s.exact)), sec.slack.map(|s| parse_ratio(&s.exact)));
            // Reference §1: atomic ≤ elastic (w = σ): divisible participation can only help the attacker.
            if let Some(e) = &sec.best_attack {
                let atomic: f64 = e.profit.parse().unwrap();
                let elastic = crate::milp::elastic_best_profit(&g).unwrap();
                prop_assert!(elastic >= atomic - 1e-6, "elastic {} < atomic {}", elastic, atomic);
            }
        }
    }

    proptest! {
        /// The Gray-code enumeration agrees with the naive one on profit and γ*.
        #[test]
        fn fast_enumeration_matches_the_naive_reference(g in random_graph()) {
            let sec = security(&g).unwrap();
            let (best, tight) = naive(&g);
            prop_assert_eq!(sec.best_attack.map(|a| parse_ratio(&a.profit)), best);
            prop_assert_eq!(sec.slack.map(|s| parse_ratio(&s.exact)), tight);
        }

        /// The bounds bracket the exact answer: best found ≤ exact best ≤ certified upper bound.
        #[test]
        fn bounds_bracket_the_exact_answer(g in random_graph()) {
            let sec = security(&g).unwrap();
            let b = crate::bounds::bounds(&g);
            let upper = parse_ratio(&b.upper_bound.exact);
            if let Some(exact) = &sec.best_attack {
                // Certified: no attack beats the upper bound.
                prop_assert!(parse_ratio(&exact.profit) <= upper);
                if let Some(found) = &b.best_found {
                    // The search never reports more than the optimum.
                    prop_assert!(parse_ratio(&found.profit) <= parse_ratio(&exact.profit));
                }
            }
            match b.verdict {
                "secure" => prop_assert!(sec.secure),
                "insecure" => prop_assert!(!sec.secure),
                _ => {}
            }
        }

        /// D&R Claim 1: the EigenLayer condition implies security, and γ_EL ≤ γ*.
        #[test]
        fn eigenlayer_condition_is_sufficient_and_its_slack_is_a_lower_bound(g in random_graph()) {
            let lev = leverage(&g);
            let sec = security(&g).unwrap();
            if lev.condition_holds {
                prop_assert!(sec.secure);
            }
            if let (Some(el), Some(exact)) = (lev.certified_slack, sec.slack) {
                prop_assert!(parse_ratio(&el.exact) <= parse_ratio(&exact.exact));
            }
        }

        /// Theorem 1: γ* > 0 implies L_ψ < (1 + 1/γ*)·ψ; and a secure graph loses only its shock
        /// when ψ = 0.
        #[test]
        fn robust_loss_bound(g in random_graph(), num in 0u64..5) {
            let sec = security(&g).unwrap();
            let l = worst_case_loss(&g, ratio(num, 10)).unwrap();
            let loss = parse_ratio(&l.loss.exact);
            if num == 0 && sec.secure {
                prop_assert_eq!(l.loss.exact.as_str(), "0");
            }
            if let Some(gamma) = sec.slack.map(|s| parse_ratio(&s.exact)).filter(|g| *g > parse_ratio("0")) {
                let one = parse_ratio("1");
                let psi = parse_ratio(&format!("{num}/10"));
                prop_assert!(num == 0 || loss < (one.clone() + one / gamma) * psi);
            }
        }
    }
}

#[cfg(test)]
mod robustness_beyond_enumeration {
    use crate::{graph::Graph, milp};

    /// 13 services, each backed by its own validator. `weak` services have a prize above the
    /// stake that guards them (θ = 1/2: half the stake corrupts them).
    fn disjoint(weak: &[usize]) -> Graph {
        let mut doc = serde_json::json!({"validators": [], "services": [], "edges": []});
        for i in 0..13 {
            let prize = if weak.contains(&i) { 100 } else { 10 };
            doc["validators"]
                .as_array_mut()
                .expect("array")
                .push(serde_json::json!({"name": format!("v{i}"), "stake": "100"}));
            doc["services"]
                .as_array_mut()
                .expect("array")
                .push(serde_json::json!({"name": format!("s{i}"), "prize": prize.to_string(), "threshold": "1/2"}));
            doc["edges"]
                .as_array_mut()
                .expect("array")
                .push(serde_json::json!({"service": format!("s{i}"), "validator": format!("v{i}")}));
        }
        Graph::from_spec(&serde_json::from_value(doc).expect("spec")).expect("graph")
    }

    #[test]
    fn more_services_than_enumeration_takes_go_to_the_milp() {
        let g = disjoint(&[]);
        assert!(g.prize.len() > milp::ROBUSTNESS_LIMIT);
        assert!(milp::elastic_robustness_enumerated(&g, 0.0).is_err(), "too many to enumerate");
        // One service is already profitable to corrupt: robustness 0 with no Byzantine service.
        let (fraction, byzantine) = milp::elastic_robustness(&disjoint(&[3]), 0.0).expect("milp").expect("insecure");
        assert_eq!((fraction.exact.as_str(), byzantine.len()), ("0", 0));
    }
}

#[cfg(test)]
mod certificate_beyond_enumeration {
    use crate::{certify::certify, exact, graph::Graph, leverage};

    /// `n` validators of stake 10 in a ring: service i is secured by validators i and i+1 (mod n)
    /// with threshold 2/3 and prize `prize`: corrupting it takes both validators.
    fn ring(n: usize, prize: u64) -> Graph {
        let mut doc = serde_json::json!({"validators": [], "services": [], "edges": []});
        for i in 0..n {
            doc["validators"]
                .as_array_mut()
                .expect("array")
                .push(serde_json::json!({"name": format!("v{i}"), "stake": "10"}));
            doc["services"]
                .as_array_mut()
                .expect("array")
                .push(serde_json::json!({"name": format!("s{i}"), "prize": prize.to_string(), "threshold": "2/3"}));
            for v in [i, (i + 1) % n] {
                doc["edges"]
                    .as_array_mut()
                    .expect("array")
                    .push(serde_json::json!({"service": format!("s{i}"), "validator": format!("v{v}")}));
            }
        }
        Graph::from_spec(&serde_json::from_value(doc).expect("spec")).expect("graph")
    }

    #[test]
    fn proves_a_secure_over_leveraged_ring_of_30_and_finds_the_attack_on_an_insecure_one() {
        // ρ_v = 2 · π / (2/3 · 20) = 3π/20 > 1 for π = 9: the EigenLayer condition fails. Yet k < n
        // adjacent validators corrupt only k − 1 services (9(k − 1) − 10k < 0) and the whole ring
        // corrupts n (9n − 10n < 0): secure. With π = 11 the whole ring profits 11n − 10n > 0.
        let secure = ring(30, 9);
        assert!(exact::security(&secure).is_err(), "30 validators are beyond enumeration");
        assert!(
            !leverage::leverage(&secure).condition_holds,
            "the EigenLayer condition fails: only a proof can say secure"
        );
        let c = certify(&secure, 100_000);
        assert!(c.proven && c.witness.is_none(), "{c:?}");
        let insecure = ring(30, 11);
        let c = certify(&insecure, 100_000);
        assert!(!c.proven, "{c:?}");
        let w = c.witness.expect("a witness");
        assert!(w.profit.parse::<i64>().expect("integer") > 0, "{w:?}");
    }
}

/// A network with no staked operator (a fresh chain, say) is a valid input: the worst-case loss
/// is zero rather than a division by zero, and the other checks answer too.
#[test]
fn a_graph_without_stake_answers_without_dividing_by_zero() {
    let g = Graph::from_json(r#"{"validators":[],"services":[],"edges":[]}"#).expect("an empty graph is valid");
    let l = worst_case_loss(&g, Ratio { num: 1, den: 10 }).expect("loss");
    assert_eq!((l.loss.exact.as_str(), l.attack_loss.exact.as_str()), ("0", "0"));
    assert!(security(&g).expect("security").secure, "nothing to attack");
    let _ = leverage(&g);
    let _ = crate::concentration::concentrations(&g);
    let _ = crate::bounds::bounds(&g);
}

mod documents {
    use crate::graph::{Amount, Graph, Ratio};

    fn graph(stake: &str, prize: &str, threshold: &str, extra: &str) -> Result<Graph, String> {
        Graph::from_json(&format!(
            r#"{{"validators":[{{"name":"a","stake":{stake}}},{{"name":"b","stake":"2"}}],
                "services":[{{"name":"s","prize":{prize},"threshold":{threshold}}}],
                "edges":[{{"service":"s","validator":"a"}},{{"service":"s","validator":"b"}}]{extra}}}"#
        ))
    }

    #[test]
    fn amounts_are_decimals_scientific_hex_or_json_numbers_read_exactly() {
        let a = |t: &str| Amount::parse(t).map(|a| (a.digits.to::<u128>(), a.decimals));
        assert_eq!(a("1.5"), Some((15, 1)));
        assert_eq!(a("32e18"), Some((32_000_000_000_000_000_000, 0)));
        assert_eq!(a("2.5e-3"), Some((25, 4)));
        assert_eq!(a("1.25e1"), Some((125, 1)));
        assert_eq!(a("0x10"), Some((16, 0)));
        assert_eq!(a(".5"), Some((5, 1)));
        assert_eq!(a("1_000"), Some((1000, 0)));
        for bad in ["", "-1", "+1", "1.2.3", "e5", "1e", "x", "1e-19", "0.0000000000000000001"] {
            assert_eq!(Amount::parse(bad), None, "{bad:?}");
        }
        // The whole document takes the finest scale; amounts print back in its units.
        let g = graph("1.5", "2.25", "\"0.5\"", "").unwrap();
        assert_eq!(g.decimals, 2);
        assert_eq!((g.stake[0].to::<u64>(), g.prize[0].to::<u64>()), (150, 225));
        assert_eq!(g.threshold[0], Ratio { num: 1, den: 2 });
        assert_eq!(
            (g.show(g.stake[0]), g.show(g.stake[1]), g.show(g.prize[0])),
            ("1.5".into(), "2".into(), "2.25".into())
        );
        assert_eq!(g.show_signed(g.stake[0], g.prize[0]), "-0.75");
        // JSON numbers: integers exactly, fractions through their shortest form, thresholds too.
        let g = graph("1.5", "3", "0.5", r#","budget":0.25"#).unwrap();
        assert_eq!((g.decimals, g.show(g.budget), g.threshold[0]), (2, "0.25".into(), Ratio { num: 1, den: 2 }));
        let err = graph("9007199254740993.5", "3", "0.5", "").unwrap_err();
        assert!(err.contains("write it as a string"), "{err}");
        assert!(graph("-1", "3", "0.5", "").is_err());
        assert!(graph("\"1\"", "3", "\"1.5\"", "").unwrap_err().contains("outside (0, 1]"));
    }
}

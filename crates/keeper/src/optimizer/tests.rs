//! Unit tests of the optimizer: hand-made problems with a known optimum, the rounding repair, a
//! property test of the integer policy over random problems, and the state machine accepting the
//! targets end to end.

use std::collections::BTreeMap;

use cairn_primitives::{Address, AssetId, StrategyId, U256, VaultId, WAD, math, named_address};
use cairn_state::{
    Ctx, Event, Genesis, GenesisAsset, State, Tx,
    oracle::OracleCommittee,
    tx::{AllocateParams, GovernanceAction},
    vault::{
        AssetConfig, OperatorLimit, Policy, ServiceCap, TargetWeight, VaultParams,
        tx::{AssetPrice, Deposit, ReportPrices, VaultRef, VaultSpec},
    },
};
use proptest::prelude::*;

use super::*;

fn a(name: &str) -> Address {
    named_address(name)
}

/// `num / den` as a WAD fraction, rounded up (as the state rounds fractions).
fn frac(num: u128, den: u128) -> U256 {
    math::mul_div_up(U256::from(num), WAD, U256::from(den)).expect("fraction")
}

/// An operator: name, cap, registered, fractions (service name, WAD).
type OpSpec<'a> = (&'a str, u16, bool, Vec<(&'a str, U256)>);

fn problem(ops: Vec<OpSpec<'_>>, services: &[(&str, u16, u64)], min_buffer_bps: u16, risk_budget_bps: u16) -> Problem {
    Problem {
        vault: VaultId(0),
        total_assets: U256::from(1_000u32),
        min_buffer_bps,
        risk_budget_bps,
        window_seconds: 86_400,
        operators: ops
            .into_iter()
            .map(|(name, cap_bps, registered, fr)| OperatorInput {
                operator: a(name),
                cap_bps,
                registered,
                fractions: fr.into_iter().map(|(s, f)| (a(s), f)).collect(),
            })
            .collect(),
        services: services
            .iter()
            .map(|(name, cap_bps, apr)| ServiceInput {
                service: a(name),
                cap_bps: *cap_bps,
                reward_apr_bps: *apr,
                secured_value: U256::from(1_000u32),
                declared_prize: None,
            })
            .collect(),
    }
}

/// No penalty and no slashing: the optimum is the plain yield-maximising corner.
fn plain() -> Config {
    Config { slash_probability: 0.0, concentration_penalty_bps: 0.0, ..Config::default() }
}

fn weight(s: &Solution, name: &str) -> u16 {
    s.weights.iter().find(|w| w.operator == a(name)).map_or(0, |w| w.bps)
}

fn assert_passes(p: &Problem, cfg: &Config, s: &Solution) {
    let checked = check_targets(p, cfg, s.buffer_bps, &s.weights).expect("the targets pass the policy");
    assert_eq!((checked.worst_loss_bps, checked.worst_service), (s.worst_loss_bps, s.worst_service));
    let sum: u32 = s.weights.iter().map(|w| u32::from(w.bps)).sum::<u32>() + u32::from(s.buffer_bps);
    assert_eq!(sum, 10_000);
    assert!(s.weights.windows(2).all(|w| w[0].operator < w[1].operator), "weights ascending");
    assert!(s.weights.iter().all(|w| w.bps > 0), "zero weights are omitted");
}

#[test]
fn a_binding_service_cap_sends_the_rest_to_the_next_best_operator() {
    // op1 earns 1000 bps a year on svcA, capped at 30%; op2 earns 500 on svcB.
    let p = problem(
        vec![("op1", 10_000, true, vec![("svcA", WAD)]), ("op2", 10_000, true, vec![("svcB", WAD)])],
        &[("svcA", 3_000, 1_000), ("svcB", 10_000, 500)],
        1_000,
        10_000,
    );
    let s = optimize(&p, &plain()).expect("optimize");
    assert_passes(&p, &plain(), &s);
    assert_eq!((weight(&s, "op1"), weight(&s, "op2"), s.buffer_bps), (3_000, 6_000, 1_000));
    assert_eq!((s.worst_service, s.worst_loss_bps), (Some(a("svcB")), 6_000));
    assert!((s.expected_net_apr_bps - 600.0).abs() < 1e-9, "{}", s.expected_net_apr_bps);
    assert!((s.lp_objective - 600.0).abs() < 1e-6, "{}", s.lp_objective);
    assert_eq!(s.repaired_bps, 0);
}

#[test]
fn an_operator_with_no_exposure_and_no_reward_gets_nothing() {
    let p = problem(
        vec![("op1", 4_000, true, vec![("svcA", frac(1, 2))]), ("idle", 10_000, true, vec![])],
        &[("svcA", 10_000, 800)],
        1_000,
        10_000,
    );
    let s = optimize(&p, &plain()).expect("optimize");
    assert_passes(&p, &plain(), &s);
    assert_eq!(s.weights, vec![TargetWeight { operator: a("op1"), bps: 4_000 }]);
    assert_eq!(s.buffer_bps, 6_000);
    assert_eq!((s.worst_service, s.worst_loss_bps), (Some(a("svcA")), 2_000));
    assert!((s.expected_net_apr_bps - 160.0).abs() < 1e-9);
}

#[test]
fn the_risk_budget_binds_the_worst_single_service_loss() {
    let p = problem(
        vec![("op1", 10_000, true, vec![("svcA", frac(3, 5))]), ("op2", 10_000, true, vec![("svcB", frac(3, 5))])],
        &[("svcA", 10_000, 1_000), ("svcB", 10_000, 900)],
        1_000,
        1_500,
    );
    let s = optimize(&p, &plain()).expect("optimize");
    assert_passes(&p, &plain(), &s);
    // 1500 / 0.6 = 2500 each.
    assert_eq!((weight(&s, "op1"), weight(&s, "op2"), s.buffer_bps), (2_500, 2_500, 5_000));
    assert_eq!(s.worst_loss_bps, 1_500);
    assert_eq!(s.worst_service, Some(a("svcA").min(a("svcB"))), "ties name the lowest address");
}

#[test]
fn an_unregistered_operator_gets_zero() {
    let p = problem(
        vec![("gone", 10_000, false, vec![("svcA", WAD)]), ("op1", 10_000, true, vec![("svcB", WAD)])],
        &[("svcA", 10_000, 2_000), ("svcB", 10_000, 100)],
        1_000,
        10_000,
    );
    let s = optimize(&p, &plain()).expect("optimize");
    assert_passes(&p, &plain(), &s);
    assert_eq!(s.weights, vec![TargetWeight { operator: a("op1"), bps: 9_000 }]);
    assert_eq!(weight(&s, "gone"), 0);
}

#[test]
fn the_concentration_penalty_stops_at_the_marginal_yield() {
    // Net 100 bps; λ = 200 on breakpoints 5/15/30/100%: slopes 10, 40, 90, 260, so the optimum
    // fills the first three segments: 30% each.
    let p = problem(
        vec![("op1", 10_000, true, vec![("svcA", WAD)]), ("op2", 10_000, true, vec![("svcB", WAD)])],
        &[("svcA", 10_000, 100), ("svcB", 10_000, 100)],
        1_000,
        10_000,
    );
    let cfg = Config { slash_probability: 0.0, ..Config::default() };
    let s = optimize(&p, &cfg).expect("optimize");
    assert_passes(&p, &cfg, &s);
    assert_eq!((weight(&s, "op1"), weight(&s, "op2"), s.buffer_bps), (3_000, 3_000, 4_000));
    // Each: 30 bps of yield less the penalty 200 · (0.05·0.05 + 0.2·0.1 + 0.45·0.15) = 18.
    assert!((s.objective - 2.0 * (30.0 - 18.0)).abs() < 1e-9, "{}", s.objective);
    assert!((s.expected_net_apr_bps - 60.0).abs() < 1e-9);
}

#[test]
fn expected_slashing_can_make_an_operator_not_worth_it() {
    let p = problem(vec![("op1", 10_000, true, vec![("svcA", WAD)])], &[("svcA", 10_000, 300)], 1_000, 10_000);
    let default = Config { concentration_penalty_bps: 0.0, ..Config::default() };
    assert_eq!(weight(&optimize(&p, &default).expect("optimize"), "op1"), 9_000, "300 − 100 bps is positive");
    let risky = Config { slash_probability_overrides: BTreeMap::from([(a("svcA"), 0.05)]), ..default };
    let s = optimize(&p, &risky).expect("optimize");
    assert!(s.weights.is_empty());
    assert_eq!((s.buffer_bps, s.worst_service, s.worst_loss_bps), (10_000, None, 0));
}

#[test]
fn the_keepers_buffer_is_kept_above_the_minimum() {
    let p = problem(vec![("op1", 10_000, true, vec![("svcA", WAD)])], &[("svcA", 10_000, 300)], 1_000, 10_000);
    let cfg = Config { buffer_bps: Some(2_500), ..plain() };
    let s = optimize(&p, &cfg).expect("optimize");
    assert_eq!((weight(&s, "op1"), s.buffer_bps), (7_500, 2_500));
    // Below the policy minimum, the minimum wins.
    let cfg = Config { buffer_bps: Some(10), ..plain() };
    assert_eq!(optimize(&p, &cfg).expect("optimize").buffer_bps, 1_000);
}

#[test]
fn rounding_up_the_exposure_is_repaired() {
    // Three operators each exposed to a third (rounded up) of svcA, capped at 10%: the LP fills
    // 30%, whose exposure rounds up to 1001 bps; the repair gives one bps back to the buffer.
    let third = frac(1, 3);
    let p = problem(
        vec![
            ("op1", 10_000, true, vec![("svcA", third)]),
            ("op2", 10_000, true, vec![("svcA", third)]),
            ("op3", 10_000, true, vec![("svcA", third)]),
        ],
        &[("svcA", 1_000, 900)],
        1_000,
        10_000,
    );
    let s = optimize(&p, &plain()).expect("optimize");
    assert_passes(&p, &plain(), &s);
    let total: u16 = s.weights.iter().map(|w| w.bps).sum();
    assert_eq!(total, 2_999);
    assert_eq!(s.repaired_bps, 1);
    assert_eq!(s.worst_loss_bps, 1_000);
}

#[test]
fn the_repair_takes_just_enough_from_the_largest_contributor() {
    let p = problem(
        vec![("op1", 10_000, true, vec![("svcA", frac(1, 2))]), ("op2", 10_000, true, vec![("svcA", frac(1, 2))])],
        &[("svcA", 2_000, 100)],
        1_000,
        10_000,
    );
    let model = Model::new(&p, &plain()).expect("model");
    let i1 = model.ops.iter().position(|o| o.operator == a("op1")).expect("op1");
    let mut bps = vec![0u16; 2];
    bps[i1] = 5_000;
    bps[1 - i1] = 1_000;
    // Exposure 3000 > 2000: op1 contributes most and gives ceil(1000 / 0.5) = 2000 bps.
    let (buffer, moved) = integer::repair(&model, &mut bps).expect("repair");
    assert_eq!((bps[i1], bps[1 - i1], buffer, moved), (3_000, 1_000, 6_000, 2_000));
    let checked = integer::check(&model, buffer, &bps).expect("math").expect("passes");
    assert_eq!(checked.worst_loss_bps, 2_000);
}

#[test]
fn a_minimum_buffer_of_everything_leaves_all_in_the_buffer() {
    let p = problem(vec![("op1", 10_000, true, vec![("svcA", WAD)])], &[("svcA", 10_000, 300)], 10_000, 10_000);
    let s = optimize(&p, &plain()).expect("optimize");
    assert_eq!((s.buffer_bps, s.weights.len()), (10_000, 0));
}

#[test]
fn an_unlisted_service_is_held_to_the_configured_cap() {
    // op1's allocation to svcZ is only pending: the inputs do not list svcZ.
    let p = problem(
        vec![("op1", 10_000, true, vec![("svcA", frac(1, 2)), ("svcZ", frac(1, 10))])],
        &[("svcA", 10_000, 1_000)],
        1_000,
        10_000,
    );
    assert!(optimize(&p, &plain()).expect("optimize").weights.is_empty(), "default: unknown cap 0");
    let cfg = Config { unknown_service_cap_bps: 500, ..plain() };
    let s = optimize(&p, &cfg).expect("optimize");
    assert_passes(&p, &cfg, &s);
    assert_eq!(weight(&s, "op1"), 5_000);
}

#[test]
fn the_same_inputs_in_any_order_give_the_same_targets() {
    let mut p = problem(
        vec![
            ("op1", 4_000, true, vec![("svcA", frac(3, 10)), ("svcB", frac(1, 5))]),
            ("op2", 5_000, true, vec![("svcA", frac(1, 2))]),
            ("op3", 3_000, true, vec![("svcB", frac(1, 3)), ("svcC", frac(7, 9))]),
        ],
        &[("svcA", 3_000, 700), ("svcB", 1_500, 400), ("svcC", 2_000, 900)],
        1_000,
        2_500,
    );
    let first = optimize(&p, &Config::default()).expect("optimize");
    assert_passes(&p, &Config::default(), &first);
    assert_eq!(optimize(&p, &Config::default()).expect("optimize"), first);
    p.operators.reverse();
    p.services.reverse();
    p.operators.iter_mut().for_each(|o| o.fractions.reverse());
    assert_eq!(optimize(&p, &Config::default()).expect("optimize"), first);
}

#[test]
fn inputs_read_from_the_query_json() {
    let (op, s1, s2) = (a("op1"), a("svcA"), a("svcB"));
    let json = serde_json::json!({
        "vault": 3,
        "total_assets": "1000000000000000000000",
        "min_buffer_bps": 1000,
        "risk_budget_bps": 2500,
        "window_seconds": 604800,
        "operators": [{"operator": op, "cap_bps": 6000, "registered": true,
                       "fractions": [[s1, "300000000000000000"], [s2, "200000000000000000"]]}],
        "services": [{"service": s1, "cap_bps": 3000, "reward_apr_bps": 250, "secured_value": "5",
                      "declared_prize": null},
                     {"service": s2, "cap_bps": 3000, "reward_apr_bps": 0, "secured_value": "0",
                      "declared_prize": "7"}]
    });
    let p = Problem::from_json(&json).expect("parse");
    assert_eq!(p.vault, VaultId(3));
    assert_eq!(p.total_assets, U256::from(10u8).pow(U256::from(21u8)));
    assert_eq!(p.operators[0].fractions, vec![(s1, frac(3, 10)), (s2, frac(1, 5))]);
    assert_eq!(p.services[1].declared_prize, Some(U256::from(7u8)));
    let back = Problem::from_json(&serde_json::to_value(&p).expect("serialize")).expect("round trip");
    assert_eq!(back, p);
    assert!(Problem::from_json(&serde_json::json!({"vault": 0})).is_err());
}

#[test]
fn bad_inputs_and_configs_are_refused() {
    let p = problem(vec![("op1", 10_000, true, vec![("svcA", WAD + U256::from(1u8))])], &[], 0, 10_000);
    assert!(matches!(optimize(&p, &plain()), Err(OptimizeError::FractionAboveOne { .. })));
    let p = problem(vec![("op1", 10_000, true, vec![]), ("op1", 1, true, vec![])], &[], 0, 10_000);
    assert!(matches!(optimize(&p, &plain()), Err(OptimizeError::DuplicateOperator(_))));
    let p = problem(vec![], &[("svcA", 1, 1), ("svcA", 1, 1)], 0, 10_000);
    assert!(matches!(optimize(&p, &plain()), Err(OptimizeError::DuplicateService(_))));
    let p = problem(vec![], &[], 0, 10_000);
    for cfg in [
        Config { penalty_breakpoints: vec![0.5, 0.2, 1.0], ..plain() },
        Config { penalty_breakpoints: vec![0.5], ..plain() },
        Config { slash_probability: 1.5, ..plain() },
        Config { concentration_penalty_bps: f64::NAN, ..plain() },
    ] {
        assert!(matches!(optimize(&p, &cfg), Err(OptimizeError::InvalidConfig(_))), "{cfg:?}");
    }
    let cfg: Config = serde_json::from_str(r#"{"concentration_penalty_bps": 50}"#).expect("config");
    assert_eq!(cfg, Config { concentration_penalty_bps: 50.0, ..Config::default() });
}

#[test]
fn the_integer_check_names_what_breaks_the_policy() {
    let p = problem(
        vec![("op1", 6_000, true, vec![("svcA", frac(1, 2))]), ("gone", 6_000, false, vec![])],
        &[("svcA", 2_000, 100)],
        1_000,
        1_500,
    );
    let cfg = plain();
    let tw = |name: &str, bps| TargetWeight { operator: a(name), bps };
    let refusal = |buffer, w: &[TargetWeight]| match check_targets(&p, &cfg, buffer, w) {
        Err(OptimizeError::Policy(v)) => v,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refusal(9_000, &[tw("op1", 999)]), PolicyViolation::DoesNotSum { sum: 9_999 });
    assert_eq!(
        refusal(500, &[tw("op1", 9_500)]),
        PolicyViolation::BufferBelowMinimum { buffer_bps: 500, min_bps: 1_000 }
    );
    assert!(matches!(refusal(3_000, &[tw("op1", 7_000)]), PolicyViolation::OperatorCapExceeded { .. }));
    assert!(matches!(refusal(9_000, &[tw("gone", 1_000)]), PolicyViolation::NotAnOperator { .. }));
    assert!(matches!(refusal(9_000, &[tw("stranger", 1_000)]), PolicyViolation::OperatorNotAllowed { .. }));
    assert_eq!(
        refusal(5_000, &[tw("op1", 5_000)]),
        PolicyViolation::ServiceCapExceeded { service: a("svcA"), exposure_bps: 2_500, cap_bps: 2_000 }
    );
    assert_eq!(
        refusal(6_000, &[tw("op1", 4_000)]),
        PolicyViolation::RiskBudgetExceeded { service: a("svcA"), loss_bps: 2_000, budget_bps: 1_500 }
    );
    // 2999 · 0.5 = 1499.5, rounded up: 1500, within the budget.
    let ok = check_targets(&p, &cfg, 7_001, &[tw("op1", 2_999), tw("gone", 0)]).expect("passes");
    assert_eq!(ok.exposures, vec![(a("svcA"), 1_500)]);
}

#[test]
fn the_solution_becomes_the_keepers_transaction() {
    let s = Solution {
        buffer_bps: 4_000,
        weights: vec![TargetWeight { operator: a("op1"), bps: 6_000 }],
        worst_loss_bps: 0,
        worst_service: None,
        exposures: vec![],
        expected_net_apr_bps: 0.0,
        objective: 0.0,
        lp_objective: 0.0,
        repaired_bps: 0,
    };
    match s.to_tx(VaultId(7)) {
        Tx::VaultSetTargets(t) => {
            assert_eq!((t.vault, t.buffer_bps, t.operators), (VaultId(7), 4_000, s.weights.clone()));
        }
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Random problems: the rounded targets always pass the integer policy.

/// A fraction an operator may report for a service: none, an arbitrary one, or an edge case.
fn fraction() -> impl Strategy<Value = Option<U256>> {
    prop_oneof![
        3 => Just(None),
        4 => (0u64..=1_000_000_000_000_000_000).prop_map(|f| Some(U256::from(f))),
        1 => Just(Some(WAD)),
        1 => Just(Some(frac(1, 3))),
        1 => (1u64..1_000).prop_map(|f| Some(U256::from(f))),
        1 => Just(Some(U256::ZERO)),
    ]
}

fn random_problem() -> impl Strategy<Value = (Problem, Config)> {
    (1usize..=10, 1usize..=6).prop_flat_map(|(n_ops, n_svcs)| {
        let op = (
            prop_oneof![0u16..=10_000, 500u16..=3_000],
            prop::bool::weighted(0.85),
            prop::collection::vec(fraction(), n_svcs),
        );
        let svc = (prop_oneof![0u16..=10_000, 200u16..=2_000, Just(10_000u16)], 0u64..3_000, prop::bool::weighted(0.9));
        (
            prop::collection::vec(op, n_ops),
            prop::collection::vec(svc, n_svcs),
            prop_oneof![0u16..=2_000, 0u16..=10_000],
            prop_oneof![0u16..=10_000, 500u16..=3_000],
            (0.0f64..500.0, 0.0f64..0.05, prop::option::of(0u16..=10_000), 0u16..=10_000),
        )
            .prop_map(|(ops, svcs, min_buffer_bps, risk_budget_bps, (lambda, p, buffer, unknown))| {
                let name = |kind: &str, i: usize| a(&format!("{kind}{i}"));
                let problem = Problem {
                    vault: VaultId(0),
                    total_assets: U256::from(1u8),
                    min_buffer_bps,
                    risk_budget_bps,
                    window_seconds: 1,
                    operators: ops
                        .into_iter()
                        .enumerate()
                        .map(|(i, (cap_bps, registered, fr))| OperatorInput {
                            operator: name("op", i),
                            cap_bps,
                            registered,
                            fractions: fr
                                .into_iter()
                                .enumerate()
                                .filter_map(|(s, f)| f.map(|f| (name("svc", s), f)))
                                .collect(),
                        })
                        .collect(),
                    services: svcs
                        .into_iter()
                        .enumerate()
                        .filter(|(_, (_, _, listed))| *listed)
                        .map(|(s, (cap_bps, apr, _))| ServiceInput {
                            service: name("svc", s),
                            cap_bps,
                            reward_apr_bps: apr,
                            secured_value: U256::ZERO,
                            declared_prize: None,
                        })
                        .collect(),
                };
                let cfg = Config {
                    slash_probability: p,
                    concentration_penalty_bps: lambda,
                    buffer_bps: buffer,
                    unknown_service_cap_bps: unknown,
                    ..Config::default()
                };
                (problem, cfg)
            })
    })
}

/// The policy, re-implemented independently in u128 (Σ bps · f < 10⁴ · 10 · 10¹⁸ fits).
fn independent_check(p: &Problem, cfg: &Config, s: &Solution) -> Result<(), String> {
    let sum: u32 = s.weights.iter().map(|w| u32::from(w.bps)).sum::<u32>() + u32::from(s.buffer_bps);
    if sum != 10_000 {
        return Err(format!("sum {sum}"));
    }
    if s.buffer_bps < p.min_buffer_bps {
        return Err(format!("buffer {} < {}", s.buffer_bps, p.min_buffer_bps));
    }
    let mut exposure: BTreeMap<Address, u128> = BTreeMap::new();
    for w in &s.weights {
        let o = p.operators.iter().find(|o| o.operator == w.operator).ok_or("unknown operator")?;
        if w.bps > o.cap_bps || !o.registered {
            return Err(format!(
                "operator {} at {} (cap {}, registered {})",
                o.operator, w.bps, o.cap_bps, o.registered
            ));
        }
        for (svc, f) in &o.fractions {
            *exposure.entry(*svc).or_default() += u128::from(w.bps) * u128::try_from(*f).expect("≤ WAD");
        }
    }
    let e18 = 1_000_000_000_000_000_000u128;
    for (svc, raw) in exposure {
        let e = raw.div_ceil(e18).min(10_000);
        let cap = p.services.iter().find(|x| x.service == svc).map_or(cfg.unknown_service_cap_bps, |x| x.cap_bps);
        if e > u128::from(cap) || e > u128::from(p.risk_budget_bps) {
            return Err(format!("service {svc}: exposure {e}, cap {cap}, budget {}", p.risk_budget_bps));
        }
        if e > u128::from(s.worst_loss_bps) {
            return Err(format!("service {svc}: exposure {e} above the reported worst {}", s.worst_loss_bps));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn rounded_targets_always_pass_the_integer_policy((p, cfg) in random_problem()) {
        let s = optimize(&p, &cfg).expect("optimize");
        prop_assert_eq!(independent_check(&p, &cfg, &s), Ok(()));
        assert_passes(&p, &cfg, &s);
        prop_assert!(s.expected_net_apr_bps >= -1e-9, "{}", s.expected_net_apr_bps);
        // The rounded targets are feasible for the LP too, so they cannot beat its optimum.
        prop_assert!(s.objective <= s.lp_objective + 1e-6, "{} > {}", s.objective, s.lp_objective);
    }
}

// ---------------------------------------------------------------------------------------------
// End to end: the state machine accepts the targets from its own keeper inputs.

const V: VaultId = VaultId(0);
const ETH: AssetId = AssetId(0);
const STETH: AssetId = AssetId(1);
const RETH: AssetId = AssetId(2);
const ST: StrategyId = StrategyId(1);
const RE: StrategyId = StrategyId(2);
const E18: u128 = 1_000_000_000_000_000_000;

struct Chain {
    s: State,
    block: u64,
}

impl Chain {
    fn ctx(&self, who: Address) -> Ctx {
        Ctx { sender: who, block: self.block, time: self.block * 2 }
    }

    fn ok(&mut self, who: &str, tx: Tx) -> Vec<Event> {
        let ctx = self.ctx(a(who));
        self.s.apply(&ctx, &tx).unwrap_or_else(|e| panic!("{tx:?} by {who}: {e}"))
    }

    /// op1: 30% to svcA and 20% to svcB; op2: 50% to svcA; op3: a third to svcB; op4 is in the
    /// policy but not registered. Policy: caps 60/50/40/60%, buffer ≥ 10%, services capped at
    /// 30% (svcB 15%), risk budget 25%.
    fn new() -> Self {
        let funded: BTreeMap<Address, U256> =
            [("alice", 10_000 * E18)].iter().map(|(n, v)| (a(n), U256::from(*v))).collect();
        let asset = |symbol: &str, native: bool| GenesisAsset {
            symbol: symbol.into(),
            decimals: 18,
            strategy: !native,
            balances: funded.clone(),
            native,
        };
        let g = Genesis {
            params: cairn_primitives::Params::profile(cairn_primitives::Profile::Devnet),
            governor: a("gov"),
            unpauser: a("unpauser"),
            pausers: vec![a("pauser")],
            assets: vec![asset("ETH", true), asset("stETH", false), asset("rETH", false)],
            oracle: OracleCommittee { members: vec![], quorum: 0 },
        };
        let mut c = Chain { s: State::genesis(&g).expect("genesis"), block: 1 };
        for op in ["op1", "op2", "op3"] {
            c.ok(
                op,
                Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() },
            );
        }
        for svc in ["svcA", "svcB"] {
            c.ok(svc, Tx::RegisterService { metadata_uri: String::new() });
            let tx = Tx::CreateOperatorSet {
                service: a(svc),
                set_id: 0,
                strategies: vec![ST, RE],
                slasher: a(&format!("{svc}_slasher")),
                redistribution_recipient: None,
                consent: Default::default(),
                veto: None,
            };
            c.ok(svc, tx);
        }
        let third = 333_333_333_333_333_333u64;
        let e17 = 100_000_000_000_000_000u64;
        for (op, svc, mag) in
            [("op1", "svcA", 3 * e17), ("op1", "svcB", 2 * e17), ("op2", "svcA", 5 * e17), ("op3", "svcB", third)]
        {
            c.ok(op, Tx::RegisterForOperatorSets { operator: a(op), service: a(svc), set_ids: vec![0] });
            let p =
                AllocateParams { service: a(svc), set_id: 0, strategies: vec![ST, RE], new_magnitudes: vec![mag, mag] };
            c.ok(op, Tx::ModifyAllocations { operator: a(op), allocations: vec![p] });
        }
        let mut committee = vec![a("p1"), a("p2"), a("p3")];
        committee.sort();
        let mut operators: Vec<OperatorLimit> = [("op1", 6_000), ("op2", 5_000), ("op3", 4_000), ("op4", 6_000)]
            .iter()
            .map(|(op, cap_bps)| OperatorLimit { operator: a(op), cap_bps: *cap_bps, approval_salt: None })
            .collect();
        operators.sort_by_key(|o| o.operator);
        let params = VaultParams {
            price_staleness_seconds: 100_000,
            max_price_change_bps: 200,
            max_apr_bps: 5_000,
            max_rate_up_bps: 100,
            max_rate_down_bps: 20,
            performance_fee_bps: 1_000,
            management_fee_bps: 100,
            instant_fee_min_bps: 10,
            instant_fee_max_bps: 200,
            ticket_delay_blocks: 3,
            rebalance_interval_blocks: 5,
            finalization_period_blocks: 40,
            finalization_cap: U256::ZERO,
            emergency_delay_blocks: 30,
            deposit_lock_blocks: 0,
        };
        let spec = VaultSpec {
            symbol: "cETH".into(),
            committee,
            quorum: 2,
            guardian: a("guardian"),
            keeper: a("keeper"),
            fee_recipient: a("treasury"),
            params,
            assets: [ETH, STETH, RETH]
                .into_iter()
                .map(|asset| AssetConfig {
                    asset,
                    deposits: true,
                    cap: None,
                    min_deposit: U256::from(E18 / 100),
                    paused: false,
                })
                .collect(),
            policy: Policy {
                operators,
                min_buffer_bps: 1_000,
                service_cap_bps: 3_000,
                service_caps: vec![ServiceCap { service: a("svcB"), cap_bps: 1_500 }],
                risk_budget_bps: 2_500,
            },
        };
        c.ok("gov", Tx::Propose { action: GovernanceAction::CreateVault(Box::new(spec)) });
        c.block += c.s.params().governance_timelock_blocks;
        c.ok("gov", Tx::ExecuteProposal { id: 1 });
        let r = ReportPrices {
            vault: V,
            round: 1,
            prices: [(STETH, E18), (RETH, 11 * E18 / 10)]
                .iter()
                .map(|(asset, p)| AssetPrice { asset: *asset, price: U256::from(*p) })
                .collect(),
        };
        c.ok("p1", Tx::VaultReportPrices(r.clone()));
        c.ok("p3", Tx::VaultReportPrices(r));
        c
    }
}

#[test]
fn the_state_machine_accepts_the_optimized_targets() {
    let mut c = Chain::new();
    let mut p = Problem::from_state(&c.s, V, c.block, c.block * 2, 86_400).expect("keeper inputs");
    // The inputs carry the state's own fractions and caps.
    let op1 = p.operators.iter().find(|o| o.operator == a("op1")).expect("op1");
    let mut expected = vec![(a("svcA"), frac(3, 10)), (a("svcB"), frac(1, 5))];
    expected.sort();
    assert_eq!(op1.fractions, expected);
    assert!(!p.operators.iter().find(|o| o.operator == a("op4")).expect("op4").registered);
    let cap = |svc: &str| p.services.iter().find(|s| s.service == a(svc)).map(|s| s.cap_bps);
    assert_eq!((cap("svcA"), cap("svcB")), (Some(3_000), Some(1_500)));
    // Nobody has paid rewards yet: the keeper's own estimates stand in.
    for s in &mut p.services {
        s.reward_apr_bps = if s.service == a("svcA") { 900 } else { 1_200 };
    }
    let cfg = Config::default();
    let solution = optimize(&p, &cfg).expect("optimize");
    assert_passes(&p, &cfg, &solution);
    assert!(!solution.weights.is_empty(), "{solution:?}");
    assert_eq!(weight(&solution, "op4"), 0);
    let events = c.ok("keeper", solution.to_tx(V));
    let set = events
        .iter()
        .find_map(|e| match e {
            Event::VaultTargetsSet { worst_loss_bps, worst_service, operators, buffer_bps, .. } => {
                Some((*worst_loss_bps, *worst_service, operators.clone(), *buffer_bps))
            }
            _ => None,
        })
        .expect("VaultTargetsSet");
    assert_eq!(set, (solution.worst_loss_bps, solution.worst_service, solution.weights.clone(), solution.buffer_bps));
    // The vault can move toward them.
    let deposit =
        Deposit { vault: V, asset: STETH, amount: U256::from(1_000 * E18), min_out: U256::ZERO, receiver: None };
    c.ok("alice", Tx::VaultDeposit(deposit));
    c.ok("anyone", Tx::VaultRebalance(VaultRef { vault: V }));
}

//! Vault keeper target: the allocation optimizer (LP, rounding, integer repair and check) for 100
//! operators and 50 services in ≤ 50 ms on one core.

use std::hint::black_box;

use cairn_keeper::optimizer::{Config, OperatorInput, Problem, ServiceInput, optimize};
use cairn_primitives::{U256, VaultId, named_address};
use criterion::{Criterion, criterion_group, criterion_main};

/// A pseudo-random (xorshift, fixed seed) problem: each operator exposed to 5–10 services with
/// fractions of 5–50%, operator caps of 2–10% (so the caps alone would allow more than the whole
/// vault), service caps of 5–30% with every fifth service at 100% and rewards of 0–4% a year,
/// a 25% risk budget: several service caps and operator caps bind at the optimum.
fn problem(operators: u64, services: u64, seed: u64) -> Problem {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let wad_percent = |p: u64| U256::from(p) * U256::from(10_000_000_000_000_000u64);
    let ops = (0..operators)
        .map(|i| {
            let k = 5 + next() % 6;
            let mut chosen = std::collections::BTreeSet::new();
            while (chosen.len() as u64) < k {
                chosen.insert(next() % services);
            }
            OperatorInput {
                operator: named_address(&format!("op{i}")),
                cap_bps: (200 + next() % 801) as u16,
                registered: next() % 20 != 0,
                fractions: chosen
                    .into_iter()
                    .map(|s| (named_address(&format!("svc{s}")), wad_percent(5 + next() % 46)))
                    .collect(),
            }
        })
        .collect();
    let svcs = (0..services)
        .map(|s| ServiceInput {
            service: named_address(&format!("svc{s}")),
            cap_bps: if s % 5 == 0 { 10_000 } else { (500 + next() % 2_501) as u16 },
            reward_apr_bps: next() % 400,
            secured_value: U256::from(next() % 1_000_000),
            declared_prize: None,
        })
        .collect();
    Problem {
        vault: VaultId(0),
        total_assets: U256::from(1_000_000u64),
        min_buffer_bps: 500,
        risk_budget_bps: 2_500,
        window_seconds: 604_800,
        operators: ops,
        services: svcs,
    }
}

fn bench_keeper(c: &mut Criterion) {
    let p = problem(100, 50, 0x9e37_79b9_7f4a_7c15);
    let cfg = Config::default();
    let s = optimize(&p, &cfg).expect("the synthetic problem solves");
    assert!(s.weights.len() > 10, "a non-trivial allocation: {s:?}");
    let mut g = c.benchmark_group("keeper_optimizer");
    g.bench_function("100_operators_50_services", |b| b.iter(|| optimize(black_box(&p), black_box(&cfg))));
    g.finish();
}

criterion_group!(benches, bench_keeper);
criterion_main!(benches);

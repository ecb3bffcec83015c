//! Risk-engine targets: the exact security check for 25 operators and 10 services in ≤ 1 s;
//! bounds and heuristics for 2,000 operators, 100 services and 20,000 edges in ≤ 1 s.

use std::hint::black_box;

use cairn_risk::{Graph, Ratio, bounds, elastic::Symmetric, exact, leverage};
use criterion::{Criterion, criterion_group, criterion_main};
use num_bigint::BigInt;
use num_rational::BigRational;

/// The shape of a generated graph.
struct Shape {
    operators: u64,
    services: u64,
    per_service: usize,
    /// Stakes are `unit · [stake_lo, stake_lo + stake_span)`, prizes `unit · [prize_lo, prize_lo + prize_span)`.
    stake: (u64, u64),
    prize: (u64, u64),
    unit: u128,
    seed: u64,
}

/// A pseudo-random (xorshift, fixed seed) graph: uneven stakes, each service on `per_service`
/// operators, thresholds 1/3, 1/2 or 2/3.
fn generate(sh: &Shape) -> Graph {
    let mut x = sh.seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let amount = |lo: u64, span: u64, r: u64| u128::from(lo + r % span) * sh.unit;
    let validators: Vec<String> = (0..sh.operators)
        .map(|i| format!(r#"{{"name":"op{i}","stake":"{}"}}"#, amount(sh.stake.0, sh.stake.1, next())))
        .collect();
    let thresholds = ["1/3", "1/2", "2/3"];
    let mut services = Vec::new();
    let mut edges = Vec::new();
    for s in 0..sh.services {
        let t = thresholds[(next() % 3) as usize];
        services.push(format!(
            r#"{{"name":"svc{s}","prize":"{}","threshold":"{t}"}}"#,
            amount(sh.prize.0, sh.prize.1, next())
        ));
        let mut chosen = std::collections::BTreeSet::new();
        while chosen.len() < sh.per_service {
            chosen.insert(next() % sh.operators);
        }
        for v in chosen {
            edges.push(format!(r#"{{"service":"svc{s}","validator":"op{v}"}}"#));
        }
    }
    let doc = format!(
        r#"{{"validators":[{}],"services":[{}],"edges":[{}]}}"#,
        validators.join(","),
        services.join(","),
        edges.join(",")
    );
    Graph::from_json(&doc).expect("valid graph")
}

/// 25 operators, 10 services each secured by 12 of them, prizes around the stake they rent.
fn graph_25x10() -> Graph {
    let shape = Shape {
        operators: 25,
        services: 10,
        per_service: 12,
        stake: (1_000, 9_000),
        prize: (20_000, 40_000),
        unit: 1,
        seed: 0x9e37_79b9_7f4a_7c15,
    };
    generate(&shape)
}

/// 2,000 operators, 100 services each on 200 operators (20,000 edges), amounts in wei.
fn graph_2000x100() -> Graph {
    let shape = Shape {
        operators: 2000,
        services: 100,
        per_service: 200,
        stake: (1, 1_000),
        prize: (10_000, 90_000),
        unit: 1_000_000_000_000_000_000,
        seed: 0x2545_f491_4f6c_dd1d,
    };
    generate(&shape)
}

/// The reference's Figure 4 sweep on the 15 × 15 symmetric instance (π = 1, θ = 1/3): the minimum
/// secure stake and the robustness for every degree d in [1, 15) by steps of 0.01 (1,400 points).
fn elastic_sweep(c: &mut Criterion) {
    let q = |n: i64, d: i64| BigRational::new(BigInt::from(n), BigInt::from(d));
    let mut group = c.benchmark_group("risk_elastic_15x15_sweep");
    group.sample_size(10);
    group.bench_function("min_stake_and_robustness_1400_degrees", |b| {
        b.iter(|| {
            (100..1500i64)
                .map(|hundredths| {
                    let net = Symmetric {
                        validators: 15,
                        services: 15,
                        stake: q(3, 1),
                        prize: q(1, 1),
                        threshold: Ratio { num: 1, den: 3 },
                        degree: q(hundredths, 100),
                        base_prize: None,
                        budget: q(0, 1),
                    };
                    black_box((net.min_secure_stake(), net.robustness()))
                })
                .count()
        })
    });
    group.finish();
}

fn large_bounds(c: &mut Criterion) {
    let g = graph_2000x100();
    let mut group = c.benchmark_group("risk_bounds_2000x100x20000");
    group.sample_size(10);
    group.bench_function("bounds_and_leverage", |b| {
        b.iter(|| black_box((bounds::bounds(black_box(&g)), leverage::leverage(black_box(&g)))))
    });
    group.finish();
}

fn exact_security(c: &mut Criterion) {
    let g = graph_25x10();
    let mut group = c.benchmark_group("risk_exact_25x10");
    group.sample_size(10);
    group.bench_function("security_and_slack", |b| {
        b.iter(|| black_box(exact::security(black_box(&g)).expect("within limit")))
    });
    group.finish();
}

criterion_group!(benches, exact_security, large_bounds, elastic_sweep);
criterion_main!(benches);

//! Risk-engine targets: the exact security check for 25 operators and 10 services in ≤ 1 s;
//! bounds and heuristics for 2,000 operators, 100 services and 20,000 edges in ≤ 1 s; and a
//! decision (secure or a witness) on 2,000 × 100 × 20,000 graphs of four shapes in ≤ 10 s:
//! `cargo bench -p cairn-bench --bench risk -- decide`.

use std::hint::black_box;

use cairn_risk::{Graph, Options, Ratio, bounds, elastic::Symmetric, exact, leverage, report};
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

/// A deterministic xorshift stream.
fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Builds a document from (name, stake in ETH), (name, prize in ETH, threshold) and edges.
fn document(validators: &[(String, u64)], services: &[(String, u64, &str)], edges: &[(usize, usize)]) -> Graph {
    let wei = |eth: u64| format!("{eth}e18");
    let v: Vec<String> = validators.iter().map(|(n, s)| format!(r#"{{"name":"{n}","stake":"{}"}}"#, wei(*s))).collect();
    let s: Vec<String> = services
        .iter()
        .map(|(n, p, t)| format!(r#"{{"name":"{n}","prize":"{}","threshold":"{t}"}}"#, wei(*p)))
        .collect();
    let e: Vec<String> = edges
        .iter()
        .map(|(s, v)| format!(r#"{{"service":"{}","validator":"{}"}}"#, services[*s].0, validators[*v].0))
        .collect();
    Graph::from_json(&format!(
        r#"{{"validators":[{}],"services":[{}],"edges":[{}]}}"#,
        v.join(","),
        s.join(","),
        e.join(",")
    ))
    .expect("valid graph")
}

/// 200 distinct operators per service: `fixed` first, then random ones from `pool`.
fn members(next: &mut impl FnMut() -> u64, fixed: &[usize], pool: std::ops::Range<usize>) -> Vec<usize> {
    let mut chosen: std::collections::BTreeSet<usize> = fixed.iter().copied().collect();
    let span = (pool.end - pool.start) as u64;
    while chosen.len() < 200 {
        chosen.insert(pool.start + (next() % span) as usize);
    }
    chosen.into_iter().collect()
}

/// Uniform random: 2,000 operators of 1–1,000 ETH, each service on 200 of them, prizes
/// `prize.0 + [0, prize.1)` ETH, thresholds 1/3, 1/2, 2/3.
fn uniform(prize: (u64, u64), seed: u64) -> Graph {
    let mut next = rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let validators: Vec<(String, u64)> = (0..2000).map(|i| (format!("op{i}"), 1 + next() % 1_000)).collect();
    let thresholds = ["1/3", "1/2", "2/3"];
    let mut services = Vec::new();
    let mut edges = Vec::new();
    for s in 0..100 {
        services.push((format!("svc{s}"), prize.0 + next() % prize.1, thresholds[(next() % 3) as usize]));
        for v in members(&mut next, &[], 0..2000) {
            edges.push((s, v));
        }
    }
    document(&validators, &services, &edges)
}

/// Real-network look: 20 large operators (20k–100k ETH) each in about 60 of the 100 services,
/// a long tail of 1,980 (1–200 ETH); every service has large operators and tail ones; prizes
/// `prize.0 + [0, prize.1)` ETH, thresholds 1/3, 1/2, 2/3.
fn tail_heavy(prize: (u64, u64), seed: u64) -> Graph {
    let mut next = rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let validators: Vec<(String, u64)> = (0..2000)
        .map(|i| (format!("op{i}"), if i < 20 { 20_000 + next() % 80_000 } else { 1 + next() % 200 }))
        .collect();
    let thresholds = ["1/3", "1/2", "2/3"];
    let mut services = Vec::new();
    let mut edges = Vec::new();
    for s in 0..100 {
        services.push((format!("svc{s}"), prize.0 + next() % prize.1, thresholds[(next() % 3) as usize]));
        let large: Vec<usize> = (0..20).filter(|_| next() % 5 < 3).collect();
        for v in members(&mut next, &large, 20..2000) {
            edges.push((s, v));
        }
    }
    document(&validators, &services, &edges)
}

/// Prizes well inside what the stake rents: every ρ_v ≤ 1, so the EigenLayer condition holds.
fn eigenlayer_condition() -> Graph {
    let mut next = rng(0x9e37_79b9_7f4a_7c15);
    let validators: Vec<(String, u64)> = (0..2000).map(|i| (format!("op{i}"), 32 + next() % 968)).collect();
    let mut services = Vec::new();
    let mut edges = Vec::new();
    for s in 0..100 {
        services.push((format!("svc{s}"), 500 + next() % 1_500, "1/3"));
        for v in members(&mut next, &[], 0..2000) {
            edges.push((s, v));
        }
    }
    document(&validators, &services, &edges)
}

/// A secure uniform graph (prizes 2,000–4,000 ETH) with a profitable coalition planted: three
/// services run by the 200 smallest operators (1–3 ETH each), with prizes of 2,000 ETH.
fn planted() -> Graph {
    let mut next = rng(0x2545_f491_4f6c_dd1d);
    let validators: Vec<(String, u64)> =
        (0..2000).map(|i| (format!("op{i}"), if i >= 1800 { 1 + next() % 3 } else { 1 + next() % 1_000 })).collect();
    let thresholds = ["1/3", "1/2", "2/3"];
    let mut services = Vec::new();
    let mut edges = Vec::new();
    for s in 0..100 {
        let small = s < 3;
        let prize = if small { 2_000 } else { 2_000 + next() % 2_000 };
        services.push((format!("svc{s}"), prize, thresholds[(next() % 3) as usize]));
        let pool = if small { 1800..2000 } else { 0..1800 };
        for v in members(&mut next, &[], pool) {
            edges.push((s, v));
        }
    }
    document(&validators, &services, &edges)
}

/// One line per graph: its verdict, how, the profit interval and each search.
fn describe(name: &str, r: &cairn_risk::Report) -> String {
    let eth = |e: &Option<cairn_risk::leverage::Exact>| {
        e.as_ref().map_or("?".into(), |e| format!("{:.0}", e.approx.parse::<f64>().unwrap_or(f64::NAN) / 1e18))
    };
    let searches: Vec<String> = r
        .searches
        .iter()
        .filter(|s| s.name != "elastic")
        .map(|s| format!("{} {:.2} s: {}", s.name, s.seconds, s.outcome))
        .collect();
    format!(
        "{name}: {:?} by {} in {:.2} s, best attack profit in [{}, {}] ETH; {}",
        r.pooled.verdict,
        r.pooled.method,
        r.seconds,
        eth(&r.pooled.profit.lower),
        eth(&r.pooled.profit.upper),
        searches.join("; ")
    )
}

/// Time to a decision with the report's default limit (10 s per search): each shape's verdict,
/// method and searches are printed once, then timed.
fn decide(c: &mut Criterion) {
    let opts = Options::default();
    // `RISK_SWEEP=1`: the decision across prize levels (untimed), to map where 10 s decide.
    if std::env::var_os("RISK_SWEEP").is_some() {
        for (shape, make) in [("uniform", uniform as fn((u64, u64), u64) -> Graph), ("tail_heavy", tail_heavy)] {
            for lo in [1_000, 2_000, 3_000, 4_000, 6_000, 8_000] {
                for seed in 1..=3 {
                    let r = report::analyse(&make((lo, lo), seed), &opts);
                    eprintln!("{}", describe(&format!("{shape} prizes {lo}–{} ETH seed {seed}", 2 * lo), &r));
                }
            }
        }
    }
    let mut group = c.benchmark_group("risk_decide_2000x100x20000");
    group.sample_size(10);
    for (name, g) in [
        ("uniform_insecure", graph_2000x100()),
        ("eigenlayer_condition", eigenlayer_condition()),
        ("uniform_near_boundary", uniform((2_000, 2_000), 1)),
        ("tail_heavy", tail_heavy((4_000, 4_000), 1)),
        ("planted", planted()),
    ] {
        eprintln!("{}", describe(name, &report::analyse(&g, &opts)));
        group.bench_function(name, |b| b.iter(|| black_box(report::analyse(black_box(&g), &opts).pooled.verdict)));
    }
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

criterion_group!(benches, exact_security, large_bounds, elastic_sweep, decide);
criterion_main!(benches);

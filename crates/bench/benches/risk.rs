//! Risk-engine targets: the exact security check for 25 operators and 10 services in ≤ 1 s;
//! bounds and heuristics for 2,000 operators, 100 services and 20,000 edges in ≤ 1 s.

use std::hint::black_box;

use cairn_risk::{Graph, bounds, exact, leverage};
use criterion::{Criterion, criterion_group, criterion_main};

/// 25 operators with uneven stakes; 10 services, each secured by 12 of them (a fixed
/// pseudo-random pattern), thresholds between 1/3 and 2/3, prizes around the stake they rent.
fn graph_25x10() -> Graph {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let validators: Vec<String> =
        (0..25).map(|i| format!(r#"{{"name":"op{i}","stake":"{}"}}"#, 1_000 + next() % 9_000)).collect();
    let thresholds = ["1/3", "1/2", "2/3"];
    let mut services = Vec::new();
    let mut edges = Vec::new();
    for s in 0..10 {
        let t = thresholds[(next() % 3) as usize];
        services.push(format!(r#"{{"name":"svc{s}","prize":"{}","threshold":"{t}"}}"#, 20_000 + next() % 40_000));
        let mut chosen = std::collections::BTreeSet::new();
        while chosen.len() < 12 {
            chosen.insert(next() % 25);
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

/// 2,000 operators, 100 services, each service on 200 operators (20,000 edges), thresholds
/// 1/3..2/3, prizes of the order of the stake they rent.
fn graph_2000x100() -> Graph {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let validators: Vec<String> = (0..2000)
        .map(|i| {
            format!(r#"{{"name":"op{i}","stake":"{}"}}"#, u128::from(1 + next() % 1000) * 1_000_000_000_000_000_000u128)
        })
        .collect();
    let thresholds = ["1/3", "1/2", "2/3"];
    let mut services = Vec::new();
    let mut edges = Vec::new();
    for s in 0..100 {
        let t = thresholds[(next() % 3) as usize];
        services.push(format!(
            r#"{{"name":"svc{s}","prize":"{}","threshold":"{t}"}}"#,
            u128::from(10_000 + next() % 90_000) * 1_000_000_000_000_000_000u128
        ));
        let mut chosen = std::collections::BTreeSet::new();
        while chosen.len() < 200 {
            chosen.insert(next() % 2000);
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

criterion_group!(benches, exact_security, large_bounds);
criterion_main!(benches);

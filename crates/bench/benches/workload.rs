//! The EigenLayer comparison workload (issue 17): per-operation wall time of `State::apply`.
//!
//! `cargo bench -p cairn-bench --bench workload` replays the workload of `cairn_bench::workload`
//! `WORKLOAD_RUNS` times (default 101) from genesis, each time checking the sanity figure EigenLayer's
//! contracts gave (A's delegated shares 100,000 → 68,384.771238 tokens). The first run only warms
//! the allocator and caches; the others' per-call times are pooled per operation. Each call is
//! timed on its own with `Instant` around `State::apply`; the timer's own cost (two clock reads,
//! measured here) is printed and subtracted, so the figures are the calls' own time.
//!
//! Output: a markdown table with median, p10 and p90 per operation, EigenLayer's median, the ratio
//! and the target (≥ 100× EigenLayer), and whether each is met.

use std::{hint::black_box, time::Instant};

use cairn_bench::workload::{self, A_SHARES_AFTER_SLASHES, Op, Samples, tokens6};

fn main() {
    // `cargo bench` passes `--bench` (and any filter); this harness has nothing to filter.
    let runs: usize = std::env::var("WORKLOAD_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(101).max(2);
    let overhead = timer_overhead_ns();
    let mut pooled = Samples::default();
    let start = Instant::now();
    for i in 0..runs {
        let out = workload::run();
        let a = tokens6(out.a_shares_after_slashes);
        assert_eq!(a, A_SHARES_AFTER_SLASHES, "A's delegated shares after its slashes (run {i})");
        if i == 0 {
            println!(
                "sanity: A's delegated shares 100,000 → {a} tokens (EigenLayer: {A_SHARES_AFTER_SLASHES}); \
                 A's stakers withdrew {} tokens",
                tokens6(out.a_stakers_withdrawn)
            );
            continue;
        }
        pooled.extend(out.samples);
        drop(black_box(out.state));
    }
    println!(
        "{} timed runs in {:.1?}; timer overhead {overhead:.0} ns per call, subtracted\n",
        runs - 1,
        start.elapsed()
    );
    println!("| operation | calls | EigenLayer in revm | Cairn median [p10, p90] | ratio | target | met |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let mut met = 0;
    for op in Op::ALL {
        let Some(v) = pooled.0.get_mut(&op) else { continue };
        v.sort_unstable();
        let q = |p: f64| (v[((v.len() - 1) as f64 * p).round() as usize].as_nanos() as f64 - overhead).max(0.0) / 1e3;
        let (p10, med, p90) = (q(0.1), q(0.5), q(0.9));
        let ok = med <= op.target_us();
        met += usize::from(ok);
        println!(
            "| {} | {} | {:.1} µs | **{med:.3}** [{p10:.2}, {p90:.2}] µs | {:.0}× | ≤ {:.2} µs | {} |",
            op.label(),
            v.len() / (runs - 1),
            op.eigenlayer_us(),
            op.eigenlayer_us() / med,
            op.target_us(),
            if ok { "yes" } else { "no" }
        );
    }
    println!("\n{met} of {} operations at or under their target", Op::ALL.len());
}

/// Median wall time of an empty timed region (two clock reads), in nanoseconds.
fn timer_overhead_ns() -> f64 {
    let mut v: Vec<u128> = (0..100_000)
        .map(|_| {
            let t = Instant::now();
            black_box(());
            t.elapsed().as_nanos()
        })
        .collect();
    v.sort_unstable();
    v[v.len() / 2] as f64
}

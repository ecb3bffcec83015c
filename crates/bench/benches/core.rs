//! Throughput and latency targets of the restaking core (one core, release build):
//!
//! - `deposit_1m_stakers/*` and `delegate_1m_stakers/*`: ≥ 500,000 `Tx::Deposit` / `Tx::DelegateTo`
//!   per second against a state of 1,000,000 stakers;
//! - `slash_1m_delegators/*`: ≤ 20 µs per `Tx::SlashOperator`, within 2× of `slash_10_delegators/*`.
//!
//! `deposit_10k_stakers/*` and `delegate_10k_stakers/*` are diagnostics, not targets: the same
//! transactions against a state small enough to stay in the CPU caches, which separates the cost
//! of the code from the cost of reaching a large state in memory.
//!
//! Every measured transaction goes through `State::apply` and must succeed (a refused one would
//! roll back and time the wrong thing, so the benchmark panics instead); before each, the next
//! transactions are named to `State::prefetch_ahead`, as the node's block execution does.
//! Transactions are built before the clock starts; setup and the recycling of spent senders happen
//! outside the timing.

use std::{hint::black_box, time::Duration};

use cairn_bench::{
    SlashFixture, SplitMix64, StakerFixture, ctx, delegate, deposit, slash_fixture, staker_fixture, timed_apply, tokens,
};
use cairn_state::{Ctx, Tx};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Shape of a staker state: stakers, of which delegated at the start (the rest send the benchmark
/// delegations), operators they delegate to, and funded accounts without a position (the senders
/// of new stakers' deposits).
#[derive(Clone, Copy)]
struct Shape {
    label: &'static str,
    stakers: usize,
    delegated: usize,
    operators: usize,
    fresh: usize,
}

/// The target: 1,000,000 stakers.
const LARGE: Shape = Shape { label: "1m", stakers: 1_000_000, delegated: 750_000, operators: 32, fresh: 200_000 };
/// Diagnostic baseline: the same transactions against a state that fits in the CPU caches.
const SMALL: Shape = Shape { label: "10k", stakers: 10_000, delegated: 7_500, operators: 32, fresh: 2_000 };

fn build_stakers(s: Shape) -> StakerFixture {
    let t = std::time::Instant::now();
    let f = staker_fixture(s.stakers, s.delegated, s.operators, s.fresh);
    eprintln!(
        "fixture: {} stakers ({} delegated to {} operators) + {} funded accounts built in {:.1?}",
        s.stakers,
        s.delegated,
        s.operators,
        s.fresh,
        t.elapsed()
    );
    f
}

fn build_slash(delegators: usize) -> SlashFixture {
    let t = std::time::Instant::now();
    let f = slash_fixture(delegators);
    eprintln!("fixture: operator with {delegators} delegators built in {:.1?}", t.elapsed());
    f
}

/// Deposits and delegations against one staker state (built on first use, shared by the groups).
fn bench_stakers(c: &mut Criterion, shape: Shape) {
    let mut fixture: Option<StakerFixture> = None;
    let mut rng = SplitMix64(42);

    let mut g = c.benchmark_group(format!("deposit_{}_stakers", shape.label));
    g.throughput(Throughput::Elements(1));
    g.bench_function("existing_staker", |b| {
        let f = fixture.get_or_insert_with(|| build_stakers(shape));
        b.iter_custom(|iters| {
            let amount = deposit(tokens(1));
            let txs: Vec<(Ctx, Tx)> =
                (0..iters).map(|_| (ctx(f.stakers[rng.below(f.stakers.len())], f.block), amount.clone())).collect();
            let t = timed_apply(&mut f.state, &txs);
            f.block += 1;
            t
        })
    });
    g.bench_function("new_staker", |b| {
        let f = fixture.get_or_insert_with(|| build_stakers(shape));
        b.iter_custom(|iters| {
            let amount = deposit(tokens(32));
            let mut left = iters as usize;
            let mut total = Duration::ZERO;
            while left > 0 {
                if f.fresh.ready.is_empty() {
                    f.recycle_new_stakers();
                }
                let senders = f.fresh.take(left);
                left -= senders.len();
                let txs: Vec<(Ctx, Tx)> = senders.iter().map(|s| (ctx(*s, f.block), amount.clone())).collect();
                total += timed_apply(&mut f.state, &txs);
                f.block += 1;
            }
            total
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("delegate_{}_stakers", shape.label));
    g.throughput(Throughput::Elements(1));
    g.bench_function("undelegated_staker_one_position", |b| {
        let f = fixture.get_or_insert_with(|| build_stakers(shape));
        b.iter_custom(|iters| {
            let mut left = iters as usize;
            let mut total = Duration::ZERO;
            while left > 0 {
                if f.undelegated.ready.is_empty() {
                    f.recycle_delegators();
                }
                let senders = f.undelegated.take(left);
                left -= senders.len();
                let txs: Vec<(Ctx, Tx)> = senders
                    .iter()
                    .map(|s| (ctx(*s, f.block), delegate(f.operators[rng.below(f.operators.len())])))
                    .collect();
                total += timed_apply(&mut f.state, &txs);
                f.block += 1;
            }
            total
        })
    });
    g.finish();

    if let Some(f) = &fixture {
        eprintln!(
            "fixture after the run: {} stakers holding a position, block {}",
            f.stakers.len() + f.fresh.used.len(),
            f.block
        );
    }
    drop(black_box(fixture));
}

fn deposits_and_delegations(c: &mut Criterion) {
    bench_stakers(c, LARGE);
    bench_stakers(c, SMALL);
}

/// One slash of an operator with `delegators` delegators, repeated on the same state.
fn bench_slash(c: &mut Criterion, group: &str, delegators: usize) {
    let mut fixture: Option<SlashFixture> = None;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.bench_function("slash_operator", |b| {
        let f = fixture.get_or_insert_with(|| build_slash(delegators));
        b.iter_custom(|iters| {
            let txs = f.next_slashes(iters);
            let before = f.slash_count();
            let t = timed_apply(&mut f.state, &txs);
            assert_eq!(u64::from(f.slash_count() - before), iters, "every slash must execute");
            t
        })
    });
    g.finish();
}

fn slashing(c: &mut Criterion) {
    bench_slash(c, "slash_10_delegators", 10);
    bench_slash(c, "slash_1m_delegators", 1_000_000);
}

criterion_group!(benches, deposits_and_delegations, slashing);
criterion_main!(benches);

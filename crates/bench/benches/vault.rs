//! Throughput and latency targets of the liquid restaking vault (one core, release build):
//!
//! - `vault_deposit_1m_holders/*` and `vault_redeem_1m_holders/*`: ≥ 500,000 `Tx::VaultDeposit`
//!   and ≥ 500,000 instant `Tx::VaultRedeem` per second against a vault whose receipt token has
//!   1,000,000 holders;
//! - `vault_rebalance_20_operators/*`: a rebalance round of a vault with 20 operator sub-accounts
//!   ≤ 1 ms in the state machine.
//!
//! The state machine values a vault once per block (the valuation is cached in the vault's book
//! for the block), so the throughput groups apply many transactions in one block, as a node
//! does; `vault_deposit_first_in_block/*` puts every deposit in a new block and so pays the
//! valuation (and the fee accrual) each time. `vault_deposit_10k_holders/*` and
//! `vault_redeem_10k_holders/*` are diagnostics: the same transactions against a state small
//! enough to stay in the CPU caches.
//!
//! Every measured transaction goes through `State::apply` and must succeed (a refused one would
//! roll back and time the wrong thing, so the benchmark panics instead). Transactions are built
//! before the clock starts; fixtures, price rounds (keeping prices within the staleness limit),
//! the recycling of spent senders and the cloning of rebalance states happen outside the timing.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use cairn_bench::{
    SplitMix64, ctx, timed_apply, tokens,
    vault::{
        HolderFixture, RebalanceFixture, STETH, VAULT, VaultWorld, anyone, holder_fixture, rebalance_fixture,
        rebalanced, vault_deposit, vault_rebalance, vault_redeem,
    },
};
use cairn_primitives::{Address, U256, WAD};
use cairn_state::{Ctx, Tx};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Shape of a holder state: receipt-token holders, and funded accounts without a receipt token
/// (the senders of new holders' deposits).
#[derive(Clone, Copy)]
struct Shape {
    label: &'static str,
    holders: usize,
    fresh: usize,
}

/// The target: 1,000,000 holders.
const LARGE: Shape = Shape { label: "1m", holders: 1_000_000, fresh: 200_000 };
/// Diagnostic baseline: the same transactions against a state that fits in the CPU caches.
const SMALL: Shape = Shape { label: "10k", holders: 10_000, fresh: 2_000 };

/// Operators (and sub-accounts) of the rebalance target.
const OPERATORS: usize = 20;
/// Services the operators are allocated to.
const SERVICES: usize = 4;
/// Holders of the rebalanced vault (the round does not depend on them).
const DEPOSITORS: usize = 1_000;

fn build_holders(s: Shape) -> HolderFixture {
    let t = Instant::now();
    let f = holder_fixture(s.holders, s.fresh);
    eprintln!(
        "fixture: vault with {} receipt-token holders + {} funded accounts built in {:.1?}",
        s.holders,
        s.fresh,
        t.elapsed()
    );
    f
}

/// Applies `txs` built by `make(first_block, n)` for `n` blocks at a time, each chunk short
/// enough that the prices stay fresh (a price round is reported between chunks, untimed).
fn timed_over_blocks(world: &mut VaultWorld, iters: u64, mut make: impl FnMut(u64, u64) -> Vec<(Ctx, Tx)>) -> Duration {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        world.keep_prices_fresh();
        let n = left.min(world.blocks_until_reprice());
        let txs = make(world.block + 1, n);
        total += timed_apply(&mut world.state, &txs);
        world.block += n;
        left -= n;
    }
    world.block += 1;
    total
}

/// Deposits and instant redemptions against one holder state (built on first use, shared).
fn bench_holders(c: &mut Criterion, shape: Shape) {
    let mut fixture: Option<HolderFixture> = None;
    let mut rng = SplitMix64(42);
    // Existing holders deposit 1 stETH and redeem 0.1 receipt token: each starts with about 32
    // tokens, far more than the redemptions a run draws from any one of them.
    let one = tokens(1);
    let tenth = WAD / U256::from(10u8);

    let mut g = c.benchmark_group(format!("vault_deposit_{}_holders", shape.label));
    g.throughput(Throughput::Elements(1));
    g.bench_function("existing_holder", |b| {
        let f = fixture.get_or_insert_with(|| build_holders(shape));
        b.iter_custom(|iters| {
            f.world.keep_prices_fresh();
            let tx = vault_deposit(STETH, one);
            let block = f.world.block;
            let txs: Vec<(Ctx, Tx)> =
                (0..iters).map(|_| (ctx(f.holders[rng.below(f.holders.len())], block), tx.clone())).collect();
            let t = timed_apply(&mut f.world.state, &txs);
            f.world.block += 1;
            t
        })
    });
    g.bench_function("new_holder", |b| {
        let f = fixture.get_or_insert_with(|| build_holders(shape));
        b.iter_custom(|iters| {
            let tx = vault_deposit(STETH, tokens(32));
            let mut left = iters as usize;
            let mut total = Duration::ZERO;
            while left > 0 {
                if f.fresh.ready.is_empty() {
                    f.recycle_new_holders();
                }
                f.world.keep_prices_fresh();
                let senders = f.fresh.take(left);
                left -= senders.len();
                let block = f.world.block;
                let txs: Vec<(Ctx, Tx)> = senders.iter().map(|s| (ctx(*s, block), tx.clone())).collect();
                total += timed_apply(&mut f.world.state, &txs);
                f.world.block += 1;
            }
            total
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("vault_redeem_{}_holders", shape.label));
    g.throughput(Throughput::Elements(1));
    g.bench_function("existing_holder_instant", |b| {
        let f = fixture.get_or_insert_with(|| build_holders(shape));
        b.iter_custom(|iters| {
            f.world.keep_prices_fresh();
            let tx = vault_redeem(tenth, STETH);
            let block = f.world.block;
            let txs: Vec<(Ctx, Tx)> =
                (0..iters).map(|_| (ctx(f.holders[rng.below(f.holders.len())], block), tx.clone())).collect();
            let t = timed_apply(&mut f.world.state, &txs);
            f.world.block += 1;
            t
        })
    });
    g.finish();

    if shape.holders == LARGE.holders {
        let mut g = c.benchmark_group("vault_deposit_first_in_block");
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{}_holders_no_places", shape.label), |b| {
            let f = fixture.get_or_insert_with(|| build_holders(shape));
            b.iter_custom(|iters| {
                let tx = vault_deposit(STETH, one);
                let holders = &f.holders;
                timed_over_blocks(&mut f.world, iters, |first, n| {
                    (0..n).map(|i| (ctx(holders[rng.below(holders.len())], first + i), tx.clone())).collect()
                })
            })
        });
        g.finish();
    }

    if let Some(f) = &fixture {
        eprintln!(
            "fixture after the run: {} holders, supply {} tokens, block {}",
            f.holders.len() + f.fresh.used.len(),
            f.world.state.vault_book(VAULT).map(|b| b.supply / WAD).unwrap_or_default(),
            f.world.block
        );
    }
    drop(black_box(fixture));
}

fn deposits_and_redemptions(c: &mut Criterion) {
    bench_holders(c, LARGE);
    bench_holders(c, SMALL);
}

fn build_rebalance() -> RebalanceFixture {
    let t = Instant::now();
    let f = rebalance_fixture(OPERATORS, SERVICES, DEPOSITORS);
    eprintln!(
        "fixture: vault over {OPERATORS} operators and {SERVICES} services, {DEPOSITORS} holders, built in {:.1?}",
        t.elapsed()
    );
    for (name, w) in [("open_20_places", &f.open), ("unbond_10_places", &f.unbond), ("full_round", &f.full)] {
        let mut s = w.state.clone();
        let ev = s
            .apply(&ctx(anyone(), w.block), &vault_rebalance())
            .unwrap_or_else(|e| panic!("the {name} rebalance was refused: {e}"));
        let (unbonded, deposited, completed) = rebalanced(&ev);
        eprintln!(
            "  {name}: {} events, unbonded {} ETH, deposited {} ETH, completed {completed} unbondings",
            ev.len(),
            unbonded / WAD,
            deposited / WAD
        );
    }
    f
}

/// One rebalance round of the vault in `world`, applied to a fresh clone per iteration.
fn time_round(b: &mut criterion::Bencher<'_>, world: &VaultWorld) {
    let c = ctx(anyone(), world.block);
    let tx = vault_rebalance();
    b.iter_batched(
        || world.state.clone(),
        |mut s| {
            let ev = s.apply(&c, &tx).unwrap_or_else(|e| panic!("benchmark rebalance refused: {e}"));
            (s, ev)
        },
        BatchSize::PerIteration,
    )
}

fn rebalances(c: &mut Criterion) {
    let mut fixture: Option<RebalanceFixture> = None;
    let mut g = c.benchmark_group(format!("vault_rebalance_{OPERATORS}_operators"));
    g.bench_function("full_round", |b| {
        let f = fixture.get_or_insert_with(build_rebalance);
        time_round(b, &f.full)
    });
    g.bench_function("unbond_10_places", |b| {
        let f = fixture.get_or_insert_with(build_rebalance);
        time_round(b, &f.unbond)
    });
    g.bench_function("open_20_places", |b| {
        let f = fixture.get_or_insert_with(build_rebalance);
        time_round(b, &f.open)
    });
    g.finish();

    // The valuation a block's first flow pays, with the pool spread over 20 places.
    let mut g = c.benchmark_group("vault_deposit_first_in_block");
    g.throughput(Throughput::Elements(1));
    // The state after the first round (20 places open), advanced block by block across samples.
    let mut spread: Option<(VaultWorld, Vec<Address>)> = None;
    let mut rng = SplitMix64(7);
    g.bench_function(format!("{DEPOSITORS}_holders_{OPERATORS}_places"), |b| {
        let (world, depositors) = spread.get_or_insert_with(|| {
            let f = fixture.get_or_insert_with(build_rebalance);
            (f.unbond.clone(), f.depositors.clone())
        });
        b.iter_custom(|iters| {
            let tx = vault_deposit(STETH, tokens(1));
            timed_over_blocks(world, iters, |first, n| {
                (0..n).map(|i| (ctx(depositors[rng.below(depositors.len())], first + i), tx.clone())).collect()
            })
        })
    });
    g.finish();
    drop(black_box(fixture));
}

criterion_group!(benches, deposits_and_redemptions, rebalances);
criterion_main!(benches);

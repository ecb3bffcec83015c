//! Memory target of the restaking core: ≤ 256 bytes of heap per (staker, strategy) position at
//! 1,000,000 positions.
//!
//! A counting global allocator tracks live heap bytes (requested sizes, so allocator overhead is
//! not included). States are built through `State::genesis` and `State::apply` in stages, and the
//! live heap is read after each stage. Each state is also cloned once: a clone has the same maps
//! but empty undo journals, so `live − clone` is the spare capacity the journals kept.
//!
//! Two layouts of 1,000,000 positions: 1,000,000 stakers × 1 strategy (the per-staker records —
//! token balance, delegation — weigh on every position) and 31,250 stakers × 32 strategies (the
//! devnet and mainnet limit per staker).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
};

use cairn_bench::{account, genesis, must_apply, operator, tokens};
use cairn_primitives::{AssetId, StrategyId};
use cairn_state::{GenesisAsset, State, Tx};

/// `System` with a live-bytes counter.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only a counter is updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Heap bytes a clone of `state` takes (the maps without the journals' spare capacity).
fn compact(state: &State) -> usize {
    let before = live();
    let copy = state.clone();
    let size = live() - before;
    drop(copy);
    size
}

/// One row of the report: a stage of a state and its heap, total and per position.
fn row(stage: &str, state: &State, base: usize, positions: usize) {
    let total = live() - base;
    let lean = compact(state);
    println!(
        "{stage:<44} {:>9.1} MiB {:>8.1} B/pos | compact {:>9.1} MiB {:>8.1} B/pos",
        total as f64 / 1048576.0,
        total as f64 / positions as f64,
        lean as f64 / 1048576.0,
        lean as f64 / positions as f64,
    );
}

/// `stakers` stakers each depositing into `strategies` strategies, then delegating to 32 operators.
fn layout(stakers: usize, strategies: usize) {
    let positions = stakers * strategies;
    println!("\n{stakers} stakers x {strategies} strategies = {positions} positions");
    let accounts: Vec<_> = (0..stakers as u64).map(account).collect();
    // The heap before the state exists (the genesis input is dropped before the first reading).
    let base = live();
    let mut g = genesis(accounts.iter().copied(), tokens(1_000_000));
    let funded = g.assets[0].balances.clone();
    for i in 1..strategies {
        g.assets.push(GenesisAsset {
            symbol: format!("BENCH{i}"),
            decimals: 18,
            strategy: true,
            balances: funded.clone(),
            native: false,
        });
    }
    drop(funded);
    let mut state = State::genesis(&g).unwrap_or_else(|e| panic!("genesis refused: {e}"));
    drop(g);
    row("genesis: balances only", &state, base, positions);
    let after_genesis = live();

    let mut block = 1;
    for (i, s) in accounts.iter().enumerate() {
        if i % 10_000 == 0 {
            block += 1;
        }
        for k in 0..strategies {
            must_apply(&mut state, *s, block, &Tx::Deposit { strategy: StrategyId(k as u32), amount: tokens(32) });
        }
    }
    row("+ one deposit per position (undelegated)", &state, base, positions);
    let after_deposits = live();

    block += 1;
    let operators: Vec<_> = (0..32).map(operator).collect();
    let register =
        Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
    for op in &operators {
        must_apply(&mut state, *op, block, &register);
    }
    for (i, s) in accounts.iter().enumerate() {
        if i % 10_000 == 0 {
            block += 1;
        }
        must_apply(&mut state, *s, block, &Tx::DelegateTo { operator: operators[i % 32], approval_salt: None });
    }
    row("+ every staker delegated (32 operators)", &state, base, positions);
    let after_delegations = live();

    let per = |bytes: usize| bytes as f64 / positions as f64;
    println!(
        "per position: deposit {:.1} B, deposit + delegation {:.1} B, whole state {:.1} B",
        per(after_deposits - after_genesis),
        per(after_delegations - after_genesis),
        per(after_delegations - base),
    );
    assert_eq!(state.balance(accounts[0], AssetId(0)), tokens(1_000_000 - 32));
    drop(state);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("memory: bench");
        return;
    }
    println!("live heap per (staker, strategy) position; target <= 256 B at 1,000,000 positions");
    layout(1_000_000, 1);
    layout(31_250, 32);
}

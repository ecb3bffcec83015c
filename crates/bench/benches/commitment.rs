//! The node's per-block state commitment (issue 17): what a block costs the node after
//! `State::apply`, per transaction, on the EigenLayer comparison workload.
//!
//! `cargo bench -p cairn-bench --bench commitment` replays the workload `COMMITMENT_RUNS` times
//! (default 21; the first warms up) with write tracking on, as a node runs it. At the end of every
//! block of ten transactions it times, as the node does: collecting the written rows
//! (`take_changes`: each row once, postcard-encoded, in table and key order) with one nonce row per
//! transaction, and hashing them into the chained state commitment (`state_commitment`). Printed
//! per transaction: median, p10 and p90 of each part and of both, at ten transactions per block
//! (the workload's) and at 1,000 (a node under load). The target (issue 17) is on the hashing:
//! ≤ 0.2 µs per transaction. `COMMITMENT_BLOCK=n` measures one block size only.

use std::time::{Duration, Instant};

use cairn_bench::workload;
use cairn_node::{app::state_commitment, store::NONCES};
use cairn_primitives::B256;
use cairn_state::State;

/// Per-transaction samples of one part.
#[derive(Default)]
struct Part(Vec<f64>);

impl Part {
    fn push(&mut self, elapsed: Duration, txs: u64) {
        self.0.push(elapsed.as_nanos() as f64 / txs as f64 / 1_000.0);
    }

    fn row(&mut self, name: &str) {
        self.0.sort_by(f64::total_cmp);
        let at = |q: f64| self.0[((self.0.len() - 1) as f64 * q).round() as usize];
        println!("| {name} | {:.3} | {:.3}–{:.3} | {} |", at(0.5), at(0.1), at(0.9), self.0.len());
    }
}

fn main() {
    let runs: usize = std::env::var("COMMITMENT_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(21).max(2);
    let sizes: Vec<u64> = match std::env::var("COMMITMENT_BLOCK") {
        Ok(v) => vec![v.parse().expect("COMMITMENT_BLOCK: transactions per block")],
        Err(_) => vec![workload::TXS_PER_BLOCK, 1_000],
    };
    for per_block in sizes {
        measure(runs, per_block);
    }
}

/// The workload `runs` times with `per_block` transactions per block; prints the table.
fn measure(runs: usize, per_block: u64) {
    let (mut rows, mut hash, mut total) = (Part::default(), Part::default(), Part::default());
    let mut row_bytes = (0usize, 0u64);
    for i in 0..runs {
        let mut state = State::genesis(&workload::genesis()).expect("genesis");
        state.set_tracking(true);
        state.take_changes().expect("genesis rows");
        let mut head = B256::ZERO;
        let mut block = |s: &mut State, txs: u64| {
            let start = Instant::now();
            let mut changes = s.take_changes().expect("rows encode");
            for t in 0..txs {
                // One nonce row per sender, as the node adds them (20-byte key, varint nonce).
                changes.push_bytes(NONCES, &[t as u8; 20], Some(&[t as u8 & 0x7f]));
            }
            let taken = start.elapsed();
            head = state_commitment(head, &changes);
            let all = start.elapsed();
            if i > 0 {
                rows.push(taken, txs);
                hash.push(all - taken, txs);
                total.push(all, txs);
                row_bytes.0 += changes.canonical_bytes().len();
                row_bytes.1 += txs;
            }
        };
        let out = workload::run_with(state, per_block, &mut block);
        assert_eq!(workload::tokens6(out.a_shares_after_slashes), workload::A_SHARES_AFTER_SLASHES);
    }
    println!(
        "\n{per_block} transactions per block, {} timed runs; ~{} bytes of rows per transaction\n",
        runs - 1,
        row_bytes.0 as u64 / row_bytes.1.max(1)
    );
    println!("| per transaction | median µs | p10–p90 µs | blocks |\n|---|---:|---:|---:|");
    rows.row("collect the written rows (`take_changes` + nonce rows)");
    hash.row("**hash them into the commitment** (`state_commitment`; target ≤ 0.2 µs)");
    total.row("both");
}

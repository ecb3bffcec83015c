//! One validator's share of a transaction under CometBFT (issue 14): `CheckTx` of a new
//! transaction (decode, signature recovery, admission), and a block of 5,000 through
//! `PrepareProposal`, `ProcessProposal`, `FinalizeBlock` and `Commit` (redb on disk, fsync'd).
//! Every validator of a network pays both for every transaction; `cairn bench testnet` measures
//! the whole network.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use cairn_node::{
    Config, Node,
    abci::{Abci, drive, tx_bytes},
    devnet::{self, DevKeys},
    envelope::address_of,
    node::Mining,
};
use cairn_primitives::{AssetId, U256};
use cairn_state::Tx;
use criterion::{Criterion, criterion_group, criterion_main};
use tendermint::{
    Time,
    abci::request::CheckTxKind,
    v0_38::abci::{request, response::ProcessProposal},
};

const ACCOUNTS: usize = 1_000;
const PER_ACCOUNT: u64 = 5;

/// A node under consensus over a fresh directory, and `ACCOUNTS × PER_ACCOUNT` signed stETH
/// transfers as CometBFT carries them.
fn fixture(keys: &DevKeys, tag: &str) -> (Arc<Node>, Abci, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("cairn-bench-abci-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
    config.mining = Mining::Consensus;
    config.max_block_txs = 10_000;
    let node = Node::open(config, &devnet::genesis(keys)).expect("node opens");
    let abci = Abci::new(Arc::clone(&node), None);
    (node, abci, dir)
}

fn sign_all(node: &Node, keys: &DevKeys) -> Vec<Bytes> {
    let domain = node.read(|a| a.domain().clone());
    let mut out = Vec::new();
    for nonce in 0..PER_ACCOUNT {
        for (i, key) in keys.stakers.iter().enumerate() {
            let to = address_of(&keys.stakers[(i + 1) % ACCOUNTS]);
            let tx = Tx::Transfer { asset: AssetId(1), to, amount: U256::from(1) };
            out.push(Bytes::from(tx_bytes(&domain.sign(key, &tx, nonce, node.now() + 3_600)).expect("encodes")));
        }
    }
    out
}

fn abci(c: &mut Criterion) {
    let keys = DevKeys::new(ACCOUNTS);
    let mut g = c.benchmark_group("abci");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("check_tx_new", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let (node, abci, dir) = fixture(&keys, "check");
                let txs = sign_all(&node, &keys);
                let started = Instant::now();
                for tx in txs.iter().take((iters - done) as usize) {
                    let r = abci.check_tx(&request::CheckTx { tx: tx.clone(), kind: CheckTxKind::New });
                    assert!(r.code.is_ok(), "{r:?}");
                    done += 1;
                }
                spent += started.elapsed();
                drop(node);
                let _ = std::fs::remove_dir_all(dir);
            }
            spent
        });
    });
    g.bench_function("block_5000_prepare_process_finalize_commit", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let (node, abci, dir) = fixture(&keys, "block");
                for tx in sign_all(&node, &keys) {
                    let _ = abci.check_tx(&request::CheckTx { tx, kind: CheckTxKind::New });
                }
                let time = Time::from_unix_timestamp(node.now() as i64, 0).expect("time");
                let started = Instant::now();
                let p = abci.prepare_proposal(&drive::prepare(1, time, 20 << 20)).expect("prepares");
                assert_eq!(p.txs.len(), ACCOUNTS * PER_ACCOUNT as usize);
                let verdict = abci.process_proposal(&drive::process(1, time, [1; 32], p.txs.clone()));
                assert_eq!(verdict, ProcessProposal::Accept);
                abci.finalize_block(&drive::finalize(1, time, [1; 32], p.txs)).expect("finalizes");
                abci.commit().expect("commits");
                spent += started.elapsed();
                drop(node);
                let _ = std::fs::remove_dir_all(dir);
            }
            spent
        });
    });
    g.finish();
}

criterion_group!(benches, abci);
criterion_main!(benches);

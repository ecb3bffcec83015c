//! Running a node for long: the stored rewards history against the in-memory recorder (for
//! every day boundary the chain crossed, the state rebuilt from the store's undo rows equals the
//! state the recorder kept, and so do the heights and the rewards roots; a reopened node reads
//! the same history), pruning, and starting a new node from a state snapshot.

use std::sync::Arc;

use alloy_primitives::U256;
use cairn_node::{
    Config, Node, SignedTx,
    devnet::{self, DevKeys, Workers},
    envelope::Domain,
    node::unix_now,
    store::RestoreError,
};
use cairn_primitives::StrategyId;
use cairn_rewards::{Recorder, SnapshotSource, calculate};
use cairn_state::Tx;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-it-history-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &std::path::Path, keys: &DevKeys) -> Arc<Node> {
    let mut config = Config::new(dir.to_path_buf(), devnet::CHAIN_ID);
    config.record_rewards = true;
    Node::open(config, &devnet::genesis(keys)).expect("node opens")
}

/// (day, state hash, height) of each day `source` has, newest first.
fn days_of(source: &dyn SnapshotSource, days: &[u64]) -> Vec<(u64, String, u64)> {
    let mut out = Vec::new();
    source
        .visit_newest_first(days, &mut |day, snap| {
            out.push((day, snap.state.state_hash().expect("state hash").to_string(), snap.block));
            Ok(())
        })
        .expect("every day has a snapshot");
    out
}

#[test]
fn the_stored_history_rebuilds_every_day_the_recorder_kept() {
    let dir = temp_dir("days");
    let keys = Arc::new(DevKeys::new(12));
    let node = open(&dir, &keys);
    let hour = devnet::params().rewards_interval_seconds;
    let mut workers = Workers::new(Arc::clone(&node), Arc::clone(&keys));
    // Simulated time from now, at most ~20 hours ahead (signed expiries may be a day ahead of
    // the real clock): short gaps, and now and then a gap over several boundaries at once.
    let mut time = unix_now();
    let mut recorder: Option<Recorder> = None;
    let mut seed = 0x2545_f491_u64;
    for step in 0..160u64 {
        if !workers.seed() {
            workers.step(time);
        }
        node.read(|a| {
            let rec = recorder.get_or_insert_with(|| Recorder::new(hour, time));
            rec.advance(a.state(), a.head().height + 1, time);
        });
        node.produce_block(time).expect("block");
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        time += if step % 40 == 39 { 2 * hour + seed % hour } else { 2 + (seed >> 33) % 700 };
    }
    let rec = recorder.expect("recorded");
    let days: Vec<u64> = rec.snapshots().keys().copied().collect();
    assert!(days.len() >= 10, "the run crosses many boundaries: {days:?}");
    let stored_days: Vec<u64> = node.read(|a| a.store().history_days().expect("days")).iter().map(|d| d.0).collect();
    assert_eq!(stored_days, days, "the store has a height for exactly the recorder's days");
    let history = node.read(|a| a.store().read().expect("reader"));
    let from_store = days_of(&history, &days);
    assert_eq!(from_store, days_of(rec.snapshots(), &days), "every day's state and height agree");
    // The states differ from day to day (the history is not the head state over and over).
    let distinct: std::collections::BTreeSet<_> = from_store.iter().map(|d| d.1.clone()).collect();
    assert!(distinct.len() > days.len() / 2, "{} distinct states over {} days", distinct.len(), days.len());
    // The calculation over either source gives the same earnings, and someone earned.
    let end = *days.last().expect("a day");
    let (submissions, interval) = node.read(|a| (a.state().submissions(), hour.max(1)));
    let stored = calculate(&submissions, &history, interval, end).expect("from the store");
    let memory = calculate(&submissions, rec.snapshots(), interval, end).expect("from memory");
    assert_eq!(stored, memory);
    assert!(!stored.earnings.is_empty(), "the devnet's hourly rewards paid someone");
    let root = node.rewards_root(end);
    drop(history);
    drop(workers);
    drop(node);
    // A reopened node answers from the store at once, with the same root.
    let started = std::time::Instant::now();
    let reopened = open(&dir, &keys);
    let opened_in = started.elapsed();
    assert_eq!(reopened.rewards_root(end), root);
    assert!(root.is_some_and(|r| r.is_ok()));
    eprintln!("reopened in {opened_in:?} over {} days", days.len());
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Signed deposits of `count` stakers (nonce `nonce` each), valid for ten minutes.
fn deposits(keys: &DevKeys, count: usize, nonce: u64, time: u64) -> Vec<SignedTx> {
    let domain = Domain::new(devnet::CHAIN_ID);
    let tx = Tx::Deposit { strategy: StrategyId(1), amount: U256::from(1_000_000_000_000_000_000u64) };
    keys.stakers.iter().take(count).map(|k| domain.sign(k, &tx, nonce, time + 600)).collect()
}

/// Drives `nodes` through the same blocks: `blocks` of deposits by every staker, one second apart.
fn drive(nodes: &[&Node], keys: &DevKeys, first_nonce: u64, blocks: u64, t0: u64) {
    for i in 0..blocks {
        let time = t0 + i;
        for tx in deposits(keys, keys.stakers.len(), first_nonce + i, time) {
            for n in nodes {
                n.submit(tx.clone()).expect("admitted");
            }
        }
        let headers: Vec<_> = nodes.iter().map(|n| n.produce_block(time).expect("block")).collect();
        assert!(headers.windows(2).all(|w| w[0] == w[1]), "the nodes agree at block {i}: {headers:?}");
    }
}

#[test]
fn a_pruned_node_keeps_headers_and_state_and_drops_old_bodies() {
    let (dir_a, dir_p) = (temp_dir("archive"), temp_dir("pruned"));
    let keys = DevKeys::new(6);
    let archive = Node::open(Config::new(dir_a.clone(), devnet::CHAIN_ID), &devnet::genesis(&keys)).expect("opens");
    let mut config = Config::new(dir_p.clone(), devnet::CHAIN_ID);
    config.keep_blocks = Some(5);
    let pruned = Node::open(config, &devnet::genesis(&keys)).expect("opens");
    let t0 = unix_now();
    drive(&[&archive, &pruned], &keys, 0, 30, t0);
    let old = deposits(&keys, 1, 2, t0 + 2)[0].clone();
    let old_hash = pruned.read(|a| a.domain().verify(old.clone()).expect("verifies").hash);
    pruned.read(|a| {
        let store = a.store();
        // Head 30, keeping 5: bodies of 26..=30 stay, 1..=25 are pruned.
        assert_eq!(store.bodies_from().expect("meta"), 26);
        let b = store.block(10).expect("read").expect("header kept");
        assert!(b.txs.is_empty() && b.header.tx_count == 6, "{:?}", b.header);
        assert!(store.receipts_of(10).expect("read").is_empty());
        assert_eq!(store.tx_location(&old_hash).expect("read"), None);
        assert_eq!(store.block(27).expect("read").expect("kept").txs.len(), 6);
        assert_eq!(store.receipts_of(27).expect("read").len(), 6);
        // An account's history keeps only the kept bodies: one deposit per block, 26..=30.
        let staker = cairn_node::envelope::address_of(&keys.stakers[0]);
        let listed = store.account_txs(&staker, (u64::MAX, 0), 100).expect("read");
        assert_eq!(listed.iter().map(|l| l.0).collect::<Vec<_>>(), vec![30, 29, 28, 27, 26]);
    });
    let staker = cairn_node::envelope::address_of(&keys.stakers[0]);
    let all = archive.read(|a| a.store().account_txs(&staker, (u64::MAX, 0), 100).expect("read"));
    assert_eq!(all.len(), 30, "the archive lists every block's deposit");
    archive.read(|a| assert_eq!(a.store().tx_location(&old_hash).expect("read").map(|l| l.0), Some(3)));
    // Headers and state are the archive's.
    for h in [1, 10, 25, 30] {
        let header = |n: &Node| n.read(|a| a.store().block(h).expect("read").expect("block").header);
        assert_eq!(header(&archive), header(&pruned), "header {h}");
    }
    assert_eq!(archive.read(|a| a.state().state_hash()), pruned.read(|a| a.state().state_hash()));
    // The memory figures `/metrics` shows are live.
    let mem = pruned.memory();
    assert!(mem.rss_bytes > 1 << 20 && mem.store_file_bytes > 0, "{mem:?}");
    assert_eq!(mem.cache_limit_bytes, 64 << 20);
    for d in [dir_a, dir_p] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn a_new_node_starts_from_a_snapshot_and_follows_the_chain() {
    let (dir_a, dir_b) = (temp_dir("source"), temp_dir("restored"));
    let keys = DevKeys::new(5);
    let genesis = devnet::genesis(&keys);
    let source = Node::open(Config::new(dir_a.clone(), devnet::CHAIN_ID), &genesis).expect("opens");
    let t0 = unix_now();
    drive(&[&source], &keys, 0, 12, t0);
    let snap = source.read(|a| a.store().snapshot().expect("read").expect("a chain"));
    let bytes = postcard::to_allocvec(&snap).expect("encodes");
    let config = Config::new(dir_b.clone(), devnet::CHAIN_ID);
    // A tampered snapshot is refused, and so is a snapshot of another chain.
    let mut bad = snap.clone();
    bad.rows.remove(1);
    let refused = Node::restore_snapshot(&config, &genesis, &postcard::to_allocvec(&bad).expect("encodes"));
    assert!(matches!(refused, Err(RestoreError::HashMismatch { .. })), "{refused:?}");
    let other = Config::new(dir_b.clone(), devnet::CHAIN_ID + 1);
    assert!(matches!(Node::restore_snapshot(&other, &genesis, &bytes), Err(RestoreError::Load(_))));
    let another = devnet::genesis(&DevKeys::new(6));
    let refused = Node::restore_snapshot(&config, &another, &bytes);
    assert!(matches!(&refused, Err(RestoreError::Load(m)) if m.contains("genesis")), "{refused:?}");
    let head = Node::restore_snapshot(&config, &genesis, &bytes).expect("restores");
    assert_eq!(head, snap.head);
    assert!(matches!(
        Node::restore_snapshot(&config, &genesis, &bytes),
        Err(RestoreError::NotEmpty { height: 12, .. })
    ));
    let restored = Node::open(config, &genesis).expect("opens from the snapshot");
    assert_eq!(
        restored.read(|a| (a.head().clone(), a.state().state_hash())),
        source.read(|a| (a.head().clone(), a.state().state_hash()))
    );
    assert_eq!(restored.nonces(&cairn_node::envelope::address_of(&keys.stakers[0])), (12, 12));
    // Both produce the same next blocks from the same transactions.
    drive(&[&source, &restored], &keys, 12, 5, t0 + 12);
    for d in [dir_a, dir_b] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn waiting_transactions_outlive_the_process_and_drops_are_told() {
    let dir = temp_dir("pool");
    let keys = DevKeys::new(4);
    let genesis = devnet::genesis(&keys);
    let open = || Node::open(Config::new(dir.clone(), devnet::CHAIN_ID), &genesis).expect("opens");
    let status = |n: &Node, tx: &SignedTx| {
        let hash = n.read(|a| a.domain().verify(tx.clone()).expect("verifies").hash);
        serde_json::to_value(n.status(&hash).expect("status")).expect("json")
    };
    let t0 = unix_now();
    let node = open();
    // Nonce 1 of staker 0 waits for nonce 0 through a block (so it is in the stored pool);
    // staker 1's nonce 0 is admitted after that block (only in the journal).
    let later = deposits(&keys, 1, 1, t0)[0].clone();
    node.submit(later.clone()).expect("admitted");
    node.produce_block(t0).expect("block");
    let journaled = deposits(&keys, 2, 0, t0)[1].clone();
    node.submit(journaled.clone()).expect("admitted");
    // Staker 2's transaction expires before the next block and is dropped, with a reason.
    let short = Domain::new(devnet::CHAIN_ID).sign(&keys.stakers[2], &deposit_tx(), 0, t0 + 1);
    node.submit(short.clone()).expect("admitted");
    let mut feed = node.subscribe();
    node.produce_block(t0 + 5).expect("block");
    let announced = feed.try_recv().expect("the block is announced");
    assert_eq!(announced.dropped.len(), 1, "{:?}", announced.dropped);
    assert!(announced.dropped[0].reason.starts_with("expired"), "{:?}", announced.dropped);
    assert_eq!(status(&node, &short)["status"], "dropped");
    assert_eq!(status(&node, &journaled)["status"], "committed");
    // The stored pool holds the waiting transaction only: one admitted and committed between
    // two blocks is never written there, and an expired one is removed.
    let pooled = node.read(|a| a.store().pool().expect("pool"));
    assert_eq!(pooled, vec![later.clone()]);
    // A transaction admitted just before the process dies is journaled; so is the waiting one.
    let last = deposits(&keys, 4, 0, t0)[3].clone();
    node.submit(last.clone()).expect("admitted");
    drop(feed);
    drop(node);
    let node = open();
    assert_eq!(status(&node, &later)["status"], "pending", "the stored pool is admitted again");
    assert_eq!(status(&node, &last)["status"], "pending", "the journal is admitted again");
    assert_eq!(node.mempool_len(), 2);
    node.submit(deposits(&keys, 1, 0, t0)[0].clone()).expect("the missing nonce");
    node.produce_block(t0 + 6).expect("block");
    assert_eq!(node.mempool_len(), 0);
    assert_eq!(status(&node, &later)["status"], "committed");
    assert_eq!(status(&node, &last)["status"], "committed");
    // Reopened again, nothing comes back twice (the journal and pool were emptied by commits).
    drop(node);
    let node = open();
    assert_eq!(node.mempool_len(), 0);
    // A waiting transaction that can no longer be admitted after a restart is dropped, and said so.
    let soon = Domain::new(devnet::CHAIN_ID).sign(&keys.stakers[3], &deposit_tx(), 1, unix_now() + 1);
    node.submit(soon.clone()).expect("admitted");
    drop(node);
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    let node = open();
    let s = status(&node, &soon);
    assert_eq!(s["status"], "dropped", "{s}");
    assert!(s["reason"].as_str().expect("reason").contains("after a restart"), "{s}");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

fn deposit_tx() -> Tx {
    Tx::Deposit { strategy: StrategyId(1), amount: U256::from(1_000_000_000_000_000_000u64) }
}

#[test]
fn a_restart_admits_waiting_transactions_that_depend_on_each_other() {
    let dir = temp_dir("pool-deps");
    let keys = DevKeys::new(2);
    let genesis = devnet::genesis(&keys);
    let open = || Node::open(Config::new(dir.clone(), devnet::CHAIN_ID), &genesis).expect("opens");
    let domain = Domain::new(devnet::CHAIN_ID);
    let staker = &keys.stakers[0];
    let staker_addr = cairn_node::envelope::address_of(staker);
    // An operator whose address sorts after the staker's: restoring in (sender, nonce) order
    // meets the delegation before the registration it needs.
    let op = (0..)
        .map(|i| cairn_node::envelope::dev_key(&format!("node-ops/operator/{i}")))
        .find(|k| cairn_node::envelope::address_of(k) > staker_addr)
        .expect("a key");
    let op_addr = cairn_node::envelope::address_of(&op);
    let expiry = unix_now() + 600;
    let register =
        Tx::RegisterAsOperator { delegation_approver: None, allocation_delay: 0, metadata_uri: String::new() };
    let node = open();
    node.submit(domain.sign(&op, &register, 0, expiry)).expect("the registration waits");
    let delegate = domain.sign(staker, &Tx::DelegateTo { operator: op_addr, approval_salt: None }, 0, expiry);
    node.submit(delegate.clone()).expect("admitted: the operator's registration is waiting");
    drop(node);
    let node = open();
    let hash = node.read(|a| a.domain().verify(delegate.clone()).expect("verifies").hash);
    let status = serde_json::to_value(node.status(&hash).expect("status")).expect("json");
    assert_eq!(status["status"], "pending", "{status}");
    assert_eq!(node.mempool_len(), 2, "both were admitted again");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn history_with_a_hole_is_forgotten_rather_than_rebuilt_wrong() {
    let dir = temp_dir("hole");
    let keys = DevKeys::new(2);
    let genesis = devnet::genesis(&keys);
    let with = |history: bool| {
        let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
        config.record_rewards = history;
        Node::open(config, &genesis).expect("opens")
    };
    let hour = devnet::params().rewards_interval_seconds;
    let t0 = unix_now();
    let node = with(true);
    for i in 0..4 {
        node.produce_block(t0 + i * hour).expect("block");
    }
    let days = node.read(|a| a.store().history_days().expect("days")).len();
    assert_eq!(days, 3, "boundaries after the first block");
    drop(node);
    // Blocks committed without the history leave a hole: the old days cannot be rebuilt.
    let node = with(false);
    node.produce_block(t0 + 4 * hour).expect("block");
    drop(node);
    let node = with(true);
    node.produce_block(t0 + 5 * hour).expect("block");
    // Only the boundary this block crossed (its state is the head's, which the block's undo
    // rows cover); the three older ones are forgotten.
    let days = node.read(|a| a.store().history_days().expect("days"));
    assert_eq!(days.len(), 1, "{days:?}");
    assert!(days[0].0 > t0 + 4 * hour, "{days:?}");
    node.produce_block(t0 + 6 * hour).expect("block");
    assert_eq!(node.read(|a| a.store().history_days().expect("days")).len(), 2, "new days are recorded");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
}

/// In automatic mining a full block is followed by the next at once: the interval gathers
/// arrivals into a block, and a backlog of a block or more has nothing to wait for. A block short
/// of the limit sends the producer back to its interval.
#[test]
fn a_backlog_is_mined_back_to_back() {
    use std::time::{Duration, Instant};
    let dir = temp_dir("backlog");
    let keys = DevKeys::new(5);
    let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
    let interval = Duration::from_secs(3);
    config.block_interval = interval;
    config.max_block_txs = 2;
    let node = Node::open(config, &devnet::genesis(&keys)).expect("opens");
    for tx in deposits(&keys, 5, 0, unix_now()) {
        node.submit(tx).expect("admitted");
    }
    let mut feed = node.subscribe();
    let producer = node.spawn_producer();
    // Three blocks: two full ones, then the fifth transaction alone.
    let mut blocks = Vec::new();
    let deadline = Instant::now() + 6 * interval;
    while blocks.len() < 3 && Instant::now() < deadline {
        match feed.try_recv() {
            Ok(b) => blocks.push((b.header.tx_count, Instant::now())),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    node.stop();
    producer.join().expect("the producer stops");
    let counts: Vec<u32> = blocks.iter().map(|b| b.0).collect();
    assert_eq!(counts, vec![2, 2, 1], "two full blocks, then the rest");
    // The blocks after a full one came without the interval in between (waiting would take 2 × 3 s).
    let spread = blocks[2].1 - blocks[0].1;
    assert!(spread < interval, "blocks 1 to 3 took {spread:?}, an interval is {interval:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

//! The node's stored rewards history against the in-memory recorder: for every day boundary the
//! chain crossed, the state rebuilt from the store's undo rows equals the state the recorder
//! kept, the heights agree, and so do the rewards roots; a reopened node reads the same history.

use std::sync::Arc;

use cairn_node::{
    Config, Node,
    devnet::{self, DevKeys, Workers},
    node::unix_now,
};
use cairn_rewards::{Recorder, SnapshotSource, calculate};

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
            out.push((day, snap.state.state_hash().to_string(), snap.block));
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
    let history = node.read(|a| a.store().history().expect("reader"));
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

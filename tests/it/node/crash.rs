//! The crash loop: a node in a child process is SIGKILLed again and again at random (seeded,
//! printed) points while writers submit signed transactions over HTTP, and after every restart:
//!
//! - every transaction acknowledged as committed (a `?wait=true` receipt, or a 202 whose
//!   transaction the restarted node reports committed) is committed at the same (height, index),
//!   by its block's receipts and by its id;
//! - every block height served before a kill has the same header hash after it, and the head is
//!   not behind any of them;
//!
//! and at the end the restarted node's `full_state_hash` equals a replay of all its blocks from
//! genesis into a fresh store.
//!
//! A transaction only admitted (202, `pending`) when the node died may be lost: the mempool is not
//! persisted. Those are counted and printed; `PENDING_SURVIVES_RESTART` turns the count into an
//! assertion once the mempool survives restarts.
//!
//! The child is this test binary re-executed (`crash_child`), or the `cairn` binary named by
//! `CAIRN_CRASH_BIN` running `cairn devnet` (its workers then add their own load).
//! `CAIRN_CRASH_KILLS` (default 20) and `CAIRN_CRASH_SEED` choose the loop; `scripts/crash-loop.sh`
//! runs 200 kills against the release `cairn devnet`.

use std::{
    collections::{BTreeMap, HashMap},
    io::BufRead,
    ops::Range,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::{Duration, Instant},
};

use alloy_primitives::U256;
use cairn_node::{
    Config, Node, api,
    block::Block,
    client::Client,
    devnet::{self, DevKeys},
    envelope::{Domain, address_of},
    node::unix_now,
};
use cairn_primitives::AssetId;
use cairn_state::Tx;
use serde_json::Value;

use super::{replay, temp_dir};

/// Whether a transaction admitted (202, `pending`) before a kill must still be known after the
/// restart: true since the mempool is journaled per admission and kept in the store per block
/// (docs/node.md). Every pending acknowledgement must then be pending, committed or dropped with
/// a reason after the restart, never unknown.
const PENDING_SURVIVES_RESTART: bool = true;

/// Kills in the test suite (`CAIRN_CRASH_KILLS` overrides).
const KILLS: usize = 20;
/// Development stakers in the child's genesis (`--stakers` of the devnet child).
const STAKERS: usize = 64;
/// The child's block interval while transactions wait.
const BLOCK_MS: u64 = 50;
/// Writers that wait for the commit (`?wait=true`), and writers that only submit.
const WAITING_WRITERS: usize = 8;
const SUBMITTING_WRITERS: usize = 4;
/// Accounts per writer (each writer owns its accounts, so their nonces never race).
const ACCOUNTS_PER_WRITER: usize = 4;
/// The load runs this long before the kill: a uniform draw from this range, in milliseconds.
const KILL_AFTER_MS: Range<u64> = 50..401;
/// Bounds: the child's start, each verification, and the writers if a kill went astray.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
const WRITER_LIMIT: Duration = Duration::from_secs(10);
const _: () =
    assert!((WAITING_WRITERS + SUBMITTING_WRITERS) * ACCOUNTS_PER_WRITER <= STAKERS, "writers own distinct stakers");

/// SplitMix64: the kill points from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn in_range(&mut self, r: &Range<u64>) -> u64 {
        r.start + self.next() % (r.end - r.start)
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(v.trim().parse().unwrap_or_else(|e| panic!("{name}={v:?}: {e}")))
}

/// The child side of the crash loop: serves a node over `CAIRN_CRASH_DIR` on the port written
/// to `port` in that directory, until killed. Ignored unless run by the crash loop.
#[test]
#[ignore = "run by the_node_survives_a_crash_loop_of_sigkills_under_load as a child process"]
fn crash_child() {
    let Some(dir) = std::env::var_os("CAIRN_CRASH_DIR").map(PathBuf::from) else {
        return;
    };
    let keys = DevKeys::new(STAKERS);
    let mut config = Config::new(dir.clone(), devnet::CHAIN_ID);
    config.block_interval = Duration::from_millis(BLOCK_MS);
    // The writers all come from 127.0.0.1: a public node's per-IP limits would throttle them.
    config.http.exempt = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    let node = Node::open(config, &devnet::genesis(&keys)).expect("node opens");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::fs::write(dir.join("port.tmp"), port.to_string()).expect("write port");
        std::fs::rename(dir.join("port.tmp"), dir.join("port")).expect("publish port");
        let _producer = node.spawn_producer();
        let _ = api::serve(node, listener).await;
    });
}

/// A node in a child process over `dir`, serving at `base`.
struct ChildNode {
    child: Child,
    base: String,
}

impl ChildNode {
    /// Starts this test binary's `crash_child`, or `cairn devnet` from `bin`, over `dir`, and
    /// waits until it serves. A child that exits first (a store that does not reopen) fails.
    fn spawn(dir: &Path, bin: Option<&Path>) -> Self {
        let started = Instant::now();
        let (mut child, port) = match bin {
            None => {
                let _ = std::fs::remove_file(dir.join("port"));
                let exe = std::env::current_exe().expect("test binary");
                let child = Command::new(exe)
                    .args(["--exact", "node::crash::crash_child", "--ignored", "--nocapture", "--test-threads=1"])
                    .env("CAIRN_CRASH_DIR", dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn the child node");
                let port = dir.join("port");
                (child, Box::new(move || std::fs::read_to_string(&port).ok()) as Box<dyn Fn() -> Option<String>>)
            }
            Some(bin) => {
                let mut child = Command::new(bin)
                    .arg("devnet")
                    .arg("--data-dir")
                    .arg(dir.join("store"))
                    .args(["--listen", "127.0.0.1:0", "--stakers", &STAKERS.to_string()])
                    .args(["--block-ms", &BLOCK_MS.to_string(), "--exempt-ip", "127.0.0.1"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("spawning {}: {e}", bin.display()));
                // The devnet prints `API:      http://127.0.0.1:PORT/v1/ ...`; the rest of its output
                // is drained so that it never blocks on a full pipe.
                let out = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    for line in out.lines().map_while(Result::ok) {
                        if let Some(port) = line.strip_prefix("API:").and_then(|l| l.split("http://127.0.0.1:").nth(1))
                        {
                            let _ = tx.send(port.split('/').next().unwrap_or_default().to_owned());
                        }
                    }
                });
                (child, Box::new(move || rx.try_recv().ok()) as Box<dyn Fn() -> Option<String>>)
            }
        };
        while started.elapsed() < START_TIMEOUT {
            if let Some(p) = port() {
                return Self { child, base: format!("http://127.0.0.1:{}", p.trim()) };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the child node exited with {status} before serving (does the store reopen?)");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the child node did not serve within {START_TIMEOUT:?}");
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the child node");
        let _ = self.child.wait();
    }
}

impl Drop for ChildNode {
    /// A failing check does not leave the child running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One acknowledgement from the node.
enum Ack {
    /// `?wait=true` answered with the receipt: committed at (height, index).
    Committed { hash: String, height: u64, index: u64 },
    /// 202 `pending`: admitted to the mempool.
    Pending { hash: String },
}

#[derive(Default)]
struct WriterReport {
    acks: Vec<Ack>,
    /// Answers other than a 202: none expected when the writers are the only submitters.
    refused: Vec<String>,
}

/// Signs transfers from its own accounts (the next free nonce each time, amounts unique across
/// the whole loop so no two transactions share an id) and records every acknowledgement, until
/// the node stops answering or `limit` passes.
async fn writer(
    client: Client,
    keys: Arc<DevKeys>,
    accounts: Range<usize>,
    wait: bool,
    amounts: Arc<AtomicU64>,
    limit: Instant,
) -> WriterReport {
    let domain = Domain::new(devnet::CHAIN_ID);
    let path = if wait { "/v1/tx?wait=true" } else { "/v1/tx" };
    let mut report = WriterReport::default();
    for i in 0usize.. {
        if Instant::now() >= limit {
            break;
        }
        let key = &keys.stakers[accounts.start + i % accounts.len()];
        let to = address_of(&keys.stakers[accounts.start + (i + 1) % accounts.len()]);
        let Ok((200, acct)) = client.get(&format!("/v1/accounts/{}", address_of(key))).await else { break };
        let nonce = acct["pending_nonce"].as_u64().expect("pending nonce");
        let tx = Tx::Transfer { asset: AssetId(1), to, amount: U256::from(amounts.fetch_add(1, Relaxed)) };
        let body = serde_json::to_value(domain.sign(key, &tx, nonce, unix_now() + 600)).expect("json");
        match client.post(path, &body).await {
            Ok((202, a)) => {
                let hash = a["hash"].as_str().expect("hash").to_owned();
                let receipt = &a["status"]["receipt"];
                report.acks.push(match (receipt["height"].as_u64(), receipt["index"].as_u64()) {
                    (Some(height), Some(index)) if a["status"]["status"] == "committed" => {
                        Ack::Committed { hash, height, index }
                    }
                    _ => Ack::Pending { hash },
                });
            }
            Ok((status, answer)) => report.refused.push(format!("{status} {answer}")),
            Err(_) => break,
        }
    }
    report
}

/// Records the head's hash as the node serves it, until it stops answering or `limit` passes.
async fn watch_heads(client: Client, limit: Instant) -> Vec<(u64, String)> {
    let mut seen = Vec::new();
    while Instant::now() < limit {
        let Ok((200, s)) = client.get("/v1/state").await else { break };
        let height = s["head"]["height"].as_u64().expect("height");
        seen.push((height, s["head_hash"].as_str().expect("head hash").to_owned()));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen
}

/// What the loop knows: every acknowledgement and every block hash served so far.
#[derive(Default)]
struct Ledger {
    /// Acknowledged as committed: id → (height, index).
    committed: HashMap<String, (u64, u64)>,
    /// Committed acknowledgements of the last round (checked by id after each restart).
    last_round: Vec<String>,
    /// Acknowledged as pending and not yet seen committed.
    pending: Vec<String>,
    pending_acks: usize,
    /// Pending acknowledgements found committed after the restart.
    pending_committed: usize,
    /// Pending acknowledgements the restarted node does not know (lost with the mempool).
    pending_dropped: usize,
    refused: Vec<String>,
    /// Header hash by height, as served.
    seen: BTreeMap<u64, String>,
}

impl Ledger {
    fn see(&mut self, height: u64, hash: &str, when: &str) {
        let known = self.seen.entry(height).or_insert_with(|| hash.to_owned());
        assert_eq!(known, hash, "block {height} has another header hash {when}");
    }

    fn absorb(&mut self, reports: Vec<WriterReport>, heads: Vec<(u64, String)>) {
        self.last_round.clear();
        for r in reports {
            for ack in r.acks {
                match ack {
                    Ack::Committed { hash, height, index } => {
                        self.last_round.push(hash.clone());
                        let earlier = self.committed.insert(hash.clone(), (height, index));
                        assert!(earlier.is_none(), "{hash} acknowledged twice");
                    }
                    Ack::Pending { hash } => {
                        self.pending_acks += 1;
                        self.pending.push(hash);
                    }
                }
            }
            self.refused.extend(r.refused);
        }
        for (height, hash) in heads {
            self.see(height, &hash, "while the node ran");
        }
    }

    /// After a restart: pending acknowledgements resolved, every block's header hash as seen
    /// before, every committed acknowledgement at its place (by the blocks' receipts, and by id for
    /// the last round or, with `all_ids`, for all). Returns the blocks and `GET /v1/state`.
    async fn verify(&mut self, client: &Client, all_ids: bool) -> (Vec<Block>, Value) {
        let get = move |path: String| async move {
            let (status, v) = client.get(&path).await.unwrap_or_else(|e| panic!("{path}: {e}"));
            (status, v)
        };
        for hash in std::mem::take(&mut self.pending) {
            let (status, st) = get(format!("/v1/tx/{hash}")).await;
            match (status, st["status"].as_str()) {
                (200, Some("committed")) => {
                    let r = &st["receipt"];
                    let place = (r["height"].as_u64().expect("height"), r["index"].as_u64().expect("index"));
                    self.committed.insert(hash, place);
                    self.pending_committed += 1;
                }
                (200, Some("pending")) => self.pending.push(hash),
                // Left the mempool with a reason the sender can read (expired while the node was
                // down, say): told, not lost.
                (200, Some("dropped")) => self.pending_dropped += 1,
                (404, _) if PENDING_SURVIVES_RESTART => panic!("{hash} was acknowledged as pending (202) and is lost"),
                (404, _) => self.pending_dropped += 1,
                _ => panic!("GET /v1/tx/{hash}: {status} {st}"),
            }
        }
        let (status, state) = get("/v1/state".into()).await;
        assert_eq!(status, 200, "{state}");
        let head = state["head"]["height"].as_u64().expect("height");
        if let Some((&top, _)) = self.seen.last_key_value() {
            assert!(head >= top, "the head went back from {top} to {head} across a restart");
        }
        let mut by_height: BTreeMap<u64, Vec<(u64, &str)>> = BTreeMap::new();
        for (hash, &(height, index)) in &self.committed {
            assert!(height <= head, "{hash} was committed at {height}, beyond the head {head} after the restart");
            by_height.entry(height).or_default().push((index, hash));
        }
        let mut blocks = Vec::new();
        let mut served = Vec::new();
        for h in 0..=head {
            let (status, b) = get(format!("/v1/blocks/{h}")).await;
            assert_eq!(status, 200, "block {h} of {head}: {b}");
            for &(index, hash) in by_height.get(&h).into_iter().flatten() {
                let at = &b["receipts"][index as usize]["tx_hash"];
                assert_eq!(at, hash, "acknowledged {hash} is no longer at ({h}, {index})");
            }
            served.push((h, b["hash"].as_str().expect("hash").to_owned()));
            if all_ids {
                blocks.push(Block {
                    header: serde_json::from_value(b["header"].clone()).expect("header"),
                    txs: serde_json::from_value(b["txs"].clone()).expect("txs"),
                });
            }
        }
        for (h, hash) in served {
            self.see(h, &hash, "after a restart");
        }
        let ids: Vec<&String> =
            if all_ids { self.committed.keys().collect() } else { self.last_round.iter().collect() };
        for hash in ids {
            let (status, st) = get(format!("/v1/tx/{hash}")).await;
            assert_eq!((status, st["status"].as_str()), (200, Some("committed")), "acknowledged {hash}: {st}");
            let place = (st["receipt"]["height"].as_u64(), st["receipt"]["index"].as_u64());
            let (height, index) = self.committed[hash];
            assert_eq!(place, (Some(height), Some(index)), "acknowledged {hash} moved");
        }
        (blocks, state)
    }
}

/// Runs the writers and the head watcher against `node`, SIGKILLs it after `kill_after`, and
/// returns what they saw.
async fn load_then_kill(
    node: ChildNode,
    keys: &Arc<DevKeys>,
    amounts: &Arc<AtomicU64>,
    kill_after: Duration,
) -> (Vec<WriterReport>, Vec<(u64, String)>) {
    let client = Client::new(&node.base);
    let limit = Instant::now() + kill_after + WRITER_LIMIT;
    let writers: Vec<_> = (0..WAITING_WRITERS + SUBMITTING_WRITERS)
        .map(|w| {
            let accounts = w * ACCOUNTS_PER_WRITER..(w + 1) * ACCOUNTS_PER_WRITER;
            let wait = w < WAITING_WRITERS;
            tokio::spawn(writer(client.clone(), Arc::clone(keys), accounts, wait, Arc::clone(amounts), limit))
        })
        .collect();
    let heads = tokio::spawn(watch_heads(client, limit));
    tokio::time::sleep(kill_after).await;
    tokio::task::block_in_place(|| node.kill());
    let mut reports = Vec::new();
    for w in writers {
        reports.push(w.await.expect("writer"));
    }
    (reports, heads.await.expect("head watcher"))
}

#[test]
fn the_node_survives_a_crash_loop_of_sigkills_under_load() {
    let kills = env_u64("CAIRN_CRASH_KILLS").map_or(KILLS, |k| k as usize);
    let seed = env_u64("CAIRN_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let bin = std::env::var_os("CAIRN_CRASH_BIN").map(PathBuf::from);
    let child = bin.as_ref().map_or("this test binary (crash_child)".into(), |b| format!("{} devnet", b.display()));
    eprintln!(
        "crash loop: {kills} SIGKILLs, seed {seed} (CAIRN_CRASH_SEED={seed} repeats the kill points), child: {child}"
    );
    let dir = temp_dir("crash");
    std::fs::create_dir_all(&dir).expect("dir");
    let keys = Arc::new(DevKeys::new(STAKERS));
    let amounts = Arc::new(AtomicU64::new(1));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut rng = Rng(seed);
    let mut ledger = Ledger::default();
    let started = Instant::now();
    for round in 0..kills {
        let node = ChildNode::spawn(&dir, bin.as_deref());
        let client = Client::new(&node.base);
        let kill_after = Duration::from_millis(rng.in_range(&KILL_AFTER_MS));
        rt.block_on(async {
            tokio::time::timeout(VERIFY_TIMEOUT, ledger.verify(&client, false))
                .await
                .unwrap_or_else(|_| panic!("restart {round}: verification took over {VERIFY_TIMEOUT:?}"));
            let (reports, heads) = load_then_kill(node, &keys, &amounts, kill_after).await;
            ledger.absorb(reports, heads);
        });
        if (round + 1) % 10 == 0 || round + 1 == kills {
            eprintln!(
                "  kill {}/{kills} after {kill_after:?}: {} acknowledged as committed, {} as pending, {} blocks seen, {:.1} s",
                round + 1,
                ledger.committed.len(),
                ledger.pending_acks,
                ledger.seen.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    // The last restart: everything once more, every acknowledgement by id, then a replay.
    let node = ChildNode::spawn(&dir, bin.as_deref());
    let client = Client::new(&node.base);
    let (blocks, state) = rt.block_on(async {
        let check = ledger.verify(&client, true);
        tokio::time::timeout(VERIFY_TIMEOUT, check).await.expect("final verification in time")
    });
    node.kill();
    let replayed = replay(&blocks, &keys, &dir.join("replay"));
    let head = state["head"]["height"].as_u64().expect("height");
    assert_eq!(replayed.head().height, head);
    assert_eq!(replayed.head().hash().expect("hash").to_string(), state["head_hash"].as_str().expect("head hash"));
    let full = state["full_state_hash"].as_str().expect("full state hash");
    assert_eq!(
        replayed.state().state_hash().expect("state hash").to_string(),
        full,
        "the restarted state equals a replay from genesis"
    );
    eprintln!(
        "crash loop: {kills} kills in {:.1} s (seed {seed}); {} transactions acknowledged as committed, all at their \
         place after every restart ({} of them first acknowledged as pending); {} pending acknowledgements lost with \
         the mempool (PENDING_SURVIVES_RESTART = {PENDING_SURVIVES_RESTART}), {} still pending; {} refused; head {head}, \
         {} block hashes unchanged across restarts; full state hash equals a replay from genesis",
        started.elapsed().as_secs_f64(),
        ledger.committed.len(),
        ledger.pending_committed,
        ledger.pending_dropped,
        ledger.pending.len(),
        ledger.refused.len(),
        ledger.seen.len(),
    );
    // The loop is not vacuous: writers got commits through, and kills hit admitted transactions.
    assert!(ledger.committed.len() >= kills, "only {} committed acknowledgements", ledger.committed.len());
    assert!(ledger.pending_acks > 0, "no transaction was acknowledged as pending");
    if bin.is_none() {
        // The writers own their accounts and are the only submitters: nothing is refused.
        assert!(ledger.refused.is_empty(), "refused: {:?}", &ledger.refused[..ledger.refused.len().min(5)]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

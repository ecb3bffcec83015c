//! The load generator behind `cairn bench node`: a node in a temporary directory (default block
//! limits), pre-signed deposits and transfers submitted over HTTP by concurrent clients, commit
//! times taken from the node's block feed; then concurrent reads of the accounts' positions.
//! [`run_against`] loads a running devnet instead, with its funded staker keys.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, U256};
use cairn_primitives::{AssetId, Params, StrategyId, params::Profile};
use cairn_state::{Genesis, GenesisAsset, Tx, oracle::OracleCommittee};
use serde::Serialize;

use crate::{
    Config, Node, api,
    client::Client,
    envelope::{Domain, SignedTx, address_of, dev_key},
    node::unix_now,
};

/// A progress callback: (phase, done, total).
pub type Progress = Arc<dyn Fn(&'static str, u64, u64) + Send + Sync>;

/// What to run.
#[derive(Clone)]
pub struct LoadSpec {
    /// Transactions to submit.
    pub txs: usize,
    /// Distinct signing accounts.
    pub accounts: usize,
    /// Concurrent HTTP clients.
    pub clients: usize,
    /// Transactions per request (1: `POST /v1/tx`; more: `POST /v1/txs`).
    pub batch: usize,
    /// Position reads after the writes.
    pub reads: usize,
    /// Block interval.
    pub block_interval: Duration,
    /// Called as signing, submitting and reading progress.
    pub progress: Option<Progress>,
    /// Offered load in transactions per second (requests paced to it); `None`: as fast as the
    /// clients go.
    pub rate: Option<f64>,
}

impl std::fmt::Debug for LoadSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadSpec")
            .field("txs", &self.txs)
            .field("clients", &self.clients)
            .field("batch", &self.batch)
            .finish()
    }
}

fn report(p: &Option<Progress>, phase: &'static str, done: u64, total: u64) {
    if let Some(p) = p {
        p(phase, done, total);
    }
}

/// The measurements.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Transactions committed.
    pub committed: usize,
    /// Refused submissions.
    pub refused: usize,
    /// Blocks they took.
    pub blocks: u64,
    /// Seconds from the first submission to the last commit.
    pub seconds: f64,
    /// Committed transactions per second.
    pub committed_per_second: f64,
    /// Submission-to-commit latency, median, milliseconds.
    pub latency_p50_ms: f64,
    /// Submission-to-commit latency, 99th percentile, milliseconds.
    pub latency_p99_ms: f64,
    /// CPU time of the whole process (node and load generator, user and system; with `--node`
    /// the load generator's only) from the first submission to the last commit, per committed
    /// transaction, microseconds (0 off Linux).
    /// Steadier than the rate on a shared machine: the rate's ceiling is cores / this.
    pub cpu_us_per_tx: f64,
    /// Reads done.
    pub reads: usize,
    /// Reads per second.
    pub reads_per_second: f64,
}

fn genesis(accounts: &[alloy_primitives::Address]) -> Genesis {
    genesis_with(accounts, Params::profile(Profile::Devnet))
}

fn genesis_with(accounts: &[alloy_primitives::Address], params: Params) -> Genesis {
    let one = U256::from(1_000_000_000_000_000_000u64);
    let balances = accounts.iter().map(|a| (*a, one)).collect();
    let gov = dev_key("cairn/bench/governor");
    Genesis {
        params,
        governor: address_of(&gov),
        unpauser: address_of(&gov),
        pausers: Vec::new(),
        assets: vec![GenesisAsset { symbol: "TKN".into(), decimals: 18, strategy: true, balances, native: false }],
        oracle: OracleCommittee::default(),
    }
}

/// Signs `n` transactions round-robin over the keys, on every core: each account's first is a
/// deposit, the rest are transfers.
fn presign(domain: &Domain, keys: &[k256::ecdsa::SigningKey], n: usize) -> Vec<SignedTx> {
    presign_from(domain, keys, n, &vec![0; keys.len()], |i, nonce| {
        // Each account's first transaction opens a position (read later).
        if nonce == 0 {
            Tx::Deposit { strategy: StrategyId(0), amount: U256::from(1_000_000u64) }
        } else {
            let to = address_of(&keys[(i + 1) % keys.len()]);
            Tx::Transfer { asset: AssetId(0), to, amount: U256::from(1) }
        }
    })
}

/// Signs `n` transactions round-robin over the keys, on every core: the `i`-th is `make(i, k)`,
/// its account's `k`-th, signed with nonce `first[account] + k`.
fn presign_from(
    domain: &Domain,
    keys: &[k256::ecdsa::SigningKey],
    n: usize,
    first: &[u64],
    make: impl Fn(usize, u64) -> Tx + Sync,
) -> Vec<SignedTx> {
    let expiry = unix_now() + 3_600;
    let accounts = keys.len();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let per = n.div_ceil(threads);
    let make = &make;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * per..((t + 1) * per).min(n))
                        .map(|i| {
                            let a = i % accounts;
                            let k = (i / accounts) as u64;
                            domain.sign(&keys[a], &make(i, k), first[a] + k, expiry)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Commit time by transaction id (FxHash: the ids are already uniform hashes, and this map is
/// filled on the node's cores while it runs).
type Commits = Arc<Mutex<rustc_hash::FxHashMap<B256, Instant>>>;

/// Runs the load against a node of its own in a temporary directory and returns the figures.
pub async fn run(spec: LoadSpec) -> anyhow::Result<LoadReport> {
    let dir = std::env::temp_dir().join(format!("cairn-bench-{}-{}", std::process::id(), unix_now()));
    let keys: Vec<_> = (0..spec.accounts).map(|i| dev_key(&format!("cairn/bench/account/{i}"))).collect();
    let addrs: Vec<_> = keys.iter().map(address_of).collect();
    let mut config = Config::new(dir.clone(), 7_777);
    config.block_interval = spec.block_interval;
    config.mempool_capacity = spec.txs.max(1) + 1_000;
    // The load comes from this process: the per-IP limits a public node has would throttle it.
    config.http.exempt = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    let node = Node::open(config, &genesis(&addrs))?;
    let domain = node.read(|a| a.domain().clone());
    report(&spec.progress, "signing", 0, spec.txs as u64);
    let signed = tokio::task::block_in_place(|| presign(&domain, &keys, spec.txs));
    report(&spec.progress, "signing", spec.txs as u64, spec.txs as u64);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(api::serve(Arc::clone(&node), listener));
    let start_height = node.read(|a| a.head().height);
    let producer = node.spawn_producer();

    // Commit times from the block feed (every transfer emits an event).
    let committed: Commits = Arc::default();
    let mut feed = node.subscribe();
    let sink = Arc::clone(&committed);
    let listener_task = tokio::spawn(async move {
        loop {
            let batch = match feed.recv().await {
                Ok(b) => b,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let now = Instant::now();
            let mut m = sink.lock().unwrap_or_else(|p| p.into_inner());
            for r in &batch.events {
                m.entry(r.tx_hash).or_insert(now);
            }
        }
    });
    let load = drive(std::slice::from_ref(&base), &spec, signed, &committed).await?;
    let blocks = node.read(|a| a.head().height) - start_height;
    let reads = read_positions(&base, &spec, &addrs).await?;
    node.stop();
    listener_task.abort();
    let _ = tokio::task::spawn_blocking(move || producer.join()).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(load.report(blocks, reads))
}

/// Runs the load against a running devnet at `base` (`cairn bench node --node URL`): the signing
/// accounts are the devnet's funded stakers (`cairn/devnet/staker/<i>`), each starting at its
/// pending nonce, sending 1 wei of stETH (asset 1) to the next; commit times come from polling
/// the blocks (every 20 ms: coarser than the feed a node of its own gives; a devnet started without `--exempt-ip 127.0.0.1` rate-limits the load). A chain that
/// is not a devnet, or a staker without stETH, is refused before anything is sent.
pub async fn run_against(base: &str, spec: LoadSpec) -> anyhow::Result<LoadReport> {
    run_against_many(&[base.to_owned()], spec).await
}

/// [`run_against`] over several nodes of one chain (a CometBFT network's validators): client
/// `c` submits to `bases[c % len]`; accounts, nonces and commits are read from the first.
pub async fn run_against_many(bases: &[String], spec: LoadSpec) -> anyhow::Result<LoadReport> {
    let base = bases.first().map(String::as_str).ok_or_else(|| anyhow::anyhow!("no node to load"))?;
    let client = Client::new(base);
    let (status, health) = client.get("/health").await?;
    anyhow::ensure!(status == 200, "{base}/health answered {status}: {health}");
    let chain_id = health["chain_id"].as_u64().ok_or_else(|| anyhow::anyhow!("no chain id in {health}"))?;
    anyhow::ensure!(
        chain_id == crate::devnet::CHAIN_ID,
        "{base} serves chain {chain_id}, not a devnet ({}): `bench node --node` signs with the devnet's \
         staker keys, which only a devnet genesis funds",
        crate::devnet::CHAIN_ID
    );
    anyhow::ensure!(spec.accounts >= 2, "--accounts: at least 2 (each sends to the next)");
    let keys = crate::devnet::DevKeys::new(spec.accounts).stakers;
    let addrs: Vec<_> = keys.iter().map(address_of).collect();
    // Each account's pending nonce and stETH balance.
    let mut first = Vec::with_capacity(addrs.len());
    for (i, a) in addrs.iter().enumerate() {
        let (status, acct) = client.get(&format!("/v1/accounts/{a}")).await?;
        anyhow::ensure!(status == 200, "/v1/accounts/{a} answered {status}: {acct}");
        let steth = acct["balances"]
            .as_array()
            .and_then(|b| b.iter().find(|x| x["asset"] == 1))
            .and_then(|x| x["amount"].as_str())
            .and_then(|x| x.parse::<U256>().ok())
            .unwrap_or_default();
        anyhow::ensure!(
            !steth.is_zero(),
            "--accounts {}: devnet staker {i} ({a}) holds no stETH; the devnet funds as many stakers as its \
             --stakers (1,000 by default): use --accounts {i} or fewer",
            spec.accounts
        );
        first.push(acct["pending_nonce"].as_u64().ok_or_else(|| anyhow::anyhow!("no nonce in {acct}"))?);
    }
    let domain = Domain::new(chain_id);
    report(&spec.progress, "signing", 0, spec.txs as u64);
    let n = keys.len();
    let signed = tokio::task::block_in_place(|| {
        presign_from(&domain, &keys, spec.txs, &first, |i, _| Tx::Transfer {
            asset: AssetId(1),
            to: addrs[(i + 1) % n],
            amount: U256::from(1),
        })
    });
    report(&spec.progress, "signing", spec.txs as u64, spec.txs as u64);

    // Commit times from the node's event stream (each transfer's `transfer` event), read as
    // plain lines: fetching every block's receipts would cost the node and this process more
    // than the load itself.
    let head = |v: &serde_json::Value| v["header"]["height"].as_u64();
    let (_, latest) = client.get("/v1/blocks/latest").await?;
    let start_height = head(&latest).ok_or_else(|| anyhow::anyhow!("no height in {latest}"))?;
    let committed: Commits = Arc::default();
    let watcher = tokio::spawn(watch_transfers(base.to_owned(), start_height + 1, Arc::clone(&committed)));
    let load = drive(bases, &spec, signed, &committed).await;
    watcher.abort();
    let load = load?;
    let (_, latest) = client.get("/v1/blocks/latest").await?;
    let blocks = head(&latest).unwrap_or(start_height) - start_height;
    let reads = read_positions(base, &spec, &addrs).await?;
    Ok(load.report(blocks, reads))
}

/// Records the commit time of every `transfer` event's transaction from block `from` on, read
/// from `GET /v1/events` over HTTP/1.0 (no chunked framing: the body is the stream's lines).
async fn watch_transfers(base: String, from: u64, committed: Commits) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
        eprintln!("loadgen: cannot open the event stream at {addr}");
        return;
    };
    let request = format!("GET /v1/events?event=transfer&from_height={from} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut lines = tokio::io::BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Some(data) = line.strip_prefix("data:") else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) else { continue };
        if let Some(hash) = v["tx_hash"].as_str().and_then(|h| h.parse::<B256>().ok()) {
            let now = Instant::now();
            committed.lock().unwrap_or_else(|p| p.into_inner()).entry(hash).or_insert(now);
        }
    }
}

/// What the submissions gave: latencies (sorted, ms), refusals and the span.
struct Load {
    latencies: Vec<f64>,
    refused: usize,
    seconds: f64,
    /// Process CPU seconds over the same span.
    cpu_seconds: f64,
}

/// Reads done and their seconds.
struct Reads {
    done: usize,
    seconds: f64,
}

impl Load {
    fn report(self, blocks: u64, reads: Reads) -> LoadReport {
        let lat = self.latencies;
        LoadReport {
            committed: lat.len(),
            refused: self.refused,
            blocks,
            seconds: self.seconds,
            committed_per_second: if self.seconds > 0.0 { lat.len() as f64 / self.seconds } else { 0.0 },
            latency_p50_ms: percentile(&lat, 0.5),
            latency_p99_ms: percentile(&lat, 0.99),
            cpu_us_per_tx: if lat.is_empty() { 0.0 } else { self.cpu_seconds * 1e6 / lat.len() as f64 },
            reads: reads.done,
            reads_per_second: if reads.seconds > 0.0 { reads.done as f64 / reads.seconds } else { 0.0 },
        }
    }
}

/// Submits `signed` over HTTP from `spec.clients` clients and waits (up to 2 minutes) until
/// `committed` has every accepted transaction.
async fn drive(bases: &[String], spec: &LoadSpec, signed: Vec<SignedTx>, committed: &Commits) -> anyhow::Result<Load> {
    // Submissions: each node has a queue of its accounts' transactions (an account talks to one
    // node, as a wallet does), in signing order, so nonces arrive in order per account; each
    // client takes chunks from its node's queue.
    let accounts = spec.accounts.max(1);
    let mut per_node: Vec<Vec<SignedTx>> = vec![Vec::new(); bases.len()];
    for (i, tx) in signed.into_iter().enumerate() {
        per_node[(i % accounts) % bases.len()].push(tx);
    }
    let queues: Vec<_> = per_node
        .iter()
        .map(|txs| {
            // Encoded before the clock starts: the node's cost is measured, not the client's JSON.
            let chunks: Vec<(usize, &'static str, Vec<u8>)> = txs
                .chunks(spec.batch.max(1))
                .map(|c| match c {
                    [one] => (1, "/v1/tx", serde_json::to_vec(one).unwrap_or_default()),
                    many => (many.len(), "/v1/txs", serde_json::to_vec(many).unwrap_or_default()),
                })
                .collect();
            Arc::new(Mutex::new(chunks.into_iter()))
        })
        .collect();
    let submitted: Arc<Mutex<Vec<(B256, Instant)>>> = Arc::default();
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let first = Instant::now();
    let cpu_first = process_cpu_seconds();
    let mut tasks = Vec::new();
    let total = spec.txs as u64;
    for c in 0..spec.clients.max(1) {
        let base = &bases[c % bases.len()];
        let (queue, submitted, refused, client) =
            (Arc::clone(&queues[c % bases.len()]), Arc::clone(&submitted), Arc::clone(&refused), Client::new(base));
        let progress = spec.progress.clone();
        let (sent, rate) = (Arc::clone(&sent), spec.rate.filter(|r| *r > 0.0));
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((count, path, body)) = queue.lock().unwrap_or_else(|p| p.into_inner()).next() else { break };
                // Paced: the request that starts with the k-th transaction leaves at k / rate.
                let k = sent.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
                if let Some(rate) = rate {
                    tokio::time::sleep_until((first + Duration::from_secs_f64(k as f64 / rate)).into()).await;
                }
                let at = Instant::now();
                let answer = client.request_raw(hyper::Method::POST, path, Some(body)).await;
                let mut ok = Vec::new();
                match answer.map(|(status, bytes)| (status, accepted_hashes(&bytes, count > 1))) {
                    Ok((status, Some(hashes))) if status < 300 => {
                        for h in hashes {
                            match h {
                                Some(h) => ok.push((h, at)),
                                None => {
                                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                        }
                    }
                    _ => {
                        refused.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                let done = {
                    let mut s = submitted.lock().unwrap_or_else(|p| p.into_inner());
                    s.extend(ok);
                    s.len() as u64
                };
                report(&progress, "submitting", done, total);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let accepted: Vec<(B256, Instant)> = std::mem::take(&mut *submitted.lock().unwrap_or_else(|p| p.into_inner()));
    let deadline = Instant::now() + Duration::from_secs(120);
    // The first accepted transaction not seen committed yet: each check resumes there, so the
    // wait costs one lookup per transaction in all, not one per transaction per check (which
    // took a core's tenth from the node while it drained its backlog).
    let mut seen = 0;
    loop {
        {
            let m = committed.lock().unwrap_or_else(|p| p.into_inner());
            while seen < accepted.len() && m.contains_key(&accepted[seen].0) {
                seen += 1;
            }
        }
        if seen == accepted.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu_seconds = process_cpu_seconds() - cpu_first;
    let m = committed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut latencies: Vec<f64> =
        accepted.iter().filter_map(|(h, at)| m.get(h).map(|c| c.duration_since(*at).as_secs_f64() * 1e3)).collect();
    latencies.sort_by(f64::total_cmp);
    let last = accepted.iter().filter_map(|(h, _)| m.get(h)).max().copied().unwrap_or(first);
    let seconds = last.duration_since(first).as_secs_f64();
    Ok(Load { latencies, refused: refused.load(std::sync::atomic::Ordering::Relaxed), seconds, cpu_seconds })
}

/// The `hash` of each item of a submission's answer (an array for a batch, `many`; else one
/// object), `None` for an item refused; `None` for an answer that is not that. Typed, so that
/// reading an answer costs the load generator (which shares the node's cores) no JSON tree.
fn accepted_hashes(body: &[u8], many: bool) -> Option<Vec<Option<B256>>> {
    #[derive(serde::Deserialize)]
    struct Item {
        hash: Option<B256>,
    }
    let items =
        if many { serde_json::from_slice::<Vec<Item>>(body).ok()? } else { vec![serde_json::from_slice(body).ok()?] };
    Some(items.into_iter().map(|i: Item| i.hash).collect())
}

/// The CPU time this process has used, all threads, user and system, in seconds (0 off Linux).
fn process_cpu_seconds() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    }
    #[cfg(not(target_os = "linux"))]
    {
        0.0
    }
}

/// `spec.reads` reads of the accounts' positions from `spec.clients` clients.
async fn read_positions(base: &str, spec: &LoadSpec, addrs: &[alloy_primitives::Address]) -> anyhow::Result<Reads> {
    let read_start = Instant::now();
    let mut tasks = Vec::new();
    let per = spec.reads / spec.clients.max(1);
    for c in 0..spec.clients.max(1) {
        let client = Client::new(base);
        let addrs = addrs.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            for i in 0..per {
                if let Ok((200, _)) = client.get(&format!("/v1/stakers/{}", addrs[(c * per + i) % addrs.len()])).await {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await?;
    }
    let seconds = read_start.elapsed().as_secs_f64();
    report(&spec.progress, "reading", done as u64, done as u64);
    Ok(Reads { done, seconds })
}

/// What `cairn bench restart` builds and measures.
#[derive(Debug, Clone)]
pub struct RestartSpec {
    /// Transactions to store.
    pub txs: usize,
    /// Accounts sending them.
    pub accounts: usize,
    /// Transactions per block.
    pub per_block: usize,
}

/// The chain `build_chain` stored.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BuiltChain {
    /// Transactions stored.
    pub stored_txs: u64,
    /// Blocks stored.
    pub blocks: u64,
    /// Rewards interval boundaries recorded in the history.
    pub history_days: usize,
    /// Store file size, MB.
    pub store_mb: f64,
    /// Seconds to build the chain (sign, admit, execute, commit).
    pub build_seconds: f64,
}

fn restart_genesis(spec: &RestartSpec) -> Genesis {
    let keys: Vec<_> = (0..spec.accounts.max(1)).map(|i| dev_key(&format!("cairn/bench/account/{i}"))).collect();
    let addrs: Vec<_> = keys.iter().map(address_of).collect();
    let mut params = Params::profile(Profile::Devnet);
    params.rewards_interval_seconds = 600;
    genesis_with(&addrs, params)
}

fn restart_config(dir: &std::path::Path, spec: &RestartSpec) -> Config {
    let mut c = Config::new(dir.to_path_buf(), 7_777);
    c.record_rewards = true;
    c.max_block_txs = spec.per_block.max(1);
    c.mempool_capacity = spec.per_block.max(1).saturating_mul(2);
    // `cairn bench index` reads it over loopback faster than a public client may.
    c.http.exempt = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    c
}

/// Builds a chain of `spec.txs` transactions in `dir` (rewards history on, a 10-minute rewards
/// interval, blocks 10 s apart) and leaves the node open: the caller drops it, or is killed.
pub fn build_chain(
    dir: &std::path::Path,
    spec: &RestartSpec,
    progress: Option<Progress>,
) -> anyhow::Result<(Arc<Node>, BuiltChain)> {
    let started = Instant::now();
    let keys: Vec<_> = (0..spec.accounts.max(1)).map(|i| dev_key(&format!("cairn/bench/account/{i}"))).collect();
    let node = Node::open(restart_config(dir, spec), &restart_genesis(spec))?;
    let domain = node.read(|a| a.domain().clone());
    let total = spec.txs as u64;
    report(&progress, "signing", 0, total);
    let signed = presign(&domain, &keys, spec.txs);
    let mut time = unix_now();
    let mut done = 0u64;
    for chunk in signed.chunks(spec.per_block.max(1)) {
        let refused = node.submit_batch(chunk.to_vec()).into_iter().filter(Result::is_err).count();
        anyhow::ensure!(refused == 0, "{refused} transactions refused while building the chain");
        node.produce_block(time)?;
        time += 10;
        done += chunk.len() as u64;
        report(&progress, "building", done, total);
    }
    let build_seconds = started.elapsed().as_secs_f64();
    let (stored_txs, blocks, history_days) = node.read(|a| -> anyhow::Result<_> {
        let blocks = a.head().height;
        let mut txs = 0u64;
        for h in 1..=blocks {
            txs += u64::from(a.store().block(h)?.map_or(0, |b| b.header.tx_count));
        }
        Ok((txs, blocks, a.store().history_days()?.len()))
    })?;
    let store_mb = node.memory().store_file_bytes as f64 / 1e6;
    Ok((node, BuiltChain { stored_txs, blocks, history_days, store_mb, build_seconds }))
}

/// Opens a chain `build_chain` stored in `dir` with the same `spec`.
pub fn open_chain(dir: &std::path::Path, spec: &RestartSpec) -> anyhow::Result<Arc<Node>> {
    Ok(Node::open(restart_config(dir, spec), &restart_genesis(spec))?)
}

/// Seconds to open the node over `dir` (until it could serve), checking it is at `blocks`.
pub fn time_open(dir: &std::path::Path, spec: &RestartSpec, blocks: u64) -> anyhow::Result<f64> {
    // The genesis (10,000 key derivations) is the operator's input, not the node's work.
    let genesis = restart_genesis(spec);
    let t = Instant::now();
    let node = Node::open(restart_config(dir, spec), &genesis)?;
    let seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(node.read(|a| a.head().height) == blocks, "the reopened node is at another height");
    Ok(seconds)
}

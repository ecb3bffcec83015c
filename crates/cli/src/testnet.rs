//! `cairn node --abci` (one validator's application under CometBFT) and `cairn testnet` (a
//! local network of validators: CometBFT and Cairn processes on loopback ports, started,
//! stopped and killed by their ids).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use cairn_node::{
    Config, Node, abci, api,
    devnet::{self, DevKeys},
    node::Mining,
};

/// Who signs in the background on a validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workers {
    /// No one.
    None,
    /// Seed the devnet's world (operators, services, stakers, allocations, the vault), then stop.
    Seed,
    /// Seed it and keep the devnet's background activity going (oracle, rewards, keeper, users).
    All,
}

/// `cairn node --abci`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidatorArgs {
    /// Serve the application to CometBFT over ABCI on this address (its `proxy_app`).
    #[arg(long, value_name = "ADDR")]
    pub abci: SocketAddr,
    /// CometBFT's RPC, where submitted transactions are forwarded (`broadcast_tx_sync`).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:26657")]
    pub comet_rpc: String,
    /// API address.
    #[arg(long, default_value = "127.0.0.1:8545")]
    pub listen: SocketAddr,
    /// Store directory (`cairn.redb`).
    #[arg(long, default_value = ".cairn-node")]
    pub data_dir: PathBuf,
    /// Stakers in the devnet genesis (every validator of a network must use the same number).
    #[arg(long, default_value_t = 1000)]
    pub stakers: usize,
    /// Background signers on this validator (give one validator `seed` or `all`).
    #[arg(long, value_enum, default_value = "none")]
    pub workers: Workers,
    /// Test switch: from this height on, report a wrong app hash (a diverging validator).
    #[arg(long, hide = true)]
    pub fault_app_hash_from: Option<u64>,
    /// Test switch: from this height on, propose blocks with a junk transaction (a byzantine
    /// proposer).
    #[arg(long, hide = true, conflicts_with = "fault_app_hash_from")]
    pub fault_junk_proposals_from: Option<u64>,
    /// Node settings: store, memory, limits.
    #[command(flatten)]
    pub node: crate::devnet::NodeArgs,
}

/// Runs one validator's application: the store, the API, the ABCI server and the forwarder to
/// CometBFT, until the process ends.
pub fn run_validator(args: &ValidatorArgs) -> Result<()> {
    let keys = Arc::new(DevKeys::new(args.stakers));
    let genesis = devnet::genesis(&keys);
    let mut config = Config::new(args.data_dir.clone(), devnet::CHAIN_ID);
    config.mining = Mining::Consensus;
    config.record_rewards = true;
    config.cache_bytes = args.node.cache_mb.saturating_mul(1 << 20);
    config.keep_blocks = args.node.prune_blocks_older_than;
    config.http.exempt = args.node.exempt_ip.clone();
    config.max_block_txs = 10_000;
    let listener = std::net::TcpListener::bind(args.listen)
        .with_context(|| format!("the API address {} is busy or not available", args.listen))?;
    listener.set_nonblocking(true)?;
    let node = Node::open(config, &genesis).with_context(|| format!("opening {}", args.data_dir.display()))?;
    let head = node.read(|a| a.head().height);
    // The ABCI server runs on its own threads: a block's execution never waits on API traffic.
    let consensus = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let fault = match (args.fault_app_hash_from, args.fault_junk_proposals_from) {
        (Some(h), _) => Some(abci::Fault::AppHashFrom(h)),
        (None, Some(h)) => Some(abci::Fault::JunkProposalsFrom(h)),
        (None, None) => None,
    };
    let app = abci::Abci::new(Arc::clone(&node), fault);
    let abci_addr = args.abci;
    let abci_listener = std::net::TcpListener::bind(abci_addr)
        .with_context(|| format!("the ABCI address {abci_addr} is busy or not available"))?;
    drop(abci_listener);
    std::thread::spawn(move || {
        if let Err(e) = consensus.block_on(abci::serve(app, abci_addr)) {
            eprintln!("cairn node: the ABCI server stopped: {e}");
            std::process::exit(2);
        }
    });
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        abci::forward_to(&node, &args.comet_rpc);
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        crate::out::print(&format!(
            "cairn node: chain {} at height {head} under CometBFT (ABCI {abci_addr}, RPC {}), data in {}",
            devnet::CHAIN_ID,
            args.comet_rpc,
            args.data_dir.display()
        ));
        crate::out::print(&format!("API:      http://{addr}/v1/"));
        match args.workers {
            Workers::None => {}
            Workers::Seed => {
                tokio::spawn(devnet::seed_world_under_consensus(Arc::clone(&node), Arc::clone(&keys)));
            }
            Workers::All => {
                tokio::spawn(devnet::run_workers(Arc::clone(&node), Arc::clone(&keys)));
            }
        }
        api::serve(Arc::clone(&node), listener).await.context("API server")
    })
}

/// `cairn testnet`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct TestnetArgs {
    /// Validators.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Directory of the validators' configs and stores; a restarted testnet resumes from it.
    #[arg(long, default_value = ".cairn-testnet")]
    pub dir: PathBuf,
    /// The first validator's API port; validator i serves on this + i.
    #[arg(long, default_value_t = 8545)]
    pub api_port: u16,
    /// The first CometBFT port; validator i uses this + 3i (P2P), + 3i + 1 (RPC), + 3i + 2 (ABCI).
    #[arg(long, default_value_t = 26600)]
    pub base_port: u16,
    /// Stakers in the devnet genesis.
    #[arg(long, default_value_t = 1000)]
    pub stakers: usize,
    /// CometBFT's pause after a commit before the next height (its `timeout_commit`).
    #[arg(long, default_value_t = 100)]
    pub block_ms: u64,
    /// Seed the world on validator 0 and then run no background activity.
    #[arg(long)]
    pub no_workers: bool,
    /// Delete the directory's testnet first.
    #[arg(long)]
    pub reset: bool,
}

/// The ports of one validator.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// Cairn's API.
    pub api: u16,
    /// CometBFT's P2P.
    pub p2p: u16,
    /// CometBFT's RPC.
    pub rpc: u16,
    /// The ABCI connection between them.
    pub abci: u16,
}

/// Where a testnet lives and how it is set up.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Its directory.
    pub dir: PathBuf,
    /// Validators.
    pub validators: usize,
    /// The first API port.
    pub api_port: u16,
    /// The first CometBFT port.
    pub base_port: u16,
    /// Stakers in the genesis.
    pub stakers: usize,
    /// CometBFT's `timeout_commit`.
    pub block_ms: u64,
}

impl Layout {
    /// Validator `i`'s ports.
    pub fn ports(&self, i: usize) -> Ports {
        let i = u16::try_from(i).unwrap_or(u16::MAX);
        let base = self.base_port.saturating_add(i.saturating_mul(3));
        Ports { api: self.api_port.saturating_add(i), p2p: base, rpc: base + 1, abci: base + 2 }
    }

    /// Validator `i`'s directory (CometBFT's home; Cairn's store in `cairn/`).
    pub fn home(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node{i}"))
    }

    /// Validator `i`'s API base URL.
    pub fn api(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports(i).api)
    }

    /// Validator `i`'s CometBFT RPC base URL.
    pub fn rpc(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports(i).rpc)
    }
}

/// The `cometbft` binary: `$CAIRN_COMETBFT`, else `target/tools/bin/cometbft` beside this
/// executable's profile directory (where `scripts/install-cometbft.sh` puts it), else `PATH`.
pub fn cometbft_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("CAIRN_COMETBFT") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    for dir in exe.ancestors().skip(1).take(4) {
        let candidate = dir.join("tools/bin/cometbft");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("cometbft"))
        .find(|c| c.is_file());
    found.ok_or_else(|| {
        anyhow!("cometbft is not installed: run `bash scripts/install-cometbft.sh` (or set CAIRN_COMETBFT)")
    })
}

fn run_quiet(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Writes the validators' CometBFT configs (keys and a shared genesis from `cometbft testnet`,
/// then this layout's ports, peers and timeouts). Leaves an existing testnet as it is.
pub fn init(layout: &Layout, cometbft: &Path) -> Result<()> {
    if layout.home(0).join("config/genesis.json").is_file() {
        return Ok(());
    }
    std::fs::create_dir_all(&layout.dir).with_context(|| format!("creating {}", layout.dir.display()))?;
    run_quiet(
        Command::new(cometbft)
            .arg("testnet")
            .arg("--v")
            .arg(layout.validators.to_string())
            .arg("--o")
            .arg(&layout.dir)
            .arg("--populate-persistent-peers=false")
            .arg("--starting-ip-address")
            .arg("127.0.0.1"),
    )?;
    let mut peers = Vec::new();
    for i in 0..layout.validators {
        let id = run_quiet(Command::new(cometbft).arg("show-node-id").arg("--home").arg(layout.home(i)))?;
        peers.push(format!("{id}@127.0.0.1:{}", layout.ports(i).p2p));
    }
    let genesis_file = layout.home(0).join("config/genesis.json");
    let mut genesis: serde_json::Value = serde_json::from_slice(&std::fs::read(&genesis_file)?)?;
    genesis["chain_id"] = format!("cairn-{}", devnet::CHAIN_ID).into();
    let genesis = serde_json::to_vec_pretty(&genesis)?;
    for i in 0..layout.validators {
        std::fs::write(layout.home(i).join("config/genesis.json"), &genesis)?;
        let others: Vec<&str> = peers.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| p.as_str()).collect();
        write_config(layout, i, &others.join(","))?;
    }
    Ok(())
}

fn write_config(layout: &Layout, i: usize, peers: &str) -> Result<()> {
    use toml::Value;
    let file = layout.home(i).join("config/config.toml");
    let mut config: toml::Table = std::fs::read_to_string(&file)?.parse()?;
    let p = layout.ports(i);
    let set = |config: &mut toml::Table, section: Option<&str>, key: &str, value: Value| -> Result<()> {
        let table = match section {
            None => config,
            Some(s) => {
                config.get_mut(s).and_then(Value::as_table_mut).ok_or_else(|| anyhow!("no [{s}] in {file:?}"))?
            }
        };
        table.insert(key.into(), value);
        Ok(())
    };
    set(&mut config, None, "moniker", Value::from(format!("cairn-{i}")))?;
    set(&mut config, None, "proxy_app", Value::from(format!("tcp://127.0.0.1:{}", p.abci)))?;
    set(&mut config, None, "log_level", Value::from("info"))?;
    set(&mut config, Some("rpc"), "laddr", Value::from(format!("tcp://127.0.0.1:{}", p.rpc)))?;
    set(&mut config, Some("rpc"), "max_body_bytes", Value::from(8_000_000))?;
    // The node forwards submissions in JSON-RPC batches of up to 256.
    set(&mut config, Some("rpc"), "max_request_batch_size", Value::from(512))?;
    set(&mut config, Some("p2p"), "laddr", Value::from(format!("tcp://127.0.0.1:{}", p.p2p)))?;
    set(&mut config, Some("p2p"), "persistent_peers", Value::from(peers))?;
    set(&mut config, Some("p2p"), "addr_book_strict", Value::from(false))?;
    set(&mut config, Some("p2p"), "allow_duplicate_ip", Value::from(true))?;
    set(&mut config, Some("p2p"), "pex", Value::from(false))?;
    // Loopback peers: consensus messages are flushed and gossiped every 10 ms, not CometBFT's
    // WAN default of 100 ms, which would add a tenth of a second to every step of a height.
    set(&mut config, Some("p2p"), "flush_throttle_timeout", Value::from("10ms"))?;
    set(&mut config, Some("consensus"), "peer_gossip_sleep_duration", Value::from("10ms"))?;
    set(&mut config, Some("p2p"), "send_rate", Value::from(52_428_800))?;
    set(&mut config, Some("p2p"), "recv_rate", Value::from(52_428_800))?;
    set(&mut config, Some("mempool"), "size", Value::from(100_000))?;
    set(&mut config, Some("mempool"), "cache_size", Value::from(200_000))?;
    set(&mut config, Some("consensus"), "timeout_commit", Value::from(format!("{}ms", layout.block_ms)))?;
    set(&mut config, Some("consensus"), "timeout_propose", Value::from("1s"))?;
    // Cairn keeps its own receipts and history; CometBFT's tx index would duplicate them.
    set(&mut config, Some("tx_index"), "indexer", Value::from("null"))?;
    std::fs::write(&file, toml::to_string(&config)?)?;
    Ok(())
}

/// A running testnet: each validator's Cairn and CometBFT processes.
#[derive(Debug)]
pub struct Testnet {
    /// Its layout.
    pub layout: Layout,
    cairn: PathBuf,
    cometbft: PathBuf,
    procs: Vec<Option<(Child, Child)>>,
    workers: Workers,
}

impl Testnet {
    /// Writes the configs if needed and starts every validator; validator 0 runs `workers`.
    /// `cairn` is the `cairn` binary.
    pub fn start(layout: Layout, cairn: PathBuf, cometbft: PathBuf, workers: Workers) -> Result<Self> {
        init(&layout, &cometbft)?;
        let procs = (0..layout.validators).map(|_| None).collect();
        let mut net = Self { layout, cairn, cometbft, procs, workers };
        for i in 0..net.layout.validators {
            net.spawn(i, None)?;
        }
        Ok(net)
    }

    /// Starts validator `i` (its application, then CometBFT); `fault` starts a misbehaving
    /// application (the test switches). Logs go to `cairn.log` and `cometbft.log` in its home.
    pub fn spawn(&mut self, i: usize, fault: Option<abci::Fault>) -> Result<()> {
        let home = self.layout.home(i);
        let p = self.layout.ports(i);
        let log = |name: &str| -> Result<Stdio> {
            let f = std::fs::OpenOptions::new().create(true).append(true).open(home.join(name))?;
            Ok(Stdio::from(f))
        };
        let workers = match (i, self.workers) {
            (0, Workers::Seed) => "seed",
            (0, Workers::All) => "all",
            _ => "none",
        };
        let mut cmd = Command::new(&self.cairn);
        cmd.arg("node")
            .args(["--abci", &format!("127.0.0.1:{}", p.abci)])
            .args(["--comet-rpc", &self.layout.rpc(i)])
            .args(["--listen", &format!("127.0.0.1:{}", p.api)])
            .arg("--data-dir")
            .arg(home.join("cairn"))
            .args(["--stakers", &self.layout.stakers.to_string()])
            .args(["--workers", workers])
            .args(["--exempt-ip", "127.0.0.1"]);
        match fault {
            Some(abci::Fault::AppHashFrom(h)) => cmd.args(["--fault-app-hash-from", &h.to_string()]),
            Some(abci::Fault::JunkProposalsFrom(h)) => cmd.args(["--fault-junk-proposals-from", &h.to_string()]),
            None => &mut cmd,
        };
        let cairn = cmd.stdin(Stdio::null()).stdout(log("cairn.log")?).stderr(log("cairn.log")?).spawn()?;
        wait_for_port(p.abci, Duration::from_secs(30)).with_context(|| {
            format!("validator {i}'s application did not listen; see {}", home.join("cairn.log").display())
        })?;
        let comet = Command::new(&self.cometbft)
            .arg("start")
            .arg("--home")
            .arg(&home)
            .stdin(Stdio::null())
            .stdout(log("cometbft.log")?)
            .stderr(log("cometbft.log")?)
            .spawn()?;
        self.procs[i] = Some((cairn, comet));
        Ok(())
    }

    /// SIGKILLs validator `i`'s two processes and reaps them.
    pub fn kill(&mut self, i: usize) {
        if let Some((mut a, mut b)) = self.procs.get_mut(i).and_then(Option::take) {
            let _ = b.kill();
            let _ = a.kill();
            let _ = b.wait();
            let _ = a.wait();
        }
    }

    /// Which validators' processes have exited by themselves (index, which, status).
    pub fn exited(&mut self) -> Vec<(usize, &'static str, String)> {
        let mut out = Vec::new();
        for (i, p) in self.procs.iter_mut().enumerate() {
            if let Some((a, b)) = p {
                if let Ok(Some(s)) = a.try_wait() {
                    out.push((i, "cairn", s.to_string()));
                }
                if let Ok(Some(s)) = b.try_wait() {
                    out.push((i, "cometbft", s.to_string()));
                }
            }
        }
        out
    }

    /// Stops every validator.
    pub fn stop(&mut self) {
        for i in 0..self.procs.len() {
            self.kill(i);
        }
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until something listens on 127.0.0.1:`port`, at most `limit`.
pub fn wait_for_port(port: u16, limit: Duration) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on 127.0.0.1:{port} after {limit:?}")
}

/// `cairn testnet`: starts the network, prints its addresses, stops everything on Ctrl-C (or
/// SIGTERM), or when a validator's process exits by itself.
pub fn run(args: &TestnetArgs) -> Result<()> {
    if args.validators == 0 || args.validators > 32 {
        bail!("--validators must be 1 to 32, got {}", args.validators);
    }
    let cometbft = cometbft_binary()?;
    if args.reset && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir).with_context(|| format!("removing {}", args.dir.display()))?;
    }
    let layout = Layout {
        dir: args.dir.clone(),
        validators: args.validators,
        api_port: args.api_port,
        base_port: args.base_port,
        stakers: args.stakers,
        block_ms: args.block_ms,
    };
    let workers = if args.no_workers { Workers::Seed } else { Workers::All };
    let mut net = Testnet::start(layout, std::env::current_exe()?, cometbft, workers)?;
    crate::out::print(&format!(
        "cairn testnet: {} validators under CometBFT, chain {}, in {}",
        args.validators,
        devnet::CHAIN_ID,
        args.dir.display()
    ));
    for i in 0..args.validators {
        let l = &net.layout;
        crate::out::print(&format!(
            "  validator {i}: API {}/v1/   CometBFT RPC {}   logs {}/{{cairn,cometbft}}.log",
            l.api(i),
            l.rpc(i),
            l.home(i).display()
        ));
    }
    crate::out::print(if args.no_workers {
        "Validator 0 seeds the devnet's world, then only your transactions change the state. Ctrl-C stops everything."
    } else {
        "Validator 0 seeds the devnet's world and runs its background activity. Ctrl-C stops everything."
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let gone = rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async move {
            match term.as_mut() {
                Some(t) => t.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(terminated);
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return None,
                _ = &mut terminated => return None,
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    if let Some(g) = net.exited().into_iter().next() {
                        return Some(g);
                    }
                }
            }
        }
    });
    net.stop();
    match gone {
        None => Ok(()),
        Some((i, which, status)) => {
            Err(anyhow!("validator {i}'s {which} exited ({status}); see {}", net.layout.home(i).display()))
        }
    }
}

/// `n` consecutive free loopback ports from a pseudo-random start between 20,000 and 32,000
/// (below Linux's ephemeral range, so no outgoing connection takes one before it is bound;
/// probed, so another listener could still take one meanwhile).
pub fn free_ports(n: u16) -> Result<u16> {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    for attempt in 0..200u32 {
        let start = seed.wrapping_add(attempt.wrapping_mul(7_919)) % 12_000;
        let base = 20_000 + u16::try_from(start).unwrap_or(0);
        if (0..n).all(|k| std::net::TcpListener::bind(("127.0.0.1", base + k)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no {n} free consecutive loopback ports")
}

/// A counter or gauge from a node's `/metrics` (Prometheus text), `None` if it cannot be read.
pub fn metric(api: &str, name: &str) -> Option<f64> {
    use std::io::{Read, Write};
    let addr = api.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// `cairn bench testnet`'s settings.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Validators.
    pub validators: usize,
    /// The load: transactions, accounts, clients, batch size.
    pub load: cairn_node::loadgen::LoadSpec,
    /// CometBFT's `timeout_commit`, milliseconds.
    pub block_ms: u64,
}

/// Starts a testnet in a temporary directory, loads it with signed stETH transfers submitted
/// across every validator's API, and reports committed transactions per second, submission to
/// commit latency, block times, and the application's share of each block.
pub fn bench(spec: BenchSpec) -> Result<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("cairn-bench-testnet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let n = u16::try_from(spec.validators).map_err(|_| anyhow!("too many validators"))?;
    let base = free_ports(4 * n)?;
    let layout = Layout {
        dir: dir.clone(),
        validators: spec.validators,
        api_port: base + 3 * n,
        base_port: base,
        stakers: spec.load.accounts,
        block_ms: spec.block_ms,
    };
    let apis: Vec<String> = (0..spec.validators).map(|i| layout.api(i)).collect();
    let mut net = Testnet::start(layout, std::env::current_exe()?, cometbft_binary()?, Workers::None)?;
    let started = Instant::now();
    let height = |api: &str| metric(api, "cairn_height").unwrap_or(0.0);
    while apis.iter().any(|a| height(a) < 2.0) {
        if started.elapsed() > Duration::from_secs(90) {
            bail!("the testnet in {} did not reach height 2 in 90 s", dir.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let before: Vec<(f64, f64)> = apis
        .iter()
        .map(|a| {
            (
                metric(a, "cairn_blocks_total").unwrap_or(0.0),
                metric(a, "cairn_block_seconds_micros_total").unwrap_or(0.0),
            )
        })
        .collect();
    let rt = tokio::runtime::Runtime::new()?;
    let report = rt.block_on(cairn_node::loadgen::run_against_many(&apis, spec.load.clone()));
    let app_ms: Vec<f64> = apis
        .iter()
        .zip(&before)
        .map(|(a, (b0, m0))| {
            let blocks = metric(a, "cairn_blocks_total").unwrap_or(0.0) - b0;
            let micros = metric(a, "cairn_block_seconds_micros_total").unwrap_or(0.0) - m0;
            if blocks > 0.0 { micros / blocks / 1e3 } else { 0.0 }
        })
        .collect();
    net.stop();
    let report = report?;
    let _ = std::fs::remove_dir_all(&dir);
    let block_ms = if report.blocks > 0 { report.seconds * 1e3 / report.blocks as f64 } else { 0.0 };
    Ok(serde_json::json!({
        "validators": spec.validators,
        "timeout_commit_ms": spec.block_ms,
        "load": report,
        "mean_block_interval_ms": block_ms,
        "app_finalize_and_commit_ms_per_block": app_ms,
    }))
}

//! `cairn devnet`: a development chain with a seeded world, its flags and its start-up.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context, Result, anyhow};
use cairn_node::{
    Config, Node, api,
    dev::DevConfig,
    devnet::{self, DevKeys},
    node::Mining,
};

/// `cairn devnet`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DevnetArgs {
    /// Store directory; a restarted devnet resumes from it.
    #[arg(long, default_value = ".cairn-devnet")]
    pub data_dir: PathBuf,
    /// API address.
    #[arg(long, default_value = "127.0.0.1:8545")]
    pub listen: SocketAddr,
    /// Number of stakers in the seeded world.
    #[arg(long, default_value_t = 1000)]
    pub stakers: usize,
    /// Milliseconds between blocks while transactions wait (the default mining: a block soon
    /// after a transaction arrives, an empty one every 5 s).
    #[arg(long, default_value_t = 200)]
    pub block_ms: u64,
    /// Interval mining: one block every SECONDS (decimals allowed, e.g. 0.5 or 12), transactions
    /// or not (anvil's `--block-time`).
    #[arg(long, value_name = "SECONDS", conflicts_with = "no_mining")]
    pub block_time: Option<f64>,
    /// No automatic blocks: only `cairn dev mine` (`POST /v1/dev/mine`) makes them (anvil's
    /// `--no-mining`).
    #[arg(long)]
    pub no_mining: bool,
    /// Quiet chain: seed the world (operators, services, stakers, allocations, the vault) and
    /// then run no background workers, so only your transactions change the state.
    #[arg(long)]
    pub no_workers: bool,
    /// Keep the chain in memory only: nothing is written to disk, nothing survives the process.
    #[arg(long, conflicts_with_all = ["reset", "from_snapshot"])]
    pub in_memory: bool,
    /// Start over: delete the data directory's chain (`cairn.redb` and the mempool journal)
    /// before starting.
    #[arg(long)]
    pub reset: bool,
    /// Browser origins allowed to call the API (CORS), comma-separated, or `*` for any, e.g.
    /// `--cors http://localhost:5173`.
    #[arg(long, value_name = "ORIGINS", value_delimiter = ',')]
    pub cors: Vec<String>,
    /// Run the indexer beside the node, following it into this PostgreSQL database
    /// (`postgres://...`; docs/indexer.md).
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Node settings: store, memory, limits.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// The node's store, memory and client-limit settings.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// The store's page cache, in MiB (bounds the node's memory; redb's own default is 1 GiB).
    #[arg(long, default_value_t = 64)]
    pub cache_mb: usize,
    /// Prune: keep the transactions and receipts of only the latest N blocks (headers, state
    /// and rewards history are kept). Without it the node is an archive node.
    #[arg(long, value_name = "N")]
    pub prune_blocks_older_than: Option<u64>,
    /// Start a new data directory from a state snapshot (the bytes of `GET /v1/snapshot`).
    #[arg(long, value_name = "FILE")]
    pub from_snapshot: Option<PathBuf>,
    /// A client address the per-IP connection and rate limits skip (repeatable), e.g. a local
    /// load test or API fuzzer.
    #[arg(long = "exempt-ip")]
    pub exempt_ip: Vec<IpAddr>,
}

/// The devnet's node settings from its flags.
fn config(args: &DevnetArgs, keys: &DevKeys) -> Result<Config> {
    let mut config = Config::new(args.data_dir.clone(), devnet::CHAIN_ID);
    config.block_interval = Duration::from_millis(args.block_ms);
    config.mining = match (args.block_time, args.no_mining) {
        (_, true) => Mining::Manual,
        (Some(secs), _) => {
            let every = Duration::try_from_secs_f64(secs).ok().filter(|d| !d.is_zero()).ok_or_else(|| {
                anyhow!("--block-time must be a positive number of seconds, e.g. 0.5 or 12; got {secs}")
            })?;
            Mining::Interval(every)
        }
        (None, false) => Mining::Auto,
    };
    config.record_rewards = true;
    config.cache_bytes = args.node.cache_mb.saturating_mul(1 << 20);
    config.keep_blocks = args.node.prune_blocks_older_than;
    config.in_memory = args.in_memory;
    config.dev = Some(DevConfig { governor: keys.governor.clone() });
    config.cors = args.cors.clone();
    config.http.exempt = args.node.exempt_ip.clone();
    // The indexer beside the node reads every block and, once a day, every staker: more than
    // the per-IP limit allows a public client.
    if args.postgres.is_some() && !config.http.exempt.contains(&IpAddr::from(std::net::Ipv4Addr::LOCALHOST)) {
        config.http.exempt.push(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok(config)
}

/// `--reset`: removes the chain's files from the data directory (and nothing else there).
fn reset(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "cairn.redb" || (name.starts_with("mempool.") && name.ends_with(".log")) {
            std::fs::remove_file(e.path()).with_context(|| format!("removing {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// Starts the devnet: the API's port first (a busy port fails before anything is written), a
/// node over the data directory (or memory), the producer and the workers.
pub fn run(args: &DevnetArgs) -> Result<()> {
    let keys = Arc::new(DevKeys::new(args.stakers));
    let genesis = devnet::genesis(&keys);
    let config = config(args, &keys)?;
    let listener = std::net::TcpListener::bind(args.listen).with_context(|| {
        format!("the API address {} is busy or not available (use --listen 127.0.0.1:PORT)", args.listen)
    })?;
    listener.set_nonblocking(true)?;
    let data_dir = &args.data_dir;
    if args.reset {
        reset(data_dir)?;
    }
    if let Some(file) = &args.node.from_snapshot {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let head = Node::restore_snapshot(&config, &genesis, &bytes)
            .with_context(|| format!("restoring {} into {}", file.display(), data_dir.display()))?;
        crate::out::print(&format!(
            "cairn devnet: started from the snapshot at height {} (header {})",
            head.height,
            head.hash()?
        ));
    }
    let node = Node::open(config, &genesis).with_context(|| format!("opening {}", data_dir.display()))?;
    let head = node.read(|a| a.head().height);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let place =
            if args.in_memory { "in memory only".to_owned() } else { format!("data in {}", data_dir.display()) };
        crate::out::print(&format!("cairn devnet: chain {} at height {head}, {place}", devnet::CHAIN_ID));
        crate::out::print(&format!(
            "API:      http://{addr}/v1/   (health: http://{addr}/health, OpenAPI: http://{addr}/openapi.json)"
        ));
        crate::out::print(&format!(
            "Dev:      http://{addr}/v1/dev   (cairn dev mine | time | snapshot | revert | fund | rewards-root)"
        ));
        crate::out::print("Development keys (funded; never use them elsewhere):");
        for (role, address, key) in keys.listing() {
            crate::out::print(&format!("  {role:<26} {address}  {key}"));
        }
        crate::out::print(&format!(
            "  ... and {} more stakers (cairn/devnet/staker/<i>)",
            keys.stakers.len().saturating_sub(3)
        ));
        if args.no_workers {
            crate::out::print("Workers:  off (--no-workers): after seeding, only your transactions change the state.");
        } else {
            crate::out::print(
                "Workers:  on. They sign with the governor, oracle/0-1, the services, the vault keeper and \
                 the stakers; for an account nobody else touches, `cairn keys create NAME` then \
                 `cairn dev fund ADDRESS`, or start with --no-workers.",
            );
        }
        let producer = node.spawn_producer();
        if let Some(postgres) = args.postgres.clone() {
            tokio::spawn(crate::index::beside_devnet(format!("http://{addr}"), postgres));
        }
        if args.no_workers {
            tokio::spawn(devnet::seed_world(Arc::clone(&node), Arc::clone(&keys)));
        } else {
            tokio::spawn(devnet::run_workers(Arc::clone(&node), Arc::clone(&keys)));
        }
        let served = api::serve(Arc::clone(&node), listener).await;
        node.stop();
        let _ = producer.join();
        served.context("API server")
    })
}

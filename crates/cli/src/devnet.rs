//! `cairn devnet`: a development chain with a seeded world, its flags and its start-up.

use std::{
    io::Write,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, Result};
use cairn_node::{
    Config, Node, api,
    devnet::{self, DevKeys},
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
    /// Milliseconds between blocks while transactions wait.
    #[arg(long, default_value_t = 200)]
    pub block_ms: u64,
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

/// Starts the devnet: a node over `data_dir`, the API on `listen`, and the workers.
pub fn run(args: &DevnetArgs) -> Result<()> {
    let DevnetArgs { data_dir, listen, stakers, block_ms, node: store } = args;
    let (data_dir, listen, stakers, block_ms): (&Path, SocketAddr, usize, u64) =
        (data_dir, *listen, *stakers, *block_ms);
    let keys = Arc::new(DevKeys::new(stakers));
    let genesis = devnet::genesis(&keys);
    let mut config = Config::new(data_dir.to_path_buf(), devnet::CHAIN_ID);
    config.block_interval = std::time::Duration::from_millis(block_ms);
    config.record_rewards = true;
    config.cache_bytes = store.cache_mb.saturating_mul(1 << 20);
    config.keep_blocks = store.prune_blocks_older_than;
    if let Some(file) = &store.from_snapshot {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let head = Node::restore_snapshot(&config, &genesis, &bytes)
            .with_context(|| format!("restoring {} into {}", file.display(), data_dir.display()))?;
        println!("cairn devnet: started from the snapshot at height {} (header {})", head.height, head.hash());
    }
    config.http.exempt = store.exempt_ip.clone();
    let node = Node::open(config, &genesis).with_context(|| format!("opening {}", data_dir.display()))?;
    let head = node.read(|a| a.head().height);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        println!("cairn devnet: chain {} at height {head}, data in {}", devnet::CHAIN_ID, data_dir.display());
        println!("API:      http://{addr}/v1/   (health: http://{addr}/health, OpenAPI: http://{addr}/openapi.json)");
        println!("Development keys (funded; never use them elsewhere):");
        for (role, address, key) in keys.listing() {
            println!("  {role:<26} {address}  {key}");
        }
        println!("  ... and {} more stakers (cairn/devnet/staker/<i>)", keys.stakers.len().saturating_sub(3));
        let _ = std::io::stdout().flush();
        let producer = node.spawn_producer();
        tokio::spawn(devnet::run_workers(Arc::clone(&node), Arc::clone(&keys)));
        let served = api::serve(Arc::clone(&node), listener).await;
        node.stop();
        let _ = producer.join();
        served.context("API server")
    })
}

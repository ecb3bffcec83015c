//! `cairn index`: mirror a node's chain into PostgreSQL (crates/indexer, docs/indexer.md).

use std::time::Instant;

use anyhow::{Context, Result};
use cairn_indexer::Indexer;

/// Where to read the chain from and where to write it.
#[derive(Debug, Clone, clap::Args)]
pub struct IndexArgs {
    /// The node's API.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    pub node: String,
    /// The database, e.g. `postgres://postgres@127.0.0.1:5432/cairn` (migrated at start).
    #[arg(long, env = "CAIRN_POSTGRES")]
    pub postgres: String,
    /// Catch up to the node's head, then exit, instead of following it.
    #[arg(long)]
    pub once: bool,
    /// Blocks fetched and checked ahead of the writer.
    #[arg(long, default_value_t = 8)]
    pub prefetch: usize,
    /// Run the foreign keys' per-row checks on the indexer's own writes too (by default they
    /// are skipped when the role may, as logical replication does; ~40% slower catch-up).
    #[arg(long)]
    pub keep_fk_checks: bool,
}

/// Runs the indexer until caught up (`--once`) or until Ctrl-C.
pub fn run(args: &IndexArgs) -> Result<serde_json::Value> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut indexer = Indexer::connect(&args.node, &args.postgres)
            .await
            .with_context(|| format!("starting the indexer of {} into {}", args.node, redact(&args.postgres)))?
            .with_prefetch(args.prefetch);
        if args.keep_fk_checks {
            indexer.keep_fk_checks().await?;
        }
        let from = indexer.indexed().map_or(0, |(h, _)| h + 1);
        crate::out::print(&format!("cairn index: {} -> {}, from block {from}", args.node, redact(&args.postgres)));
        if args.once {
            let head = indexer.node_head().await?;
            let start = Instant::now();
            let p = indexer.catch_up(head).await?;
            indexer.after_catch_up().await?;
            let secs = start.elapsed().as_secs_f64();
            return Ok(serde_json::json!({
                "indexed_to": indexer.indexed().map(|(h, _)| h),
                "blocks": p.blocks, "txs": p.txs, "events": p.events,
                "seconds": secs,
                "events_per_second": if secs > 0.0 { p.events as f64 / secs } else { 0.0 },
                "snapshot_error": indexer.snapshot_error(),
            }));
        }
        indexer.follow(async { tokio::signal::ctrl_c().await.unwrap_or(()) }).await?;
        Ok(serde_json::json!({ "indexed_to": indexer.indexed().map(|(h, _)| h) }))
    })
}

/// A connection string without its password, for messages: a URL's `user:password@`, or a
/// key=value string's `password=...`.
pub fn redact(url: &str) -> String {
    let Some(s) = url.find("://") else {
        return url
            .split_whitespace()
            .map(|kv| if kv.starts_with("password=") { "password=***" } else { kv })
            .collect::<Vec<_>>()
            .join(" ");
    };
    match url.rfind('@') {
        Some(at) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(super::redact("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("host=h"), "host=h");
        assert_eq!(super::redact("host=h password=secret user=u"), "host=h password=*** user=u");
    }

    #[test]
    fn the_bench_database_replaces_the_urls_own() {
        assert_eq!(super::with_database("postgres://u@h:5/postgres", "b"), "postgres://u@h:5/b");
        assert_eq!(super::with_database("postgres://u@h:5", "b"), "postgres://u@h:5/b");
        assert_eq!(super::with_database("postgres://u@h/x?sslmode=disable", "b"), "postgres://u@h/b?sslmode=disable");
    }
}

/// Follows the devnet at `node` into `postgres` until the process ends; a failure is printed and
/// ends only the indexer, never the devnet.
pub async fn beside_devnet(node: String, postgres: String) {
    let run = async {
        let mut indexer = Indexer::connect(&node, &postgres).await?;
        crate::out::print(&format!("Indexer:  following into {} (docs/indexer.md)", redact(&postgres)));
        indexer.follow(std::future::pending()).await
    };
    if let Err(e) = run.await {
        crate::out::eprint(&format!("cairn devnet: the indexer stopped: {e}"));
    }
}

/// What `cairn bench index` builds and measures.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// The chain: transactions, signing accounts, transactions per block.
    pub chain: cairn_node::loadgen::RestartSpec,
    /// A PostgreSQL server's URL; the bench creates and drops its own database there.
    pub postgres: String,
    /// Keep the built chain here and reuse it on the next run (built when missing).
    pub chain_dir: Option<std::path::PathBuf>,
    /// Blocks fetched ahead of the writer.
    pub prefetch: usize,
    /// Keep the foreign keys' per-row checks on.
    pub keep_fk_checks: bool,
}

/// Builds (or reopens) a chain, serves it on a loopback port, and times a catch-up into a fresh
/// database: blocks, transactions and events per second.
pub fn bench(spec: &BenchSpec) -> Result<serde_json::Value> {
    let dir = spec.chain_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("cairn-bench-index-{}-{}", std::process::id(), cairn_node::node::unix_now()))
    });
    let reuse = dir.join("cairn.redb").exists();
    let (node, built) = if reuse {
        (cairn_node::loadgen::open_chain(&dir, &spec.chain)?, None)
    } else {
        let (node, built) = cairn_node::loadgen::build_chain(&dir, &spec.chain, Some(crate::net::progress_bar()))?;
        (node, Some(built))
    };
    let head = node.read(|a| a.head().height);
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(cairn_node::api::serve(std::sync::Arc::clone(&node), listener));
        let (admin, name, db_url) = fresh_database(&spec.postgres).await?;
        let measured = async {
            let mut indexer = Indexer::connect(&url, &db_url).await?.with_prefetch(spec.prefetch);
            if spec.keep_fk_checks {
                indexer.keep_fk_checks().await?;
            }
            let start = Instant::now();
            let p = indexer.catch_up(head).await?;
            let secs = start.elapsed().as_secs_f64();
            let size: i64 = indexer.db().query_one("SELECT pg_database_size(current_database())", &[]).await?.get(0);
            anyhow::Ok(serde_json::json!({
                "blocks": p.blocks, "txs": p.txs, "events": p.events, "seconds": secs,
                "events_per_second": p.events as f64 / secs, "txs_per_second": p.txs as f64 / secs,
                "database_mb": size as f64 / 1e6,
                "writer_wait_seconds": p.wait_seconds, "writer_write_seconds": p.write_seconds,
                "fk_checks": indexer.fk_checks(),
            }))
        }
        .await;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        measured
    });
    node.stop();
    drop(node);
    if spec.chain_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(serde_json::json!({ "chain": built, "reused_chain": reuse, "catch_up": result? }))
}

/// A new empty database on the server at `url` for a bench: the admin connection, its name
/// and its URL. The caller drops it.
async fn fresh_database(url: &str) -> Result<(tokio_postgres::Client, String, String)> {
    anyhow::ensure!(
        url.contains("://"),
        "give the server as a URL (postgres://user@host:port/db), got {}",
        redact(url)
    );
    let (admin, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    tokio::spawn(conn);
    let name = format!("cairn_bench_{}", std::process::id());
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    let db_url = with_database(url, &name);
    Ok((admin, name, db_url))
}

/// Follows a running node for `seconds` into a fresh database and measures, per block, the
/// seconds from the node's announcement (its event stream) to the block's commit in PostgreSQL.
pub fn bench_follow(node: &str, postgres: &str, seconds: u64) -> Result<serde_json::Value> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (admin, name, db_url) = fresh_database(postgres).await?;
        let measured = async {
            let mut indexer = Indexer::connect(node, &db_url).await?;
            let head = indexer.node_head().await?;
            let caught = indexer.catch_up(head).await?;
            indexer.record_lags();
            indexer.follow(tokio::time::sleep(std::time::Duration::from_secs(seconds))).await?;
            let lags = indexer.take_lags();
            let mut ms: Vec<f64> = lags.iter().map(|(_, s)| s * 1e3).collect();
            ms.sort_by(f64::total_cmp);
            let pick = |q: f64| ms.get(((ms.len() as f64 - 1.0) * q).round() as usize).copied();
            let blocks = indexer.indexed().map_or(0, |(h, _)| h).saturating_sub(head);
            anyhow::Ok(serde_json::json!({
                "caught_up_blocks": caught.blocks,
                "followed_blocks": blocks,
                "seconds": seconds,
                "block_interval_ms": if blocks > 0 { seconds as f64 * 1e3 / blocks as f64 } else { 0.0 },
                "lag_ms": { "p50": pick(0.5), "p99": pick(0.99), "max": ms.last() },
                "announced_blocks_measured": ms.len(),
            }))
        }
        .await;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        measured
    })
}

/// `url` with its database name replaced by `name` (`postgres://u@h:p/db?x` -> `.../name?x`).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let host_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[host_end..].find('/') {
        Some(i) => &base[..host_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

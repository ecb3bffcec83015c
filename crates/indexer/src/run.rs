//! The indexing loop: fetch ahead, check, encode, link and write in order.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::B256;
use cairn_node::client::Client as NodeClient;
use futures_util::{StreamExt, stream};
use tokio_postgres::{Client, NoTls};

use crate::{
    rows,
    rows::{BlockRows, RowsError},
    schema,
    schema::SchemaError,
    verify,
    verify::{BadBlock, NodeBlock},
    write,
    write::{Statements, WriteError},
};

/// Why indexing stopped.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Connecting to or querying PostgreSQL.
    #[error("postgres: {}", crate::pg_error(.0))]
    Db(tokio_postgres::Error),
    /// Migrations or the lock.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The node answered something unusable.
    #[error("node: {0}")]
    Node(String),
    /// The node could not be reached (followers retry).
    #[error("node unreachable: {0}")]
    Unreachable(String),
    /// A served block failed its checks; nothing of it was written.
    #[error("refused: {0}")]
    BadBlock(#[from] BadBlock),
    /// A block's rows could not be built; nothing of it was written.
    #[error("refused: {0}")]
    Rows(#[from] RowsError),
    /// A block's write did not commit.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The database holds another chain than the node serves.
    #[error("the database indexes the chain with genesis {indexed} but the node's genesis is {served}")]
    OtherChain {
        /// Genesis hash in the database.
        indexed: B256,
        /// Genesis hash the node serves.
        served: B256,
    },
}

impl From<tokio_postgres::Error> for IndexError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e)
    }
}

/// Progress of a catch-up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    /// Blocks written.
    pub blocks: u64,
    /// Transactions written.
    pub txs: u64,
    /// Events written.
    pub events: u64,
    /// Seconds the writer waited for the next fetched and checked block.
    pub wait_seconds: f64,
    /// Seconds the writer spent writing (its database round trips included).
    pub write_seconds: f64,
}

/// An indexer connected to one node and one database, holding the database's indexer lock.
pub struct Indexer {
    db: Client,
    statements: Statements,
    node: NodeClient,
    /// The last indexed block: height and hash.
    indexed: Option<(u64, B256)>,
    /// Blocks fetched and prepared ahead of the writer.
    prefetch: usize,
    /// Whether this session's writes run the foreign keys' per-row checks.
    fk_checks: bool,
    /// When recording: each followed block's height and seconds from its announcement to its
    /// commit in the database.
    pub(crate) lags: Option<Vec<(u64, f64)>>,
    /// The node's genesis was compared with the database's since connecting.
    genesis_checked: bool,
    /// Why the last snapshot attempt failed, if it did.
    snapshot_error: Option<String>,
    /// After a failed snapshot, no new attempt before this: its reads must not starve the
    /// block stream of a rate-limiting node.
    snapshot_not_before: Option<Instant>,
}

/// The wait between snapshot attempts after one failed.
const SNAPSHOT_RETRY: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer").field("node", &self.node.base()).field("indexed", &self.indexed).finish()
    }
}

impl Indexer {
    /// Connects to PostgreSQL (`postgres://...`), takes the lock, migrates, and reads where the
    /// database stopped.
    pub async fn connect(node_url: &str, postgres: &str) -> Result<Self, IndexError> {
        let (mut db, conn) = tokio_postgres::connect(postgres, NoTls).await?;
        tokio::spawn(async move {
            // The connection's own error also fails the next query, which reports it.
            let _ = conn.await;
        });
        schema::lock(&db).await?;
        schema::migrate(&mut db).await?;
        let fk_checks = !skip_fk_checks(&db).await;
        let statements = Statements::prepare(&db).await?;
        let indexed = match db.query_opt("SELECT height, block_hash FROM indexer_state", &[]).await? {
            Some(r) => Some((stored_height(r.get(0))?, stored_hash(&r.get::<_, Vec<u8>>(1))?)),
            None => None,
        };
        Ok(Self {
            db,
            statements,
            node: NodeClient::new(node_url),
            indexed,
            prefetch: 8,
            fk_checks,
            lags: None,
            genesis_checked: false,
            snapshot_error: None,
            snapshot_not_before: None,
        })
    }

    /// Whether the writes of this session run the foreign keys' per-row checks (false when the
    /// role may set `session_replication_role`).
    pub fn fk_checks(&self) -> bool {
        self.fk_checks
    }

    /// Runs the foreign keys' per-row checks on this session's writes too (slower; for a role
    /// that must not use `session_replication_role`, or to measure them).
    pub async fn keep_fk_checks(&mut self) -> Result<(), IndexError> {
        self.db.batch_execute("SET session_replication_role = origin").await?;
        self.fk_checks = true;
        Ok(())
    }

    /// Starts recording, for each block the follower indexes, the seconds from the node's
    /// announcement to the database's commit.
    pub fn record_lags(&mut self) {
        self.lags = Some(Vec::new());
    }

    /// The recorded lags (height, seconds), emptied.
    pub fn take_lags(&mut self) -> Vec<(u64, f64)> {
        self.lags.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Sets how many blocks are fetched ahead of the writer (at least 1).
    pub fn with_prefetch(mut self, n: usize) -> Self {
        self.prefetch = n.max(1);
        self
    }

    /// The last indexed block, if any.
    pub fn indexed(&self) -> Option<(u64, B256)> {
        self.indexed
    }

    /// The database client (for snapshots and tests).
    pub fn db(&self) -> &Client {
        &self.db
    }

    /// The database client for a transaction of its own (snapshots).
    pub(crate) fn db_mut(&mut self) -> &mut Client {
        &mut self.db
    }

    /// The node's client.
    pub fn node(&self) -> &NodeClient {
        &self.node
    }

    /// The node's head height.
    pub async fn node_head(&self) -> Result<u64, IndexError> {
        let (status, bytes) = timed(REQUEST_TIMEOUT, "/v1/state", self.node.get_raw("/v1/state")).await?;
        if busy(status) {
            return Err(IndexError::Unreachable(format!("GET /v1/state answered {status}")));
        }
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        v.pointer("/head/height")
            .and_then(serde_json::Value::as_u64)
            .filter(|_| status == 200)
            .ok_or_else(|| IndexError::Node(format!("GET /v1/state answered {status}: {v}")))
    }

    /// Indexes every block after the indexed one up to `to` (inclusive), in order.
    pub async fn catch_up(&mut self, to: u64) -> Result<Progress, IndexError> {
        let from = self.next_height()?;
        let mut progress = Progress::default();
        if from > to {
            return Ok(progress);
        }
        // Before genesis is indexed there is nothing to compare it with (block 0 is checked as
        // it is linked); afterwards, once per connection.
        if from > 0 && !self.genesis_checked {
            self.check_genesis().await?;
            self.genesis_checked = true;
        }
        let node = Arc::new(self.node.clone());
        let mut prepared = stream::iter(from..=to)
            .map(|h| {
                let node = Arc::clone(&node);
                // Aborted if the catch-up ends early: no fetch outlives it.
                AbortOnDrop(tokio::spawn(async move { prepare(&node, h).await }))
            })
            .buffered(self.prefetch);
        loop {
            let waited = Instant::now();
            let Some(joined) = prepared.next().await else { break };
            let (block, rows) = joined.map_err(|e| IndexError::Node(format!("fetch task: {e}")))??;
            let writing = Instant::now();
            progress.wait_seconds += (writing - waited).as_secs_f64();
            self.write(&block, &rows).await?;
            progress.write_seconds += writing.elapsed().as_secs_f64();
            progress.blocks += 1;
            progress.txs += block.txs.len() as u64;
            progress.events += rows.event_count as u64;
        }
        Ok(progress)
    }

    /// The height after the indexed one (0 before genesis).
    fn next_height(&self) -> Result<u64, IndexError> {
        match self.indexed {
            None => Ok(0),
            Some((h, _)) => h.checked_add(1).ok_or_else(|| IndexError::Node(format!("height {h} is the last"))),
        }
    }

    /// Links, then writes, one prepared block.
    async fn write(&mut self, block: &NodeBlock, rows: &BlockRows) -> Result<(), IndexError> {
        let expected = self.next_height()?;
        verify::check_link(block, expected, self.indexed)?;
        let node = self.node.base().to_owned();
        write::write_block(&mut self.db, &self.statements, block, rows, self.indexed.map(|(h, _)| h), &node).await?;
        self.indexed = Some((block.header.height, block.hash));
        Ok(())
    }

    /// Work done once the database is at the node's head (daily snapshots).
    pub async fn after_catch_up(&mut self) -> Result<(), IndexError> {
        if self.snapshot_not_before.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        match crate::snapshot::maybe_take(self).await {
            Ok(_) => {
                self.snapshot_error = None;
                self.snapshot_not_before = None;
                Ok(())
            }
            // A node that refuses or garbles the snapshot's many reads (rate limits, a bad
            // answer) must not stop the indexing of blocks: the snapshot is tried again a minute
            // later, and the reason is kept for `snapshot_error`.
            Err(e @ (IndexError::Unreachable(_) | IndexError::Node(_))) => {
                self.snapshot_error = Some(e.to_string());
                self.snapshot_not_before = Some(Instant::now() + SNAPSHOT_RETRY);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Why the last daily snapshot attempt failed (it is retried after the next block).
    pub fn snapshot_error(&self) -> Option<&str> {
        self.snapshot_error.as_deref()
    }

    /// Refuses a node whose genesis is not the database's.
    async fn check_genesis(&self) -> Result<(), IndexError> {
        let row = self.db.query_one("SELECT genesis_hash FROM indexer_state", &[]).await?;
        let indexed = stored_hash(&row.get::<_, Vec<u8>>(0))?;
        let served = fetch(&self.node, 0).await?.hash;
        if indexed == served { Ok(()) } else { Err(IndexError::OtherChain { indexed, served }) }
    }
}

/// A height read back from the database (never negative: the indexer wrote it).
fn stored_height(h: i64) -> Result<u64, IndexError> {
    u64::try_from(h).map_err(|_| IndexError::Node(format!("indexer_state.height is {h}: the database was edited")))
}

/// A hash read back from the database.
fn stored_hash(bytes: &[u8]) -> Result<B256, IndexError> {
    B256::try_from(bytes).map_err(|_| {
        IndexError::Node(format!("indexer_state holds a {}-byte hash: the database was edited", bytes.len()))
    })
}

/// A spawned task aborted when dropped, awaited like its `JoinHandle`.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// Turns off, for this session only, the per-row checks of the foreign keys (and any triggers),
/// as logical replication's apply does: the indexer writes a block's parents and children in one
/// transaction from a checked block, and the checks cost ~40% of the write time. Other sessions
/// still get every check. Needs a role allowed to set `session_replication_role` (a superuser,
/// or `GRANT SET ON PARAMETER session_replication_role`); otherwise the checks stay on.
async fn skip_fk_checks(db: &Client) -> bool {
    db.batch_execute("SET session_replication_role = replica").await.is_ok()
}

/// Retries of a block the node refuses for load before giving up.
const BUSY_RETRIES: u32 = 8;

/// The longest a request to the node may take (a block of 5,000 transactions is ~3.5 MB).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A node answer that means "later": rate limited, overloaded or failing for now.
pub(crate) fn busy(status: u16) -> bool {
    status == 429 || status >= 500
}

/// Awaits a node request, at most `limit`; transport failures and timeouts are `Unreachable`.
pub(crate) async fn timed<T>(
    limit: Duration,
    what: &str,
    request: impl Future<Output = Result<T, cairn_node::client::ClientError>>,
) -> Result<T, IndexError> {
    match tokio::time::timeout(limit, request).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(IndexError::Unreachable(e.to_string())),
        Err(_) => Err(IndexError::Unreachable(format!("{what}: no answer in {} s", limit.as_secs()))),
    }
}

/// Fetches block `h`. A node busy or rate-limiting (429, 5xx) is asked again, up to
/// `BUSY_RETRIES` more times, 50 ms the first time and twice as long each next.
pub async fn fetch(node: &NodeClient, h: u64) -> Result<NodeBlock, IndexError> {
    let path = format!("/v1/blocks/{h}");
    let mut attempt = 0;
    let (status, bytes) = loop {
        let (status, bytes) = timed(REQUEST_TIMEOUT, &path, node.get_raw(&path)).await?;
        if !busy(status) || attempt == BUSY_RETRIES {
            break (status, bytes);
        }
        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        attempt += 1;
    };
    if busy(status) {
        return Err(IndexError::Unreachable(format!("GET {path} answered {status}, {} times", BUSY_RETRIES + 1)));
    }
    if status != 200 {
        return Err(IndexError::Node(format!("GET {path} answered {status}: {}", String::from_utf8_lossy(&bytes))));
    }
    serde_json::from_slice(&bytes).map_err(|e| IndexError::Node(format!("GET {path}: not a block: {e}")))
}

/// Fetches, checks and encodes block `h`: everything that does not need the blocks before it.
async fn prepare(node: &NodeClient, h: u64) -> Result<(NodeBlock, BlockRows), IndexError> {
    let block = fetch(node, h).await?;
    verify::check_contents(&block)?;
    let rows = rows::block_rows(&block)?;
    Ok((block, rows))
}

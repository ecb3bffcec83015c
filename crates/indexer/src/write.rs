//! Writing one checked block: a single database transaction holding the block, its
//! transactions, its events and the new indexed height, so a crash leaves all or none of it.

use alloy_primitives::B256;
use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::{Client, Statement};

use crate::{rows::BlockRows, verify::NodeBlock};

/// The prepared statements of one connection.
#[derive(Debug, Clone)]
pub struct Statements {
    insert_block: Statement,
    first_state: Statement,
    next_state: Statement,
}

/// A write that did not commit (the database rolled it back).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The database refused or failed.
    #[error("writing block {height}: {}", crate::pg_error(error))]
    Db {
        /// Height.
        height: u64,
        /// The database's error.
        error: tokio_postgres::Error,
    },
    /// The indexed height moved under us: another writer bypassed the lock.
    #[error("writing block {height}: the database's indexed height is no longer {below:?}")]
    Moved {
        /// Height.
        height: u64,
        /// The height we expected below it.
        below: Option<u64>,
    },
    /// A number does not fit PostgreSQL's bigint.
    #[error("block {height}: {what} exceeds bigint")]
    TooLarge {
        /// Height.
        height: u64,
        /// Which value.
        what: &'static str,
    },
}

impl Statements {
    /// Prepares the statements on `db`.
    pub async fn prepare(db: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            insert_block: db
                .prepare(
                    "INSERT INTO blocks (height, hash, parent_hash, time, unix_time, tx_root, receipt_root, state_hash, tx_count)
                     VALUES ($1, $2, $3, to_timestamp($4::bigint), $4, $5, $6, $7, $8)",
                )
                .await?,
            first_state: db
                .prepare(
                    "INSERT INTO indexer_state (height, block_hash, genesis_hash, node) VALUES ($1, $2, $2, $3)",
                )
                .await?,
            next_state: db
                .prepare(
                    "UPDATE indexer_state SET height = $1, block_hash = $2, node = $4, updated_at = now() WHERE height = $3",
                )
                .await?,
        })
    }
}

/// Writes `block` with its rows in one transaction; `below` is the indexed height it follows.
pub async fn write_block(
    db: &mut Client,
    st: &Statements,
    block: &NodeBlock,
    rows: &BlockRows,
    below: Option<u64>,
    node: &str,
) -> Result<(), WriteError> {
    let height = block.header.height;
    let db_err = |error| WriteError::Db { height, error };
    let big = |v: u64, what| i64::try_from(v).map_err(|_| WriteError::TooLarge { height, what });
    let h = big(height, "height")?;
    let time = big(block.header.time, "time")?;
    let hdr = &block.header;
    let tx_count = i32::try_from(hdr.tx_count).map_err(|_| WriteError::TooLarge { height, what: "tx_count" })?;
    let tx = db.transaction().await.map_err(db_err)?;
    let b = |x: &B256| x.to_vec();
    tx.execute(
        &st.insert_block,
        &[
            &h,
            &b(&block.hash),
            &b(&hdr.parent_hash),
            &time,
            &b(&hdr.tx_root),
            &b(&hdr.receipt_root),
            &b(&hdr.state_hash),
            &tx_count,
        ],
    )
    .await
    .map_err(db_err)?;
    for table in std::iter::once(&rows.transactions).chain(rows.events.values()) {
        if table.rows == 0 {
            continue;
        }
        let sink = tx.copy_in::<_, Bytes>(table.copy.as_str()).await.map_err(db_err)?;
        futures_util::pin_mut!(sink);
        sink.send(Bytes::copy_from_slice(&table.data)).await.map_err(db_err)?;
        sink.finish().await.map_err(db_err)?;
    }
    let hash = b(&block.hash);
    let moved = match below {
        None => tx.execute(&st.first_state, &[&h, &hash, &node]).await.map_err(db_err)?,
        Some(prev) => {
            let prev = big(prev, "height")?;
            tx.execute(&st.next_state, &[&h, &hash, &prev, &node]).await.map_err(db_err)?
        }
    };
    if moved != 1 {
        return Err(WriteError::Moved { height, below });
    }
    tx.commit().await.map_err(db_err)
}

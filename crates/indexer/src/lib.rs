//! The indexer: follows a Cairn node and mirrors its chain into PostgreSQL, one database
//! transaction per block, with typed tables per event family, daily snapshots and views.
//!
//! Data flows one way: the node's blocks are fetched ahead (`prefetch` at once), each checked on
//! its own (hashes, roots) and turned into COPY rows off the writer's path, then linked to the
//! indexed chain (height, parent) and written in order.

#![forbid(unsafe_code)]

pub mod families;
pub mod follow;
pub mod rows;
mod run;
pub mod schema;
pub mod snapshot;
pub mod verify;
pub mod write;

pub use run::{IndexError, Indexer, Progress, fetch};

/// A PostgreSQL error as one line: the server's message, detail and code when it sent one, else
/// the client's (connection, protocol) with its cause.
pub fn pg_error(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
        return format!("{}{detail} [{}]", db.message(), db.code().code());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

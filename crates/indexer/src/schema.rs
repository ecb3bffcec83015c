//! Versioned migrations, applied in order at start, each in its own transaction, and the lock
//! that keeps a second indexer off the same database.

use tokio_postgres::Client;

/// The migrations, in order: version, name, SQL.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "core", include_str!("../migrations/0001_core.sql")),
    (2, "events", include_str!("../migrations/0002_events.sql")),
    (3, "snapshots", include_str!("../migrations/0003_snapshots.sql")),
    (4, "views", include_str!("../migrations/0004_views.sql")),
    (5, "vault_apr", include_str!("../migrations/0005_vault_apr.sql")),
];

/// The advisory-lock key an indexer holds on its database for as long as it runs ("cairnidx").
pub const LOCK_KEY: i64 = 0x6361_6972_6e69_6478;

/// A migration or locking failure.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database.
    #[error("database: {}", crate::pg_error(.0))]
    Db(tokio_postgres::Error),
    /// Another indexer holds the lock.
    #[error("another indexer is writing this database (advisory lock {LOCK_KEY:#x} is held)")]
    Locked,
    /// The database has migrations this indexer does not know.
    #[error("the database is at schema version {found}, newer than this indexer's {known}: upgrade the indexer")]
    Newer {
        /// The database's version.
        found: i32,
        /// The newest this indexer knows.
        known: i32,
    },
    /// An applied migration's name differs from this indexer's of the same version.
    #[error("schema version {version} is {found:?} in the database but {expected:?} here")]
    Mismatch {
        /// Version.
        version: i32,
        /// Name in the database.
        found: String,
        /// Name here.
        expected: String,
    },
}

impl From<tokio_postgres::Error> for SchemaError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e)
    }
}

/// How long a starting indexer waits for the lock: the session of an indexer killed a moment
/// ago holds it until its server process notices the closed connection.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the indexer's lock for this session, waiting up to `LOCK_WAIT`, or refuses if another
/// session still holds it.
pub async fn lock(db: &Client) -> Result<(), SchemaError> {
    let started = std::time::Instant::now();
    loop {
        let row = db.query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY]).await?;
        if row.get::<_, bool>(0) {
            return Ok(());
        }
        if started.elapsed() >= LOCK_WAIT {
            return Err(SchemaError::Locked);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Applies the migrations the database lacks; returns how many were applied.
pub async fn migrate(db: &mut Client) -> Result<usize, SchemaError> {
    db.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let applied: Vec<(i32, String)> = db
        .query("SELECT version, name FROM schema_migrations ORDER BY version", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(&(found, _)) = applied.iter().rfind(|(v, _)| *v > known) {
        return Err(SchemaError::Newer { found, known });
    }
    let mut count = 0;
    for &(version, name, sql) in MIGRATIONS {
        if let Some((_, found)) = applied.iter().find(|(v, _)| *v == version) {
            if found != name {
                return Err(SchemaError::Mismatch { version, found: found.clone(), expected: name.to_owned() });
            }
            continue;
        }
        let tx = db.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[&version, &name]).await?;
        tx.commit().await?;
        count += 1;
    }
    Ok(count)
}

//! A real PostgreSQL for a test: a fresh database on the cluster `.ci/run` started
//! (`CAIRN_TEST_POSTGRES`, its admin URL), or else a throw-away cluster of this test's own
//! (`scripts/postgres.sh start`), removed when the test ends.

use std::{
    path::PathBuf,
    process::Command,
    sync::atomic::{AtomicU32, Ordering::Relaxed},
};

use cairn_node::node::unix_now;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One test's database; dropped, it is dropped too.
pub(crate) struct Pg {
    /// Its URL.
    pub(crate) url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Cluster(PathBuf),
    Database { admin: String, name: String },
}

fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Pg {
    /// A fresh, empty database.
    pub(crate) fn new(tag: &str) -> Self {
        if let Ok(admin) = std::env::var("CAIRN_TEST_POSTGRES") {
            let name = format!("cairn_{tag}_{}_{}", std::process::id(), NEXT.fetch_add(1, Relaxed));
            psql(&admin, &format!("CREATE DATABASE {name}")).expect("create the test database");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            return Self { url: format!("{base}/{name}"), cleanup: Cleanup::Database { admin, name } };
        }
        let dir = std::env::temp_dir().join(format!(
            "cairn-pg-{tag}-{}-{}-{}",
            std::process::id(),
            unix_now(),
            NEXT.fetch_add(1, Relaxed)
        ));
        let out = Command::new("bash").arg(SCRIPT).arg("start").arg(&dir).output().expect("run scripts/postgres.sh");
        assert!(
            out.status.success(),
            "scripts/postgres.sh start failed (is PostgreSQL installed? `bash scripts/postgres.sh install`): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Self { url, cleanup: Cleanup::Cluster(dir) }
    }

    /// Runs SQL through psql; its unaligned, tuples-only output.
    pub(crate) fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs SQL through psql: its output, or psql's error.
    pub(crate) fn try_sql(&self, sql: &str) -> Result<String, String> {
        psql(&self.url, sql)
    }

    /// Every table's rows as text, each table sorted by all its columns: two databases with the
    /// same data give the same dump, whatever order the rows were written in. The columns that
    /// record when (`updated_at`, `applied_at`, `taken_at`) are left out.
    pub(crate) fn dump(&self) -> String {
        let tables = self.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_type = 'BASE TABLE' ORDER BY table_name",
        );
        let mut out = String::new();
        for t in tables.lines() {
            let cols = self.sql(&format!(
                "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{t}' \
                 AND column_name NOT IN ('updated_at', 'applied_at', 'taken_at')"
            ));
            let cols = cols.trim();
            let order: Vec<String> = (1..=cols.split(", ").count()).map(|i| i.to_string()).collect();
            out.push_str(&format!("== {t}\n"));
            out.push_str(&self.sql(&format!("SELECT {cols} FROM {t} ORDER BY {}", order.join(", "))));
        }
        out
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Cluster(dir) => {
                let _ = Command::new("bash").arg(SCRIPT).arg("stop").arg(dir).output();
            }
            Cleanup::Database { admin, name } => {
                let _ = psql(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

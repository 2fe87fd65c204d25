//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL
//! database on the server named by `HOTLINE_TEST_DATABASE_URL`.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::db::{drop_postgres_database, with_database};
use crate::{Db, Result};

pub const PG_ENV: &str = "HOTLINE_TEST_DATABASE_URL";
/// Pool cap in tests, so parallel tests stay under PostgreSQL's limit.
pub const TEST_POOL: u32 = 3;

/// The PostgreSQL server for tests. Unset: says loudly that PostgreSQL tests
/// are skipped, and fails under `CI=true`, where a skip is not allowed.
pub fn postgres_url() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "{PG_ENV} is unset under CI=true: PostgreSQL tests may not be skipped"
            );
            eprintln!(
                "\n*** SKIPPED: PostgreSQL tests need {PG_ENV} (e.g. postgres://postgres@127.0.0.1:5432/test) ***\n"
            );
            None
        }
    }
}

static N: AtomicU32 = AtomicU32::new(0);

/// A database URL nobody else uses: a file under `dir` for SQLite, or a new
/// database name on the test server for PostgreSQL.
pub fn fresh_url(postgres: Option<&str>, dir: &std::path::Path, label: &str) -> Result<String> {
    let n = N.fetch_add(1, Ordering::SeqCst);
    match postgres {
        None => Ok(format!("sqlite://{}/{label}-{n}.db", dir.display())),
        Some(base) => {
            // A scratch database's name guards nothing.
            #[allow(clippy::disallowed_methods)]
            let name = format!(
                "hl_t{}_{}_{n}_{}",
                std::process::id(),
                label,
                fastrand::u32(..)
            );
            with_database(base, &name)
        }
    }
}

/// A migrated database that is dropped (PostgreSQL) or left in its temp
/// dir (SQLite) by [`TestDb::cleanup`].
pub struct TestDb {
    pub db: Db,
    pub url: String,
}

impl TestDb {
    pub async fn new(postgres: Option<&str>, dir: &std::path::Path, label: &str) -> Result<Self> {
        let url = fresh_url(postgres, dir, label)?;
        let db = Db::connect(&url, TEST_POOL).await?;
        Ok(Self { db, url })
    }

    pub async fn cleanup(self) -> Result<()> {
        self.db.close().await;
        drop_url(&self.url).await
    }
}

/// Drops a test database (PostgreSQL); SQLite files go with their temp dir.
pub async fn drop_url(url: &str) -> Result<()> {
    if url.starts_with("postgres") {
        drop_postgres_database(url).await?;
    }
    Ok(())
}

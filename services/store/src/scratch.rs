//! Scratch databases nobody else uses: a new SQLite file, or a new
//! PostgreSQL database on a given server. Benchmarks and tests make them;
//! [`drop_url`] removes one.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::db::{drop_postgres_database, with_database};
use crate::{Db, Result, Schema};

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

/// Pool cap, so parallel users stay under PostgreSQL's limit.
pub const POOL: u32 = 3;

/// A scratch database migrated with the given owners' schemas, dropped
/// (PostgreSQL) or left in its temp dir (SQLite) by [`ScratchDb::cleanup`].
pub struct ScratchDb {
    pub db: Db,
    pub url: String,
}

impl ScratchDb {
    pub async fn new(
        postgres: Option<&str>,
        dir: &std::path::Path,
        label: &str,
        schemas: &[&Schema],
    ) -> Result<Self> {
        let url = fresh_url(postgres, dir, label)?;
        let db = Db::connect(&url, POOL, schemas).await?;
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

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Connection};

pub use crate::backend::{Backend, redact};
use crate::schema::{LEGACY_TABLE, Schema};
use crate::{Result, StoreError};

#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

pub type Tx = sqlx::Transaction<'static, Any>;

impl Db {
    /// Opens (creating if missing) the database at `url`, brings it up to
    /// date with each of `schemas` (the tables of the crates the service
    /// hosts, see [`crate::Schema`]), and caps the pool at
    /// `max_connections`. SQLite always gets one connection: one writer, as
    /// the embedded default promises. A database made before per-owner
    /// migrations is refused.
    pub async fn connect(url: &str, max_connections: u32, schemas: &[&Schema]) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let (url, synchronous) = sqlite_synchronous(url, backend)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
            }
            Backend::Sqlite => url,
            Backend::Postgres => {
                ensure_postgres_database(&url).await?;
                url
            }
        };
        let max = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => max_connections.max(1),
        };
        let mut options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        // An operator can ask for statements slower than N ms in the log
        // (target `sqlx::query`, level WARN), to find a slow query.
        if let Some(ms) = std::env::var("HOTLINE_SLOW_SQL_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            options =
                options.log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(ms));
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings every connection it hands out and again when it
            // comes back: a round trip to the SQLite thread or to the
            // server before each transaction's first statement. The one on
            // return stays (it is sqlx's); the one on acquire is kept for
            // a connection that may have gone stale ([`needs_ping`]).
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if needs_ping(backend, meta.idle_for) {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // A checkpoint every 10,000 WAL pages (40 MB) rather
                        // than SQLite's 1,000: a page a busy store rewrites
                        // is copied back once per checkpoint, and each
                        // checkpoint ends in an fsync.
                        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA synchronous = {synchronous}; PRAGMA wal_autocheckpoint = 10000;"
                        )))
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let db = Db { pool, backend };
        if db.has_table(LEGACY_TABLE).await? {
            db.close().await;
            return Err(StoreError::Config(format!(
                "db: {} was made by an older hotline, before each crate owned its tables \
                 (it has a {LEGACY_TABLE} table): it cannot be upgraded in place; move it \
                 aside or delete it (see docs/operations.md)",
                redact(&url)
            )));
        }
        db.migrate(schemas).await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.pool.begin().await?)
    }

    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Takes `synchronous=normal|off` out of a SQLite URL (sqlx does not know
/// it): NORMAL by default, where a commit survives a process crash and the
/// last commits may be lost on power loss; OFF leaves the fsync at each
/// WAL checkpoint out, so a commit still survives a process crash but an
/// operating-system crash or power loss may corrupt the file — for
/// scratch data such as a simulation's. FULL is not offered: the services'
/// promise is the process-crash one.
fn sqlite_synchronous(url: &str, backend: Backend) -> Result<(String, &'static str)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), "NORMAL"));
    };
    let mut mode = "NORMAL";
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("synchronous", v)) if backend == Backend::Sqlite => {
                mode = match v.to_ascii_lowercase().as_str() {
                    "normal" => "NORMAL",
                    "off" => "OFF",
                    _ => {
                        return Err(StoreError::Config(format!(
                            "db: synchronous={v:?} in the SQLite URL: expected normal or off"
                        )));
                    }
                }
            }
            _ => kept.push(pair),
        }
    }
    let url = match kept.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((url, mode))
}

/// Splits a PostgreSQL URL into (URL of the maintenance database, name).
pub(crate) fn postgres_parts(url: &str) -> Result<(String, String)> {
    let (base, _) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let slash = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .ok_or_else(|| StoreError::Config(format!("db: {} names no database", redact(url))))?;
    let name = base[slash + 1..].to_string();
    if name.is_empty() {
        return Err(StoreError::Config(format!(
            "db: {} names no database",
            redact(url)
        )));
    }
    Ok((with_database(url, "postgres")?, name))
}

/// The same PostgreSQL URL naming another database.
pub fn with_database(url: &str, name: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    Ok(format!(
        "{}/{name}{}",
        &base[..host_end],
        query.map(|q| format!("?{q}")).unwrap_or_default()
    ))
}

/// `url` naming the database `{its name}_{suffix}` (`hotline_{suffix}` when
/// it names none): one database per service or per run from one URL.
pub fn with_database_suffix(url: &str, suffix: &str) -> Result<String> {
    let base = url.split('?').next().unwrap_or(url);
    let name = base
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("hotline");
    with_database(url, &format!("{name}_{suffix}"))
}

async fn ensure_postgres_database(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let (admin, name) = postgres_parts(url)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(StoreError::Config(format!(
            "db: database name {name:?} has unsupported characters"
        )));
    }
    let mut conn = AnyConnectOptions::from_str(&admin)?
        .disable_statement_logging()
        .connect()
        .await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        match sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
        {
            Ok(_) => {}
            // Another process created it first.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}

/// Drops a PostgreSQL database, ending its sessions (tests clean up with it).
pub(crate) async fn drop_postgres_database(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let (admin, name) = postgres_parts(url)?;
    let mut conn = AnyConnectOptions::from_str(&admin)?
        .disable_statement_logging()
        .connect()
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

impl Db {
    /// Brings this database up to date with each schema, in order.
    pub async fn migrate(&self, schemas: &[&Schema]) -> Result<()> {
        for (i, a) in schemas.iter().enumerate() {
            if let Some(b) = schemas[..i]
                .iter()
                .find(|b| overlap(&a.versions, &b.versions))
            {
                return Err(StoreError::Config(format!(
                    "db: the {} and {} migrations share versions",
                    b.owner, a.owner
                )));
            }
        }
        for schema in schemas {
            schema
                .migrator(self.backend())?
                .run(self.pool())
                .await
                .map_err(|e| StoreError::Migrate(schema.owner, e))?;
        }
        Ok(())
    }

    /// Whether the database has a table of this name.
    pub async fn has_table(&self, name: &str) -> Result<bool> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let n: i64 = sqlx::query_scalar(sql)
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }
}

/// A PostgreSQL connection idle this long is pinged before it is handed
/// out; one used more recently was alive when it came back (sqlx pings
/// each on return), and is trusted.
pub const STALE_AFTER: Duration = Duration::from_secs(1);

/// Whether a connection idle for `idle_for` is pinged before use. A SQLite
/// connection is a file in this process: there is no far end to lose, so
/// it never is. A PostgreSQL connection is, once idle [`STALE_AFTER`]: the
/// server may have restarted or a middlebox dropped it meanwhile, and a
/// failed ping replaces it with a new connection before the caller's
/// statement, rather than failing that statement.
fn needs_ping(backend: Backend, idle_for: Duration) -> bool {
    backend == Backend::Postgres && idle_for >= STALE_AFTER
}

fn overlap(a: &RangeInclusive<i64>, b: &RangeInclusive<i64>) -> bool {
    a.start() <= b.end() && b.start() <= a.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_postgres_connection_idle_a_while_is_pinged() {
        assert!(!needs_ping(Backend::Sqlite, Duration::from_secs(3600)));
        assert!(!needs_ping(Backend::Postgres, Duration::from_millis(10)));
        assert!(needs_ping(Backend::Postgres, STALE_AFTER));
    }

    #[test]
    fn postgres_url_parts() {
        let (admin, name) =
            postgres_parts("postgres://u:p@h:5432/hl_city?sslmode=disable").unwrap();
        assert_eq!(admin, "postgres://u:p@h:5432/postgres?sslmode=disable");
        assert_eq!(name, "hl_city");
        assert_eq!(
            with_database("postgres://postgres@h/test", "x").unwrap(),
            "postgres://postgres@h/x"
        );
        assert!(postgres_parts("postgres://h:5432/").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn sqlite_synchronous_comes_out_of_the_url() {
        let s = Backend::Sqlite;
        assert_eq!(
            sqlite_synchronous("sqlite:///d/c.db", s).unwrap(),
            ("sqlite:///d/c.db".into(), "NORMAL")
        );
        assert_eq!(
            sqlite_synchronous("sqlite:///d/c.db?synchronous=OFF", s).unwrap(),
            ("sqlite:///d/c.db".into(), "OFF")
        );
        assert_eq!(
            sqlite_synchronous("sqlite:///d/c.db?mode=rwc&synchronous=normal", s).unwrap(),
            ("sqlite:///d/c.db?mode=rwc".into(), "NORMAL")
        );
        let e = sqlite_synchronous("sqlite:///d/c.db?synchronous=full", s).unwrap_err();
        assert!(e.to_string().contains("synchronous=\"full\""), "{e}");
        // PostgreSQL URLs pass through untouched.
        let pg = "postgres://h/db?synchronous=off";
        assert_eq!(
            sqlite_synchronous(pg, Backend::Postgres).unwrap(),
            (pg.into(), "NORMAL")
        );
    }
}

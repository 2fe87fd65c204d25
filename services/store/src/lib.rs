//! One store per service (DESIGN.md §5): sqlx's Any driver over SQLite
//! (the embedded default: one file, WAL, one writer) or PostgreSQL
//! (production and CI), with portable SQL, no compile-time query macros, and
//! instants as i64 UTC microseconds.

mod backend;
mod db;
mod schema;
pub mod scratch;
#[cfg(feature = "testing")]
pub mod testing;

pub use db::{Backend, Db, STALE_AFTER, Tx, redact, with_database, with_database_suffix};
pub use schema::Schema;

pub use sqlx;

pub type Conn = sqlx::AnyConnection;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Config(String),
    #[error("migrating the {0}'s tables: {1}")]
    Migrate(&'static str, #[source] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether a retry of the whole transaction may succeed (a concurrent
    /// writer won a unique key, or the database was busy).
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Sqlx(sqlx::Error::Database(e)) => {
                e.is_unique_violation()
                    || matches!(e.code().as_deref(), Some("40001" | "40P01" | "5" | "6"))
            }
            StoreError::Sqlx(sqlx::Error::PoolTimedOut) => true,
            _ => false,
        }
    }

    /// Whether the database could not be reached or was short of a
    /// resource for a while: the same call may succeed later. Anything
    /// else (a corrupt row, a constraint the data breaks, a malformed
    /// file) fails the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sqlx(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolClosed
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_),
            ) => true,
            StoreError::Sqlx(sqlx::Error::Database(e)) => match e.code().as_deref() {
                // PostgreSQL: connection exception, insufficient resources,
                // operator intervention (a server shutting down).
                Some(c) if c.len() == 5 => {
                    c.starts_with("08") || c.starts_with("53") || c.starts_with("57P")
                }
                // SQLite: busy, locked, I/O error, disk full, cannot open.
                Some(c) => matches!(c, "5" | "6" | "10" | "13" | "14"),
                None => false,
            },
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The VALUES rows of a multi-row insert, `($1, …, $cols), ($cols+1, …)`:
/// one statement for a batch, one round trip to the database.
pub fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes a stored enum name.
pub fn parse<T>(value: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("{what} {value:?}")))
}

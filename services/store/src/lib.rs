//! One store per service (DESIGN.md §5): sqlx's Any driver over SQLite
//! (the embedded default: one file, WAL, one writer) or PostgreSQL
//! (production and CI), with portable SQL, no compile-time query macros, and
//! instants as i64 UTC microseconds.

mod backend;
mod batch;
mod db;
mod schema;
pub mod scratch;
#[cfg(feature = "testing")]
pub mod testing;

pub use batch::{Batch, Query};
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

/// The VALUES rows of a multi-row statement, `($1, …, $cols), ($cols+1,
/// …)`: one statement for a batch, one round trip to the database. For a
/// statement whose only parameters these are, bound in turn.
///
/// On SQLite they are anonymous (`(?, ?), (?, ?)`): SQLite finds the name
/// of a numbered parameter by walking the statement's list of names, and
/// sqlx asks for each parameter's name as it binds, so `$N` costs time
/// quadratic in the parameters (11 % of `bench timers`' CPU in
/// `sqlite3_bind_parameter_name`, at 1,900 parameters a statement).
pub fn placeholders(conn: &Conn, rows: usize, cols: usize) -> String {
    placeholders_for(Backend::of(conn), rows, cols)
}

/// [`placeholders`] for a backend.
/// Written into one string, not a string per parameter: an intake's
/// statements asked for 70 parameters, and building them a `String` each
/// was 1 % of the centre's CPU during `bench hop`'s submits.
pub fn placeholders_for(backend: Backend, rows: usize, cols: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 1..=cols {
            if c > 1 {
                out.push_str(", ");
            }
            match backend {
                Backend::Postgres => {
                    let _ = write!(out, "${}", r * cols + c);
                }
                Backend::Sqlite => out.push('?'),
            }
        }
        out.push(')');
    }
    out
}

/// Decodes a stored enum name.
pub fn parse<T>(value: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("{what} {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::{Backend, placeholders_for};

    #[test]
    fn placeholders_number_postgres_in_turn_and_leave_sqlite_anonymous() {
        assert_eq!(
            placeholders_for(Backend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(
            placeholders_for(Backend::Sqlite, 2, 3),
            "(?, ?, ?), (?, ?, ?)"
        );
        assert_eq!(placeholders_for(Backend::Postgres, 1, 2), "($1, $2)");
        assert_eq!(placeholders_for(Backend::Sqlite, 0, 3), "");
    }
}

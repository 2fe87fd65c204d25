//! For tests only (feature `testing`): the PostgreSQL server named by
//! `HOTLINE_TEST_DATABASE_URL`, and the scratch databases made on it.

pub use crate::scratch::*;

pub const PG_ENV: &str = "HOTLINE_TEST_DATABASE_URL";
/// Pool cap in tests, so parallel tests stay under PostgreSQL's limit.
pub const TEST_POOL: u32 = crate::scratch::POOL;
/// The scratch database tests use.
pub type TestDb = crate::scratch::ScratchDb;

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

//! Tests on real databases: SQLite always, PostgreSQL when the test
//! server is set (`HOTLINE_TEST_DATABASE_URL`), each with the runtime's
//! tables on a scratch database.

use hotline_store::Db;
use hotline_store::testing::{TestDb, postgres_url};

/// Runs `body` on a fresh database of each backend.
pub(crate) async fn on_each_backend<F, Fut>(label: &str, body: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut backends = vec![None];
    backends.extend(postgres_url().map(Some));
    for pg in backends {
        let dir = tempfile::tempdir().unwrap();
        let t = TestDb::new(pg.as_deref(), dir.path(), label, &[&crate::SCHEMA])
            .await
            .unwrap();
        body(t.db.clone()).await;
        t.cleanup().await.unwrap();
    }
}

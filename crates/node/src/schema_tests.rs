//! Each service's database holds only its owners' tables (issue 22): a
//! township's has no requester, order or audit table at all; the city's
//! has them. Opened as a node opens it, through [`service_ctx`], on SQLite
//! and, with `HOTLINE_TEST_DATABASE_URL`, on PostgreSQL.

use std::sync::Arc;

use hotline_core::{ManualClock, Tier, Topology};
use hotline_store::testing::{drop_url, fresh_url, postgres_url};

use crate::{DEMO_TOPOLOGY, service_ctx};

/// Only the centre's.
const CITY_ONLY: &[&str] = &["requesters", "requester_tokens", "orders", "audit_log"];
/// Only a handling unit's.
const HANDLER_ONLY: &[&str] = &["notices", "whistles", "inbox_events", "part_reports"];
/// Every service's.
const EVERYONE: &[&str] = &["idempotency", "outbox", "timers", "assignments"];

async fn tables_of(tier: Tier, postgres: Option<&str>) -> Vec<(&'static str, bool)> {
    let topology = Arc::new(Topology::parse("demo-city.toml", DEMO_TOPOLOGY).unwrap());
    let spec = topology
        .services()
        .iter()
        .find(|s| s.tier == tier)
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_url(postgres, dir.path(), spec.name.as_str()).unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let open = async || {
        service_ctx(
            topology.clone(),
            spec.clone(),
            &url,
            1,
            "http://127.0.0.1:9",
            (clock.clone(), Some(clock.clone())),
            hotline_identity::Security::Plaintext,
        )
        .await
        .unwrap()
    };
    let ctx = open().await;
    let mut found = Vec::new();
    for t in CITY_ONLY.iter().chain(HANDLER_ONLY).chain(EVERYONE) {
        found.push((*t, ctx.db.has_table(t).await.unwrap()));
    }
    ctx.db.close().await;
    // A restart finds every migration applied, checksums matching.
    open().await.db.close().await;
    drop_url(&url).await.unwrap();
    found
}

async fn owners_keep_their_tables(postgres: Option<&str>) {
    let township = tables_of(Tier::Township, postgres).await;
    let city = tables_of(Tier::City, postgres).await;
    for (table, present) in township {
        let expected = !CITY_ONLY.contains(&table);
        assert_eq!(present, expected, "township: {table}");
    }
    for (table, present) in city {
        let expected = !HANDLER_ONLY.contains(&table);
        assert_eq!(present, expected, "city: {table}");
    }
}

#[tokio::test]
async fn owners_keep_their_tables_on_sqlite() {
    owners_keep_their_tables(None).await;
}

#[tokio::test]
async fn owners_keep_their_tables_on_postgres() {
    if let Some(pg) = postgres_url() {
        owners_keep_their_tables(Some(&pg)).await;
    }
}

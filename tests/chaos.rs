//! Chaos (issue 19): under steady load, each process kind in turn is
//! killed outright (SIGKILL) and started again — the gateway, the city, a
//! township, the district, the department. Every submit the centre
//! acknowledged must reach each of its handlers exactly once, and nothing
//! may be left parked.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::*;

/// Where the load's complaints are (each a township's, copied to its district).
const ADDRESSES: [&str; 3] = ["1 Harbour Road", "21 Shore Street", "2 Pine Avenue"];

#[tokio::test]
async fn every_acknowledged_submit_arrives_once_while_each_process_kind_is_killed() {
    let store = &Store::preferred();
    let mut t = TestMesh::start(store, processes()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let c = t.client.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut retried = 0u32;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let req = fresh_complaint(ADDRESSES[i % 3]);
                // The caller's side of AIP-155: the same request, with the
                // same id, until it is acknowledged.
                let deadline = tokio::time::Instant::now() + WAIT;
                let order = loop {
                    match c.submit(req.clone()).await {
                        Ok(o) => break o,
                        Err(s) => {
                            assert!(
                                matches!(
                                    s.code(),
                                    tonic::Code::Unavailable
                                        | tonic::Code::Aborted
                                        | tonic::Code::DeadlineExceeded
                                        | tonic::Code::ResourceExhausted
                                        | tonic::Code::Unknown
                                        | tonic::Code::Cancelled
                                ),
                                "only transient refusals: {s:?}"
                            );
                            assert!(tokio::time::Instant::now() < deadline, "{s:?}");
                            retried += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                };
                acked.push(order);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acked, retried)
        })
    };
    for name in ["gateway", "city", "township", "district", "department"] {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        t.processes().kill(name).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        t.processes().restart(name, vec![]).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, Ordering::Relaxed);
    let (acked, retried) = load.await.unwrap();
    assert!(
        acked.len() > 50,
        "steady load: {} acknowledged",
        acked.len()
    );

    // Each acknowledged order reached its lead and its copy, once: one
    // DISPATCHED inbox event at each handler, for epoch 1.
    let c = &t.client;
    for o in &acked {
        for a in &o.assignments {
            c.wait_assignment(&a.unit_id, &o.order_id, 1, WAIT)
                .await
                .unwrap_or_else(|e| panic!("{} lost for {}: {e:?}", o.order_id, a.unit_id));
        }
    }
    let mut events = std::collections::BTreeMap::<(String, String), i64>::new();
    for service in ["township", "district"] {
        let db = hotline_store::Db::connect(&t.opts.db_url(service).unwrap(), 1, &[])
            .await
            .unwrap();
        let rows: Vec<(String, String, i64)> = hotline_store::sqlx::query_as(
            "SELECT unit_id, order_id, COUNT(*) FROM inbox_events \
             WHERE kind = 'DISPATCHED' AND epoch = 1 GROUP BY unit_id, order_id",
        )
        .fetch_all(&mut *db.acquire().await.unwrap())
        .await
        .unwrap();
        events.extend(rows.into_iter().map(|(u, o, n)| ((u, o), n)));
        db.close().await;
    }
    let (mut delivered, mut lost, mut doubled) = (0, 0, 0);
    for o in &acked {
        for a in &o.assignments {
            match events.get(&(a.unit_id.clone(), o.order_id.clone())) {
                Some(1) => delivered += 1,
                Some(_) => doubled += 1,
                None => lost += 1,
            }
        }
    }
    let parked = t.dead_letters().await;
    eprintln!(
        "chaos: acknowledged {}, handoffs delivered {delivered}, lost {lost}, doubled {doubled}, parked {}, submits retried {retried}",
        acked.len(),
        parked.len()
    );
    assert_eq!((lost, doubled), (0, 0), "every handoff once");
    assert!(parked.is_empty(), "{parked:?}");
    t.stop().await;
}

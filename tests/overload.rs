//! Back-pressure across real processes: a service past its in-flight
//! bound sheds with RESOURCE_EXHAUSTED and a retry hint, the calls it
//! admits complete, and every admitted complaint's handoffs arrive.

use std::collections::BTreeMap;

use futures::StreamExt;
use hotline_proto::v1::*;
use tonic_types::StatusExt as _;

use crate::support::*;

#[tokio::test]
async fn a_service_past_its_bound_sheds_and_what_it_admits_completes() {
    let store = &Store::preferred();
    // The centre admits 4 calls at once; 48 submits arrive together (under the first page of 50).
    let env = BTreeMap::from([(
        "city".to_string(),
        vec![("HOTLINE_MAX_IN_FLIGHT".to_string(), "4".to_string())],
    )]);
    let t = TestMesh::start(store, Spec { env, ..processes() }).await;
    let c = &t.client;
    let results: Vec<Result<Order, tonic::Status>> = futures::stream::iter(0..48)
        .map(|i| async move {
            let address = if i % 2 == 0 {
                "1 Harbour Road"
            } else {
                "21 Shore Street"
            };
            c.submit(fresh_complaint(address)).await
        })
        .buffer_unordered(48)
        .collect()
        .await;
    let mut admitted = Vec::new();
    let mut shed = 0;
    for r in results {
        match r {
            Ok(o) => admitted.push(o),
            Err(s) => {
                assert_eq!(s.code(), tonic::Code::ResourceExhausted, "{s:?}");
                assert!(s.message().contains("in flight"), "{s:?}");
                let hint = s.get_details_retry_info().expect("a retry hint");
                assert!(hint.retry_delay.is_some());
                shed += 1;
            }
        }
    }
    eprintln!(
        "overload: offered 48, admitted {}, shed {shed}",
        admitted.len()
    );
    assert!(shed > 0, "48 calls at once against a bound of 4 shed some");
    assert!(!admitted.is_empty(), "and admit some");
    assert_eq!(
        c.list_orders().await.unwrap().len(),
        admitted.len(),
        "a shed call stored nothing"
    );
    // Every admitted complaint reaches its township: the handoffs the
    // city sends through the same gateway are delivered, retried when a
    // receiver sheds.
    for o in &admitted {
        let unit = &o
            .assignments
            .iter()
            .find(|a| a.role == AssignmentRole::Lead as i32)
            .unwrap()
            .unit_id;
        c.wait_assignment(unit, &o.order_id, 1, WAIT).await.unwrap();
    }
    // Past the burst, a call is admitted at once.
    c.submit(submit(
        "road.pothole",
        "1 Harbour Road",
        RequestKind::Complaint,
    ))
    .await
    .unwrap();
    assert!(t.dead_letters().await.is_empty());
    t.stop().await;
}

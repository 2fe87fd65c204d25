//! `Ctx::apply_once` against a real SQLite database in a temp dir: the
//! effect happens once, a reused id is refused, a failed act leaves no
//! trace, and a concurrent duplicate loses with ABORTED.

use std::cell::Cell;
use std::sync::Arc;

use crate::tables::idempotency;
use crate::tables::misc;
use hotline_core::{ManualClock, Topology};
use hotline_proto::v1::{AcceptAssignmentRequest, RecordAssignmentEventResponse};
use hotline_store::Conn;
use hotline_store::testing::TestDb;
use tonic::Code;

use crate::error::{Result, ServiceError};
use crate::{Ctx, idem};

async fn ctx(dir: &std::path::Path) -> (Ctx, TestDb) {
    let topology = Topology::parse(
        "demo-city.toml",
        include_str!("../../../topology/demo-city.toml"),
    )
    .unwrap();
    let test = TestDb::new(None, dir, "apply-once", &[&crate::SCHEMA])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let ctx = Ctx::offline_city(test.db.clone(), Arc::new(topology), clock).unwrap();
    (ctx, test)
}

fn accept(request_id: &str, order_id: &str) -> AcceptAssignmentRequest {
    AcceptAssignmentRequest {
        request_id: request_id.into(),
        order_id: order_id.into(),
        epoch: 1,
    }
}

/// The effect: the next value of a counter, as the answer.
async fn count(conn: &mut Conn) -> Result<RecordAssignmentEventResponse> {
    let n = misc::next(conn, "effect").await?;
    Ok(RecordAssignmentEventResponse {
        order_seq: n as u64,
    })
}

/// How many times the effect has happened, read by making it once more.
async fn effects(ctx: &Ctx) -> i64 {
    let mut tx = ctx.db.begin().await.unwrap();
    let n = misc::next(&mut tx, "effect").await.unwrap();
    tx.rollback().await.unwrap();
    n - 1
}

#[tokio::test]
async fn the_effect_happens_once_and_the_first_answer_replays() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, test) = ctx(dir.path()).await;
    let scope = idem::scope("AcceptAssignment", "t1");
    let r = accept("r1", "HL1");
    let first = ctx
        .apply_once(&scope, &r.request_id, &r, async |c, _| count(c).await)
        .await
        .unwrap();
    assert_eq!(first.order_seq, 1);
    let ran = Cell::new(false);
    let again = ctx
        .apply_once(&scope, &r.request_id, &r, async |c, _| {
            ran.set(true);
            count(c).await
        })
        .await
        .unwrap();
    assert_eq!(again, first);
    assert!(!ran.get(), "a replay does not act");
    assert_eq!(effects(&ctx).await, 1);
    // The same id in another scope is another request.
    let other = idem::scope("AcceptAssignment", "t2");
    let there = ctx
        .apply_once(&other, &r.request_id, &r, async |c, _| count(c).await)
        .await
        .unwrap();
    assert_eq!(there.order_seq, 2);
    test.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_reused_id_is_refused_and_the_first_effect_stands() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, test) = ctx(dir.path()).await;
    let scope = idem::scope("AcceptAssignment", "t1");
    let r = accept("r1", "HL1");
    ctx.apply_once(&scope, &r.request_id, &r, async |c, _| count(c).await)
        .await
        .unwrap();
    let other = accept("r1", "HL2");
    let e = ctx
        .apply_once(&scope, &other.request_id, &other, async |c, _| {
            count(c).await
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::RequestIdReused { .. }), "{e}");
    assert_eq!(tonic::Status::from(e).code(), Code::AlreadyExists);
    assert_eq!(effects(&ctx).await, 1);
    test.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_failed_act_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, test) = ctx(dir.path()).await;
    let scope = idem::scope("AcceptAssignment", "t1");
    let r = accept("", "HL1");
    // No request id: refused before anything is done.
    let e = ctx
        .apply_once(&scope, &r.request_id, &r, async |c, _| count(c).await)
        .await
        .unwrap_err();
    assert_eq!(tonic::Status::from(e).code(), Code::InvalidArgument);
    let r = accept("r1", "HL1");
    let e = ctx
        .apply_once(&scope, &r.request_id, &r, async |c, now| {
            count(c).await?;
            assert_eq!(now, 1_000_000, "the act sees the clock's time");
            Err::<RecordAssignmentEventResponse, _>(ServiceError::FailedPrecondition("no".into()))
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::FailedPrecondition(_)), "{e}");
    assert_eq!(effects(&ctx).await, 0, "the effect rolled back");
    // Nothing was recorded: a retry acts.
    let done = ctx
        .apply_once(&scope, &r.request_id, &r, async |c, _| count(c).await)
        .await
        .unwrap();
    assert_eq!(done.order_seq, 1);
    test.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_concurrent_duplicate_loses_with_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let (ctx, test) = ctx(dir.path()).await;
    let scope = idem::scope("AcceptAssignment", "t1");
    let r = accept("r1", "HL1");
    // Another call with the same id records its answer while this one
    // acts (one SQLite writer: played inside the act).
    let e = ctx
        .apply_once(&scope, &r.request_id, &r, async |c, now| {
            let mut b = hotline_store::Batch::of(c);
            idempotency::put_into(&mut b, &scope, "r1", &idem::fingerprint(&r), &[], now)?;
            b.run(c).await?;
            count(c).await
        })
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Concurrent(_)), "{e}");
    assert_eq!(tonic::Status::from(e).code(), Code::Aborted);
    assert_eq!(effects(&ctx).await, 0);
    test.cleanup().await.unwrap();
}

/// The deliverer is woken by work that queued a message, and only by it:
/// an event that queues nothing, a retry answered from its record and a
/// failed act leave it asleep.
#[tokio::test]
async fn the_deliverer_is_woken_only_when_a_message_was_queued() {
    use futures::FutureExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (ctx, test) = ctx(dir.path()).await;
    let woken = || ctx.outbox.notify.notified().now_or_never().is_some();
    let scope = idem::scope("AcceptAssignment", "t1");
    let queue = async |c: &mut Conn, now| {
        let m = crate::tables::outbox::NewMessage {
            message_id: "m1",
            order_id: "HL1",
            from_unit: "t1",
            target_unit: "city",
            method: "/hotline.v1.DispatchService/RecordAssignmentEvent",
            payload: Vec::new(),
            trace_parent: "",
            baggage: "",
            handoff: hotline_core::kinds::HandoffKind::Dispatch,
        };
        crate::tables::outbox::enqueue(c, m, now).await?;
        count(c).await
    };

    let quiet = accept("r1", "HL1");
    ctx.apply_once(&scope, &quiet.request_id, &quiet, async |c, _| {
        count(c).await
    })
    .await
    .unwrap();
    assert!(!woken(), "nothing queued, nothing to deliver");

    let failed = accept("r2", "HL1");
    ctx.apply_once(&scope, &failed.request_id, &failed, async |c, now| {
        queue(c, now).await?;
        Err::<RecordAssignmentEventResponse, _>(ServiceError::invalid("x", "refused"))
    })
    .await
    .unwrap_err();
    assert!(!woken(), "the queued message rolled back");

    let queuing = accept("r3", "HL1");
    ctx.apply_once(&scope, &queuing.request_id, &queuing, queue)
        .await
        .unwrap();
    assert!(woken(), "a message to deliver");

    ctx.apply_once(&scope, &queuing.request_id, &queuing, queue)
        .await
        .unwrap();
    assert!(!woken(), "the retry is answered from its record");
    test.cleanup().await.unwrap();
}

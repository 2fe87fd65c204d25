//! One store test suite, run against SQLite and PostgreSQL alike.

// A test's helpers may unwrap (the panic is the failure); its ports and
// scratch names guard nothing, so fastrand is fine here.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use hotline_city::tables::assessment;
use hotline_city::tables::audit;
use hotline_city::tables::knowledge;
use hotline_city::tables::orders::{self, Callback, HistoryEntry, Location, Order};
use hotline_city::tables::proactive;
use hotline_city::tables::requester_tokens;
use hotline_city::tables::settings;
use hotline_core::{
    AssignmentState, Channel, Disposition, Mood, ObjectionState, OrderState, ReplyOutcome,
    RequestKind, Role, RulingKind, Satisfaction, Urgency,
};
use hotline_handler::tables::inbox_events;
use hotline_handler::tables::part_reports;
use hotline_runtime::tables::assignments::{self, Assignment};
use hotline_runtime::tables::idempotency;
use hotline_runtime::tables::misc;
use hotline_runtime::tables::objections;
use hotline_runtime::tables::outbox;
use hotline_runtime::tables::timers;
use hotline_store::testing::{TestDb, drop_url, postgres_url};
use hotline_store::{Db, Schema};

/// Every owner's tables: the suite reads and writes them all.
const EVERY: [&Schema; 3] = [
    &hotline_runtime::SCHEMA,
    &hotline_city::SCHEMA,
    &hotline_handler::SCHEMA,
];

/// Runs each test body on a fresh SQLite database and a fresh PostgreSQL one.
macro_rules! store_suite {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::run(false, super::$name).await })+
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::run(true, super::$name).await })+
        }
    };
}

store_suite!(
    migrations_are_idempotent,
    old_runner_databases_are_refused,
    idempotency_records_first_answer,
    requester_tokens_open_one_order_until_revoked,
    outbox_delivers_in_order_and_parks,
    outbox_replays_dead_letters,
    outbox_due_skips_lanes_backing_off,
    orders_round_trip_with_history,
    orders_keep_their_location,
    assignments_upsert_list_and_figures,
    counters_and_settings,
    rolled_back_transaction_leaves_nothing,
    trace_context_is_kept_with_the_work,
    disputes_round_trip,
    proactive_record_reads_requests_not_tasks,
    assessment_reads_one_period,
    inbox_events_replay_prune_and_horizon,
    audit_and_knowledge_round_trip,
    a_batch_writes_what_its_statements_write,
);

async fn run<F, Fut>(postgres: bool, body: F)
where
    F: FnOnce(Db, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let pg = if postgres {
        match postgres_url() {
            Some(u) => Some(u),
            None => return,
        }
    } else {
        None
    };
    let dir = tempfile::tempdir().unwrap();
    let t = TestDb::new(pg.as_deref(), dir.path(), "store", &EVERY)
        .await
        .unwrap();
    body(t.db.clone(), t.url.clone()).await;
    t.cleanup().await.unwrap();
}

async fn migrations_are_idempotent(db: Db, url: String) {
    // A second open of the same database migrates nothing and keeps data.
    let mut c = db.acquire().await.unwrap();
    settings::setting_or_insert(&mut c, "k", "v").await.unwrap();
    drop(c);
    let again = Db::connect(&url, 2, &EVERY).await.unwrap();
    let mut c = again.acquire().await.unwrap();
    assert_eq!(
        settings::setting(&mut c, "k").await.unwrap().as_deref(),
        Some("v")
    );
    drop(c);
    again.close().await;
}

/// A database the runner before `sqlx::migrate!` made (it kept a
/// `schema_migrations` table) is refused, naming it, and left untouched.
async fn old_runner_databases_are_refused(db: Db, url: String) {
    let name = url.rsplit('/').next().unwrap().to_string();
    let old = url.replace(&name, &format!("old-{name}"));
    let fresh = Db::connect(&old, 1, &[]).await.unwrap();
    sqlx::raw_sql("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)")
        .execute(fresh.pool())
        .await
        .unwrap();
    fresh.close().await;
    let e = Db::connect(&old, 1, &EVERY).await.unwrap_err().to_string();
    assert!(
        e.contains("schema_migrations") && e.contains(&format!("old-{name}")),
        "{e}"
    );
    let opened = Db::connect(&old, 1, &[]).await.unwrap_err().to_string();
    assert_eq!(opened, e, "refused whatever the caller migrates");
    drop_url(&old).await.unwrap();
    // Its own database is not an old one.
    assert!(db.has_table("_sqlx_migrations").await.unwrap());
    assert!(!db.has_table("schema_migrations").await.unwrap());
}

async fn idempotency_records_first_answer(db: Db, _: String) {
    let mut tx = db.begin().await.unwrap();
    assert_eq!(
        idempotency::get(&mut tx, "accept:t1", "r1").await.unwrap(),
        None
    );
    let mut b = hotline_store::Batch::of(&tx);
    idempotency::put_into(&mut b, "accept:t1", "r1", b"request A", b"first", 10).unwrap();
    b.run(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let first = idempotency::Record {
        response: b"first".to_vec(),
        fingerprint: Some(b"request A".to_vec()),
    };
    assert_eq!(
        idempotency::get(&mut c, "accept:t1", "r1").await.unwrap(),
        Some(first.clone())
    );
    // The same id in another scope is another request.
    assert_eq!(
        idempotency::get(&mut c, "accept:t2", "r1").await.unwrap(),
        None
    );
    // A second record of the id, for any request, loses; the first stands.
    let mut b = hotline_store::Batch::of(&c);
    idempotency::put_into(&mut b, "accept:t1", "r1", b"request B", b"second", 11).unwrap();
    let e = b.run(&mut c).await.unwrap_err();
    assert!(e.is_conflict(), "{e}");
    assert_eq!(
        idempotency::get(&mut c, "accept:t1", "r1").await.unwrap(),
        Some(first)
    );
    assert_eq!(idempotency::prune(&mut c, 11).await.unwrap(), 1);
}

async fn requester_tokens_open_one_order_until_revoked(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    let grant = |order: &str| requester_tokens::Grant {
        order_id: order.into(),
        created_us: 10,
        expires_us: 100,
        revoked_us: None,
    };
    requester_tokens::insert(&mut c, "h1", &grant("HL1"))
        .await
        .unwrap();
    requester_tokens::insert(&mut c, "h2", &grant("HL1"))
        .await
        .unwrap();
    requester_tokens::insert(&mut c, "h3", &grant("HL2"))
        .await
        .unwrap();
    assert_eq!(
        requester_tokens::get(&mut c, "h1").await.unwrap(),
        Some(grant("HL1"))
    );
    assert_eq!(requester_tokens::get(&mut c, "nope").await.unwrap(), None);
    // A hash is one credential.
    let e = requester_tokens::insert(&mut c, "h1", &grant("HL2"))
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e}");

    // Revoking one keeps its first revocation time.
    assert!(requester_tokens::revoke(&mut c, "h1", 20).await.unwrap());
    assert!(requester_tokens::revoke(&mut c, "h1", 30).await.unwrap());
    assert!(!requester_tokens::revoke(&mut c, "nope", 30).await.unwrap());
    let revoked = requester_tokens::get(&mut c, "h1").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_us, Some(20));
    // Revoking an order's credentials leaves other orders' alone.
    assert_eq!(
        requester_tokens::revoke_order(&mut c, "HL1", 40)
            .await
            .unwrap(),
        1
    );
    let h2 = requester_tokens::get(&mut c, "h2").await.unwrap().unwrap();
    assert_eq!(h2.revoked_us, Some(40));
    let h3 = requester_tokens::get(&mut c, "h3").await.unwrap().unwrap();
    assert_eq!(h3.revoked_us, None);
}

fn msg<'a>(id: &'a str, target: &'a str) -> outbox::NewMessage<'a> {
    outbox::NewMessage {
        message_id: id,
        order_id: "HL1",
        from_unit: "city",
        target_unit: target,
        method: "/hotline.v1.DispatchService/DeliverAssignment",
        payload: id.as_bytes().to_vec(),
        trace_parent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        baggage: "hotline.order_id=HL1",
        handoff: hotline_core::kinds::HandoffKind::Dispatch,
    }
}

/// A lane whose head backs off holds back only itself: the others' due
/// messages come first, a batch holds nothing that must wait, and the wait
/// is the head's.
async fn outbox_due_skips_lanes_backing_off(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    for (id, target) in [("a1", "t1"), ("a2", "t1"), ("b1", "t2"), ("c1", "t3")] {
        outbox::enqueue(&mut c, msg(id, target), 100).await.unwrap();
    }
    let all = outbox::pending(&mut c, 10).await.unwrap();
    // t1's head and t3's only message back off until 500.
    outbox::retry_later(&mut c, all[0].id, 500, "unavailable", 150)
        .await
        .unwrap();
    outbox::retry_later(&mut c, all[3].id, 500, "unavailable", 150)
        .await
        .unwrap();
    let ids = |d: &outbox::Due| {
        d.messages
            .iter()
            .map(|m| m.message_id.clone())
            .collect::<Vec<_>>()
    };
    // The wait comes with the batch: the heads backing off are due at 500.
    let at_200 = outbox::due(&mut c, 200, 10).await.unwrap();
    assert_eq!(ids(&at_200), ["b1"]);
    assert_eq!(at_200.next, Some(500));
    assert_eq!(outbox::next_attempt(&mut c, 200).await.unwrap(), Some(500));
    // At 500 every lane is due again, in order, and nothing waits.
    let at_500 = outbox::due(&mut c, 500, 10).await.unwrap();
    assert_eq!(ids(&at_500), ["a1", "a2", "b1", "c1"]);
    assert_eq!(at_500.next, None);
    assert_eq!(outbox::next_attempt(&mut c, 500).await.unwrap(), None);
    assert_eq!(
        ids(&outbox::due(&mut c, 500, 2).await.unwrap()),
        ["a1", "a2"]
    );
    // With b1 sent, nothing is due at 200: the wait comes alone.
    outbox::delivered_all(&mut c, &[all[2].id]).await.unwrap();
    let idle = outbox::due(&mut c, 200, 10).await.unwrap();
    assert!(idle.messages.is_empty());
    assert_eq!(idle.next, Some(500));
}

async fn outbox_delivers_in_order_and_parks(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    outbox::enqueue(&mut c, msg("m1", "t1"), 100).await.unwrap();
    outbox::enqueue(&mut c, msg("m2", "t2"), 101).await.unwrap();
    // Enqueueing a message id again changes nothing.
    outbox::enqueue(&mut c, msg("m1", "t9"), 102).await.unwrap();
    let p = outbox::pending(&mut c, 10).await.unwrap();
    assert_eq!(
        p.iter().map(|m| m.message_id.as_str()).collect::<Vec<_>>(),
        ["m1", "m2"]
    );
    assert_eq!(p[0].target_unit, "t1");
    assert_eq!(p[0].payload, b"m1");
    assert_eq!(outbox::depth(&mut c).await.unwrap(), 2);

    outbox::retry_later(&mut c, p[0].id, 500, "unavailable", 150)
        .await
        .unwrap();
    outbox::retry_later(&mut c, p[0].id, 700, "unavailable", 550)
        .await
        .unwrap();
    let p = outbox::pending(&mut c, 10).await.unwrap();
    assert_eq!((p[0].attempts, p[0].next_attempt_us), (2, 700));
    assert_eq!(p[0].last_error.as_deref(), Some("unavailable"));
    assert_eq!(p[0].first_failed_us, Some(150), "the first failure is kept");
    assert_eq!(p[1].first_failed_us, None);

    outbox::delivered(&mut c, p[0].id).await.unwrap();
    let refused = outbox::ParkReason::Refused;
    outbox::park(
        &mut c,
        &p[1],
        "FAILED_PRECONDITION",
        "stale epoch",
        refused,
        900,
    )
    .await
    .unwrap();
    assert_eq!(outbox::depth(&mut c).await.unwrap(), 0);
    let dead = outbox::dead_letters(&mut c).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id, "m2");
    assert_eq!(dead[0].code, "FAILED_PRECONDITION");
    assert_eq!((dead[0].parked_us, dead[0].attempts), (900, 1));
    assert_eq!(dead[0].reason, outbox::ParkReason::Refused);
}

/// Parked messages go back to the outbox by id, by target or all, due at
/// once with their attempts reset and everything a delivery needs; a
/// replay run again puts nothing back twice.
async fn outbox_replays_dead_letters(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    for (id, target) in [("d1", "t1"), ("d2", "t1"), ("d3", "t2"), ("d4", "t3")] {
        outbox::enqueue(&mut c, msg(id, target), 100).await.unwrap();
    }
    let poison = outbox::ParkReason::RetriesExhausted;
    for (i, m) in outbox::pending(&mut c, 10)
        .await
        .unwrap()
        .iter()
        .enumerate()
    {
        outbox::park(&mut c, m, "UNAVAILABLE", "down", poison, 900 + i as i64)
            .await
            .unwrap();
    }
    assert_eq!(outbox::depth(&mut c).await.unwrap(), 0);
    let ids = |v: Vec<outbox::Message>| v.into_iter().map(|m| m.message_id).collect::<Vec<_>>();
    let dead_ids =
        |v: Vec<outbox::DeadLetter>| v.into_iter().map(|m| m.message_id).collect::<Vec<_>>();

    let one = outbox::replay(&mut c, outbox::Replay::Message("d3"), 2_000)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let back = outbox::pending(&mut c, 10).await.unwrap();
    assert_eq!(ids(back.clone()), ["d3"]);
    let m = &back[0];
    assert_eq!(
        (m.attempts, m.next_attempt_us, m.first_failed_us),
        (0, 2_000, None)
    );
    assert_eq!((m.order_id.as_str(), m.target_unit.as_str()), ("HL1", "t2"));
    assert_eq!(m.payload, b"d3");
    assert_eq!(m.handoff, hotline_core::kinds::HandoffKind::Dispatch);
    assert_eq!(m.trace_parent, msg("d3", "t2").trace_parent);
    assert_eq!(
        dead_ids(outbox::dead_letters(&mut c).await.unwrap()),
        ["d1", "d2", "d4"]
    );

    let t1 = outbox::replay(&mut c, outbox::Replay::Target("t1"), 2_100)
        .await
        .unwrap();
    assert_eq!(t1, 2);
    assert_eq!(
        ids(outbox::pending(&mut c, 10).await.unwrap()),
        ["d3", "d1", "d2"]
    );
    // Again: nothing is parked for t1 any more, nothing doubles.
    let again = outbox::replay(&mut c, outbox::Replay::Target("t1"), 2_200)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(outbox::depth(&mut c).await.unwrap(), 3);

    let rest = outbox::replay(&mut c, outbox::Replay::All, 2_300)
        .await
        .unwrap();
    assert_eq!(rest, 1);
    assert!(outbox::dead_letters(&mut c).await.unwrap().is_empty());
    assert_eq!(outbox::depth(&mut c).await.unwrap(), 4);
    assert_eq!(
        outbox::replay(&mut c, outbox::Replay::All, 2_400)
            .await
            .unwrap(),
        0
    );
}

fn order(id: &str) -> Order {
    Order {
        order_id: id.into(),
        state: OrderState::Dispatched,
        kind: RequestKind::Complaint,
        channel: Channel::Phone,
        category_code: "road.pothole".into(),
        urgency: Urgency::General,
        catalogue_version: "1".into(),
        address: "1 Main St".into(),
        body: "a pothole, call 13800000000".into(),
        requester_ref: "rq-abc".into(),
        territory_unit: "t1".into(),
        received_us: 1_000,
        due_us: 2_000,
        answer: String::new(),
        seq: 1,
        reopen_count: 0,
        callback: None,
        closed_us: None,
        disposition: None,
        duplicate_of: String::new(),
        redirect_count: 0,
        bounce_limit_reached: false,
        designated_unit: String::new(),
        overdue: false,
        deadline_provisional: false,
        mark: None,
        mark_reason: String::new(),
        urge_count: 0,
        location: None,
        community_unit: String::new(),
        near_boundary_units: Vec::new(),
        trace_parent: String::new(),
        mood: None,
    }
}

async fn orders_keep_their_location(db: Db, _: String) {
    let mut near = order("HL7");
    near.location = Some(Location {
        latitude: 39.949_587_5,
        longitude: 116.242_987_5,
    });
    near.community_unit = "c-market-east".into();
    near.near_boundary_units = vec!["c-harbour-south".into(), "t-harbour".into()];
    // Without a location first, on the same connection: sqlx's Any driver
    // types a NULL f64 as float4, which a cached statement would keep.
    let mut c = db.acquire().await.unwrap();
    orders::insert(&mut c, &order("HL8")).await.unwrap();
    orders::insert(&mut c, &near).await.unwrap();
    assert_eq!(orders::get(&mut c, "HL7").await.unwrap(), Some(near));
    let plain = orders::get(&mut c, "HL8").await.unwrap().unwrap();
    assert_eq!(plain.location, None);
    assert!(plain.community_unit.is_empty() && plain.near_boundary_units.is_empty());
}

async fn orders_round_trip_with_history(db: Db, _: String) {
    let mut tx = db.begin().await.unwrap();
    orders::insert(&mut tx, &order("HL1")).await.unwrap();
    orders::insert(&mut tx, &order("HL2")).await.unwrap();
    orders::upsert_requester(&mut tx, "rq-abc", "Zhang San", "13800000000", 5)
        .await
        .unwrap();
    for (seq, action) in [(1, "received"), (2, "dispatched")] {
        let e = HistoryEntry {
            seq,
            time_us: seq * 10,
            actor_unit: "city".into(),
            action: action.into(),
            detail: String::new(),
        };
        orders::append_history(&mut tx, "HL1", &e).await.unwrap();
    }
    // Several lines in one statement come back in sequence order.
    let batch: Vec<HistoryEntry> = ["received", "classified", "answered"]
        .iter()
        .zip(1..)
        .map(|(action, seq)| HistoryEntry {
            seq,
            time_us: 7,
            actor_unit: "city".into(),
            action: action.to_string(),
            detail: format!("line {seq}"),
        })
        .collect();
    orders::append_history_all(&mut tx, "HL2", &batch)
        .await
        .unwrap();
    orders::append_history_all(&mut tx, "HL2", &[])
        .await
        .unwrap();
    assert_eq!(orders::history(&mut tx, "HL2").await.unwrap(), batch);
    tx.commit().await.unwrap();

    let mut tx = db.begin().await.unwrap();
    // The lock reads the order it takes, in the same statement; an order
    // that is not there is neither locked nor read.
    assert_eq!(orders::lock(&mut tx, "HL404").await.unwrap(), None);
    let mut o = orders::lock(&mut tx, "HL1").await.unwrap().unwrap();
    assert_eq!(o, order("HL1"));
    o.state = OrderState::Closed;
    o.seq = 5;
    o.callback = Some(Callback {
        resolved: true,
        satisfaction: Satisfaction::BasicallySatisfied,
        time_us: 3_000,
    });
    o.closed_us = Some(3_000);
    orders::update(&mut tx, &o).await.unwrap();
    tx.commit().await.unwrap();

    let mut c = db.acquire().await.unwrap();
    assert_eq!(orders::get(&mut c, "HL1").await.unwrap(), Some(o));
    assert_eq!(orders::get(&mut c, "HL9").await.unwrap(), None);
    let h = orders::history(&mut c, "HL1").await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["received", "dispatched"]
    );
    let closed = orders::list(&mut c, Some(OrderState::Closed), "", 10)
        .await
        .unwrap();
    assert_eq!(closed.len(), 1);
    let page = orders::list(&mut c, None, "HL1", 10).await.unwrap();
    assert_eq!(
        page.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(),
        ["HL2"]
    );
    // HL2 is dispatched and due at 2000; HL1 closed resolved.
    assert_eq!(
        orders::overdue_and_resolved(&mut c, 2_001).await.unwrap(),
        (1, 1)
    );
    assert_eq!(
        orders::overdue_and_resolved(&mut c, 1_999).await.unwrap(),
        (0, 1)
    );
    let by_state = orders::count_by_state(&mut c).await.unwrap();
    assert_eq!(
        by_state,
        vec![("closed".to_string(), 1), ("dispatched".to_string(), 1)]
    );

    let contact = orders::Contact {
        contact_id: "ct1".into(),
        order_id: "HL1".into(),
        unit_id: "t1".into(),
        epoch: 1,
        time_us: 7,
        purpose: "confirm the location".into(),
    };
    orders::insert_contact(&mut c, &contact).await.unwrap();
    assert_eq!(
        orders::contacts(&mut c, "HL1").await.unwrap(),
        vec![contact]
    );
}

fn assignment(order_id: &str, unit: &str, state: AssignmentState, due: i64) -> Assignment {
    Assignment {
        order_seq: 1,
        dispatched_us: 10,
        category_code: "road.pothole".into(),
        address: "1 Main St".into(),
        body: "text".into(),
        requester_ref: "rq".into(),
        ..Assignment::lead(order_id, unit, state, due)
    }
}

async fn assignments_upsert_list_and_figures(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    assignments::upsert(
        &mut c,
        &assignment("HL1", "t1", AssignmentState::Dispatched, 50),
    )
    .await
    .unwrap();
    assignments::upsert(
        &mut c,
        &assignment("HL2", "t1", AssignmentState::Accepted, 500),
    )
    .await
    .unwrap();
    assignments::upsert(
        &mut c,
        &assignment("HL1", "d1", AssignmentState::Dispatched, 50),
    )
    .await
    .unwrap();
    let mut replied = assignment("HL3", "t1", AssignmentState::Replied, 50);
    replied.outcome = Some(hotline_core::ReplyOutcome::Resolved);
    replied.replied_us = Some(40);
    assignments::upsert(&mut c, &replied).await.unwrap();

    // Upsert replaces the (order, unit) row: a new epoch.
    let mut next = assignment("HL1", "t1", AssignmentState::Dispatched, 60);
    next.epoch = 2;
    assignments::upsert(&mut c, &next).await.unwrap();
    assert_eq!(
        assignments::get(&mut c, "HL1", "t1").await.unwrap(),
        Some(next)
    );
    assert_eq!(
        assignments::get(&mut c, "HL3", "t1").await.unwrap(),
        Some(replied)
    );
    assert_eq!(
        assignments::for_order(&mut c, "HL1").await.unwrap().len(),
        2
    );

    let all = assignments::list_for_unit(&mut c, "t1", None, "", 2)
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|a| a.order_id.as_str()).collect::<Vec<_>>(),
        ["HL1", "HL2"]
    );
    let rest = assignments::list_for_unit(&mut c, "t1", None, "HL2", 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    let accepted =
        assignments::list_for_unit(&mut c, "t1", Some(AssignmentState::Accepted), "", 10)
            .await
            .unwrap();
    assert_eq!(accepted.len(), 1);

    let f = assignments::unit_figures(&mut c, "t1", 100).await.unwrap();
    assert_eq!(f.total, 3);
    assert_eq!(
        f.overdue, 1,
        "HL1 is due at 60 and open at 100; HL2 is due later; HL3 is replied"
    );
    assert_eq!(f.resolved, 1);
}

async fn counters_and_settings(db: Db, _: String) {
    let mut tx = db.begin().await.unwrap();
    assert_eq!(misc::next(&mut tx, "order").await.unwrap(), 1);
    assert_eq!(misc::next(&mut tx, "order").await.unwrap(), 2);
    assert_eq!(misc::next(&mut tx, "contact").await.unwrap(), 1);
    assert_eq!(
        settings::setting_or_insert(&mut tx, "key", "a")
            .await
            .unwrap(),
        "a"
    );
    assert_eq!(
        settings::setting_or_insert(&mut tx, "key", "b")
            .await
            .unwrap(),
        "a"
    );
    let c = misc::Coordination {
        coordination_id: "co1".into(),
        order_id: "HL1".into(),
        from_unit: "t1".into(),
        to_unit: "d1".into(),
        reason: "needs the district".into(),
        time_us: 9,
        answer: String::new(),
        answered_us: None,
    };
    misc::insert_coordination(&mut tx, &c).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = db.acquire().await.unwrap();
    assert_eq!(
        misc::list_coordinations(&mut conn, "d1", "", 10)
            .await
            .unwrap(),
        vec![c]
    );
    assert!(
        misc::list_coordinations(&mut conn, "d2", "", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let answered = misc::answer_coordination(&mut conn, "co1", "d1", "site meeting on Monday", 50)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (answered.answer.as_str(), answered.answered_us),
        ("site meeting on Monday", Some(50))
    );
    assert!(
        misc::answer_coordination(&mut conn, "co1", "d2", "x", 51)
            .await
            .unwrap()
            .is_none(),
        "only the asked unit answers"
    );
}

async fn rolled_back_transaction_leaves_nothing(db: Db, _: String) {
    let mut tx = db.begin().await.unwrap();
    orders::insert(&mut tx, &order("HL7")).await.unwrap();
    outbox::enqueue(&mut tx, msg("m7", "t1"), 1).await.unwrap();
    tx.rollback().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    assert_eq!(orders::get(&mut c, "HL7").await.unwrap(), None);
    assert_eq!(outbox::depth(&mut c).await.unwrap(), 0);
}

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// What the runtime installs: the context of the work in hand.
fn current_context() -> (String, String) {
    (PARENT.into(), "hotline.order_id=HL1".into())
}

async fn trace_context_is_kept_with_the_work(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    // An outbox row keeps the context it was queued with, and its kind.
    outbox::enqueue(&mut c, msg("m1", "t1"), 100).await.unwrap();
    let m = outbox::pending(&mut c, 10).await.unwrap().remove(0);
    assert_eq!(
        (
            m.trace_parent.as_str(),
            m.baggage.as_str(),
            m.handoff.as_str()
        ),
        (PARENT, "hotline.order_id=HL1", "dispatch")
    );
    // A timer keeps the context of the work that armed it.
    hotline_runtime::tables::context::install(current_context);
    let arm = timers::Arm {
        timer_id: "breach:HL1:t1:1",
        kind: hotline_core::kinds::TimerKind::Breach,
        order_id: "HL1",
        unit_id: "t1",
        epoch: 1,
        due_us: 500,
        payload: "",
    };
    timers::arm(&mut c, arm, 100).await.unwrap();
    let t = timers::get(&mut c, "breach:HL1:t1:1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.trace_parent, PARENT);
    assert_eq!(timers::counts(&mut c, 499).await.unwrap(), (1, 0));
    assert_eq!(timers::counts(&mut c, 500).await.unwrap(), (1, 1));
    // Several armed at once; one already armed is moved, not doubled.
    let moved = timers::Arm { due_us: 900, ..arm };
    let accept = timers::Arm {
        timer_id: "accept:HL1:t1:1",
        kind: hotline_core::kinds::TimerKind::Accept,
        due_us: 300,
        ..arm
    };
    timers::arm_all(&mut c, &[moved, accept], 200)
        .await
        .unwrap();
    let due = |t: Option<timers::Timer>| t.map(|t| t.due_us);
    let breach = timers::get(&mut c, "breach:HL1:t1:1").await.unwrap();
    assert_eq!(due(breach), Some(900));
    let accept = timers::get(&mut c, "accept:HL1:t1:1").await.unwrap();
    assert_eq!(due(accept), Some(300));
    assert_eq!(timers::counts(&mut c, 899).await.unwrap(), (2, 1));
    // A kind no enum names is corrupt data, reported with its column.
    sqlx::query("UPDATE timers SET kind = 'later' WHERE timer_id = 'accept:HL1:t1:1'")
        .execute(&mut *c)
        .await
        .unwrap();
    let err = timers::get(&mut c, "accept:HL1:t1:1").await.unwrap_err();
    assert!(err.to_string().contains("timers.kind"), "{err}");
    timers::cancel_one(&mut c, "accept:HL1:t1:1").await.unwrap();
    sqlx::query("DELETE FROM timers WHERE timer_id = 'accept:HL1:t1:1'")
        .execute(&mut *c)
        .await
        .unwrap();
    // An assignment keeps the first trace it was stored with.
    let mut a = assignment("HL1", "t1", AssignmentState::Dispatched, 50);
    a.trace_parent = PARENT.into();
    assignments::upsert(&mut c, &a).await.unwrap();
    a.trace_parent = "00-11111111111111111111111111111111-2222222222222222-01".into();
    a.state = AssignmentState::Accepted;
    assignments::upsert(&mut c, &a).await.unwrap();
    let stored = assignments::get(&mut c, "HL1", "t1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.trace_parent.as_str(), stored.state),
        (PARENT, AssignmentState::Accepted)
    );
}

async fn disputes_round_trip(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    // Dispositions, the duplicate link and the bounce count survive a
    // round trip; recent orders of a requester are found by pseudonym.
    let mut dup = order("HL2");
    dup.state = OrderState::Disposed;
    dup.disposition = Some(Disposition::Duplicate);
    dup.duplicate_of = "HL1".into();
    dup.received_us = 5_000;
    orders::insert(&mut c, &order("HL1")).await.unwrap();
    orders::insert(&mut c, &dup).await.unwrap();
    let mut o = order("HL1");
    o.redirect_count = 3;
    o.bounce_limit_reached = true;
    o.designated_unit = "t2".into();
    o.category_code = "noise".into();
    o.urgency = Urgency::Complex;
    o.due_us = 9_000;
    o.deadline_provisional = true;
    o.mark = Some(hotline_core::RequestMark::Malicious);
    o.mark_reason = "abusive calls".into();
    orders::update(&mut c, &o).await.unwrap();
    assert_eq!(orders::get(&mut c, "HL1").await.unwrap(), Some(o));
    assert_eq!(orders::get(&mut c, "HL2").await.unwrap(), Some(dup));
    let recent = orders::recent_for_requester(&mut c, "rq-abc", 2_000, i64::MAX)
        .await
        .unwrap();
    assert_eq!(
        recent
            .iter()
            .map(|o| o.order_id.as_str())
            .collect::<Vec<_>>(),
        ["HL2"]
    );

    let mut a = assignment("HL1", "t2", AssignmentState::Dispatched, 50);
    a.designated = true;
    a.lead_unit = "t1".into();
    assignments::upsert(&mut c, &a).await.unwrap();
    assert_eq!(
        assignments::get(&mut c, "HL1", "t2").await.unwrap(),
        Some(a)
    );

    let mut ob = objections::Objection {
        objection_id: "OB1".into(),
        order_id: "HL1".into(),
        unit_id: "t1".into(),
        epoch: 1,
        role: Role::Lead,
        reason: "across the boundary".into(),
        proposed_unit: "t2".into(),
        objected_us: 10,
        authority_unit: "d1".into(),
        ruling_due_us: 20,
        state: ObjectionState::Pending,
        ruling: None,
        ruling_unit: String::new(),
        ruled_by: String::new(),
        ruled_us: None,
        ruling_note: String::new(),
    };
    objections::upsert(&mut c, &ob).await.unwrap();
    ob.state = ObjectionState::Ruled;
    ob.ruling = Some(RulingKind::Redirect);
    ob.ruling_unit = "t2".into();
    ob.ruled_by = "d1".into();
    ob.ruled_us = Some(15);
    objections::upsert(&mut c, &ob).await.unwrap();
    assert_eq!(
        objections::get(&mut c, "OB1").await.unwrap(),
        Some(ob.clone())
    );
    let f = |authority, state| objections::Filter {
        authority_unit: authority,
        state,
        order_id: None,
    };
    let listed = objections::list(&mut c, &f(Some("d1"), None), "", 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![ob]);
    let pending = f(None, Some(ObjectionState::Pending));
    assert!(
        objections::list(&mut c, &pending, "", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        objections::list(&mut c, &f(Some("d2"), None), "", 10)
            .await
            .unwrap()
            .is_empty()
    );

    let part = part_reports::PartReport {
        order_id: "HL1".into(),
        lead_unit: "t1".into(),
        unit_id: "c1".into(),
        epoch: 1,
        role: Role::Assist,
        outcome: ReplyOutcome::Resolved,
        body: "bins moved".into(),
        time_us: 30,
    };
    part_reports::put_part(&mut c, &part).await.unwrap();
    part_reports::put_part(&mut c, &part).await.unwrap();
    assert_eq!(
        part_reports::parts(&mut c, "HL1", "t1").await.unwrap(),
        vec![part]
    );
    assert!(
        part_reports::parts(&mut c, "HL1", "t2")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn proactive_record_reads_requests_not_tasks(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    // Three requests at 1_000, 2_000 and 3_000 (one angry, one objected
    // to, one whistled) and a task at 2_500.
    let mut angry = order("HL1");
    angry.mood = Some(Mood::Angry);
    angry.category_code = "heating.no_heat".into();
    angry.community_unit = "c1".into();
    let mut disputed = order("HL2");
    disputed.received_us = 2_000;
    let mut whistled = order("HL3");
    whistled.received_us = 3_000;
    let mut task = order("HL4");
    task.kind = RequestKind::ProactiveTask;
    task.requester_ref = String::new();
    task.received_us = 2_500;
    task.category_code = "heating.no_heat".into();
    for o in [&angry, &disputed, &whistled, &task] {
        orders::insert(&mut c, o).await.unwrap();
    }
    assert_eq!(
        orders::get(&mut c, "HL1").await.unwrap(),
        Some(angry.clone())
    );
    let ob = objections::Objection {
        objection_id: "OB1".into(),
        order_id: "HL2".into(),
        unit_id: "t1".into(),
        epoch: 1,
        role: Role::Lead,
        reason: "not ours".into(),
        proposed_unit: String::new(),
        objected_us: 2_100,
        authority_unit: "city".into(),
        ruling_due_us: 9_000,
        state: ObjectionState::Pending,
        ruling: None,
        ruling_unit: String::new(),
        ruled_by: String::new(),
        ruled_us: None,
        ruling_note: String::new(),
    };
    objections::upsert(&mut c, &ob).await.unwrap();
    let whistle = HistoryEntry {
        seq: 2,
        time_us: 3_100,
        actor_unit: "d1".into(),
        action: "co_handler_added".into(),
        detail: String::new(),
    };
    orders::append_history(&mut c, "HL3", &whistle)
        .await
        .unwrap();

    let got = proactive::requests_between(&mut c, 1_000, 3_000)
        .await
        .unwrap();
    let marks: Vec<(&str, bool, bool)> = got
        .iter()
        .map(|r| (r.order.order_id.as_str(), r.disputed, r.escalated))
        .collect();
    // [1_000, 3_000): the task and the request at 3_000 are left out.
    assert_eq!(marks, [("HL1", false, false), ("HL2", true, false)]);
    assert_eq!(got[0].order, angry);
    let all = proactive::requests_between(&mut c, 0, 10_000)
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[2].escalated && !all[2].disputed);
    let places = proactive::places_of(&mut c, "heating.no_heat", 0, 10_000)
        .await
        .unwrap();
    assert_eq!(places, vec![("t1".to_string(), "c1".to_string())]);

    let t = proactive::Task {
        order_id: "HL4".into(),
        issuer_unit: "d1".into(),
        area_unit: "t1".into(),
        created_us: 2_500,
    };
    proactive::insert_task(&mut c, &t).await.unwrap();
    assert_eq!(
        proactive::get_task(&mut c, "HL4").await.unwrap(),
        Some(t.clone())
    );
    assert_eq!(proactive::get_task(&mut c, "HL1").await.unwrap(), None);
    assert_eq!(
        proactive::list_tasks(&mut c, "", 10).await.unwrap(),
        vec![t]
    );
    assert!(
        proactive::list_tasks(&mut c, "HL4", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn assessment_reads_one_period(db: Db, _: String) {
    use hotline_core::scoring::{Basis, Mark};
    let mut c = db.acquire().await.unwrap();
    // The period is [100, 200).
    let mut bounced = order("HL1");
    bounced.bounce_limit_reached = true;
    orders::insert(&mut c, &bounced).await.unwrap();
    orders::insert(&mut c, &order("HL2")).await.unwrap();
    let at = |order: &str, unit: &str, dispatched: i64| {
        let mut a = assignment(order, unit, AssignmentState::Replied, 500);
        a.dispatched_us = dispatched;
        a.accepted_us = Some(dispatched + 1);
        a
    };
    let mut copy = at("HL1", "d1", 150);
    copy.role = Role::Copy;
    let mut handed = at("HL1", "c1", 150);
    handed.lead_unit = "t1".into();
    let mut revoked = at("HL2", "t9", 150);
    revoked.state = AssignmentState::Revoked;
    for a in [
        at("HL1", "t1", 150),
        at("HL1", "p1", 150), // dual dispatch
        at("HL2", "t2", 99),  // the month before
        copy,
        handed,
        revoked,
    ] {
        assignments::upsert(&mut c, &a).await.unwrap();
    }
    for (n, resolved, s, t) in [
        (1, false, Satisfaction::Dissatisfied, 120),
        (2, true, Satisfaction::Satisfied, 180),
        (3, true, Satisfaction::Satisfied, 200), // next month
    ] {
        assessment::insert_callback(&mut c, "HL1", n, resolved, s, t)
            .await
            .unwrap();
    }
    // A retried insert of the same callback changes nothing.
    assessment::insert_callback(&mut c, "HL1", 1, true, Satisfaction::Satisfied, 120)
        .await
        .unwrap();
    for (unit, basis, due) in [("t1", "whistled", None), ("p2", "summoned", Some(160))] {
        let p = assessment::WhistleParty {
            whistle_id: "WH1".into(),
            unit_id: unit.into(),
            order_id: "HL1".into(),
            basis: basis.into(),
            time_us: 130,
            due_us: due,
        };
        assessment::insert_party(&mut c, &p).await.unwrap();
    }
    assessment::checked_in(&mut c, "WH1", "p2", 150)
        .await
        .unwrap();
    assessment::checked_in(&mut c, "WH1", "p2", 170)
        .await
        .unwrap();
    let mut ob = objections::Objection {
        objection_id: "OB1".into(),
        order_id: "HL1".into(),
        unit_id: "t1".into(),
        epoch: 1,
        role: Role::Lead,
        reason: "not ours".into(),
        proposed_unit: "t2".into(),
        objected_us: 140,
        authority_unit: "city".into(),
        ruling_due_us: 300,
        state: ObjectionState::Ruled,
        ruling: Some(RulingKind::Keep),
        ruling_unit: String::new(),
        ruled_by: "city".into(),
        ruled_us: Some(160),
        ruling_note: String::new(),
    };
    objections::upsert(&mut c, &ob).await.unwrap();
    ob.objection_id = "OB2".into();
    ob.ruled_us = Some(250);
    objections::upsert(&mut c, &ob).await.unwrap();

    // Read for p2 alone: its summons and the callback of the order it was
    // summoned to, nothing of t1's or p1's.
    let p2 = ["p2".to_string()];
    let d = assessment::dataset(
        &mut c,
        100,
        200,
        Some(&p2),
        &hotline_core::Policy::default(),
    )
    .await
    .unwrap();
    assert!(d.dispatched.is_empty() && d.marks.is_empty());
    assert_eq!(d.callbacks.len(), 2);
    assert!(d.parties.iter().all(|p| p.unit == "p2"));
    assert_eq!(d.summons.len(), 1);
    let none = assessment::dataset(
        &mut c,
        100,
        200,
        Some(&[]),
        &hotline_core::Policy::default(),
    )
    .await
    .unwrap();
    assert_eq!(none, hotline_core::scoring::Dataset::default());

    let d = assessment::dataset(&mut c, 100, 200, None, &hotline_core::Policy::default())
        .await
        .unwrap();
    let mut units: Vec<&str> = d.dispatched.iter().map(|x| x.unit.as_str()).collect();
    units.sort();
    assert_eq!(
        units,
        ["p1", "t1"],
        "leads in the period, not copies, hand-downs, revoked"
    );
    assert_eq!(d.dispatched[0].accepted_us, Some(151));
    assert_eq!(d.callbacks.len(), 2);
    assert!(!d.callbacks.iter().find(|x| !x.resolved).unwrap().resolved);
    let mut parties: Vec<(&str, Basis)> = d
        .parties
        .iter()
        .map(|p| (p.unit.as_str(), p.basis))
        .collect();
    parties.sort();
    parties.dedup();
    assert_eq!(
        parties,
        [
            ("p1", Basis::Lead),
            ("p2", Basis::Summoned),
            ("t1", Basis::Lead),
            ("t1", Basis::Whistled)
        ]
    );
    assert_eq!(d.summons.len(), 1);
    assert_eq!(
        (d.summons[0].due_us, d.summons[0].checked_in_us),
        (160, Some(150))
    );
    let mut marks: Vec<(&str, Mark)> = d.marks.iter().map(|(u, m)| (u.as_str(), *m)).collect();
    marks.sort_by_key(|m| format!("{m:?}"));
    assert_eq!(
        marks,
        [
            ("t1", Mark::BounceLimit),
            ("t1", Mark::ObjectionLost),
            ("t1", Mark::Whistle)
        ],
        "one lost objection ruled in the period; the bounced order once per unit"
    );

    let page = assessment::unit_orders(&mut c, "t1", 100, 200, "", 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].dispatched.order_id, "HL1");
    assert!(
        assessment::unit_orders(&mut c, "t1", 100, 200, "HL1", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

fn inbox_event(source: &str, unit: &str, time_us: i64) -> inbox_events::InboxEvent {
    inbox_events::InboxEvent {
        event_id: 0,
        source: source.into(),
        unit_id: unit.into(),
        order_id: "HL1".into(),
        kind: hotline_core::kinds::InboxEventKind::Dispatched,
        epoch: 1,
        time_us,
        detail: "role=lead state=dispatched".into(),
        notice_id: String::new(),
    }
}

async fn inbox_events_replay_prune_and_horizon(db: Db, _: String) {
    let mut tx = db.begin().await.unwrap();
    for (source, unit, t) in [
        ("a", "u1", 10),
        ("b", "u2", 20),
        ("c", "u1", 30),
        ("a", "u1", 40),
    ] {
        inbox_events::record(&mut tx, &inbox_event(source, unit, t), 0)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    // The same cause is recorded once; cursors increase; units apart.
    let u1 = inbox_events::after(&mut c, "u1", 0, 10).await.unwrap();
    assert_eq!(
        u1.iter().map(|e| e.source.as_str()).collect::<Vec<_>>(),
        vec!["a", "c"]
    );
    assert!(u1[0].event_id < u1[1].event_id);
    let rest = inbox_events::after(&mut c, "u1", u1[0].event_id, 10)
        .await
        .unwrap();
    assert_eq!(rest, vec![u1[1].clone()]);
    assert_eq!(inbox_events::horizon(&mut c, "u1").await.unwrap(), 0);
    // Nothing before 10: a prune there keeps every event and horizon.
    inbox_events::prune(&mut c, 10).await.unwrap();
    assert_eq!(inbox_events::horizon(&mut c, "u1").await.unwrap(), 0);
    assert_eq!(inbox_events::after(&mut c, "u1", 0, 10).await.unwrap(), u1);
    // Events before 25 go; each unit's horizon is its newest pruned.
    inbox_events::prune(&mut c, 25).await.unwrap();
    assert_eq!(
        inbox_events::horizon(&mut c, "u1").await.unwrap(),
        u1[0].event_id
    );
    assert!(inbox_events::horizon(&mut c, "u2").await.unwrap() > 0);
    assert_eq!(
        inbox_events::after(&mut c, "u1", 0, 10).await.unwrap(),
        vec![u1[1].clone()]
    );
    assert!(
        inbox_events::after(&mut c, "u2", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Recording prunes what has expired by its retention: c (30) goes
    // with d's arrival when events before 35 are no longer kept, and u1's
    // horizon moves to it; a replayed cause, inserting nothing, still
    // prunes.
    inbox_events::record(&mut c, &inbox_event("d", "u1", 50), 35)
        .await
        .unwrap();
    assert_eq!(
        inbox_events::horizon(&mut c, "u1").await.unwrap(),
        u1[1].event_id
    );
    let left = inbox_events::after(&mut c, "u1", 0, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|e| e.source.as_str()).collect::<Vec<_>>(),
        vec!["d"]
    );
    inbox_events::record(&mut c, &inbox_event("d", "u1", 60), 55)
        .await
        .unwrap();
    assert!(
        inbox_events::after(&mut c, "u1", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        inbox_events::horizon(&mut c, "u1").await.unwrap(),
        left[0].event_id
    );

    // The same among a batch's writes: the event and its pruning land at
    // commit, in the order pushed, after what the batch held before them
    // and before what comes after; the same cause again inserts nothing.
    // f's arrival, keeping nothing before 75, prunes e (70), recorded in
    // the same batch, and raises u2's horizon.
    let u2_horizon = inbox_events::horizon(&mut c, "u2").await.unwrap();
    drop(c);
    let mut tx = db.begin().await.unwrap();
    let mut writes = hotline_store::Batch::new(db.backend());
    writes
        .push(sqlx::query(
            "INSERT INTO counters (name, value) VALUES ('before', 1)",
        ))
        .unwrap();
    for (source, unit, t, kept_from) in
        [("e", "u2", 70, 0), ("e", "u2", 71, 0), ("f", "u1", 80, 75)]
    {
        inbox_events::record_into(
            &mut tx,
            &mut writes,
            &inbox_event(source, unit, t),
            kept_from,
        )
        .await
        .unwrap();
    }
    writes
        .push(sqlx::query(
            "INSERT INTO counters (name, value) VALUES ('after', 2)",
        ))
        .unwrap();
    writes.run(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = db.acquire().await.unwrap();
    let u1 = inbox_events::after(&mut c, "u1", 0, 10).await.unwrap();
    assert_eq!(
        u1.iter()
            .map(|e| (e.source.as_str(), e.time_us))
            .collect::<Vec<_>>(),
        vec![("f", 80)]
    );
    assert!(
        inbox_events::after(&mut c, "u2", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let raised = inbox_events::horizon(&mut c, "u2").await.unwrap();
    assert!(raised > u2_horizon && raised < u1[0].event_id, "{raised}");
    let counted: Vec<String> = sqlx::query_scalar("SELECT name FROM counters ORDER BY value")
        .fetch_all(&mut *c)
        .await
        .unwrap();
    assert_eq!(counted, ["before", "after"]);
}

async fn audit_and_knowledge_round_trip(db: Db, _: String) {
    let mut c = db.acquire().await.unwrap();
    let recorded = orders::upsert_requester(&mut c, "rq-1", "Name", "13700000000", 1)
        .await
        .unwrap();
    assert_eq!(recorded, ("Name".into(), "13700000000".into()));
    // First write wins: a later contact under the same pseudonym gets the
    // identity recorded, and changes nothing.
    let again = orders::upsert_requester(&mut c, "rq-1", "Other Name", "13700000000", 2)
        .await
        .unwrap();
    assert_eq!(again, recorded);
    assert_eq!(
        audit::identity(&mut c, "rq-1").await.unwrap(),
        Some(("Name".into(), "13700000000".into()))
    );
    for (id, order) in [("AU1", "HL1"), ("AU2", "HL2")] {
        let e = audit::AuditEntry {
            audit_id: id.into(),
            actor_unit: "u1".into(),
            actor: "spiffe://hotline/operator/ops".into(),
            order_id: order.into(),
            time_us: 5,
            access: "unmask".into(),
            reason: "SITE_VISIT".into(),
            justification: "visit".into(),
        };
        audit::insert(&mut c, &e).await.unwrap();
    }
    assert_eq!(audit::list(&mut c, "", "", 10).await.unwrap().len(), 2);
    let one = audit::list(&mut c, "HL2", "", 10).await.unwrap();
    assert_eq!(
        one[0].actor, "spiffe://hotline/operator/ops",
        "the holder kept"
    );
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].audit_id, "AU2");

    let entry = knowledge::Entry {
        entry_id: "KB1".into(),
        question: "q".into(),
        answer: "a".into(),
        category_codes: vec!["water.outage".into(), "water.pipe_burst".into()],
        tokens: vec!["供暖".into(), "water".into()],
        valid_from_us: 10,
        valid_to_us: Some(20),
        owner_unit: "dept-utility".into(),
        updated_us: 10,
    };
    knowledge::upsert(&mut c, &entry).await.unwrap();
    assert_eq!(
        knowledge::get(&mut c, "KB1").await.unwrap(),
        Some(entry.clone())
    );
    assert_eq!(
        knowledge::valid_at(&mut c, 15, "").await.unwrap(),
        vec![entry.clone()]
    );
    // Narrowed by catalogue item, in SQL: either of its items finds it,
    // another item does not.
    for item in ["water.outage", "water.pipe_burst"] {
        assert_eq!(
            knowledge::valid_at(&mut c, 15, item).await.unwrap(),
            vec![entry.clone()],
            "{item}"
        );
    }
    for item in ["water", "water.outage%", "water_outage"] {
        assert!(
            knowledge::valid_at(&mut c, 15, item)
                .await
                .unwrap()
                .is_empty(),
            "{item}"
        );
    }
    // Kept again under other items: found by those alone.
    let moved = knowledge::Entry {
        category_codes: vec!["water.pipe_burst".into(), "heating.cold".into()],
        ..entry.clone()
    };
    knowledge::upsert(&mut c, &moved).await.unwrap();
    assert!(
        knowledge::valid_at(&mut c, 15, "water.outage")
            .await
            .unwrap()
            .is_empty()
    );
    for item in ["water.pipe_burst", "heating.cold"] {
        assert_eq!(
            knowledge::valid_at(&mut c, 15, item).await.unwrap(),
            vec![moved.clone()],
            "{item}"
        );
    }
    knowledge::upsert(&mut c, &entry).await.unwrap();
    assert!(
        knowledge::valid_at(&mut c, 20, "")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(knowledge::valid_at(&mut c, 9, "").await.unwrap().is_empty());
    knowledge::answered(&mut c, "HL9", "KB1", 15).await.unwrap();
    knowledge::answered(&mut c, "HL9", "KB1", 16).await.unwrap();
    assert_eq!(
        knowledge::consultation_counts(&mut c).await.unwrap(),
        (0, 0, 1)
    );
    assert_eq!(knowledge::count(&mut c).await.unwrap(), 1);
}

/// An integer PRAGMA of a SQLite connection.
async fn pragma(c: &mut sqlx::AnyConnection, name: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
        .fetch_one(c)
        .await
        .unwrap()
}

/// The embedded default's durability settings, as the benchmarks and the
/// operations guide state them: WAL, synchronous=NORMAL, a checkpoint
/// every 10,000 pages.
#[tokio::test]
async fn sqlite_runs_in_wal_with_normal_sync() {
    let dir = tempfile::tempdir().unwrap();
    let t = TestDb::new(None, dir.path(), "pragmas", &EVERY)
        .await
        .unwrap();
    let mut c = t.db.acquire().await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(pragma(&mut c, "synchronous").await, 1, "1 is NORMAL");
    assert_eq!(pragma(&mut c, "wal_autocheckpoint").await, 10000);
    drop(c);
    t.cleanup().await.unwrap();
}

/// A simulation's scratch stores may leave the checkpoint fsync out
/// (`?synchronous=off` on the SQLite URL); what it commits is still there
/// when the file is opened again. A value other than normal or off is
/// refused, naming the parameter.
#[tokio::test]
async fn sqlite_synchronous_off_is_taken_from_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/scratch.db", dir.path().display());
    let db = Db::connect(&format!("{url}?synchronous=off"), 1, &EVERY)
        .await
        .unwrap();
    let mut c = db.acquire().await.unwrap();
    assert_eq!(pragma(&mut c, "synchronous").await, 0, "0 is OFF");
    assert_eq!(misc::next(&mut c, "scratch").await.unwrap(), 1);
    drop(c);
    db.close().await;

    let db = Db::connect(&url, 1, &EVERY).await.unwrap();
    let mut c = db.acquire().await.unwrap();
    assert_eq!(
        pragma(&mut c, "synchronous").await,
        1,
        "NORMAL again without the parameter"
    );
    assert_eq!(misc::next(&mut c, "scratch").await.unwrap(), 2);
    drop(c);
    db.close().await;

    let e = Db::connect(&format!("{url}?synchronous=full"), 1, &EVERY)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("synchronous"), "{e}");
}

async fn backend_pid(c: &mut sqlx::AnyConnection) -> i32 {
    use sqlx::Row as _;
    sqlx::query("SELECT pg_backend_pid()")
        .fetch_one(c)
        .await
        .unwrap()
        .get(0)
}

/// sqlx's ping before every use is off (it was a round trip per
/// transaction); a PostgreSQL connection that sat idle is still pinged, so
/// one the server dropped meanwhile is replaced before the caller's
/// statement, which succeeds on a new backend.
#[tokio::test]
async fn a_postgres_connection_dropped_while_idle_is_replaced_before_use() {
    let Some(pg) = postgres_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let t = TestDb::new(Some(&pg), dir.path(), "stale", &EVERY)
        .await
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..hotline_store::testing::TEST_POOL {
        idle.push(t.db.acquire().await.unwrap());
    }
    let mut pids = Vec::new();
    for c in &mut idle {
        pids.push(backend_pid(c).await);
    }
    drop(idle);
    // Back in the pool (sqlx pings each on return, off this task).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&pg)
        .await
        .unwrap();
    for pid in &pids {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(*pid)
            .execute(&mut admin)
            .await
            .unwrap();
    }
    tokio::time::sleep(hotline_store::STALE_AFTER + std::time::Duration::from_millis(200)).await;

    let mut c = t.db.acquire().await.unwrap();
    let pid = backend_pid(&mut c).await;
    assert!(!pids.contains(&pid), "{pid} was terminated: {pids:?}");
    drop(c);
    t.cleanup().await.unwrap();
}

/// A batch's statements run in order, in the caller's transaction, each
/// with its own parameters (numbered, repeated, or the rows of a
/// multi-row insert), and a rollback takes all of them back.
async fn a_batch_writes_what_its_statements_write(db: Db, _: String) {
    use hotline_store::Batch;
    let batch = |start: i64| {
        let mut b = Batch::new(db.backend());
        let rows = b.placeholders(2, 2);
        b.push(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO counters (name, value) VALUES {rows}"
            )))
            .bind("a")
            .bind(start)
            .bind("b")
            .bind(start + 1),
        )
        .unwrap();
        b.push(
            sqlx::query(
                "UPDATE counters SET value = value + $2 WHERE name = $1 OR (name = 'c''?' AND value = $2)",
            )
            .bind("a")
            .bind(100_i64),
        )
        .unwrap();
        b.push(
            sqlx::query("INSERT INTO counters (name, value) VALUES ($1, $2)")
                .bind("c'?")
                .bind(start + 2),
        )
        .unwrap();
        b
    };
    let read = async || {
        let mut c = db.acquire().await.unwrap();
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, value FROM counters ORDER BY name")
                .fetch_all(&mut *c)
                .await
                .unwrap();
        rows
    };
    let mut tx = db.begin().await.unwrap();
    batch(1).run(&mut tx).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(read().await.is_empty(), "rolled back with its transaction");

    let mut tx = db.begin().await.unwrap();
    let b = batch(1);
    assert_eq!(b.len(), 3);
    b.run(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        read().await,
        vec![("a".into(), 101), ("b".into(), 2), ("c'?".into(), 3)]
    );
    // A statement that fails fails the batch.
    let mut tx = db.begin().await.unwrap();
    assert!(batch(1).run(&mut tx).await.is_err(), "the names are taken");
    tx.rollback().await.unwrap();
    assert_eq!(read().await.len(), 3);

    // A flush runs what was pushed so far, in the transaction, and
    // empties the batch; what is pushed after runs at `run`.
    let mut tx = db.begin().await.unwrap();
    let mut b = Batch::new(db.backend());
    b.push(sqlx::query("UPDATE counters SET value = value + 1000 WHERE name = $1").bind("b"))
        .unwrap();
    b.flush(&mut tx).await.unwrap();
    assert!(b.is_empty());
    let seen: i64 = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'b'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen, 1002, "flushed before the read");
    b.push(sqlx::query("DELETE FROM counters WHERE name = $1").bind("a"))
        .unwrap();
    b.run(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read().await, vec![("b".into(), 1002), ("c'?".into(), 3)]);
}

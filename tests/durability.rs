//! Durability: retries with the same request id, processes killed with
//! handoffs in flight, and refused handoffs parked as dead letters.

use std::collections::BTreeMap;

use hotline::client::request_id;
use hotline_proto::v1::intake_service_client::IntakeServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use hotline_runtime::tables::outbox;
use hotline_store::Db;
use prost::Message;
use tonic_types::StatusExt;

use crate::support::*;

mesh_test! {
    async fn same_request_id_twice_has_one_effect(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let req = submit(
            "sanitation.garbage",
            "14 East Arcade",
            RequestKind::Complaint,
        );
        let first = c.submit(req.clone()).await.unwrap();
        let second = c.submit(req).await.unwrap();
        assert_eq!(first, second, "the same answer");
        assert_eq!(c.list_orders().await.unwrap().len(), 1, "one order stored");
        let mut intake = IntakeServiceClient::new(c.channel());

        let id = &first.order_id;
        c.wait_assignment("t-market", id, 1, WAIT).await.unwrap();
        let rid = request_id();
        let a1 = c.accept("t-market", id, 1, &rid).await.unwrap();
        let a2 = c.accept("t-market", id, 1, &rid).await.unwrap();
        assert_eq!(a1, a2);
        // A different request id is a second accept: illegal now.
        let again = c
            .accept("t-market", id, 1, &request_id())
            .await
            .unwrap_err();
        assert_eq!(again.code(), tonic::Code::FailedPrecondition);
        c.contact("t-market", id, 1, "call").await.unwrap();
        c.reply("t-market", id, 1, ReplyOutcome::Resolved, "collected")
            .await
            .unwrap();
        c.wait_order_state(id, OrderState::Replied, WAIT)
            .await
            .unwrap();

        let cb = RecordCallbackRequest {
            request_id: request_id(),
            name: format!("orders/{id}"),
            resolved: true,
            satisfaction: Satisfaction::Satisfied as i32,
        };
        let r1 = intake
            .record_callback(routed(cb.clone(), "city", "city"))
            .await
            .unwrap()
            .into_inner();
        let r2 = intake
            .record_callback(routed(cb, "city", "city"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r1, r2);
        let o = c.order(id).await.unwrap();
        assert_eq!(actions(&o, "called_back").len(), 1);
        assert_eq!(
            actions(&o, "accepted").len(),
            1,
            "the retried accept reached the city once"
        );
        t.stop().await;
    }
}

mesh_test! {
    async fn a_request_id_reused_for_another_request_is_refused_and_the_first_stands(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let place = "14 East Arcade";
        let a = c
            .submit(submit("sanitation.garbage", place, RequestKind::Complaint))
            .await
            .unwrap();
        let mut other = submit("sanitation.garbage", place, RequestKind::Complaint);
        other.requester.as_mut().unwrap().phone = "13700000099".into();
        let b = c.submit(other.clone()).await.unwrap();
        for o in [&a, &b] {
            c.wait_assignment("t-market", &o.order_id, 1, WAIT)
                .await
                .unwrap();
        }

        // Accepting B with A's request id is refused, naming the conflict.
        let rid = request_id();
        let first = c.accept("t-market", &a.order_id, 1, &rid).await.unwrap();
        let reused = c
            .accept("t-market", &b.order_id, 1, &rid)
            .await
            .unwrap_err();
        assert_eq!(reused.code(), tonic::Code::AlreadyExists, "{reused:?}");
        for part in ["request_id", &rid, "AcceptAssignment", "different request"] {
            assert!(reused.message().contains(part), "{part}: {reused:?}");
        }
        let info = reused.get_details_error_info().expect("error info");
        assert_eq!(
            (info.reason.as_str(), info.metadata["field"].as_str()),
            ("REQUEST_ID_REUSED", "request_id")
        );
        // B is untouched; A's retry still gets the first answer.
        let b_now = c.assignment("t-market", &b.order_id).await.unwrap();
        assert_eq!(b_now.state, AssignmentState::Dispatched as i32);
        let again = c.accept("t-market", &a.order_id, 1, &rid).await.unwrap();
        assert_eq!(again, first, "the same request gets the first answer");
        let b_accepted = c
            .accept("t-market", &b.order_id, 1, &request_id())
            .await
            .unwrap();
        assert_eq!(b_accepted.state, AssignmentState::Accepted as i32);

        // A submission reusing B's request id with another body (another
        // requester's phone) stores nothing.
        let mut hijack = other.clone();
        hijack.requester.as_mut().unwrap().phone = "13700000000".into();
        let refused = c.submit(hijack).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::AlreadyExists, "{refused:?}");
        assert!(refused.message().contains("SubmitRequest"), "{refused:?}");
        assert_eq!(c.submit(other).await.unwrap(), b, "the first answer");
        assert_eq!(c.list_orders().await.unwrap().len(), 2);
        assert!(t.dead_letters().await.is_empty(), "handoffs still replay");
        t.stop().await;
    }
}

#[tokio::test]
async fn killed_sender_resumes_its_outbox_and_delivers_once() {
    let store = &Store::preferred();
    let mut t = TestMesh::start(store, processes()).await;
    // The receiver is down: the city's handoff to it stays in its outbox.
    t.processes().kill("township").await.unwrap();
    let o = t
        .client
        .submit(submit(
            "road.pothole",
            "1 Harbour Road",
            RequestKind::Complaint,
        ))
        .await
        .unwrap();
    assert_eq!(o.state, OrderState::Dispatched as i32);
    // The district's copy goes out; the township's delivery keeps failing.
    t.client
        .wait_assignment("d-riverside", &o.order_id, 1, WAIT)
        .await
        .unwrap();
    let city_db = Db::connect(&t.opts.db_url("city").unwrap(), 1, &[])
        .await
        .unwrap();
    let pending = outbox::pending(&mut city_db.acquire().await.unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(
        pending.len(),
        1,
        "the township's delivery waits in the city's outbox"
    );
    assert_eq!(pending[0].target_unit, "t-harbour");
    city_db.close().await;

    // kill -9 the sender with that handoff undelivered, bring the receiver
    // back, then the sender: it resumes its outbox.
    t.processes().kill("city").await.unwrap();
    t.processes().restart("township", vec![]).await.unwrap();
    t.processes().restart("city", vec![]).await.unwrap();
    let a = t
        .client
        .wait_assignment("t-harbour", &o.order_id, 1, WAIT)
        .await
        .unwrap();
    assert_eq!(a.state, AssignmentState::Dispatched as i32);

    let c = &t.client;
    c.handle("t-harbour", &o.order_id, 1, ReplyOutcome::Resolved)
        .await
        .unwrap();
    let replied = c
        .wait_order_state(&o.order_id, OrderState::Replied, WAIT)
        .await
        .unwrap();
    assert_eq!(actions(&replied, "dispatched").len(), 1);
    assert_eq!(actions(&replied, "accepted"), vec!["t-harbour"]);
    let dead = outbox::dead_letters(
        &mut Db::connect(&t.opts.db_url("city").unwrap(), 1, &[])
            .await
            .unwrap()
            .acquire()
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    t.stop().await;
}

/// SIGTERM with a backlog in the city's outbox (its receiver is down):
/// every process stops by itself, none spins past the drain bound, nothing
/// is parked, and after a restart every handoff arrives.
#[tokio::test]
async fn sigterm_with_a_backlog_stops_everything_and_loses_nothing() {
    let store = &Store::preferred();
    let mut t = TestMesh::start(store, processes()).await;
    t.processes().kill("township").await.unwrap();
    let mut orders = Vec::new();
    for i in 0..20 {
        let address = if i % 2 == 0 {
            "1 Harbour Road"
        } else {
            "21 Shore Street"
        };
        orders.push(t.client.submit(fresh_complaint(address)).await.unwrap());
    }
    let city_db = Db::connect(&t.opts.db_url("city").unwrap(), 1, &[])
        .await
        .unwrap();
    let backlog = outbox::depth(&mut city_db.acquire().await.unwrap())
        .await
        .unwrap();
    city_db.close().await;
    assert!(backlog >= 20, "the townships' handoffs wait: {backlog}");

    for name in [
        "city",
        "district",
        "community",
        "department",
        "central",
        "gateway",
    ] {
        let status = t.processes().sigterm(name).await.unwrap();
        assert!(status.success(), "{name} exited {status}");
    }
    assert!(
        t.dead_letters().await.is_empty(),
        "nothing parked on the way down"
    );

    for name in [
        "gateway",
        "township",
        "city",
        "district",
        "community",
        "department",
        "central",
    ] {
        t.processes().restart(name, vec![]).await.unwrap();
    }
    for o in &orders {
        for a in &o.assignments {
            t.client
                .wait_assignment(&a.unit_id, &o.order_id, 1, WAIT)
                .await
                .unwrap();
        }
    }
    assert!(t.dead_letters().await.is_empty());
    t.stop().await;
}

/// A handoff its receiver cannot take for longer than the sender's retry
/// cap is parked as poison, not retried forever; once the receiver is
/// back, `hotline dead-letters replay` puts it back and it arrives once.
#[tokio::test]
async fn a_handoff_past_its_retry_cap_is_parked_and_replayed_once() {
    let store = &Store::preferred();
    let env = BTreeMap::from([(
        "city".to_string(),
        vec![("HOTLINE_OUTBOX_MAX_ATTEMPTS".to_string(), "3".to_string())],
    )]);
    let mut t = TestMesh::start(store, Spec { env, ..processes() }).await;
    t.processes().kill("township").await.unwrap();
    let o = t
        .client
        .submit(submit(
            "road.pothole",
            "1 Harbour Road",
            RequestKind::Complaint,
        ))
        .await
        .unwrap();
    let dead = wait_for_dead_letters(&t).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert_eq!((d.target_unit.as_str(), d.attempts), ("t-harbour", 3));
    assert_eq!(d.reason, outbox::ParkReason::RetriesExhausted);
    assert_eq!(d.code, "Unavailable");

    t.processes().restart("township", vec![]).await.unwrap();
    let url = t.opts.db_url("city").unwrap();
    let replay = |target: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args(["dead-letters", "replay", "--db", &url, "--target", target])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(replay("t-harbour").starts_with("1 dead letter(s)"));
    let a = t
        .client
        .wait_assignment("t-harbour", &o.order_id, 1, WAIT)
        .await
        .unwrap();
    assert_eq!(a.state, AssignmentState::Dispatched as i32);
    // Again: nothing is parked any more, nothing is sent twice.
    assert!(replay("t-harbour").starts_with("0 dead letter(s)"));
    let by_id = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "dead-letters",
            "replay",
            "--db",
            &url,
            "--id",
            &d.message_id,
        ])
        .output()
        .unwrap();
    assert!(!by_id.status.success(), "a message no longer parked");
    assert!(String::from_utf8_lossy(&by_id.stderr).contains("no dead letter"));
    assert!(t.dead_letters().await.is_empty());
    let c = &t.client;
    c.handle("t-harbour", &o.order_id, 1, ReplyOutcome::Resolved)
        .await
        .unwrap();
    let replied = c
        .wait_order_state(&o.order_id, OrderState::Replied, WAIT)
        .await
        .unwrap();
    assert_eq!(actions(&replied, "accepted"), vec!["t-harbour"]);
    t.stop().await;
}

#[tokio::test]
async fn crash_after_send_before_ack_is_deduplicated_by_the_receiver() {
    let store = &Store::preferred();
    let env = BTreeMap::from([(
        "city".to_string(),
        vec![(
            hotline_runtime::failpoint::ENV.to_string(),
            // The lead's delivery: the district's copy goes out at the
            // same moment, and whichever returned first would crash it.
            "outbox.after_send@t-lake".to_string(),
        )],
    )]);
    let mut t = TestMesh::start(store, Spec { env, ..processes() }).await;
    let o = t
        .client
        .submit(submit(
            "sanitation.garbage",
            "21 Shore Street",
            RequestKind::Complaint,
        ))
        .await
        .unwrap();
    // The city sends the lead's handoff and dies before marking it sent.
    let status = t.processes().wait_exit("city", WAIT).await.unwrap();
    assert!(!status.success(), "the failpoint aborted the city");
    let a = t
        .client
        .wait_assignment("t-lake", &o.order_id, 1, WAIT)
        .await
        .unwrap();
    assert_eq!(a.state, AssignmentState::Dispatched as i32);
    // The township accepts meanwhile; its event waits for the city.
    t.client
        .accept("t-lake", &o.order_id, 1, &request_id())
        .await
        .unwrap();

    // The restarted city sends the same handoff again; the township
    // recognises the message id and keeps its state.
    t.processes().restart("city", vec![]).await.unwrap();
    t.client
        .wait_assignment("d-hillview", &o.order_id, 1, WAIT)
        .await
        .unwrap();
    let o2 = t
        .client
        .wait_order_state(&o.order_id, OrderState::InProgress, WAIT)
        .await
        .unwrap();
    assert_eq!(actions(&o2, "accepted"), vec!["t-lake"]);
    let a = t.client.assignment("t-lake", &o.order_id).await.unwrap();
    assert_eq!(
        a.state,
        AssignmentState::Accepted as i32,
        "the redelivery changed nothing"
    );
    let township = Db::connect(&t.opts.db_url("township").unwrap(), 1, &[])
        .await
        .unwrap();
    let mut conn = township.acquire().await.unwrap();
    let message_id = format!("deliver:{}:t-lake:1", o.order_id);
    let stored = hotline_runtime::tables::idempotency::get(
        &mut conn,
        "DeliverAssignment:t-lake",
        &message_id,
    )
    .await
    .unwrap();
    assert!(
        stored.is_some(),
        "the delivery is recorded once under its message id"
    );
    drop(conn);
    township.close().await;
    t.stop().await;
}

mesh_test! {
    async fn refused_handoff_is_parked_as_a_dead_letter_and_listed(store) {
        let t = mesh(store).await;
        let o = t
            .client
            .submit(submit(
                "sanitation.garbage",
                "2 Pine Avenue",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        t.client
            .wait_assignment("t-pine", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        // An event for an epoch the city never issued, queued in the
        // township's outbox as its own code would queue it.
        let url = t.opts.db_url("township").unwrap();
        let db = Db::connect(&url, 1, &[]).await.unwrap();
        let event = RecordAssignmentEventRequest {
            request_id: "stale-event-1".into(),
            order_id: o.order_id.clone(),
            unit_id: "t-pine".into(),
            epoch: 7,
            kind: AssignmentEventKind::Accepted as i32,
            time: Some(prost_types::Timestamp {
                seconds: 1_780_000_000,
                nanos: 0,
            }),
            ..Default::default()
        };
        let m = outbox::NewMessage {
            message_id: "stale-event-1",
            order_id: &o.order_id,
            from_unit: "t-pine",
            target_unit: "city",
            method: "/hotline.v1.DispatchService/RecordAssignmentEvent",
            payload: event.encode_to_vec(),
            trace_parent: "",
            baggage: "",
            handoff: hotline_core::kinds::HandoffKind::Accept,
        };
        outbox::enqueue(&mut db.acquire().await.unwrap(), m, 0)
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        let dead = loop {
            let dead = outbox::dead_letters(&mut db.acquire().await.unwrap())
                .await
                .unwrap();
            if !dead.is_empty() || tokio::time::Instant::now() > deadline {
                break dead;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        db.close().await;
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].message_id, "stale-event-1");
        assert_eq!(dead[0].code, "FailedPrecondition");
        assert_eq!(dead[0].attempts, 1, "not retried");

        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            // The CLI presents each unit's certificate from the mesh CA.
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args(["dead-letters", "--db", &url])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(
            text.contains("stale-event-1") && text.contains("FailedPrecondition"),
            "{text}"
        );
        // The city's record is untouched by the refused event.
        let city = t.client.order(&o.order_id).await.unwrap();
        assert!(actions(&city, "accepted").is_empty());
        t.stop().await;
    }
}

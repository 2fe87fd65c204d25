//! The clocks and escalation across real processes on PostgreSQL, driven by
//! a virtual clock: limits fire at their instant, sweeps survive kill -9,
//! whistles, check-ins, extensions, urges and coordination.

use std::collections::BTreeMap;

use hotline::client::request_id;
use hotline_core::deadline::HandlerClock;
use hotline_core::{Policy, Urgency};
use hotline_proto::v1::*;
use hotline_runtime::wire::micros;

use crate::support::*;

const HOUR: i64 = 3_600_000_000;

fn at(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref().map(micros).unwrap()
}

fn notice_kinds(ns: &[Notice], order_id: &str) -> Vec<i32> {
    ns.iter()
        .filter(|n| n.order_id == order_id)
        .map(|n| n.kind)
        .collect()
}

mesh_test! {
    async fn art13_each_urgency_warns_then_breaches_at_its_instant(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let cases = [
            ("gas.leak", "14 East Arcade", Urgency::Emergency, "t-market"),
            (
                "traffic.signal_broken",
                "",
                Urgency::Utility,
                "dept-transport",
            ),
            (
                "sanitation.garbage",
                "6 South Quay",
                Urgency::General,
                "t-harbour",
            ),
            (
                "housing.old_estate_renovation",
                "",
                Urgency::Complex,
                "dept-housing",
            ),
        ];
        let policy = Policy::default();
        let mut orders = Vec::new();
        for (cat, addr, urgency, lead) in cases {
            let o = c
                .submit(submit(cat, addr, RequestKind::Complaint))
                .await
                .unwrap();
            assert_eq!(
                at(&o.due_time) - at(&o.received_time),
                policy.limit(urgency),
                "{cat}: business clock limit"
            );
            let clock = HandlerClock::new(&policy, at(&o.received_time), at(&o.due_time));
            orders.push((o.order_id.clone(), lead, clock));
        }
        let mut instants: Vec<i64> = orders
            .iter()
            .flat_map(|(_, _, h)| [h.warning, h.breach])
            .collect();
        instants.sort();
        for x in instants {
            for now in [x - 1, x] {
                c.advance_to(now).await.unwrap();
                for (id, lead, h) in &orders {
                    let o = c.order(id).await.unwrap();
                    // Dual dispatch has two leads, each with its clock.
                    let leads = o
                        .assignments
                        .iter()
                        .filter(|a| a.role == AssignmentRole::Lead as i32)
                        .count();
                    let warned = actions(&o, "warning").len();
                    let breached = actions(&o, "breached").len();
                    assert_eq!(
                        warned,
                        leads * (now >= h.warning) as usize,
                        "{id} warning at {now}"
                    );
                    assert_eq!(
                        breached,
                        leads * (now >= h.breach) as usize,
                        "{id} breach at {now}"
                    );
                    assert_eq!(o.overdue, now >= h.breach, "{id} overdue flag");
                    if now == h.breach {
                        let kinds = notice_kinds(&c.notices(lead).await.unwrap(), id);
                        assert!(
                            kinds.contains(&(NoticeKind::Supervision as i32)),
                            "{id}: supervision reached {lead}"
                        );
                    }
                }
            }
        }
        // The parent of a breached handler is told too, and after the grace the
        // order escalates to it.
        let (id, _, h) = &orders[1];
        assert!(
            notice_kinds(&c.notices("d-riverside").await.unwrap(), id)
                .contains(&(NoticeKind::Supervision as i32))
        );
        c.advance_to(h.escalation).await.unwrap();
        let o = c.order(id).await.unwrap();
        assert_eq!(actions(&o, "escalated"), vec!["city"]);
        assert!(
            notice_kinds(&c.notices("d-riverside").await.unwrap(), id)
                .contains(&(NoticeKind::Escalation as i32))
        );
        t.stop().await;
    }
}

#[tokio::test]
async fn a_kill_at_each_sweep_failpoint_neither_loses_nor_doubles_a_breach() {
    let store = &Store::preferred();
    for fp in [
        "sweep.after_claim",
        "sweep.before_commit",
        "sweep.after_commit",
    ] {
        let env = BTreeMap::from([(
            "city".to_string(),
            vec![(hotline_runtime::failpoint::ENV.to_string(), fp.to_string())],
        )]);
        let mut t = TestMesh::start(
            store,
            Spec {
                env,
                virtual_clock: Some(T0),
                ..processes()
            },
        )
        .await;
        let o = t
            .client
            .submit(submit("traffic.signal_broken", "", RequestKind::Report))
            .await
            .unwrap();
        let past = at(&o.due_time) + 1;
        // The city dies inside its sweep.
        assert!(
            t.client.advance_to(past).await.is_err(),
            "{fp}: the advance fails with the city"
        );
        assert!(
            !t.processes()
                .wait_exit("city", WAIT)
                .await
                .unwrap()
                .success(),
            "{fp} aborted the city"
        );
        t.processes().restart("city", vec![]).await.unwrap();
        t.client.advance_to(past).await.unwrap();
        let o = t.client.order(&o.order_id).await.unwrap();
        assert_eq!(actions(&o, "breached").len(), 1, "{fp}: one breach");
        assert_eq!(actions(&o, "supervision").len(), 1, "{fp}: one supervision");
        assert_eq!(actions(&o, "warning").len(), 1, "{fp}: one warning");
        let supervised = notice_kinds(
            &t.client.notices("dept-transport").await.unwrap(),
            &o.order_id,
        )
        .into_iter()
        .filter(|k| *k == NoticeKind::Supervision as i32)
        .count();
        assert_eq!(supervised, 1, "{fp}: one supervision notice");
        t.stop().await;
    }
}

mesh_test! {
    async fn art16_whistle_check_in_rules_and_a_missed_check_in_escalates(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let o = c
            .submit(submit(
                "sanitation.garbage",
                "8 West Arcade",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        let id = &o.order_id;
        c.wait_assignment("t-market", id, 1, WAIT).await.unwrap();
        c.wait_assignment("d-riverside", id, 1, WAIT).await.unwrap();
        c.accept("t-market", id, 1, &request_id()).await.unwrap();

        // Only a territorial lead may whistle, summoning departments.
        let s = c
            .whistle("d-riverside", id, 1, WhistleKind::Daily, &["dept-urban"])
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::PermissionDenied);
        let s = c
            .whistle("t-market", id, 1, WhistleKind::Daily, &["t-lake"])
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        let s = c
            .whistle("t-market", id, 1, WhistleKind::Unspecified, &["dept-urban"])
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        let w = c
            .whistle(
                "t-market",
                id,
                1,
                WhistleKind::Daily,
                &["dept-urban", "dept-housing"],
            )
            .await
            .unwrap();
        assert_eq!(w.district_unit, "d-riverside");
        c.advance_to(t0() + HOUR).await.unwrap();

        // Only a summoned department may check in.
        let s = c
            .check_in("dept-utility", "d-riverside", &w.whistle_id)
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::PermissionDenied);
        let s = c
            .check_in("dept-urban", "d-riverside", "WH-nope")
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::NotFound);
        let summons = c
            .check_in("dept-urban", "d-riverside", &w.whistle_id)
            .await
            .unwrap();
        assert_eq!(summons.state, "checked_in");
        let co = c.wait_assignment("dept-urban", id, 1, WAIT).await.unwrap();
        assert_eq!(
            co.role,
            AssignmentRole::CoHandler as i32,
            "a checked-in department co-handles"
        );

        // The daily whistle's 24 h pass: the housing commission missed.
        let due = at(&summons.due_time);
        assert_eq!(due - t0(), 24 * HOUR);
        c.advance_to(due - 1).await.unwrap();
        let reg = c
            .get_whistle("city", "d-riverside", &w.whistle_id)
            .await
            .unwrap();
        assert!(
            reg.summonses.iter().all(|s| s.state != "missed"),
            "not before the deadline"
        );
        c.advance_to(due).await.unwrap();
        let reg = c
            .get_whistle("t-market", "d-riverside", &w.whistle_id)
            .await
            .unwrap();
        let states: Vec<(String, String)> = reg
            .summonses
            .iter()
            .map(|s| (s.department.clone(), s.state.clone()))
            .collect();
        assert_eq!(
            states,
            vec![
                ("dept-housing".into(), "missed".into()),
                ("dept-urban".into(), "checked_in".into())
            ]
        );
        let order = c.order(id).await.unwrap();
        assert_eq!(actions(&order, "whistle_registered"), vec!["d-riverside"]);
        assert_eq!(actions(&order, "checked_in"), vec!["dept-urban"]);
        assert_eq!(
            actions(&order, "check_in_missed"),
            vec!["d-riverside"],
            "recorded against dept-housing"
        );
        assert!(
            notice_kinds(&c.notices("d-riverside").await.unwrap(), id)
                .contains(&(NoticeKind::CheckInMissed as i32)),
            "escalated to the district"
        );
        assert!(
            notice_kinds(&c.notices("dept-housing").await.unwrap(), id)
                .contains(&(NoticeKind::CheckInMissed as i32))
        );
        let late = c
            .check_in("dept-housing", "d-riverside", &w.whistle_id)
            .await
            .unwrap();
        assert_eq!(late.state, "late");

        // The co-handler reports its part to the lead.
        c.handle("dept-urban", id, 1, ReplyOutcome::Resolved)
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let kinds = notice_kinds(&c.notices("t-market").await.unwrap(), id);
            if kinds.contains(&(NoticeKind::CoHandlerReport as i32)) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the lead never heard from its co-handler"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            c.order(id).await.unwrap().state,
            OrderState::InProgress as i32,
            "a co-handler's reply does not reply the order"
        );
        t.stop().await;
    }
}

mesh_test! {
    async fn art15_extension_needs_the_parent_when_policy_says_so_and_never_moves_the_business_clock(store) {
        let topology =
            hotline::DEMO_TOPOLOGY.replace("extension_approval = false", "extension_approval = true");
        let t = TestMesh::start(store, Spec {
            virtual_clock: Some(T0),
            topology: Some(topology),
            ..Spec::default()
        }).await;
        let c = &t.client;
        let o = c
            .submit(submit(
                "sanitation.garbage",
                "2 Pine Avenue",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        let id = &o.order_id;
        let lead = c.wait_assignment("t-pine", id, 1, WAIT).await.unwrap();
        let old_due = at(&lead.due_time);
        let s = c
            .request_extension("t-pine", id, 1, old_due - 1)
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            tonic::Code::InvalidArgument,
            "an extension moves the date later"
        );
        // At most the policy's 15 days (max_extension_days), approval or not.
        let s = c
            .request_extension("t-pine", id, 1, old_due + 15 * 24 * HOUR + 1)
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert!(s.message().contains("at most 15 days"), "{}", s.message());
        let until = old_due + 3 * 24 * HOUR;
        c.request_extension("t-pine", id, 1, until).await.unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        while !notice_kinds(&c.notices("d-hillview").await.unwrap(), id)
            .contains(&(NoticeKind::ExtensionRequest as i32))
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the parent was never asked"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let s = c
            .decide_extension("d-riverside", id, "t-pine", true)
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            tonic::Code::PermissionDenied,
            "only the parent decides"
        );
        c.decide_extension("d-hillview", id, "t-pine", true)
            .await
            .unwrap();
        let o2 = c.order(id).await.unwrap();
        assert_eq!(o2.due_time, o.due_time, "the business clock never moves");
        assert_eq!(
            at(&o2
                .assignments
                .iter()
                .find(|a| a.unit_id == "t-pine")
                .unwrap()
                .due_time),
            until
        );
        for action in ["extension_granted", "requester_notified", "centre_notified"] {
            assert_eq!(actions(&o2, action).len(), 1, "{action} recorded");
        }
        // The handler's own service learns its new deadline.
        let deadline = tokio::time::Instant::now() + WAIT;
        while at(&c.assignment("t-pine", id).await.unwrap().due_time) != until {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the handler never learnt its new deadline"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // No breach at the old deadline; one at the new.
        c.advance_to(old_due + 1).await.unwrap();
        assert!(actions(&c.order(id).await.unwrap(), "breached").is_empty());
        c.advance_to(until).await.unwrap();
        assert_eq!(actions(&c.order(id).await.unwrap(), "breached").len(), 1);
        let s = c
            .decide_extension("d-hillview", id, "t-pine", true)
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            tonic::Code::FailedPrecondition,
            "nothing pending any more"
        );
        t.stop().await;
    }
}

mesh_test! {
    async fn art20_urges_reach_handler_and_parent_and_coordination_is_answered(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let o = c
            .submit(submit(
                "sanitation.garbage",
                "9 Lakeside Road",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        let id = &o.order_id;
        c.wait_assignment("t-lake", id, 1, WAIT).await.unwrap();
        let urged = c.urge(id, UrgeSource::Requester).await.unwrap();
        assert_eq!(urged.urge_count, 1);
        c.advance_to(t0() + 1).await.unwrap();
        for unit in ["t-lake", "d-hillview"] {
            assert!(
                notice_kinds(&c.notices(unit).await.unwrap(), id).contains(&(NoticeKind::Urge as i32)),
                "{unit} urged"
            );
        }

        let mut esc =
            hotline_proto::v1::escalation_service_client::EscalationServiceClient::new(c.channel());
        let ask = |to: &str| {
            hotline_runtime::meta::routed(
                RequestCoordinationRequest {
                    request_id: request_id(),
                    order_id: id.clone(),
                    reason: "needs the district's enforcement team".into(),
                },
                to,
                "t-lake",
            )
        };
        let s = esc.request_coordination(ask("t-pine")).await.unwrap_err();
        assert_eq!(
            s.code(),
            tonic::Code::PermissionDenied,
            "not a sibling township"
        );
        let co = esc
            .request_coordination(ask("d-hillview"))
            .await
            .unwrap()
            .into_inner()
            .coordination
            .unwrap();
        let answer = AnswerCoordinationRequest {
            request_id: request_id(),
            coordination_id: co.coordination_id.clone(),
            answer: "team sent Tuesday".into(),
        };
        let s = esc
            .answer_coordination(hotline_runtime::meta::routed(
                answer.clone(),
                "d-hillview",
                "t-lake",
            ))
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            tonic::Code::PermissionDenied,
            "only the asked unit answers"
        );
        c.advance_to(t0() + 2 * HOUR).await.unwrap();
        let answered = esc
            .answer_coordination(hotline_runtime::meta::routed(
                answer,
                "d-hillview",
                "d-hillview",
            ))
            .await
            .unwrap()
            .into_inner();
        let co = answered.coordination.unwrap();
        assert_eq!(
            at(&co.answered_time) - at(&co.time),
            2 * HOUR - 1,
            "the time between is recorded"
        );
        c.advance_to(t0() + 2 * HOUR + 1).await.unwrap();
        let o = c.order(id).await.unwrap();
        assert_eq!(actions(&o, "coordination_requested"), vec!["t-lake"]);
        assert_eq!(actions(&o, "coordination_answered"), vec!["d-hillview"]);

        // Deadlines and the trace, as an operator reads them.
        let run = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
                // The CLI presents each unit's certificate from the mesh CA.
                .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        let gw = t.gateway_url.clone();
        let pending = run(&["deadlines", "--gateway", &gw, "--unit", "t-lake", "--json"]);
        let kinds: Vec<&str> = pending
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect();
        for k in ["warning", "breach", "escalation"] {
            assert!(kinds.contains(&k), "{k} pending in {kinds:?}");
        }
        assert!(
            !kinds.contains(&"accept"),
            "the accept window has passed: {kinds:?}"
        );
        assert_eq!(
            actions(&c.order(id).await.unwrap(), "accept_overdue"),
            vec!["city"]
        );
        let trace = run(&["trace", id, "--gateway", &gw, "--json"]);
        let steps: Vec<&str> = trace["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["action"].as_str().unwrap())
            .collect();
        assert!(
            steps.contains(&"urged") && steps.contains(&"coordination_answered"),
            "{steps:?}"
        );
        assert!(
            trace["handoffs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["call"] == "DeliverAssignment" && h["to"] == "t-lake")
        );

        c.handle("t-lake", id, 1, ReplyOutcome::Resolved)
            .await
            .unwrap();
        c.wait_order_state(id, OrderState::Replied, WAIT)
            .await
            .unwrap();
        c.callback(id, true, Satisfaction::Satisfied).await.unwrap();
        let s = c.urge(id, UrgeSource::Centre).await.unwrap_err();
        assert_eq!(
            s.code(),
            tonic::Code::FailedPrecondition,
            "a closed order cannot be urged"
        );
        t.stop().await;
    }
}

//! A work order's whole life across real tier processes on PostgreSQL.

use hotline_proto::v1::*;

use crate::support::*;

mesh_test! {
    async fn order_lives_from_intake_to_closed_across_processes(store) {
        let t = mesh(store).await;
        let c = &t.client;

        // Dual dispatch: territory and department, with a copy to the district.
        let o = c
            .submit(submit(
                "heating.no_heat",
                "9 Lakeside Road",
                RequestKind::Help,
            ))
            .await
            .unwrap();
        assert_eq!(o.state, OrderState::Dispatched as i32);
        assert_eq!(o.territory_unit, "t-lake");
        assert_eq!(o.urgency, Urgency::Utility as i32);
        let received = o.received_time.unwrap().seconds;
        assert_eq!(
            o.due_time.unwrap().seconds - received,
            24 * 3600,
            "24 h business clock for utilities"
        );
        let mut roles: Vec<(String, i32)> = o
            .assignments
            .iter()
            .map(|a| (a.unit_id.clone(), a.role))
            .collect();
        roles.sort();
        assert_eq!(
            roles,
            vec![
                ("d-hillview".into(), AssignmentRole::Copy as i32),
                ("dept-utility".into(), AssignmentRole::Lead as i32),
                ("t-lake".into(), AssignmentRole::Lead as i32),
            ]
        );
        assert!(
            !o.requester_ref.is_empty() && !o.requester_ref.contains("13700000000"),
            "a pseudonym, not the phone: {}",
            o.requester_ref
        );

        // Each handler's own service holds its assignment; the district its copy.
        let copy = c
            .wait_assignment("d-hillview", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        assert_eq!(copy.role, AssignmentRole::Copy as i32);
        for unit in ["t-lake", "dept-utility"] {
            let a = c.wait_assignment(unit, &o.order_id, 1, WAIT).await.unwrap();
            assert_eq!(a.state, AssignmentState::Dispatched as i32);
            assert_eq!(a.text, "the request text");
            c.accept(unit, &o.order_id, 1, &hotline::client::request_id())
                .await
                .unwrap();
        }
        c.wait_order_state(&o.order_id, OrderState::InProgress, WAIT)
            .await
            .unwrap();

        // Contact goes through the city's relay, which records it.
        let contacted = c
            .contact("t-lake", &o.order_id, 1, "arrange a visit")
            .await
            .unwrap();
        assert_eq!(contacted.state, AssignmentState::Contacted as i32);
        let city_view = c.order(&o.order_id).await.unwrap();
        assert_eq!(actions(&city_view, "contacted"), vec!["t-lake"]);

        c.progress("t-lake", &o.order_id, 1, "valve replaced")
            .await
            .unwrap();
        c.reply(
            "t-lake",
            &o.order_id,
            1,
            ReplyOutcome::Resolved,
            "heating restored",
        )
        .await
        .unwrap();
        // One lead replied, the other not yet: the order is still in progress.
        assert_eq!(
            c.order(&o.order_id).await.unwrap().state,
            OrderState::InProgress as i32
        );
        c.contact("dept-utility", &o.order_id, 1, "check the substation")
            .await
            .unwrap();
        c.reply(
            "dept-utility",
            &o.order_id,
            1,
            ReplyOutcome::Resolved,
            "pressure restored",
        )
        .await
        .unwrap();
        let replied = c
            .wait_order_state(&o.order_id, OrderState::Replied, WAIT)
            .await
            .unwrap();
        let mut repliers = actions(&replied, "replied");
        repliers.sort();
        assert_eq!(repliers, vec!["dept-utility", "t-lake"]);
        assert_eq!(actions(&replied, "order_replied"), vec!["city"]);

        let closed = c
            .callback(&o.order_id, true, Satisfaction::Satisfied)
            .await
            .unwrap();
        assert_eq!(closed.state, OrderState::Closed as i32);
        assert!(closed.closed_time.is_some());
        let steps: Vec<&str> = closed.history.iter().map(|h| h.action.as_str()).collect();
        for must in [
            "received",
            "classified",
            "dispatched",
            "accepted",
            "contacted",
            "progress",
            "replied",
            "called_back",
            "closed",
        ] {
            assert!(steps.contains(&must), "history lacks {must}: {steps:?}");
        }
        let seqs: Vec<u64> = closed.history.iter().map(|h| h.seq).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "history is gap-free and ordered"
        );

        // Handlers and their parents may read the order; others may not.
        assert!(c.order_as("t-lake", &o.order_id).await.is_ok());
        assert!(c.order_as("d-hillview", &o.order_id).await.is_ok());
        let denied = c.order_as("t-harbour", &o.order_id).await.unwrap_err();
        assert_eq!(denied.code(), tonic::Code::PermissionDenied);

        // Every cross-unit handoff went through the gateway.
        let stats = c.stats().await.unwrap();
        assert!(
            stats.handoffs >= 9,
            "deliveries, events and relay calls: {}",
            stats.handoffs
        );
        t.stop().await;
    }
}

mesh_test! {
    async fn art23_unresolved_callback_reopens_with_a_new_epoch_and_handler_clock(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let o = c
            .submit(submit(
                "sanitation.garbage",
                "6 South Quay",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        c.wait_assignment("t-harbour", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        c.handle("t-harbour", &o.order_id, 1, ReplyOutcome::PartlyResolved)
            .await
            .unwrap();
        c.wait_order_state(&o.order_id, OrderState::Replied, WAIT)
            .await
            .unwrap();

        let reopened = c
            .callback(&o.order_id, false, Satisfaction::Dissatisfied)
            .await
            .unwrap();
        assert_eq!(reopened.state, OrderState::Dispatched as i32);
        assert_eq!(reopened.reopen_count, 1);
        assert_eq!(
            reopened.due_time, o.due_time,
            "the business clock is never reset"
        );
        let lead = reopened
            .assignments
            .iter()
            .find(|a| a.unit_id == "t-harbour")
            .unwrap();
        assert_eq!(lead.epoch, 2);
        let first_due = o
            .assignments
            .iter()
            .find(|a| a.unit_id == "t-harbour")
            .unwrap()
            .due_time
            .unwrap();
        let new_due = lead.due_time.unwrap();
        assert!(
            (new_due.seconds, new_due.nanos) >= (first_due.seconds, first_due.nanos),
            "a fresh handler clock"
        );
        assert_ne!(
            new_due,
            reopened.due_time.unwrap(),
            "handler clock restarted at the reopen, not at intake"
        );
        assert_eq!(actions(&reopened, "reopened"), vec!["city"]);

        let fresh = c
            .wait_assignment("t-harbour", &o.order_id, 2, WAIT)
            .await
            .unwrap();
        assert_eq!(fresh.state, AssignmentState::Dispatched as i32);
        // The old epoch is refused, at the handler and at the city's relay.
        let stale = c
            .accept("t-harbour", &o.order_id, 1, "stale-accept")
            .await
            .unwrap_err();
        assert_eq!(stale.code(), tonic::Code::FailedPrecondition);
        assert!(stale.message().contains("epoch 1"), "{}", stale.message());
        let stale = c
            .relay_contact("t-harbour", &o.order_id, 1)
            .await
            .unwrap_err();
        assert_eq!(stale.code(), tonic::Code::FailedPrecondition);

        c.handle("t-harbour", &o.order_id, 2, ReplyOutcome::Resolved)
            .await
            .unwrap();
        c.wait_order_state(&o.order_id, OrderState::Replied, WAIT)
            .await
            .unwrap();
        let closed = c
            .callback(&o.order_id, true, Satisfaction::Satisfied)
            .await
            .unwrap();
        assert_eq!(closed.state, OrderState::Closed as i32);
        t.stop().await;
    }
}

mesh_test! {
    async fn art11_consultation_is_answered_at_intake_without_dispatch(store) {
        let t = mesh(store).await;
        let o = t
            .client
            .submit(submit("water.outage", "", RequestKind::Consultation))
            .await
            .unwrap();
        assert_eq!(o.state, OrderState::Answered as i32);
        assert!(o.answer.contains("24 hours ahead"));
        assert!(o.assignments.is_empty());
        // The same category as a complaint is dispatched to the utility.
        let o = t
            .client
            .submit(submit("water.outage", "", RequestKind::Complaint))
            .await
            .unwrap();
        assert_eq!(o.state, OrderState::Dispatched as i32);
        assert_eq!(
            o.assignments
                .iter()
                .map(|a| a.unit_id.as_str())
                .collect::<Vec<_>>(),
            ["dept-utility"]
        );
        t.stop().await;
    }
}

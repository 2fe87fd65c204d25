//! Jurisdiction objections across real processes: the first-receiver rule
//! and its window, each ruling kind under both arbitration policies, and the
//! bounce limit.

use hotline::client::{MeshClient, request_id};
use hotline_proto::v1::*;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::support::*;

/// The rule a FAILED_PRECONDITION names, from its details.
pub fn rule_of(s: &Status) -> String {
    assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
    s.get_details_precondition_failure()
        .expect("precondition details")
        .violations[0]
        .r#type
        .clone()
}

fn bad_field(s: &Status) -> String {
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    s.get_details_bad_request()
        .expect("BadRequest details")
        .field_violations[0]
        .field
        .clone()
}

/// A general complaint at `address`, dispatched to its township; returns
/// the order once the township holds its assignment.
async fn dispatched(c: &MeshClient, category: &str, address: &str, lead: &str) -> Order {
    let o = c
        .submit(submit(category, address, RequestKind::Complaint))
        .await
        .unwrap();
    assert_eq!(o.state, OrderState::Dispatched as i32, "{o:?}");
    c.wait_assignment(lead, &o.order_id, 1, WAIT).await.unwrap();
    o
}

/// `unit` objects at `epoch`, proposing `proposed`; returns the objection
/// once the city holds it.
async fn objected(
    c: &MeshClient,
    unit: &str,
    order: &str,
    epoch: u64,
    proposed: &str,
) -> Objection {
    let a = c
        .object(
            unit,
            order,
            epoch,
            proposed,
            "the site lies outside our streets",
        )
        .await
        .unwrap();
    assert_eq!(a.state, AssignmentState::Objected as i32);
    c.wait_objection(order, unit, WAIT).await.unwrap()
}

fn held_by(o: &Order, unit: &str) -> Assignment {
    o.assignments
        .iter()
        .find(|a| a.unit_id == unit)
        .cloned()
        .unwrap_or_else(|| panic!("no assignment of {unit}: {:?}", o.assignments))
}

mesh_test! {
    async fn art12_the_centre_rules_keep_redirect_and_joint(store) {
        let t = mesh(store).await;
        let c = &t.client;

        // Keep: the objector must handle the order, deemed accepted in a new epoch.
        let o = dispatched(c, "sanitation.garbage", "1 Harbour Road", "t-harbour").await;
        let id = &o.order_id;
        let ob = objected(c, "t-harbour", id, 1, "t-market").await;
        assert_eq!(ob.authority_unit, "city");
        assert_eq!(ob.proposed_unit, "t-market");
        assert_eq!(
            ob.ruling_due_time.unwrap().seconds - ob.objected_time.unwrap().seconds,
            24 * 3600,
            "ruling due within 24 h"
        );
        let order = c.order(id).await.unwrap();
        assert_eq!(actions(&order, "objected"), vec!["t-harbour"]);
        assert_eq!(
            order.state,
            OrderState::Dispatched as i32,
            "an objection is not progress"
        );
        assert!(
            !order
                .history
                .iter()
                .any(|h| h.detail.contains("outside our streets")),
            "the reason stays out of the history"
        );
        // Only the authority rules; a second objection is refused meanwhile.
        let s = c
            .rule("d-riverside", &ob.objection_id, RulingKind::Keep, "")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied);
        let s = c
            .object("t-harbour", id, 1, "t-market", "again")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition);
        let ruled = c
            .rule("city", &ob.objection_id, RulingKind::Keep, "")
            .await
            .unwrap();
        assert_eq!(ruled.state, ObjectionState::Ruled as i32);
        assert_eq!(ruled.ruled_by, "city");
        let kept = c.wait_assignment("t-harbour", id, 2, WAIT).await.unwrap();
        assert_eq!(kept.state, AssignmentState::Accepted as i32);
        let s = c
            .object("t-harbour", id, 2, "t-market", "still not ours")
            .await
            .unwrap_err();
        assert_eq!(rule_of(&s), "FIRST_RECEIVER");
        assert!(
            s.message().starts_with("first-receiver rule: "),
            "{}",
            s.message()
        );
        let s = c
            .rule("city", &ob.objection_id, RulingKind::Keep, "")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition, "ruled once");
        c.contact("t-harbour", id, 2, "arrange a visit")
            .await
            .unwrap();
        let order = c.order(id).await.unwrap();
        assert_eq!(order.redirect_count, 0, "a keep ruling is no redirection");
        assert_eq!(actions(&order, "ruled"), vec!["city"]);

        // Redirect: the objector's assignment is revoked in a new epoch; the
        // named unit leads from epoch 1.
        let o = dispatched(c, "sanitation.garbage", "5 Market Lane", "t-market").await;
        let id = &o.order_id;
        let ob = objected(c, "t-market", id, 1, "t-harbour").await;
        let s = c
            .rule("city", &ob.objection_id, RulingKind::Redirect, "")
            .await
            .unwrap_err();
        assert_eq!(bad_field(&s), "unit");
        let s = c
            .rule(
                "city",
                &ob.objection_id,
                RulingKind::Redirect,
                "c-harbour-north",
            )
            .await
            .unwrap_err();
        assert_eq!(bad_field(&s), "unit", "a community takes no dispatch");
        c.rule("city", &ob.objection_id, RulingKind::Redirect, "t-harbour")
            .await
            .unwrap();
        let revoked = c.wait_assignment("t-market", id, 2, WAIT).await.unwrap();
        assert_eq!(revoked.state, AssignmentState::Revoked as i32);
        for epoch in [1, 2] {
            let s = c
                .accept("t-market", id, epoch, &request_id())
                .await
                .unwrap_err();
            assert_eq!(s.code(), Code::FailedPrecondition, "epoch {epoch}");
        }
        let new = c.wait_assignment("t-harbour", id, 1, WAIT).await.unwrap();
        assert_eq!(new.role, AssignmentRole::Lead as i32);
        c.handle("t-harbour", id, 1, ReplyOutcome::Resolved)
            .await
            .unwrap();
        let order = c
            .wait_order_state(id, OrderState::Replied, WAIT)
            .await
            .unwrap();
        assert_eq!(order.redirect_count, 1);
        assert!(!order.bounce_limit_reached);
        assert_eq!(
            held_by(&order, "t-market").state,
            AssignmentState::Revoked as i32
        );

        // Joint: the objector leads; the named unit co-handles and reports its
        // part back to the lead (first-receiver rule, Art. 14).
        let o = dispatched(
            c,
            "property.management_dispute",
            "27 Market Lane",
            "t-market",
        )
        .await;
        let id = &o.order_id;
        let ob = objected(c, "t-market", id, 1, "dept-urban").await;
        let s = c
            .rule("city", &ob.objection_id, RulingKind::Joint, "dept-housing")
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            Code::FailedPrecondition,
            "dept-housing already leads"
        );
        c.rule("city", &ob.objection_id, RulingKind::Joint, "dept-urban")
            .await
            .unwrap();
        let lead = c.wait_assignment("t-market", id, 2, WAIT).await.unwrap();
        assert_eq!(lead.state, AssignmentState::Accepted as i32);
        let co = c.wait_assignment("dept-urban", id, 1, WAIT).await.unwrap();
        assert_eq!(co.role, AssignmentRole::CoHandler as i32);
        assert_eq!(co.lead_unit, "t-market");
        c.handle("dept-urban", id, 1, ReplyOutcome::Resolved)
            .await
            .unwrap();
        let parts = wait_parts(c, "t-market", id).await;
        assert_eq!(parts[0].unit_id, "dept-urban");
        assert_eq!(parts[0].outcome, ReplyOutcome::Resolved as i32);

        // Bad objections change nothing.
        let o = dispatched(c, "sanitation.garbage", "18 Harbour Road", "t-harbour").await;
        let id = &o.order_id;
        let s = c
            .object("t-harbour", id, 1, "t-market", " ")
            .await
            .unwrap_err();
        assert_eq!(bad_field(&s), "reason");
        for proposed in ["t-harbour", "c-harbour-north", "t-atlantis", ""] {
            let s = c
                .object("t-harbour", id, 1, proposed, "not ours")
                .await
                .unwrap_err();
            assert_eq!(bad_field(&s), "proposed_unit", "{proposed}");
        }
        c.wait_assignment("d-riverside", id, 1, WAIT).await.unwrap();
        let s = c
            .object("d-riverside", id, 1, "t-market", "not ours")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition, "a copy does not object");
        let s = c
            .rule("city", "OB99999999", RulingKind::Keep, "")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::NotFound);
        let a = c.assignment("t-harbour", id).await.unwrap();
        assert_eq!(a.state, AssignmentState::Dispatched as i32);
        assert!(c.objections("city", id).await.unwrap().is_empty());
        assert_eq!(t.dead_letters().await, vec![], "no handoff refused");
        t.stop().await;
    }
}

mesh_test! {
    async fn art12_the_bounce_limit_designates_the_handler(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let o = dispatched(c, "sanitation.garbage", "1 Harbour Road", "t-harbour").await;
        let id = &o.order_id;
        // Ping-pong: each township says it is the other's.
        let mut epochs = [("t-harbour", 1u64), ("t-market", 0u64)];
        for round in 0..3 {
            let (from, to) = (epochs[round % 2], epochs[(round + 1) % 2]);
            c.wait_assignment(from.0, id, from.1, WAIT).await.unwrap();
            let ob = objected(c, from.0, id, from.1, to.0).await;
            c.rule("city", &ob.objection_id, RulingKind::Redirect, to.0)
                .await
                .unwrap();
            // The redirected-to unit's next epoch; the objector's is revoked.
            epochs[(round + 1) % 2].1 += 1;
            epochs[round % 2].1 += 1;
        }
        let order = c.order(id).await.unwrap();
        assert_eq!(order.redirect_count, 3);
        assert!(order.bounce_limit_reached, "the order is flagged");
        assert_eq!(order.designated_unit, "t-market");
        assert_eq!(actions(&order, "designated"), vec!["city"]);
        assert_eq!(
            held_by(&order, "d-riverside").role,
            AssignmentRole::Copy as i32
        );
        // t-market: 1 (objected), 2 (revoked), 3 (designated).
        let epoch = epochs[1].1;
        assert_eq!(epoch, 3);
        let designated = c
            .wait_assignment("t-market", id, epoch, WAIT)
            .await
            .unwrap();
        assert!(designated.designated);
        let s = c
            .object("t-market", id, epoch, "t-harbour", "still not ours")
            .await
            .unwrap_err();
        assert_eq!(rule_of(&s), "DESIGNATED_HANDLER");
        assert!(
            s.message().starts_with("designated handler: "),
            "{}",
            s.message()
        );
        c.handle("t-market", id, epoch, ReplyOutcome::Resolved)
            .await
            .unwrap();
        c.wait_order_state(id, OrderState::Replied, WAIT)
            .await
            .unwrap();
        // A reopen is no redirection.
        let reopened = c
            .callback(id, false, Satisfaction::Dissatisfied)
            .await
            .unwrap();
        assert_eq!(reopened.redirect_count, 3);
        assert_eq!(t.dead_letters().await, vec![], "no handoff refused");
        t.stop().await;
    }
}

mesh_test! {
    async fn art12_the_district_rules_first_inside_it(store) {
        let topology = demo_with_policy(&[("arbitration", "\"district_first\"")]);
        let t = mesh_on(store, &topology).await;
        let c = &t.client;

        // Inside Riverside: the district rules; the centre and others may not.
        let o = dispatched(c, "sanitation.garbage", "1 Harbour Road", "t-harbour").await;
        let keep = objected(c, "t-harbour", &o.order_id, 1, "t-market").await;
        assert_eq!(keep.authority_unit, "d-riverside");
        let referred = wait_referred(
            c,
            "d-riverside",
            &keep.objection_id,
            ObjectionState::Pending,
        )
        .await;
        assert_eq!(referred.order_id, o.order_id);
        for other in ["city", "d-hillview", "t-market"] {
            let s = c
                .rule(other, &keep.objection_id, RulingKind::Keep, "")
                .await
                .unwrap_err();
            assert_eq!(s.code(), Code::PermissionDenied, "{other}");
        }
        let ruled = c
            .rule("d-riverside", &keep.objection_id, RulingKind::Keep, "")
            .await
            .unwrap();
        assert_eq!(ruled.ruled_by, "d-riverside");
        let kept = c
            .wait_assignment("t-harbour", &o.order_id, 2, WAIT)
            .await
            .unwrap();
        assert_eq!(kept.state, AssignmentState::Accepted as i32);
        wait_referred(c, "d-riverside", &keep.objection_id, ObjectionState::Ruled).await;
        assert_eq!(
            actions(&c.order(&o.order_id).await.unwrap(), "ruled"),
            vec!["d-riverside"]
        );

        // Redirect by the district.
        let o = dispatched(c, "sanitation.garbage", "5 Market Lane", "t-market").await;
        let ob = objected(c, "t-market", &o.order_id, 1, "t-harbour").await;
        c.rule(
            "d-riverside",
            &ob.objection_id,
            RulingKind::Redirect,
            "t-harbour",
        )
        .await
        .unwrap();
        c.wait_assignment("t-harbour", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        let revoked = c
            .wait_assignment("t-market", &o.order_id, 2, WAIT)
            .await
            .unwrap();
        assert_eq!(revoked.state, AssignmentState::Revoked as i32);
        assert_eq!(c.order(&o.order_id).await.unwrap().redirect_count, 1);

        // Joint by the district, with its own district-level department.
        let o = dispatched(c, "sanitation.garbage", "27 Market Lane", "t-market").await;
        let ob = objected(c, "t-market", &o.order_id, 1, "dept-transport").await;
        assert_eq!(ob.authority_unit, "d-riverside");
        c.rule(
            "d-riverside",
            &ob.objection_id,
            RulingKind::Joint,
            "dept-transport",
        )
        .await
        .unwrap();
        let ob_joint = ob.objection_id.clone();
        let co = c
            .wait_assignment("dept-transport", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        assert_eq!(co.role, AssignmentRole::CoHandler as i32);
        assert_eq!(co.lead_unit, "t-market");

        // Across districts, or with a city department, the centre rules.
        let o = dispatched(c, "sanitation.garbage", "18 Harbour Road", "t-harbour").await;
        let ob = objected(c, "t-harbour", &o.order_id, 1, "t-lake").await;
        assert_eq!(ob.authority_unit, "city");
        let s = c
            .rule(
                "d-riverside",
                &ob.objection_id,
                RulingKind::Redirect,
                "t-lake",
            )
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied);
        c.rule("city", &ob.objection_id, RulingKind::Redirect, "t-lake")
            .await
            .unwrap();
        c.wait_assignment("t-lake", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        // Only the district's own disputes are referred to it.
        wait_referred(c, "d-riverside", &ob_joint, ObjectionState::Ruled).await;
        let listed = c.objections("d-riverside", "").await.unwrap();
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert_eq!(t.dead_letters().await, vec![], "no handoff refused");
        t.stop().await;
    }
}

/// Waits until the district holds the referred objection in `state`.
async fn wait_referred(
    c: &MeshClient,
    district: &str,
    objection_id: &str,
    state: ObjectionState,
) -> Objection {
    for _ in 0..300 {
        let found = c.objections(district, "").await.unwrap();
        if let Some(o) = found
            .into_iter()
            .find(|o| o.objection_id == objection_id && o.state == state as i32)
        {
            return o;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "{district} never held {objection_id} as {}",
        state.as_str_name()
    );
}

mesh_test! {
    async fn art14_an_objection_after_the_window_is_refused(store) {
        // A zero window makes every objection late, without waiting.
        let topology = demo_with_policy(&[("objection_window_hours", "0")]);
        let t = mesh_on(store, &topology).await;
        let c = &t.client;
        let o = dispatched(c, "sanitation.garbage", "1 Harbour Road", "t-harbour").await;
        let s = c
            .object("t-harbour", &o.order_id, 1, "t-market", "not ours")
            .await
            .unwrap_err();
        assert_eq!(rule_of(&s), "FIRST_RECEIVER");
        assert!(s.message().contains("objection window"), "{}", s.message());
        let a = c.assignment("t-harbour", &o.order_id).await.unwrap();
        assert_eq!(
            a.state,
            AssignmentState::Dispatched as i32,
            "nothing changed"
        );
        c.accept("t-harbour", &o.order_id, 1, &request_id())
            .await
            .unwrap();
        assert!(c.objections("city", &o.order_id).await.unwrap().is_empty());
        assert_eq!(t.dead_letters().await, vec![], "no handoff refused");
        t.stop().await;
    }
}

mesh_test! {
    async fn art12_an_objection_left_unruled_past_its_deadline_is_supervised(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let o = dispatched(c, "sanitation.garbage", "1 Harbour Road", "t-harbour").await;
        let objection = objected(c, "t-harbour", &o.order_id, 1, "t-market").await;
        let due = objection
            .ruling_due_time
            .as_ref()
            .map(hotline_runtime::wire::micros)
            .unwrap();
        c.advance_to(due - 1).await.unwrap();
        let order = c.order(&o.order_id).await.unwrap();
        assert!(
            crate::support::actions(&order, "ruling_overdue").is_empty(),
            "not before the deadline"
        );
        c.advance_to(due).await.unwrap();
        let order = c.order(&o.order_id).await.unwrap();
        assert_eq!(
            crate::support::actions(&order, "ruling_overdue"),
            vec!["city"],
            "once, at the deadline"
        );
        // A ruling afterwards still stands, and stops nothing twice.
        c.rule("city", &objection.objection_id, RulingKind::Keep, "")
            .await
            .unwrap();
        c.advance_to(due + 24 * 3_600_000_000).await.unwrap();
        let order = c.order(&o.order_id).await.unwrap();
        assert_eq!(crate::support::actions(&order, "ruling_overdue").len(), 1);
        t.stop().await;
    }
}

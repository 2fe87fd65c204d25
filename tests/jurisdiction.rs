//! Who handles what, across real processes: intake dispositions, the
//! dispatch rules, community hand-downs and reclassification.

use hotline::client::{MeshClient, request_id};
use hotline_proto::v1::*;
use tonic::Code;

use crate::disputes::rule_of;
use crate::support::*;

fn disposed(kind: Disposition, reason: &str) -> SubmitRequestRequest {
    SubmitRequestRequest {
        disposition: kind as i32,
        disposition_reason: reason.into(),
        ..submit("", "", RequestKind::Help)
    }
}

fn with_phone(mut r: SubmitRequestRequest, phone: &str) -> SubmitRequestRequest {
    r.requester.as_mut().unwrap().phone = phone.into();
    r
}

fn leads(o: &Order) -> Vec<String> {
    o.assignments
        .iter()
        .filter(|a| a.role == AssignmentRole::Lead as i32)
        .map(|a| a.unit_id.clone())
        .collect()
}

/// The disposition history line of an order.
fn disposed_line(o: &Order) -> String {
    o.history
        .iter()
        .find(|h| h.action == "disposed")
        .map(|h| h.detail.clone())
        .unwrap_or_default()
}

mesh_test! {
    async fn art11_intake_dispositions_are_recorded_and_never_dispatched(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let mut emergency = disposed(Disposition::EmergencyTransfer, "smoke in the stairwell");
        emergency.emergency_line = EmergencyLine::Fire119 as i32;
        let mut legal = disposed(Disposition::LegalChannel, "the case is before the court");
        legal.legal_channel = LegalChannel::Litigation as i32;
        legal.category_code = "property.management_dispute".into();
        let cases = [
            (emergency, "emergency_transfer line=119", "119"),
            (legal, "legal_channel channel=litigation", "litigation"),
            (
                disposed(Disposition::SecretsPrivacy, "a neighbour's medical records"),
                "secrets_privacy",
                "privacy",
            ),
            (
                disposed(Disposition::OutsideDuty, "a private tutoring fee"),
                "outside_duty",
                "guided elsewhere",
            ),
            (
                disposed(Disposition::Unlawful, "asks to block a fire lane"),
                "unlawful",
                "dissuaded",
            ),
        ];
        for (req, line, told) in cases {
            let reason = req.disposition_reason.clone();
            let o = c.submit(req).await.unwrap();
            assert_eq!(o.state, OrderState::Disposed as i32, "{line}");
            assert!(o.assignments.is_empty(), "{line}: none dispatched");
            assert_eq!(disposed_line(&o), line);
            assert!(
                o.answer.contains(told) && o.answer.contains(&reason),
                "{}",
                o.answer
            );
            assert!(
                !o.history.iter().any(|h| h.detail.contains(&reason)),
                "{line}: the reason stays out of the history"
            );
            assert!(o.closed_time.is_some());
        }

        // A repeat of an open order without new facts is linked to it.
        let first = c
            .submit(submit(
                "sanitation.garbage",
                "1 Harbour Road",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        let again = c
            .submit(submit(
                "sanitation.garbage",
                "1 Harbour Road",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        assert_eq!(again.disposition, Disposition::Duplicate as i32);
        assert_eq!(again.duplicate_of, first.order_id);
        assert!(again.assignments.is_empty());
        assert!(again.answer.contains(&first.order_id), "{}", again.answer);
        let first_now = c.order(&first.order_id).await.unwrap();
        assert_eq!(actions(&first_now, "repeated"), vec!["city"]);
        // Said so by intake, too.
        let declared = SubmitRequestRequest {
            disposition: Disposition::Duplicate as i32,
            ..submit(
                "sanitation.garbage",
                "1 Harbour Road",
                RequestKind::Complaint,
            )
        };
        let o = c.submit(declared).await.unwrap();
        assert_eq!(o.duplicate_of, first.order_id);
        // By location: within the duplicate radius (100 m) is the same place.
        let located = |lat: f64| {
            let mut r = submit("road.pothole", "", RequestKind::Report);
            r.location = Some(Location {
                latitude: lat,
                longitude: 116.241,
            });
            with_phone(r, "13722222222")
        };
        // A located order after unlocated ones: the same insert on the same
        // connection must take a location after a NULL one.
        let here = c.submit(located(39.942)).await.unwrap();
        assert_eq!(here.state, OrderState::Dispatched as i32);
        let near = c.submit(located(39.9424)).await.unwrap();
        assert_eq!(near.duplicate_of, here.order_id, "44 m away");
        let far = c.submit(located(39.9436)).await.unwrap();
        assert_eq!(far.state, OrderState::Dispatched as i32, "180 m away");
        // New facts, another requester, place or matter: dispatched afresh.
        let mut news = submit(
            "sanitation.garbage",
            "1 Harbour Road",
            RequestKind::Complaint,
        );
        news.new_facts = true;
        let others = [
            news,
            with_phone(
                submit(
                    "sanitation.garbage",
                    "1 Harbour Road",
                    RequestKind::Complaint,
                ),
                "13711111111",
            ),
            submit(
                "sanitation.garbage",
                "18 Harbour Road",
                RequestKind::Complaint,
            ),
            submit("road.pothole", "1 Harbour Road", RequestKind::Complaint),
        ];
        for r in others {
            let o = c.submit(r).await.unwrap();
            assert_eq!(
                o.state,
                OrderState::Dispatched as i32,
                "{}",
                o.category_code
            );
        }

        // Bad dispositions name their field and store nothing.
        let before = c.list_orders().await.unwrap().len();
        let mut no_line = disposed(Disposition::EmergencyTransfer, "smoke");
        no_line.emergency_line = 0;
        let s = c.submit(no_line).await.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert!(
            s.message().starts_with("emergency_line:"),
            "{}",
            s.message()
        );
        let s = c
            .submit(disposed(Disposition::Unlawful, " "))
            .await
            .unwrap_err();
        assert!(
            s.message().starts_with("disposition_reason:"),
            "{}",
            s.message()
        );
        let unmatched = SubmitRequestRequest {
            disposition: Disposition::Duplicate as i32,
            ..submit("road.collapse", "9 Lakeside Road", RequestKind::Complaint)
        };
        let s = c.submit(unmatched).await.unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.message().starts_with("duplicate: "), "{}", s.message());
        assert_eq!(
            c.list_orders().await.unwrap().len(),
            before,
            "nothing stored"
        );
        assert_eq!(t.dead_letters().await, vec![]);
        t.stop().await;
    }
}

async fn accepted(c: &MeshClient, category: &str, address: &str, lead: &str) -> Order {
    let o = c
        .submit(submit(category, address, RequestKind::Complaint))
        .await
        .unwrap();
    c.wait_assignment(lead, &o.order_id, 1, WAIT).await.unwrap();
    c.accept(lead, &o.order_id, 1, &request_id()).await.unwrap();
    o
}

mesh_test! {
    async fn art17_hand_downs_follow_the_community_duty_list(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let assist = AssignmentRole::Assist;

        // A duty-list item goes down to a community, which assists and reports
        // its part back to the township; the township still answers for it.
        let o = c
            .submit(submit(
                "sanitation.garbage",
                "3 North Quay",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        let id = &o.order_id;
        c.wait_assignment("t-harbour", id, 1, WAIT).await.unwrap();
        let s = c
            .hand_down("t-harbour", id, 1, "c-harbour-north", assist)
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition, "accept first");
        c.accept("t-harbour", id, 1, &request_id()).await.unwrap();
        let s = c
            .hand_down("t-harbour", id, 1, "c-market-east", assist)
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "not its community");
        let s = c
            .hand_down(
                "t-harbour",
                id,
                1,
                "c-harbour-north",
                AssignmentRole::CoHandler,
            )
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument);
        c.hand_down("t-harbour", id, 1, "c-harbour-north", assist)
            .await
            .unwrap();
        let a = c
            .wait_assignment("c-harbour-north", id, 1, WAIT)
            .await
            .unwrap();
        assert_eq!((a.role, a.lead_unit.as_str()), (assist as i32, "t-harbour"));
        c.handle("c-harbour-north", id, 1, ReplyOutcome::Resolved)
            .await
            .unwrap();
        let parts = wait_parts(c, "t-harbour", id).await;
        assert_eq!(parts[0].unit_id, "c-harbour-north");
        let order = c.order(id).await.unwrap();
        assert_eq!(actions(&order, "handed_down"), vec!["t-harbour"]);
        assert_eq!(
            order.state,
            OrderState::InProgress as i32,
            "the township still owes its reply"
        );
        c.contact("t-harbour", id, 1, "confirm").await.unwrap();
        c.reply("t-harbour", id, 1, ReplyOutcome::Resolved, "bins emptied")
            .await
            .unwrap();
        c.wait_order_state(id, OrderState::Replied, WAIT)
            .await
            .unwrap();

        // A community may lead its own duty-list matters.
        let o = accepted(c, "sanitation.garbage", "6 South Quay", "t-harbour").await;
        c.hand_down(
            "t-harbour",
            &o.order_id,
            1,
            "c-harbour-south",
            AssignmentRole::Lead,
        )
        .await
        .unwrap();
        let a = c
            .wait_assignment("c-harbour-south", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        assert_eq!(a.role, AssignmentRole::Lead as i32);

        // Outside the duty list: refused, naming the rule; nothing issued.
        let o = accepted(c, "noise.night_construction", "5 Market Lane", "t-market").await;
        let s = c
            .hand_down("t-market", &o.order_id, 1, "c-market-east", assist)
            .await
            .unwrap_err();
        assert_eq!(rule_of(&s), "COMMUNITY_DUTY_LIST");
        assert!(
            s.message().starts_with("community duty list: "),
            "{}",
            s.message()
        );

        // An assist item: assist yes, lead never.
        let o = accepted(c, "community.sorting_guidance", "8 West Arcade", "t-market").await;
        let s = c
            .hand_down(
                "t-market",
                &o.order_id,
                1,
                "c-market-west",
                AssignmentRole::Lead,
            )
            .await
            .unwrap_err();
        assert_eq!(rule_of(&s), "COMMUNITY_ASSIST_ITEM");
        c.hand_down("t-market", &o.order_id, 1, "c-market-west", assist)
            .await
            .unwrap();
        c.wait_assignment("c-market-west", &o.order_id, 1, WAIT)
            .await
            .unwrap();

        let order = c.order(&o.order_id).await.unwrap();
        assert_eq!(
            actions(&order, "handed_down"),
            vec!["t-market"],
            "the refusal left no trace"
        );
        assert_eq!(t.dead_letters().await, vec![]);
        t.stop().await;
    }
}

mesh_test! {
    async fn art12_dispatch_rules_and_reclassification(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let complaint = |category, address| submit(category, address, RequestKind::Complaint);

        // Only the district is known: it organises.
        let o = c
            .submit(complaint("road.pothole", "Ridge Road"))
            .await
            .unwrap();
        assert_eq!(leads(&o), vec!["d-hillview"]);
        assert_eq!(o.territory_unit, "d-hillview");
        assert_eq!(actions(&o, "organised"), vec!["city"]);
        c.wait_assignment("d-hillview", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        c.accept("d-hillview", &o.order_id, 1, &request_id())
            .await
            .unwrap();

        // A district-level line goes to the location's district department.
        let o = c
            .submit(complaint("parking.illegal", "5 Market Lane"))
            .await
            .unwrap();
        assert_eq!(leads(&o), vec!["dept-transport"]);
        let o = c
            .submit(complaint("parking.illegal", "2 Pine Avenue"))
            .await
            .unwrap();
        assert_eq!(leads(&o), vec!["dept-hillview-transport"]);

        // A central unit's matter is forwarded to it and tracked to the reply.
        let o = c
            .submit(complaint("railway.crossing_noise", ""))
            .await
            .unwrap();
        assert_eq!(leads(&o), vec!["central-rail"]);
        assert_eq!(actions(&o, "forwarded"), vec!["city"]);
        c.wait_assignment("central-rail", &o.order_id, 1, WAIT)
            .await
            .unwrap();
        c.handle("central-rail", &o.order_id, 1, ReplyOutcome::Explained)
            .await
            .unwrap();
        c.wait_order_state(&o.order_id, OrderState::Replied, WAIT)
            .await
            .unwrap();

        // Reclassification: handler, urgency and deadline recomputed.
        let o = c
            .submit(complaint("sanitation.garbage", "1 Harbour Road"))
            .await
            .unwrap();
        let id = &o.order_id;
        let received = o.received_time.unwrap().seconds;
        c.wait_assignment("t-harbour", id, 1, WAIT).await.unwrap();
        let r = c
            .reclassify(id, "road.collapse", "the road surface has caved in")
            .await
            .unwrap();
        assert_eq!(r.category_code, "road.collapse");
        assert_eq!(r.urgency, Urgency::Emergency as i32);
        assert_eq!(
            r.due_time.unwrap().seconds - received,
            2 * 3600,
            "2 h from intake"
        );
        assert_eq!(actions(&r, "reclassified"), vec!["city"]);
        let line = r
            .history
            .iter()
            .find(|h| h.action == "reclassified")
            .unwrap();
        assert!(
            line.detail.starts_with(
                "category sanitation.garbage to road.collapse; urgency general to emergency"
            ) && line
                .detail
                .ends_with("reason: the road surface has caved in"),
            "{}",
            line.detail
        );
        let mut now_leads = leads(&r);
        now_leads.sort();
        assert_eq!(now_leads, vec!["dept-urban", "t-harbour"]);
        let kept = c.wait_assignment("t-harbour", id, 2, WAIT).await.unwrap();
        assert_eq!(kept.urgency, Urgency::Emergency as i32);
        c.wait_assignment("dept-urban", id, 1, WAIT).await.unwrap();
        // Onto a department-only item: the township and its district's copy go.
        let r = c
            .reclassify(id, "water.outage", "no water at all")
            .await
            .unwrap();
        assert_eq!(r.urgency, Urgency::Utility as i32);
        let revoked = c.wait_assignment("t-harbour", id, 3, WAIT).await.unwrap();
        assert_eq!(revoked.state, AssignmentState::Revoked as i32);
        let s = c
            .accept("t-harbour", id, 3, &request_id())
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition);
        c.wait_assignment("dept-utility", id, 1, WAIT)
            .await
            .unwrap();
        let order = c.order(id).await.unwrap();
        let active: Vec<&str> = order
            .assignments
            .iter()
            .filter(|a| a.state != AssignmentState::Revoked as i32)
            .map(|a| a.unit_id.as_str())
            .collect();
        assert_eq!(active, vec!["dept-utility"]);
        assert_eq!(
            order.redirect_count, 0,
            "the centre's correction is no bounce"
        );

        // Bad reclassifications change nothing.
        let s = c.reclassify(id, "no.such.item", "x").await.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument);
        let s = c.reclassify(id, "water.outage", "x").await.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "already so classified");
        let answered = c
            .submit(submit("policy.hukou", "", RequestKind::Consultation))
            .await
            .unwrap();
        let s = c
            .reclassify(&answered.order_id, "road.pothole", "x")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(c.order(id).await.unwrap().seq, order.seq);
        assert_eq!(t.dead_letters().await, vec![]);
        t.stop().await;
    }
}

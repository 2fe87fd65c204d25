//! The regulation's rules (《北京市接诉即办工作条例》, DESIGN.md §8), each
//! in a test named for its article, asserting the rule's effect at the
//! instant it should act, end to end through the mesh on a virtual clock.

use hotline_core::calendar::Date;
use hotline_proto::v1::*;
use hotline_runtime::wire::micros;

use crate::support::*;

const HOUR: i64 = 3_600_000_000;

/// The demo city counting day limits in working days (as Beijing's
/// topologies do) on the shipped calendar.
fn working_day_city() -> String {
    let t = hotline::DEMO_TOPOLOGY.replace("working_days = false", "working_days = true");
    assert_ne!(
        t,
        hotline::DEMO_TOPOLOGY,
        "the demo city names working_days"
    );
    t
}

/// A mesh on `topology` with a virtual clock at `start`.
async fn virtual_mesh_on(store: &Store, start: &'static str, topology: String) -> TestMesh {
    let spec = Spec {
        virtual_clock: Some(start),
        topology: Some(topology),
        ..Spec::default()
    };
    TestMesh::start(store, spec).await
}

fn at(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref().map(micros).unwrap()
}

fn shanghai(date: &str, hour: i64) -> i64 {
    Date::parse(date).unwrap().start() + hour * HOUR
}

mesh_test! {
    /// Art. 13: a general request's 7 days are working days on a
    /// working-day topology: National Day 2025 (1–8 October off, Saturday
    /// 11 October worked) and the 2026 Spring Festival (15–23 February
    /// off, Saturdays 14 and 28 February worked) are passed over, the
    /// make-up Saturdays counted. The breach fires at the due instant, not
    /// a microsecond before. A deadline counted into 2027, which the
    /// State Council has not published, is provisional on the order.
    async fn art13_working_day_limits_pass_over_holidays_and_count_make_up_saturdays(store) {
        let t = virtual_mesh_on(store, "2025-09-30T10:00", working_day_city()).await;
        let c = &t.client;
        let cases = [
            // Submitted, due (7 working days later, 10:00 Shanghai).
            (shanghai("2025-09-30", 10), shanghai("2025-10-16", 10)),
            (shanghai("2026-02-13", 10), shanghai("2026-03-02", 10)),
        ];
        for (submitted, due) in cases {
            c.advance_to(submitted).await.unwrap();
            let o = c
                .submit(submit("sanitation.garbage", "6 South Quay", RequestKind::Complaint))
                .await
                .unwrap();
            assert_eq!(at(&o.received_time), submitted);
            assert_eq!(at(&o.due_time), due, "business clock, 7 working days");
            assert!(!o.deadline_provisional);
            let leads: Vec<&Assignment> = o
                .assignments
                .iter()
                .filter(|a| a.role == AssignmentRole::Lead as i32)
                .collect();
            assert!(!leads.is_empty());
            for a in &leads {
                assert_eq!(at(&a.due_time), due, "{}'s handler clock", a.unit_id);
            }
            c.advance_to(due - 1).await.unwrap();
            let o = c.order(&o.order_id).await.unwrap();
            assert!(actions(&o, "breached").is_empty(), "no breach before {due}");
            assert!(!o.overdue);
            c.advance_to(due).await.unwrap();
            let o = c.order(&o.order_id).await.unwrap();
            assert_eq!(actions(&o, "breached").len(), leads.len(), "breach at {due}");
            assert!(o.overdue);
        }
        // 15 working days from Monday 28 December 2026 run into 2027: the
        // weekdays are counted, and the order says the deadline may move.
        c.advance_to(shanghai("2026-12-28", 9)).await.unwrap();
        let o = c
            .submit(submit(
                "housing.old_estate_renovation",
                "",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        assert_eq!(at(&o.due_time), shanghai("2027-01-18", 9));
        assert!(o.deadline_provisional, "counted into an unpublished year");
        assert!(c.order(&o.order_id).await.unwrap().deadline_provisional);
        t.stop().await;
    }
}

/// The order's lead assignments.
fn leads(o: &Order) -> Vec<&Assignment> {
    o.assignments
        .iter()
        .filter(|a| a.role == AssignmentRole::Lead as i32)
        .collect()
}

/// Advances to `due`: a microsecond before, no lead of order `id` has
/// breached and it is not overdue; at `due`, every lead has.
async fn breaches_at(c: &hotline::client::MeshClient, id: &str, leads: usize, due: i64) {
    c.advance_to(due - 1).await.unwrap();
    let o = c.order(id).await.unwrap();
    assert!(
        actions(&o, "breached").is_empty(),
        "{id}: no breach before {due}"
    );
    assert!(!o.overdue, "{id}: not overdue before {due}");
    c.advance_to(due).await.unwrap();
    let o = c.order(id).await.unwrap();
    assert_eq!(
        actions(&o, "breached").len(),
        leads,
        "{id}: breach at {due}"
    );
    assert!(o.overdue, "{id}: overdue at {due}");
}

mesh_test! {
    /// Art. 19: water, power, gas and heating serve around the clock
    /// (全天候服务). On a working-day topology their 24 h limit stays
    /// natural time: a utility request received on the eve of National
    /// Day 2025, during it, or on a Saturday falls due 24 hours later, on
    /// the holiday or the Sunday, and breaches then, while a general
    /// request received at the same instant is counted in working days
    /// past the holiday and the weekend, and is not overdue at the
    /// utility's deadline.
    async fn art19_utilities_are_due_around_the_clock_over_holidays_and_weekends(store) {
        let t = virtual_mesh_on(store, "2025-09-30T10:00", working_day_city()).await;
        let c = &t.client;
        let cases = [
            // Received, the utility item, its due (24 natural hours), a
            // general request's due (7 working days, 10:00 Shanghai).
            // Tuesday, the eve of National Day (1-8 October off,
            // Saturday 11 October worked).
            (
                shanghai("2025-09-30", 10),
                "water.outage",
                shanghai("2025-10-01", 10),
                shanghai("2025-10-16", 10),
            ),
            // Saturday 15 November, the first day of heating.
            (
                shanghai("2025-11-15", 10),
                "heating.no_heat",
                shanghai("2025-11-16", 10),
                shanghai("2025-11-25", 10),
            ),
            // Tuesday 17 February 2026, inside the Spring Festival (15-23
            // February off, Saturday 28 February worked).
            (
                shanghai("2026-02-17", 10),
                "water.outage",
                shanghai("2026-02-18", 10),
                shanghai("2026-03-03", 10),
            ),
        ];
        for (received, item, utility_due, general_due) in cases {
            c.advance_to(received).await.unwrap();
            // New facts each time: none is a repeat of an earlier case.
            let fresh = |category: &str| SubmitRequestRequest {
                new_facts: true,
                ..submit(category, "6 South Quay", RequestKind::Complaint)
            };
            let u = c.submit(fresh(item)).await.unwrap();
            let g = c.submit(fresh("sanitation.garbage")).await.unwrap();
            assert_eq!(u.urgency, Urgency::Utility as i32, "{item}");
            assert_eq!(g.urgency, Urgency::General as i32);
            for (o, due) in [(&u, utility_due), (&g, general_due)] {
                assert_eq!(at(&o.received_time), received);
                assert!(!leads(o).is_empty(), "{} dispatched", o.category_code);
                // As the centre stores it, and on each handler's clock.
                let stored = c.order(&o.order_id).await.unwrap();
                assert_eq!(at(&stored.due_time), due, "{}", o.category_code);
                assert!(!stored.deadline_provisional);
                for a in leads(&stored) {
                    assert_eq!(at(&a.due_time), due, "{}'s handler clock", a.unit_id);
                }
            }
            breaches_at(c, &u.order_id, leads(&u).len(), utility_due).await;
            let general = c.order(&g.order_id).await.unwrap();
            assert!(!general.overdue, "the general request waits for working days");
            assert!(actions(&general, "breached").is_empty());
            breaches_at(c, &g.order_id, leads(&g).len(), general_due).await;
        }
        t.stop().await;
    }
}

/// A garbage complaint at 8 West Arcade (t-market leads): its order.
async fn garbage_at_the_market(c: &hotline::client::MeshClient) -> Order {
    c.submit(submit(
        "sanitation.garbage",
        "8 West Arcade",
        RequestKind::Complaint,
    ))
    .await
    .unwrap()
}

/// t-market accepts, contacts and replies resolved; the order is replied.
async fn handled(c: &hotline::client::MeshClient, id: &str) {
    handled_at_epoch(c, id, 1).await;
}

/// [`handled`], in the round of `epoch`.
async fn handled_at_epoch(c: &hotline::client::MeshClient, id: &str, epoch: u64) {
    c.wait_assignment("t-market", id, epoch, WAIT)
        .await
        .unwrap();
    c.handle("t-market", id, epoch, ReplyOutcome::Resolved)
        .await
        .unwrap();
    c.wait_order_state(id, OrderState::Replied, WAIT)
        .await
        .unwrap();
}

fn rate(r: &Option<Rate>) -> (f64, u64) {
    let r = r.unwrap();
    (r.numerator, r.denominator)
}

mesh_test! {
    /// Art. 23: an order its handler accepted and contacted but never
    /// replied to is called back when its time limit ends. Before then a
    /// callback is refused (FAILED_PRECONDITION) and nothing changes; at
    /// the limit the centre's timer says the callback is due; the callback
    /// counts as unresolved whatever the requester says, the order stays
    /// with its handler, and the unit's resolution rate carries it — a unit
    /// cannot keep a perfect score by never replying.
    async fn art23_an_unreplied_order_is_called_back_at_its_limit_and_counts_unresolved(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let o = garbage_at_the_market(c).await;
        let id = o.order_id.clone();
        let due = at(&o.due_time);
        c.wait_assignment("t-market", &id, 1, WAIT).await.unwrap();
        c.accept("t-market", &id, 1, &request_id()).await.unwrap();
        c.contact("t-market", &id, 1, "confirm the place").await.unwrap();

        c.advance_to(due - 1).await.unwrap();
        let before = c.order(&id).await.unwrap();
        assert!(actions(&before, "callback_due").is_empty(), "not before the limit");
        let refused = c
            .callback(&id, true, Satisfaction::Satisfied)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
        assert!(refused.message().contains("time limit"), "{}", refused.message());
        assert_eq!(c.order(&id).await.unwrap(), before, "a refused callback changes nothing");

        c.advance_to(due).await.unwrap();
        let o = c.order(&id).await.unwrap();
        assert_eq!(actions(&o, "callback_due"), vec!["city"]);
        let o = c.callback(&id, true, Satisfaction::Satisfied).await.unwrap();
        let cb = o.callback.unwrap();
        assert!(!cb.resolved, "without a reply it is unresolved");
        assert_eq!(actions(&o, "called_back_unreplied"), vec!["city"]);
        assert_eq!(o.state, OrderState::InProgress as i32, "still with its handler");
        assert!(o.closed_time.is_none());

        let s = c
            .scorecard("t-market", "t-market", &o.received_time.as_ref().map(|ts| {
                let d = Date::of(micros(ts));
                format!("{:04}-{:02}", d.year, d.month)
            }).unwrap(), ScorecardScope::Own)
            .await
            .unwrap();
        assert_eq!(rate(&s.resolution), (0.0, 1), "one callback, unresolved");

        // The late reply is called back too, at once (its limit has passed).
        c.reply("t-market", &id, 1, ReplyOutcome::Resolved, "cleared")
            .await
            .unwrap();
        c.wait_order_state(&id, OrderState::Replied, WAIT).await.unwrap();
        c.advance_to(due + 1).await.unwrap();
        assert_eq!(actions(&c.order(&id).await.unwrap(), "callback_due").len(), 2);
        let o = c.callback(&id, true, Satisfaction::Satisfied).await.unwrap();
        assert_eq!(o.state, OrderState::Closed as i32);
        t.stop().await;
    }

    /// Art. 23 and DESIGN.md §8: by default (`callback_at = "limit"`) a
    /// replied order's callback falls due when the time limit ends, not at
    /// the reply; with `callback_at = "reply"` it falls due at the reply.
    async fn art23_a_replied_order_is_called_back_when_its_limit_ends_by_default(store) {
        for policy in ["limit", "reply"] {
            let topology = hotline::DEMO_TOPOLOGY
                .replace("callback_at = \"limit\"", &format!("callback_at = \"{policy}\""));
            let t = virtual_mesh_on(store, T0, topology).await;
            let c = &t.client;
            let o = garbage_at_the_market(c).await;
            let (id, due) = (o.order_id.clone(), at(&o.due_time));
            handled(c, &id).await;
            c.advance_to(t0() + HOUR).await.unwrap();
            let early = actions(&c.order(&id).await.unwrap(), "callback_due").len();
            assert_eq!(early, (policy == "reply") as usize, "{policy}: at the reply");
            c.advance_to(due - 1).await.unwrap();
            let o = c.order(&id).await.unwrap();
            assert_eq!(actions(&o, "callback_due").len(), early, "{policy}: before the limit");
            c.advance_to(due).await.unwrap();
            let o = c.order(&id).await.unwrap();
            assert_eq!(actions(&o, "callback_due").len(), 1, "{policy}: once");
            t.stop().await;
        }
    }
}

mesh_test! {
    /// Art. 11(3): a request repeating a finished (办理完毕) one of the same
    /// requester, place and matter, with no new facts or reasons, is not
    /// taken again: it is disposed of as a duplicate linked to the closed
    /// order, and the requester is told why. With new facts it is a new
    /// order.
    async fn art11_a_repeat_of_a_finished_request_is_a_duplicate(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let first = garbage_at_the_market(c).await.order_id;
        handled(c, &first).await;
        let closed = c.callback(&first, true, Satisfaction::Satisfied).await.unwrap();
        assert_eq!(closed.state, OrderState::Closed as i32);
        // Four days on: past the 72 h window for open orders, inside the
        // 30 days for finished ones.
        c.advance_to(t0() + 96 * HOUR).await.unwrap();
        let again = garbage_at_the_market(c).await;
        assert_eq!(again.state, OrderState::Disposed as i32);
        assert_eq!(again.disposition, Disposition::Duplicate as i32);
        assert_eq!(again.duplicate_of, first);
        assert!(again.answer.contains("Art. 11(3)"), "{}", again.answer);
        assert!(again.assignments.is_empty(), "nothing dispatched");
        let new_facts = c
            .submit(SubmitRequestRequest {
                new_facts: true,
                ..submit("sanitation.garbage", "8 West Arcade", RequestKind::Complaint)
            })
            .await
            .unwrap();
        assert_eq!(new_facts.state, OrderState::Dispatched as i32);
        t.stop().await;
    }
}

mesh_test! {
    /// Art. 22: a matter of a central unit is forwarded to it and pushed:
    /// past its limit the centre pushes it (an urge), without supervision
    /// (督办) of it or its parent and without escalation after the grace.
    /// It is in no ranking unless the policy assesses central units, and
    /// then in a group of its own.
    async fn art22_a_central_unit_is_pushed_not_supervised_and_ranked_only_by_policy(store) {
        for assessed in [false, true] {
            let topology = hotline::DEMO_TOPOLOGY.replace(
                "assess_central_units = false",
                &format!("assess_central_units = {assessed}"),
            );
            let t = virtual_mesh_on(store, T0, topology).await;
            let c = &t.client;
            let o = c
                .submit(submit("railway.crossing_noise", "", RequestKind::Complaint))
                .await
                .unwrap();
            let lead = o
                .assignments
                .iter()
                .find(|a| a.role == AssignmentRole::Lead as i32)
                .unwrap();
            assert_eq!(lead.unit_id, "central-rail");
            let clock = hotline_core::deadline::HandlerClock::new(
                &hotline_core::Policy::default(),
                at(&lead.dispatched_time),
                at(&lead.due_time),
            );
            c.advance_to(clock.breach).await.unwrap();
            let o = c.order(&o.order_id).await.unwrap();
            assert_eq!(actions(&o, "pushed"), vec!["city"]);
            assert!(o.overdue);
            assert!(actions(&o, "breached").is_empty() && actions(&o, "supervision").is_empty());
            let kinds: Vec<i32> = c
                .notices("central-rail")
                .await
                .unwrap()
                .iter()
                .filter(|n| n.order_id == o.order_id)
                .map(|n| n.kind)
                .collect();
            assert!(kinds.contains(&(NoticeKind::Urge as i32)), "{kinds:?}");
            assert!(!kinds.contains(&(NoticeKind::Supervision as i32)), "{kinds:?}");
            c.advance_to(clock.escalation + 1).await.unwrap();
            let o = c.order(&o.order_id).await.unwrap();
            assert!(actions(&o, "escalated").is_empty(), "nothing above a central unit");

            let month = {
                let d = Date::of(at(&o.received_time));
                format!("{:04}-{:02}", d.year, d.month)
            };
            let r = c
                .rankings(
                    "city",
                    GetRankingsRequest {
                        month,
                        peer_group: PeerGroup::CentralUnits as i32,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let members: Vec<String> = r
                .rankings
                .iter()
                .flat_map(|g| {
                    g.entries
                        .iter()
                        .filter_map(|e| e.scorecard.as_ref().map(|s| s.unit.clone()))
                        .chain(g.unrated.iter().cloned())
                })
                .collect();
            assert_eq!(
                members.iter().any(|u| u.ends_with("central-rail")),
                assessed,
                "assessed {assessed}: {members:?}"
            );
            t.stop().await;
        }
    }
}

mesh_test! {
    /// Art. 32 (the response rate, Art. 15): a reopened order is assessed
    /// once per round. A first round accepted late stays a miss after the
    /// reopen's prompt second round: the response rate is 1 of 2, not the
    /// latest round's 1 of 1.
    async fn art32_each_reopened_round_keeps_its_own_response_assessment(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let id = garbage_at_the_market(c).await.order_id;
        c.wait_assignment("t-market", &id, 1, WAIT).await.unwrap();
        // Two hours: past the 60-minute accept window.
        c.advance_to(t0() + 2 * HOUR).await.unwrap();
        c.handle("t-market", &id, 1, ReplyOutcome::Resolved).await.unwrap();
        c.wait_order_state(&id, OrderState::Replied, WAIT).await.unwrap();
        let reopened = c.callback(&id, false, Satisfaction::Dissatisfied).await.unwrap();
        assert_eq!(reopened.reopen_count, 1);
        handled_at_epoch(c, &id, 2).await;
        let month = {
            let d = Date::of(t0());
            format!("{:04}-{:02}", d.year, d.month)
        };
        let s = c
            .scorecard("t-market", "t-market", &month, ScorecardScope::Own)
            .await
            .unwrap();
        assert_eq!(rate(&s.response), (1.0, 2), "the late first round still counts");
        t.stop().await;
    }
}

mesh_test! {
    /// Art. 14 ¶2: a co-handler has a deadline of its own for its part —
    /// the lead clock's warning fraction of the time left, so the lead can
    /// still reply in time — and when it runs late the centre sends the
    /// lead an interim report of where the part stands and urges the
    /// co-handler; a microsecond before, nothing.
    async fn art14_a_late_co_handler_owes_the_lead_an_interim_report(store) {
        // The territory leads and the department co-handles.
        let topology =
            hotline::DEMO_TOPOLOGY.replace("[policy]\n", "[policy]\ndual_dispatch = false\n");
        let t = virtual_mesh_on(store, T0, topology).await;
        let c = &t.client;
        let o = c
            .submit(submit("noise.night_construction", "8 West Arcade", RequestKind::Complaint))
            .await
            .unwrap();
        let role = |unit: &str| {
            o.assignments
                .iter()
                .find(|a| a.unit_id == unit)
                .unwrap_or_else(|| panic!("{unit} in {:?}", o.assignments))
                .clone()
        };
        let (lead, co) = (role("t-market"), role("dept-urban"));
        assert_eq!(lead.role, AssignmentRole::Lead as i32);
        assert_eq!(co.role, AssignmentRole::CoHandler as i32);
        let clock = hotline_core::deadline::HandlerClock::new(
            &hotline_core::Policy::default(),
            at(&lead.dispatched_time),
            at(&lead.due_time),
        );
        let part_due = at(&co.due_time);
        assert_eq!(part_due, clock.warning, "the co-handler's own deadline");
        c.wait_assignment("dept-urban", &o.order_id, 1, WAIT).await.unwrap();
        c.accept("dept-urban", &o.order_id, 1, &request_id()).await.unwrap();

        let late = |o: &Order| actions(o, "co_handler_late");
        c.advance_to(part_due - 1).await.unwrap();
        assert!(late(&c.order(&o.order_id).await.unwrap()).is_empty());
        c.advance_to(part_due).await.unwrap();
        assert_eq!(late(&c.order(&o.order_id).await.unwrap()), vec!["city"]);
        let told = |unit: &'static str, kind: NoticeKind| {
            let id = o.order_id.clone();
            async move {
                c.notices(unit)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|n| n.order_id == id && n.kind == kind as i32)
                    .map(|n| n.detail)
                    .collect::<Vec<String>>()
            }
        };
        let interim = told("t-market", NoticeKind::CoHandlerReport).await;
        assert_eq!(interim.len(), 1, "{interim:?}");
        assert!(interim[0].contains("dept-urban"), "{interim:?}");
        assert_eq!(told("dept-urban", NoticeKind::Urge).await.len(), 1);
        t.stop().await;
    }
}

mesh_test! {
    /// Art. 9 and 37: the centre marks a request unreasonable or malicious
    /// with its reason (kept on the order, out of its history); by default
    /// the order then counts in no unit's rates — a late, unresolved order
    /// marked malicious leaves t-market's response and resolution, both
    /// its rounds — and the scorecard reports how many dispatches were
    /// marked. With
    /// `assess_marked_requests` it counts as before. Bad input changes
    /// nothing: no mark is INVALID_ARGUMENT, a mark without a reason too,
    /// an unknown order NOT_FOUND.
    async fn art9_art37_marked_requests_leave_assessment_by_policy(store) {
        for assessed in [false, true] {
            let topology = hotline::DEMO_TOPOLOGY.replace(
                "assess_marked_requests = false",
                &format!("assess_marked_requests = {assessed}"),
            );
            let t = virtual_mesh_on(store, T0, topology).await;
            let c = &t.client;
            let id = garbage_at_the_market(c).await.order_id;
            c.wait_assignment("t-market", &id, 1, WAIT).await.unwrap();
            // Late: past the accept window.
            c.advance_to(t0() + 2 * HOUR).await.unwrap();
            handled(c, &id).await;
            let s = c.mark(&id, RequestMark::Unspecified, "x").await.unwrap_err();
            assert_eq!(s.code(), tonic::Code::InvalidArgument);
            assert!(s.message().contains("mark"), "{}", s.message());
            let s = c.mark(&id, RequestMark::Malicious, " ").await.unwrap_err();
            assert_eq!(s.code(), tonic::Code::InvalidArgument);
            assert!(s.message().contains("reason"), "{}", s.message());
            let s = c.mark("HL99999999", RequestMark::Malicious, "x").await.unwrap_err();
            assert_eq!(s.code(), tonic::Code::NotFound);
            assert_eq!(c.order(&id).await.unwrap().mark, RequestMark::None as i32);

            let o = c
                .mark(&id, RequestMark::Malicious, "the same abusive call every night")
                .await
                .unwrap();
            assert_eq!(o.mark, RequestMark::Malicious as i32);
            assert_eq!(o.mark_reason, "the same abusive call every night");
            assert_eq!(actions(&o, "marked_malicious"), vec!["city"]);
            assert!(o.history.iter().all(|h| !h.detail.contains("abusive")));
            c.callback(&id, false, Satisfaction::Dissatisfied).await.unwrap();

            let month = {
                let d = Date::of(t0());
                format!("{:04}-{:02}", d.year, d.month)
            };
            let s = c
                .scorecard("t-market", "t-market", &month, ScorecardScope::Own)
                .await
                .unwrap();
            // The round the unresolved callback reopened is marked too.
            assert_eq!(s.marked_requests, 2, "reported either way");
            if assessed {
                assert_eq!(rate(&s.response), (0.0, 2));
                assert_eq!(rate(&s.resolution), (0.0, 1));
            } else {
                assert_eq!((s.dispatched, s.callbacks), (0, 0), "out of the rates");
            }
            t.stop().await;
        }
    }
}

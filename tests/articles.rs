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
    assert_ne!(t, hotline::DEMO_TOPOLOGY, "the demo city names working_days");
    t
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
        let t = TestMesh::start(
            store,
            Spec {
                virtual_clock: Some("2025-09-30T10:00"),
                topology: Some(working_day_city()),
                ..Spec::default()
            },
        )
        .await;
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

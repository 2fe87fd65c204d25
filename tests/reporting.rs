//! Scorecards, roll-ups and rankings across real processes: figures worked
//! out by hand from a scripted month, read through each unit's own service.

use std::time::Duration;

use hotline::client::{MeshClient, request_id};
use hotline_core::clock::{HOUR, MINUTE};
use hotline_proto::v1::*;

use crate::support::*;

const MONTH: &str = "2026-11";

fn rate(r: &Option<Rate>) -> (f64, u64, Option<f64>) {
    let r = r.unwrap();
    (r.numerator, r.denominator, r.value)
}

/// Accept, contact and reply promptly.
async fn prompt(c: &MeshClient, unit: &str, id: &str, epoch: u64) {
    c.wait_assignment(unit, id, epoch, WAIT).await.unwrap();
    c.handle(unit, id, epoch, ReplyOutcome::Resolved)
        .await
        .unwrap();
}

/// Accept two hours after dispatch (past the 60-minute accept window),
/// then contact and reply.
async fn late(c: &MeshClient, unit: &str, id: &str, epoch: u64, now: &mut i64) {
    c.wait_assignment(unit, id, epoch, WAIT).await.unwrap();
    *now += 2 * HOUR;
    c.advance_to(*now).await.unwrap();
    c.handle(unit, id, epoch, ReplyOutcome::Resolved)
        .await
        .unwrap();
}

async fn called_back(c: &MeshClient, id: &str, resolved: bool, s: Satisfaction) {
    c.wait_order_state(id, OrderState::Replied, WAIT)
        .await
        .unwrap();
    c.callback(id, resolved, s).await.unwrap();
}

/// The scripted month:
/// - o1 garbage → t-market, handled promptly; called back resolved, satisfied.
/// - o2 night noise → dual dispatch to t-market and dept-urban; t-market
///   prompt, dept-urban accepts late; called back unresolved (reopens),
///   both handle again the same way; called back resolved, basically
///   satisfied.
/// - o3 garbage → t-market, which whistles summoning dept-urban (checks in)
///   and dept-housing (misses its 24 h check-in); called back resolved,
///   satisfied.
async fn scripted_month(c: &MeshClient) -> Vec<String> {
    let mut now = t0();
    let o1 = c
        .submit(submit(
            "sanitation.garbage",
            "8 West Arcade",
            RequestKind::Complaint,
        ))
        .await
        .unwrap()
        .order_id;
    prompt(c, "t-market", &o1, 1).await;
    called_back(c, &o1, true, Satisfaction::Satisfied).await;

    let o2 = c
        .submit(submit(
            "noise.night_construction",
            "8 West Arcade",
            RequestKind::Complaint,
        ))
        .await
        .unwrap()
        .order_id;
    for epoch in [1, 2] {
        prompt(c, "t-market", &o2, epoch).await;
        late(c, "dept-urban", &o2, epoch, &mut now).await;
        let first = epoch == 1;
        let s = if first {
            Satisfaction::Dissatisfied
        } else {
            Satisfaction::BasicallySatisfied
        };
        called_back(c, &o2, !first, s).await;
    }

    // The same place and matter as o1, which is closed: new facts (a new
    // pile), or Art. 11(3) makes it a duplicate of o1.
    let o3 = c
        .submit(SubmitRequestRequest {
            new_facts: true,
            ..submit(
                "sanitation.garbage",
                "8 West Arcade",
                RequestKind::Complaint,
            )
        })
        .await
        .unwrap()
        .order_id;
    c.wait_assignment("t-market", &o3, 1, WAIT).await.unwrap();
    c.accept("t-market", &o3, 1, &request_id()).await.unwrap();
    c.contact("t-market", &o3, 1, "confirm the place")
        .await
        .unwrap();
    let w = c
        .whistle(
            "t-market",
            &o3,
            1,
            WhistleKind::Daily,
            &["dept-urban", "dept-housing"],
        )
        .await
        .unwrap();
    now += 10 * MINUTE;
    c.advance_to(now).await.unwrap();
    c.check_in("dept-urban", "d-riverside", &w.whistle_id)
        .await
        .unwrap();
    now += 25 * HOUR;
    c.advance_to(now).await.unwrap();
    c.reply("t-market", &o3, 1, ReplyOutcome::Resolved, "cleared")
        .await
        .unwrap();
    called_back(c, &o3, true, Satisfaction::Satisfied).await;
    // Let the city's record settle (check-in events travel by outbox).
    c.advance_to(now + MINUTE).await.unwrap();
    vec![o1, o2, o3]
}

mesh_test! {
    async fn art32_scorecards_roll_ups_and_rankings_match_the_hand_worked_month(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let orders = scripted_month(c).await;

        // t-market, read by itself through its own service.
        let s = c
            .scorecard("t-market", "t-market", MONTH, ScorecardScope::Own)
            .await
            .unwrap();
        // Dispatched: o1, o2 twice (reopened: each round assessed), o3; all
        // accepted and contacted in time.
        assert_eq!(rate(&s.response), (4.0, 4, Some(1.0)));
        // Callbacks: o1, o2 twice (reopened: once per callback), o3.
        assert_eq!(rate(&s.resolution), (3.0, 4, Some(0.75)));
        // Satisfied o1, o3 + basically satisfied o2 (weight 1) over 4.
        assert_eq!(rate(&s.satisfaction), (3.0, 4, Some(0.75)));
        let composite = s.composite.unwrap();
        assert!((composite - 0.8).abs() < 1e-9, "{composite}");
        assert_eq!((s.whistles, s.overdue, s.dissatisfied), (1, 0, 1));

        // dept-urban: the dual dispatch of o2, accepted late; a party to o2's
        // two callbacks and, summoned by the whistle, to o3's.
        let u = c
            .scorecard("city", "dept-urban", MONTH, ScorecardScope::Own)
            .await
            .unwrap();
        // Late in both rounds of o2.
        assert_eq!(rate(&u.response), (0.0, 2, Some(0.0)));
        assert_eq!(rate(&u.resolution), (2.0, 3, Some(2.0 / 3.0)));
        assert_eq!((u.summoned, u.checked_in_on_time), (1, 1));
        // dept-housing: summoned, missed its check-in, never dispatched:
        // response is absent, not zero, and drops out of the composite.
        let h = c
            .scorecard("city", "dept-housing", MONTH, ScorecardScope::Own)
            .await
            .unwrap();
        assert_eq!(rate(&h.response), (0.0, 0, None));
        assert_eq!((h.callbacks, h.summoned, h.checked_in_on_time), (1, 1, 0));
        assert_eq!(h.composite, Some(1.0));

        // The assessed orders of t-market, paged through its service.
        let listed = c.unit_orders("t-market", "t-market", MONTH).await.unwrap();
        let mut ids: Vec<&str> = listed.iter().map(|o| o.order_id.as_str()).collect();
        ids.sort();
        let mut want: Vec<&str> = orders.iter().map(String::as_str).collect();
        want.sort();
        assert_eq!(ids, want);
        assert!(listed.iter().all(|o| o.responded && !o.overdue));

        // The district's roll-up through the mesh equals the city's direct
        // subtree computation, and names no missing child.
        let r = c
            .roll_up("d-riverside", "d-riverside", MONTH, None)
            .await
            .unwrap();
        assert!(r.missing.is_empty(), "{:?}", r.missing);
        let direct = c
            .scorecard("city", "d-riverside", MONTH, ScorecardScope::Subtree)
            .await
            .unwrap();
        let combined = r.combined.unwrap();
        assert_eq!(combined, direct);
        assert_eq!(
            combined.dispatched, 4,
            "only t-market's dispatches (o2's two rounds) are in d-riverside"
        );
        // The whole city rolled up from its children's services.
        let city = c.roll_up("city", "city", MONTH, None).await.unwrap();
        assert!(city.missing.is_empty(), "{:?}", city.missing);
        // t-market's four rounds and dept-urban's two.
        assert_eq!(city.combined.as_ref().unwrap().dispatched, 6);
        assert_eq!(city.combined.as_ref().unwrap().callbacks, 4 + 3 + 1);

        // Rankings: within townships t-market is the only one rated; among
        // city departments dept-housing (1.0) leads dept-urban (0.533).
        let all = c
            .rankings(
                "t-lake",
                GetRankingsRequest {
                    month: MONTH.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let group = |g: PeerGroup| {
            all.rankings
                .iter()
                .find(|r| r.peer_group == g as i32 && r.within.is_empty())
                .unwrap()
        };
        let towns = group(PeerGroup::Townships);
        let ranked: Vec<&str> = towns
            .entries
            .iter()
            .map(|e| e.scorecard.as_ref().unwrap().unit.as_str())
            .collect();
        assert_eq!(ranked, vec!["units/t-market"]);
        assert_eq!(towns.unrated.len(), 3);
        let depts = group(PeerGroup::CityDepartments);
        let ranked: Vec<(u32, &str)> = depts
            .entries
            .iter()
            .map(|e| (e.rank, e.scorecard.as_ref().unwrap().unit.as_str()))
            .collect();
        assert_eq!(
            ranked,
            vec![(1, "units/dept-housing"), (2, "units/dept-urban")]
        );
        assert_eq!(
            group(PeerGroup::Enterprises).unrated,
            vec!["units/dept-utility"]
        );

        // `hotline report` through the gateway prints the same figures.
        let gw = t.gateway_url.clone();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            // The CLI presents each unit's certificate from the mesh CA.
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args(["report", "--unit", "t-market", "--month", MONTH, "--json"])
            .args(["--as", "t-market", "--gateway", &gw])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(j["combined"]["resolution"]["denominator"], 4);
        assert_eq!(j["own"]["response"]["value"], 1.0);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            // The CLI presents each unit's certificate from the mesh CA.
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args(["report", "--tier", "department", "--month", MONTH])
            .args(["--gateway", &gw])
            .output()
            .unwrap();
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let housing = table.find("dept-housing").expect("dept-housing ranked");
        let urban = table.find("dept-urban").expect("dept-urban ranked");
        assert!(housing < urban, "{table}");
        t.stop().await;
    }
}

/// `hotline report ARGS` for MONTH through the mesh's gateway: what it
/// printed.
fn report(t: &TestMesh, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        // The CLI presents each unit's certificate from the mesh CA.
        .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
        .args(["report", "--month", MONTH, "--gateway", &t.gateway_url])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

mesh_test! {
    /// Art. 9 and 37: `hotline report` gives, for the scope it reports,
    /// how many lead assignments are on requests the centre marked and
    /// their share of all the scope's lead assignments, whether the policy
    /// leaves marked requests out of the rates (the default) or counts
    /// them: one of t-market's three garbage orders marked is 1 of 3
    /// either way, in its roll-up, its JSON and the townships' ranking.
    async fn art9_art37_hotline_report_prints_the_share_of_marked_requests(store) {
        for assessed in [false, true] {
            let topology = demo_with_policy(&[("assess_marked_requests", &assessed.to_string())]);
            let spec = Spec {
                virtual_clock: Some(T0),
                topology: Some(topology),
                ..Spec::default()
            };
            let t = TestMesh::start(store, spec).await;
            let c = &t.client;
            let mut ids = Vec::new();
            for _ in 0..3 {
                let garbage = SubmitRequestRequest {
                    new_facts: true,
                    ..submit("sanitation.garbage", "8 West Arcade", RequestKind::Complaint)
                };
                let id = c.submit(garbage).await.unwrap().order_id;
                c.wait_assignment("t-market", &id, 1, WAIT).await.unwrap();
                ids.push(id);
            }
            c.mark(&ids[0], RequestMark::Unreasonable, "wants the neighbours moved out")
                .await
                .unwrap();
            let rates = if assessed {
                "counted in the rates"
            } else {
                "outside the rates"
            };

            let table = report(&t, &["--unit", "t-market", "--as", "t-market"]);
            let line = format!(
                "marked unreasonable/malicious, t-market and below: \
                 1 of 3 lead assignments (33.3%), {rates}\n"
            );
            assert!(table.contains(&line), "assessed {assessed}:\n{table}");
            let json = report(&t, &["--unit", "t-market", "--as", "t-market", "--json"]);
            let j: serde_json::Value = serde_json::from_str(&json).unwrap();
            let combined = &j["combined"];
            assert_eq!(combined["dispatched"], if assessed { 3 } else { 2 });
            assert_eq!(combined["marked_requests"], 1);
            let share = &combined["marked_share"];
            assert_eq!(share["numerator"], 1);
            assert_eq!(share["denominator"], 3);
            assert_eq!(share["assessed"], assessed);

            let table = report(&t, &["--tier", "township"]);
            let line = format!(
                "marked unreasonable/malicious, ranked units: \
                 1 of 3 lead assignments (33.3%), {rates}\n"
            );
            assert!(table.contains(&line), "assessed {assessed}:\n{table}");
            t.stop().await;
        }
    }
}

mesh_test! {
    async fn reporting_refuses_bad_input_and_other_subtrees(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        // A township reads only its own subtree.
        let s = c
            .scorecard("t-lake", "t-market", MONTH, ScorecardScope::Own)
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::PermissionDenied, "{s:?}");
        let s = c
            .roll_up("t-lake", "d-riverside", MONTH, None)
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::PermissionDenied, "{s:?}");
        // Its parent district may read it.
        c.scorecard("d-riverside", "t-market", MONTH, ScorecardScope::Subtree)
            .await
            .unwrap();
        let s = c
            .scorecard("city", "t-market", "2026-13", ScorecardScope::Own)
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert!(s.message().contains("month"), "{s:?}");
        let s = c
            .rankings(
                "city",
                GetRankingsRequest {
                    district: "units/t-market".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert!(s.message().contains("district"), "{s:?}");
        let s = c
            .roll_up("city", "city", MONTH, Some(Duration::ZERO))
            .await
            .unwrap_err();
        assert!(s.message().contains("child_deadline"), "{s:?}");
        t.stop().await;
    }
}

#[tokio::test]
async fn a_roll_up_with_a_child_service_stopped_names_the_missing_children() {
    let store = &Store::preferred();
    let mut t = TestMesh::start(
        store,
        Spec {
            virtual_clock: Some(T0),
            ..processes()
        },
    )
    .await;
    let o = t
        .client
        .submit(submit(
            "traffic.signal_broken",
            "8 West Arcade",
            RequestKind::Complaint,
        ))
        .await
        .unwrap()
        .order_id;
    prompt(&t.client, "dept-transport", &o, 1).await;
    // The township service hosts t-harbour and t-market; stop it.
    t.processes().kill("township").await.unwrap();
    let r = t
        .client
        .roll_up(
            "city",
            "d-riverside",
            MONTH,
            Some(Duration::from_millis(1500)),
        )
        .await
        .unwrap();
    let mut missing: Vec<&str> = r.missing.iter().map(|m| m.unit.as_str()).collect();
    missing.sort();
    assert_eq!(missing, vec!["units/t-harbour", "units/t-market"]);
    assert!(r.missing.iter().all(|m| !m.reason.is_empty()));
    // The others' figures are there: dept-transport's dispatch.
    let children: Vec<&str> = r.children.iter().map(|c| c.unit.as_str()).collect();
    assert_eq!(children, vec!["units/dept-transport"]);
    assert_eq!(r.combined.unwrap().dispatched, 1);
    t.stop().await;
}

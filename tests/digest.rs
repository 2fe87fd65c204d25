//! The weekly digest (民情摘报) and the 举一反三 sweep, on seeded cities
//! where the answer is known: five weeks of requests on the virtual clock,
//! read through the city's and each district's own service and through
//! the command line; a task resolved at its root and the same problem
//! elsewhere, some alike and some not.

use std::collections::BTreeSet;

use hotline::client::{MeshClient, request_id};
use hotline_core::clock::{DAY, HOUR};
use hotline_proto::v1::proactive_service_client::ProactiveServiceClient;
use hotline_proto::v1::reporting_service_client::ReportingServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use hotline_runtime::wire::ts;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

/// Monday 00:00 of week `k` of the run: week 0 is 2026-W47, where the
/// virtual clock starts (Monday 16 November, 09:00); week 4 is 2026-W51.
fn week(k: usize) -> i64 {
    t0() - 9 * HOUR + k as i64 * 7 * DAY
}

/// The point `x` km east and `y` km north of the demo city's centre
/// (116.25, 39.95), moved `east` and `north` metres.
fn at(x: f64, y: f64, east: f64, north: f64) -> Location {
    let ky = 111.195;
    let kx = ky * 39.95_f64.to_radians().cos();
    Location {
        latitude: 39.95 + (y + north / 1000.0) / ky,
        longitude: 116.25 + (x + east / 1000.0) / kx,
    }
}

/// Twelve places in Riverside 0.7 km or more apart, away from the
/// district's edges: pothole reports the four weeks before, three a week,
/// never two near each other (nor near the new week's spot).
const SITES: [(f64, f64); 12] = [
    (-2.5, 1.0),
    (-1.1, -1.0),
    (-0.45, 0.2),
    (-1.8, 0.2),
    (-0.45, -1.0),
    (-2.5, -1.0),
    (-1.1, 1.0),
    (-1.8, -1.0),
    (-2.5, 0.2),
    (-0.45, 1.0),
    (-1.8, 1.0),
    (-1.1, 0.2),
];
/// Lakeshore Community (Lake Town, Hillview): four elderly-care requests
/// within 80 m every week, the new week's too: a hot spot, but no new one.
const ELDERLY_AT: (f64, f64) = (0.75, -0.75);
const ELDERLY: [(f64, f64); 4] = [(0.0, 0.0), (30.0, 20.0), (-25.0, 30.0), (10.0, -40.0)];
/// East Arcade Community (Market Street, Riverside): five potholes within
/// 200 m in the new week, where there were none before.
const POTHOLES_AT: (f64, f64) = (-0.75, -0.45);
const POTHOLES: [(f64, f64); 5] = [
    (0.0, 0.0),
    (40.0, 10.0),
    (-30.0, 35.0),
    (15.0, -45.0),
    (60.0, 50.0),
];

const WANG: (&str, &str) = ("Wang Fang", "13912345678");

/// A request by a requester of its own (`n` makes the phone).
fn request(category: &str, n: usize) -> SubmitRequestRequest {
    SubmitRequestRequest {
        requester: Some(Requester {
            name: "Sun Li".into(),
            phone: format!("1380000{n:04}"),
            ..Default::default()
        }),
        new_facts: true,
        ..submit(category, "", RequestKind::Complaint)
    }
}

fn addressed(category: &str, address: &str, n: usize) -> SubmitRequestRequest {
    SubmitRequestRequest {
        address: address.into(),
        ..request(category, n)
    }
}

fn located(category: &str, l: Location, n: usize) -> SubmitRequestRequest {
    SubmitRequestRequest {
        location: Some(l),
        ..request(category, n)
    }
}

/// Submits `r`. Right after a jump of the virtual clock the centre must
/// not shed it: its lag check counts real time, not business time.
async fn submitted(c: &MeshClient, r: SubmitRequestRequest) -> Order {
    c.submit(r).await.unwrap()
}

/// The territory accepts, contacts, and replies at once.
async fn handled(c: &MeshClient, o: &Order) {
    let unit = o.territory_unit.as_str();
    c.wait_assignment(unit, &o.order_id, 1, WAIT).await.unwrap();
    c.handle(unit, &o.order_id, 1, ReplyOutcome::Resolved)
        .await
        .unwrap();
    // The reply travels to the centre by the township's outbox: once the
    // centre has it, no clock moved later breaches the order.
    c.wait_order_state(&o.order_id, OrderState::Replied, WAIT)
        .await
        .unwrap();
}

fn bad_field(s: &tonic::Status) -> String {
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    s.get_details_bad_request()
        .expect("BadRequest details")
        .field_violations[0]
        .field
        .clone()
}

fn ids(v: &[String]) -> BTreeSet<&str> {
    v.iter().map(String::as_str).collect()
}

/// What the seeded city must show, by id.
struct Seeded {
    garbage: Vec<String>,
    objected: String,
    potholes: Vec<String>,
    heating: String,
    reopened: String,
    wang: Vec<String>,
}

/// Weeks W47–W50: one garbage complaint at Harbour Street, four elderly
/// care requests at the Lakeshore spot and three potholes at scattered
/// sites a week, each handled at once. Week W51: three garbage
/// complaints (one objected to by Harbour Street, 退单), the Lakeshore
/// spot again, five potholes at one East Arcade spot, a heating request
/// that nobody handles (its 24 h limit passes on Tuesday), an elderly-care
/// request at Lake Town replied on Tuesday and reopened by its callback,
/// and Wang Fang's three requests on Thursday, left open. The clock then stands at the
/// next Monday, 09:00.
async fn seed(c: &MeshClient) -> Seeded {
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let spot = |(x, y): (f64, f64), (e, no): (f64, f64)| at(x, y, e, no);
    for k in 0..4 {
        c.advance_to(week(k) + DAY + 10 * HOUR).await.unwrap();
        let mut orders =
            vec![submitted(c, addressed("sanitation.garbage", "1 Harbour Road", next())).await];
        for d in ELDERLY {
            let r = located("community.elderly_care", spot(ELDERLY_AT, d), next());
            orders.push(submitted(c, r).await);
        }
        for &(x, y) in &SITES[3 * k..3 * k + 3] {
            let r = located("road.pothole", at(x, y, 0.0, 0.0), next());
            orders.push(submitted(c, r).await);
        }
        for o in &orders {
            handled(c, o).await;
        }
    }

    // Monday of W51.
    c.advance_to(week(4) + 10 * HOUR).await.unwrap();
    let heating = submitted(c, addressed("heating.no_heat", "18 Harbour Road", next())).await;
    let mut garbage = vec![
        submitted(c, addressed("sanitation.garbage", "1 Harbour Road", next()))
            .await
            .order_id,
    ];
    let mut potholes = Vec::new();
    for d in POTHOLES {
        let r = located("road.pothole", spot(POTHOLES_AT, d), next());
        let o = submitted(c, r).await;
        assert_eq!(o.community_unit, "c-market-east");
        potholes.push(o.order_id);
    }
    for d in ELDERLY {
        let r = located("community.elderly_care", spot(ELDERLY_AT, d), next());
        assert_eq!(submitted(c, r).await.community_unit, "c-lake-shore");
    }
    // Tuesday: the heating order's leads passed their 24 h limit at 10:00.
    // Lake Town replies to an elderly-care request, which the requester
    // says is not resolved: it reopens.
    c.advance_to(week(4) + DAY + 12 * HOUR).await.unwrap();
    let care = submitted(
        c,
        addressed("community.elderly_care", "21 Shore Street", next()),
    )
    .await;
    handled(c, &care).await;
    let again = c
        .callback(&care.order_id, false, Satisfaction::Dissatisfied)
        .await
        .unwrap();
    assert!(
        again.history.iter().any(|h| h.action == "reopened"),
        "{again:?}"
    );

    // Wednesday: Harbour Street objects to a garbage complaint; the centre
    // keeps it there.
    c.advance_to(week(4) + 2 * DAY + 10 * HOUR).await.unwrap();
    let objected = submitted(c, addressed("sanitation.garbage", "1 Harbour Road", next()))
        .await
        .order_id;
    c.wait_assignment("t-harbour", &objected, 1, WAIT)
        .await
        .unwrap();
    c.object(
        "t-harbour",
        &objected,
        1,
        "t-market",
        "the bins are Market Street's",
    )
    .await
    .unwrap();
    let ob = c
        .wait_objection(&objected, "t-harbour", WAIT)
        .await
        .unwrap();
    c.rule("city", &ob.objection_id, RulingKind::Keep, "")
        .await
        .unwrap();
    garbage.push(objected.clone());
    garbage.push(
        submitted(c, addressed("sanitation.garbage", "1 Harbour Road", next()))
            .await
            .order_id,
    );

    // Thursday: Wang Fang, three times, about three matters.
    c.advance_to(week(4) + 3 * DAY + 10 * HOUR).await.unwrap();
    let mut wang = Vec::new();
    for (item, address) in [
        ("noise.night_construction", "5 Market Lane"),
        ("property.management_dispute", "27 Market Lane"),
        ("community.sorting_guidance", "5 Market Lane"),
    ] {
        let mut r = addressed(item, address, next());
        r.requester = Some(Requester {
            name: WANG.0.into(),
            phone: WANG.1.into(),
            ..Default::default()
        });
        wang.push(submitted(c, r).await.order_id);
    }
    c.advance_to(week(5) + 9 * HOUR).await.unwrap();
    Seeded {
        garbage,
        objected,
        potholes,
        heating: heating.order_id,
        reopened: care.order_id,
        wang,
    }
}

/// The city's and Riverside's digests name what the seeding put there.
fn assert_riverside_week(d: &GetDigestResponse, s: &Seeded) {
    assert_eq!(d.week, "2026-W51");
    // Rising: garbage tripled (1 a week before, 3 now); the potholes (5
    // against 3 a week) did not double, nor did elderly care in the city
    // (4 against 4).
    let rising: Vec<&str> = d.rising.iter().map(|r| r.category_code.as_str()).collect();
    assert_eq!(rising, vec!["sanitation.garbage"], "{:?}", d.rising);
    let r = &d.rising[0];
    assert_eq!(
        (r.count, r.prior_mean, r.ratio, r.prior_weeks.clone()),
        (3, 1.0, Some(3.0), vec![1, 1, 1, 1])
    );
    assert_eq!(r.category_name, "Uncollected garbage");
    // One new hot spot: the five potholes in East Arcade, Market Street.
    assert_eq!(d.hot_spots.len(), 1, "{:?}", d.hot_spots);
    let h = &d.hot_spots[0];
    assert_eq!(
        (h.category_code.as_str(), h.township_unit.as_str(), h.count),
        ("road.pothole", "t-market", 5)
    );
    assert_eq!(h.township_name, "Market Street");
    assert_eq!(ids(&h.order_ids), ids(&s.potholes));
    assert!(h.radius_meters < 200.0, "{}", h.radius_meters);
    // Wang Fang, under a pseudonym, with three unresolved requests.
    assert_eq!(d.repeat_requesters.len(), 1, "{:?}", d.repeat_requesters);
    let q = &d.repeat_requesters[0];
    let listed: Vec<String> = q.orders.iter().map(|o| o.order_id.clone()).collect();
    assert_eq!(listed, s.wang);
    assert_eq!(q.unresolved, 3);
    assert!(q.orders.iter().all(|o| o.unresolved), "{q:?}");
    assert!(q.pseudonym.starts_with("rp-"), "{}", q.pseudonym);
    for pii in [WANG.0, WANG.1, "Wang", "12345678"] {
        assert!(!format!("{d:?}").contains(pii), "{pii} in the digest");
    }
    // The heating order: both leads passed their limit on Tuesday; open
    // from Monday 10:00 to the week's end.
    assert_eq!(d.overdue_orders, 1);
    assert!(
        d.overdue
            .iter()
            .all(|e| e.event == "breached" && e.order.as_ref().unwrap().order_id == s.heating),
        "{:?}",
        d.overdue
    );
    let units: BTreeSet<&str> = d.overdue.iter().map(|e| e.unit_id.as_str()).collect();
    assert_eq!(units, BTreeSet::from(["dept-utility", "t-harbour"]));
    let o = d.overdue[0].order.as_ref().unwrap();
    assert_eq!(
        o.business_time.unwrap().seconds,
        6 * 86_400 + 14 * 3_600,
        "{o:?}"
    );
    assert_eq!(o.territory_name, "Harbour Street");
    // Bounced: the objection, by Harbour Street.
    let b = d.bounced.iter().find(|b| b.event == "objected").unwrap();
    assert_eq!(
        (b.unit_id.as_str(), b.unit_name.as_str()),
        ("t-harbour", "Harbour Street")
    );
    assert_eq!(b.order.as_ref().unwrap().order_id, s.objected);
    assert!(s.garbage.contains(&s.objected));
}

/// The bounced orders of a digest: (event, order id), in time order.
fn bounced(d: &GetDigestResponse) -> Vec<(&str, &str)> {
    d.bounced
        .iter()
        .map(|b| {
            (
                b.event.as_str(),
                b.order.as_ref().unwrap().order_id.as_str(),
            )
        })
        .collect()
}

mesh_test! {
    async fn the_weekly_digest_names_what_rose_clustered_repeated_went_overdue_and_bounced(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let s = seed(c).await;

        // The city's digest of the last complete week (W51, by its clock).
        let city = c.digest("city", "", "").await.unwrap();
        assert_riverside_week(&city, &s);
        let area = city.area.clone().unwrap();
        assert_eq!(
            (area.unit_id.as_str(), area.name.as_str()),
            ("city", "Demo City 12345 Hotline Centre")
        );
        let children: Vec<&str> = city.children.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(children, vec!["Hillview District", "Riverside District"]);
        // 17 requests; 8 a week before (1 garbage, 4 elderly care, 3 potholes).
        assert_eq!((city.requests, city.prior_mean), (17, 8.0));
        // Bounced: the objection on Wednesday, after Tuesday's reopen.
        assert_eq!(
            bounced(&city),
            vec![("reopened", s.reopened.as_str()), ("objected", s.objected.as_str())]
        );
        assert_eq!(city.bounced_orders, 2);
        assert_eq!(city.bounced[0].unit_id, "");
        // Read again: the same digest, the same pseudonym.
        assert_eq!(c.digest("city", "", "2026-W51").await.unwrap(), city);
        // The pseudonym is the digest's, not the record's.
        let record = c.order(&s.wang[0]).await.unwrap().requester_ref;
        assert!(!record.is_empty());
        assert!(!city.repeat_requesters[0].pseudonym.contains(&record[3..]));

        // Riverside reads its own through its own service: the same names,
        // its own count (12; 4 a week before: a garbage complaint and three
        // potholes), its own pseudonym.
        let riverside = c.digest("d-riverside", "", "2026-W51").await.unwrap();
        assert_riverside_week(&riverside, &s);
        assert_eq!((riverside.requests, riverside.prior_mean), (12, 4.0));
        assert_eq!(bounced(&riverside), vec![("objected", s.objected.as_str())]);
        assert_eq!(riverside.bounced_orders, 1);
        let townships: Vec<&str> = riverside.children.iter().map(|u| u.unit_id.as_str()).collect();
        assert_eq!(townships, vec!["t-harbour", "t-market"]);
        assert_ne!(
            riverside.repeat_requesters[0].pseudonym,
            city.repeat_requesters[0].pseudonym
        );
        // The city reading Riverside's digest reads the same one.
        assert_eq!(c.digest("city", "d-riverside", "2026-W51").await.unwrap(), riverside);

        // Hillview: the Lakeshore spot is a cluster again, but not a new
        // one (and elderly care, 5 against 4, did not rise); nobody
        // repeated, nothing went overdue; the reopen bounced.
        let hillview = c.digest("d-hillview", "", "2026-W51").await.unwrap();
        assert_eq!((hillview.requests, hillview.prior_mean), (5, 4.0));
        assert!(hillview.rising.is_empty(), "{:?}", hillview.rising);
        assert!(hillview.hot_spots.is_empty(), "{:?}", hillview.hot_spots);
        assert!(hillview.repeat_requesters.is_empty());
        assert_eq!(hillview.overdue_orders, 0);
        assert_eq!(bounced(&hillview), vec![("reopened", s.reopened.as_str())]);

        // The week before (W50): baseline only, nothing to report.
        let before = c.digest("city", "", "2026-W50").await.unwrap();
        assert_eq!(before.requests, 8);
        assert!(before.hot_spots.is_empty() && before.repeat_requesters.is_empty());
        assert_eq!((before.overdue_orders, before.bounced_orders), (0, 0), "{before:#?}");

        // A district reads only its own, at its service and at the city.
        let s1 = c.digest("d-riverside", "d-hillview", "").await.unwrap_err();
        assert_eq!(s1.code(), Code::PermissionDenied, "{s1:?}");
        let mut reporting = ReportingServiceClient::new(c.channel());
        let ask = GetDigestRequest {
            area: "units/d-hillview".into(),
            week: String::new(),
        };
        let s2 = reporting
            .get_digest(routed(ask, "city", "d-riverside"))
            .await
            .unwrap_err();
        assert_eq!(s2.code(), Code::PermissionDenied, "{s2:?}");
        // Bad input, each naming its field; an unknown unit is not found.
        for week in ["2026-W54", "2026-49", "W51", "2027-W10"] {
            let e = c.digest("city", "", week).await.unwrap_err();
            assert_eq!(bad_field(&e), "week", "{week}: {e:?}");
        }
        let e = c.digest("city", "t-pine", "").await.unwrap_err();
        assert_eq!(bad_field(&e), "area");
        let e = c.digest("city", "nowhere", "").await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{e:?}");

        // The command line, through the running gateway, as Riverside.
        let cli = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
                .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
                .arg("digest")
                .args(args)
                .args(["--gateway", &t.gateway_url])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let text = cli(&["--week", "2026-W51", "--unit", "d-riverside"]);
        assert!(
            text.starts_with(
                "Weekly digest (民情摘报) of Riverside District (d-riverside), week 2026-W51, 2026-12-14 – 2026-12-20 (Asia/Shanghai).\n12 requests this week; 4.0 a week over the four weeks before.\n"
            ),
            "{text}"
        );
        for line in [
            "sanitation.garbage │ Uncollected garbage",
            "road.pothole │ Market Street (t-market)",
            riverside.repeat_requesters[0].pseudonym.as_str(),
            "Overdue: 1 order(s)",
            "Bounced: 1 order(s)",
            "Harbour Street (t-harbour)",
            // The heating order's business time, as people read it.
            "6 d 14 h",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
        assert!(!text.contains(WANG.1) && !text.contains(WANG.0), "{text}");
        let json = |args: &[&str]| -> serde_json::Value {
            serde_json::from_str(&cli(&[args, &["--json"]].concat())).unwrap()
        };
        let own = json(&["--week", "2026-W51", "--unit", "d-riverside"]);
        assert_eq!(own["rising"][0]["category_code"], "sanitation.garbage", "{own}");
        assert_eq!(own["hot_spots"][0]["order_ids"], serde_json::json!(s.potholes));
        assert_eq!(
            own["repeat_requesters"][0]["pseudonym"],
            riverside.repeat_requesters[0].pseudonym.as_str()
        );
        assert_eq!(own["overdue"][0]["order"]["order_id"], s.heating.as_str());
        // Read by the city: the same digest.
        assert_eq!(json(&["--week", "2026-W51", "--unit", "d-riverside", "--as", "city"]), own);
        // Refused, the command says why and fails.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args(["digest", "--week", "2026-W99", "--gateway", &t.gateway_url])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("week"));
        t.stop().await;
    }
}

/// Two more townships on the demo city, each with an old estate.
const MORE_TOWNSHIPS: &str = r#"
[[unit]]
id = "t-ferry"
tier = "township"
parent = "d-hillview"
name = "Ferry Street"
population = 150000
place_type = "urban"
addresses = ["4 Ferry Lane"]

[[unit]]
id = "c-ferry-old"
tier = "community"
parent = "t-ferry"
name = "Old Ferry Community"
population = 21000
place_type = "old_estate"
addresses = ["7 Ferry Court"]

[[unit]]
id = "t-elm"
tier = "township"
parent = "d-riverside"
name = "Elm Street"
population = 120000
place_type = "urban"
addresses = ["3 Elm Road"]

[[unit]]
id = "c-elm-old"
tier = "community"
parent = "t-elm"
name = "Old Elm Community"
population = 18000
place_type = "old_estate"
addresses = ["12 Elm Court"]
"#;

/// The problem, as North Quay (an old estate in Harbour Street) reported
/// it, and the task that fixed it.
const REPORTED: [&str; 2] = [
    "楼道里堆满了杂物，堵住了消防通道，存在安全隐患",
    "单元楼道杂物堆积，消防通道被堵，请尽快清理",
];
const TASK: &str = "清理楼道堆放的杂物，打通消防通道，建立每周巡查制度";
/// The same problem in other words, and another problem.
const ALIKE: [&str; 2] = [
    "我们小区楼道堆放杂物，消防通道被堵死了",
    "楼道内杂物太多堵塞消防通道，担心火灾隐患",
];
const UNLIKE: &str = "垃圾桶满了好几天没人清运，气味很大";

fn worded(category: &str, address: &str, text: &str, n: usize) -> SubmitRequestRequest {
    SubmitRequestRequest {
        text: text.into(),
        ..addressed(category, address, n)
    }
}

fn sweep_req(source: &str) -> SweepSimilarRequest {
    SweepSimilarRequest {
        source: format!("orders/{source}"),
        ..Default::default()
    }
}

mesh_test! {
    async fn a_problem_resolved_at_its_root_is_swept_for_in_townships_alike(store) {
        let topology = format!("{}{MORE_TOWNSHIPS}", hotline::DEMO_TOPOLOGY);
        let t = TestMesh::start(
            store,
            Spec {
                virtual_clock: Some(T0),
                topology: Some(topology),
                ..Spec::default()
            },
        )
        .await;
        let c = &t.client;
        let g = "sanitation.garbage";

        // T1, Harbour Street: North Quay reports cluttered stairwells; the
        // centre sends a task, which Harbour Street replies resolved.
        for (i, (text, address)) in REPORTED.iter().zip(["3 North Quay", "11 North Quay"]).enumerate() {
            submitted(c, worded(g, address, text, i)).await;
        }
        c.advance_to(t0() + HOUR).await.unwrap();
        let task = c
            .create_task(
                "city",
                CreateProactiveTaskRequest {
                    request_id: request_id(),
                    category_code: g.into(),
                    area_unit: "t-harbour".into(),
                    instructions: TASK.into(),
                    due_time: Some(ts(t0() + 49 * HOUR)),
                },
            )
            .await
            .unwrap();
        c.wait_assignment("t-harbour", &task.order_id, 1, WAIT).await.unwrap();
        // Not resolved yet: nothing to sweep from.
        let e = c.sweep_similar("city", sweep_req(&task.order_id)).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
        c.accept("t-harbour", &task.order_id, 1, &request_id()).await.unwrap();
        c.reply(
            "t-harbour",
            &task.order_id,
            1,
            ReplyOutcome::Resolved,
            "已清理全部楼道杂物，建立每周巡查",
        )
        .await
        .unwrap();
        c.wait_order_state(&task.order_id, OrderState::Closed, WAIT).await.unwrap();

        // The same problem elsewhere, and things that only look like it.
        c.advance_to(t0() + 2 * DAY).await.unwrap();
        let phones = std::cell::Cell::new(100);
        let submit = |category: &'static str, address: &'static str, text: &'static str| {
            phones.set(phones.get() + 1);
            let r = worded(category, address, text, phones.get());
            async move { submitted(c, r).await.order_id }
        };
        // T2 Market Street and T3 Ferry Street: old estates, alike.
        let t2 = submit(g, "14 East Arcade", ALIKE[0]).await;
        let t3 = submit(g, "7 Ferry Court", ALIKE[1]).await;
        // T4 Elm Street, an old estate: the same item in other words, and
        // the same words under another item.
        let t4a = submit(g, "12 Elm Court", UNLIKE).await;
        let t4b = submit("road.pothole", "12 Elm Court", ALIKE[0]).await;
        // T5 Lake Town: alike, but in a new estate.
        let t5 = submit(g, "21 Shore Street", ALIKE[0]).await;
        // T1 again, South Quay: the source's own township.
        let t1 = submit(g, "6 South Quay", ALIKE[1]).await;

        let r = c.sweep_similar("city", sweep_req(&task.order_id)).await.unwrap();
        let found: Vec<(&str, Vec<&str>)> = r
            .problems
            .iter()
            .map(|p| {
                (
                    p.township_unit.as_str(),
                    p.orders.iter().map(|o| o.order_id.as_str()).collect(),
                )
            })
            .collect();
        let expect = BTreeSet::from([
            ("t-market", vec![t2.as_str()]),
            ("t-ferry", vec![t3.as_str()]),
        ]);
        assert_eq!(found.iter().cloned().collect::<BTreeSet<_>>(), expect, "{r:#?}");
        for not in [&t1, &t4a, &t4b, &t5] {
            assert!(!format!("{r:?}").contains(not.as_str()), "{not} proposed: {r:#?}");
        }
        assert_eq!(r.source.as_ref().unwrap().order_id, task.order_id);
        assert_eq!(r.source_townships, vec!["t-harbour".to_string()]);
        assert_eq!(r.place_types, vec!["old_estate".to_string()]);
        assert_eq!((r.window_days, r.min_similarity), (30, 0.3));
        for p in &r.problems {
            assert_eq!(p.place_type, "old_estate");
            assert!(p.similarity >= 0.5, "{p:?}");
            assert!((p.task_order_id.as_str(), p.issued) == ("", false), "{p:?}");
            assert!(p.proposed_instructions.contains(&task.order_id), "{p:?}");
            assert!(p.proposed_instructions.contains(&p.orders[0].order_id), "{p:?}");
        }
        let market = r.problems.iter().find(|p| p.township_unit == "t-market").unwrap();
        // Its place: East Arcade, by the address index.
        assert_eq!(market.orders[0].community_unit, "c-market-east");
        let ferry = r.problems.iter().find(|p| p.township_unit == "t-ferry").unwrap();
        assert_eq!(
            (ferry.township_name.as_str(), ferry.district_unit.as_str(), ferry.district_name.as_str()),
            ("Ferry Street", "d-hillview", "Hillview District")
        );

        // A district sweeps its own subtree only: Riverside finds Market
        // Street; Hillview may not see Harbour Street's task at all.
        let riverside = c.sweep_similar("d-riverside", sweep_req(&task.order_id)).await.unwrap();
        let towns: Vec<&str> = riverside.problems.iter().map(|p| p.township_unit.as_str()).collect();
        assert_eq!(towns, vec!["t-market"]);
        let e = c.sweep_similar("d-hillview", sweep_req(&task.order_id)).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        // A township sweeps nothing.
        let mut city = ProactiveServiceClient::new(c.channel());
        let e = city
            .sweep_similar(routed(sweep_req(&task.order_id), "city", "t-market"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        // Bad input names its field; a citizen's order is no task.
        type Spoil = fn(&mut SweepSimilarRequest);
        let cases: [(&str, Spoil); 5] = [
            ("source", |r| r.source = "HL00000001".into()),
            ("window_days", |r| r.window_days = 400),
            ("min_similarity", |r| r.min_similarity = 1.5),
            ("request_id", |r| r.issue = true),
            ("due_time", |r| {
                r.issue = true;
                r.request_id = "r".into();
                r.due_time = Some(ts(t0()));
            }),
        ];
        for (field, spoil) in cases {
            let mut req = sweep_req(&task.order_id);
            spoil(&mut req);
            let e = c.sweep_similar("city", req).await.unwrap_err();
            assert_eq!(bad_field(&e), field, "{e:?}");
        }
        let e = c.sweep_similar("city", sweep_req(&t2)).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{e:?}");

        // Issued: a task to each township, real orders of kind
        // PROACTIVE_TASK, dispatched to it like any order.
        let issuing = SweepSimilarRequest {
            request_id: request_id(),
            issue: true,
            due_time: Some(ts(t0() + 5 * DAY)),
            ..sweep_req(&task.order_id)
        };
        let done = c.sweep_similar("city", issuing.clone()).await.unwrap();
        assert_eq!(done.problems.len(), 2);
        for p in &done.problems {
            assert!(p.issued && !p.task_order_id.is_empty(), "{p:?}");
            let o = c.order(&p.task_order_id).await.unwrap();
            assert_eq!(o.kind, RequestKind::ProactiveTask as i32);
            assert_eq!((o.territory_unit.as_str(), o.category_code.as_str()), (p.township_unit.as_str(), g));
            assert_eq!(o.text, p.proposed_instructions);
            let a = c.wait_assignment(&p.township_unit, &p.task_order_id, 1, WAIT).await.unwrap();
            assert_eq!(a.kind, RequestKind::ProactiveTask as i32);
            let listed = c.task("city", &p.task_order_id).await.unwrap();
            assert_eq!((listed.issuer_unit.as_str(), listed.area_unit.as_str()), ("city", p.township_unit.as_str()));
        }
        // The same request again: the same answer, no second task.
        assert_eq!(c.sweep_similar("city", issuing).await.unwrap(), done);
        assert_eq!(c.tasks("city").await.unwrap().len(), 3);
        // A later sweep finds the townships covered by those open tasks.
        let later = c.sweep_similar("city", sweep_req(&task.order_id)).await.unwrap();
        for (p, q) in later.problems.iter().zip(&done.problems) {
            assert_eq!((p.task_order_id.as_str(), p.issued), (q.task_order_id.as_str(), false));
        }
        let again = SweepSimilarRequest {
            request_id: request_id(),
            issue: true,
            ..sweep_req(&task.order_id)
        };
        let none_new = c.sweep_similar("city", again).await.unwrap();
        assert!(none_new.problems.iter().all(|p| !p.issued), "{none_new:#?}");
        assert_eq!(c.tasks("city").await.unwrap().len(), 3);

        // The command line, as Riverside.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args(["proactive", "sweep", "--task", &task.order_id, "--unit", "d-riverside"])
            .args(["--gateway", &t.gateway_url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Market Street (t-market)"), "{text}");
        assert!(text.contains("already open: "), "{text}");
        assert!(!text.contains("t-ferry"), "{text}");
        t.stop().await;
    }
}

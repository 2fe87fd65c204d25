//! Proactive governance across processes: a district finds its problems
//! and sends a township a proactive task, which travels and is supervised
//! like an order; a district stays inside its subtree; bad input names
//! its field.

use hotline::client::request_id;
use hotline_proto::v1::proactive_service_client::ProactiveServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use hotline_runtime::wire::ts;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

const HOUR: i64 = 3_600_000_000;

fn task_req(category: &str, area: &str, due: i64) -> CreateProactiveTaskRequest {
    CreateProactiveTaskRequest {
        request_id: request_id(),
        category_code: category.into(),
        area_unit: area.into(),
        instructions: "check radiators and risers before the cold wave".into(),
        due_time: Some(ts(due)),
    }
}

fn bad_field(s: &tonic::Status) -> String {
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    s.get_details_bad_request()
        .expect("BadRequest details")
        .field_violations[0]
        .field
        .clone()
}

fn heating(phone: &str, mood: Mood) -> SubmitRequestRequest {
    let mut r = submit("heating.no_heat", "2 Pine Avenue", RequestKind::Help);
    r.requester.as_mut().unwrap().phone = phone.into();
    r.mood = mood as i32;
    r.new_facts = true;
    r
}

mesh_test! {
    async fn art24_a_district_finds_the_problem_and_its_task_is_tracked_like_an_order(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;

        // Six heating requests in Pine Town from four people, one angry.
        let mut first = None;
        for (phone, mood) in [
            ("13800000001", Mood::Angry),
            ("13800000001", Mood::Anxious),
            ("13800000002", Mood::Calm),
            ("13800000002", Mood::Calm),
            ("13800000003", Mood::Calm),
            ("13800000004", Mood::Unspecified),
        ] {
            let o = c.submit(heating(phone, mood)).await.unwrap();
            first.get_or_insert(o);
        }
        assert_eq!(first.unwrap().mood, Mood::Angry as i32);

        // The district sees the wave in its township, in the heating season.
        let a = c
            .analyze_problems("d-hillview", "t-pine", "2026-11", 0)
            .await
            .unwrap();
        assert_eq!((a.area_unit.as_str(), a.requests), ("t-pine", 6));
        let p = &a.problems[0];
        assert_eq!(
            (p.category_code.as_str(), p.area_unit.as_str(), p.count),
            ("heating.no_heat", "t-pine", 6)
        );
        assert!(p.high_frequency, "{p:?}");
        assert_eq!(p.seasons, vec!["heating".to_string()]);
        assert_eq!((p.people, p.repeat_requesters), (4, 2));
        // One address: one place, repeated.
        assert_eq!(p.repeat_locations, 1);
        // Frequency 6 → 2, +1 high frequency; breadth: 4 people → 2; intensity:
        // utility (3) for all → 3; difficulty: nothing hard yet → 1. Score 9.
        let d = p.degrees.unwrap();
        assert_eq!(
            (d.frequency, d.breadth, d.intensity, d.difficulty),
            (3, 2, 3, 1)
        );
        assert_eq!((p.risk_score, p.risk_level), (9, RiskLevel::Medium as i32));

        // An hour on, the district sends Pine Town a task due in two days.
        c.advance_to(t0() + HOUR).await.unwrap();
        let req = task_req("heating.no_heat", "t-pine", t0() + 49 * HOUR);
        let task = c.create_task("d-hillview", req.clone()).await.unwrap();
        let again = c.create_task("d-hillview", req).await.unwrap();
        assert_eq!(again.order_id, task.order_id, "same request id, same task");
        assert_eq!(task.issuer_unit, "d-hillview");
        assert_eq!(task.state, OrderState::Dispatched as i32);
        // The six requests fall in the 28 days before; none after yet.
        let e = task.effect.unwrap();
        assert_eq!((e.window_days, e.before, e.after), (28, 6, 0));

        // The township handles it with the dispatch RPCs, with no one to
        // contact; the reply closes it without a callback.
        c.wait_assignment("t-pine", &task.order_id, 1, WAIT)
            .await
            .unwrap();
        c.accept("t-pine", &task.order_id, 1, &request_id())
            .await
            .unwrap();
        let s = c
            .contact("t-pine", &task.order_id, 1, "who?")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
        c.reply(
            "t-pine",
            &task.order_id,
            1,
            ReplyOutcome::Resolved,
            "14 blocks checked",
        )
        .await
        .unwrap();
        c.wait_order_state(&task.order_id, OrderState::Closed, WAIT)
            .await
            .unwrap();

        // A second task, to Lake Town, goes unanswered past its deadline.
        let late = c
            .create_task(
                "d-hillview",
                task_req("heating.no_heat", "t-lake", t0() + 25 * HOUR),
            )
            .await
            .unwrap();
        c.wait_assignment("t-lake", &late.order_id, 1, WAIT)
            .await
            .unwrap();
        // The issuer chose its unit: the catalogue does not move a task.
        let s = c
            .reclassify(&late.order_id, "water.outage", "wrong category")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition, "{s:?}");
        // Two requests after the first task's issue.
        c.submit(heating("13800000005", Mood::Calm)).await.unwrap();
        c.submit(heating("13800000006", Mood::Angry)).await.unwrap();
        c.advance_to(t0() + 40 * HOUR).await.unwrap();

        let o = c.order(&late.order_id).await.unwrap();
        assert!(o.overdue, "the unanswered task is overdue");
        let actions: Vec<&str> = o.history.iter().map(|h| h.action.as_str()).collect();
        for step in ["accept_overdue", "warning", "breached", "supervision"] {
            assert!(actions.contains(&step), "{step} in {actions:?}");
        }
        let supervised = |unit: &'static str| {
            let id = late.order_id.clone();
            async move {
                c.notices(unit)
                    .await
                    .unwrap()
                    .iter()
                    .any(|n| n.order_id == id && n.kind == NoticeKind::Supervision as i32)
            }
        };
        assert!(supervised("t-lake").await, "the township is supervised");
        assert!(supervised("d-hillview").await, "and its district told");

        // The answered task: closed, never called back, no contact window.
        let done = c.order(&task.order_id).await.unwrap();
        let actions: Vec<&str> = done.history.iter().map(|h| h.action.as_str()).collect();
        assert_eq!(done.kind, RequestKind::ProactiveTask as i32);
        assert!(done.requester_ref.is_empty());
        assert!(actions.contains(&"closed"), "{actions:?}");
        for never in ["callback_due", "contact_overdue", "called_back"] {
            assert!(!actions.contains(&never), "{never} in {actions:?}");
        }
        assert!(
            c.callback(&task.order_id, true, Satisfaction::Satisfied)
                .await
                .is_err(),
            "no callback on a task"
        );

        // The report: the task, replied, with two requests after its issue.
        let got = c.task("d-hillview", &task.order_id).await.unwrap();
        assert_eq!(got.assignment_state, AssignmentState::Replied as i32);
        assert_eq!(got.reply_text, "14 blocks checked");
        let e = got.effect.unwrap();
        assert_eq!((e.before, e.after, e.after_complete), (6, 2, false));
        let listed: Vec<String> = c
            .tasks("d-hillview")
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.order_id)
            .collect();
        assert_eq!(listed, vec![task.order_id.clone(), late.order_id.clone()]);
        assert!(c.tasks("d-riverside").await.unwrap().is_empty());

        // Tasks are not citizens' requests: the analysis counts 8 requests.
        let a = c.analyze_problems("city", "", "2026-11", 0).await.unwrap();
        assert_eq!(a.requests, 8);
        t.stop().await;
    }
}

fn denied<T: std::fmt::Debug>(r: Result<T, tonic::Status>) {
    match r {
        Err(s) => assert_eq!(s.code(), Code::PermissionDenied, "{s:?}"),
        Ok(v) => panic!("allowed: {v:?}"),
    }
}

mesh_test! {
    async fn a_district_stays_in_its_subtree_and_bad_input_names_its_field(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let due = t0() + 48 * HOUR;
        let task = c
            .create_task("d-hillview", task_req("heating.no_heat", "t-pine", due))
            .await
            .unwrap();

        // Another district's area, asked of the district or of the city.
        denied(c.analyze_problems("d-riverside", "t-pine", "", 0).await);
        denied(
            c.create_task("d-riverside", task_req("heating.no_heat", "t-pine", due))
                .await,
        );
        denied(c.task("d-riverside", &task.order_id).await);
        let mut city = ProactiveServiceClient::new(c.channel());
        let ask = AnalyzeProblemsRequest {
            area: "units/d-hillview".into(),
            ..Default::default()
        };
        denied(
            city.analyze_problems(routed(ask, "city", "d-riverside"))
                .await,
        );
        // A township issues no tasks.
        denied(
            city.create_proactive_task(routed(
                task_req("heating.no_heat", "t-pine", due),
                "city",
                "t-pine",
            ))
            .await,
        );

        // Bad input, each naming its field.
        let e = c
            .analyze_problems("city", "", "2026-13", 0)
            .await
            .unwrap_err();
        assert_eq!(bad_field(&e), "month");
        let e = c
            .analyze_problems("city", "nowhere", "", 0)
            .await
            .unwrap_err();
        assert_eq!(bad_field(&e), "area");
        let e = c
            .analyze_problems("city", "dept-utility", "", 0)
            .await
            .unwrap_err();
        assert_eq!(bad_field(&e), "area");
        type Spoil = fn(&mut CreateProactiveTaskRequest);
        let cases: [(&str, Spoil); 6] = [
            ("category_code", |r| r.category_code.clear()),
            ("category_code", |r| r.category_code = "no.such".into()),
            ("area_unit", |r| r.area_unit = "dept-utility".into()),
            ("instructions", |r| r.instructions = " ".into()),
            ("due_time", |r| r.due_time = None),
            ("due_time", |r| r.due_time = Some(ts(t0() - HOUR))),
        ];
        for (field, spoil) in cases {
            let mut r = task_req("heating.no_heat", "t-pine", due);
            spoil(&mut r);
            let e = c.create_task("city", r).await.unwrap_err();
            assert_eq!(bad_field(&e), field, "{}", e.message());
        }
        // Intake never takes a task as a citizen's request.
        let mut r = submit(
            "heating.no_heat",
            "2 Pine Avenue",
            RequestKind::ProactiveTask,
        );
        r.mood = Mood::Calm as i32;
        assert_eq!(bad_field(&c.submit(r).await.unwrap_err()), "kind");
        // Nothing was created by the refusals: one task in the city's list.
        assert_eq!(c.tasks("city").await.unwrap().len(), 1);

        // The command line, through the running gateway, as the district.
        let cli = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
                // The CLI presents each unit's certificate from the mesh CA.
                .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
                .args(["proactive"])
                .args(args)
                .args([
                    "--gateway",
                    &t.gateway_url,
                    "--unit",
                    "d-hillview",
                    "--json",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        let tasks = cli(&["tasks"]);
        assert_eq!(tasks[0]["order_id"], task.order_id.as_str(), "{tasks}");
        assert_eq!(tasks[0]["area_unit"], "t-pine", "{tasks}");
        let analysis = cli(&["analyze", "--month", "2026-11"]);
        assert_eq!(analysis["area_unit"], "d-hillview", "{analysis}");
        assert_eq!(analysis["requests"], 0, "{analysis}");
        t.stop().await;
    }
}

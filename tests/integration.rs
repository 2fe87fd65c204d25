//! What a departmental system and a requester need from the mesh: the
//! inbox stream with resume cursors, the requester's side, the audited
//! unmask, the Art. 28 export and the knowledge base.

use std::time::Duration;

use hotline::client::{MeshClient, request_id};
use hotline_proto::v1::*;
use tonic::{Code, Streaming};
use tonic_types::StatusExt;

use crate::support::*;

const DEPT: &str = "dept-transport";
const SIGNAL: &str = "traffic.signal_broken";

/// The next event, or a panic naming what was awaited.
async fn next(s: &mut Streaming<WatchAssignmentsResponse>, what: &str) -> InboxEvent {
    match tokio::time::timeout(WAIT, s.message()).await {
        Ok(Ok(Some(r))) => r.event.unwrap(),
        other => panic!("waiting for {what}: {other:?}"),
    }
}

/// Nothing more arrives for a moment (the stream stays open).
async fn quiet(s: &mut Streaming<WatchAssignmentsResponse>) {
    if let Ok(got) = tokio::time::timeout(Duration::from_secs(2), s.message()).await {
        panic!("expected no further event, got {got:?}");
    }
}

fn kind(e: &InboxEvent) -> InboxEventKind {
    InboxEventKind::try_from(e.kind).unwrap()
}

fn request(phone: &str, name: &str, text: &str) -> SubmitRequestRequest {
    let mut r = submit(SIGNAL, "", RequestKind::Help);
    r.requester = Some(Requester {
        name: name.into(),
        phone: phone.into(),
        ..Default::default()
    });
    r.text = text.into();
    r
}

async fn dispatched(c: &MeshClient, r: SubmitRequestRequest) -> Order {
    let o = c.submit(r).await.unwrap();
    c.wait_assignment(DEPT, &o.order_id, 1, WAIT).await.unwrap();
    o
}

mesh_test! {
    async fn a_watcher_that_drops_mid_stream_resumes_with_exactly_the_missed_events(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let a = dispatched(c, request("13700000001", "Sun Li", "signal dark")).await;
        let mut watch = c.watch(DEPT, 0).await.unwrap();
        let first = next(&mut watch, "A's dispatch").await;
        assert_eq!(
            (kind(&first), first.order_id.as_str(), first.epoch),
            (InboxEventKind::Dispatched, a.order_id.as_str(), 1)
        );
        // The client goes away mid-stream; work goes on without it.
        drop(watch);
        let b = dispatched(c, request("13700000002", "Sun Li", "signal dark")).await;
        c.urge(&a.order_id, UrgeSource::Centre).await.unwrap();
        let d = dispatched(c, request("13700000003", "Sun Li", "signal dark")).await;
        for _ in 0..300 {
            let n = c.notices(DEPT).await.unwrap();
            if n.iter().any(|n| n.kind == NoticeKind::Urge as i32) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let mut watch = c.watch(DEPT, first.cursor).await.unwrap();
        let mut missed = Vec::new();
        for what in ["B's dispatch", "the urge", "D's dispatch"] {
            missed.push(next(&mut watch, what).await);
        }
        let seen: Vec<(InboxEventKind, &str)> = missed
            .iter()
            .map(|e| (kind(e), e.order_id.as_str()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (InboxEventKind::Dispatched, b.order_id.as_str()),
                (InboxEventKind::Urged, a.order_id.as_str()),
                (InboxEventKind::Dispatched, d.order_id.as_str()),
            ]
        );
        assert!(
            missed
                .windows(2)
                .all(|w| w[0].cursor < w[1].cursor && w[0].cursor > first.cursor),
            "cursors increase: {missed:?}"
        );
        quiet(&mut watch).await;
        // Then it follows live work.
        let e = dispatched(c, request("13700000004", "Sun Li", "signal dark")).await;
        let live = next(&mut watch, "E's dispatch").await;
        assert_eq!(
            (kind(&live), live.order_id.as_str()),
            (InboxEventKind::Dispatched, e.order_id.as_str())
        );

        // Only the unit itself watches its inbox.
        let mut inbox = hotline_proto::v1::inbox_service_client::InboxServiceClient::new(c.channel());
        let req = hotline_runtime::meta::routed(WatchAssignmentsRequest::default(), DEPT, "city");
        let denied = inbox.watch_assignments(req).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
        t.stop().await;
    }
}

mesh_test! {
    async fn a_cursor_older_than_the_retention_window_is_out_of_range(store) {
        let t = virtual_mesh(store).await;
        let c = &t.client;
        let a = dispatched(c, request("13700000011", "Sun Li", "signal dark")).await;
        dispatched(c, request("13700000013", "Sun Li", "signal dark")).await;
        let mut watch = c.watch(DEPT, 0).await.unwrap();
        let first = next(&mut watch, "A's dispatch").await;
        assert_eq!(first.order_id, a.order_id);
        // The watcher stops after A, before the second order's dispatch.
        drop(watch);
        // 31 days on (the default retention is 30), a new event prunes the old.
        c.advance_to(t0() + 31 * hotline_core::clock::DAY)
            .await
            .unwrap();
        let b = dispatched(c, request("13700000012", "Sun Li", "signal dark")).await;
        let err = c.watch(DEPT, first.cursor).await.unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
        let oldest: u64 = err.get_details_error_info().expect("error info").metadata["oldest_cursor"]
            .parse()
            .unwrap();
        assert!(oldest > first.cursor, "{oldest}");
        assert!(err.message().contains(&oldest.to_string()), "{err:?}");
        // From the oldest cursor available the stream goes on: the events kept
        // (the clocks' notices of the last 30 days), then B's dispatch.
        let mut watch = c.watch(DEPT, oldest).await.unwrap();
        let mut kept = Vec::new();
        loop {
            let e = next(&mut watch, "B's dispatch").await;
            assert!(e.cursor > oldest, "{e:?}");
            let done = e.order_id == b.order_id && kind(&e) == InboxEventKind::Dispatched;
            kept.push(e);
            if done || kept.len() > 50 {
                break;
            }
        }
        assert_eq!(kept.last().unwrap().order_id, b.order_id, "{kept:?}");
        // A fresh watcher (cursor 0) starts at what is kept, without error.
        let mut watch = c.watch(DEPT, 0).await.unwrap();
        assert_eq!(
            next(&mut watch, "the oldest kept").await.cursor,
            kept[0].cursor
        );
        t.stop().await;
    }
}

mesh_test! {
    async fn requester_changes_reach_the_handler_through_its_inbox(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let (mine, token) = c
            .submit_as_requester(request("13711112222", "Zhou Min", "signal dark"))
            .await
            .unwrap();
        let (theirs, other) = c
            .submit_as_requester(request("13733334444", "Wu Gang", "signal dark"))
            .await
            .unwrap();
        assert!(token.starts_with("rt-") && token != other);
        c.wait_assignment(DEPT, &mine.order_id, 1, WAIT)
            .await
            .unwrap();
        let mut watch = c.watch(DEPT, 0).await.unwrap();
        for _ in 0..2 {
            assert_eq!(
                kind(&next(&mut watch, "dispatches").await),
                InboxEventKind::Dispatched
            );
        }

        // A requester reads only their own orders.
        let view = c.own_order(&token, &mine.order_id).await.unwrap();
        assert!(
            view.open && view.state == OrderState::Dispatched as i32,
            "{view:?}"
        );
        let denied = c.own_order(&token, &theirs.order_id).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
        let denied = c
            .supplement(&other, &mine.order_id, "more", &[])
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
        let anonymous = c.own_order("", &mine.order_id).await.unwrap_err();
        assert_eq!(anonymous.code(), Code::Unauthenticated, "{anonymous:?}");
        let empty = c
            .supplement(&token, &mine.order_id, " ", &[])
            .await
            .unwrap_err();
        assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");

        // Supplement, urge and withdraw each reach the handler.
        c.supplement(
            &token,
            &mine.order_id,
            "the pole is leaning",
            &["media/photo-1.jpg"],
        )
        .await
        .unwrap();
        let e = next(&mut watch, "the supplement").await;
        assert_eq!(
            (kind(&e), e.order_id.as_str()),
            (InboxEventKind::Supplemented, mine.order_id.as_str())
        );
        assert!(
            e.detail.contains("leaning") && e.detail.contains("media/photo-1.jpg"),
            "{e:?}"
        );
        let urged = c.urge_own(&token, &mine.order_id).await.unwrap();
        assert_eq!(urged.urge_count, 1);
        let e = next(&mut watch, "the urge").await;
        assert_eq!(
            (kind(&e), e.order_id.as_str()),
            (InboxEventKind::Urged, mine.order_id.as_str())
        );
        let gone = c
            .withdraw(&token, &mine.order_id, "fixed itself")
            .await
            .unwrap();
        assert_eq!(gone.state, OrderState::Withdrawn as i32);
        assert!(!gone.open);
        let mut told = [
            next(&mut watch, "the withdrawal").await,
            next(&mut watch, "the revocation").await,
        ];
        told.sort_by_key(|e| e.kind);
        assert_eq!(
            told.iter().map(|e| (kind(e), e.epoch)).collect::<Vec<_>>(),
            vec![(InboxEventKind::Revoked, 2), (InboxEventKind::Withdrawn, 0)]
        );
        // The handler's old epoch is refused, and the order stays withdrawn.
        let stale = c
            .accept(DEPT, &mine.order_id, 1, &request_id())
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::FailedPrecondition, "{stale:?}");
        let again = c
            .withdraw(&token, &mine.order_id, "again")
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

        // The callback result reaches the handler too.
        c.handle(DEPT, &theirs.order_id, 1, ReplyOutcome::Resolved)
            .await
            .unwrap();
        c.wait_order_state(&theirs.order_id, OrderState::Replied, WAIT)
            .await
            .unwrap();
        c.callback(&theirs.order_id, true, Satisfaction::Satisfied)
            .await
            .unwrap();
        let e = next(&mut watch, "the callback result").await;
        assert_eq!(
            (kind(&e), e.order_id.as_str()),
            (InboxEventKind::CallbackResult, theirs.order_id.as_str())
        );
        assert!(e.detail.contains("resolved=true"), "{e:?}");
        t.stop().await;
    }
}

mesh_test! {
    async fn art28_every_unmask_is_audited_and_exports_carry_no_identity(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let text = "Signal dark; I am Qin Hao, call 13755556666";
        let o = dispatched(c, request("13755556666", "Qin Hao", text)).await;
        assert!(o.requester_ref.starts_with("rq-") && !o.requester_ref.contains("5556666"));
        c.accept(DEPT, &o.order_id, 1, &request_id()).await.unwrap();

        // Bad input and strangers change nothing.
        let no_reason = c
            .unmask(DEPT, &o.order_id, 1, UnmaskReason::Unspecified, "visit")
            .await
            .unwrap_err();
        assert_eq!(no_reason.code(), Code::InvalidArgument, "{no_reason:?}");
        let no_why = c
            .unmask(DEPT, &o.order_id, 1, UnmaskReason::SiteVisit, "")
            .await
            .unwrap_err();
        assert_eq!(no_why.code(), Code::InvalidArgument, "{no_why:?}");
        let stranger = c
            .unmask(
                "dept-housing",
                &o.order_id,
                1,
                UnmaskReason::SiteVisit,
                "curious",
            )
            .await
            .unwrap_err();
        assert_eq!(stranger.code(), Code::PermissionDenied, "{stranger:?}");
        assert!(c.audit_log("city", &o.order_id).await.unwrap().is_empty());

        let shown = c
            .unmask(
                DEPT,
                &o.order_id,
                1,
                UnmaskReason::SiteVisit,
                "meet at the crossing",
            )
            .await
            .unwrap();
        assert_eq!(
            (shown.name.as_str(), shown.phone.as_str()),
            ("Qin Hao", "13755556666")
        );
        c.contact(DEPT, &o.order_id, 1, "arrange a visit")
            .await
            .unwrap();
        let log = c.audit_log("city", &o.order_id).await.unwrap();
        let rows: Vec<(&str, &str, &str, i32)> = log
            .iter()
            .map(|e| {
                (
                    e.actor_unit.as_str(),
                    e.order_id.as_str(),
                    e.access.as_str(),
                    e.reason,
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                (
                    DEPT,
                    o.order_id.as_str(),
                    "unmask",
                    UnmaskReason::SiteVisit as i32
                ),
                (DEPT, o.order_id.as_str(), "relay", 0),
            ]
        );
        assert_eq!(log[0].audit_id, shown.audit_id);
        // The row names who proved themselves: the operator, not only the unit;
        // the relay, the department's service that forwarded the contact.
        assert_eq!(log[0].actor, "spiffe://hotline/operator/ops");
        assert_eq!(log[1].actor, "spiffe://hotline/service/department");
        assert_eq!(log[0].justification, "meet at the crossing");
        assert!(log[0].time.is_some());
        let denied = c.audit_log(DEPT, "").await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

        // Art. 28: the unit's orders, history and callbacks; no identity.
        c.reply(DEPT, &o.order_id, 1, ReplyOutcome::Resolved, "repaired")
            .await
            .unwrap();
        c.wait_order_state(&o.order_id, OrderState::Replied, WAIT)
            .await
            .unwrap();
        c.callback(&o.order_id, true, Satisfaction::Satisfied)
            .await
            .unwrap();
        let exported = c.export(DEPT, DEPT).await.unwrap();
        let x = exported
            .iter()
            .find(|x| x.order_id == o.order_id)
            .expect("the order is exported");
        assert_eq!(x.requester_ref, o.requester_ref);
        assert!(x.callback.as_ref().is_some_and(|cb| cb.resolved));
        assert!(
            x.history.iter().any(|h| h.action == "called_back"),
            "{:?}",
            x.history
        );
        let all = format!("{exported:?}");
        for pii in ["13755556666", "Qin Hao"] {
            assert!(!all.contains(pii), "{pii} in the export");
        }
        assert_eq!(x.text, "Signal dark; I am [name], call [phone]");
        let denied = c.export("dept-housing", DEPT).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

        // `hotline export --unit U`: one JSON line per order, no identity.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            // The CLI presents each unit's certificate from the mesh CA.
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args(["export", "--unit", DEPT, "--gateway", &t.gateway_url])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            lines
                .iter()
                .any(|line| line["name"] == format!("orders/{}", o.order_id)),
            "{stdout}"
        );
        for pii in ["13755556666", "Qin Hao"] {
            assert!(!stdout.contains(pii), "{pii} in the exported lines");
        }
        t.stop().await;
    }
}

mesh_test! {
    async fn art31_the_knowledge_base_answers_chinese_consultations_at_intake(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let entry = KnowledgeEntry {
            question: "路口信号灯坏了多久能修好？".into(),
            answer: "信号灯故障由交通部门在24小时内修复。".into(),
            category_codes: vec![SIGNAL.into()],
            ..Default::default()
        };
        let kept = c.upsert_knowledge(DEPT, entry.clone()).await.unwrap();
        assert!(kept.entry_id.starts_with("KB") && kept.owner_unit == DEPT);
        // Units keep entries for their own lines only.
        let mut water = entry.clone();
        water.category_codes = vec!["water.outage".into()];
        let denied = c.upsert_knowledge(DEPT, water).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
        let mut unknown = entry.clone();
        unknown.category_codes = vec!["no.such".into()];
        let bad = c.upsert_knowledge(DEPT, unknown).await.unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
        let mut takeover = kept.clone();
        takeover.owner_unit = String::new();
        let denied = c
            .upsert_knowledge("dept-urban", takeover)
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

        // Search by words inside unspaced Chinese, and by catalogue item.
        let hits = c.search_knowledge("信号灯", "").await.unwrap();
        assert_eq!(
            hits.iter().map(|e| &e.entry_id).collect::<Vec<_>>(),
            vec![&kept.entry_id]
        );
        assert!(c.search_knowledge("供暖", "").await.unwrap().is_empty());
        assert_eq!(c.search_knowledge("", SIGNAL).await.unwrap().len(), 1);

        // A consultation in its item, in other words, is answered at intake.
        let mut ask = submit(SIGNAL, "", RequestKind::Consultation);
        ask.text = "请问我家门口的信号灯坏了，什么时候修？".into();
        let o = c.submit(ask).await.unwrap();
        assert_eq!(o.state, OrderState::Answered as i32, "{o:?}");
        assert_eq!(o.answer, kept.answer);
        assert!(o.assignments.is_empty());
        assert!(
            o.history.iter().any(|h| h.detail.contains(&kept.entry_id)),
            "{:?}",
            o.history
        );
        // One it does not match is dispatched for an answer.
        let mut other = submit(SIGNAL, "", RequestKind::Consultation);
        other.text = "停车位怎么申请".into();
        let o = c.submit(other).await.unwrap();
        assert_eq!(o.state, OrderState::Dispatched as i32, "{o:?}");
        let stats = c.knowledge_stats().await.unwrap();
        assert_eq!(
            (
                stats.consultations,
                stats.answered_at_intake,
                stats.answered_from_knowledge_base
            ),
            (2, 1, 1)
        );
        assert!((stats.share_answered_at_intake - 0.5).abs() < 1e-9);
        t.stop().await;
    }
}

mesh_test! {
    async fn list_assignments_filters_by_category_and_deadline(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let signal = dispatched(c, request("13700000021", "Sun Li", "signal dark")).await;
        let mut parking = submit("traffic.parking_policy", "", RequestKind::Help);
        parking.request_id = request_id();
        let parking = c.submit(parking).await.unwrap();
        c.wait_assignment(DEPT, &parking.order_id, 1, WAIT)
            .await
            .unwrap();
        let mut d = hotline_proto::v1::dispatch_service_client::DispatchServiceClient::new(c.channel());
        let list = |req: ListAssignmentsRequest| {
            let mut d = d.clone();
            async move {
                d.list_assignments(hotline_runtime::meta::routed(req, DEPT, DEPT))
                    .await
                    .map(|r| {
                        r.into_inner()
                            .assignments
                            .into_iter()
                            .map(|a| a.order_id)
                            .collect::<Vec<_>>()
                    })
            }
        };
        let by_item = list(ListAssignmentsRequest {
            category_code: SIGNAL.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        assert_eq!(by_item, vec![signal.order_id.clone()]);
        let due = signal.assignments[0].due_time.unwrap();
        let before = list(ListAssignmentsRequest {
            deadline_before: Some(prost_types::Timestamp {
                seconds: due.seconds + 1,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        assert!(before.contains(&signal.order_id), "{before:?}");
        // 2000-01-01, the earliest instant the contract takes.
        let none = list(ListAssignmentsRequest {
            deadline_before: Some(prost_types::Timestamp {
                seconds: 946_684_800,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        assert!(none.is_empty(), "{none:?}");
        let bad = d
            .list_assignments(hotline_runtime::meta::routed(
                ListAssignmentsRequest {
                    state: 99,
                    ..Default::default()
                },
                DEPT,
                DEPT,
            ))
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
        t.stop().await;
    }
}

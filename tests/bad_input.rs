//! Bad input gets a clear status naming the problem, and changes nothing.

use hotline::client::request_id;
use hotline_proto::v1::dispatch_service_client::DispatchServiceClient;
use hotline_proto::v1::intake_service_client::IntakeServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

/// Spoils one field of an otherwise good request.
type Spoil = Box<dyn Fn(&mut SubmitRequestRequest)>;

fn bad_field(s: &tonic::Status) -> String {
    assert_eq!(s.code(), Code::InvalidArgument, "{s:?}");
    s.get_details_bad_request()
        .expect("BadRequest details")
        .field_violations[0]
        .field
        .clone()
}

mesh_test! {
    async fn bad_input_is_refused_with_the_right_status_and_nothing_is_stored(store) {
        let t = mesh(store).await;
        let c = &t.client;

        let cases: Vec<(&str, Spoil)> = vec![
            ("request_id", Box::new(|r| r.request_id.clear())),
            ("category_code", Box::new(|r| r.category_code.clear())),
            (
                "category_code",
                Box::new(|r| r.category_code = "no.such.item".into()),
            ),
            (
                "address",
                Box::new(|r| r.address = "99 Nowhere Street".into()),
            ),
            ("requester", Box::new(|r| r.requester = None)),
            (
                "requester.phone",
                Box::new(|r| r.requester.as_mut().unwrap().phone = "call me".into()),
            ),
            ("channel", Box::new(|r| r.channel = 0)),
            ("text", Box::new(|r| r.text = " ".into())),
        ];
        for (field, spoil) in cases {
            let mut req = submit(
                "sanitation.garbage",
                "1 Harbour Road",
                RequestKind::Complaint,
            );
            spoil(&mut req);
            let s = c.submit(req).await.unwrap_err();
            assert_eq!(bad_field(&s), field, "{}", s.message());
        }
        let listed = c.list_orders().await.unwrap();
        assert!(listed.is_empty(), "nothing stored: {:?}", listed);

        // Unknown unit: the gateway says which.
        let mut d = DispatchServiceClient::new(c.channel());
        let req = GetAssignmentRequest {
            order_id: "HL1".into(),
        };
        let s = d
            .get_assignment(routed(req, "t-atlantis", "t-atlantis"))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::NotFound);
        assert!(s.message().contains("t-atlantis"), "{}", s.message());

        // Unknown order.
        let s = c.order("HL99999999").await.unwrap_err();
        assert_eq!(s.code(), Code::NotFound);
        let s = c
            .accept("t-harbour", "HL99999999", 1, &request_id())
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::NotFound);

        // Illegal transitions and stale epochs change nothing.
        let o = c
            .submit(submit(
                "sanitation.garbage",
                "1 Harbour Road",
                RequestKind::Complaint,
            ))
            .await
            .unwrap();
        let id = &o.order_id;
        c.wait_assignment("t-harbour", id, 1, WAIT).await.unwrap();
        let s = c
            .reply("t-harbour", id, 1, ReplyOutcome::Resolved, "done")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(
            s.message().contains("contact the requester"),
            "{}",
            s.message()
        );
        let s = c
            .contact("t-harbour", id, 1, "too early")
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition);
        let s = c
            .accept("t-harbour", id, 2, &request_id())
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            Code::FailedPrecondition,
            "an epoch that is not current"
        );
        let s = c
            .callback(id, true, Satisfaction::Satisfied)
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            Code::FailedPrecondition,
            "no callback before the reply"
        );
        let a = c.assignment("t-harbour", id).await.unwrap();
        assert_eq!(a.state, AssignmentState::Dispatched as i32);
        assert_eq!(
            c.order(id).await.unwrap().state,
            OrderState::Dispatched as i32
        );

        // A copy is for supervision only.
        c.wait_assignment("d-riverside", id, 1, WAIT).await.unwrap();
        let s = c
            .accept("d-riverside", id, 1, &request_id())
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::FailedPrecondition);

        // Missing fields on handler calls name the field.
        let s = c
            .accept("t-harbour", "", 1, &request_id())
            .await
            .unwrap_err();
        assert_eq!(bad_field(&s), "order_id");
        let s = c.accept("t-harbour", id, 1, "").await.unwrap_err();
        assert_eq!(bad_field(&s), "request_id");
        let s = c
            .reply("t-harbour", id, 1, ReplyOutcome::Unspecified, "x")
            .await
            .unwrap_err();
        assert_eq!(bad_field(&s), "outcome");

        // A unit acts only for itself and reads only its subtree.
        let req = AcceptAssignmentRequest {
            request_id: request_id(),
            order_id: id.clone(),
            epoch: 1,
        };
        let s = d
            .accept_assignment(routed(req, "t-harbour", "t-lake"))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied);
        let s = c.unit_report("t-lake", "t-harbour").await.unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied);
        assert!(
            c.unit_report("d-riverside", "t-harbour").await.is_ok(),
            "a parent reads its child"
        );
        // Only the centre takes intake.
        let mut intake = IntakeServiceClient::new(c.channel());
        let req = submit(
            "sanitation.garbage",
            "1 Harbour Road",
            RequestKind::Complaint,
        );
        let s = intake
            .submit_request(routed(req, "city", "t-harbour"))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::PermissionDenied);
        // The city does not take assignments.
        let req = AcceptAssignmentRequest {
            request_id: request_id(),
            order_id: id.clone(),
            epoch: 1,
        };
        let s = d
            .accept_assignment(routed(req, "city", "city"))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::Unimplemented);

        let a = c.assignment("t-harbour", id).await.unwrap();
        assert_eq!(
            a.state,
            AssignmentState::Dispatched as i32,
            "nothing changed"
        );
        t.stop().await;
    }
}

//! Limits on every input (issue 19): a table of hostile requests through
//! the gateway, each answered with the status gRPC prescribes, naming the
//! field and its limit without echoing the value, and none changing
//! anything. Every request is sent as encoded bytes, the way any client
//! in any language would send it.

use bytes::Bytes;
use hotline::client::MeshClient;
use hotline_proto::v1::*;
use hotline_runtime::client::RawCodec;
use hotline_runtime::meta::routed;
use prost::Message as _;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::*;

/// Sends `body` as the request of `method`, to `target`, acting for `acting`.
async fn raw(
    c: &MeshClient,
    method: &str,
    target: &str,
    acting: &str,
    body: Vec<u8>,
) -> Result<Bytes, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(c.channel());
    grpc.ready().await.unwrap();
    let path = method.parse().unwrap();
    grpc.unary(routed(Bytes::from(body), target, acting), path, RawCodec)
        .await
        .map(|r| r.into_inner())
}

fn long(n: usize) -> String {
    "长".repeat(n)
}

fn ts(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

/// One hostile request: where it goes, its bytes, the field it must name.
struct Case {
    method: &'static str,
    at: &'static str,
    body: Vec<u8>,
    field: &'static str,
}

const SUBMIT: &str = "/hotline.v1.IntakeService/SubmitRequest";

fn cases(order: &str) -> Vec<Case> {
    let o = order.to_string();
    let submit = |f: &dyn Fn(&mut SubmitRequestRequest)| {
        let mut r = submit("road.pothole", "1 Harbour Road", RequestKind::Complaint);
        f(&mut r);
        r.encode_to_vec()
    };
    let person = |f: &dyn Fn(&mut Requester)| {
        submit(&|r: &mut SubmitRequestRequest| f(r.requester.as_mut().unwrap()))
    };
    let accept = |request_id: String, order_id: String| {
        AcceptAssignmentRequest {
            request_id,
            order_id,
            epoch: 1,
        }
        .encode_to_vec()
    };
    let extension = |reason: String, new_due_time| {
        RequestExtensionRequest {
            request_id: request_id(),
            order_id: o.clone(),
            epoch: 1,
            reason,
            new_due_time,
        }
        .encode_to_vec()
    };
    let whistle = |reason: String, departments: Vec<String>| {
        WhistleRequest {
            request_id: request_id(),
            order_id: o.clone(),
            epoch: 1,
            kind: WhistleKind::Daily as i32,
            reason,
            departments,
        }
        .encode_to_vec()
    };
    let object = |reason: String, proposed_unit: String| {
        ObjectAssignmentRequest {
            request_id: request_id(),
            order_id: o.clone(),
            epoch: 1,
            reason,
            proposed_unit,
        }
        .encode_to_vec()
    };
    let in_2026 = 1_780_000_000;
    let case = |method, at, body, field| Case {
        method,
        at,
        body,
        field,
    };
    vec![
        case(
            SUBMIT,
            "city",
            submit(&|r| r.request_id = long(129)),
            "request_id",
        ),
        case(
            SUBMIT,
            "city",
            submit(&|r| r.request_id = long(100_000)),
            "request_id",
        ),
        case(SUBMIT, "city", submit(&|r| r.text = long(4_001)), "text"),
        case(SUBMIT, "city", submit(&|r| r.text = long(1 << 20)), "text"),
        case(
            SUBMIT,
            "city",
            submit(&|r| r.address = long(1_001)),
            "address",
        ),
        case(
            SUBMIT,
            "city",
            submit(&|r| r.address = long(100_000)),
            "address",
        ),
        case(
            SUBMIT,
            "city",
            submit(&|r| r.category_code = long(129)),
            "category_code",
        ),
        case(
            SUBMIT,
            "city",
            submit(&|r| r.disposition_reason = long(1_001)),
            "disposition_reason",
        ),
        case(
            SUBMIT,
            "city",
            person(&|p| p.name = long(129)),
            "requester.name",
        ),
        case(
            SUBMIT,
            "city",
            person(&|p| p.name = long(100_000)),
            "requester.name",
        ),
        case(
            SUBMIT,
            "city",
            person(&|p| p.phone = long(129)),
            "requester.phone",
        ),
        case(
            "/hotline.v1.IntakeService/GetOrder",
            "city",
            GetOrderRequest {
                name: long(100_000),
            }
            .encode_to_vec(),
            "name",
        ),
        case(
            "/hotline.v1.IntakeService/RecordCallback",
            "city",
            RecordCallbackRequest {
                request_id: long(129),
                name: format!("orders/{o}"),
                resolved: true,
                satisfaction: Satisfaction::Satisfied as i32,
            }
            .encode_to_vec(),
            "request_id",
        ),
        case(
            "/hotline.v1.IntakeService/UrgeOrder",
            "city",
            UrgeOrderRequest {
                request_id: request_id(),
                name: long(129),
                source: UrgeSource::Requester as i32,
            }
            .encode_to_vec(),
            "name",
        ),
        case(
            "/hotline.v1.KnowledgeService/SearchKnowledge",
            "city",
            SearchKnowledgeRequest {
                text: long(4_001),
                ..Default::default()
            }
            .encode_to_vec(),
            "text",
        ),
        case(
            "/hotline.v1.DispatchService/AcceptAssignment",
            "t-harbour",
            accept(long(129), o.clone()),
            "request_id",
        ),
        case(
            "/hotline.v1.DispatchService/AcceptAssignment",
            "t-harbour",
            accept(request_id(), long(129)),
            "order_id",
        ),
        case(
            "/hotline.v1.DispatchService/ContactRequester",
            "t-harbour",
            ContactRequesterRequest {
                request_id: request_id(),
                order_id: o.clone(),
                epoch: 1,
                purpose: long(1_001),
            }
            .encode_to_vec(),
            "purpose",
        ),
        case(
            "/hotline.v1.DispatchService/UpdateProgress",
            "t-harbour",
            UpdateProgressRequest {
                request_id: request_id(),
                order_id: o.clone(),
                epoch: 1,
                note: long(1 << 20),
            }
            .encode_to_vec(),
            "note",
        ),
        case(
            "/hotline.v1.DispatchService/ReplyAssignment",
            "t-harbour",
            ReplyAssignmentRequest {
                request_id: request_id(),
                order_id: o.clone(),
                epoch: 1,
                outcome: ReplyOutcome::Resolved as i32,
                text: long(4_001),
            }
            .encode_to_vec(),
            "text",
        ),
        case(
            "/hotline.v1.DispatchService/ObjectAssignment",
            "t-harbour",
            object(long(1_001), "t-lake".into()),
            "reason",
        ),
        case(
            "/hotline.v1.DispatchService/ObjectAssignment",
            "t-harbour",
            object("not ours".into(), long(129)),
            "proposed_unit",
        ),
        case(
            "/hotline.v1.DispatchService/RequestExtension",
            "t-harbour",
            extension(long(1_001), ts(in_2026, 0)),
            "reason",
        ),
        case(
            "/hotline.v1.DispatchService/RequestExtension",
            "t-harbour",
            extension("parts".into(), ts(in_2026, 2_000_000_000)),
            "new_due_time",
        ),
        case(
            "/hotline.v1.DispatchService/RequestExtension",
            "t-harbour",
            extension("parts".into(), ts(in_2026, -1)),
            "new_due_time",
        ),
        case(
            "/hotline.v1.DispatchService/RequestExtension",
            "t-harbour",
            // 2200-01-01.
            extension("parts".into(), ts(7_258_118_400, 0)),
            "new_due_time",
        ),
        case(
            "/hotline.v1.DispatchService/RequestExtension",
            "t-harbour",
            // 1990-01-01.
            extension("parts".into(), ts(631_152_000, 0)),
            "new_due_time",
        ),
        case(
            "/hotline.v1.EscalationService/Whistle",
            "t-harbour",
            whistle(long(1_001), vec!["dept-housing".into()]),
            "reason",
        ),
        case(
            "/hotline.v1.EscalationService/Whistle",
            "t-harbour",
            whistle("help".into(), vec!["dept-housing".into(); 51]),
            "departments",
        ),
        case(
            "/hotline.v1.EscalationService/Whistle",
            "t-harbour",
            whistle("help".into(), vec![long(129)]),
            "departments[0]",
        ),
        case(
            "/hotline.v1.DispatchService/GetAssignment",
            "t-harbour",
            GetAssignmentRequest {
                order_id: long(100_000),
            }
            .encode_to_vec(),
            "order_id",
        ),
        case(
            "/hotline.v1.DispatchService/ListAssignments",
            "t-harbour",
            ListAssignmentsRequest {
                page_token: long(129),
                ..Default::default()
            }
            .encode_to_vec(),
            "page_token",
        ),
    ]
}

/// Every method of the contract, with where a call to it goes.
fn every_method() -> Vec<(String, &'static str)> {
    let fds = prost_types::FileDescriptorSet::decode(hotline_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = Vec::new();
    for f in fds.file.iter().filter(|f| f.package() == "hotline.v1") {
        for s in &f.service {
            let at = match s.name() {
                "DispatchService" | "EscalationService" | "ReportingService" | "InboxService" => {
                    "t-harbour"
                }
                _ => "city",
            };
            for m in &s.method {
                methods.push((format!("/hotline.v1.{}/{}", s.name(), m.name()), at));
            }
        }
    }
    methods
}

mesh_test! {
    async fn every_input_has_a_limit_and_bad_bodies_are_invalid_arguments(store) {
        let t = mesh(store).await;
        let c = &t.client;
        let o = c
            .submit(submit("road.pothole", "1 Harbour Road", RequestKind::Complaint))
            .await
            .unwrap();
        let id = o.order_id.clone();
        let before = c.wait_assignment("t-harbour", &id, 1, WAIT).await.unwrap();
        let history = c.order(&id).await.unwrap().history.len();

        let table = cases(&id);
        let fields = table.len();
        for case in table {
            let s = raw(c, case.method, case.at, case.at, case.body)
                .await
                .expect_err(case.method);
            assert_eq!(s.code(), Code::InvalidArgument, "{}: {s:?}", case.field);
            let bad = s.get_details_bad_request().expect("BadRequest details");
            assert_eq!(bad.field_violations[0].field, case.field, "{}", case.method);
            let said = s.message();
            assert!(
                said.contains("at most") || said.contains("must lie"),
                "{}: the limit is named: {said}",
                case.field
            );
            assert!(!said.contains("长长"), "{}: the value is not echoed", case.field);
            assert!(said.len() < 200, "{}: a short message", case.field);
        }

        // Bodies that are not a message of the method's type at all: an
        // overlong varint for a tag, and field 1 claiming 127 bytes it
        // does not have. Never INTERNAL, never UNKNOWN, nothing stored.
        let garbage: [&[u8]; 2] = [&[0xff; 11], &[0x0a, 0x7f, 0x01]];
        let mut codes = std::collections::BTreeMap::<String, usize>::new();
        let methods = every_method();
        for (method, at) in &methods {
            for body in garbage {
                let s = raw(c, method, at, at, body.to_vec()).await.expect_err(method);
                assert!(
                    matches!(s.code(), Code::InvalidArgument | Code::PermissionDenied),
                    "{method}: {s:?}"
                );
                if s.code() == Code::InvalidArgument {
                    assert!(s.message().contains("not a valid message"), "{method}: {s:?}");
                }
                *codes.entry(format!("{:?}", s.code())).or_default() += 1;
            }
        }
        // A method the contract does not have.
        let s = raw(c, "/hotline.v1.IntakeService/NoSuchMethod", "city", "city", Vec::new())
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::Unimplemented, "{s:?}");
        // 20 KiB of metadata: over the 16 KiB limit, said so.
        let mut grpc = tonic::client::Grpc::new(c.channel());
        grpc.ready().await.unwrap();
        let mut req = routed(Bytes::from(GetOrderRequest { name: format!("orders/{id}") }.encode_to_vec()), "city", "city");
        req.metadata_mut().insert("x-padding", "p".repeat(20 * 1024).parse().unwrap());
        let s = grpc
            .unary(req, "/hotline.v1.IntakeService/GetOrder".parse().unwrap(), RawCodec)
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
        assert!(s.message().contains("at most 16384 bytes"), "{s:?}");
        eprintln!(
            "bad input: {fields} field cases, {} bodies over {} methods: {codes:?}, 1 unknown method",
            methods.len() * garbage.len(),
            methods.len()
        );
        assert!(fields + methods.len() * garbage.len() >= 80);
        assert!(
            codes.get("InvalidArgument").copied().unwrap_or(0) >= methods.len(),
            "most bad bodies reach a decoder: {codes:?}"
        );

        // Nothing changed.
        assert_eq!(c.list_orders().await.unwrap().len(), 1);
        assert_eq!(c.order(&id).await.unwrap().history.len(), history);
        assert_eq!(c.assignment("t-harbour", &id).await.unwrap(), before);
        t.stop().await;
    }
}

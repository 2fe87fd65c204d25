//! Trust, tried as a hostile department would: with t-harbour's own
//! certificate it cannot act for another unit, the city or an operator,
//! cannot forge a handoff, announce, list routes or call a service
//! directly; without a certificate it gets nothing. Every refusal stores
//! nothing.

use hotline::client::{MeshClient, request_id};
use hotline_identity::{Credentials, IssueOptions, MeshTls, Pki, Principal, Security};
use hotline_proto::v1::control_service_client::ControlServiceClient;
use hotline_proto::v1::dispatch_service_client::DispatchServiceClient;
use hotline_proto::v1::gateway_service_client::GatewayServiceClient;
use hotline_proto::v1::intake_service_client::IntakeServiceClient;
use hotline_proto::v1::*;
use hotline_runtime::meta::routed;
use tonic::Code;

use crate::support::*;

const HARBOUR: &str = "t-harbour";
const MARKET: &str = "t-market";

fn pki(t: &TestMesh) -> Pki {
    Pki::open(t.opts.pki_dir())
}

/// A client presenting one holder's certificate, as a department's
/// system does.
fn holder_client(t: &TestMesh, holder: &Principal) -> MeshClient {
    let files = pki(t).issue(holder, &IssueOptions::default()).unwrap();
    let tls = MeshTls::load(files).unwrap();
    MeshClient::new(&t.mesh.gateway_url, "city", Credentials::Holder(tls)).unwrap()
}

fn denied<T: std::fmt::Debug>(r: Result<T, tonic::Status>, what: &str) -> tonic::Status {
    let s = r.expect_err(what);
    assert_eq!(s.code(), Code::PermissionDenied, "{what}: {s:?}");
    s
}

/// A complaint at a Harbour address, dispatched to t-harbour.
async fn harbour_order(c: &MeshClient) -> Order {
    let o = c
        .submit(submit(
            "sanitation.garbage",
            "1 Harbour Road",
            RequestKind::Complaint,
        ))
        .await
        .unwrap();
    c.wait_assignment(HARBOUR, &o.order_id, 1, WAIT)
        .await
        .unwrap();
    o
}

#[tokio::test]
async fn a_unit_certificate_acts_for_its_own_unit_only() {
    let Some(t) = pg_mesh(Default::default()).await else {
        return;
    };
    let ops = &t.client;
    let o = harbour_order(ops).await;
    let harbour = holder_client(&t, &Principal::Unit(HARBOUR.into()));

    // Its own assignment: read and accept.
    harbour.assignment(HARBOUR, &o.order_id).await.unwrap();
    // Another township's inbox, the city's orders, the city's intake.
    denied(
        harbour.assignment(MARKET, &o.order_id).await,
        "act for t-market",
    );
    denied(harbour.order(&o.order_id).await, "read as the city");
    let before = ops.list_orders().await.unwrap().len();
    denied(
        harbour
            .submit(submit(
                "sanitation.garbage",
                "1 Harbour Road",
                RequestKind::Complaint,
            ))
            .await,
        "submit as the city",
    );
    // Accepting for t-market, claiming its unit in the header.
    let s = denied(
        harbour.accept(MARKET, &o.order_id, 1, &request_id()).await,
        "accept for t-market",
    );
    assert!(s.message().contains("t-harbour"), "{s:?}");
    assert_eq!(
        ops.list_orders().await.unwrap().len(),
        before,
        "nothing stored"
    );
    let a = ops.assignment(HARBOUR, &o.order_id).await.unwrap();
    assert_eq!(
        AssignmentState::try_from(a.state).unwrap(),
        AssignmentState::Dispatched,
        "the assignment untouched"
    );
    // And its own accept goes through.
    harbour
        .accept(HARBOUR, &o.order_id, 1, &request_id())
        .await
        .unwrap();
    t.stop().await;
}

#[tokio::test]
async fn a_unit_cannot_forge_a_handoff_unmask_or_operate() {
    let Some(t) = pg_mesh(Default::default()).await else {
        return;
    };
    let ops = &t.client;
    let o = harbour_order(ops).await;
    let harbour = holder_client(&t, &Principal::Unit(HARBOUR.into()));

    // A forged order "from the city", to itself and to t-market.
    for (target, caller) in [(HARBOUR, HARBOUR), (MARKET, "city"), (HARBOUR, "city")] {
        let forged = DeliverAssignmentRequest {
            request_id: request_id(),
            assignment: Some(Assignment {
                order_id: "HL99999990".into(),
                unit_id: target.into(),
                text: "evacuate the building now".into(),
                epoch: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = DispatchServiceClient::new(harbour.channel())
            .deliver_assignment(routed(forged, target, caller))
            .await;
        denied(r, "forge DeliverAssignment");
        assert_eq!(
            ops.assignment(target, "HL99999990")
                .await
                .unwrap_err()
                .code(),
            Code::NotFound,
            "nothing stored at {target}"
        );
    }
    // Unmask: operators with the role only; the header cannot make it one.
    let unmask = harbour
        .unmask(HARBOUR, &o.order_id, 1, UnmaskReason::SiteVisit, "visit")
        .await;
    let s = unmask.expect_err("a unit may not unmask");
    assert!(
        matches!(s.code(), Code::PermissionDenied),
        "unmask as a unit: {s:?}"
    );
    assert!(
        ops.audit_log("city", &o.order_id).await.unwrap().is_empty(),
        "no audit row for a refused unmask"
    );
    // Control RPCs, even claiming the operator in the principal header.
    let mut req = routed(
        AdvanceToRequest {
            request_id: request_id(),
            time: None,
        },
        HARBOUR,
        HARBOUR,
    );
    req.metadata_mut().insert(
        hotline_identity::PRINCIPAL_HEADER,
        "operator/ops".parse().unwrap(),
    );
    denied(
        ControlServiceClient::new(harbour.channel())
            .advance_to(req)
            .await,
        "advance the clock",
    );
    t.stop().await;
}

#[tokio::test]
async fn only_a_service_announces_itself_and_routes_are_not_for_units() {
    let Some(t) = pg_mesh(Default::default()).await else {
        return;
    };
    let ops = &t.client;
    let routes = ops.routes().await.unwrap();
    let harbour = holder_client(&t, &Principal::Unit(HARBOUR.into()));
    let mut gw = GatewayServiceClient::new(harbour.channel());
    denied(gw.list_routes(ListRoutesRequest {}).await, "list routes");
    denied(
        gw.get_handoff_stats(GetHandoffStatsRequest {}).await,
        "read stats",
    );
    let hijack = AnnounceRequest {
        request_id: request_id(),
        service: "township".into(),
        address: "http://127.0.0.1:9".into(),
        pid: 1,
    };
    denied(
        gw.announce(hijack.clone()).await,
        "announce as the township",
    );
    // Even another service's certificate may not announce the township.
    let city_svc = holder_client(&t, &Principal::Service("district".into()));
    denied(
        GatewayServiceClient::new(city_svc.channel())
            .announce(hijack)
            .await,
        "announce another service",
    );
    assert_eq!(ops.routes().await.unwrap(), routes, "routes unchanged");
    // Work still reaches the real township.
    harbour_order(ops).await;
    t.stop().await;
}

#[tokio::test]
async fn a_service_is_reached_through_the_gateway_only() {
    let Some(t) = pg_mesh(Default::default()).await else {
        return;
    };
    let ops = &t.client;
    let o = ops
        .submit(submit(
            "sanitation.garbage",
            "1 Harbour Road",
            RequestKind::Complaint,
        ))
        .await
        .unwrap();
    let city = ops
        .routes()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.unit_id == "city")
        .unwrap();
    // With a unit's certificate, straight to the city's port.
    let pki = pki(&t);
    pki.issue(&Principal::Unit(HARBOUR.into()), &IssueOptions::default())
        .unwrap();
    let security =
        Security::Mtls(MeshTls::load(pki.files(&Principal::Unit(HARBOUR.into()))).unwrap());
    let endpoint = tonic::transport::Endpoint::from_shared(city.address.clone()).unwrap();
    let channel = security
        .channel(endpoint, Some(Principal::Service("city".into())))
        .unwrap();
    let r = IntakeServiceClient::new(channel)
        .get_order(routed(
            GetOrderRequest {
                name: format!("orders/{}", o.order_id),
            },
            "city",
            "city",
        ))
        .await;
    let s = denied(r, "call the city directly");
    assert!(s.message().contains("gateway"), "{s:?}");
    // Without TLS at all, the port says nothing.
    let plain = tonic::transport::Endpoint::from_shared(city.address)
        .unwrap()
        .connect()
        .await;
    if let Ok(ch) = plain {
        let r = IntakeServiceClient::new(ch)
            .get_order(routed(
                GetOrderRequest {
                    name: format!("orders/{}", o.order_id),
                },
                "city",
                "city",
            ))
            .await;
        assert!(r.is_err(), "plaintext to a service answers nothing");
    }
    t.stop().await;
}

#[tokio::test]
async fn a_revoked_unit_is_refused_at_its_next_call() {
    let Some(t) = pg_mesh(Default::default()).await else {
        return;
    };
    let ops = &t.client;
    let o = harbour_order(ops).await;
    let harbour = holder_client(&t, &Principal::Unit(HARBOUR.into()));
    harbour.assignment(HARBOUR, &o.order_id).await.unwrap();
    pki(&t).revoke(&Principal::Unit(HARBOUR.into())).unwrap();
    // The gateway looks at the list at most once a second.
    let deadline = tokio::time::Instant::now() + WAIT;
    let s = loop {
        match harbour.assignment(HARBOUR, &o.order_id).await {
            Err(s) => break s,
            Ok(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Ok(_) => panic!("still served after revocation"),
        }
    };
    assert_eq!(s.code(), Code::Unauthenticated, "{s:?}");
    // A re-issued certificate for the same unit works again.
    let again = holder_client(&t, &Principal::Unit(HARBOUR.into()));
    again.assignment(HARBOUR, &o.order_id).await.unwrap();
    t.stop().await;
}

#[tokio::test]
async fn a_grpcio_client_is_refused_without_a_certificate_and_confined_with_one() {
    let Some(python) = crate::examples::python() else {
        return;
    };
    let Some(t) = pg_mesh(Default::default()).await else {
        return;
    };
    let o = harbour_order(&t.client).await;
    let files = pki(&t)
        .issue(&Principal::Unit(HARBOUR.into()), &IssueOptions::default())
        .unwrap();
    let script =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/hostile.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(&t.mesh.gateway_url)
        .args([&files.ca, &files.cert, &files.key])
        .arg(&o.order_id)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = |attempt: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{attempt} ")))
            .unwrap_or_else(|| panic!("no {attempt} in {stdout}"))
            .to_owned()
    };
    assert_eq!(answer("plaintext"), "UNAVAILABLE", "{stdout}");
    assert_eq!(answer("no-certificate"), "UNAVAILABLE", "{stdout}");
    assert_eq!(answer("own-unit"), "OK", "{stdout}");
    assert_eq!(answer("other-unit"), "PERMISSION_DENIED", "{stdout}");
    assert_eq!(answer("forged-delivery"), "PERMISSION_DENIED", "{stdout}");
    assert_eq!(
        t.client
            .assignment(HARBOUR, "HL99999991")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound,
        "the forged delivery stored nothing"
    );
    t.stop().await;
}

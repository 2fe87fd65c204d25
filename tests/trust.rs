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
    MeshClient::new(&t.gateway_url, "city", Credentials::Holder(tls)).unwrap()
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

/// A mesh with an order at t-harbour, and t-harbour's own system.
async fn harbour_mesh(store: &Store) -> (TestMesh, Order, MeshClient) {
    let t = mesh(store).await;
    let o = harbour_order(&t.client).await;
    let harbour = holder_client(&t, &Principal::Unit(HARBOUR.into()));
    (t, o, harbour)
}

mesh_test! {
    async fn a_unit_certificate_acts_for_its_own_unit_only(store) {
        let (t, o, harbour) = harbour_mesh(store).await;
        let ops = &t.client;

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

        // TLS with the CA but no certificate: each call UNAUTHENTICATED.
        let ca = std::fs::read(pki(&t).ca_cert()).unwrap();
        let anonymous =
            tonic::transport::Endpoint::from_shared(t.gateway_url.replace("http://", "https://"))
                .unwrap()
                .tls_config(
                    tonic::transport::ClientTlsConfig::new()
                        .ca_certificate(tonic::transport::Certificate::from_pem(ca)),
                )
                .unwrap()
                .connect()
                .await
                .unwrap();
        let s = IntakeServiceClient::new(anonymous)
            .submit_request(routed(
                submit(
                    "sanitation.garbage",
                    "1 Harbour Road",
                    RequestKind::Complaint,
                ),
                "city",
                "city",
            ))
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::Unauthenticated, "{s:?}");
        assert_eq!(
            ops.list_orders().await.unwrap().len(),
            before,
            "nothing stored"
        );
        t.stop().await;
    }
}

mesh_test! {
    async fn a_unit_cannot_forge_a_handoff_unmask_or_operate(store) {
        let (t, o, harbour) = harbour_mesh(store).await;
        let ops = &t.client;

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
}

mesh_test! {
    async fn only_a_service_announces_itself_and_routes_are_not_for_units(store) {
        let t = mesh(store).await;
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
}

mesh_test! {
    async fn a_service_is_reached_through_the_gateway_only(store) {
        let t = mesh(store).await;
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
}

mesh_test! {
    async fn a_revoked_unit_is_refused_at_its_next_call(store) {
        let (t, o, harbour) = harbour_mesh(store).await;
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
}

mesh_test! {
    async fn a_grpcio_client_is_refused_without_a_certificate_and_confined_with_one(store) {
        let Some(python) = crate::examples::python() else {
            return;
        };
        let t = mesh(store).await;
        let o = harbour_order(&t.client).await;
        let files = pki(&t)
            .issue(&Principal::Unit(HARBOUR.into()), &IssueOptions::default())
            .unwrap();
        let script =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/hostile.py");
        let out = tokio::process::Command::new(python)
            .arg(script)
            .arg(&t.gateway_url)
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
        assert_eq!(answer("no-certificate"), "UNAUTHENTICATED", "{stdout}");
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
}

mesh_test! {
    /// Every RPC of the table, through the live gateway, with empty bodies:
    /// a caller the table admits gets past the gateway (whatever the service
    /// then says of the empty body); a unit's certificate acting for another
    /// unit, and a caller the table refuses (wrong tier or role), each get
    /// PERMISSION_DENIED from the gateway, and nothing is forwarded.
    async fn the_whole_authorization_table_is_enforced_at_the_gateway(store) {
        use hotline_core::authz::{self, Call, TABLE};
        let t = mesh(store).await;
        let topology = &t.topology;
        let units: Vec<String> = topology.units().map(|u| u.id.clone()).collect();
        let mut holders: Vec<Principal> = units.iter().map(|u| Principal::Unit(u.clone())).collect();
        holders.extend(
            topology
                .services()
                .iter()
                .map(|s| Principal::Service(s.name.clone())),
        );
        holders.extend(
            topology
                .operators()
                .iter()
                .map(|o| Principal::Operator(o.name.clone())),
        );
        let acts_for = |p: &Principal| -> Vec<String> {
            units
                .iter()
                .filter(|u| authz::may_act_for(topology, p, u).is_ok())
                .cloned()
                .collect()
        };
        // (holder, acting, target) the table admits, or refuses though the
        // holder may act for the unit.
        let find = |method: &str, admitted: bool| {
            holders.iter().find_map(|p| {
                acts_for(p).into_iter().find_map(|acting| {
                    units.iter().find_map(|target| {
                        let call = Call {
                            method,
                            principal: p,
                            acting: &acting,
                            target,
                        };
                        (authz::authorize(topology, &call).is_ok() == admitted)
                            .then(|| (p.clone(), acting.clone(), target.clone()))
                    })
                })
            })
        };
        let channel = t.client.channel();
        let call = |holder: Principal, acting: String, target: String, method: &'static str| {
            let channel = channel.acting_as(holder);
            async move {
                let mut req = tonic::Request::new(bytes::Bytes::new());
                req.metadata_mut()
                    .insert("x-hotline-unit", acting.parse().unwrap());
                req.metadata_mut()
                    .insert("x-hotline-target", target.parse().unwrap());
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc.ready().await.unwrap();
                let path = format!("/{method}").parse().unwrap();
                grpc.unary(req, path, hotline_runtime::client::RawCodec)
                    .await
            }
        };
        let by_table = |s: &tonic::Status| {
            s.code() == Code::PermissionDenied
                && (s.message().contains("may not call") || s.message().contains("may not act for"))
        };
        let mut refused_by_tier = 0;
        for rule in TABLE {
            let before = t.client.stats().await.unwrap().calls;
            // A unit's certificate acting for another unit.
            let other = if HARBOUR == units[0] {
                &units[1]
            } else {
                &units[0]
            };
            let s = call(
                Principal::Unit(HARBOUR.into()),
                other.clone(),
                other.clone(),
                rule.method,
            )
            .await
            .expect_err(rule.method);
            assert!(by_table(&s), "{}: act for {other}: {s:?}", rule.method);
            // A caller the table refuses for this RPC (none for Any rules).
            if let Some((p, acting, target)) = find(rule.method, false) {
                let s = call(p.clone(), acting.clone(), target.clone(), rule.method)
                    .await
                    .expect_err(rule.method);
                assert!(
                    by_table(&s),
                    "{} by {p} for {acting} on {target}: {s:?}",
                    rule.method
                );
                refused_by_tier += 1;
            }
            let after = t.client.stats().await.unwrap().calls;
            assert_eq!(
                after, before,
                "{}: a refused call was forwarded",
                rule.method
            );
            // A caller the table admits gets past the gateway.
            let (p, acting, target) = find(rule.method, true)
                .unwrap_or_else(|| panic!("{}: nobody may call it", rule.method));
            if rule.method.ends_with("/WatchAssignments") {
                continue; // a server stream; its admission is tested in integration.rs
            }
            match call(p.clone(), acting.clone(), target.clone(), rule.method).await {
                Ok(_) => {}
                Err(s) => assert!(
                    !by_table(&s) && s.code() != Code::Unauthenticated,
                    "{} by {p} for {acting} on {target}: {s:?}",
                    rule.method
                ),
            }
        }
        assert!(
            refused_by_tier > 40,
            "{refused_by_tier} rules refused a caller by tier or role"
        );
        t.stop().await;
    }
}

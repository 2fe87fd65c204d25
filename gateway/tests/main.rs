//! The gateway as a user sees it: a real gateway and a real backend on
//! port 0, called with the generated clients.

// A test's helpers may unwrap (the panic is the failure); its ports and
// scratch names guard nothing, so fastrand is fine here.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod support;

use std::time::Duration;

use hotline_proto::v1::{
    GetHandoffStatsRequest, ListRoutesRequest, ServiceCount, Tier, TierPairCount, UnitReport,
};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

use support::{
    GATED_UNIT, REFUSAL, REFUSED_UNIT, SLOW_UNIT, dead_address, report_request, spawn_backend,
    spawn_gateway, spawn_gateway_with,
};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACESTATE: &str = "hotline=t61rcWkgMzE";
const BAGGAGE: &str = "hotline.tier=township,hotline.channel=phone";
/// Baggage a careless caller sends: only the allow-listed keys go on.
const CARELESS_BAGGAGE: &str =
    "hotline.tier=township,requester.name=Li%20Wei,hotline.channel=phone,text=noise";

fn echoed(report: &UnitReport, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    report
        .by_state
        .iter()
        .find_map(|entry| entry.state.strip_prefix(&prefix).map(str::to_owned))
}

#[tokio::test]
async fn call_reaches_backend_with_trace_context_and_allowed_baggage() {
    let gateway = spawn_gateway().await;
    let backend = spawn_backend().await;
    gateway
        .announce("township", &backend.address, 11)
        .await
        .unwrap();

    let mut request = report_request("units/t-east-1", Some("t-east-1"), Some("c-city"));
    request.set_timeout(Duration::from_secs(10));
    let metadata = request.metadata_mut();
    metadata.insert("traceparent", TRACEPARENT.parse().unwrap());
    metadata.insert("tracestate", TRACESTATE.parse().unwrap());
    metadata.insert("baggage", CARELESS_BAGGAGE.parse().unwrap());
    let response = gateway.reporting().get_unit_report(request).await.unwrap();

    let report = response.into_inner().report.unwrap();
    assert_eq!(report.unit, "units/t-east-1");
    assert_eq!(echoed(&report, "traceparent").as_deref(), Some(TRACEPARENT));
    assert_eq!(echoed(&report, "tracestate").as_deref(), Some(TRACESTATE));
    assert_eq!(echoed(&report, "baggage").as_deref(), Some(BAGGAGE));
    assert_eq!(echoed(&report, "x-hotline-unit").as_deref(), Some("c-city"));
    assert_eq!(
        echoed(&report, "x-hotline-target").as_deref(),
        Some("t-east-1")
    );
    let deadline = report.by_state.iter().find(|e| e.state == "grpc-timeout");
    assert_eq!(
        deadline.map(|e| e.count),
        Some(1),
        "grpc-timeout reaches the backend"
    );
}

#[tokio::test]
async fn handoff_stats_count_exactly_the_calls_made() {
    let gateway = spawn_gateway().await;
    let backend = spawn_backend().await;
    gateway
        .announce("township", &backend.address, 4242)
        .await
        .unwrap();
    let mut reporting = gateway.reporting();

    let calls = [
        // city -> township: a handoff
        (Some("t-east-1"), Some("c-city")),
        // a unit calling itself: a call, not a handoff
        (Some("t-east-1"), Some("t-east-1")),
        // no calling unit: a call from an unknown tier, not a handoff
        (Some("t-east-2"), None),
    ];
    for (target, from) in calls {
        let request = report_request("units/x", target, from);
        reporting.get_unit_report(request).await.unwrap();
    }
    // Rejected by the gateway itself: never forwarded, never counted.
    let rejected = report_request("units/x", Some("t-nowhere"), Some("c-city"));
    reporting.get_unit_report(rejected).await.unwrap_err();
    // Refused by the backend: forwarded and answered, so counted.
    let refused = report_request(REFUSED_UNIT, Some("t-east-2"), Some("t-east-1"));
    reporting.get_unit_report(refused).await.unwrap_err();

    let stats = gateway
        .api()
        .get_handoff_stats(GetHandoffStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.calls, 4);
    assert_eq!(stats.handoffs, 2);
    let pair = |from: Tier, to: Tier, count| TierPairCount {
        from_tier: from.into(),
        to_tier: to.into(),
        count,
    };
    let mut by_tier_pair = stats.by_tier_pair.clone();
    by_tier_pair.sort_by_key(|p| (p.from_tier, p.to_tier));
    assert_eq!(
        by_tier_pair,
        vec![
            pair(Tier::Unspecified, Tier::Township, 1),
            pair(Tier::City, Tier::Township, 1),
            pair(Tier::Township, Tier::Township, 2),
        ]
    );
    assert_eq!(
        stats.by_service,
        vec![ServiceCount {
            service: "township".to_owned(),
            pid: 4242,
            calls: 4,
        }]
    );
}

#[tokio::test]
async fn missing_target_is_invalid_argument() {
    let gateway = spawn_gateway().await;
    let request = report_request("units/t-east-1", None, Some("c-city"));
    let status = gateway
        .reporting()
        .get_unit_report(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "x-hotline-target: missing target unit");
}

#[tokio::test]
async fn unknown_unit_is_not_found_naming_the_unit() {
    let gateway = spawn_gateway().await;
    let request = report_request("units/t-west-9", Some("t-west-9"), Some("c-city"));
    let status = gateway
        .reporting()
        .get_unit_report(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("t-west-9"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn unannounced_service_is_unavailable() {
    let gateway = spawn_gateway().await;
    let request = report_request("units/d-east", Some("d-east"), Some("c-city"));
    let status = gateway
        .reporting()
        .get_unit_report(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("district"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn unreachable_service_is_unavailable() {
    let gateway = spawn_gateway().await;
    gateway
        .announce("township", &dead_address().await, 5)
        .await
        .unwrap();
    let request = report_request("units/t-east-1", Some("t-east-1"), Some("c-city"));
    let status = gateway
        .reporting()
        .get_unit_report(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("township"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn backend_error_status_comes_back_unchanged() {
    let gateway = spawn_gateway().await;
    let backend = spawn_backend().await;
    gateway
        .announce("township", &backend.address, 1)
        .await
        .unwrap();
    let request = report_request(REFUSED_UNIT, Some("t-east-1"), Some("c-city"));
    let status = gateway
        .reporting()
        .get_unit_report(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(status.message(), REFUSAL);
}

#[tokio::test]
async fn slow_backend_exceeds_the_callers_deadline() {
    let gateway = spawn_gateway().await;
    let backend = spawn_backend().await;
    gateway
        .announce("township", &backend.address, 1)
        .await
        .unwrap();
    let mut request = report_request(SLOW_UNIT, Some("t-east-1"), Some("c-city"));
    request.set_timeout(Duration::from_secs(1));
    let status = gateway
        .reporting()
        .get_unit_report(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("township"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_shed() {
    let gateway = spawn_gateway_with(hotline_gateway::GatewayConfig {
        max_concurrency: 1,
        ..Default::default()
    })
    .await;
    let backend = spawn_backend().await;
    gateway
        .announce("township", &backend.address, 1)
        .await
        .unwrap();

    let mut reporting = gateway.reporting();
    let in_flight = tokio::spawn(async move {
        let request = report_request(GATED_UNIT, Some("t-east-1"), Some("c-city"));
        reporting.get_unit_report(request).await
    });
    backend.gate.received.notified().await;

    let request = report_request("units/t-east-2", Some("t-east-2"), Some("c-city"));
    let status = gateway
        .reporting()
        .get_unit_report(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(status.message(), "gateway is overloaded");

    backend.gate.release.notify_one();
    in_flight
        .await
        .unwrap()
        .expect("the admitted call completes");
}

#[tokio::test]
async fn reflection_lists_every_hotline_service() {
    use tonic_reflection::pb::{v1, v1alpha};
    let gateway = spawn_gateway().await;

    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(gateway.channel());
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(listed)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1 reflection did not list services");
    };
    let v1_names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();

    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(gateway.channel());
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(listed)) =
        responses.message().await.unwrap().unwrap().message_response
    else {
        panic!("v1alpha reflection did not list services");
    };
    let v1alpha_names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();

    for names in [&v1_names, &v1alpha_names] {
        for service in [
            "hotline.v1.IntakeService",
            "hotline.v1.ContactRelayService",
            "hotline.v1.DispatchService",
            "hotline.v1.EscalationService",
            "hotline.v1.ReportingService",
            "hotline.v1.GatewayService",
            "grpc.health.v1.Health",
        ] {
            assert!(names.iter().any(|n| n == service), "{service} in {names:?}");
        }
    }
}

#[tokio::test]
async fn health_reports_serving() {
    let gateway = spawn_gateway().await;
    let mut health = HealthClient::new(gateway.channel());
    for service in [
        "",
        "hotline.v1.GatewayService",
        "hotline.v1.DispatchService",
    ] {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let response = health.check(request).await.unwrap().into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test]
async fn announce_rejects_unknown_service_and_bad_address() {
    let gateway = spawn_gateway().await;

    let status = gateway
        .announce("waterworks", "http://127.0.0.1:1", 1)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = status.get_error_details().bad_request().cloned().unwrap();
    assert_eq!(violations.field_violations[0].field, "service");

    for address in ["", "127.0.0.1:50051", "ftp://127.0.0.1:21"] {
        let status = gateway.announce("township", address, 1).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{address:?}");
        let violations = status.get_error_details().bad_request().cloned().unwrap();
        assert_eq!(violations.field_violations[0].field, "address");
    }
}

#[tokio::test]
async fn announce_routes_units_and_reannounce_replaces() {
    let gateway = spawn_gateway().await;
    let first = spawn_backend().await;
    let second = spawn_backend().await;

    let announced = gateway
        .announce("township", &first.address, 1)
        .await
        .unwrap();
    assert_eq!(announced.units, ["t-east-1", "t-east-2"]);
    gateway
        .announce("township", &second.address, 2)
        .await
        .unwrap();

    let routes = gateway
        .api()
        .list_routes(ListRoutesRequest {})
        .await
        .unwrap()
        .into_inner()
        .routes;
    let address_of = |unit: &str| {
        let route = routes.iter().find(|r| r.unit_id == unit).unwrap();
        route.address.clone()
    };
    assert_eq!(routes.len(), 4);
    assert_eq!(address_of("t-east-1"), second.address);
    assert_eq!(address_of("t-east-2"), second.address);
    assert_eq!(address_of("d-east"), "");
    let t_east_1 = routes.iter().find(|r| r.unit_id == "t-east-1").unwrap();
    assert_eq!(t_east_1.tier(), Tier::Township);
    assert_eq!(t_east_1.service, "township");
}

#[tokio::test]
async fn shutdown_reports_not_serving_and_drains_in_flight_calls() {
    let gateway = spawn_gateway().await;
    let backend = spawn_backend().await;
    gateway
        .announce("township", &backend.address, 1)
        .await
        .unwrap();

    let mut health = HealthClient::new(gateway.channel());
    let watch = HealthCheckRequest {
        service: String::new(),
    };
    let mut statuses = health.watch(watch).await.unwrap().into_inner();
    let first = statuses.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);

    let mut reporting = gateway.reporting();
    let in_flight = tokio::spawn(async move {
        let request = report_request(GATED_UNIT, Some("t-east-1"), Some("c-city"));
        reporting.get_unit_report(request).await
    });
    backend.gate.received.notified().await;

    let address = gateway.address.clone();
    let served = gateway.shut_down();
    let next = statuses.message().await.unwrap().unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    drop(statuses);

    backend.gate.release.notify_one();
    let response = in_flight.await.unwrap().expect("in-flight call drains");
    assert_eq!(response.into_inner().report.unwrap().unit, GATED_UNIT);
    let stopped = tokio::time::timeout(Duration::from_secs(10), served).await;
    stopped.expect("gateway stops").unwrap().unwrap();
    let reconnect = tonic::transport::Channel::from_shared(address).unwrap();
    assert!(
        reconnect.connect().await.is_err(),
        "a stopped gateway accepts nothing"
    );
}

//! Each service process serves health and reflection of what it serves;
//! the command line's requester and operator views work through the gateway.

use tonic_reflection::pb::v1alpha;

use crate::support::*;

/// A channel straight to a service, as the mesh's own operator: any holder
/// from the mesh CA may ask a service after its health and reflection.
fn direct(t: &crate::support::TestMesh, address: &str, service: &str) -> tonic::transport::Channel {
    let ops = t.mesh_security(&hotline_identity::Principal::Operator("ops".into()));
    ops.channel(
        tonic::transport::Endpoint::from_shared(address.to_string()).unwrap(),
        Some(hotline_identity::Principal::Service(service.into())),
    )
    .unwrap()
}

async fn listed(ch: tonic::transport::Channel) -> Vec<String> {
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(ch);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::once(req))
        .await
        .unwrap()
        .into_inner();
    match stream.message().await.unwrap().unwrap().message_response {
        Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(l)) => {
            l.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("{other:?}"),
    }
}

mesh_test! {
    async fn every_service_serves_health_and_reflection_of_its_families(store) {
        let t = mesh(store).await;
        let routes = t.client.routes().await.unwrap();
        for spec in t.topology.services() {
            let address = &routes
                .iter()
                .find(|r| r.service == spec.name)
                .unwrap()
                .address;
            let ch = direct(&t, address, &spec.name);
            let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
            for service in [
                "",
                "hotline.v1.DispatchService",
                "hotline.v1.ReportingService",
            ] {
                let req = tonic_health::pb::HealthCheckRequest {
                    service: service.into(),
                };
                let status = health.check(req).await.unwrap().into_inner().status;
                assert_eq!(
                    status,
                    tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
                    "{} {service}",
                    spec.name
                );
            }
            let names = listed(ch).await;
            for family in [
                "hotline.v1.DispatchService",
                "hotline.v1.EscalationService",
                "hotline.v1.ReportingService",
            ] {
                assert!(
                    names.iter().any(|n| n == family),
                    "{}: {names:?}",
                    spec.name
                );
            }
            let intake = names.iter().any(|n| n == "hotline.v1.IntakeService");
            assert_eq!(
                intake,
                spec.name == "city",
                "only the city serves intake: {}: {names:?}",
                spec.name
            );
        }
        t.stop().await;
    }
}

mesh_test! {
    async fn cli_submit_and_order_show_work_through_the_gateway(store) {
        let t = mesh(store).await;
        let run = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
                // The CLI presents each unit's certificate from the mesh CA.
                .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let gw = t.gateway_url.clone();
        let submitted = run(&[
            "submit",
            "--gateway",
            &gw,
            "--category",
            "gas.leak",
            "--address",
            "8 West Arcade",
            "--text",
            "smell of gas",
            "--phone",
            "13600000000",
            "--name",
            "Qian Yu",
            "--kind",
            "help",
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&submitted).unwrap();
        assert_eq!(v["state"], "DISPATCHED");
        assert_eq!(v["urgency"], "URGENCY_EMERGENCY");
        assert_eq!(v["territory_unit"], "t-market");
        assert!(
            !submitted.contains("13600000000") && !submitted.contains("Qian Yu"),
            "no PII outside the city store"
        );
        let id = v["name"]
            .as_str()
            .unwrap()
            .trim_start_matches("orders/")
            .to_string();
        t.client
            .wait_assignment("dept-utility", &id, 1, WAIT)
            .await
            .unwrap();

        let shown = run(&["order", "show", &id, "--gateway", &gw]);
        assert!(
            shown.contains(&format!("orders/{id} is dispatched")),
            "{shown}"
        );
        assert!(
            shown.contains("dept-utility") && shown.contains("d-riverside"),
            "{shown}"
        );
        let o = t.client.order(&id).await.unwrap();
        let received = o.received_time.unwrap().seconds;
        assert_eq!(
            o.due_time.unwrap().seconds - received,
            2 * 3600,
            "2 h for an emergency"
        );

        let bad = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .env("HOTLINE_PKI_DIR", t.opts.pki_dir())
            .args([
                "submit",
                "--gateway",
                &gw,
                "--category",
                "nope",
                "--text",
                "x",
                "--phone",
                "13600000000",
            ])
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("category_code"));
        t.stop().await;
    }
}

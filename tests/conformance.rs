//! The conformance kit: the mesh's own tier services pass it, and a server
//! that applies a retried request_id twice fails it, the failed case named.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hotline::conformance::{self, Options, Outcome};
use hotline_core::Tier;
use hotline_proto::v1::dispatch_service_server::{DispatchService, DispatchServiceServer};
use hotline_proto::v1::*;
use tonic::{Request, Response, Status};

use crate::support::*;

mesh_test! {
    async fn every_tier_service_of_the_mesh_passes(store) {
        let t = mesh(store).await;
        let routes = t.client.routes().await.unwrap();
        let mut tested = Vec::new();
        for tier in [
            Tier::District,
            Tier::Township,
            Tier::Community,
            Tier::Department,
            Tier::Central,
        ] {
            let wire = hotline_runtime::wire::WireEnum::to_wire(tier);
            let Some(r) = routes.iter().find(|r| r.tier == wire) else {
                continue;
            };
            let proposed = if r.unit_id == "t-market" {
                "t-harbour"
            } else {
                "t-market"
            };
            let results = conformance::run(Options {
                target: r.address.clone(),
                tier,
                unit: r.unit_id.clone(),
                city: "city".into(),
                proposed_unit: Some(proposed.into()),
                // A mesh service accepts the gateway's certificate only.
                security: t.mesh_security(&hotline_identity::Principal::Service("gateway".into())),
            })
            .await
            .unwrap();
            let table = conformance::table(&results);
            assert!(
                conformance::passed(&results),
                "{tier} {}:\n{table}",
                r.unit_id
            );
            assert!(
                results.iter().all(|r| r.outcome == Outcome::Pass),
                "nothing skipped:\n{table}"
            );
            tested.push(r.service.clone());
        }
        assert_eq!(tested.len(), 5, "{tested:?}");

        // The command prints the table and exits zero.
        let dept = routes
            .iter()
            .find(|r| r.unit_id == "dept-transport")
            .unwrap();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .args([
                "conformance",
                "--target",
                &dept.address,
                "--tier",
                "department",
                "--unit",
                "dept-transport",
                "--proposed-unit",
                "t-market",
                "--pki-dir",
                &t.opts.pki_dir().display().to_string(),
            ])
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("idempotent_retry") && stdout.contains("10 passed, 0 failed"),
            "{stdout}"
        );
        t.stop().await;
    }
}

#[tokio::test]
async fn a_server_that_applies_a_retry_twice_fails_naming_the_case() {
    let (addr, server) = Broken::serve().await;
    let results = conformance::run(Options {
        target: format!("http://{addr}"),
        tier: Tier::Department,
        unit: "dept-x".into(),
        city: "city".into(),
        proposed_unit: Some("t-market".into()),
        security: hotline_identity::Security::Plaintext,
    })
    .await
    .unwrap();
    let table = conformance::table(&results);
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
        .map(|r| r.name)
        .collect();
    assert_eq!(failed, vec!["idempotent_retry"], "{table}");

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args([
            "conformance",
            "--target",
            &addr.to_string(),
            "--tier",
            "department",
            "--unit",
            "dept-x",
            // The broken server under test speaks plaintext.
            "--insecure-plaintext",
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("idempotent_retry"))
        .unwrap_or_default();
    assert!(
        line.contains("FAIL") && line.contains("applied again"),
        "{stdout}"
    );
    server.abort();
}

/// A tier server that looks right but keeps no record of request ids: a
/// retry is applied again.
#[derive(Default, Clone)]
struct Broken {
    assignments: Arc<Mutex<HashMap<String, Assignment>>>,
}

fn unit_of<T>(req: &Request<T>) -> Result<String, Status> {
    let get = |k| {
        req.metadata()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| Status::invalid_argument(format!("{k}: missing")))
    };
    let (unit, target) = (get("x-hotline-unit")?, get("x-hotline-target")?);
    if unit != target && unit != "city" {
        return Err(Status::permission_denied("not your unit"));
    }
    Ok(target)
}

impl Broken {
    async fn serve() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<DispatchServiceServer<Broken>>().await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(hotline_proto::FILE_DESCRIPTOR_SET)
            .build_v1()
            .unwrap();
        let server = tonic::transport::Server::builder()
            .add_service(DispatchServiceServer::new(Broken::default()))
            .add_service(health_service)
            .add_service(reflection)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        (addr, tokio::spawn(async move { server.await.unwrap() }))
    }

    fn change<T>(
        &self,
        req: &Request<T>,
        order_id: &str,
        epoch: u64,
        f: impl FnOnce(&mut Assignment) -> Result<(), Status>,
    ) -> Result<Assignment, Status> {
        unit_of(req)?;
        if order_id.is_empty() {
            return Err(Status::invalid_argument("order_id: required"));
        }
        let mut all = self.assignments.lock().unwrap();
        let a = all
            .get_mut(order_id)
            .ok_or_else(|| Status::not_found("no such assignment"))?;
        if a.epoch != epoch {
            return Err(Status::failed_precondition("stale epoch"));
        }
        f(a)?;
        Ok(a.clone())
    }
}

fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not in this test server"))
}

#[tonic::async_trait]
impl DispatchService for Broken {
    async fn deliver_assignment(
        &self,
        req: Request<DeliverAssignmentRequest>,
    ) -> Result<Response<DeliverAssignmentResponse>, Status> {
        unit_of(&req)?;
        let a = req
            .into_inner()
            .assignment
            .ok_or_else(|| Status::invalid_argument("assignment: required"))?;
        let mut all = self.assignments.lock().unwrap();
        let kept = all.entry(a.order_id.clone()).or_insert_with(|| a.clone());
        if a.epoch > kept.epoch {
            *kept = a;
        }
        Ok(Response::new(DeliverAssignmentResponse {
            assignment: Some(kept.clone()),
        }))
    }

    async fn accept_assignment(
        &self,
        req: Request<AcceptAssignmentRequest>,
    ) -> Result<Response<AcceptAssignmentResponse>, Status> {
        let r = req.get_ref().clone();
        let a = self.change(&req, &r.order_id, r.epoch, |a| {
            a.state = AssignmentState::Accepted as i32;
            Ok(())
        })?;
        Ok(Response::new(AcceptAssignmentResponse {
            assignment: Some(a),
        }))
    }

    async fn update_progress(
        &self,
        req: Request<UpdateProgressRequest>,
    ) -> Result<Response<UpdateProgressResponse>, Status> {
        let r = req.get_ref().clone();
        let a = self.change(&req, &r.order_id, r.epoch, |a| {
            a.state = AssignmentState::InProgress as i32;
            a.progress_note = r.note.clone();
            Ok(())
        })?;
        Ok(Response::new(UpdateProgressResponse {
            assignment: Some(a),
        }))
    }

    async fn reply_assignment(
        &self,
        req: Request<ReplyAssignmentRequest>,
    ) -> Result<Response<ReplyAssignmentResponse>, Status> {
        let r = req.get_ref().clone();
        if r.outcome == 0 {
            return Err(Status::invalid_argument("outcome: required"));
        }
        let a = self.change(&req, &r.order_id, r.epoch, |a| {
            a.state = AssignmentState::Replied as i32;
            a.outcome = r.outcome;
            Ok(())
        })?;
        Ok(Response::new(ReplyAssignmentResponse {
            assignment: Some(a),
        }))
    }

    async fn object_assignment(
        &self,
        req: Request<ObjectAssignmentRequest>,
    ) -> Result<Response<ObjectAssignmentResponse>, Status> {
        let r = req.get_ref().clone();
        let a = self.change(&req, &r.order_id, r.epoch, |a| {
            a.state = AssignmentState::Objected as i32;
            Ok(())
        })?;
        Ok(Response::new(ObjectAssignmentResponse {
            assignment: Some(a),
        }))
    }

    async fn get_assignment(
        &self,
        req: Request<GetAssignmentRequest>,
    ) -> Result<Response<GetAssignmentResponse>, Status> {
        unit_of(&req)?;
        let all = self.assignments.lock().unwrap();
        let a = all
            .get(&req.get_ref().order_id)
            .cloned()
            .ok_or_else(|| Status::not_found("no such assignment"))?;
        Ok(Response::new(GetAssignmentResponse {
            assignment: Some(a),
        }))
    }

    async fn contact_requester(
        &self,
        _: Request<ContactRequesterRequest>,
    ) -> Result<Response<ContactRequesterResponse>, Status> {
        unimplemented()
    }

    async fn list_assignments(
        &self,
        _: Request<ListAssignmentsRequest>,
    ) -> Result<Response<ListAssignmentsResponse>, Status> {
        unimplemented()
    }

    async fn record_assignment_event(
        &self,
        _: Request<RecordAssignmentEventRequest>,
    ) -> Result<Response<RecordAssignmentEventResponse>, Status> {
        unimplemented()
    }

    async fn hand_down_assignment(
        &self,
        _: Request<HandDownAssignmentRequest>,
    ) -> Result<Response<HandDownAssignmentResponse>, Status> {
        unimplemented()
    }

    async fn report_part(
        &self,
        _: Request<ReportPartRequest>,
    ) -> Result<Response<ReportPartResponse>, Status> {
        unimplemented()
    }

    async fn record_hand_down(
        &self,
        _: Request<RecordHandDownRequest>,
    ) -> Result<Response<RecordHandDownResponse>, Status> {
        unimplemented()
    }

    async fn deliver_notice(
        &self,
        _: Request<DeliverNoticeRequest>,
    ) -> Result<Response<DeliverNoticeResponse>, Status> {
        unimplemented()
    }

    async fn list_notices(
        &self,
        _: Request<ListNoticesRequest>,
    ) -> Result<Response<ListNoticesResponse>, Status> {
        unimplemented()
    }

    async fn request_extension(
        &self,
        _: Request<RequestExtensionRequest>,
    ) -> Result<Response<RequestExtensionResponse>, Status> {
        unimplemented()
    }
}

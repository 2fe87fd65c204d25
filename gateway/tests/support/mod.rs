//! A real gateway and a real backend, both on 127.0.0.1:0.

use std::{sync::Arc, time::Duration};

use hotline_gateway::{GatewayConfig, UnitRoute};
use hotline_proto::v1::{
    AnnounceRequest, AnnounceResponse, GetUnitReportRequest, GetUnitReportResponse, StateCount,
    Tier, UnitReport,
    gateway_service_client::GatewayServiceClient,
    reporting_service_client::ReportingServiceClient,
    reporting_service_server::{ReportingService, ReportingServiceServer},
};
use tokio::{net::TcpListener, sync::Notify, sync::oneshot, task::JoinHandle};
use tonic::{
    Request, Response, Status,
    transport::{Channel, Server, server::TcpIncoming},
};

/// Metadata the test backend echoes back as `by_state` entries `key=value`.
const ECHOED: [&str; 5] = [
    "traceparent",
    "tracestate",
    "baggage",
    "x-hotline-unit",
    "x-hotline-target",
];

/// Units the backend treats specially, by the request's `unit` field.
pub const SLOW_UNIT: &str = "units/slow";
pub const REFUSED_UNIT: &str = "units/refused";
pub const GATED_UNIT: &str = "units/gated";
pub const REFUSAL: &str = "unit report is sealed for the assessment";

/// c-city (city), t-east-1 and t-east-2 (township), d-east (district).
pub fn topology() -> Vec<UnitRoute> {
    [
        ("c-city", Tier::City, "city"),
        ("t-east-1", Tier::Township, "township"),
        ("t-east-2", Tier::Township, "township"),
        ("d-east", Tier::District, "district"),
    ]
    .into_iter()
    .map(|(unit_id, tier, service)| UnitRoute {
        unit_id: unit_id.to_owned(),
        tier,
        service: service.to_owned(),
    })
    .collect()
}

pub struct TestGateway {
    pub address: String,
    channel: Channel,
    shutdown: oneshot::Sender<()>,
    served: JoinHandle<anyhow::Result<()>>,
}

pub async fn spawn_gateway() -> TestGateway {
    spawn_gateway_with(GatewayConfig::default()).await
}

/// A gateway over [`topology`] with the rest of `config`.
pub async fn spawn_gateway_with(config: GatewayConfig) -> TestGateway {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stop) = oneshot::channel();
    let config = GatewayConfig {
        routes: topology(),
        ..config
    };
    let served = tokio::spawn(hotline_gateway::serve(listener, config, async {
        let _ = stop.await;
    }));
    let channel = Channel::from_shared(address.clone())
        .unwrap()
        .connect()
        .await
        .expect("connect to gateway");
    TestGateway {
        address,
        channel,
        shutdown,
        served,
    }
}

impl TestGateway {
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn api(&self) -> GatewayServiceClient<Channel> {
        GatewayServiceClient::new(self.channel())
    }

    pub fn reporting(&self) -> ReportingServiceClient<Channel> {
        ReportingServiceClient::new(self.channel())
    }

    pub async fn announce(
        &self,
        service: &str,
        address: &str,
        pid: u32,
    ) -> Result<AnnounceResponse, Status> {
        let request = AnnounceRequest {
            request_id: format!("announce-{service}-{pid}"),
            service: service.to_owned(),
            address: address.to_owned(),
            pid,
        };
        self.api().announce(request).await.map(Response::into_inner)
    }

    /// Triggers shutdown; `stopped` then waits for `serve` to return.
    pub fn shut_down(self) -> JoinHandle<anyhow::Result<()>> {
        let _ = self.shutdown.send(());
        self.served
    }
}

/// Lets a test hold a call inside the backend.
#[derive(Default)]
pub struct Gate {
    pub received: Notify,
    pub release: Notify,
}

pub struct Backend {
    pub address: String,
    pub gate: Arc<Gate>,
}

/// A `ReportingService` that echoes the metadata it received.
pub async fn spawn_backend() -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let gate = Arc::new(Gate::default());
    let service = ReportingServiceServer::new(EchoReporting { gate: gate.clone() });
    tokio::spawn(
        Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    Backend { address, gate }
}

struct EchoReporting {
    gate: Arc<Gate>,
}

#[tonic::async_trait]
impl ReportingService for EchoReporting {
    async fn get_scorecard(
        &self,
        _: Request<hotline_proto::v1::GetScorecardRequest>,
    ) -> Result<Response<hotline_proto::v1::GetScorecardResponse>, Status> {
        Err(Status::unimplemented(
            "the echo backend keeps no scorecards",
        ))
    }

    async fn list_unit_orders(
        &self,
        _: Request<hotline_proto::v1::ListUnitOrdersRequest>,
    ) -> Result<Response<hotline_proto::v1::ListUnitOrdersResponse>, Status> {
        Err(Status::unimplemented(
            "the echo backend keeps no scorecards",
        ))
    }

    async fn roll_up_scorecards(
        &self,
        _: Request<hotline_proto::v1::RollUpScorecardsRequest>,
    ) -> Result<Response<hotline_proto::v1::RollUpScorecardsResponse>, Status> {
        Err(Status::unimplemented(
            "the echo backend keeps no scorecards",
        ))
    }

    async fn get_rankings(
        &self,
        _: Request<hotline_proto::v1::GetRankingsRequest>,
    ) -> Result<Response<hotline_proto::v1::GetRankingsResponse>, Status> {
        Err(Status::unimplemented(
            "the echo backend keeps no scorecards",
        ))
    }

    async fn list_handoffs(
        &self,
        _: Request<hotline_proto::v1::ListHandoffsRequest>,
    ) -> Result<Response<hotline_proto::v1::ListHandoffsResponse>, Status> {
        Err(Status::unimplemented("the echo backend keeps no handoffs"))
    }

    async fn get_digest(
        &self,
        _: Request<hotline_proto::v1::GetDigestRequest>,
    ) -> Result<Response<hotline_proto::v1::GetDigestResponse>, Status> {
        Err(Status::unimplemented("the echo backend keeps no digests"))
    }

    async fn list_deadlines(
        &self,
        _: Request<hotline_proto::v1::ListDeadlinesRequest>,
    ) -> Result<Response<hotline_proto::v1::ListDeadlinesResponse>, Status> {
        Err(Status::unimplemented("the echo backend keeps no deadlines"))
    }

    async fn get_unit_report(
        &self,
        request: Request<GetUnitReportRequest>,
    ) -> Result<Response<GetUnitReportResponse>, Status> {
        let metadata = request.metadata().clone();
        let unit = request.into_inner().unit;
        match unit.as_str() {
            // Deliberately slower than any caller deadline in the tests.
            SLOW_UNIT => tokio::time::sleep(Duration::from_secs(30)).await,
            REFUSED_UNIT => return Err(Status::failed_precondition(REFUSAL)),
            GATED_UNIT => {
                self.gate.received.notify_one();
                self.gate.release.notified().await;
            }
            _ => {}
        }
        let mut by_state: Vec<StateCount> = ECHOED
            .iter()
            .filter_map(|key| {
                let value = metadata.get(*key)?.to_str().ok()?;
                Some(StateCount {
                    state: format!("{key}={value}"),
                    count: 1,
                })
            })
            .collect();
        by_state.push(StateCount {
            state: "grpc-timeout".to_owned(),
            count: u64::from(metadata.get("grpc-timeout").is_some()),
        });
        Ok(Response::new(GetUnitReportResponse {
            report: Some(UnitReport {
                unit,
                tier: Tier::Township.into(),
                by_state,
                ..UnitReport::default()
            }),
        }))
    }
}

/// A report request addressed through metadata.
pub fn report_request(
    unit: &str,
    target: Option<&str>,
    from: Option<&str>,
) -> Request<GetUnitReportRequest> {
    let mut request = Request::new(GetUnitReportRequest {
        unit: unit.to_owned(),
    });
    if let Some(target) = target {
        request
            .metadata_mut()
            .insert("x-hotline-target", target.parse().unwrap());
    }
    if let Some(from) = from {
        request
            .metadata_mut()
            .insert("x-hotline-unit", from.parse().unwrap());
    }
    request
}

/// An address nothing listens on.
pub async fn dead_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

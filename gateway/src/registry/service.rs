//! `hotline.v1.GatewayService`: announcements in, routes and stats out.

use std::sync::Arc;

use hotline_proto::v1::{
    AnnounceRequest, AnnounceResponse, GetHandoffStatsRequest, GetHandoffStatsResponse,
    ListRoutesRequest, ListRoutesResponse, gateway_service_server::GatewayService,
};
use tonic::{Request, Response, Status};

use crate::{registry::Registry, stats::Stats};

pub(crate) struct GatewayApi {
    registry: Arc<Registry>,
    stats: Arc<Stats>,
}

impl GatewayApi {
    pub(crate) fn new(registry: Arc<Registry>, stats: Arc<Stats>) -> Self {
        Self { registry, stats }
    }
}

#[tonic::async_trait]
impl GatewayService for GatewayApi {
    async fn announce(
        &self,
        request: Request<AnnounceRequest>,
    ) -> Result<Response<AnnounceResponse>, Status> {
        // request_id needs no bookkeeping: an announcement replaces the last
        // one, so replaying it changes nothing.
        let AnnounceRequest {
            service,
            address,
            pid,
            ..
        } = request.into_inner();
        let units = self.registry.announce(&service, &address, pid)?;
        tracing::info!(%service, %address, pid, units = units.len(), "service announced");
        Ok(Response::new(AnnounceResponse { units }))
    }

    async fn list_routes(
        &self,
        _request: Request<ListRoutesRequest>,
    ) -> Result<Response<ListRoutesResponse>, Status> {
        Ok(Response::new(ListRoutesResponse {
            routes: self.registry.routes(),
        }))
    }

    async fn get_handoff_stats(
        &self,
        _request: Request<GetHandoffStatsRequest>,
    ) -> Result<Response<GetHandoffStatsResponse>, Status> {
        Ok(Response::new(self.stats.snapshot()))
    }
}

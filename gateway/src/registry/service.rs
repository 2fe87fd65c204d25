//! `hotline.v1.GatewayService`: announcements in, routes and stats out.

use std::sync::Arc;

use hotline_proto::v1::{
    AnnounceRequest, AnnounceResponse, GetHandoffStatsRequest, GetHandoffStatsResponse,
    ListRoutesRequest, ListRoutesResponse, gateway_service_server::GatewayService,
};
use tonic::{Request, Response, Status};

use hotline_core::authz::Principal;

use crate::{error::GatewayError, identity::Admission, registry::Registry, stats::Stats};

pub(crate) struct GatewayApi {
    registry: Arc<Registry>,
    stats: Arc<Stats>,
    admission: Admission,
}

impl GatewayApi {
    pub(crate) fn new(registry: Arc<Registry>, stats: Arc<Stats>, admission: Admission) -> Self {
        Self {
            registry,
            stats,
            admission,
        }
    }

    fn principal<T>(&self, request: &Request<T>) -> Result<Option<Principal>, GatewayError> {
        self.admission
            .caller(request.extensions(), request.metadata().as_ref())
    }

    /// Routes and stats are for the mesh's own processes and operators.
    fn mesh_or_operator<T>(&self, request: &Request<T>, what: &str) -> Result<(), Status> {
        match self.principal(request)? {
            None | Some(Principal::Service(_) | Principal::Operator(_)) => Ok(()),
            Some(p) => Err(GatewayError::Denied(format!(
                "{p} may not read the gateway's {what}: only mesh services and operators may"
            ))
            .into()),
        }
    }
}

#[tonic::async_trait]
impl GatewayService for GatewayApi {
    async fn announce(
        &self,
        request: Request<AnnounceRequest>,
    ) -> Result<Response<AnnounceResponse>, Status> {
        // Only the service itself may say where it is.
        let claimed = Principal::Service(request.get_ref().service.clone());
        if let Some(principal) = self.principal(&request)?
            && principal != claimed
        {
            return Err(GatewayError::Denied(format!(
                "{principal} may not announce service {:?}: only {claimed} may",
                request.get_ref().service
            ))
            .into());
        }
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
        request: Request<ListRoutesRequest>,
    ) -> Result<Response<ListRoutesResponse>, Status> {
        self.mesh_or_operator(&request, "routes")?;
        Ok(Response::new(ListRoutesResponse {
            routes: self.registry.routes(),
        }))
    }

    async fn get_handoff_stats(
        &self,
        request: Request<GetHandoffStatsRequest>,
    ) -> Result<Response<GetHandoffStatsResponse>, Status> {
        self.mesh_or_operator(&request, "handoff stats")?;
        Ok(Response::new(self.stats.snapshot()))
    }
}

//! `hotline.v1.GatewayService`: announcements in, routes and stats out.

use std::sync::Arc;

use hotline_proto::v1::{
    AnnounceRequest, AnnounceResponse, GetHandoffStatsRequest, GetHandoffStatsResponse,
    ListRoutesRequest, ListRoutesResponse, gateway_service_server::GatewayService,
};
use tonic::{Request, Response, Status};
use tracing::Level;

use hotline_core::authz::Principal;

use crate::{
    error::GatewayError,
    identity::Admission,
    registry::{Registry, Upstream},
    stats::Stats,
};

/// What an announcement changed about its service's route. Services
/// re-announce every few seconds; only a change is news, so only a change
/// is logged at INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteChange {
    /// The first announcement, or the first for a statically configured
    /// address (which has no process yet, pid 0).
    New,
    /// Another address: the service moved.
    Moved,
    /// The same address, another process: the service restarted.
    Restarted,
    /// The same address and process: a re-announcement.
    Unchanged,
}

impl RouteChange {
    /// `before` is the service's upstream before the announcement.
    pub(crate) fn of(before: Option<&Upstream>, address: &str, pid: u32) -> Self {
        match before {
            None => Self::New,
            Some(u) if u.pid == 0 && u.address == address => Self::New,
            Some(u) if u.address != address => Self::Moved,
            Some(u) if u.pid != pid => Self::Restarted,
            Some(_) => Self::Unchanged,
        }
    }

    pub(crate) fn level(self) -> Level {
        match self {
            Self::Unchanged => Level::DEBUG,
            Self::New | Self::Moved | Self::Restarted => Level::INFO,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Moved => "moved",
            Self::Restarted => "restarted",
            Self::Unchanged => "unchanged",
        }
    }
}

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
        let before = self.registry.upstream(&service);
        let units = self.registry.announce(&service, &address, pid)?;
        let change = RouteChange::of(before.as_deref(), &address, pid);
        let n = units.len();
        if change.level() == Level::INFO {
            // The address it replaced, when it moved.
            let previous = before
                .as_ref()
                .filter(|_| change == RouteChange::Moved)
                .map(|u| tracing::field::display(&u.address));
            tracing::info!(%service, %address, previous, pid, units = n, change = %change.as_str(), "service announced");
        } else {
            tracing::debug!(%service, %address, pid, units = n, change = %change.as_str(), "service announced");
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing;

    /// Announces `address` for the township and says what changed.
    fn announce(registry: &Registry, address: &str, pid: u32) -> RouteChange {
        let before = registry.upstream("township");
        registry.announce("township", address, pid).unwrap();
        RouteChange::of(before.as_deref(), address, pid)
    }

    // A channel is made on the runtime, even a lazy one.
    #[tokio::test]
    async fn only_a_changed_route_is_logged_at_info() {
        // The township's address is configured (pid 0) at port 9.
        let registry = testing::registry();
        let changes = [
            announce(&registry, "http://127.0.0.1:9", 7),
            announce(&registry, "http://127.0.0.1:9", 7),
            announce(&registry, "http://127.0.0.1:9", 7),
            announce(&registry, "http://127.0.0.1:9002", 7),
            announce(&registry, "http://127.0.0.1:9002", 8),
            announce(&registry, "http://127.0.0.1:9002", 8),
        ];
        use RouteChange::*;
        let city = registry.upstream("city");
        assert_eq!(
            RouteChange::of(city.as_deref(), "http://127.0.0.1:9003", 3),
            New
        );
        assert_eq!(
            changes,
            [New, Unchanged, Unchanged, Moved, Restarted, Unchanged]
        );
        let levels = changes.map(RouteChange::level);
        assert_eq!(
            levels,
            [
                Level::INFO,
                Level::DEBUG,
                Level::DEBUG,
                Level::INFO,
                Level::INFO,
                Level::DEBUG
            ]
        );
    }
}

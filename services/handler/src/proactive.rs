//! Proactive governance at a district: the district reads and acts within
//! its own subtree. Figures and tasks live in the city's record of orders,
//! so each call is checked here and then asked of the city through the
//! gateway, with the district as the caller; the city checks the subtree
//! again.

use hotline_proto::v1::proactive_service_client::ProactiveServiceClient;
use hotline_proto::v1::proactive_service_server::ProactiveService;
use hotline_proto::v1::*;
use hotline_runtime::client::GatewayChannel;
use hotline_runtime::error::{Result, ServiceError};
use hotline_runtime::meta::{self, Caller};
use hotline_runtime::{Ctx, guard};
use tonic::{Request, Response, Status};

pub struct DistrictProactive {
    ctx: Ctx,
}

impl DistrictProactive {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    /// The district itself, or a unit above it, is calling; a unit named
    /// in the request (`field`) is within the district.
    fn admit<T>(&self, req: &Request<T>, field: &str, unit: &str) -> Result<Caller> {
        let caller = meta::Caller::hosted(&self.ctx, req)?;
        guard::may_read(&self.ctx, &caller)?;
        let id = unit.strip_prefix("units/").unwrap_or(unit);
        if !id.is_empty() {
            if self.ctx.topology.unit(id).is_none() {
                return Err(ServiceError::invalid(field, format!("unknown unit {id}")));
            }
            guard::may_read_unit(&self.ctx, &caller.target, id)?;
        }
        Ok(caller)
    }

    fn city(&self) -> (ProactiveServiceClient<GatewayChannel>, String) {
        (
            ProactiveServiceClient::new(self.ctx.gateway.channel()),
            self.ctx.topology.city().id.clone(),
        )
    }
}

#[tonic::async_trait]
impl ProactiveService for DistrictProactive {
    async fn analyze_problems(
        &self,
        req: Request<AnalyzeProblemsRequest>,
    ) -> Result<Response<AnalyzeProblemsResponse>, Status> {
        let area = req.get_ref().area.clone();
        let caller = self.admit(&req, "area", &area)?;
        let mut r = req.into_inner();
        if r.area.is_empty() {
            r.area = format!("units/{}", caller.target);
        }
        let (mut c, city) = self.city();
        c.analyze_problems(meta::routed(r, &city, &caller.target))
            .await
    }

    async fn create_proactive_task(
        &self,
        req: Request<CreateProactiveTaskRequest>,
    ) -> Result<Response<CreateProactiveTaskResponse>, Status> {
        let area = req.get_ref().area_unit.clone();
        let caller = self.admit(&req, "area_unit", &area)?;
        // The district issues: a retry from the caller reaches the same
        // idempotency key at the city.
        let (mut c, city) = self.city();
        c.create_proactive_task(meta::routed(req.into_inner(), &city, &caller.target))
            .await
    }

    async fn get_proactive_task(
        &self,
        req: Request<GetProactiveTaskRequest>,
    ) -> Result<Response<GetProactiveTaskResponse>, Status> {
        let caller = self.admit(&req, "", "")?;
        let (mut c, city) = self.city();
        c.get_proactive_task(meta::routed(req.into_inner(), &city, &caller.target))
            .await
    }

    async fn list_proactive_tasks(
        &self,
        req: Request<ListProactiveTasksRequest>,
    ) -> Result<Response<ListProactiveTasksResponse>, Status> {
        let caller = self.admit(&req, "", "")?;
        let (mut c, city) = self.city();
        c.list_proactive_tasks(meta::routed(req.into_inner(), &city, &caller.target))
            .await
    }

    async fn sweep_similar(
        &self,
        req: Request<SweepSimilarRequest>,
    ) -> Result<Response<SweepSimilarResponse>, Status> {
        // The district sweeps and issues: a retry from the caller reaches
        // the same idempotency key at the city.
        let caller = self.admit(&req, "", "")?;
        let (mut c, city) = self.city();
        c.sweep_similar(meta::routed(req.into_inner(), &city, &caller.target))
            .await
    }
}

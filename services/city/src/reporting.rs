//! The centre's own report: orders by state.

use crate::tables::orders;
use hotline_core::Tier;
use hotline_proto::v1::reporting_service_server::ReportingService;
use hotline_proto::v1::*;
use hotline_runtime::error::ServiceError;
use hotline_runtime::wire::WireEnum;
use hotline_runtime::{Ctx, guard, meta};
use tonic::{Request, Response, Status};

use crate::scorecards;

pub struct CityReporting {
    ctx: Ctx,
}

impl CityReporting {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

#[tonic::async_trait]
impl ReportingService for CityReporting {
    async fn get_scorecard(
        &self,
        req: Request<GetScorecardRequest>,
    ) -> Result<Response<GetScorecardResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        let scorecard = scorecards::get_scorecard(&self.ctx, &caller, req.get_ref()).await?;
        Ok(Response::new(GetScorecardResponse {
            scorecard: Some(scorecard),
        }))
    }

    async fn list_unit_orders(
        &self,
        req: Request<ListUnitOrdersRequest>,
    ) -> Result<Response<ListUnitOrdersResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        Ok(Response::new(
            scorecards::list_unit_orders(&self.ctx, &caller, req.get_ref()).await?,
        ))
    }

    async fn roll_up_scorecards(
        &self,
        req: Request<RollUpScorecardsRequest>,
    ) -> Result<Response<RollUpScorecardsResponse>, Status> {
        Ok(Response::new(
            hotline_handler::scorecards::roll_up(&self.ctx, req).await?,
        ))
    }

    async fn get_rankings(
        &self,
        req: Request<GetRankingsRequest>,
    ) -> Result<Response<GetRankingsResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        Ok(Response::new(
            scorecards::get_rankings(&self.ctx, &caller, req.get_ref()).await?,
        ))
    }

    async fn list_handoffs(
        &self,
        req: Request<ListHandoffsRequest>,
    ) -> Result<Response<ListHandoffsResponse>, Status> {
        Ok(Response::new(
            hotline_handler::list_handoffs(&self.ctx, req).await?,
        ))
    }

    async fn list_deadlines(
        &self,
        req: Request<ListDeadlinesRequest>,
    ) -> Result<Response<ListDeadlinesResponse>, Status> {
        Ok(Response::new(
            hotline_handler::list_deadlines(&self.ctx, req).await?,
        ))
    }

    async fn get_digest(
        &self,
        req: Request<GetDigestRequest>,
    ) -> Result<Response<GetDigestResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        Ok(Response::new(
            crate::digest::get_digest(&self.ctx, &caller, req.get_ref()).await?,
        ))
    }

    async fn get_unit_report(
        &self,
        req: Request<GetUnitReportRequest>,
    ) -> Result<Response<GetUnitReportResponse>, Status> {
        let caller = meta::Caller::checked(&self.ctx, &req, guard::Rule::Centre)?;
        let unit = hotline_handler::unit_name(&req.get_ref().unit)?;
        if unit != caller.target {
            return Err(ServiceError::invalid(
                "unit",
                format!("is {unit}, but the call targets {}", caller.target),
            )
            .into());
        }
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let by_state = orders::count_by_state(&mut c)
            .await
            .map_err(ServiceError::from)?;
        let total = by_state.iter().map(|(_, n)| *n).sum::<i64>() as u64;
        let (overdue, resolved) = orders::overdue_and_resolved(&mut c, self.ctx.now())
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(GetUnitReportResponse {
            report: Some(UnitReport {
                unit: format!("units/{unit}"),
                tier: Tier::City.to_wire(),
                by_state: by_state
                    .into_iter()
                    .map(|(state, n)| StateCount {
                        state,
                        count: n as u64,
                    })
                    .collect(),
                total,
                overdue: overdue as u64,
                resolved: resolved as u64,
            }),
        }))
    }
}

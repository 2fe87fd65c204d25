//! A unit's workload report, read by the unit itself or anyone above it.

use hotline_proto::v1::reporting_service_client::ReportingServiceClient;
use hotline_proto::v1::reporting_service_server::ReportingService;
use hotline_proto::v1::*;
use hotline_runtime::error::ServiceError;
use hotline_runtime::tables::assignments;
use hotline_runtime::tables::handoffs;
use hotline_runtime::tables::timers;
use hotline_runtime::wire;
use hotline_runtime::wire::WireEnum;
use hotline_runtime::{Ctx, guard, meta};
use tonic::{Request, Response, Status};

pub struct Reporting {
    ctx: Ctx,
}

impl Reporting {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

/// `units/{id}` → id.
pub fn unit_name(name: &str) -> Result<&str, ServiceError> {
    name.strip_prefix("units/")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ServiceError::invalid("unit", "must be units/{unit_id}"))
}

/// The handoffs this service sent about an order. The centre reads them
/// all; a unit reads those it sent or received.
pub async fn list_handoffs(
    ctx: &Ctx,
    req: Request<ListHandoffsRequest>,
) -> Result<ListHandoffsResponse, ServiceError> {
    let caller = meta::Caller::hosted(ctx, &req)?;
    hotline_runtime::error::required("order_id", &req.get_ref().order_id)?;
    let city = guard::is_city(ctx, &caller).is_ok();
    let mut c = ctx.db.acquire().await?;
    let rows = handoffs::for_order(&mut c, &req.get_ref().order_id).await?;
    let handoffs = rows
        .into_iter()
        .filter(|h| city || h.from_unit == caller.unit || h.target_unit == caller.unit)
        .map(|h| Handoff {
            message_id: h.message_id,
            order_id: h.order_id,
            from_unit: h.from_unit,
            to_unit: h.target_unit,
            method: h.method,
            sent_time: Some(wire::ts(h.created_us)),
            rpc_latency: Some(prost_types::Duration {
                seconds: h.rpc_us / 1_000_000,
                nanos: ((h.rpc_us % 1_000_000) * 1000) as i32,
            }),
            attempts: h.attempts as u32,
        })
        .collect();
    Ok(ListHandoffsResponse { handoffs })
}

/// Pending deadlines held by this service: the centre's view, or a unit's
/// own (and its subtree's).
pub async fn list_deadlines(
    ctx: &Ctx,
    req: Request<ListDeadlinesRequest>,
) -> Result<ListDeadlinesResponse, ServiceError> {
    let caller = meta::Caller::hosted(ctx, &req)?;
    let r = req.get_ref();
    let unit = (!r.unit_id.is_empty()).then_some(r.unit_id.as_str());
    match unit {
        Some(u) => guard::may_read_unit(ctx, &caller.unit, u)?,
        None => guard::is_city(ctx, &caller)?,
    }
    let size = wire::Page::parse(r.page_size, "")?.size;
    let mut c = ctx.db.acquire().await?;
    let rows = timers::pending(&mut c, unit, size).await?;
    Ok(ListDeadlinesResponse {
        deadlines: rows
            .into_iter()
            .map(|t| Deadline {
                timer_id: t.timer_id,
                kind: t.kind.to_string(),
                order_id: t.order_id,
                unit_id: t.unit_id,
                due_time: Some(wire::ts(t.due_us)),
                service: ctx.service.name.clone(),
            })
            .collect(),
    })
}

/// A digest asked of a tier's process: the area (empty: the unit
/// addressed) is checked here, then the city computes it, asked as the
/// area's own unit when hosted here (a district) and checking again.
pub async fn forward_digest(
    ctx: &Ctx,
    req: Request<GetDigestRequest>,
) -> Result<GetDigestResponse, Status> {
    let caller = meta::Caller::of(&req)?;
    let mut r = req.into_inner();
    if r.area.is_empty() {
        r.area = format!("units/{}", caller.target);
    }
    let unit = r
        .area
        .strip_prefix("units/")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ServiceError::invalid("area", "must be units/{unit_id}"))?
        .to_string();
    if ctx.topology.unit(&unit).is_none() {
        return Err(ServiceError::not_found("unit", unit).into());
    }
    guard::may_read_unit(ctx, &caller.unit, &unit)?;
    let acting = if ctx.hosts(&unit) {
        unit
    } else {
        caller.target.clone()
    };
    let city = ctx.topology.city().id.clone();
    let answer = ReportingServiceClient::new(ctx.gateway.channel())
        .get_digest(meta::routed(r, &city, &acting))
        .await?;
    Ok(answer.into_inner())
}

#[tonic::async_trait]
impl ReportingService for Reporting {
    async fn get_scorecard(
        &self,
        req: Request<GetScorecardRequest>,
    ) -> Result<Response<GetScorecardResponse>, Status> {
        Ok(Response::new(
            crate::scorecards::forward_scorecard(&self.ctx, req).await?,
        ))
    }

    async fn list_unit_orders(
        &self,
        req: Request<ListUnitOrdersRequest>,
    ) -> Result<Response<ListUnitOrdersResponse>, Status> {
        Ok(Response::new(
            crate::scorecards::forward_orders(&self.ctx, req).await?,
        ))
    }

    async fn roll_up_scorecards(
        &self,
        req: Request<RollUpScorecardsRequest>,
    ) -> Result<Response<RollUpScorecardsResponse>, Status> {
        Ok(Response::new(
            crate::scorecards::roll_up(&self.ctx, req).await?,
        ))
    }

    async fn get_rankings(
        &self,
        req: Request<GetRankingsRequest>,
    ) -> Result<Response<GetRankingsResponse>, Status> {
        Ok(Response::new(
            crate::scorecards::forward_rankings(&self.ctx, req).await?,
        ))
    }

    async fn list_handoffs(
        &self,
        req: Request<ListHandoffsRequest>,
    ) -> Result<Response<ListHandoffsResponse>, Status> {
        Ok(Response::new(list_handoffs(&self.ctx, req).await?))
    }

    async fn list_deadlines(
        &self,
        req: Request<ListDeadlinesRequest>,
    ) -> Result<Response<ListDeadlinesResponse>, Status> {
        Ok(Response::new(list_deadlines(&self.ctx, req).await?))
    }

    async fn get_digest(
        &self,
        req: Request<GetDigestRequest>,
    ) -> Result<Response<GetDigestResponse>, Status> {
        Ok(Response::new(forward_digest(&self.ctx, req).await?))
    }

    async fn get_unit_report(
        &self,
        req: Request<GetUnitReportRequest>,
    ) -> Result<Response<GetUnitReportResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        let unit = unit_name(&req.get_ref().unit)?.to_string();
        if unit != caller.target {
            return Err(ServiceError::invalid(
                "unit",
                format!("is {unit}, but the call targets {}", caller.target),
            )
            .into());
        }
        guard::check(&self.ctx, &caller, guard::Rule::Reader)?;
        let tier = self
            .ctx
            .topology
            .unit(&unit)
            .map(|u| u.tier.to_wire())
            .unwrap_or(0);
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let f = assignments::unit_figures(&mut c, &unit, self.ctx.now())
            .await
            .map_err(ServiceError::from)?;
        Ok(Response::new(GetUnitReportResponse {
            report: Some(UnitReport {
                unit: format!("units/{unit}"),
                tier,
                by_state: f
                    .by_state
                    .into_iter()
                    .map(|(state, n)| StateCount {
                        state,
                        count: n as u64,
                    })
                    .collect(),
                total: f.total as u64,
                overdue: f.overdue as u64,
                resolved: f.resolved as u64,
            }),
        }))
    }
}

//! A unit's workload report, read by the unit itself or anyone above it.

use hotline_proto::v1::reporting_service_server::ReportingService;
use hotline_proto::v1::*;
use hotline_runtime::error::ServiceError;
use hotline_runtime::wire::WireEnum;
use hotline_runtime::{Ctx, guard, meta};
use hotline_store::assignments;
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

#[tonic::async_trait]
impl ReportingService for Reporting {
    async fn get_unit_report(
        &self,
        req: Request<GetUnitReportRequest>,
    ) -> Result<Response<GetUnitReportResponse>, Status> {
        let caller = meta::caller(&req)?;
        let unit = unit_name(&req.get_ref().unit)?.to_string();
        if unit != caller.target {
            return Err(ServiceError::invalid(
                "unit",
                format!("is {unit}, but the call targets {}", caller.target),
            )
            .into());
        }
        guard::may_read(&self.ctx, &caller)?;
        guard::hosted(&self.ctx, &unit)?;
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

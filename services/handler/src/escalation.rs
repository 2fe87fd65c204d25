//! Coordination upward (Art. 20): a handler asks its parent tier to
//! coordinate. The parent records the request and lists what it received.

use hotline_proto::v1::escalation_service_server::EscalationService;
use hotline_proto::v1::*;
use hotline_runtime::error::{ServiceError, required};
use hotline_runtime::{Ctx, guard, idem, meta, wire};
use hotline_store::misc;
use tonic::{Request, Response, Status};

pub struct Coordination {
    ctx: Ctx,
}

impl Coordination {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

fn to_wire(c: &misc::Coordination) -> hotline_proto::v1::Coordination {
    hotline_proto::v1::Coordination {
        coordination_id: c.coordination_id.clone(),
        order_id: c.order_id.clone(),
        from_unit: c.from_unit.clone(),
        to_unit: c.to_unit.clone(),
        reason: c.reason.clone(),
        time: Some(wire::ts(c.time_us)),
    }
}

#[tonic::async_trait]
impl EscalationService for Coordination {
    async fn request_coordination(
        &self,
        req: Request<RequestCoordinationRequest>,
    ) -> Result<Response<RequestCoordinationResponse>, Status> {
        let caller = meta::caller(&req)?;
        guard::hosted(&self.ctx, &caller.target)?;
        let parent = self
            .ctx
            .topology
            .parent_of(&caller.unit)
            .map(|p| p.id.clone());
        if parent.as_deref() != Some(caller.target.as_str()) {
            return Err(ServiceError::PermissionDenied(format!(
                "unit {} may ask only its parent ({}) to coordinate, not {}",
                caller.unit,
                parent.unwrap_or_else(|| "none".into()),
                caller.target
            ))
            .into());
        }
        let r = req.into_inner();
        required("order_id", &r.order_id)?;
        required("reason", &r.reason)?;
        let scope = idem::scope("RequestCoordination", &caller.unit);
        let now = self.ctx.now();
        let mut tx = self.ctx.db.begin().await.map_err(ServiceError::from)?;
        if let Some(done) = idem::replay(&mut tx, &scope, &r.request_id).await? {
            return Ok(Response::new(done));
        }
        let n = misc::next(&mut tx, "coordination")
            .await
            .map_err(ServiceError::from)?;
        let c = misc::Coordination {
            coordination_id: format!("CO{n:08}"),
            order_id: r.order_id,
            from_unit: caller.unit.clone(),
            to_unit: caller.target.clone(),
            reason: r.reason,
            time_us: now,
        };
        misc::insert_coordination(&mut tx, &c)
            .await
            .map_err(ServiceError::from)?;
        let answer = RequestCoordinationResponse {
            coordination: Some(to_wire(&c)),
        };
        idem::record(&mut tx, &scope, &r.request_id, &answer, now).await?;
        tx.commit().await.map_err(ServiceError::from)?;
        tracing::info!(from = %c.from_unit, to = %c.to_unit, order_id = %c.order_id, "coordination requested");
        Ok(Response::new(answer))
    }

    async fn record_objection(
        &self,
        _req: Request<RecordObjectionRequest>,
    ) -> Result<Response<RecordObjectionResponse>, Status> {
        Err(ServiceError::Unimplemented("RecordObjection (the city records objections)").into())
    }

    async fn rule_objection(
        &self,
        _req: Request<RuleObjectionRequest>,
    ) -> Result<Response<RuleObjectionResponse>, Status> {
        Err(ServiceError::Unimplemented(
            "RuleObjection (rulings are recorded at the city, whoever rules)",
        )
        .into())
    }

    async fn list_objections(
        &self,
        req: Request<ListObjectionsRequest>,
    ) -> Result<Response<ListObjectionsResponse>, Status> {
        let caller = meta::caller(&req)?;
        Ok(Response::new(
            crate::objection::list(&self.ctx, &caller, req.into_inner()).await?,
        ))
    }

    async fn notify_objection(
        &self,
        req: Request<NotifyObjectionRequest>,
    ) -> Result<Response<NotifyObjectionResponse>, Status> {
        let caller = meta::caller(&req)?;
        Ok(Response::new(
            crate::objection::notify(&self.ctx, &caller, req.into_inner()).await?,
        ))
    }

    async fn list_coordinations(
        &self,
        req: Request<ListCoordinationsRequest>,
    ) -> Result<Response<ListCoordinationsResponse>, Status> {
        let caller = meta::caller(&req)?;
        guard::may_read(&self.ctx, &caller)?;
        guard::hosted(&self.ctx, &caller.target)?;
        let r = req.into_inner();
        let page = wire::Page::parse(r.page_size, &r.page_token)?;
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let rows = misc::list_coordinations(&mut c, &caller.target, &page.after, page.limit())
            .await
            .map_err(ServiceError::from)?;
        let (rows, next) = page.finish(rows, |r| r.coordination_id.as_str());
        Ok(Response::new(ListCoordinationsResponse {
            coordinations: rows.iter().map(to_wire).collect(),
            next_page_token: next,
        }))
    }
}

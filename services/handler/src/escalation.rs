//! The escalation family at a handling tier: coordination upward (Art. 20),
//! and the whistle with its check-ins (Art. 16; see `whistle`). Decisions the
//! centre takes (extensions, the record of escalations) are the city's.

use hotline_proto::v1::escalation_service_server::EscalationService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::misc;
use hotline_runtime::{Ctx, guard, idem, meta, wire};
use tonic::{Request, Response, Status};

use crate::whistle;
use hotline_core::Tier;

pub use crate::tell::tell_city;

/// A handling tier's EscalationService.
pub struct Escalation {
    ctx: Ctx,
    tier: Tier,
}

impl Escalation {
    pub fn new(ctx: Ctx, tier: Tier) -> Self {
        Self { ctx, tier }
    }
}

fn to_wire(c: &misc::Coordination) -> Coordination {
    Coordination {
        coordination_id: c.coordination_id.clone(),
        order_id: c.order_id.clone(),
        from_unit: c.from_unit.clone(),
        to_unit: c.to_unit.clone(),
        reason: c.reason.clone(),
        time: Some(wire::ts(c.time_us)),
        answer: c.answer.clone(),
        answered_time: wire::opt_ts(c.answered_us),
    }
}

/// Whom a handler may ask to coordinate: its district (or any unit above
/// it), the city, or an industry authority (a line department).
fn may_coordinate(ctx: &Ctx, from: &str, to: &str) -> bool {
    let Some(target) = ctx.topology.unit(to) else {
        return false;
    };
    from != to
        && (ctx.topology.is_within(from, to) || target.tier == hotline_core::Tier::Department)
}

pub async fn request_coordination(
    ctx: &Ctx,
    req: Request<RequestCoordinationRequest>,
) -> Result<RequestCoordinationResponse> {
    let caller = meta::Caller::hosted(ctx, &req)?;
    if !may_coordinate(ctx, &caller.unit, &caller.target) {
        return Err(ServiceError::PermissionDenied(format!(
            "unit {} may ask its district, the city or an industry authority to coordinate, not {}",
            caller.unit, caller.target
        )));
    }
    let r = req.into_inner();
    required("order_id", &r.order_id)?;
    required("reason", &r.reason)?;
    let scope = idem::scope("RequestCoordination", &caller.unit);
    let mut requested = None;
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let n = misc::next(tx, "coordination").await?;
            let c = misc::Coordination {
                coordination_id: format!("CO-{}-{n:06}", caller.target),
                order_id: r.order_id.clone(),
                from_unit: caller.unit.clone(),
                to_unit: caller.target.clone(),
                reason: r.reason.clone(),
                time_us: now,
                answer: String::new(),
                answered_us: None,
            };
            misc::insert_coordination(tx, &c).await?;
            let event = RecordEscalationEventRequest {
                request_id: format!("coordination:{}", c.coordination_id),
                order_id: c.order_id.clone(),
                kind: EscalationEventKind::CoordinationRequested as i32,
                from_unit: c.from_unit.clone(),
                to_unit: c.to_unit.clone(),
                time: Some(wire::ts(now)),
                detail: c.coordination_id.clone(),
                ..Default::default()
            };
            tell_city(ctx, tx, &caller.target, event, now).await?;
            let answer = RequestCoordinationResponse {
                coordination: Some(to_wire(&c)),
            };
            requested = Some(c);
            Ok(answer)
        })
        .await?;
    if let Some(c) = requested {
        tracing::info!(from = %c.from_unit, to = %c.to_unit, order_id = %c.order_id, "coordination requested");
    }
    Ok(answer)
}

pub async fn list_coordinations(
    ctx: &Ctx,
    req: Request<ListCoordinationsRequest>,
) -> Result<ListCoordinationsResponse> {
    let caller = meta::Caller::checked(ctx, &req, guard::Rule::Reader)?;
    let r = req.into_inner();
    let page = wire::Page::parse(r.page_size, &r.page_token)?;
    let mut c = ctx.db.acquire().await?;
    let rows = misc::list_coordinations(&mut c, &caller.target, &page.after, page.limit()).await?;
    let (rows, next) = page.finish(rows, |r| r.coordination_id.as_str());
    Ok(ListCoordinationsResponse {
        coordinations: rows.iter().map(to_wire).collect(),
        next_page_token: next,
    })
}

pub async fn answer_coordination(
    ctx: &Ctx,
    req: Request<AnswerCoordinationRequest>,
) -> Result<AnswerCoordinationResponse> {
    let caller = meta::Caller::checked(ctx, &req, guard::Rule::Itself)?;
    let r = req.into_inner();
    required("coordination_id", &r.coordination_id)?;
    required("answer", &r.answer)?;
    let scope = idem::scope("AnswerCoordination", &caller.unit);
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let c =
                misc::answer_coordination(tx, &r.coordination_id, &caller.target, &r.answer, now)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("coordination", &r.coordination_id))?;
            let event = RecordEscalationEventRequest {
                request_id: format!("coordination-answer:{}", c.coordination_id),
                order_id: c.order_id.clone(),
                kind: EscalationEventKind::CoordinationAnswered as i32,
                from_unit: c.to_unit.clone(),
                to_unit: c.from_unit.clone(),
                time: Some(wire::ts(now)),
                detail: format!(
                    "{} after {} s",
                    c.coordination_id,
                    (now - c.time_us) / 1_000_000
                ),
                ..Default::default()
            };
            tell_city(ctx, tx, &caller.target, event, now).await?;
            let answer = AnswerCoordinationResponse {
                coordination: Some(to_wire(&c)),
            };
            Ok(answer)
        })
        .await?;
    Ok(answer)
}

#[tonic::async_trait]
impl EscalationService for Escalation {
    async fn request_coordination(
        &self,
        req: Request<RequestCoordinationRequest>,
    ) -> Result<Response<RequestCoordinationResponse>, Status> {
        Ok(Response::new(request_coordination(&self.ctx, req).await?))
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
            "RuleObjection (rulings are recorded at the city, whoever tier)",
        )
        .into())
    }

    async fn list_objections(
        &self,
        req: Request<ListObjectionsRequest>,
    ) -> Result<Response<ListObjectionsResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        Ok(Response::new(
            crate::objection::list(&self.ctx, &caller, req.into_inner()).await?,
        ))
    }

    async fn notify_objection(
        &self,
        req: Request<NotifyObjectionRequest>,
    ) -> Result<Response<NotifyObjectionResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        Ok(Response::new(
            crate::objection::notify(&self.ctx, &caller, req.into_inner()).await?,
        ))
    }

    async fn list_coordinations(
        &self,
        req: Request<ListCoordinationsRequest>,
    ) -> Result<Response<ListCoordinationsResponse>, Status> {
        Ok(Response::new(list_coordinations(&self.ctx, req).await?))
    }

    async fn answer_coordination(
        &self,
        req: Request<AnswerCoordinationRequest>,
    ) -> Result<Response<AnswerCoordinationResponse>, Status> {
        Ok(Response::new(answer_coordination(&self.ctx, req).await?))
    }

    async fn whistle(
        &self,
        req: Request<WhistleRequest>,
    ) -> Result<Response<WhistleResponse>, Status> {
        Ok(Response::new(
            whistle::whistle(&self.ctx, self.tier, req).await?,
        ))
    }

    async fn register_whistle(
        &self,
        req: Request<RegisterWhistleRequest>,
    ) -> Result<Response<RegisterWhistleResponse>, Status> {
        Ok(Response::new(
            whistle::register(&self.ctx, self.tier, req).await?,
        ))
    }

    async fn check_in(
        &self,
        req: Request<CheckInRequest>,
    ) -> Result<Response<CheckInResponse>, Status> {
        Ok(Response::new(
            whistle::check_in(&self.ctx, self.tier, req).await?,
        ))
    }

    async fn get_whistle(
        &self,
        req: Request<GetWhistleRequest>,
    ) -> Result<Response<GetWhistleResponse>, Status> {
        Ok(Response::new(
            whistle::get(&self.ctx, self.tier, req).await?,
        ))
    }

    async fn decide_extension(
        &self,
        _: Request<DecideExtensionRequest>,
    ) -> Result<Response<DecideExtensionResponse>, Status> {
        Err(
            ServiceError::Unimplemented("DecideExtension (the city records extension decisions)")
                .into(),
        )
    }

    async fn record_escalation_event(
        &self,
        _: Request<RecordEscalationEventRequest>,
    ) -> Result<Response<RecordEscalationEventResponse>, Status> {
        Err(ServiceError::Unimplemented("RecordEscalationEvent (the city keeps the record)").into())
    }
}

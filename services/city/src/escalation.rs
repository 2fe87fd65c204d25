//! The centre's side of escalation: coordination it is asked for, the
//! record of whistles, check-ins and coordinations, co-handlers made by a
//! check-in, and extension decisions by a handler's parent.

use crate::tables::orders;
use hotline_core::{Role, Tier};
use hotline_proto::v1::escalation_service_server::EscalationService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, idem, meta, wire};
use tonic::{Request, Response, Status};

use crate::arbitration::Arbitration;
use crate::extension;
use crate::record::{self, locked, note};

pub struct CityEscalation {
    ctx: Ctx,
}

impl CityEscalation {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }
}

/// Who a whistle makes answerable for the order (Art. 33): the township
/// that whistled and each summoned department, with its check-in.
async fn parties(
    conn: &mut hotline_store::Conn,
    kind: EscalationEventKind,
    r: &RecordEscalationEventRequest,
    time: hotline_core::Micros,
) -> Result<()> {
    use crate::tables::assessment::{self, WhistleParty};
    if r.whistle_id.is_empty() {
        return Ok(());
    }
    match kind {
        EscalationEventKind::WhistleRegistered => {
            let due = r.check_in_due_time.as_ref().map(wire::micros);
            let township = std::iter::once((&r.to_unit, "whistled", None));
            let summoned = r.summoned.iter().map(|d| (d, "summoned", due));
            for (unit, basis, due_us) in township.chain(summoned) {
                let party = WhistleParty {
                    whistle_id: r.whistle_id.clone(),
                    unit_id: unit.clone(),
                    order_id: r.order_id.clone(),
                    basis: basis.into(),
                    time_us: time,
                    due_us,
                };
                assessment::insert_party(conn, &party).await?;
            }
        }
        EscalationEventKind::CheckedIn => {
            assessment::checked_in(conn, &r.whistle_id, &r.from_unit, time).await?;
        }
        _ => {}
    }
    Ok(())
}

impl CityEscalation {
    async fn record(
        &self,
        caller: &meta::Caller,
        r: RecordEscalationEventRequest,
    ) -> Result<RecordEscalationEventResponse> {
        required("order_id", &r.order_id)?;
        let kind = EscalationEventKind::try_from(r.kind)
            .ok()
            .filter(|k| *k != EscalationEventKind::Unspecified)
            .ok_or_else(|| ServiceError::invalid("kind", "required"))?;
        let time = r
            .time
            .as_ref()
            .map(wire::micros)
            .ok_or_else(|| ServiceError::invalid("time", "required"))?;
        let sender_tier = self.ctx.topology.unit(&caller.unit).map(|u| u.tier);
        let allowed = match kind {
            EscalationEventKind::WhistleRegistered
            | EscalationEventKind::CheckedIn
            | EscalationEventKind::CheckInMissed => sender_tier == Some(Tier::District),
            EscalationEventKind::CoordinationRequested => caller.unit == r.to_unit,
            EscalationEventKind::CoordinationAnswered => caller.unit == r.from_unit,
            EscalationEventKind::Unspecified => false,
        };
        if !allowed {
            return Err(ServiceError::PermissionDenied(format!(
                "unit {} may not record {}",
                caller.unit,
                kind.as_str_name()
            )));
        }
        let scope = idem::scope("RecordEscalationEvent", &caller.unit);
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let mut order = locked(tx, &r.order_id).await?;
                let action = kind
                    .as_str_name()
                    .trim_start_matches("ESCALATION_EVENT_KIND_")
                    .to_lowercase();
                let detail = format!("{} → {}: {}", r.from_unit, r.to_unit, r.detail);
                let _sent = time;
                note(tx, &mut order, now, &r.from_unit, &action, detail).await?;
                parties(tx, kind, &r, time).await?;
                if kind == EscalationEventKind::CheckedIn && !order.state.is_final() {
                    // The department that checked in co-handles under the lead's clock.
                    if assignments::get(tx, &r.order_id, &r.from_unit)
                        .await?
                        .is_none()
                    {
                        let leads: Vec<_> = assignments::for_order(tx, &r.order_id)
                            .await?
                            .into_iter()
                            .filter(|a| a.role.is_lead() && a.lead_unit.is_empty())
                            .collect();
                        let lead_due = leads.iter().map(|a| a.due_us).max().unwrap_or(order.due_us);
                        let mut a = record::fresh(
                            &self.ctx.topology.policy,
                            &order,
                            &r.from_unit,
                            Role::CoHandler,
                            1,
                            now,
                            lead_due,
                        );
                        // It reports its part to the township that whistled (Art. 14).
                        let topology = &self.ctx.topology;
                        a.lead_unit = leads
                            .iter()
                            .find(|l| {
                                topology.unit(&l.unit_id).map(|u| u.tier) == Some(Tier::Township)
                            })
                            .map(|l| l.unit_id.clone())
                            .unwrap_or_default();
                        record::issue(&self.ctx, tx, &order, &a, now).await?;
                        note(
                            tx,
                            &mut order,
                            now,
                            "city",
                            "co_handler_added",
                            format!("{} co-handles", r.from_unit),
                        )
                        .await?;
                    }
                }
                orders::update(tx, &order).await?;
                let answer = RecordEscalationEventResponse {};
                Ok(answer)
            })
            .await?;
        Ok(answer)
    }

    async fn decide(
        &self,
        caller: &meta::Caller,
        r: DecideExtensionRequest,
    ) -> Result<DecideExtensionResponse> {
        required("order_id", &r.order_id)?;
        required("unit_id", &r.unit_id)?;
        let approver = extension::approver(&self.ctx, &r.unit_id);
        if caller.unit != approver {
            return Err(ServiceError::PermissionDenied(format!(
                "extensions of {} are decided by {approver}, not {}",
                r.unit_id, caller.unit
            )));
        }
        let scope = idem::scope("DecideExtension", &caller.unit);
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let mut order = locked(tx, &r.order_id).await?;
                let mut a = hotline_handler::held(tx, &r.order_id, &r.unit_id).await?;
                if a.requested_due_us.is_none() || !a.state.is_open() {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "no extension is pending for {} on orders/{}",
                        r.unit_id, r.order_id
                    )));
                }
                if r.approve {
                    extension::grant(&self.ctx, tx, &mut order, &mut a, &caller.unit, now).await?;
                } else {
                    extension::refuse(&self.ctx, tx, &mut order, &mut a, &caller.unit, now).await?;
                }
                orders::update(tx, &order).await?;
                // The approver is a handler: it reads the text scrubbed.
                let answer = DecideExtensionResponse {
                    assignment: Some(crate::redact::for_handler(tx, &a).await?),
                };
                Ok(answer)
            })
            .await?;
        Ok(answer)
    }
}

#[tonic::async_trait]
impl EscalationService for CityEscalation {
    async fn record_objection(
        &self,
        req: Request<RecordObjectionRequest>,
    ) -> Result<Response<RecordObjectionResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        let a = Arbitration::new(self.ctx.clone());
        Ok(Response::new(a.record(&caller, req.into_inner()).await?))
    }

    async fn rule_objection(
        &self,
        req: Request<RuleObjectionRequest>,
    ) -> Result<Response<RuleObjectionResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        let a = Arbitration::new(self.ctx.clone());
        Ok(Response::new(a.rule(&caller, req.into_inner()).await?))
    }

    async fn list_objections(
        &self,
        req: Request<ListObjectionsRequest>,
    ) -> Result<Response<ListObjectionsResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        let a = Arbitration::new(self.ctx.clone());
        Ok(Response::new(a.list(&caller, req.into_inner()).await?))
    }

    async fn notify_objection(
        &self,
        _: Request<NotifyObjectionRequest>,
    ) -> Result<Response<NotifyObjectionResponse>, Status> {
        Err(ServiceError::Unimplemented(
            "NotifyObjection (the city refers objections; districts take them)",
        )
        .into())
    }

    async fn request_coordination(
        &self,
        req: Request<RequestCoordinationRequest>,
    ) -> Result<Response<RequestCoordinationResponse>, Status> {
        Ok(Response::new(
            hotline_handler::request_coordination(&self.ctx, req).await?,
        ))
    }

    async fn list_coordinations(
        &self,
        req: Request<ListCoordinationsRequest>,
    ) -> Result<Response<ListCoordinationsResponse>, Status> {
        Ok(Response::new(
            hotline_handler::list_coordinations(&self.ctx, req).await?,
        ))
    }

    async fn answer_coordination(
        &self,
        req: Request<AnswerCoordinationRequest>,
    ) -> Result<Response<AnswerCoordinationResponse>, Status> {
        Ok(Response::new(
            hotline_handler::answer_coordination(&self.ctx, req).await?,
        ))
    }

    async fn whistle(
        &self,
        req: Request<WhistleRequest>,
    ) -> Result<Response<WhistleResponse>, Status> {
        Ok(Response::new(
            hotline_handler::whistle(&self.ctx, Tier::City, req).await?,
        ))
    }

    async fn register_whistle(
        &self,
        req: Request<RegisterWhistleRequest>,
    ) -> Result<Response<RegisterWhistleResponse>, Status> {
        Ok(Response::new(
            hotline_handler::register_whistle(&self.ctx, Tier::City, req).await?,
        ))
    }

    async fn check_in(
        &self,
        req: Request<CheckInRequest>,
    ) -> Result<Response<CheckInResponse>, Status> {
        Ok(Response::new(
            hotline_handler::check_in(&self.ctx, Tier::City, req).await?,
        ))
    }

    async fn get_whistle(
        &self,
        req: Request<GetWhistleRequest>,
    ) -> Result<Response<GetWhistleResponse>, Status> {
        Ok(Response::new(
            hotline_handler::get_whistle(&self.ctx, Tier::City, req).await?,
        ))
    }

    async fn decide_extension(
        &self,
        req: Request<DecideExtensionRequest>,
    ) -> Result<Response<DecideExtensionResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.decide(&caller, req.into_inner()).await?))
    }

    async fn record_escalation_event(
        &self,
        req: Request<RecordEscalationEventRequest>,
    ) -> Result<Response<RecordEscalationEventResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.record(&caller, req.into_inner()).await?))
    }
}

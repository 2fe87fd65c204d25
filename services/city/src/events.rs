//! What handlers report back: the city applies each event to its record of
//! the assignment and re-summarises the order. Events for a stale epoch are
//! refused (the sender parks them as dead letters).

use crate::tables::orders::{self, Order};
use hotline_core::lifecycle::Report;
use hotline_core::{AssignmentState, Micros, ReplyOutcome};
use hotline_proto::v1::dispatch_service_server::DispatchService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, guard, idem, meta, wire};
use hotline_store::Conn;
use tonic::{Request, Response, Status};

use crate::record::{locked, note};
use crate::{clocks, extension};
use hotline_handler::notice;
use hotline_runtime::tables::assignments::Assignment as Stored;

pub struct Events {
    ctx: Ctx,
}

impl Events {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    /// First-receiver rule (Art. 14): a co-handler reports its part to the
    /// lead.
    async fn report_to_leads(
        &self,
        conn: &mut Conn,
        a: &Stored,
        given: &[Stored],
        outcome: ReplyOutcome,
        now: Micros,
    ) -> Result<()> {
        let city = self.ctx.topology.city().id.clone();
        for lead in given.iter().filter(|l| l.role.is_lead()) {
            let n = notice::notice(
                format!(
                    "report:{}:{}:{}:{}",
                    a.order_id, a.unit_id, a.epoch, lead.unit_id
                ),
                &lead.unit_id,
                &a.order_id,
                NoticeKind::CoHandlerReport,
                now,
                format!("{} reports its part: {outcome}", a.unit_id),
            );
            notice::send(conn, &city, n, now).await?;
        }
        Ok(())
    }

    async fn record(
        &self,
        caller: &meta::Caller,
        r: RecordAssignmentEventRequest,
    ) -> Result<RecordAssignmentEventResponse> {
        if r.unit_id != caller.unit {
            return Err(ServiceError::PermissionDenied(format!(
                "unit {} may not report for unit {}",
                caller.unit, r.unit_id
            )));
        }
        required("order_id", &r.order_id)?;
        let kind = AssignmentEventKind::try_from(r.kind)
            .ok()
            .filter(|k| *k != AssignmentEventKind::Unspecified)
            .ok_or_else(|| ServiceError::invalid("kind", "required"))?;
        let time = r
            .time
            .as_ref()
            .map(wire::micros)
            .ok_or_else(|| ServiceError::invalid("time", "required"))?;
        let scope = idem::scope("RecordAssignmentEvent", &caller.unit);
        let mut recorded = None;
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let mut order = locked(tx, &r.order_id).await?;
                // Every assignment of the order, read once: the one reported
                // on, the leads a co-handler reports to, and the leads the
                // order's state is summarised from.
                let mut given = assignments::for_order(tx, &r.order_id).await?;
                let mut a = hotline_handler::held_among(&given, &r.order_id, &r.unit_id)?;
                guard::current_epoch(&r.order_id, &r.unit_id, r.epoch, a.epoch)?;
                let lead = a.role.is_lead();
                // Measured once committed: dispatch → first accept.
                let mut accepted = None;
                let (action, detail) = match kind {
                    AssignmentEventKind::Accepted => {
                        if a.accepted_us.is_none() {
                            accepted = Some(time - a.dispatched_us);
                        }
                        a.accepted_us.get_or_insert(time);
                        a.state.merge(Report::Accepted);
                        if lead {
                            clocks::accepted(&self.ctx, tx, &a, time, now).await?;
                        }
                        ("accepted", format!("epoch {}", a.epoch))
                    }
                    AssignmentEventKind::Progress => {
                        a.progress_note = r.note.clone();
                        a.state.merge(Report::Progress);
                        ("progress", format!("epoch {}", a.epoch))
                    }
                    AssignmentEventKind::Replied => {
                        let outcome: ReplyOutcome = wire::required_enum("outcome", r.outcome)?;
                        a.replied_us = Some(time);
                        a.outcome = Some(outcome);
                        a.reply_text = r.note.clone();
                        a.state.merge(Report::Replied);
                        clocks::stop(tx, &a.order_id, &a.unit_id).await?;
                        if !lead {
                            self.report_to_leads(tx, &a, &given, outcome, now).await?;
                        }
                        ("replied", format!("epoch {} outcome={outcome}", a.epoch))
                    }
                    AssignmentEventKind::ExtensionRequested => {
                        let until =
                            r.requested_due_time
                                .as_ref()
                                .map(wire::micros)
                                .ok_or_else(|| {
                                    ServiceError::invalid("requested_due_time", "required")
                                })?;
                        if !lead || !a.state.is_open() || until <= a.due_us {
                            return Err(ServiceError::FailedPrecondition(format!(
                                "no extension for {} on orders/{}: only an open lead may extend, \
                                     to a later date",
                                a.unit_id, a.order_id
                            )));
                        }
                        extension::requested(&self.ctx, tx, &order, &mut a, until, &r.note, now)
                            .await?;
                        ("extension_requested", format!("until {until}"))
                    }
                    AssignmentEventKind::Unspecified => unreachable!("filtered above"),
                };
                assignments::upsert(tx, &a).await?;
                note(tx, &mut order, now, &r.unit_id, action, detail).await?;
                // An extension settled changes the lead's limit, not its state.
                extension::settle(&self.ctx, tx, &mut order, &a, now).await?;
                if let Some(held) = given.iter_mut().find(|g| g.unit_id == a.unit_id) {
                    *held = a.clone();
                }
                summarise_with(&self.ctx, tx, &mut order, &given, now).await?;
                orders::update(tx, &order).await?;
                let answer = RecordAssignmentEventResponse {
                    order_seq: order.seq as u64,
                };
                recorded = Some((order, a, lead, accepted, action));
                Ok(answer)
            })
            .await?;
        let Some((order, a, lead, accepted, action)) = recorded else {
            return Ok(answer);
        };
        if let Some(waited) = accepted {
            let m = &self.ctx.metrics;
            // A task's accept is no response to a citizen (Art. 15, 32).
            if lead && a.kind.is_citizen_request() {
                let due = hotline_core::deadline::accept_due(
                    &self.ctx.topology.policy,
                    a.urgency,
                    a.dispatched_us,
                );
                m.window(&a.unit_id, "accept", a.dispatched_us + waited <= due);
            }
            let labels = m.pair(&caller.target, &a.unit_id, a.role.as_str());
            hotline_runtime::metrics::Metrics::observe(
                &m.business.dispatch_to_accept,
                &labels,
                waited,
            );
        }
        tracing::info!(order_id = %order.order_id, unit = %r.unit_id, action, state = %order.state, "assignment event recorded");
        Ok(answer)
    }
}

/// Re-derives the order's state from its lead assignments, recording the
/// change in history; a replied order's callback falls due. A lead handed
/// down works under its township, which answers for the order: only the
/// city's own leads count.
pub async fn summarise(ctx: &Ctx, conn: &mut Conn, order: &mut Order, now: Micros) -> Result<()> {
    let given = assignments::for_order(conn, &order.order_id).await?;
    summarise_with(ctx, conn, order, &given, now).await
}

/// [`summarise`] over the order's assignments as they stand, already at
/// hand (one statement fewer on every event).
pub async fn summarise_with(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &mut Order,
    given: &[Stored],
    now: Micros,
) -> Result<()> {
    let leads: Vec<AssignmentState> = given
        .iter()
        .filter(|a| a.role.is_lead() && a.lead_unit.is_empty())
        .map(|a| a.state)
        .collect();
    if order.state.summarise(&leads) {
        let next = order.state;
        // Named apart from the handlers' own "replied" and "accepted".
        note(
            conn,
            order,
            now,
            "city",
            &format!("order_{next}"),
            String::new(),
        )
        .await?;
        if next == hotline_core::OrderState::Replied {
            if order.kind.is_citizen_request() {
                clocks::arm_callback(ctx, conn, order, now).await?;
            } else {
                // A proactive task closes on its reply: no one to call back.
                crate::proactive::close_replied(conn, order, now).await?;
            }
        }
    }
    Ok(())
}

fn not_here(what: &'static str) -> Status {
    ServiceError::Unimplemented(what).into()
}

#[tonic::async_trait]
impl DispatchService for Events {
    async fn deliver_assignment(
        &self,
        _: Request<DeliverAssignmentRequest>,
    ) -> Result<Response<DeliverAssignmentResponse>, Status> {
        Err(not_here(
            "DeliverAssignment (the city issues assignments, it does not take them)",
        ))
    }

    async fn accept_assignment(
        &self,
        _: Request<AcceptAssignmentRequest>,
    ) -> Result<Response<AcceptAssignmentResponse>, Status> {
        Err(not_here("AcceptAssignment"))
    }

    async fn contact_requester(
        &self,
        _: Request<ContactRequesterRequest>,
    ) -> Result<Response<ContactRequesterResponse>, Status> {
        Err(not_here(
            "ContactRequester (handlers use ContactRelayService)",
        ))
    }

    async fn update_progress(
        &self,
        _: Request<UpdateProgressRequest>,
    ) -> Result<Response<UpdateProgressResponse>, Status> {
        Err(not_here("UpdateProgress"))
    }

    async fn reply_assignment(
        &self,
        _: Request<ReplyAssignmentRequest>,
    ) -> Result<Response<ReplyAssignmentResponse>, Status> {
        Err(not_here("ReplyAssignment"))
    }

    async fn get_assignment(
        &self,
        _: Request<GetAssignmentRequest>,
    ) -> Result<Response<GetAssignmentResponse>, Status> {
        Err(not_here(
            "GetAssignment (read the order with IntakeService.GetOrder)",
        ))
    }

    async fn list_assignments(
        &self,
        _: Request<ListAssignmentsRequest>,
    ) -> Result<Response<ListAssignmentsResponse>, Status> {
        Err(not_here(
            "ListAssignments (list orders with IntakeService.ListOrders)",
        ))
    }

    async fn deliver_notice(
        &self,
        _: Request<DeliverNoticeRequest>,
    ) -> Result<Response<DeliverNoticeResponse>, Status> {
        Err(not_here("DeliverNotice (the centre sends notices)"))
    }

    async fn list_notices(
        &self,
        _: Request<ListNoticesRequest>,
    ) -> Result<Response<ListNoticesResponse>, Status> {
        Err(not_here("ListNotices"))
    }

    async fn request_extension(
        &self,
        _: Request<RequestExtensionRequest>,
    ) -> Result<Response<RequestExtensionResponse>, Status> {
        Err(not_here(
            "RequestExtension (handlers ask through their own service)",
        ))
    }

    async fn record_assignment_event(
        &self,
        req: Request<RecordAssignmentEventRequest>,
    ) -> Result<Response<RecordAssignmentEventResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.record(&caller, req.into_inner()).await?))
    }

    async fn object_assignment(
        &self,
        _: Request<ObjectAssignmentRequest>,
    ) -> Result<Response<ObjectAssignmentResponse>, Status> {
        Err(not_here(
            "ObjectAssignment (handlers object at their own service)",
        ))
    }

    async fn hand_down_assignment(
        &self,
        _: Request<HandDownAssignmentRequest>,
    ) -> Result<Response<HandDownAssignmentResponse>, Status> {
        Err(not_here(
            "HandDownAssignment (handlers hand down at their own service)",
        ))
    }

    async fn report_part(
        &self,
        _: Request<ReportPartRequest>,
    ) -> Result<Response<ReportPartResponse>, Status> {
        Err(not_here("ReportPart (parts go to the lead unit)"))
    }

    async fn record_hand_down(
        &self,
        req: Request<RecordHandDownRequest>,
    ) -> Result<Response<RecordHandDownResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(
            crate::handdown::record(&self.ctx, &caller, req.into_inner()).await?,
        ))
    }
}

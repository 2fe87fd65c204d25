//! The assignment inbox of a handling unit: the city delivers, the unit's
//! system accepts, contacts the requester through the city's relay, records
//! progress and replies. Every change is committed with its outbox event to
//! the city before it is acknowledged.

use hotline_core::kinds::HandoffKind;
use hotline_core::lifecycle::{self, HandlerAction};
use hotline_core::{AssignmentState, ReplyOutcome};
use hotline_proto::v1::contact_relay_service_client::ContactRelayServiceClient;
use hotline_proto::v1::dispatch_service_server::DispatchService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::meta::{self, Caller};
use hotline_runtime::tables::assignments::{self, Assignment as Stored};
use hotline_runtime::wire;
use hotline_runtime::{guard, idem};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::effects;
use crate::inbox::Inbox;

impl Inbox {
    /// One handler action: replay or apply, store, and queue the event for
    /// the city, all in one transaction.
    async fn act<Q: Message, R: Message + Default>(
        &self,
        caller: &Caller,
        step: Step<'_, Q>,
        answer: impl FnOnce(&Stored) -> R,
    ) -> Result<R> {
        let Step {
            method,
            request,
            request_id,
            order_id,
            epoch,
            action,
            note,
        } = step;
        let unit = &caller.target;
        let scope = idem::scope(method, unit);
        let mut updated = None;
        let r = self
            .ctx
            .apply_once_batched(&scope, request_id, request, async |tx, writes, now| {
                let mut a = self.current(tx, unit, order_id, epoch).await?;
                hotline_runtime::trace::record_order(order_id);
                hotline_runtime::trace::link_order_trace(&a.trace_parent);
                let effects = a.state.act(a.kind, a.role, action)?;
                effects::stamp(&mut a, &effects, note, now);
                // The stamped assignment and its messages go to the store
                // with the record of the answer: one round trip on SQLite.
                assignments::upsert_into(writes, &a)?;
                let cause = effects::Cause {
                    method,
                    request_id,
                    note,
                    proposed_unit: "",
                };
                effects::run_into(&self.ctx, writes, &a, &effects, &cause, now)?;
                let r = answer(&a);
                updated = Some(a);
                Ok(r)
            })
            .await?;
        if let Some(a) = updated {
            tracing::info!(unit = %unit, order_id = %a.order_id, epoch = a.epoch, action = action.name(), state = %a.state, "assignment updated");
        }
        Ok(r)
    }
}

/// One handler call, as `act` needs it; `request` is what its request id
/// is bound to.
struct Step<'a, Q> {
    method: &'static str,
    request: &'a Q,
    request_id: &'a str,
    order_id: &'a str,
    epoch: u64,
    action: HandlerAction,
    note: &'a str,
}

fn with(a: &Stored) -> Option<Assignment> {
    Some(wire::assignment_to_wire(a))
}

#[tonic::async_trait]
impl DispatchService for Inbox {
    async fn deliver_assignment(
        &self,
        req: Request<DeliverAssignmentRequest>,
    ) -> Result<Response<DeliverAssignmentResponse>, Status> {
        let caller = meta::Caller::checked(&self.ctx, &req, guard::Rule::Centre)?;
        let r = req.into_inner();
        let incoming = r
            .assignment
            .as_ref()
            .ok_or_else(|| ServiceError::invalid("assignment", "required"))?;
        let incoming = wire::assignment_from_wire(incoming, r.order_seq)?;
        if incoming.unit_id != caller.target {
            return Err(ServiceError::invalid(
                "assignment.unit_id",
                format!(
                    "is {}, but the call targets {}",
                    incoming.unit_id, caller.target
                ),
            )
            .into());
        }
        if !self.tier.takes(incoming.role) {
            return Err(ServiceError::FailedPrecondition(format!(
                "a {} unit does not take {} assignments",
                self.tier, incoming.role
            ))
            .into());
        }
        let scope = idem::scope("DeliverAssignment", &caller.target);
        let answer = self
            .ctx
            .apply_once_batched(&scope, &r.request_id, &r, async |tx, writes, now| {
                let existing = assignments::get(tx, &incoming.order_id, &incoming.unit_id).await?;
                // An older delivery never overwrites a newer epoch. A newer version
                // of the same epoch (an extension) moves the handler clock and
                // keeps the handler's own progress. The assignment is written
                // before the inbox event, as everywhere: on PostgreSQL the
                // event takes the inbox's lock, and another order of the two
                // deadlocks with a notice recorded after an assignment.
                let (kept, extended) = match existing {
                    Some(mut e) if e.epoch == incoming.epoch && incoming.order_seq > e.order_seq => {
                        e.due_us = incoming.due_us;
                        e.order_seq = incoming.order_seq;
                        (e, Some(true))
                    }
                    Some(e) if e.epoch >= incoming.epoch => (e, None),
                    _ => {
                        tracing::info!(unit = %incoming.unit_id, order_id = %incoming.order_id, epoch = incoming.epoch, role = %incoming.role, "assignment received");
                        (incoming, Some(false))
                    }
                };
                if let Some(extended) = extended {
                    assignments::upsert_into(writes, &kept)?;
                    let event = crate::watch::delivered(&kept, extended, &r.request_id, now);
                    crate::watch::record_into(&self.ctx, tx, writes, event).await?;
                }
                Ok(DeliverAssignmentResponse {
                    assignment: with(&kept),
                })
            })
            .await?;
        crate::watch::wake();
        Ok(Response::new(answer))
    }

    async fn accept_assignment(
        &self,
        req: Request<AcceptAssignmentRequest>,
    ) -> Result<Response<AcceptAssignmentResponse>, Status> {
        let caller = self.own_call(&req)?;
        let r = req.into_inner();
        let answer = self
            .act(
                &caller,
                Step {
                    method: "AcceptAssignment",
                    request: &r,
                    request_id: &r.request_id,
                    order_id: &r.order_id,
                    epoch: r.epoch,
                    action: HandlerAction::Accept,
                    note: "",
                },
                |a| AcceptAssignmentResponse {
                    assignment: with(a),
                },
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn contact_requester(
        &self,
        req: Request<ContactRequesterRequest>,
    ) -> Result<Response<ContactRequesterResponse>, Status> {
        let caller = self.own_call(&req)?;
        let r = req.into_inner();
        let unit = &caller.target;
        let scope = idem::scope("ContactRequester", unit);
        // Check first, without holding a transaction across the relay call:
        // a read-only peek, not a mutation, so not apply_once (the mutation
        // below is, through `act`).
        {
            let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
            if let Some(done) =
                idem::replay::<_, ContactRequesterResponse>(&mut c, &scope, &r.request_id, &r)
                    .await?
            {
                return Ok(Response::new(done));
            }
            let a = self.current(&mut c, unit, &r.order_id, r.epoch).await?;
            lifecycle::apply_to(a.kind, a.role, a.state, HandlerAction::Contact)
                .map_err(ServiceError::from)?;
        }
        // The relay records the contact at the city and keeps the number.
        let city = self.ctx.topology.city().id.clone();
        let relay_req = RelayContactRequest {
            request_id: format!("{unit}:contact:{}", r.request_id),
            order_id: r.order_id.clone(),
            epoch: r.epoch,
            purpose: r.purpose.clone(),
        };
        let mut relay = ContactRelayServiceClient::new(self.ctx.gateway.channel());
        let relayed = relay
            .relay_contact(meta::routed(relay_req, &city, unit))
            .await?
            .into_inner();
        let answer = self
            .act(
                &caller,
                Step {
                    method: "ContactRequester",
                    request: &r,
                    request_id: &r.request_id,
                    order_id: &r.order_id,
                    epoch: r.epoch,
                    action: HandlerAction::Contact,
                    note: "",
                },
                |a| ContactRequesterResponse {
                    assignment: with(a),
                    contact_id: relayed.contact_id.clone(),
                },
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn update_progress(
        &self,
        req: Request<UpdateProgressRequest>,
    ) -> Result<Response<UpdateProgressResponse>, Status> {
        let caller = self.own_call(&req)?;
        let r = req.into_inner();
        required("note", &r.note)?;
        let answer = self
            .act(
                &caller,
                Step {
                    method: "UpdateProgress",
                    request: &r,
                    request_id: &r.request_id,
                    order_id: &r.order_id,
                    epoch: r.epoch,
                    action: HandlerAction::Progress,
                    note: &r.note,
                },
                |a| UpdateProgressResponse {
                    assignment: with(a),
                },
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn reply_assignment(
        &self,
        req: Request<ReplyAssignmentRequest>,
    ) -> Result<Response<ReplyAssignmentResponse>, Status> {
        let caller = self.own_call(&req)?;
        let r = req.into_inner();
        let outcome: ReplyOutcome = wire::required_enum("outcome", r.outcome)?;
        required("text", &r.text)?;
        let answer = self
            .act(
                &caller,
                Step {
                    method: "ReplyAssignment",
                    request: &r,
                    request_id: &r.request_id,
                    order_id: &r.order_id,
                    epoch: r.epoch,
                    action: HandlerAction::Reply(outcome),
                    note: &r.text,
                },
                |a| ReplyAssignmentResponse {
                    assignment: with(a),
                },
            )
            .await?;
        Ok(Response::new(answer))
    }

    async fn get_assignment(
        &self,
        req: Request<GetAssignmentRequest>,
    ) -> Result<Response<GetAssignmentResponse>, Status> {
        let caller = meta::Caller::checked(&self.ctx, &req, guard::Rule::Reader)?;
        let r = req.into_inner();
        required("order_id", &r.order_id)?;
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let a = crate::held(&mut c, &r.order_id, &caller.target).await?;
        let parts = crate::tables::part_reports::parts(&mut c, &r.order_id, &caller.target)
            .await
            .map_err(ServiceError::from)?;
        let mut assignment = wire::assignment_to_wire(&a);
        assignment.parts = crate::handdown::parts_to_wire(&parts);
        Ok(Response::new(GetAssignmentResponse {
            assignment: Some(assignment),
        }))
    }

    async fn list_assignments(
        &self,
        req: Request<ListAssignmentsRequest>,
    ) -> Result<Response<ListAssignmentsResponse>, Status> {
        let caller = meta::Caller::checked(&self.ctx, &req, guard::Rule::Reader)?;
        let r = req.into_inner();
        let page = wire::Page::parse(r.page_size, &r.page_token)?;
        let filter = assignments::Filter {
            state: wire::optional_enum::<AssignmentState>("state", r.state)?,
            due_before_us: r.deadline_before.as_ref().map(wire::micros),
            category_code: r.category_code.clone(),
        };
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let rows =
            assignments::list_filtered(&mut c, &caller.target, &filter, &page.after, page.limit())
                .await
                .map_err(ServiceError::from)?;
        let (rows, next) = page.finish(rows, |r| r.order_id.as_str());
        Ok(Response::new(ListAssignmentsResponse {
            assignments: rows.iter().map(wire::assignment_to_wire).collect(),
            next_page_token: next,
        }))
    }

    async fn record_assignment_event(
        &self,
        _req: Request<RecordAssignmentEventRequest>,
    ) -> Result<Response<RecordAssignmentEventResponse>, Status> {
        Err(ServiceError::Unimplemented(
            "RecordAssignmentEvent (the city records assignment events)",
        )
        .into())
    }

    async fn object_assignment(
        &self,
        req: Request<ObjectAssignmentRequest>,
    ) -> Result<Response<ObjectAssignmentResponse>, Status> {
        let caller = self.own_call(&req)?;
        Ok(Response::new(self.object(&caller, req.into_inner()).await?))
    }

    async fn hand_down_assignment(
        &self,
        req: Request<HandDownAssignmentRequest>,
    ) -> Result<Response<HandDownAssignmentResponse>, Status> {
        let caller = self.own_call(&req)?;
        Ok(Response::new(
            self.hand_down(&caller, req.into_inner()).await?,
        ))
    }

    async fn report_part(
        &self,
        req: Request<ReportPartRequest>,
    ) -> Result<Response<ReportPartResponse>, Status> {
        let caller = meta::Caller::of(&req)?;
        Ok(Response::new(
            self.record_part(&caller, req.into_inner()).await?,
        ))
    }

    async fn record_hand_down(
        &self,
        _req: Request<RecordHandDownRequest>,
    ) -> Result<Response<RecordHandDownResponse>, Status> {
        Err(ServiceError::Unimplemented("RecordHandDown (the city records hand-downs)").into())
    }

    async fn deliver_notice(
        &self,
        req: Request<DeliverNoticeRequest>,
    ) -> Result<Response<DeliverNoticeResponse>, Status> {
        Ok(Response::new(crate::notice::deliver(&self.ctx, req).await?))
    }

    async fn list_notices(
        &self,
        req: Request<ListNoticesRequest>,
    ) -> Result<Response<ListNoticesResponse>, Status> {
        Ok(Response::new(crate::notice::list(&self.ctx, req).await?))
    }

    async fn request_extension(
        &self,
        req: Request<RequestExtensionRequest>,
    ) -> Result<Response<RequestExtensionResponse>, Status> {
        let caller = self.own_call(&req)?;
        let r = req.into_inner();
        required("reason", &r.reason)?;
        let new_due = r
            .new_due_time
            .as_ref()
            .map(wire::micros)
            .ok_or_else(|| ServiceError::invalid("new_due_time", "required"))?;
        let unit = &caller.target;
        let scope = idem::scope("RequestExtension", unit);
        let answer = self
            .ctx
            .apply_once_batched(&scope, &r.request_id, &r, async |tx, writes, now| {
                let a = self.current(tx, unit, &r.order_id, r.epoch).await?;
                if !a.role.is_lead() || !a.state.is_open() {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "only an open lead assignment may ask for an extension; this one is {} and {}",
                        a.role, a.state
                    )));
                }
                if new_due <= a.due_us {
                    return Err(ServiceError::invalid(
                        "new_due_time",
                        "must be later than the current deadline",
                    ));
                }
                let most = self.ctx.topology.policy.max_extension_days;
                if (new_due - a.due_us) as f64 > most * hotline_core::clock::DAY as f64 {
                    return Err(ServiceError::invalid(
                        "new_due_time",
                        format!("an extension moves the deadline by at most {most} days"),
                    ));
                }
                let event = RecordAssignmentEventRequest {
                    request_id: format!("{unit}:RequestExtension:{}", r.request_id),
                    order_id: a.order_id.clone(),
                    unit_id: unit.clone(),
                    epoch: a.epoch as u64,
                    kind: AssignmentEventKind::ExtensionRequested as i32,
                    time: Some(wire::ts(now)),
                    note: r.reason.clone(),
                    outcome: 0,
                    requested_due_time: Some(wire::ts(new_due)),
                };
                effects::report_to_city_into(
                    &self.ctx,
                    writes,
                    HandoffKind::Extension,
                    &event,
                    now,
                )?;
                Ok(RequestExtensionResponse {
                    assignment: with(&a),
                })
            })
            .await?;
        Ok(Response::new(answer))
    }
}

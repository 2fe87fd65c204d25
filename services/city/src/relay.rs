//! The contact relay: a handler reaches the requester through the city,
//! which records the contact and never hands out the number.

use crate::tables::orders;
use hotline_core::lifecycle::Report;
use hotline_proto::v1::contact_relay_service_server::ContactRelayService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, guard, idem, meta, wire};
use tonic::{Request, Response, Status};

use crate::record::{self, locked, note};

pub struct Relay {
    ctx: Ctx,
}

impl Relay {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    async fn relay(
        &self,
        caller: &meta::Caller,
        r: RelayContactRequest,
    ) -> Result<RelayContactResponse> {
        required("order_id", &r.order_id)?;
        let unit = &caller.unit;
        let scope = idem::scope("RelayContact", unit);
        // Measured once committed: the contact window closing.
        let mut contact_window = None;
        let answer = self
            .ctx
            .apply_once(&scope, &r.request_id, &r, async |tx, now| {
                let mut order = locked(tx, &r.order_id).await?;
                let mut a = assignments::get(tx, &r.order_id, unit)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::PermissionDenied(format!(
                            "unit {unit} has no assignment on orders/{}",
                            r.order_id
                        ))
                    })?;
                guard::current_epoch(&r.order_id, unit, r.epoch, a.epoch)?;
                if a.role == hotline_core::Role::Copy || order.state.is_final() {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "orders/{} ({}) cannot be contacted by unit {unit} as {}",
                        r.order_id, order.state, a.role
                    )));
                }
                let contact_id = record::next_id(tx, "contact", "CT").await?;
                orders::insert_contact(
                    tx,
                    &orders::Contact {
                        contact_id: contact_id.clone(),
                        order_id: r.order_id.clone(),
                        unit_id: unit.clone(),
                        epoch: a.epoch,
                        time_us: now,
                        purpose: r.purpose.clone(),
                    },
                )
                .await?;
                // The relay dials the requester's number: a read of identity.
                crate::audit::record(
                    tx,
                    caller,
                    &r.order_id,
                    now,
                    "relay",
                    UnmaskReason::Unspecified,
                    &format!("contact {contact_id}"),
                )
                .await?;
                let window = (a.contacted_us.is_none() && a.role.is_lead()).then(|| {
                    let accepted = a.accepted_us.unwrap_or(now);
                    let policy = &self.ctx.topology.policy;
                    now <= hotline_core::deadline::contact_due(policy, a.urgency, accepted)
                });
                a.contacted_us.get_or_insert(now);
                a.state.merge(Report::Contacted);
                assignments::upsert(tx, &a).await?;
                crate::clocks::contacted(tx, &a).await?;
                note(
                    tx,
                    &mut order,
                    now,
                    unit,
                    "contacted",
                    format!("contact {contact_id} via relay"),
                )
                .await?;
                crate::events::summarise(&self.ctx, tx, &mut order, now).await?;
                orders::update(tx, &order).await?;
                let answer = RelayContactResponse {
                    contact_id,
                    contacted_time: Some(wire::ts(now)),
                };
                contact_window = window;
                Ok(answer)
            })
            .await?;
        if let Some(met) = contact_window {
            self.ctx.metrics.window(unit, "contact", met);
        }
        Ok(answer)
    }
}

#[tonic::async_trait]
impl ContactRelayService for Relay {
    async fn relay_contact(
        &self,
        req: Request<RelayContactRequest>,
    ) -> Result<Response<RelayContactResponse>, Status> {
        let caller = meta::Caller::hosted(&self.ctx, &req)?;
        Ok(Response::new(self.relay(&caller, req.into_inner()).await?))
    }
}

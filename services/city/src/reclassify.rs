//! Reclassification: the centre classifies an order anew under the current
//! catalogue. Urgency, the business deadline and the handlers are
//! recomputed; assignments the new plan keeps are reissued with the new
//! facts, new ones are issued, the rest revoked. The centre's own
//! correction is not a redirection: it does not count toward the bounce
//! limit.

use crate::tables::orders;
use hotline_core::dispatch::{self, Decision, Site};
use hotline_core::{AssignmentState, OrderState};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, idem, meta};

use crate::arbitration::supersede_pending;
use crate::events::summarise;
use crate::planning::{decision_error, dispatch_notes, planned_units};
use crate::record::{self, locked, note};
use crate::wire::full_order;

pub async fn reclassify(
    ctx: &Ctx,
    caller: &meta::Caller,
    r: ReclassifyOrderRequest,
) -> Result<ReclassifyOrderResponse> {
    let order_id = record::order_id(&r.name)?.to_string();
    required("category_code", &r.category_code)?;
    required("reason", &r.reason)?;
    let topology = &ctx.topology;
    let item = topology.item(&r.category_code).ok_or_else(|| {
        decision_error(dispatch::DecisionError::UnknownCategory(
            r.category_code.clone(),
        ))
    })?;
    let scope = idem::scope("ReclassifyOrder", &caller.unit);
    let mut reclassified = None;
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let mut order = locked(tx, &order_id).await?;
            // A task's unit was chosen by its issuer, not by the catalogue.
            if !order.kind.is_citizen_request() {
                return Err(ServiceError::FailedPrecondition(format!(
                    "orders/{order_id} is a proactive task: \
                     it is not classified against the catalogue"
                )));
            }
            if !matches!(order.state, OrderState::Dispatched | OrderState::InProgress) {
                return Err(ServiceError::FailedPrecondition(format!(
                    "cannot reclassify orders/{order_id} in state {}: \
                     only an order with its handlers",
                    order.state
                )));
            }
            if order.category_code == item.code
                && order.catalogue_version == topology.catalogue_version
            {
                return Err(ServiceError::invalid(
                    "category_code",
                    format!("orders/{order_id} is already classified as {}", item.code),
                ));
            }
            // The order's place, as intake found it: its location, or its address.
            let located = order
                .location
                .map(|l| topology.locate(l.latitude, l.longitude))
                .transpose()
                .map_err(|e| ServiceError::FailedPrecondition(format!("location: {e}")))?;
            let site = match &located {
                Some(l) => Site::Place(&l.place),
                None => Site::Address(&order.address),
            };
            let Decision::Dispatch {
                territory,
                assignments: planned,
            } = dispatch::plan(topology, item, site).map_err(decision_error)?
            else {
                unreachable!("plan only dispatches")
            };
            // The reason is the centre's own classification note, not the request.
            let detail = format!(
                "category {} to {}; urgency {} to {}; catalogue {}; reason: {}",
                order.category_code,
                item.code,
                order.urgency,
                item.urgency,
                topology.catalogue_version,
                r.reason.trim()
            );
            order.category_code = item.code.clone();
            order.urgency = item.urgency;
            order.catalogue_version = topology.catalogue_version.clone();
            // The business clock still runs from intake; its limit follows the
            // new urgency.
            let business = topology.due(item.urgency, order.received_us);
            order.due_us = business.at;
            order.territory_unit = territory.unwrap_or_default();
            supersede_pending(ctx, tx, &order_id, now).await?;
            note(tx, &mut order, now, &caller.unit, "reclassified", detail).await?;

            let handler_due = topology.due(order.urgency, now);
            order.deadline_provisional = business.provisional || handler_due.provisional;
            let handler_due = handler_due.at;
            let held = assignments::for_order(tx, &order_id).await?;
            let mut revoked = Vec::new();
            for a in held.iter().filter(|a| a.state != AssignmentState::Revoked) {
                if !planned.iter().any(|p| p.unit_id == a.unit_id) {
                    record::revoke(ctx, tx, &order, a, now).await?;
                    revoked.push(a.unit_id.clone());
                }
            }
            let mut detail = planned_units(&planned);
            if !revoked.is_empty() {
                detail += &format!("; revoked {}", revoked.join(" "));
            }
            note(
                tx,
                &mut order,
                now,
                &topology.city().id,
                "redispatched",
                detail,
            )
            .await?;
            for (action, detail) in dispatch_notes(topology, &planned) {
                note(tx, &mut order, now, &topology.city().id, action, detail).await?;
            }
            for p in &planned {
                let kept = held.iter().find(|a| {
                    a.unit_id == p.unit_id
                        && a.role == p.role
                        && a.state != AssignmentState::Revoked
                });
                let (a, again) = match kept {
                    // Kept on: the same work under the new facts, in a new epoch;
                    // an objection overtaken by the reclassification starts over.
                    Some(a) => {
                        let mut a = a.clone();
                        a.epoch += 1;
                        a.category_code = order.category_code.clone();
                        a.urgency = order.urgency;
                        a.due_us = handler_due;
                        a.order_seq = order.seq;
                        if a.state.overtake_objection() {
                            a.dispatched_us = now;
                        }
                        (a, true)
                    }
                    None => {
                        let epoch = record::next_epoch(tx, &order_id, &p.unit_id).await?;
                        let a = record::fresh(
                            &ctx.topology.policy,
                            &order,
                            &p.unit_id,
                            p.role,
                            epoch,
                            now,
                            handler_due,
                        );
                        (a, false)
                    }
                };
                if again {
                    record::reissue(ctx, tx, &order, &a, now).await?;
                } else {
                    record::issue(ctx, tx, &order, &a, now).await?;
                }
            }
            summarise(ctx, tx, &mut order, now).await?;
            orders::update(tx, &order).await?;
            let answer = ReclassifyOrderResponse {
                order: Some(full_order(tx, &order, &item.name).await?),
            };
            reclassified = Some(order);
            Ok(answer)
        })
        .await?;
    if let Some(order) = reclassified {
        tracing::info!(order_id = %order_id, category = %order.category_code, urgency = %order.urgency, "order reclassified");
    }
    Ok(answer)
}

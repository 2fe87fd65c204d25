//! A handler hands an order down to a community (Art. 17): the city checks
//! the same rules the handler did, issues the community's assignment under
//! the handing unit, and records it in the order's history.

use crate::tables::orders;
use hotline_core::jurisdiction;
use hotline_handler::handdown::{check_community, hand_down_role};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::{Ctx, guard, idem, meta};

use crate::record::{self, locked, note};

pub async fn record(
    ctx: &Ctx,
    caller: &meta::Caller,
    r: RecordHandDownRequest,
) -> Result<RecordHandDownResponse> {
    if r.unit_id != caller.unit {
        return Err(ServiceError::PermissionDenied(format!(
            "unit {} may not hand down for unit {}",
            caller.unit, r.unit_id
        )));
    }
    required("order_id", &r.order_id)?;
    check_community(ctx, &r.unit_id, &r.community_unit)?;
    let role = hand_down_role(r.role)?;
    let scope = idem::scope("RecordHandDown", &caller.unit);
    let mut recorded = None;
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let mut order = locked(tx, &r.order_id).await?;
            let handing = hotline_handler::held(tx, &r.order_id, &r.unit_id).await?;
            guard::current_epoch(&r.order_id, &r.unit_id, r.epoch, handing.epoch)?;
            let item = ctx.topology.item(&order.category_code).ok_or_else(|| {
                ServiceError::FailedPrecondition(format!(
                    "category {} is not in the current catalogue",
                    order.category_code
                ))
            })?;
            jurisdiction::may_hand_down(
                item,
                handing.role,
                handing.state,
                role,
                &ctx.topology.policy,
            )?;
            let epoch = record::next_epoch(tx, &r.order_id, &r.community_unit).await?;
            note(
                tx,
                &mut order,
                now,
                &r.unit_id,
                "handed_down",
                format!("{}:{role} epoch {epoch}", r.community_unit),
            )
            .await?;
            // The community works within the handing unit's own time limit.
            let mut a = record::fresh(
                &ctx.topology.policy,
                &order,
                &r.community_unit,
                role,
                epoch,
                now,
                handing.due_us,
            );
            a.lead_unit = r.unit_id.clone();
            record::issue(ctx, tx, &order, &a, now).await?;
            orders::update(tx, &order).await?;
            let answer = RecordHandDownResponse {
                order_seq: order.seq as u64,
            };
            recorded = Some(order.order_id);
            Ok(answer)
        })
        .await?;
    let Some(order_id) = recorded else {
        return Ok(answer);
    };
    tracing::info!(order_id = %order_id, unit = %r.unit_id, community = %r.community_unit, role = %role, "hand-down recorded");
    Ok(answer)
}

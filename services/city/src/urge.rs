//! An urge (催办): the centre, or a requester through it, presses the open
//! leads of an order and their parents.

use crate::tables::orders;
use hotline_core::OrderState;
use hotline_proto::v1::{NoticeKind, UrgeOrderRequest, UrgeOrderResponse, UrgeSource};
use hotline_runtime::error::{Result, ServiceError};
use hotline_runtime::tables::assignments;
use hotline_runtime::{Ctx, idem};

use crate::record::{self, locked, note};
use crate::wire::full_order_of;

/// An urge (催办) reaches each open lead and its parent, and is counted.
/// `actor` is the unit recorded as urging: the centre, also for a requester.
pub async fn urge(ctx: &Ctx, actor: &str, r: UrgeOrderRequest) -> Result<UrgeOrderResponse> {
    let order_id = record::order_id(&r.name)?.to_string();
    let source = UrgeSource::try_from(r.source)
        .ok()
        .filter(|s| *s != UrgeSource::Unspecified)
        .ok_or_else(|| ServiceError::invalid("source", "required"))?;
    let scope = idem::scope("UrgeOrder", actor);
    let answer = ctx
        .apply_once(&scope, &r.request_id, &r, async |tx, now| {
            let mut order = locked(tx, &order_id).await?;
            if order.state.is_final() || order.state == OrderState::Received {
                return Err(ServiceError::FailedPrecondition(format!(
                    "orders/{order_id} is {}: only an open order can be urged",
                    order.state
                )));
            }
            order.urge_count += 1;
            let by = source
                .as_str_name()
                .trim_start_matches("URGE_SOURCE_")
                .to_lowercase();
            let detail = format!("by the {by} ({})", order.urge_count);
            note(tx, &mut order, now, actor, "urged", detail).await?;
            let mut told = Vec::new();
            for a in assignments::for_order(tx, &order_id).await? {
                if a.role.is_lead() && a.state.is_open() {
                    told.push(a.unit_id.clone());
                    told.extend(ctx.topology.parent_of(&a.unit_id).map(|p| p.id.clone()));
                }
            }
            told.sort();
            told.dedup();
            for unit in &told {
                let n = hotline_handler::notice::notice(
                    format!("urge:{order_id}:{}:{unit}", order.urge_count),
                    unit,
                    &order_id,
                    NoticeKind::Urge,
                    now,
                    format!("urged by the {by}"),
                );
                hotline_handler::notice::send(tx, actor, n, now).await?;
            }
            orders::update(tx, &order).await?;
            let answer = UrgeOrderResponse {
                order: Some(full_order_of(&ctx.topology, tx, &order).await?),
            };
            Ok(answer)
        })
        .await?;
    Ok(answer)
}

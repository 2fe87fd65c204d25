//! The centre's mark on a request it finds unreasonable (无理诉求, Art. 9)
//! or malicious (恶意诉求, Art. 37): kept on the order with its reason;
//! the order is handled as before, and by policy leaves assessment
//! (`assess_marked_requests`, see `tables::assessment`).

use hotline_core::RequestMark;
use hotline_proto::v1::{self as pb, MarkOrderRequest, MarkOrderResponse};
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::wire::WireEnum;
use hotline_runtime::{Ctx, idem};

use crate::record::{self, locked, note};
use crate::tables::orders;
use crate::wire::full_order_of;

pub async fn mark(ctx: &Ctx, actor: &str, r: MarkOrderRequest) -> Result<MarkOrderResponse> {
    let order_id = record::order_id(&r.name)?.to_string();
    let mark = match pb::RequestMark::try_from(r.mark) {
        Ok(pb::RequestMark::None) => None,
        Ok(pb::RequestMark::Unspecified) | Err(_) => {
            return Err(ServiceError::invalid(
                "mark",
                "required: unreasonable, malicious, or none to clear",
            ));
        }
        Ok(_) => RequestMark::from_wire(r.mark),
    };
    if mark.is_some() {
        required("reason", &r.reason)?;
    }
    let scope = idem::scope("MarkOrder", actor);
    ctx.apply_once(&scope, &r.request_id, &r, async |tx, now| {
        let mut order = locked(tx, &order_id).await?;
        order.mark = mark;
        order.mark_reason = if mark.is_some() {
            r.reason.trim().to_string()
        } else {
            String::new()
        };
        // The reason may quote the request: it stays on the order, out of
        // the history.
        let action = match mark {
            Some(m) => format!("marked_{m}"),
            None => "mark_cleared".into(),
        };
        note(tx, &mut order, now, actor, &action, String::new()).await?;
        orders::update(tx, &order).await?;
        Ok(MarkOrderResponse {
            order: Some(full_order_of(&ctx.topology, tx, &order).await?),
        })
    })
    .await
}

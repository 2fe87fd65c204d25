//! A unit's notices: supervision, urges, summons, warnings. Any unit of the
//! mesh may send one (through the gateway); the unit and those above it
//! read them.

use crate::tables::notices;
use hotline_core::kinds::{self, HandoffKind};
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError, required};
use hotline_runtime::wire::{self, WireEnum};
use hotline_runtime::{Ctx, guard, idem, meta};
use tonic::Request;

/// The wire name of a notice kind, as stored.
pub fn kind_name(kind: NoticeKind) -> &'static str {
    kind.as_str_name().trim_start_matches("NOTICE_KIND_")
}

pub fn to_wire(n: &notices::Notice) -> Notice {
    Notice {
        notice_id: n.notice_id.clone(),
        unit_id: n.unit_id.clone(),
        order_id: n.order_id.clone(),
        kind: n.kind.to_wire(),
        from_unit: n.from_unit.clone(),
        time: Some(wire::ts(n.time_us)),
        detail: n.detail.clone(),
    }
}

pub async fn deliver(
    ctx: &Ctx,
    req: Request<DeliverNoticeRequest>,
) -> Result<DeliverNoticeResponse> {
    let caller = meta::Caller::hosted(ctx, &req)?;
    if ctx.topology.unit(&caller.unit).is_none() {
        return Err(ServiceError::PermissionDenied(format!(
            "unit {} is not in the topology",
            caller.unit
        )));
    }
    let r = req.into_inner();
    let n = r
        .notice
        .clone()
        .ok_or_else(|| ServiceError::invalid("notice", "required"))?;
    required("notice.notice_id", &n.notice_id)?;
    required("notice.order_id", &n.order_id)?;
    let kind = kinds::NoticeKind::from_wire(n.kind)
        .ok_or_else(|| ServiceError::invalid("notice.kind", "required"))?;
    if n.unit_id != caller.target {
        return Err(ServiceError::invalid(
            "notice.unit_id",
            format!("is {}, but the call targets {}", n.unit_id, caller.target),
        ));
    }
    let scope = idem::scope("DeliverNotice", &caller.target);
    let mut received = None;
    let answer = ctx
        .apply_once_batched(&scope, &r.request_id, &r, async |tx, writes, now| {
            let stored = notices::Notice {
                notice_id: n.notice_id,
                unit_id: n.unit_id,
                order_id: n.order_id,
                kind,
                from_unit: caller.unit.clone(),
                time_us: n.time.as_ref().map(wire::micros).unwrap_or(now),
                detail: n.detail,
            };
            notices::insert_into(writes, &stored)?;
            crate::watch::record_into(ctx, tx, writes, crate::watch::noticed(&stored)).await?;
            let answer = DeliverNoticeResponse {};
            received = Some(stored);
            Ok(answer)
        })
        .await?;
    if let Some(stored) = received {
        crate::watch::wake();
        tracing::info!(unit = %stored.unit_id, order_id = %stored.order_id, kind = %stored.kind, from = %stored.from_unit, "notice received");
    }
    Ok(answer)
}

pub async fn list(ctx: &Ctx, req: Request<ListNoticesRequest>) -> Result<ListNoticesResponse> {
    let caller = meta::Caller::checked(ctx, &req, guard::Rule::Reader)?;
    let r = req.into_inner();
    let page = wire::Page::parse(r.page_size, &r.page_token)?;
    let mut c = ctx.db.acquire().await?;
    let rows = notices::list(&mut c, &caller.target, &page.after, page.limit()).await?;
    let (rows, next) = page.finish(rows, |n| n.notice_id.as_str());
    Ok(ListNoticesResponse {
        notices: rows.iter().map(to_wire).collect(),
        next_page_token: next,
    })
}

/// A notice for `unit` about an order, as the sender queues it. The id is
/// derived from the cause, so a retried cause sends it once.
pub fn notice(
    notice_id: String,
    unit: &str,
    order_id: &str,
    kind: NoticeKind,
    time_us: i64,
    detail: String,
) -> DeliverNoticeRequest {
    DeliverNoticeRequest {
        request_id: notice_id.clone(),
        notice: Some(Notice {
            notice_id,
            unit_id: unit.to_string(),
            order_id: order_id.to_string(),
            kind: kind as i32,
            from_unit: String::new(),
            time: Some(wire::ts(time_us)),
            detail,
        }),
    }
}

pub const DELIVER_NOTICE: &str = "/hotline.v1.DispatchService/DeliverNotice";

/// Queues a notice to `unit` in the sender's outbox.
pub async fn send(
    conn: &mut hotline_store::Conn,
    from: &str,
    n: DeliverNoticeRequest,
    now: i64,
) -> Result<()> {
    let (route, kind) = route(from, &n);
    hotline_runtime::handoff::send_as(conn, route, kind, &n, now).await
}

/// Where a notice from `from` goes, and its handoff kind (the notice's
/// own: a warning, a supervision…).
pub fn route<'a>(
    from: &'a str,
    n: &'a DeliverNoticeRequest,
) -> (hotline_runtime::handoff::Handoff<'a>, HandoffKind) {
    let notice = n.notice.as_ref().expect("built by notice()");
    // Unset only if a caller built the request by hand: a plain `notice`.
    let kind = kinds::NoticeKind::from_wire(notice.kind)
        .map_or(HandoffKind::Notice, HandoffKind::of_notice);
    let route = hotline_runtime::handoff::Handoff {
        message_id: &n.request_id,
        order_id: &notice.order_id,
        from_unit: from,
        target_unit: &notice.unit_id,
        method: DELIVER_NOTICE,
    };
    (route, kind)
}

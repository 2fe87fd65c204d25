//! Extensions (Art. 15): the handler asks with a reason and a new date; the
//! centre grants at once, or the handler's parent decides when policy says
//! so. A grant moves the handler clock, never the business clock, and the
//! requester's and the centre's notices are recorded.

use crate::tables::orders::Order;
use hotline_core::Micros;
use hotline_handler::notice;
use hotline_proto::v1::NoticeKind;
use hotline_runtime::Ctx;
use hotline_runtime::error::Result;
use hotline_runtime::tables::assignments::{self, Assignment};
use hotline_store::Conn;

use crate::clocks;
use crate::record::{self, note};

/// The unit that approves extensions for `unit`: its parent.
pub fn approver(ctx: &Ctx, unit: &str) -> String {
    ctx.topology
        .parent_of(unit)
        .map(|p| p.id.clone())
        .unwrap_or_else(|| ctx.topology.city().id.clone())
}

/// Records the request on the assignment; with approval required, asks the
/// approver.
pub async fn requested(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &Order,
    a: &mut Assignment,
    until: Micros,
    reason: &str,
    now: Micros,
) -> Result<()> {
    a.requested_due_us = Some(until);
    if ctx.topology.policy.extension_approval {
        let to = approver(ctx, &a.unit_id);
        let n = notice::notice(
            format!(
                "extension-request:{}:{}:{}:{}",
                a.order_id, a.unit_id, a.epoch, a.extensions
            ),
            &to,
            &order.order_id,
            NoticeKind::ExtensionRequest,
            now,
            format!("{} asks to extend to {until}: {reason}", a.unit_id),
        );
        notice::send(conn, &ctx.topology.city().id, n, now).await?;
    }
    Ok(())
}

/// Grants a pending request at once when policy needs no approval.
pub async fn settle(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &mut Order,
    a: &Assignment,
    now: Micros,
) -> Result<()> {
    if a.requested_due_us.is_some() && !ctx.topology.policy.extension_approval {
        let city = ctx.topology.city().id.clone();
        grant(ctx, conn, order, &mut a.clone(), &city, now).await?;
    }
    Ok(())
}

async fn decided(
    ctx: &Ctx,
    conn: &mut Conn,
    a: &Assignment,
    granted: bool,
    now: Micros,
) -> Result<()> {
    let n = notice::notice(
        format!(
            "extension-decision:{}:{}:{}:{}",
            a.order_id, a.unit_id, a.epoch, a.extensions
        ),
        &a.unit_id,
        &a.order_id,
        NoticeKind::ExtensionDecision,
        now,
        if granted {
            format!("extension granted until {}", a.due_us)
        } else {
            "extension refused".into()
        },
    );
    notice::send(conn, &ctx.topology.city().id, n, now).await
}

pub async fn grant(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &mut Order,
    a: &mut Assignment,
    by: &str,
    now: Micros,
) -> Result<()> {
    let Some(until) = a.requested_due_us.take() else {
        return Ok(());
    };
    a.due_us = until;
    a.extensions += 1;
    let detail = format!(
        "{} until {until}, by {by}; the business clock stays at {}",
        a.unit_id, order.due_us
    );
    note(conn, order, now, by, "extension_granted", detail).await?;
    note(
        conn,
        order,
        now,
        "city",
        "requester_notified",
        "the requester is told the new date".into(),
    )
    .await?;
    note(
        conn,
        order,
        now,
        "city",
        "centre_notified",
        "the centre records the extension".into(),
    )
    .await?;
    // The new version of the assignment, with the new handler deadline.
    record::issue(ctx, conn, order, a, now).await?;
    clocks::arm_handler_clock(ctx, conn, a, now).await?;
    if a.role.is_lead() {
        // The time limit ends later: so does the wait for the callback.
        clocks::arm_callback_at_limit(conn, order, a.due_us, now).await?;
    }
    order.overdue = clocks::any_lead_overdue(conn, &order.order_id, now).await?;
    decided(ctx, conn, a, true, now).await
}

pub async fn refuse(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &mut Order,
    a: &mut Assignment,
    by: &str,
    now: Micros,
) -> Result<()> {
    a.requested_due_us = None;
    assignments::upsert(conn, a).await?;
    note(
        conn,
        order,
        now,
        by,
        "extension_refused",
        format!("{} keeps its deadline {}", a.unit_id, a.due_us),
    )
    .await?;
    decided(ctx, conn, a, false, now).await
}

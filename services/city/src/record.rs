//! Changes to the city's record of an order, made inside one transaction:
//! every change is a history line, and every assignment issued is queued
//! for delivery through the outbox.

use crate::tables::orders::{self, Order};
use hotline_core::scrub::Scrubber;
use hotline_core::{AssignmentState, Micros, OrderState};
use hotline_proto::v1::DeliverAssignmentRequest;
use hotline_runtime::Ctx;
use hotline_runtime::error::{Result, ServiceError};
use hotline_runtime::handoff::{self, Handoff};
use hotline_runtime::tables::assignments::{self, Assignment};
use hotline_runtime::tables::misc;
use hotline_store::Conn;

pub use crate::history::{entry, note};

pub const DELIVER: &str = "/hotline.v1.DispatchService/DeliverAssignment";

/// Moves the order to `state`, with a history line.
pub async fn transition(
    conn: &mut Conn,
    order: &mut Order,
    now: Micros,
    actor: &str,
    state: OrderState,
    detail: String,
) -> Result<()> {
    order.state.move_to(state)?;
    note(conn, order, now, actor, state.as_str(), detail).await
}

/// Stores an assignment in the city's record and queues its delivery; a new
/// lead's clocks start. The message id is derived from (order, unit, epoch,
/// extensions granted), so issuing the same version twice sends once.
pub async fn issue(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &Order,
    a: &Assignment,
    now: Micros,
) -> Result<()> {
    let s = crate::redact::scrubber(conn, &a.requester_ref).await?;
    let mut b = hotline_store::Batch::of(conn);
    issue_all_scrubbed(ctx, &mut b, order, std::slice::from_ref(a), now, &s)?;
    Ok(b.run(conn).await?)
}

/// [`issue`] for several assignments of one order, with the requester's
/// scrubber at hand: the assignments, their clocks and their deliveries,
/// a statement each, added to `b`.
pub fn issue_all_scrubbed(
    ctx: &Ctx,
    b: &mut hotline_store::Batch,
    order: &Order,
    all: &[Assignment],
    now: Micros,
    scrubber: &Scrubber,
) -> Result<()> {
    assignments::upsert_all_into(b, all)?;
    let city = ctx.topology.city().id.clone();
    let mut deliveries = Vec::with_capacity(all.len());
    let (mut new_leads, mut new_co_handlers) = (Vec::new(), Vec::new());
    for a in all {
        let message_id = match a.extensions {
            0 => format!("deliver:{}:{}:{}", a.order_id, a.unit_id, a.epoch),
            n => format!("deliver:{}:{}:{}:x{n}", a.order_id, a.unit_id, a.epoch),
        };
        // A lead handed down works under its township's clock, not its own.
        if a.role.is_lead()
            && a.lead_unit.is_empty()
            && a.extensions == 0
            && a.state == AssignmentState::Dispatched
        {
            new_leads.push(a);
        }
        if a.role == hotline_core::Role::CoHandler
            && a.extensions == 0
            && a.state == AssignmentState::Dispatched
        {
            new_co_handlers.push(a);
        }
        // The city keeps the text as the requester gave it; the handler
        // reads it scrubbed of numbers, ids and the requester's name.
        let request = DeliverAssignmentRequest {
            request_id: message_id.clone(),
            assignment: Some(crate::redact::to_handler(a, scrubber)),
            order_seq: order.seq as u64,
        };
        let kind = hotline_core::kinds::HandoffKind::of_delivery(a.role, a.extensions > 0);
        deliveries.push((message_id, kind, request));
    }
    crate::clocks::arm_new_clocks(ctx, b, order, &new_leads, &new_co_handlers, now)?;
    let sends: Vec<_> = all
        .iter()
        .zip(&deliveries)
        .map(|(a, (message_id, kind, request))| {
            let route = Handoff {
                message_id,
                order_id: &a.order_id,
                from_unit: &city,
                target_unit: &a.unit_id,
                method: DELIVER,
            };
            (route, *kind, request)
        })
        .collect();
    handoff::send_all_into(b, &sends, now)
}

/// A new assignment (epoch 1 or the next epoch) from an order's facts,
/// due at `due_us` (a co-handler earlier: [`deadline::part_due`]).
///
/// [`deadline::part_due`]: hotline_core::deadline::part_due
pub fn fresh(
    policy: &hotline_core::Policy,
    order: &Order,
    unit: &str,
    role: hotline_core::Role,
    epoch: i64,
    now: Micros,
    due_us: Micros,
) -> Assignment {
    Assignment {
        order_id: order.order_id.clone(),
        unit_id: unit.to_string(),
        role,
        state: AssignmentState::Dispatched,
        epoch,
        order_seq: order.seq,
        dispatched_us: now,
        accepted_us: None,
        contacted_us: None,
        replied_us: None,
        due_us: hotline_core::deadline::part_due(policy, role, now, due_us),
        outcome: None,
        reply_text: String::new(),
        progress_note: String::new(),
        category_code: order.category_code.clone(),
        urgency: order.urgency,
        address: order.address.clone(),
        body: order.body.clone(),
        requester_ref: order.requester_ref.clone(),
        kind: order.kind,
        designated: false,
        lead_unit: String::new(),
        requested_due_us: None,
        extensions: 0,
        trace_parent: order.trace_parent.clone(),
    }
}

/// The epoch a unit's next assignment on an order gets: one past any it
/// held, so the new one supersedes it everywhere.
pub async fn next_epoch(conn: &mut Conn, order_id: &str, unit: &str) -> Result<i64> {
    Ok(assignments::get(conn, order_id, unit)
        .await?
        .map_or(1, |a| a.epoch + 1))
}

/// Revokes an assignment: a new epoch in state REVOKED, delivered so the
/// handler learns of it; its later messages get FAILED_PRECONDITION.
pub async fn revoke(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &Order,
    a: &Assignment,
    now: Micros,
) -> Result<()> {
    let mut revoked = a.clone();
    revoked.epoch += 1;
    revoked.state.revoke()?;
    revoked.order_seq = order.seq;
    crate::clocks::stop(conn, &a.order_id, &a.unit_id).await?;
    issue(ctx, conn, order, &revoked, now).await
}

/// Issues an assignment the unit already held in a new epoch (a kept
/// objection, a reclassification). Its handler clock carries on: the old
/// epoch's timers stop and the new epoch's are armed (a dispatched lead's
/// by [`issue`]).
pub async fn reissue(
    ctx: &Ctx,
    conn: &mut Conn,
    order: &Order,
    a: &Assignment,
    now: Micros,
) -> Result<()> {
    crate::clocks::stop(conn, &a.order_id, &a.unit_id).await?;
    let own_lead = a.role.is_lead() && a.lead_unit.is_empty();
    if own_lead && a.state.is_open() && a.state != AssignmentState::Dispatched {
        crate::clocks::arm_handler_clock(ctx, conn, a, now).await?;
        if let Some(at) = a.accepted_us {
            crate::clocks::accepted(ctx, conn, a, at, now).await?;
        }
    }
    issue(ctx, conn, order, a, now).await
}

/// Locks and reads an order, or NOT_FOUND.
pub async fn locked(conn: &mut Conn, order_id: &str) -> Result<Order> {
    orders::lock(conn, order_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", format!("orders/{order_id}")))
}

/// `orders/{id}` → id.
pub fn order_id(name: &str) -> Result<&str> {
    name.strip_prefix("orders/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| ServiceError::invalid("name", "must be orders/{order_id}"))
}

/// The next id from a named counter, formatted with a prefix.
pub async fn next_id(conn: &mut Conn, counter: &str, prefix: &str) -> Result<String> {
    Ok(format!("{prefix}{:08}", misc::next(conn, counter).await?))
}

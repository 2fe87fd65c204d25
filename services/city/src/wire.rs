//! The city's wire conversions: the order with its assignments and history.

use crate::tables::orders::{self, HistoryEntry, Order};
use hotline_proto::v1 as pb;
use hotline_runtime::tables::assignments::{self, Assignment};
use hotline_runtime::wire::{WireEnum, assignment_to_wire, opt_ts, ts};
use hotline_store::Conn;

use hotline_runtime::error::Result;

pub fn order_to_wire(o: &Order, category_name: &str) -> pb::Order {
    pb::Order {
        name: format!("orders/{}", o.order_id),
        order_id: o.order_id.clone(),
        state: o.state.to_wire(),
        kind: o.kind.to_wire(),
        channel: o.channel.to_wire(),
        category_code: o.category_code.clone(),
        category_name: category_name.to_string(),
        urgency: o.urgency.to_wire(),
        address: o.address.clone(),
        text: o.body.clone(),
        requester_ref: o.requester_ref.clone(),
        trace_parent: o.trace_parent.clone(),
        territory_unit: o.territory_unit.clone(),
        received_time: Some(ts(o.received_us)),
        due_time: Some(ts(o.due_us)),
        answer: o.answer.clone(),
        seq: o.seq as u64,
        reopen_count: o.reopen_count as u32,
        assignments: Vec::new(),
        history: Vec::new(),
        callback: o.callback.map(|c| pb::Callback {
            resolved: c.resolved,
            satisfaction: c.satisfaction.to_wire(),
            time: Some(ts(c.time_us)),
        }),
        closed_time: opt_ts(o.closed_us),
        catalogue_version: o.catalogue_version.clone(),
        disposition: o.disposition.map(|d| d.to_wire()).unwrap_or(0),
        duplicate_of: o.duplicate_of.clone(),
        redirect_count: o.redirect_count as u32,
        bounce_limit_reached: o.bounce_limit_reached,
        designated_unit: o.designated_unit.clone(),
        overdue: o.overdue,
        deadline_provisional: o.deadline_provisional,
        mark: o.mark.map_or(pb::RequestMark::None as i32, |m| m.to_wire()),
        mark_reason: o.mark_reason.clone(),
        urge_count: o.urge_count as u32,
        location: o.location.map(|l| pb::Location {
            latitude: l.latitude,
            longitude: l.longitude,
        }),
        community_unit: o.community_unit.clone(),
        near_boundary_units: o.near_boundary_units.clone(),
        mood: o.mood.map(|m| m.to_wire()).unwrap_or(0),
    }
}

/// The whole order: facts, assignments and history.
pub async fn full_order(conn: &mut Conn, o: &Order, category_name: &str) -> Result<pb::Order> {
    let given = assignments::for_order(conn, &o.order_id).await?;
    let history = orders::history(conn, &o.order_id).await?;
    Ok(order_with(o, category_name, given, history))
}

/// [`full_order`] named by the topology's catalogue item (empty for an
/// item the catalogue no longer has).
pub async fn full_order_of(
    topology: &hotline_core::Topology,
    conn: &mut Conn,
    o: &Order,
) -> Result<pb::Order> {
    full_order(conn, o, category_name(topology, &o.category_code)).await
}

/// The catalogue item's name (empty for an item the catalogue no longer
/// has).
pub fn category_name<'t>(topology: &'t hotline_core::Topology, code: &str) -> &'t str {
    topology
        .item(code)
        .map(|i| i.name.as_str())
        .unwrap_or_default()
}

/// The whole order from its assignments and history at hand, in the order
/// the store lists them (assignments by dispatch time and unit).
pub fn order_with(
    o: &Order,
    category_name: &str,
    mut given: Vec<Assignment>,
    history: Vec<HistoryEntry>,
) -> pb::Order {
    given.sort_by(|a, b| (a.dispatched_us, &a.unit_id).cmp(&(b.dispatched_us, &b.unit_id)));
    let mut w = order_to_wire(o, category_name);
    w.assignments = given.iter().map(assignment_to_wire).collect();
    w.history = history
        .into_iter()
        .map(|h| pb::HistoryEntry {
            seq: h.seq as u64,
            time: Some(ts(h.time_us)),
            actor_unit: h.actor_unit,
            action: h.action,
            detail: h.detail,
        })
        .collect();
    w
}

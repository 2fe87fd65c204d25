//! What the demo's parts share: the report they fill, the request they
//! submit, and how an order reads as JSON or text (also for `hotline order
//! show` and `hotline export`).

use std::time::Duration;

use hotline_proto::v1::*;
use serde_json::{Value, json};

use crate::client::request_id;

pub(crate) const WAIT: Duration = Duration::from_secs(30);
pub(crate) const MINUTE: i64 = 60_000_000;
pub(crate) const HOUR: i64 = 60 * MINUTE;

/// What the demo did, as `--json` prints it.
#[derive(Debug, Default, serde::Serialize)]
pub struct DemoReport {
    pub orders: usize,
    pub closed: usize,
    pub answered_at_intake: usize,
    pub reopened: usize,
    /// Cross-unit calls through the gateway.
    pub handoffs: u64,
    /// Every call the gateway forwarded.
    pub calls: u64,
    /// Distinct OS processes that served (the gateway and each service).
    pub processes: usize,
    pub order_ids: Vec<String>,
    /// A message for a superseded epoch was refused.
    pub stale_epoch_refused: bool,
    /// A retried request with the same request_id got the first answer.
    pub retry_same_answer: bool,
    /// Whistles blown, departments that checked in, and that missed.
    pub whistles: usize,
    pub check_ins: usize,
    pub missed_check_ins: usize,
    /// Orders whose handler clock passed its limit.
    pub overdue: usize,
    /// Supervision notices (督办) after a breach, and escalations upward.
    pub supervisions: usize,
    pub escalations: usize,
    pub extensions: usize,
    /// Jurisdiction objections recorded, and those ruled.
    pub objections: usize,
    pub rulings: usize,
    /// Objections the rules refused (after the window, by a designated handler).
    pub objections_refused: usize,
    /// Orders that reached the bounce limit, the centre designating the handler.
    pub bounce_limit_hits: usize,
    /// Orders dispatched to two leads (territory and department).
    pub dual_dispatches: usize,
    /// Orders intake disposed of without dispatch, per kind.
    pub dispositions: std::collections::BTreeMap<String, usize>,
    /// Hand-downs to a community the duty list refused.
    pub hand_downs_refused: usize,
    /// An order located near a township border: who owns it, and the
    /// neighbours recorded.
    pub border_case: Value,
    pub unit_reports: Vec<Value>,
    pub calls_by_tier_pair: Vec<Value>,
    /// `hotline trace --json` of the whistled order.
    pub trace_sample: Value,
    /// The month's scorecard (own orders) of every unit that had orders.
    pub scorecards: Vec<Value>,
    /// The month's rankings, per peer group, best first.
    pub rankings: Value,
    #[serde(skip)]
    pub ranking_table: String,
    /// The whistled order (two departments summoned).
    pub whistled_order: String,
    /// Problem-of-the-month candidates of the city, with their four
    /// degrees and risk level.
    pub problems: Vec<Value>,
    /// Proactive tasks, with matching requests before and after.
    pub proactive_tasks: Vec<Value>,
    /// The proactive-analytics summary, as printed.
    #[serde(skip)]
    pub proactive_summary: String,
    /// The knowledge base: entries, consultations and the share answered
    /// at intake.
    pub knowledge_base: Value,
    /// Reads of requester identity audited, and orders exported (Art. 28).
    pub audit_entries: usize,
    pub exported_orders: usize,
    pub wall_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
}

pub(crate) fn submit_req(
    category: &str,
    address: &str,
    kind: RequestKind,
    text: &str,
    name: &str,
    phone: &str,
) -> SubmitRequestRequest {
    SubmitRequestRequest {
        request_id: request_id(),
        channel: Channel::Phone as i32,
        kind: kind as i32,
        requester: Some(Requester {
            name: name.into(),
            phone: phone.into(),
        }),
        text: text.into(),
        category_code: category.into(),
        address: address.into(),
        ..Default::default()
    }
}

pub(crate) fn state_name(s: i32) -> &'static str {
    OrderState::try_from(s)
        .map(|s| s.as_str_name().trim_start_matches("ORDER_STATE_"))
        .unwrap_or("?")
}

fn ts(t: &Option<prost_types::Timestamp>) -> Value {
    t.as_ref()
        .map(|t| json!(t.seconds * 1_000_000 + t.nanos as i64 / 1000))
        .unwrap_or(Value::Null)
}

/// An order as JSON for `--json` output (instants in UTC microseconds).
pub fn order_json(o: &Order) -> Value {
    json!({
        "name": o.name,
        "state": state_name(o.state),
        "category_code": o.category_code,
        "category_name": o.category_name,
        "urgency": Urgency::try_from(o.urgency).map(|u| u.as_str_name()).unwrap_or(""),
        "address": o.address,
        "territory_unit": o.territory_unit,
        "location": o.location.as_ref().map(|l| json!({"latitude": l.latitude, "longitude": l.longitude})),
        "community_unit": o.community_unit,
        "near_boundary_units": o.near_boundary_units,
        "requester_ref": o.requester_ref,
        "answer": o.answer,
        "received_us": ts(&o.received_time),
        "due_us": ts(&o.due_time),
        "closed_us": ts(&o.closed_time),
        "reopen_count": o.reopen_count,
        "seq": o.seq,
        "callback": o.callback.as_ref().map(|c| json!({"resolved": c.resolved, "satisfaction": Satisfaction::try_from(c.satisfaction).map(|s| s.as_str_name()).unwrap_or("")})),
        "assignments": o.assignments.iter().map(|a| json!({
            "unit": a.unit_id,
            "role": AssignmentRole::try_from(a.role).map(|r| r.as_str_name()).unwrap_or(""),
            "state": AssignmentState::try_from(a.state).map(|s| s.as_str_name()).unwrap_or(""),
            "epoch": a.epoch,
            "due_us": ts(&a.due_time),
            "outcome": ReplyOutcome::try_from(a.outcome).map(|s| s.as_str_name()).unwrap_or(""),
        })).collect::<Vec<_>>(),
        "history": o.history.iter().map(|h| json!({"seq": h.seq, "time_us": ts(&h.time), "unit": h.actor_unit, "action": h.action, "detail": h.detail})).collect::<Vec<_>>(),
    })
}

/// An order as readable text.
pub fn order_text(o: &Order) -> String {
    let mut s = format!(
        "{}  {}  {} ({})\n  address: {}  territory: {}  requester: {}\n",
        o.name,
        state_name(o.state),
        o.category_code,
        o.category_name,
        if o.address.is_empty() {
            "-"
        } else {
            &o.address
        },
        if o.territory_unit.is_empty() {
            "-"
        } else {
            &o.territory_unit
        },
        o.requester_ref
    );
    if let Some(l) = &o.location {
        s += &format!(
            "  location: {}, {}  community: {}  near boundary: {}\n",
            l.latitude,
            l.longitude,
            if o.community_unit.is_empty() {
                "-"
            } else {
                &o.community_unit
            },
            if o.near_boundary_units.is_empty() {
                "-".to_string()
            } else {
                o.near_boundary_units.join(", ")
            }
        );
    }
    if !o.answer.is_empty() {
        s += &format!("  answer: {}\n", o.answer);
    }
    for a in &o.assignments {
        s += &format!(
            "  assignment {:<16} {:<28} {:<30} epoch {}\n",
            a.unit_id,
            AssignmentRole::try_from(a.role)
                .map(|r| r.as_str_name())
                .unwrap_or(""),
            AssignmentState::try_from(a.state)
                .map(|r| r.as_str_name())
                .unwrap_or(""),
            a.epoch
        );
    }
    for h in &o.history {
        s += &format!(
            "  #{:<3} {:<16} {:<12} {}\n",
            h.seq, h.actor_unit, h.action, h.detail
        );
    }
    s
}

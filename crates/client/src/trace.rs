//! Where an order's time went, and every deadline still pending, read
//! through a running gateway (`hotline trace ORDER`, `hotline deadlines`).

use std::time::Duration;

use hotline_proto::v1::*;
use hotline_runtime::wire::micros;
use serde_json::{Value, json};

use crate::MeshClient;
use crate::duration::human;
use crate::instant::show_instant;
use crate::table::Table;

fn at(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref().map(micros).unwrap_or_default()
}

/// An instant as Shanghai wall time, or null when it is not set (a copy
/// has no due time).
fn shown(t: &Option<prost_types::Timestamp>) -> Value {
    t.as_ref()
        .map_or(Value::Null, |t| json!(show_instant(micros(t))))
}

fn seconds(us: i64) -> f64 {
    (us as f64 / 1e4).round() / 100.0
}

fn method_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The order's timeline: every step with the business time since intake,
/// every handoff with its unit pair and the latency of the call itself,
/// and each assignment's dispatch→accept→contact→reply times.
pub async fn trace(client: &MeshClient, order_id: &str) -> anyhow::Result<Value> {
    let services = client.service_units().await.map_err(crate::status_error)?;
    trace_via(client, order_id, &services).await
}

/// [`trace`], asking each service in `services` (its name, and a unit it
/// hosts to reach it by) for its handoffs: for a client that may not list
/// the gateway's routes and knows the services from the topology (the
/// web front's dashboard).
pub async fn trace_via(
    client: &MeshClient,
    order_id: &str,
    services: &[(String, String)],
) -> anyhow::Result<Value> {
    let order = client.order(order_id).await.map_err(crate::status_error)?;
    let received = at(&order.received_time);
    let mut last = received;
    let steps: Vec<Value> = order
        .history
        .iter()
        .map(|h| {
            let t = at(&h.time);
            let step = json!({
                "seq": h.seq, "time_us": t, "time": show_instant(t),
                "business_s": seconds(t - received), "since_previous_s": seconds(t - last),
                "unit": h.actor_unit, "action": h.action, "detail": h.detail,
            });
            last = t;
            step
        })
        .collect();
    let mut handoffs = Vec::new();
    let mut unreachable = Vec::new();
    for (service, unit) in services {
        match client.handoffs(unit, order_id).await {
            Ok(hs) => handoffs.extend(hs),
            Err(_) => unreachable.push(service.clone()),
        }
    }
    handoffs.sort_by_key(|h| (at(&h.sent_time), h.message_id.clone()));
    let handoffs: Vec<Value> = handoffs
        .iter()
        .map(|h| {
            let latency = h
                .rpc_latency
                .as_ref()
                .map(|d| d.seconds * 1_000_000 + d.nanos as i64 / 1000)
                .unwrap_or(0);
            json!({
                "from": h.from_unit, "to": h.to_unit, "call": method_name(&h.method),
                "sent_us": at(&h.sent_time), "business_s": seconds(at(&h.sent_time) - received),
                "rpc_latency_ms": (latency as f64 / 10.0).round() / 100.0, "attempts": h.attempts,
            })
        })
        .collect();
    let span = |a: &Option<prost_types::Timestamp>, b: &Option<prost_types::Timestamp>| match (a, b)
    {
        (Some(_), Some(_)) => json!(seconds(at(b) - at(a))),
        _ => Value::Null,
    };
    let assignments: Vec<Value> = order
        .assignments
        .iter()
        .map(|a| {
            json!({
                "unit": a.unit_id,
                "role": AssignmentRole::try_from(a.role).map(|r| r.as_str_name()).unwrap_or(""),
                "epoch": a.epoch,
                "dispatch_to_accept_s": span(&a.dispatched_time, &a.accepted_time),
                "accept_to_contact_s": span(&a.accepted_time, &a.contacted_time),
                "dispatch_to_reply_s": span(&a.dispatched_time, &a.replied_time),
                "due": shown(&a.due_time),
            })
        })
        .collect();
    Ok(json!({
        "order": order.name,
        "state": OrderState::try_from(order.state).map(|s| s.as_str_name()).unwrap_or(""),
        "received": show_instant(received),
        "due": shown(&order.due_time),
        "overdue": order.overdue,
        "trace_id": trace_id(&order.trace_parent),
        "steps": steps,
        "handoffs": handoffs,
        "assignments": assignments,
        "unreachable_services": unreachable,
    }))
}

/// The trace id of a W3C `traceparent` (`00-{trace id}-{span id}-01`),
/// where Jaeger finds the order's spans; `null` when there is none.
fn trace_id(traceparent: &str) -> Value {
    match traceparent.split('-').nth(1) {
        Some(id) if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => json!(id),
        _ => Value::Null,
    }
}

/// The services whose handoffs a trace could not show (they did not answer).
pub fn unreachable_services(t: &Value) -> Vec<&str> {
    t["unreachable_services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

pub fn print_trace(t: &Value) {
    print!("{}", trace_text(t));
}

/// A proto enum name as a word: `ASSIGNMENT_ROLE_LEAD` → `lead`.
fn word(name: &Value, prefix: &str) -> String {
    name.as_str()
        .unwrap_or("")
        .trim_start_matches(prefix)
        .to_lowercase()
        .replace('_', " ")
}

/// Seconds from the JSON view as a human duration; "—" when the step
/// was never reached.
fn span_text(secs: &Value) -> String {
    secs.as_f64()
        .map(|s| human(Duration::try_from_secs_f64(s).unwrap_or_default()))
        .unwrap_or_else(|| "—".into())
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The trace as people read it: a heading, then the steps, the handoffs
/// and the assignments, each a table (the JSON view holds the same).
pub fn trace_text(t: &Value) -> String {
    let due = match t["due"].as_str() {
        Some(due) if t["overdue"] == true => format!(", due {due} and overdue"),
        Some(due) => format!(", due {due}"),
        None => String::new(),
    };
    let mut out = format!(
        "{} is {}: received {}{due}.\n",
        text(&t["order"]),
        word(&t["state"], "ORDER_STATE_"),
        text(&t["received"]),
    );
    if let Some(id) = t["trace_id"].as_str() {
        out += &format!("Its spans: trace {id}.\n");
    }
    let mut steps = Table::new([
        "since intake",
        "after the step before",
        "unit",
        "action",
        "detail",
    ])
    .right(&[0, 1]);
    for s in t["steps"].as_array().into_iter().flatten() {
        steps.row([
            span_text(&s["business_s"]),
            span_text(&s["since_previous_s"]),
            text(&s["unit"]).to_string(),
            text(&s["action"]).to_string(),
            text(&s["detail"]).to_string(),
        ]);
    }
    out += &format!("\nSteps, in business time since intake:\n{steps}");
    let mut handoffs = Table::new([
        "since intake",
        "from",
        "to",
        "call",
        "call took",
        "attempts",
    ])
    .right(&[0, 4, 5]);
    for h in t["handoffs"].as_array().into_iter().flatten() {
        let took = h["rpc_latency_ms"]
            .as_f64()
            .map(|ms| human(Duration::try_from_secs_f64(ms / 1e3).unwrap_or_default()))
            .unwrap_or_else(|| "—".into());
        handoffs.row([
            span_text(&h["business_s"]),
            text(&h["from"]).to_string(),
            text(&h["to"]).to_string(),
            text(&h["call"]).to_string(),
            took,
            h["attempts"].as_u64().unwrap_or(0).to_string(),
        ]);
    }
    if handoffs.is_empty() {
        out += "\nNo handoff between units went through the gateway.\n";
    } else {
        out += &format!("\nHandoffs between units, through the gateway:\n{handoffs}");
    }
    let mut assignments = Table::new([
        "unit",
        "role",
        "epoch",
        "dispatch → accept",
        "accept → contact",
        "dispatch → reply",
        "due",
    ])
    .right(&[2, 3, 4, 5]);
    let mut copies = false;
    for a in t["assignments"].as_array().into_iter().flatten() {
        let role = word(&a["role"], "ASSIGNMENT_ROLE_");
        copies |= role == "copy";
        assignments.row([
            text(&a["unit"]).to_string(),
            role,
            a["epoch"].as_u64().unwrap_or(0).to_string(),
            span_text(&a["dispatch_to_accept_s"]),
            span_text(&a["accept_to_contact_s"]),
            span_text(&a["dispatch_to_reply_s"]),
            a["due"].as_str().unwrap_or("—").to_string(),
        ]);
    }
    out += &format!("\nAssignments (— : not reached):\n{assignments}");
    if copies {
        out += "A copy informs its unit only: it is never accepted, contacted or replied to.\n";
    }
    let unreachable = unreachable_services(t);
    if !unreachable.is_empty() {
        out += &format!(
            "Not shown: the handoffs kept by {}, which did not answer.\n",
            unreachable.join(", ")
        );
    }
    out
}

/// Every pending deadline in the mesh (or of one unit), soonest first.
pub async fn deadlines(client: &MeshClient, unit: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let services = client.service_units().await.map_err(crate::status_error)?;
    deadlines_via(client, unit, &services).await
}

/// [`deadlines`], asking each service in `services` (as [`trace_via`]).
pub async fn deadlines_via(
    client: &MeshClient,
    unit: Option<&str>,
    services: &[(String, String)],
) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    for (_, via) in services {
        all.extend(
            client
                .deadlines(via, unit)
                .await
                .map_err(crate::status_error)?,
        );
    }
    all.sort_by_key(|d| (at(&d.due_time), d.timer_id.clone()));
    Ok(all
        .iter()
        .map(|d| {
            json!({"due_us": at(&d.due_time), "due": show_instant(at(&d.due_time)), "kind": d.kind,
                   "order_id": d.order_id, "unit": d.unit_id, "service": d.service, "timer_id": d.timer_id})
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace as `trace` builds it: a lead that went the whole way, a
    /// copy (never accepted: nulls in the JSON) and a lead not yet replied.
    fn sample() -> Value {
        json!({
            "order": "orders/HL26111600002", "state": "ORDER_STATE_DISPATCHED",
            "received": "2026-11-16 09:00:00", "due": "2026-11-17 09:00:00", "overdue": true,
            "steps": [
                {"business_s": 0.0, "since_previous_s": 0.0, "unit": "city", "action": "received", "detail": ""},
                {"business_s": 0.04, "since_previous_s": 0.04, "unit": "city", "action": "dispatched", "detail": "t-harbour:lead d-riverside:copy"},
                {"business_s": 7500.0, "since_previous_s": 7499.96, "unit": "t-harbour", "action": "replied", "detail": "resolved"},
            ],
            "handoffs": [
                {"business_s": 0.01, "from": "city", "to": "t-harbour", "call": "DeliverAssignment", "rpc_latency_ms": 3.27, "attempts": 1},
                {"business_s": 93600.0, "from": "d-riverside-long-name", "to": "city", "call": "RecordEscalationEvent", "rpc_latency_ms": 512.0, "attempts": 12},
            ],
            "assignments": [
                {"unit": "t-harbour", "role": "ASSIGNMENT_ROLE_LEAD", "epoch": 1, "dispatch_to_accept_s": 1800.0,
                 "accept_to_contact_s": 300.0, "dispatch_to_reply_s": 7500.0, "due": "2026-11-17 09:00:00"},
                {"unit": "d-riverside", "role": "ASSIGNMENT_ROLE_COPY", "epoch": 1, "dispatch_to_accept_s": null,
                 "accept_to_contact_s": null, "dispatch_to_reply_s": null, "due": null},
                {"unit": "dept-urban", "role": "ASSIGNMENT_ROLE_LEAD", "epoch": 12, "dispatch_to_accept_s": 90.0,
                 "accept_to_contact_s": null, "dispatch_to_reply_s": null, "due": "2026-11-23 18:00:00"},
            ],
            "unreachable_services": [],
        })
    }

    /// The display columns of each column rule, per table line.
    fn rules(text: &str) -> Vec<Vec<usize>> {
        text.lines()
            .filter(|l| l.contains(['│', '┼']))
            .map(|l| {
                l.chars()
                    .enumerate()
                    .filter(|(_, c)| matches!(c, '│' | '┼'))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_trace_reads_without_nulls_and_in_aligned_columns() {
        let text = trace_text(&sample());
        assert!(!text.contains("null"), "{text}");
        // Three tables; within each, every row's rules at the same columns.
        let tables: Vec<&str> = text.split("\n\n").skip(1).collect();
        assert_eq!(tables.len(), 3, "{text}");
        for t in tables {
            let r = rules(t);
            assert!(r.len() >= 3, "a header, its rule and rows: {t}");
            assert!(r.iter().all(|row| row == &r[0]), "{t}");
        }
        // Durations in human form; a step never reached is a dash, and
        // the copy is explained.
        for want in [
            "2 h 05 min",
            "30 min",
            "3.3 ms",
            "512 ms",
            "1 d 2 h",
            "40 ms",
        ] {
            assert!(text.contains(want), "{want} in {text}");
        }
        let copy = text
            .lines()
            .find(|l| l.trim_start().starts_with("d-riverside"))
            .expect("the copy's row");
        assert_eq!(copy.matches('—').count(), 4, "{copy}");
        assert!(text.contains("A copy informs its unit only"), "{text}");
        assert!(text.starts_with(
            "orders/HL26111600002 is dispatched: received 2026-11-16 09:00:00, due 2026-11-17 09:00:00 and overdue."
        ), "{text}");
    }
}

//! Where an order's time went, and every deadline still pending, read
//! through a running gateway (`hotline trace ORDER`, `hotline deadlines`).

use hotline_proto::v1::*;
use hotline_runtime::wire::micros;
use serde_json::{Value, json};

use crate::MeshClient;
use crate::instant::show_instant;

fn at(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref().map(micros).unwrap_or_default()
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
    for (service, unit) in client.service_units().await.map_err(crate::status_error)? {
        match client.handoffs(&unit, order_id).await {
            Ok(hs) => handoffs.extend(hs),
            Err(_) => unreachable.push(service),
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
                "due": show_instant(at(&a.due_time)),
            })
        })
        .collect();
    Ok(json!({
        "order": order.name,
        "state": OrderState::try_from(order.state).map(|s| s.as_str_name()).unwrap_or(""),
        "received": show_instant(received),
        "due": show_instant(at(&order.due_time)),
        "overdue": order.overdue,
        "steps": steps,
        "handoffs": handoffs,
        "assignments": assignments,
        "unreachable_services": unreachable,
    }))
}

pub fn print_trace(t: &Value) {
    println!(
        "{}  {}  received {}  due {}{}",
        t["order"].as_str().unwrap_or(""),
        t["state"].as_str().unwrap_or(""),
        t["received"].as_str().unwrap_or(""),
        t["due"].as_str().unwrap_or(""),
        if t["overdue"] == true {
            "  OVERDUE"
        } else {
            ""
        }
    );
    println!("steps (business time since intake):");
    for s in t["steps"].as_array().into_iter().flatten() {
        println!(
            "  {:>10}s  {:<16} {:<24} {}",
            s["business_s"],
            s["unit"].as_str().unwrap_or(""),
            s["action"].as_str().unwrap_or(""),
            s["detail"].as_str().unwrap_or("")
        );
    }
    println!("handoffs (through the gateway):");
    for h in t["handoffs"].as_array().into_iter().flatten() {
        println!(
            "  {:>10}s  {:>16} → {:<16} {:<24} {} ms, {} attempt(s)",
            h["business_s"],
            h["from"].as_str().unwrap_or(""),
            h["to"].as_str().unwrap_or(""),
            h["call"].as_str().unwrap_or(""),
            h["rpc_latency_ms"],
            h["attempts"]
        );
    }
    println!("assignments:");
    for a in t["assignments"].as_array().into_iter().flatten() {
        println!(
            "  {:<16} {:<28} epoch {}  dispatch→accept {}s  accept→contact {}s  dispatch→reply {}s",
            a["unit"].as_str().unwrap_or(""),
            a["role"].as_str().unwrap_or(""),
            a["epoch"],
            a["dispatch_to_accept_s"],
            a["accept_to_contact_s"],
            a["dispatch_to_reply_s"]
        );
    }
}

/// Every pending deadline in the mesh (or of one unit), soonest first.
pub async fn deadlines(client: &MeshClient, unit: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    for (_, via) in client.service_units().await.map_err(crate::status_error)? {
        all.extend(
            client
                .deadlines(&via, unit)
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

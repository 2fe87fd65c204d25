//! Orders, proactive problems and tasks as JSON and readable text: what
//! `hotline order`, `hotline proactive`, `hotline export` and the demo
//! print.

use hotline_proto::v1::*;
use serde_json::{Value, json};

/// An order state's proto name without its prefix (`DISPATCHED`).
pub fn state_name(s: i32) -> &'static str {
    OrderState::try_from(s)
        .map(|s| s.as_str_name().trim_start_matches("ORDER_STATE_"))
        .unwrap_or("?")
}

/// A timestamp as UTC microseconds, or null.
pub fn micros_json(t: &Option<prost_types::Timestamp>) -> Value {
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
        "received_us": micros_json(&o.received_time),
        "due_us": micros_json(&o.due_time),
        "closed_us": micros_json(&o.closed_time),
        "reopen_count": o.reopen_count,
        "seq": o.seq,
        "callback": o.callback.as_ref().map(|c| json!({"resolved": c.resolved, "satisfaction": Satisfaction::try_from(c.satisfaction).map(|s| s.as_str_name()).unwrap_or("")})),
        "assignments": o.assignments.iter().map(|a| json!({
            "unit": a.unit_id,
            "role": AssignmentRole::try_from(a.role).map(|r| r.as_str_name()).unwrap_or(""),
            "state": AssignmentState::try_from(a.state).map(|s| s.as_str_name()).unwrap_or(""),
            "epoch": a.epoch,
            "due_us": micros_json(&a.due_time),
            "outcome": ReplyOutcome::try_from(a.outcome).map(|s| s.as_str_name()).unwrap_or(""),
        })).collect::<Vec<_>>(),
        "history": o.history.iter().map(|h| json!({"seq": h.seq, "time_us": micros_json(&h.time), "unit": h.actor_unit, "action": h.action, "detail": h.detail})).collect::<Vec<_>>(),
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

/// An exported order as one JSON line: the demo's order view and the
/// request text (requester name and phone masked by the centre).
pub fn export_json(o: &Order) -> serde_json::Value {
    let mut v = order_json(o);
    v["text"] = serde_json::Value::String(o.text.clone());
    v["replies"] = o
        .assignments
        .iter()
        .filter(|a| !a.reply_text.is_empty())
        .map(|a| serde_json::json!({"unit": a.unit_id, "text": a.reply_text}))
        .collect();
    v
}

fn risk_name(r: i32) -> String {
    RiskLevel::try_from(r)
        .map(|r| {
            r.as_str_name()
                .trim_start_matches("RISK_LEVEL_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

/// A problem as JSON: its counts, the four degrees and the risk level.
pub fn problem_json(p: &Problem) -> Value {
    let d = p.degrees.unwrap_or_default();
    let s = p.shares.unwrap_or_default();
    json!({
        "category_code": p.category_code,
        "category_name": p.category_name,
        "area_unit": p.area_unit,
        "count": p.count,
        "baseline": p.baseline,
        "earlier_years": p.earlier_years,
        "high_frequency": p.high_frequency,
        "periodic": p.periodic,
        "seasons": p.seasons,
        "repeat_requesters": p.repeat_requesters,
        "repeat_locations": p.repeat_locations,
        "people": p.people,
        "units": p.units,
        "shares": {"overdue": s.overdue, "reopened": s.reopened, "disputed": s.disputed, "escalated": s.escalated, "any": s.any},
        "degrees": {"frequency": d.frequency, "breadth": d.breadth, "intensity": d.intensity, "difficulty": d.difficulty},
        "risk_score": p.risk_score,
        "risk_level": risk_name(p.risk_level),
    })
}

pub fn analysis_json(r: &AnalyzeProblemsResponse) -> Value {
    json!({
        "area_unit": r.area_unit,
        "month": r.month,
        "window_start_us": micros_json(&r.window_start_time),
        "window_end_us": micros_json(&r.window_end_time),
        "requests": r.requests,
        "problems": r.problems.iter().map(problem_json).collect::<Vec<_>>(),
        "focus_townships": r.focus_townships.iter().map(|f| json!({
            "unit_id": f.unit_id, "volume": f.volume, "population": f.population,
            "per_ten_thousand": f.per_ten_thousand,
        })).collect::<Vec<_>>(),
    })
}

/// The analysis as a readable table.
pub fn analysis_text(r: &AnalyzeProblemsResponse) -> String {
    let mut out = format!(
        "Proactive analysis of {} for {} ({} requests)\n",
        r.area_unit, r.month, r.requests
    );
    out += &format!(
        "{:<4} {:<24} {:<14} {:>5} {:>8}  {:<7} {:>5}  {:<9} flags\n",
        "rank", "category", "area", "count", "baseline", "F B I D", "score", "risk"
    );
    for (i, p) in r.problems.iter().enumerate() {
        let d = p.degrees.unwrap_or_default();
        let mut flags = Vec::new();
        if p.high_frequency {
            flags.push("high-frequency".to_string());
        }
        if p.periodic {
            flags.push("periodic".to_string());
        }
        flags.extend(p.seasons.iter().map(|s| format!("season:{s}")));
        if p.repeat_requesters > 0 {
            flags.push(format!("repeat-requesters:{}", p.repeat_requesters));
        }
        if p.repeat_locations > 0 {
            flags.push(format!("repeat-places:{}", p.repeat_locations));
        }
        out += &format!(
            "{:<4} {:<24} {:<14} {:>5} {:>8.1}  {} {} {} {} {:>5}  {:<9} {}\n",
            i + 1,
            p.category_code,
            p.area_unit,
            p.count,
            p.baseline,
            d.frequency,
            d.breadth,
            d.intensity,
            d.difficulty,
            p.risk_score,
            risk_name(p.risk_level),
            flags.join(" ")
        );
    }
    if !r.focus_townships.is_empty() {
        out += "Focus townships (requests per 10,000 people):";
        for f in &r.focus_townships {
            out += &format!(
                " {} {:.2} ({} / {})",
                f.unit_id, f.per_ten_thousand, f.volume, f.population
            );
        }
        out += "\n";
    }
    out
}

/// A task's state in lower case (`in_progress`), or empty.
fn task_state(s: i32) -> String {
    OrderState::try_from(s)
        .map(|_| state_name(s).to_lowercase())
        .unwrap_or_default()
}

pub fn task_json(t: &ProactiveTask) -> Value {
    let e = t.effect.unwrap_or_default();
    json!({
        "order_id": t.order_id,
        "issuer_unit": t.issuer_unit,
        "area_unit": t.area_unit,
        "category_code": t.category_code,
        "issued_us": micros_json(&t.issued_time),
        "due_us": micros_json(&t.due_time),
        "state": task_state(t.state),
        "assignment_state": AssignmentState::try_from(t.assignment_state).map(|s| s.as_str_name().trim_start_matches("ASSIGNMENT_STATE_").to_lowercase()).unwrap_or_default(),
        "replied_us": micros_json(&t.replied_time),
        "overdue": t.overdue,
        "effect": {"window_days": e.window_days, "before": e.before, "after": e.after, "after_complete": e.after_complete},
    })
}

pub fn task_text(t: &ProactiveTask) -> String {
    let e = t.effect.unwrap_or_default();
    format!(
        "{} {} → {} [{}] {}{}; matching requests {} days before: {}, after: {}{}",
        t.order_id,
        t.issuer_unit,
        t.area_unit,
        t.category_code,
        task_state(t.state),
        if t.overdue { " (overdue)" } else { "" },
        e.window_days,
        e.before,
        e.after,
        if e.after_complete { "" } else { " so far" }
    )
}

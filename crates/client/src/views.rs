//! Orders, proactive problems and tasks as JSON and readable text: what
//! `hotline order`, `hotline proactive`, `hotline export` and the demo
//! print.

use hotline_proto::v1::*;
use serde_json::{Value, json};

use crate::table::Table;

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

/// A proto enum name as a word: `ASSIGNMENT_ROLE_LEAD` → `lead`.
fn word(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix)
        .to_lowercase()
        .replace('_', " ")
}

/// An order as readable text: what it is, then its assignments and its
/// history as tables.
pub fn order_text(o: &Order) -> String {
    let or_dash = |s: &str| {
        if s.is_empty() {
            "—".to_string()
        } else {
            s.to_string()
        }
    };
    let mut s = format!(
        "{} is {}: {} ({}).\nAddress: {}; territory: {}; requester: {}.\n",
        o.name,
        word(state_name(o.state), ""),
        o.category_code,
        o.category_name,
        or_dash(&o.address),
        or_dash(&o.territory_unit),
        o.requester_ref
    );
    if let Some(l) = &o.location {
        s += &format!(
            "Location: {}, {} in community {}; near the boundary of: {}.\n",
            l.latitude,
            l.longitude,
            or_dash(&o.community_unit),
            or_dash(&o.near_boundary_units.join(", "))
        );
    }
    if !o.answer.is_empty() {
        s += &format!("Answer: {}\n", o.answer);
    }
    if !o.assignments.is_empty() {
        let mut t = Table::new(["unit", "role", "state", "epoch"]).right(&[3]);
        for a in &o.assignments {
            let name = |n: Option<&str>, prefix| word(n.unwrap_or(""), prefix);
            t.row([
                a.unit_id.clone(),
                name(
                    AssignmentRole::try_from(a.role)
                        .ok()
                        .map(|r| r.as_str_name()),
                    "ASSIGNMENT_ROLE_",
                ),
                name(
                    AssignmentState::try_from(a.state)
                        .ok()
                        .map(|r| r.as_str_name()),
                    "ASSIGNMENT_STATE_",
                ),
                a.epoch.to_string(),
            ]);
        }
        s += &format!("Assignments:\n{t}");
    }
    let mut t = Table::new(["#", "unit", "action", "detail"]).right(&[0]);
    for h in &o.history {
        t.row([
            h.seq.to_string(),
            h.actor_unit.clone(),
            h.action.clone(),
            h.detail.clone(),
        ]);
    }
    s += &format!("History:\n{t}");
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
        "Proactive analysis of {} for {}: {} requests, problems ranked by risk. \
         Each degree runs 1 to 4 and the risk score is their sum; the baseline is the mean \
         count of the windows before.\n",
        r.area_unit, r.month, r.requests
    );
    let mut t = Table::new([
        "rank",
        "category",
        "area",
        "requests",
        "baseline",
        "frequency",
        "breadth",
        "intensity",
        "difficulty",
        "risk score",
        "risk",
        "flags",
    ])
    .right(&[0, 3, 4, 5, 6, 7, 8, 9]);
    for (i, p) in r.problems.iter().enumerate() {
        let d = p.degrees.unwrap_or_default();
        let mut flags = Vec::new();
        if p.high_frequency {
            flags.push("high frequency".to_string());
        }
        if p.periodic {
            flags.push("periodic".to_string());
        }
        flags.extend(p.seasons.iter().map(|s| format!("{s} season")));
        if p.repeat_requesters > 0 {
            flags.push(format!("repeat requesters: {}", p.repeat_requesters));
        }
        if p.repeat_locations > 0 {
            flags.push(format!("repeat places: {}", p.repeat_locations));
        }
        t.row([
            (i + 1).to_string(),
            p.category_code.clone(),
            p.area_unit.clone(),
            p.count.to_string(),
            format!("{:.1}", p.baseline),
            d.frequency.to_string(),
            d.breadth.to_string(),
            d.intensity.to_string(),
            d.difficulty.to_string(),
            p.risk_score.to_string(),
            risk_name(p.risk_level),
            flags.join(", "),
        ]);
    }
    out += &t.to_string();
    if !r.focus_townships.is_empty() {
        let focus: Vec<String> = r
            .focus_townships
            .iter()
            .map(|f| {
                format!(
                    "{} {:.2} ({} requests, {} people)",
                    f.unit_id, f.per_ten_thousand, f.volume, f.population
                )
            })
            .collect();
        out += &format!(
            "Focus townships, by requests per 10,000 people: {}.\n",
            focus.join("; ")
        );
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
        "{} from {} to {} on {} is {}{}; matching requests in the {} days before it: {}, after it: {}{}",
        t.order_id,
        t.issuer_unit,
        t.area_unit,
        t.category_code,
        task_state(t.state).replace('_', " "),
        if t.overdue { " and overdue" } else { "" },
        e.window_days,
        e.before,
        e.after,
        if e.after_complete { "" } else { " so far" }
    )
}

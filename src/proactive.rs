//! `hotline proactive`: problem analysis and proactive tasks through a
//! running gateway, and their text and JSON forms (the demo prints the
//! same).

use clap::Subcommand;
use hotline_proto::v1::*;
use serde_json::{Value, json};

use crate::client::request_id;
use crate::client::status_error;
use crate::identity::GatewayArg;
use hotline_node::parse_instant;

#[derive(Subcommand)]
pub enum ProactiveCommand {
    /// Problems of an area ranked by risk (problem-of-the-month
    /// candidates), with their four degrees, and the focus townships.
    Analyze {
        /// Who asks: the city or a district (it sees only its subtree).
        #[arg(long, default_value = "city")]
        unit: String,
        /// The area analysed (city, district or township); the unit itself
        /// when unset.
        #[arg(long, default_value = "")]
        area: String,
        /// YYYY-MM, the last month of the window; this month when unset.
        #[arg(long, default_value = "")]
        month: String,
        /// How many problems; the policy's number when 0.
        #[arg(long, default_value_t = 0)]
        top: i32,
        #[command(flatten)]
        at: GatewayArg,
        #[arg(long)]
        json: bool,
    },
    /// Proactive tasks the unit may see, with matching requests before
    /// and after each one's issue.
    Tasks {
        #[arg(long, default_value = "city")]
        unit: String,
        #[command(flatten)]
        at: GatewayArg,
        #[arg(long)]
        json: bool,
    },
    /// Issue a proactive task to a district, township or community.
    Issue {
        /// Who issues: the city or a district.
        #[arg(long, default_value = "city")]
        unit: String,
        /// Catalogue code the task is about, e.g. heating.no_heat.
        #[arg(long)]
        category: String,
        /// The unit that carries it out.
        #[arg(long)]
        area: String,
        /// What to do.
        #[arg(long = "do")]
        instructions: String,
        /// Deadline, YYYY-MM-DDTHH:MM (Asia/Shanghai) or UTC microseconds.
        #[arg(long)]
        due: String,
        /// Idempotency key; a fresh one when unset.
        #[arg(long)]
        request_id: Option<String>,
        #[command(flatten)]
        at: GatewayArg,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: ProactiveCommand) -> anyhow::Result<()> {
    match command {
        ProactiveCommand::Analyze {
            unit,
            area,
            month,
            top,
            at,
            json,
        } => {
            let c = at.client()?;
            let r = c
                .analyze_problems(&unit, &area, &month, top)
                .await
                .map_err(status_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&analysis_json(&r))?);
            } else {
                print!("{}", analysis_text(&r));
            }
        }
        ProactiveCommand::Tasks { unit, at, json } => {
            let c = at.client()?;
            let tasks = c.tasks(&unit).await.map_err(status_error)?;
            if json {
                let all: Vec<Value> = tasks.iter().map(task_json).collect();
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if tasks.is_empty() {
                println!("no proactive tasks");
            } else {
                for t in &tasks {
                    println!("{}", task_text(t));
                }
            }
        }
        ProactiveCommand::Issue {
            unit,
            category,
            area,
            instructions,
            due,
            request_id: rid,
            at,
            json,
        } => {
            let c = at.client()?;
            let req = CreateProactiveTaskRequest {
                request_id: rid.unwrap_or_else(request_id),
                category_code: category,
                area_unit: area,
                instructions,
                due_time: Some(hotline_runtime::wire::ts(parse_instant(&due)?)),
            };
            let t = c.create_task(&unit, req).await.map_err(status_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&task_json(&t))?);
            } else {
                println!("{}", task_text(&t));
            }
        }
    }
    Ok(())
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

fn micros(t: &Option<prost_types::Timestamp>) -> Value {
    t.as_ref()
        .map(|t| json!(t.seconds * 1_000_000 + t.nanos as i64 / 1000))
        .unwrap_or(Value::Null)
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
        "window_start_us": micros(&r.window_start_time),
        "window_end_us": micros(&r.window_end_time),
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

fn state_name(s: i32) -> String {
    OrderState::try_from(s)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("ORDER_STATE_")
                .to_lowercase()
        })
        .unwrap_or_default()
}

pub fn task_json(t: &ProactiveTask) -> Value {
    let e = t.effect.unwrap_or_default();
    json!({
        "order_id": t.order_id,
        "issuer_unit": t.issuer_unit,
        "area_unit": t.area_unit,
        "category_code": t.category_code,
        "issued_us": micros(&t.issued_time),
        "due_us": micros(&t.due_time),
        "state": state_name(t.state),
        "assignment_state": AssignmentState::try_from(t.assignment_state).map(|s| s.as_str_name().trim_start_matches("ASSIGNMENT_STATE_").to_lowercase()).unwrap_or_default(),
        "replied_us": micros(&t.replied_time),
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
        state_name(t.state),
        if t.overdue { " (overdue)" } else { "" },
        e.window_days,
        e.before,
        e.after,
        if e.after_complete { "" } else { " so far" }
    )
}

//! `hotline proactive`: problem analysis and proactive tasks through a
//! running gateway, and their text and JSON forms (the demo prints the
//! same).

use clap::Subcommand;
use hotline_proto::v1::*;
use serde_json::Value;

use crate::client::digest::{sweep_json, sweep_text};
use crate::client::request_id;
use crate::client::status_error;
use crate::client::views::{analysis_json, analysis_text, task_json, task_text};
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
    /// 举一反三: from a task resolved at its root, the same problem open or
    /// recent in other townships (same item, similar wording, same place
    /// type), with a task proposed for each; --issue sends them.
    Sweep {
        /// Who sweeps and issues: the city or a district (its subtree only).
        #[arg(long, default_value = "city")]
        unit: String,
        /// The proactive task its unit replied resolved (an order id).
        #[arg(long)]
        task: String,
        /// Days back a request counts as recent (open ones always count);
        /// 30 when 0.
        #[arg(long, default_value_t = 0)]
        window_days: u32,
        /// The least similarity of wording, 0 to 1; 0.3 when 0.
        #[arg(long, default_value_t = 0.0)]
        min_similarity: f64,
        /// Issue the proposals as proactive tasks.
        #[arg(long)]
        issue: bool,
        /// When issued tasks are due, YYYY-MM-DDTHH:MM (Asia/Shanghai) or
        /// UTC microseconds; the general time limit from now when unset.
        #[arg(long, requires = "issue")]
        due: Option<String>,
        /// Idempotency key of an issuing sweep; a fresh one when unset.
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
        ProactiveCommand::Sweep {
            unit,
            task,
            window_days,
            min_similarity,
            issue,
            due,
            request_id: rid,
            at,
            json,
        } => {
            let c = at.client()?;
            let req = SweepSimilarRequest {
                request_id: match (rid, issue) {
                    (Some(id), _) => id,
                    (None, true) => request_id(),
                    (None, false) => String::new(),
                },
                source: format!("orders/{}", task.trim_start_matches("orders/")),
                window_days,
                min_similarity,
                issue,
                due_time: due
                    .map(|d| parse_instant(&d).map(hotline_runtime::wire::ts))
                    .transpose()?,
            };
            let r = c.sweep_similar(&unit, req).await.map_err(status_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sweep_json(&r))?);
            } else {
                print!("{}", sweep_text(&r));
            }
        }
    }
    Ok(())
}

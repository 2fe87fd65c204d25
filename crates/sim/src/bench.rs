//! `hotline bench simulate`: how fast the simulator drives the real mesh —
//! simulated contacts and dispatched orders per wall-clock second — for
//! each transport and backend, with the durability settings stated.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{SimulateArgs, Transport};
use hotline_node::mesh::SqliteSync;

#[derive(Args, Clone, Debug)]
pub struct BenchSimulateArgs {
    /// A scenario name from scenarios/ (`beijing`, `demo`, …) or a
    /// scenario file's path.
    #[arg(long, default_value = "beijing")]
    pub scenario: PathBuf,
    /// Simulated hours per run (from the scenario's start).
    #[arg(long, default_value_t = 2.0)]
    pub hours: f64,
    /// Transports to measure.
    #[arg(long, value_enum, num_args = 1.., default_values = ["grpc", "inproc"])]
    pub transport: Vec<Transport>,
    /// Also measure on PostgreSQL at this server URL (scratch databases,
    /// dropped after).
    #[arg(long)]
    pub db: Option<String>,
    /// SQLite settings to measure (see `simulate --sqlite-synchronous`).
    #[arg(long, value_enum, num_args = 1.., default_values = ["normal", "off"])]
    pub sqlite_synchronous: Vec<SqliteSync>,
    #[arg(long)]
    pub json: bool,
}

const POSTGRES_DURABILITY: &str = "PostgreSQL as the server is configured (here: fsync on, synchronous_commit on): a commit is on disk before the call returns";

pub async fn run(a: BenchSimulateArgs) -> anyhow::Result<()> {
    // (PostgreSQL server URL, SQLite setting) of each backend measured.
    let mut backends: Vec<(Option<String>, SqliteSync)> =
        a.sqlite_synchronous.iter().map(|s| (None, *s)).collect();
    if let Some(url) = &a.db {
        backends.push((Some(url.clone()), SqliteSync::Normal));
    }
    let mut rows = Vec::new();
    for (db, sync) in &backends {
        let durability = match db {
            Some(_) => POSTGRES_DURABILITY,
            None => sync.durability(),
        };
        for t in &a.transport {
            let scratch = db.as_ref().map(|u| {
                // A scratch database's name guards nothing.
                #[allow(clippy::disallowed_methods)]
                let name = format!("hlbench{}x{:08x}", std::process::id(), fastrand::u32(..));
                (hotline_store::with_database(u, &name), name)
            });
            let db_url = match &scratch {
                Some((url, _)) => Some(
                    url.as_ref()
                        .map_err(|e| anyhow::anyhow!("db: {e}"))?
                        .clone(),
                ),
                None => None,
            };
            let args = SimulateArgs {
                scenario: Some(a.scenario.clone()),
                compare: None,
                days: Some(a.hours / 24.0),
                seed: None,
                json: None,
                html: None,
                data_dir: None,
                db: db_url.clone(),
                transport: *t,
                sqlite_synchronous: *sync,
                quiet: true,
                seeds: 1,
                sensitivity: false,
                vary: Vec::new(),
                per_day: None,
                // The arrivals' span only: what the mesh sustains under
                // intake, not the quiet days after.
                settle_days: Some(0.0),
                triage: false,
            };
            let r = super::run_scenario(&a.scenario, &args).await;
            if let Some(url) = &db_url {
                for s in [
                    "city",
                    "district",
                    "township",
                    "community",
                    "department",
                    "central",
                ] {
                    let name = url.rsplit('/').next().unwrap_or("hotline");
                    if let Ok(u) = hotline_store::with_database(url, &format!("{name}_{s}")) {
                        let _ = hotline_store::scratch::drop_url(&u).await;
                    }
                }
            }
            let r = r?;
            let tm = &r.timings;
            let row = json!({
                "scenario": r.summary.scenario,
                "simulated_hours": a.hours,
                "transport": tm.transport,
                "backend": tm.backend,
                "durability": durability,
                "contacts": r.summary.volume["contacts"],
                "dispatched_orders": r.summary.volume["dispatched"],
                "seconds": tm.simulate_seconds,
                "contacts_per_second": tm.contacts_per_second,
                "dispatched_orders_per_second": tm.dispatched_orders_per_second,
                "rpcs_per_second": tm.rpcs_per_second,
                "advance_seconds": tm.advance_seconds,
                "submit_seconds": tm.submit_seconds,
                "behaviour_seconds": tm.behaviour_seconds,
                "cpu_seconds": tm.cpu_seconds,
                "cpu_ms_per_contact": tm.cpu_ms_per_contact,
                "gateway_calls": tm.gateway_calls,
                "gateway_calls_per_contact": tm.gateway_calls_per_contact,
            });
            if !a.json {
                println!(
                    "{:<7} {:<22} {:>7} contacts, {:>6} dispatched in {:>7.1} s: {:>7.1} contacts/s, {:>6.1} dispatched orders/s (advance {:.1} s, submit {:.1} s, behaviours {:.1} s)",
                    tm.transport,
                    tm.backend,
                    row["contacts"],
                    row["dispatched_orders"],
                    tm.simulate_seconds,
                    tm.contacts_per_second,
                    tm.dispatched_orders_per_second,
                    tm.advance_seconds,
                    tm.submit_seconds,
                    tm.behaviour_seconds
                );
                println!("        {}", super::report::cost_line(tm));
                println!("        durability: {durability}");
            }
            rows.push(row);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(())
}

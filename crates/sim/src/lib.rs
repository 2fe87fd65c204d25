//! `hotline simulate`: a virtual city driving the real mesh on a virtual
//! clock (DESIGN.md §4, §9). See docs/simulation.md.

pub mod arrivals;
pub mod behaviour;
pub mod bench;
pub mod driver;
pub mod evidence;
pub mod html;
pub mod rates;
pub mod report;
pub mod scenario;
pub mod transport;
pub mod triage;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use hotline_proto::v1 as pb;
use serde_json::json;

use arrivals::{DAY, Generator, MINUTE};
use driver::Driver;
use report::{Report, Timings};
use scenario::Scenario;
pub use transport::Transport;

#[derive(Args, Clone, Debug)]
pub struct SimulateArgs {
    /// A scenario name from scenarios/ (`beijing`, `demo`, `disputes`, …)
    /// or a scenario file's path (TOML).
    #[arg(long, required_unless_present = "compare")]
    pub scenario: Option<PathBuf>,
    /// Run two scenarios (names or paths) with the same seed and show
    /// them side by side.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "scenario")]
    pub compare: Option<Vec<PathBuf>>,
    /// Simulated days (the scenario's when unset).
    #[arg(long)]
    pub days: Option<f64>,
    /// Seed of the synthetic city (the scenario's when unset).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the JSON report here (`-` for standard output).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Keep the services' databases here, for `hotline up --data-dir D`
    /// afterwards; a temporary directory when unset.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL server URL instead of SQLite files; each service gets
    /// database `{name}_{service}`.
    #[arg(long)]
    pub db: Option<String>,
    #[arg(long, value_enum, default_value = "grpc")]
    pub transport: Transport,
    /// SQLite stores: `off` leaves out the fsync at each WAL checkpoint
    /// (a commit still survives a process crash, not an OS crash) — for a
    /// simulation's scratch data; `normal` is the services' default.
    #[arg(long, value_enum, default_value = "normal")]
    pub sqlite_synchronous: hotline_node::mesh::SqliteSync,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Runs per scenario, with seeds S, S+1, …: every output is reported
    /// with its mean and 95 % interval over them, and `--compare` says
    /// whether the two scenarios differ beyond that interval.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub seeds: u32,
    /// Also runs each calibrated input at −20 % and +20 %, dual dispatch
    /// off, and the whistle off (the out-of-sample check), each on the
    /// same seeds, and reports how the outputs move.
    #[arg(long, conflicts_with = "compare")]
    pub sensitivity: bool,
    /// With `--sensitivity`, moves only this input (repeatable; every
    /// input in the table when unset).
    #[arg(long, requires = "sensitivity")]
    pub vary: Vec<String>,
    /// Contacts a day (the scenario's `arrivals.per_day` when unset).
    #[arg(long)]
    pub per_day: Option<f64>,
    /// Days the clock runs on after the arrivals (the scenario's
    /// `settle_days` when unset).
    #[arg(long)]
    pub settle_days: Option<f64>,
    /// Requests come as callers' words without a code and the centre
    /// triages them (as the scenario's `triage = true`).
    #[arg(long)]
    pub triage: bool,
}

/// One simulation run on its own mesh.
pub async fn simulate(
    scenario: &Scenario,
    a: &SimulateArgs,
    data_dir: &std::path::Path,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let seed = a.seed.unwrap_or(scenario.seed);
    let days = a.days.unwrap_or(scenario.days);
    let start = hotline_node::parse_instant(&scenario.start)?;
    let end = start + (days * DAY as f64) as i64;
    let topo_path = transport::write_topology(data_dir, &scenario.merged_topology(data_dir)?)?;
    let topology = transport::load(&topo_path)?;
    let mesh = transport::Running::start(
        a.transport,
        topo_path.clone(),
        data_dir.to_path_buf(),
        a.db.clone(),
        a.sqlite_synchronous,
        start,
    )
    .await?;
    let result = run_on(&mesh, &topology, scenario, a, seed, start, end, started).await;
    mesh.stop().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn run_on(
    mesh: &transport::Running,
    topology: &hotline_core::Topology,
    scenario: &Scenario,
    a: &SimulateArgs,
    seed: u64,
    start: i64,
    end: i64,
    started: Instant,
) -> anyhow::Result<Report> {
    let client = mesh.client()?;
    let mut arrivals_gen = Generator::new(
        topology,
        &scenario.arrivals,
        &scenario.proactive,
        seed,
        start,
    );
    // The driver issues each task through ProactiveService.CreateProactiveTask
    // at its virtual time; the arrival generator lowers matching arrivals
    // by the task's effect.
    let mut driver = Driver::new(client.clone(), topology, scenario, start, seed);
    driver.services = client
        .service_units()
        .await?
        .into_iter()
        .map(|(_, unit)| unit)
        .collect();
    driver.seed_knowledge(&arrivals_gen).await?;
    let settle_end = end + (scenario.settle_days * DAY as f64) as i64;
    let step = (scenario.step_minutes * MINUTE as f64) as i64;
    let to_stdout = a.json.as_deref() == Some(std::path::Path::new("-"));
    let bar = progress(
        !a.quiet && !to_stdout && std::io::stderr().is_terminal(),
        settle_end - start,
    );
    let cpu_before = mesh.cpu_seconds();
    let calls_before = client.stats().await?.calls;
    let sim_started = Instant::now();
    while driver.now < settle_end {
        let arrive = driver.now < end;
        if !arrive && driver.pending_events() == 0 {
            break;
        }
        // While settling, a step reaches the next behaviour event's step
        // (an hour at most, so the services' timers still fire within the
        // hour they fall due): the quiet days cost no empty steps.
        let len = if arrive {
            step.min(end - driver.now)
        } else {
            let next = driver
                .next_due()
                .unwrap_or(settle_end)
                .max(driver.now + step);
            let grid = start + (next - start + step - 1).div_euclid(step) * step;
            (grid - driver.now)
                .clamp(step, 6 * step)
                .min(settle_end - driver.now)
        };
        driver.step(&mut arrivals_gen, len, arrive).await?;
        let day_done =
            (driver.now - start).div_euclid(DAY) > (driver.now - len - start).div_euclid(DAY);
        if day_done || driver.now == end || driver.now >= settle_end {
            driver::advance(&client, &driver.services, driver.now).await?;
            let mut point = rates::city_point(&client, driver.now).await?;
            point["day"] = json!((driver.now - start) as f64 / DAY as f64);
            driver.activity.rates_over_time.push(point);
        }
        if let Some(b) = &bar {
            let secs = sim_started.elapsed().as_secs_f64().max(1e-3);
            b.set_position((driver.now - start) as u64);
            b.set_message(format!(
                "{} · {} requests · {} dispatched · {:.0} orders/s",
                hotline_node::show_instant(driver.now),
                driver.activity.contacts,
                driver.activity.initial_leads.values().sum::<u64>(),
                driver.activity.contacts as f64 / secs
            ));
        }
    }
    let finish = driver.now;
    driver::advance(&client, &driver.services, finish).await?;
    let simulate_seconds = sim_started.elapsed().as_secs_f64();
    let cpu: BTreeMap<String, f64> = mesh
        .cpu_seconds()
        .into_iter()
        .zip(cpu_before)
        .map(|((name, after), (_, before))| (name, round2(after - before)))
        .collect();
    let gateway_calls = client.stats().await?.calls.saturating_sub(calls_before);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut issued: BTreeMap<usize, Vec<serde_json::Value>> = BTreeMap::new();
    for (i, issuer, order_id) in &driver.activity.tasks {
        let t = client.task(issuer, order_id).await?;
        let effect = t.effect.unwrap_or_default();
        issued.entry(*i).or_default().push(json!({
            "order_id": t.order_id,
            "issuer": t.issuer_unit,
            "area": t.area_unit,
            "category_code": t.category_code,
            "state": pb::OrderState::try_from(t.state)
                .map(|s| s.as_str_name().trim_start_matches("ORDER_STATE_").to_lowercase())
                .unwrap_or_default(),
            "replied": t.replied_time.is_some(),
            "overdue": t.overdue,
            "matching_before": effect.before,
            "matching_after": effect.after,
            "window_days": effect.window_days,
        }));
    }
    let proactive = proactive_json(scenario, &arrivals_gen, &issued);
    let summary = report::collect(
        &client,
        topology,
        &driver.activity,
        scenario,
        start,
        end,
        finish,
        seed,
        proactive,
    )
    .await?;
    let dispatched = summary.volume["dispatched"].as_u64().unwrap_or(0) as f64;
    let secs = simulate_seconds.max(1e-6);
    let contacts = (driver.activity.contacts as f64).max(1.0);
    let timings = Timings {
        transport: format!("{:?}", a.transport).to_lowercase(),
        backend: match (&a.db, a.sqlite_synchronous) {
            (Some(_), _) => "postgresql",
            (None, hotline_node::mesh::SqliteSync::Normal) => "sqlite",
            (None, hotline_node::mesh::SqliteSync::Off) => "sqlite synchronous=off",
        }
        .into(),
        wall_seconds: round2(started.elapsed().as_secs_f64()),
        simulate_seconds: round2(simulate_seconds),
        contacts_per_second: round2(driver.activity.contacts as f64 / secs),
        dispatched_orders_per_second: round2(dispatched / secs),
        simulated_orders_per_second: round2(
            summary.volume["orders"].as_u64().unwrap_or(0) as f64 / secs,
        ),
        rpcs_per_second: round2(driver.activity.rpcs as f64 / secs),
        advance_seconds: round2(driver.activity.phase_seconds[0]),
        submit_seconds: round2(driver.activity.phase_seconds[1]),
        behaviour_seconds: round2(driver.activity.phase_seconds[2]),
        cpu_ms_per_contact: round2(cpu.values().sum::<f64>() * 1e3 / contacts),
        cpu_seconds: cpu,
        gateway_calls,
        gateway_calls_per_contact: round2(gateway_calls as f64 / contacts),
    };
    let mut r = Report {
        summary,
        timings,
        map_svg: String::new(),
        evidence: serde_json::Value::Null,
    };
    if a.html.is_some() {
        r.map_svg = html::volume_map(topology, &r);
    }
    Ok(r)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn progress(show: bool, span: i64) -> Option<indicatif::ProgressBar> {
    if !show {
        return None;
    }
    let b = indicatif::ProgressBar::new(span.max(1) as u64);
    b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}") {
        b.set_style(style);
    }
    Some(b)
}

fn proactive_json(
    s: &Scenario,
    arrivals_gen: &Generator,
    issued: &BTreeMap<usize, Vec<serde_json::Value>>,
) -> serde_json::Value {
    let tasks: Vec<_> = s
        .proactive
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let days: Vec<_> = arrivals_gen
                .proactive_days
                .range((i, i64::MIN)..=(i, i64::MAX))
                .map(|((_, d), (drawn, prevented))| {
                    json!({"day": d, "matching": drawn, "prevented": prevented})
                })
                .collect();
            let orders = issued.get(&i).cloned().unwrap_or_default();
            json!({"category": t.category, "area": t.area, "from_day": t.from_day, "effect": t.effect, "days": days, "issued": orders})
        })
        .collect();
    json!({
        "enabled": s.proactive.enabled,
        "issued_through": "ProactiveService.CreateProactiveTask",
        "tasks": tasks,
    })
}

/// Runs `scenario` once, keeping data in `--data-dir` or a temporary
/// directory.
pub async fn run_loaded(scenario: &Scenario, a: &SimulateArgs) -> anyhow::Result<Report> {
    let mut scenario = scenario.clone();
    if let Some(n) = a.per_day {
        anyhow::ensure!(n >= 0.0 && n.is_finite(), "--per-day: zero or more");
        scenario.arrivals.per_day = n;
    }
    if let Some(d) = a.settle_days {
        anyhow::ensure!(d >= 0.0 && d.is_finite(), "--settle-days: zero or more");
        scenario.settle_days = d;
    }
    scenario.triage |= a.triage;
    match &a.data_dir {
        Some(d) => simulate(&scenario, a, d).await,
        None => {
            let dir = tempfile::Builder::new().prefix("hotline-sim-").tempdir()?;
            simulate(&scenario, a, dir.path()).await
        }
    }
}

/// Runs the scenario file at `path` once.
pub async fn run_scenario(path: &std::path::Path, a: &SimulateArgs) -> anyhow::Result<Report> {
    run_loaded(&Scenario::load(path)?, a).await
}

/// The arguments of one run among several: its own data directory
/// (`D/TAG`) and its own databases (`{name}_TAG_{service}`).
fn tagged(a: &SimulateArgs, tag: &str) -> anyhow::Result<SimulateArgs> {
    let mut out = a.clone();
    if let Some(d) = &a.data_dir {
        out.data_dir = Some(d.join(tag));
    }
    if let Some(url) = &a.db {
        out.db = Some(hotline_store::with_database_suffix(url, tag)?);
    }
    Ok(out)
}

/// `--seeds N` runs of one scenario: the first run's report, and every
/// run's outputs.
async fn run_seeds(
    scenario: &Scenario,
    a: &SimulateArgs,
    tag: &str,
) -> anyhow::Result<(Report, Vec<u64>, Vec<evidence::Outputs>)> {
    let first_seed = a.seed.unwrap_or(scenario.seed);
    let mut first = None;
    let (mut seeds, mut outputs) = (Vec::new(), Vec::new());
    for i in 0..a.seeds as u64 {
        let seed = first_seed + i;
        let mut run = match (tag.is_empty(), a.seeds) {
            (true, 1) => a.clone(),
            (false, 1) => tagged(a, tag)?,
            _ => tagged(a, &format!("{tag}s{i}"))?,
        };
        run.seed = Some(seed);
        let r = run_loaded(scenario, &run).await?;
        seeds.push(seed);
        outputs.push(r.summary.outputs.clone());
        first.get_or_insert(r);
    }
    Ok((first.context("no run")?, seeds, outputs))
}

fn write_out(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

pub async fn main(a: SimulateArgs) -> anyhow::Result<()> {
    if let Some(pair) = &a.compare {
        // Each run on databases of its own: `{name}_a_{service}`, `{name}_b_…`.
        let (ra, _, oa) = run_seeds(&Scenario::load(&pair[0])?, &a, "a").await?;
        let (rb, _, ob) = run_seeds(&Scenario::load(&pair[1])?, &a, "b").await?;
        let mut cmp = html::compare_json(&ra, &rb);
        cmp["significance"] = evidence::significance(&oa, &ob);
        match a.json.as_deref() {
            Some(p) if p == std::path::Path::new("-") => {
                println!("{}", serde_json::to_string_pretty(&cmp)?)
            }
            Some(p) => write_out(p, &serde_json::to_string_pretty(&cmp)?)?,
            None => {}
        }
        if let Some(p) = &a.html {
            write_out(p, &html::compare_page(&ra, &rb))?;
        }
        if a.json.as_deref() != Some(std::path::Path::new("-")) {
            html::print_compare(&ra, &rb);
            report::print_significance(&cmp["significance"]);
        }
        return Ok(());
    }
    let path = a
        .scenario
        .clone()
        .context("scenario: name a scenario, e.g. --scenario demo")?;
    let scenario = Scenario::load(&path)?;
    let (mut r, seeds, outputs) = run_seeds(&scenario, &a, "").await?;
    if a.seeds > 1 {
        r.evidence["seeds"] = evidence::intervals(&seeds, &outputs);
    }
    if a.sensitivity {
        let mut runs = Vec::new();
        let variants = evidence::sensitivity_variants(&a.vary)?;
        for (i, v) in variants.into_iter().enumerate() {
            let mut s = scenario.clone();
            (v.apply)(&mut s);
            let (_, _, o) = run_seeds(&s, &a, &format!("v{i}")).await?;
            runs.push((v.name, v.input, o));
        }
        let off = evidence::whistle_off();
        let mut s = scenario.clone();
        (off.apply)(&mut s);
        let (_, _, o) = run_seeds(&s, &a, "w").await?;
        r.evidence["sensitivity"] = evidence::sensitivity(&outputs, &runs);
        r.evidence["out_of_sample"] = evidence::out_of_sample(&outputs, &o);
    }
    match a.json.as_deref() {
        Some(p) if p == std::path::Path::new("-") => {
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        Some(p) => write_out(p, &serde_json::to_string_pretty(&r)?)?,
        None => {}
    }
    if let Some(p) = &a.html {
        write_out(p, &html::page(&r))?;
    }
    if a.json.as_deref() != Some(std::path::Path::new("-")) {
        report::print(&r);
        if let Some(d) = &a.data_dir {
            println!(
                "Data kept in {}: `hotline up --data-dir {0} --topology {0}/topology.toml` serves it.",
                d.display()
            );
        }
    }
    Ok(())
}

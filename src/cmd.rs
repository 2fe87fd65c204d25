//! The command line: `up`, `serve`, `gateway`, `demo`, `submit`,
//! `order show`, `dead-letters`, `topology generate | check`, `locate`,
//! `bench locate`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use hotline_core::Tier;
use hotline_proto::v1 as pb;
use hotline_runtime::clock::SystemClock;
use hotline_runtime::server::ServeOptions;
use hotline_runtime::wire::WireEnum;
use hotline_store::{Backend, Db};

use crate::client::table::Table;
use crate::client::{MeshClient, request_id, status_error};
pub use crate::identity::{GatewayArg, TopologyArg};
use crate::mesh::{Mesh, MeshOptions};
use hotline_node::{
    Clocks, gateway_config, parse_instant, service_ctx, service_tier, show_instant,
};

#[derive(Parser)]
#[command(
    name = "hotline",
    version,
    about = "A gRPC mesh modelling a city's 12345 citizen hotline across its government tiers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Command {
    /// The CPU a service or gateway process is to stay on.
    pub fn cpu(&self) -> Option<usize> {
        match self {
            Command::Serve(a) => a.cpu,
            Command::Gateway(a) => a.cpu,
            Command::Bench {
                command: crate::bench::BenchCommand::Bare(a),
            } => a.cpu,
            _ => None,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the gateway and every tier service as separate processes.
    Up(UpArgs),
    /// Run one tier service.
    Serve(ServeArgs),
    /// Run the gateway.
    Gateway(GatewayArgs),
    /// Run the mesh's HTTP side: Open311 GeoReport v2 and the dashboard,
    /// a client of the gateway.
    Web(WebArgs),
    /// Bring up a fresh mesh on the demo city, push scripted orders through every path, stop.
    Demo(crate::demo::DemoArgs),
    /// Submit a request through a running gateway, as the hotline centre's intake.
    Submit(SubmitArgs),
    /// Orders, through a running gateway.
    Order {
        #[command(subcommand)]
        command: OrderCommand,
    },
    /// A service's dead letters: handoffs its receivers refused for good or
    /// that were retried past their caps; list them, or put them back.
    DeadLetters(DeadLetterArgs),
    /// Generate or check a topology.
    Topology {
        #[command(subcommand)]
        command: crate::topology::TopologyCommand,
    },
    /// Working-day deadlines on a topology's holiday calendar.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// The unit path of a location (community → township → district) and its near-boundary neighbours.
    Locate(crate::topology::LocateArgs),
    /// Where an order's time went: every step, handoff and its latency.
    Trace {
        id: String,
        #[command(flatten)]
        at: GatewayArg,
        #[arg(long)]
        json: bool,
    },
    /// Every pending deadline in the mesh, soonest first.
    Deadlines {
        /// Only this unit's deadlines.
        #[arg(long)]
        unit: Option<String>,
        #[command(flatten)]
        at: GatewayArg,
        #[arg(long)]
        json: bool,
    },
    /// Run the contract's behavioural tests against a server claiming a tier.
    Conformance(ConformanceArgs),
    /// A unit's orders, history and callbacks, requester identity removed (Art. 28).
    Export {
        /// The unit whose orders to export.
        #[arg(long)]
        unit: String,
        /// Export as this unit (the unit itself, a unit above it, or the city); default the unit.
        #[arg(long)]
        as_unit: Option<String>,
        #[command(flatten)]
        at: GatewayArg,
    },
    /// Run a scenario on a virtual city: the real mesh on a virtual clock.
    Simulate(crate::sim::SimulateArgs),
    /// Scorecards and rankings (Art. 32) through a running gateway.
    Report(crate::report::ReportArgs),
    /// The weekly digest (民情摘报) of the city or a district: rising
    /// problems, new hot spots, repeat requesters, overdue and bounced orders.
    Digest(crate::digest::DigestArgs),
    /// Proactive governance (未诉先办): problem analysis and proactive tasks.
    Proactive {
        #[command(subcommand)]
        command: crate::proactive::ProactiveCommand,
    },
    /// The mesh CA: `certs init`, `certs issue --unit ID | --service NAME |
    /// --operator NAME`, `certs revoke`.
    Certs {
        #[command(subcommand)]
        command: crate::identity::CertsCommand,
    },
    /// Measurements: `bench timers` fires due timers on a database;
    /// `bench locate` locates points on a topology.
    Bench {
        #[command(subcommand)]
        command: crate::bench::BenchCommand,
    },
}

/// How a process reports: logs, traces.
#[derive(Args, Clone, Debug, Default)]
pub struct TelemetryArgs {
    /// Log JSON lines instead of text.
    #[arg(long)]
    pub json_logs: bool,
    /// OTLP/gRPC collector for traces, e.g. http://127.0.0.1:4317; no export when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Share of new traces to keep, 0 to 1; a call continues its caller's decision.
    #[arg(long, env = "HOTLINE_TRACE_SAMPLE_RATIO")]
    pub trace_sample_ratio: Option<f64>,
}

impl TelemetryArgs {
    fn options(&self, service_name: &str) -> hotline_telemetry::Options {
        hotline_telemetry::Options {
            service_name: service_name.to_string(),
            json_logs: self.json_logs,
            otlp_endpoint: self.otlp_endpoint.clone().filter(|e| !e.is_empty()),
            sample_ratio: self.trace_sample_ratio,
        }
    }

    /// Checks the settings without connecting anywhere.
    fn check(&self) -> anyhow::Result<()> {
        if let Some(e) = self.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
            hotline_telemetry::check_endpoint(e)?;
        }
        if let Some(r) = self.trace_sample_ratio {
            hotline_telemetry::sampler(r)?;
        }
        Ok(())
    }
}

/// Where a process serves its Prometheus metrics.
#[derive(Args, Clone, Default)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics here (`/metrics`); port 0 takes a free one.
    #[arg(long, env = "HOTLINE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Write the address metrics are served on to this file once bound
    /// (how a supervisor finds a port-0 listener).
    #[arg(long, requires = "metrics_addr")]
    pub metrics_addr_file: Option<PathBuf>,
}

impl MetricsArgs {
    /// Serves `/metrics` when an address is set, and says where.
    async fn serve(
        &self,
        registry: hotline_telemetry::metrics::Registry,
        refresh: Option<hotline_telemetry::metrics::Refresh>,
    ) -> anyhow::Result<()> {
        let Some(addr) = self.metrics_addr else {
            return Ok(());
        };
        let bound = hotline_telemetry::metrics::spawn(addr, registry, refresh).await?;
        tracing::info!(metrics = %bound, "serving metrics");
        if let Some(path) = &self.metrics_addr_file {
            // Written whole, then renamed: a reader never sees half an address.
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bound.to_string())
                .and_then(|()| std::fs::rename(&tmp, path))
                .with_context(|| format!("metrics address file {}", path.display()))?;
        }
        Ok(())
    }
}

#[derive(Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// Where each service keeps its SQLite file.
    #[arg(long, default_value = "hotline-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL server URL instead of SQLite; each service gets database `{name}_{service}`.
    #[arg(long)]
    pub db: Option<String>,
    /// Gateway listen address.
    #[arg(long, default_value = "127.0.0.1:7345")]
    pub listen: String,
    #[arg(long, default_value_t = 5)]
    pub pool_size: u32,
    /// Serve each process's Prometheus metrics from this port on: the
    /// gateway here, the services on the ports after it; 0: each takes a
    /// free port, and `up` prints where.
    #[arg(long)]
    pub metrics_port_base: Option<u16>,
    /// Keep each process on one CPU: the centre on a CPU of its own, the
    /// gateway and the other services spread over the rest (measured
    /// faster on a small VM; see docs/simulation.md).
    #[arg(long)]
    pub pin_cpus: bool,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// No TLS and no proof of who calls (every header believed): for a
    /// bench on one machine only. By default every hop is mTLS, with the
    /// CA and certificates made in DATA_DIR/pki on first start.
    #[arg(long)]
    pub insecure_plaintext: bool,
    /// Where the web front serves Open311 (`/open311/v2/`) and the
    /// dashboard: HTTPS with the mesh's certificates, plain HTTP with
    /// --insecure-plaintext.
    #[arg(long, default_value = "127.0.0.1:7380")]
    pub http_listen: String,
}

#[derive(Args)]
pub struct WebArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    /// The gateway, e.g. http://127.0.0.1:7345.
    #[arg(long, env = "HOTLINE_GATEWAY", default_value = "http://127.0.0.1:7345")]
    pub gateway: String,
    /// Where to serve HTTP(S); port 0 takes a free one.
    #[arg(long, default_value = "127.0.0.1:7380")]
    pub http_listen: String,
    /// Where the Open311 API keys and token key are (DATA_DIR/open311/),
    /// made on first start.
    #[arg(long, default_value = "hotline-data")]
    pub data_dir: PathBuf,
    /// Issue a new Open311 API key for this channel (web, app or
    /// mini_program), print it, and exit: only its hash is kept.
    #[arg(long, value_name = "CHANNEL", conflicts_with = "check")]
    pub issue_key: Option<String>,
    /// Jaeger's UI, for the dashboard's links to an order's spans.
    #[arg(long, env = "HOTLINE_JAEGER_URL", default_value = hotline_web::dashboard::DEFAULT_JAEGER_URL)]
    pub jaeger_url: String,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// Check the arguments, the Open311 files and the certificate (those
    /// that are there), then exit without serving.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub identity: crate::identity::IdentityArgs,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Service name from the topology.
    #[arg(long, required_unless_present = "tier")]
    pub service: Option<String>,
    /// Tier to serve, when the topology has one service for it.
    #[arg(long)]
    pub tier: Option<String>,
    #[command(flatten)]
    pub topology: TopologyArg,
    /// The gateway, e.g. http://127.0.0.1:7345.
    #[arg(long, env = "HOTLINE_GATEWAY")]
    pub gateway: String,
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Host the gateway reaches this service at (default: the listen IP).
    #[arg(long)]
    pub advertise_host: Option<String>,
    /// Database URL (sqlite://… or postgres://…); default: {data_dir}/{service}.db.
    #[arg(long, env = "HOTLINE_DB")]
    pub db: Option<String>,
    #[arg(long, default_value = "hotline-data")]
    pub data_dir: PathBuf,
    #[arg(long, default_value_t = 5)]
    pub pool_size: u32,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// Check the arguments and configuration, then exit without serving.
    #[arg(long)]
    pub check: bool,
    /// Close client connections after this many seconds, so DNS-balanced
    /// clients spread their load (behind a headless Service).
    #[arg(long)]
    pub max_connection_age_secs: Option<u64>,
    /// Calls in flight at once before new ones are shed with RESOURCE_EXHAUSTED.
    #[arg(long, env = "HOTLINE_MAX_IN_FLIGHT", default_value_t = hotline_runtime::server::DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// The centre's intake answers RESOURCE_EXHAUSTED while the oldest
    /// handoff it has not yet sent is older than this many seconds (0: never).
    #[arg(long, env = "HOTLINE_INTAKE_MAX_LAG_SECS", default_value_t = hotline_runtime::server::DEFAULT_INTAKE_MAX_LAG.as_secs())]
    pub intake_max_lag_secs: u64,
    /// Deliveries of one outbox message before it is parked as poison
    /// (`hotline dead-letters replay` puts it back).
    #[arg(long, env = "HOTLINE_OUTBOX_MAX_ATTEMPTS", default_value_t = hotline_runtime::outbox::RetryPolicy::default().max_attempts)]
    pub outbox_max_attempts: u32,
    /// Seconds after its first failed delivery that an outbox message is
    /// still retried before it is parked as poison.
    #[arg(long, env = "HOTLINE_OUTBOX_MAX_AGE_SECS", default_value_t = hotline_runtime::outbox::RetryPolicy::default().max_age.as_secs())]
    pub outbox_max_age_secs: u64,
    /// Keep this process's threads on this CPU (see `hotline up --pin-cpus`).
    #[arg(long, env = "HOTLINE_CPU")]
    pub cpu: Option<usize>,
    /// `wall`, or `virtual`: time moves only through ControlService.AdvanceTo.
    #[arg(long, default_value = "wall")]
    pub clock: String,
    /// Start of a virtual clock: YYYY-MM-DDTHH:MM[:SS] in Asia/Shanghai, or UTC microseconds.
    #[arg(long)]
    pub clock_start: Option<String>,
    #[command(flatten)]
    pub identity: crate::identity::IdentityArgs,
}

#[derive(Args)]
pub struct GatewayArgs {
    #[command(flatten)]
    pub topology: TopologyArg,
    #[arg(long, default_value = "127.0.0.1:7345")]
    pub listen: String,
    #[arg(long, default_value_t = 1024)]
    pub max_concurrency: usize,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    /// Check the arguments and configuration, then exit without serving.
    #[arg(long)]
    pub check: bool,
    /// Close client connections after this many seconds, so DNS-balanced
    /// clients spread their load (behind a headless Service).
    #[arg(long)]
    pub max_connection_age_secs: Option<u64>,
    /// Keep this process's threads on this CPU (see `hotline up --pin-cpus`).
    #[arg(long, env = "HOTLINE_CPU")]
    pub cpu: Option<usize>,
    #[command(flatten)]
    pub identity: crate::identity::IdentityArgs,
}

#[derive(Args)]
pub struct SubmitArgs {
    #[arg(long, env = "HOTLINE_GATEWAY", default_value = "http://127.0.0.1:7345")]
    pub gateway: String,
    /// The hotline centre's unit id.
    #[arg(long, default_value = "city")]
    pub city: String,
    /// Catalogue code, e.g. sanitation.garbage.
    #[arg(long)]
    pub category: String,
    #[arg(long, default_value = "")]
    pub address: String,
    /// Latitude of the location (with --lon); it decides the territory.
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    pub lat: Option<f64>,
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    pub lon: Option<f64>,
    #[arg(long)]
    pub text: String,
    #[arg(long)]
    pub phone: String,
    #[arg(long, default_value = "")]
    pub name: String,
    /// consultation | help | complaint | report | suggestion
    #[arg(long, default_value = "complaint")]
    pub kind: String,
    /// phone | web | app | message_board | mini_program
    #[arg(long, default_value = "phone")]
    pub channel: String,
    /// Idempotency key; a fresh one when unset.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Dispose of the request instead of dispatching it: emergency_transfer |
    /// legal_channel | duplicate | secrets_privacy | outside_duty | unlawful
    #[arg(long)]
    pub disposition: Option<String>,
    /// What the requester is told, with --disposition.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// 110 | 119 | 120 | 122, with --disposition emergency_transfer.
    #[arg(long)]
    pub emergency_line: Option<String>,
    /// litigation | arbitration | discipline_inspection | administrative_review |
    /// information_disclosure | petition, with --disposition legal_channel.
    #[arg(long)]
    pub legal_channel: Option<String>,
    /// The requester brings new facts: never treated as a duplicate.
    #[arg(long)]
    pub new_facts: bool,
    /// The requester's mood: calm | anxious | angry.
    #[arg(long)]
    pub mood: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub identity: crate::identity::IdentityArgs,
}

#[derive(Subcommand)]
pub enum OrderCommand {
    /// Show one order: state, deadlines, assignments, history.
    Show {
        id: String,
        #[arg(long, env = "HOTLINE_GATEWAY", default_value = "http://127.0.0.1:7345")]
        gateway: String,
        #[arg(long, default_value = "city")]
        city: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        identity: crate::identity::IdentityArgs,
    },
}

#[derive(Args)]
pub struct DeadLetterArgs {
    /// The service's database URL.
    #[arg(long, env = "HOTLINE_DB", global = true)]
    pub db: Option<String>,
    /// Service name; its SQLite file in --data-dir.
    #[arg(long, global = true)]
    pub service: Option<String>,
    #[arg(long, default_value = "hotline-data", global = true)]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Option<DeadLetterCommand>,
}

#[derive(Subcommand)]
pub enum DeadLetterCommand {
    /// List them (the default).
    List,
    /// Put parked messages back in the service's outbox, due at once; its
    /// deliverer sends them on its next pass. Receivers take a message once
    /// by its id, so replaying one that did arrive changes nothing.
    Replay {
        /// One message, by its id.
        #[arg(long, conflicts_with_all = ["target", "all"], required_unless_present_any = ["target", "all"])]
        id: Option<String>,
        /// Every message parked for this unit.
        #[arg(long, conflicts_with = "all")]
        target: Option<String>,
        /// Every dead letter of the service.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
pub enum CalendarCommand {
    /// When a clock started at an instant falls due under the topology's
    /// policy and calendar, and the days its count passed over.
    Due {
        #[command(flatten)]
        topology: TopologyArg,
        /// The start: YYYY-MM-DDTHH:MM[:SS] in Asia/Shanghai, or UTC
        /// microseconds.
        #[arg(long)]
        from: String,
        /// emergency, utility, general or complex.
        #[arg(long)]
        urgency: String,
        #[arg(long)]
        json: bool,
    },
}

/// `hotline calendar due`.
fn calendar(command: CalendarCommand) -> anyhow::Result<()> {
    let CalendarCommand::Due {
        topology,
        from,
        urgency,
        json,
    } = command;
    let t = match &topology.topology {
        Some(p) => crate::load_topology(p)?,
        None => hotline_core::Topology::parse("demo-city.toml", crate::DEMO_TOPOLOGY)?,
    };
    let urgency = hotline_core::Urgency::parse(&urgency).ok_or_else(|| {
        anyhow::anyhow!("urgency: {urgency:?} is not emergency, utility, general or complex")
    })?;
    let start = parse_instant(&from)?;
    let due = t.due(urgency, start);
    let working = hotline_core::deadline::counts_working_days(&t.policy, urgency);
    let skipped: Vec<serde_json::Value> = due
        .skipped
        .iter()
        .map(|(d, why)| serde_json::json!({"date": d.to_string(), "why": why.as_str()}))
        .collect();
    let covered = t.calendar.years.map(|(a, b)| format!("{a}-{b}"));
    if json {
        let v = serde_json::json!({
            "urgency": urgency.as_str(),
            "from": show_instant(start),
            "from_us": start,
            "due": show_instant(due.at),
            "due_us": due.at,
            "working_days": working,
            "skipped": skipped,
            "provisional": due.provisional,
            "calendar_years": covered,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let count = if working {
        "working days"
    } else {
        "natural time"
    };
    println!(
        "{} from {}: due {} (Asia/Shanghai; {count})",
        urgency.as_str(),
        show_instant(start),
        show_instant(due.at)
    );
    if due.skipped.is_empty() {
        println!("No day was skipped.");
    } else {
        let mut t = Table::new(["skipped day", "why"]);
        for (d, why) in &due.skipped {
            t.row([d.to_string(), why.as_str().replace('_', " ")]);
        }
        print!("{} days skipped:\n{t}", due.skipped.len());
    }
    if due.provisional {
        println!(
            "provisional: the calendar covers {}; days after it were counted Monday to Friday",
            covered.unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(a) => up(a).await,
        Command::Serve(a) => serve(a).await,
        Command::Gateway(a) => gateway(a).await,
        Command::Web(a) => web(a).await,
        Command::Demo(a) => crate::demo::main(a).await,
        Command::Submit(a) => submit(a).await,
        Command::Order {
            command:
                OrderCommand::Show {
                    id,
                    gateway,
                    city,
                    json,
                    identity,
                },
        } => {
            let client = MeshClient::new(&gateway, &city, identity.client()?)?;
            show_order(&client, &id, json).await
        }
        Command::Certs { command } => crate::identity::run(command),
        Command::DeadLetters(a) => dead_letters(a).await,
        Command::Topology { command } => crate::topology::run(command),
        Command::Calendar { command } => calendar(command),
        Command::Locate(a) => crate::topology::locate(a),
        Command::Trace { id, at, json } => {
            let client = at.client()?;
            let t = crate::trace::trace(&client, id.trim_start_matches("orders/")).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                crate::trace::print_trace(&t);
            }
            Ok(())
        }
        Command::Deadlines { unit, at, json } => {
            let client = at.client()?;
            let all = crate::trace::deadlines(&client, unit.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                println!("no pending deadlines");
            } else {
                let now = client.now().await.ok();
                print!("{}", deadlines_table(&all, now));
            }
            Ok(())
        }
        Command::Simulate(a) => crate::sim::main(a).await,
        Command::Report(a) => crate::report::run(a).await,
        Command::Digest(a) => crate::digest::run(a).await,
        Command::Bench { command } => crate::bench::run(command).await,
        Command::Proactive { command } => crate::proactive::run(command).await,
        Command::Conformance(a) => conformance(a).await,
        Command::Export { unit, as_unit, at } => {
            crate::export::run(&at.client()?, &unit, as_unit.as_deref()).await
        }
    }
}

async fn up(a: UpArgs) -> anyhow::Result<()> {
    a.telemetry.check()?;
    let shutdown = hotline_runtime::server::shutdown_signal();
    let telemetry = hotline_telemetry::init(
        &TelemetryArgs {
            otlp_endpoint: None,
            ..a.telemetry.clone()
        }
        .options("hotline-up"),
    )?;
    let mut opts = MeshOptions::new(
        std::env::current_exe()?,
        a.topology.path_in(&a.data_dir)?,
        a.data_dir.clone(),
    );
    opts.db = a.db;
    opts.gateway_listen = a.listen;
    opts.pool_size = a.pool_size;
    opts.json_logs = a.telemetry.json_logs;
    opts.otlp_endpoint = a.telemetry.otlp_endpoint.clone();
    opts.trace_sample_ratio = a.telemetry.trace_sample_ratio;
    opts.metrics_port_base = a.metrics_port_base;
    opts.pin_cpus = a.pin_cpus;
    opts.insecure_plaintext = a.insecure_plaintext;
    opts.http_listen = Some(a.http_listen);
    if a.insecure_plaintext {
        crate::identity::warn_plaintext();
    }
    let mut mesh = Mesh::start(opts).await?;
    println!("hotline mesh up: gateway {}", mesh.gateway_url);
    print!("{}", processes_table(&mesh));
    if let Some(url) = &mesh.web_url {
        println!(
            "Open311: {url}/open311/v2/ (API key for the web channel in {})",
            hotline_web::open311::keys::first_key_file(&a.data_dir).display()
        );
        println!(
            "Dashboard (一张图): {url}/ (operators only: a certificate from {}, docs/dashboard.md)",
            a.data_dir.join("pki").display()
        );
    }
    println!("Ctrl-C stops all.");
    let result = mesh.supervise(shutdown).await;
    mesh.stop().await;
    telemetry.shutdown().await;
    result
}

/// Each process `up` started, its pid, and where it serves metrics when
/// asked to.
fn processes_table(mesh: &Mesh) -> Table {
    let metrics: std::collections::BTreeMap<_, _> = mesh.metrics_addrs().into_iter().collect();
    let mut header = vec!["process", "pid"];
    if !metrics.is_empty() {
        header.push("metrics");
    }
    let mut t = Table::new(header).right(&[1]);
    for (name, pid) in mesh.pids() {
        let mut row = vec![pid.to_string()];
        if !metrics.is_empty() {
            row.push(
                metrics
                    .get(&name)
                    .map_or("—".to_string(), |a| format!("http://{a}/metrics")),
            );
        }
        row.insert(0, name);
        t.row(row);
    }
    t
}

/// `hotline deadlines`: when each falls due and, on the mesh's clock, how
/// long from now.
fn deadlines_table(all: &[serde_json::Value], now: Option<i64>) -> Table {
    let mut t = Table::new(["due", "in", "kind", "order", "unit", "service"]).right(&[1]);
    for d in all {
        let due_us = d["due_us"].as_i64().unwrap_or(0);
        let left = match now {
            Some(now) if due_us < now => {
                format!(
                    "{} ago",
                    crate::client::duration::human_micros(now - due_us)
                )
            }
            Some(now) => crate::client::duration::human_micros(due_us - now),
            None => "—".into(),
        };
        let text = |k: &str| d[k].as_str().unwrap_or("").to_string();
        t.row([
            text("due"),
            left,
            text("kind"),
            text("order_id"),
            text("unit"),
            text("service"),
        ]);
    }
    t
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let topology_path = a.topology.path_in(&a.data_dir)?;
    let topology = Arc::new(crate::load_topology(&topology_path)?);
    let spec = match (&a.service, &a.tier) {
        (Some(name), _) => topology
            .service(name)
            .with_context(|| format!("service: {name} is not in the topology"))?
            .clone(),
        (None, Some(t)) => {
            let tier = Tier::parse(t).with_context(|| format!("tier: unknown tier {t:?}"))?;
            let mut matching = topology.services().iter().filter(|s| s.tier == tier);
            match (matching.next(), matching.next()) {
                (Some(s), None) => s.clone(),
                (None, _) => bail!("tier: the topology has no {tier} service"),
                (Some(_), Some(_)) => {
                    bail!("tier: the topology has several {tier} services; name one with --service")
                }
            }
        }
        (None, None) => bail!("name --service or --tier"),
    };
    let db_url = match a.db.clone() {
        Some(u) => u,
        None if a.check => format!("sqlite://{}/{}.db", a.data_dir.display(), spec.name),
        None => {
            std::fs::create_dir_all(&a.data_dir)?;
            format!("sqlite://{}/{}.db", a.data_dir.display(), spec.name)
        }
    };
    if a.check {
        Backend::of_url(&db_url)?;
        check_listen("listen", &a.listen)?;
        a.telemetry.check()?;
        parse_clock(&a.clock, a.clock_start.as_deref())?;
        hotline_runtime::client::Gateway::new(&a.gateway)
            .with_context(|| format!("gateway: {:?}", a.gateway))?;
        println!(
            "ok: service {} ({} tier, {} units)",
            spec.name,
            spec.tier,
            spec.units.len()
        );
        return Ok(());
    }
    let telemetry =
        hotline_telemetry::init(&a.telemetry.options(&format!("hotline-{}", spec.tier)))?;
    let security = a.identity.server(
        &hotline_identity::Principal::Service(spec.name.clone()),
        &a.data_dir,
    )?;
    let result = serve_spec(a, topology, spec, db_url, security).await;
    telemetry.shutdown().await;
    result
}

/// `wall`, or `virtual` from `start` (Shanghai time or microseconds).
fn parse_clock(clock: &str, start: Option<&str>) -> anyhow::Result<Clocks> {
    match clock {
        "wall" => Ok((Arc::new(SystemClock), None)),
        "virtual" => {
            let start = parse_instant(start.unwrap_or("2026-11-16T09:00"))?;
            let m = Arc::new(hotline_core::ManualClock::new(start));
            Ok((m.clone(), Some(m)))
        }
        other => bail!("clock: {other:?} is neither wall nor virtual"),
    }
}

/// A listen address is `host:port`.
fn check_listen(flag: &str, listen: &str) -> anyhow::Result<()> {
    if listen.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    match listen.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => bail!("{flag}: {listen:?} is not host:port"),
    }
}

async fn serve_spec(
    a: ServeArgs,
    topology: Arc<hotline_core::Topology>,
    spec: hotline_core::topology::ServiceSpec,
    db_url: String,
    security: hotline_identity::Security,
) -> anyhow::Result<()> {
    let clocks = parse_clock(&a.clock, a.clock_start.as_deref())?;
    let ctx = service_ctx(
        topology,
        spec.clone(),
        &db_url,
        a.pool_size,
        &a.gateway,
        clocks,
        security,
    )
    .await?;
    let tier = service_tier(&ctx);
    a.metrics
        .serve(
            ctx.metrics.registry.clone(),
            Some(hotline_runtime::metrics::refresher(&ctx)),
        )
        .await?;
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("listen: {}", a.listen))?;
    let options = ServeOptions {
        advertise_host: a.advertise_host,
        max_connection_age: a
            .max_connection_age_secs
            .map(std::time::Duration::from_secs),
        max_in_flight: a.max_in_flight,
        intake_max_lag: (a.intake_max_lag_secs > 0)
            .then(|| std::time::Duration::from_secs(a.intake_max_lag_secs)),
        retry: hotline_runtime::outbox::RetryPolicy {
            max_attempts: a.outbox_max_attempts.max(1),
            max_age: std::time::Duration::from_secs(a.outbox_max_age_secs),
            ..Default::default()
        },
        ..ServeOptions::default()
    };
    hotline_runtime::server::serve(
        ctx,
        tier,
        listener,
        options,
        hotline_runtime::server::shutdown_signal(),
    )
    .await
}

async fn gateway(a: GatewayArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("hotline-gateway-{}", std::process::id()));
    let topology = Arc::new(crate::load_topology(&a.topology.path_in(&dir)?)?);
    let security = if a.check {
        hotline_identity::Security::Plaintext
    } else {
        a.identity.server(
            &hotline_identity::Principal::Service("gateway".into()),
            std::path::Path::new("hotline-data"),
        )?
    };
    let mut config = gateway_config(&topology, security);
    config.max_concurrency = a.max_concurrency;
    config.max_connection_age = a
        .max_connection_age_secs
        .map(std::time::Duration::from_secs);
    if a.check {
        check_listen("listen", &a.listen)?;
        a.telemetry.check()?;
        anyhow::ensure!(a.max_concurrency > 0, "max concurrency: must be at least 1");
        println!(
            "ok: gateway for {} units in {} services",
            config.routes.len(),
            topology.services().len()
        );
        return Ok(());
    }
    let telemetry = hotline_telemetry::init(&a.telemetry.options("hotline-gateway"))?;
    a.metrics.serve(config.metrics.clone(), None).await?;
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("listen: {}", a.listen))?;
    // The first line on stdout tells a supervisor where we are.
    println!("gateway listening on http://{}", listener.local_addr()?);
    let result =
        hotline_gateway::serve(listener, config, hotline_runtime::server::shutdown_signal()).await;
    telemetry.shutdown().await;
    result
}

/// `hotline web`: the mesh's HTTP side.
async fn web(a: WebArgs) -> anyhow::Result<()> {
    if let Some(channel) = &a.issue_key {
        let channel = hotline_core::Channel::parse(channel)
            .with_context(|| format!("issue key: {channel:?} is not a channel"))?;
        let key =
            hotline_web::open311::keys::issue(&a.data_dir, channel, "hotline web --issue-key")?;
        println!("{key}");
        return Ok(());
    }
    if a.check {
        return web_check(&a);
    }
    let topology = Arc::new(crate::load_topology(&a.topology.path_in(&a.data_dir)?)?);
    let telemetry = hotline_telemetry::init(&a.telemetry.options("hotline-web"))?;
    // Handlers in place before the slow start: a SIGTERM meanwhile stops
    // the process cleanly too.
    let shutdown = hotline_runtime::server::shutdown_signal();
    let result = async {
        let security = a
            .identity
            .server(&hotline_core::authz::web_front(), &a.data_dir)?;
        let mut state =
            hotline_web::WebState::new(topology, &a.gateway, security, a.data_dir.clone())?;
        state.dashboard = state.dashboard.with_jaeger(&a.jaeger_url);
        let registry = hotline_telemetry::metrics::Registry::default();
        a.metrics.serve(registry.clone(), None).await?;
        hotline_web::run(state, &a.http_listen, Some(&registry), shutdown).await
    }
    .await;
    telemetry.shutdown().await;
    result
}

/// `hotline web --check`: the flags, the topology, the Open311 files and
/// the certificate where they are (none is made), without serving.
fn web_check(a: &WebArgs) -> anyhow::Result<()> {
    let topology = match &a.topology.topology {
        Some(path) => crate::load_topology(path)?,
        None => {
            // The demo city, written where `--check` leaves nothing behind.
            let dir = tempfile::tempdir()?;
            crate::load_topology(&a.topology.path_in(dir.path())?)?
        }
    };
    check_listen("http listen", &a.http_listen)?;
    a.telemetry.check()?;
    hotline_runtime::client::Gateway::new(&a.gateway)
        .with_context(|| format!("gateway: {:?}", a.gateway))?;
    anyhow::ensure!(
        a.jaeger_url.starts_with("http://") || a.jaeger_url.starts_with("https://"),
        "jaeger url: {:?} is not an http(s) URL",
        a.jaeger_url
    );
    let files = hotline_web::check_files(&a.data_dir)?;
    let certificate = web_check_certificate(a)?;
    println!(
        "ok: web front for {} ({} catalogue items) through {}; {files}; {certificate}",
        topology.name,
        topology.catalogue().count(),
        a.gateway
    );
    Ok(())
}

/// The web front's certificate, loaded and its holder checked when it is
/// there; where it is not (a PKI mounted only at start), said so.
fn web_check_certificate(a: &WebArgs) -> anyhow::Result<String> {
    let holder = hotline_core::authz::web_front();
    if a.identity.insecure_plaintext {
        return Ok("plaintext, no certificate".into());
    }
    let cert = match &a.identity.cert {
        Some(cert) => cert.clone(),
        None => {
            let dir = a
                .identity
                .pki_dir
                .clone()
                .unwrap_or_else(|| a.data_dir.join("pki"));
            hotline_identity::Pki::open(dir).files(&holder).cert
        }
    };
    if !cert.exists() {
        return Ok(format!("certificate {} not there to check", cert.display()));
    }
    a.identity.server(&holder, &a.data_dir)?;
    Ok(format!("certificate {} holds {holder}", cert.display()))
}

fn parse_named<T: WireEnum>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
) -> anyhow::Result<i32> {
    parse(value)
        .map(|v| v.to_wire())
        .with_context(|| format!("{field}: unknown value {value:?}"))
}

fn optional_named<T: WireEnum>(
    field: &str,
    value: Option<String>,
    parse: fn(&str) -> Option<T>,
) -> anyhow::Result<i32> {
    value.map_or(Ok(0), |v| parse_named(field, &v, parse))
}

async fn submit(a: SubmitArgs) -> anyhow::Result<()> {
    let client = MeshClient::new(&a.gateway, &a.city, a.identity.client()?)?;
    let req = pb::SubmitRequestRequest {
        request_id: a.request_id.unwrap_or_else(request_id),
        channel: parse_named("channel", &a.channel, hotline_core::Channel::parse)?,
        kind: parse_named("kind", &a.kind, hotline_core::RequestKind::parse)?,
        requester: Some(pb::Requester {
            name: a.name,
            phone: a.phone,
            ..Default::default()
        }),
        text: a.text,
        category_code: a.category,
        address: a.address,
        location: a.lat.zip(a.lon).map(|(latitude, longitude)| pb::Location {
            latitude,
            longitude,
        }),
        disposition: optional_named(
            "disposition",
            a.disposition,
            hotline_core::Disposition::parse,
        )?,
        disposition_reason: a.reason,
        emergency_line: optional_named(
            "emergency_line",
            a.emergency_line,
            hotline_core::EmergencyLine::parse,
        )?,
        legal_channel: optional_named(
            "legal_channel",
            a.legal_channel,
            hotline_core::LegalChannel::parse,
        )?,
        new_facts: a.new_facts,
        mood: optional_named("mood", a.mood, hotline_core::Mood::parse)?,
    };
    let order = client.submit(req).await.map_err(status_error)?;
    print_order(&order, a.json)
}

fn print_order(order: &pb::Order, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&crate::demo::order_json(order))?
        );
    } else {
        print!("{}", crate::demo::order_text(order));
    }
    Ok(())
}

async fn show_order(client: &MeshClient, id: &str, json: bool) -> anyhow::Result<()> {
    let id = id.strip_prefix("orders/").unwrap_or(id);
    let order = client.order(id).await.map_err(status_error)?;
    print_order(&order, json)
}

async fn dead_letters(a: DeadLetterArgs) -> anyhow::Result<()> {
    use hotline_runtime::tables::outbox::{self, Replay};
    let url = match (a.db, a.service) {
        (Some(u), _) => u,
        (None, Some(s)) => format!("sqlite://{}/{s}.db", a.data_dir.display()),
        (None, None) => bail!("name --db or --service"),
    };
    let db = Db::connect(&url, 1, &[&hotline_runtime::SCHEMA]).await?;
    let mut c = db.acquire().await?;
    match a.command.unwrap_or(DeadLetterCommand::List) {
        DeadLetterCommand::List => {
            let dead = outbox::dead_letters(&mut c).await?;
            if dead.is_empty() {
                println!("no dead letters");
            } else {
                let mut t = Table::new([
                    "message",
                    "from",
                    "to",
                    "call",
                    "why parked",
                    "code",
                    "attempts",
                    "error",
                ])
                .right(&[6]);
                for d in dead {
                    t.row([
                        d.message_id,
                        d.from_unit,
                        d.target_unit,
                        d.method,
                        d.reason.as_str().replace('_', " "),
                        d.code,
                        d.attempts.to_string(),
                        d.error,
                    ]);
                }
                print!("{t}");
            }
        }
        DeadLetterCommand::Replay { id, target, all } => {
            let which = match (&id, &target) {
                (Some(id), _) => Replay::Message(id),
                (None, Some(unit)) => Replay::Target(unit),
                (None, None) if all => Replay::All,
                (None, None) => bail!("name --id, --target or --all"),
            };
            let now = hotline_runtime::clock::wall_now();
            let n = outbox::replay(&mut c, which, now).await?;
            if let (0, Some(id)) = (n, &id) {
                bail!("no dead letter {id} (already replayed, or never parked)");
            }
            println!("{n} dead letter(s) put back in the outbox");
        }
    }
    Ok(())
}

#[derive(Args, Clone)]
pub struct ConformanceArgs {
    /// The server under test, e.g. http://127.0.0.1:7401 (the service itself, not the gateway).
    #[arg(long)]
    pub target: String,
    /// The tier it claims: district, township, community, department or central.
    #[arg(long)]
    pub tier: String,
    /// The unit it hosts.
    #[arg(long)]
    pub unit: String,
    /// The hotline centre's unit id.
    #[arg(long, default_value = "city")]
    pub city: String,
    /// A unit an objection may propose; without it the objection case is skipped.
    #[arg(long)]
    pub proposed_unit: Option<String>,
    /// The kit presents the gateway's certificate (a mesh service accepts
    /// no other): `--pki-dir` holding service-gateway.crt, or --cert/--key/--ca.
    #[command(flatten)]
    pub identity: crate::identity::IdentityArgs,
}

async fn conformance(a: ConformanceArgs) -> anyhow::Result<()> {
    let tier = Tier::parse(&a.tier)
        .filter(|t| *t != Tier::City)
        .with_context(|| format!("tier: {:?} is not a handling tier", a.tier))?;
    let target = if a.target.contains("://") {
        a.target.clone()
    } else {
        format!("http://{}", a.target)
    };
    let results = crate::conformance::run(crate::conformance::Options {
        target,
        tier,
        unit: a.unit.clone(),
        city: a.city,
        proposed_unit: a.proposed_unit,
        security: a.identity.server(
            &hotline_identity::Principal::Service("gateway".into()),
            std::path::Path::new("hotline-data"),
        )?,
    })
    .await?;
    println!("conformance of {} as {tier} unit {}", a.target, a.unit);
    print!("{}", crate::conformance::table(&results));
    if !crate::conformance::passed(&results) {
        bail!("the server does not conform");
    }
    Ok(())
}

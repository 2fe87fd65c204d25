//! `hotline bench tracing`: what tracing costs. The same workload — N
//! orders, each submitted, delivered, accepted, contacted, progressed,
//! replied, called back and closed, several at a time — runs through a
//! fresh mesh with span export off, then through one exporting every span
//! to an in-process OTLP receiver. The figure is the ratio of throughputs.

use std::time::{Duration, Instant};

use clap::Args;
use hotline_proto::v1::*;
use hotline_telemetry::sink::Sink;

use hotline_client::{MeshClient, request_id};
use hotline_node::mesh::{Mesh, MeshOptions};

const WAIT: Duration = Duration::from_secs(60);

#[derive(Args, Debug, Clone)]
pub struct TracingArgs {
    /// Orders per run.
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Orders in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Runs of each mode, alternating; the mean of each counts.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// A PostgreSQL server URL; SQLite files in a temporary directory when unset.
    #[arg(long)]
    pub db: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// Retries a step the service refused with ABORTED (a concurrent update
/// of the same order won), as any client of the mesh should.
async fn step<T, F, Fut>(mut call: F) -> Result<T, tonic::Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let mut tries = 0;
    loop {
        match call().await {
            Err(s) if s.code() == tonic::Code::Aborted && tries < 10 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(5 * tries)).await;
            }
            other => return other,
        }
    }
}

/// The complaint every mesh benchmark submits (a township's), each a new
/// order: `new_facts` keeps intake from matching it to an open one as a
/// repeat (Art. 11(3)), which would leave it with no lead to drive.
pub(crate) fn complaint() -> SubmitRequestRequest {
    SubmitRequestRequest {
        new_facts: true,
        request_id: request_id(),
        channel: Channel::Phone as i32,
        kind: RequestKind::Complaint as i32,
        requester: Some(Requester {
            name: "Bench Requester".into(),
            phone: "13900009999".into(),
            ..Default::default()
        }),
        text: "Bins not emptied".into(),
        category_code: "sanitation.garbage".into(),
        address: "3 North Quay".into(),
        ..Default::default()
    }
}

/// One order's whole life, as the centre and a township's system drive it.
async fn one_order(c: &MeshClient) -> anyhow::Result<()> {
    let submit = complaint();
    let o = step(|| c.submit(submit.clone())).await?;
    let id = o.order_id.as_str();
    let lead = o
        .assignments
        .iter()
        .find(|a| a.role == AssignmentRole::Lead as i32)
        .map(|a| a.unit_id.clone())
        .ok_or_else(|| anyhow::anyhow!("order {id} has no lead"))?;
    let unit = lead.as_str();
    c.wait_assignment(unit, id, 1, WAIT).await?;
    let accept = request_id();
    step(|| c.accept(unit, id, 1, &accept)).await?;
    step(|| c.contact(unit, id, 1, "confirm the details")).await?;
    step(|| c.progress(unit, id, 1, "on site")).await?;
    step(|| c.reply(unit, id, 1, ReplyOutcome::Resolved, "handled")).await?;
    c.wait_order_state(id, OrderState::Replied, WAIT).await?;
    step(|| c.callback(id, true, Satisfaction::Satisfied)).await?;
    Ok(())
}

/// Runs `count` orders, `concurrency` at a time; returns the seconds taken.
pub(crate) async fn workload(
    c: &MeshClient,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (c, next) = (c.clone(), next.clone());
        workers.spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                one_order(&c).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done??;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// A fresh demo-city mesh of real processes, on SQLite files in a
/// temporary directory or on scratch databases of a PostgreSQL server.
pub(crate) struct BenchMesh {
    pub mesh: Mesh,
    pub(crate) opts: MeshOptions,
    _dir: tempfile::TempDir,
}

impl BenchMesh {
    pub(crate) async fn start(db: Option<&str>, otlp: Option<String>) -> anyhow::Result<Self> {
        Self::start_with(db, otlp, false, false).await
    }

    /// The demo city, over mTLS or (`plaintext`) without TLS.
    pub(crate) async fn start_with(
        db: Option<&str>,
        otlp: Option<String>,
        plaintext: bool,
        pin_cpus: bool,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("hotline-bench-")
            .tempdir()?;
        let topology = dir.path().join("demo-city.toml");
        std::fs::write(&topology, hotline_node::DEMO_TOPOLOGY)?;
        let mut opts =
            MeshOptions::new(std::env::current_exe()?, topology, dir.path().join("data"));
        opts.log_dir = Some(dir.path().join("logs"));
        opts.otlp_endpoint = otlp;
        opts.insecure_plaintext = plaintext;
        opts.pin_cpus = pin_cpus;
        if let Some(pg) = db {
            // A scratch database's name guards nothing.
            #[allow(clippy::disallowed_methods)]
            let name = format!(
                "hlbench{}x{:06x}",
                std::process::id(),
                fastrand::u32(..1 << 24)
            );
            opts.db = Some(hotline_store::with_database(pg, &name)?);
        }
        let mesh = Mesh::start(opts.clone()).await?;
        Ok(BenchMesh {
            mesh,
            opts,
            _dir: dir,
        })
    }

    /// Stops every process and drops the scratch databases.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        let names: Vec<String> = self
            .mesh
            .topology
            .services()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        self.mesh.stop().await;
        if self.opts.db.is_some() {
            for n in names {
                hotline_store::scratch::drop_url(&self.opts.db_url(&n)?).await?;
            }
        }
        Ok(())
    }
}

/// One mesh, one mode: warm up, then measure. Returns orders per second.
async fn run_once(a: &TracingArgs, export_to: Option<&Sink>) -> anyhow::Result<f64> {
    let m = BenchMesh::start(a.db.as_deref(), export_to.map(Sink::endpoint)).await?;
    let c = m.mesh.client()?;
    let result = async {
        workload(&c, a.concurrency, a.concurrency).await?;
        let secs = workload(&c, a.orders, a.concurrency).await?;
        anyhow::Ok(a.orders as f64 / secs)
    }
    .await;
    m.stop().await?;
    result
}

pub async fn run(a: TracingArgs) -> anyhow::Result<()> {
    let sink = Sink::counting("127.0.0.1:0").await?;
    let (mut offs, mut ons) = (Vec::new(), Vec::new());
    for round in 0..a.rounds.max(1) {
        let untraced = run_once(&a, None).await?;
        let traced = run_once(&a, Some(&sink)).await?;
        if !a.json {
            println!(
                "round {}: export off {untraced:.1} orders/s, export on {traced:.1} orders/s",
                round + 1
            );
        }
        offs.push(untraced);
        ons.push(traced);
    }
    // Rounds alternate, so drift in the machine's load hits both modes;
    // the mean of each mode is the figure.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (off, on) = (mean(&offs), mean(&ons));
    let spans = sink.count();
    let ratio = on / off;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "orders": a.orders, "concurrency": a.concurrency, "rounds": a.rounds,
                "untraced_orders_per_second": (off * 10.0).round() / 10.0,
                "traced_orders_per_second": (on * 10.0).round() / 10.0,
                "ratio": (ratio * 1000.0).round() / 1000.0,
                "spans_received": spans,
            })
        );
    } else {
        println!(
            "tracing cost: {on:.1} orders/s with every span exported ({spans} spans received) vs {off:.1} without: ratio {ratio:.3}"
        );
    }
    Ok(())
}

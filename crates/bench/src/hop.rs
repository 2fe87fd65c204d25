//! `hotline bench hop`: what one call through the mesh costs in CPU time.
//! The demo city runs as real processes; this process is the client. Two
//! workloads, each warmed up and then timed, with the CPU time of every
//! process read from `/proc` before and after:
//! - `read`: the centre's `GetOrder` of one order, through the gateway —
//!   one forwarded call with one indexed read behind it, the floor under
//!   every call the simulator makes;
//! - `submit`: a complaint submitted and dispatched, until its handoff to
//!   the township's service has been delivered — one contact's intake
//!   (with whatever else the services forwarded meanwhile).
//!
//! Both run twice in one invocation: on the mesh as it runs (every hop
//! mutual TLS) and on the same mesh with `--insecure-plaintext`, so the
//! cost of mTLS is measured beside its baseline. The same invocation also
//! measures a bare tonic echo behind a bare tonic relay ([`crate::bare`])
//! under the same load: each workload's CPU per call is reported beside
//! the chain's (`ratio_to_chain`) and the gateway's beside the relay's
//! (`gateway_ratio_to_relay`).
//!
//! CPU per call, not calls per second, is the figure: on a machine of two
//! cores, 1,000 contacts a second leave 2 ms of CPU time per contact for
//! every process of the mesh together.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::tracing::BenchMesh;
use hotline_client::MeshClient;
use hotline_client::duration::human;
use hotline_client::table::Table;

#[derive(Args, Debug, Clone)]
pub struct HopArgs {
    /// Timed calls per workload.
    #[arg(long, default_value_t = 5_000)]
    pub calls: usize,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// A PostgreSQL server URL; SQLite files in a temporary directory when unset.
    #[arg(long)]
    pub db: Option<String>,
    /// Place the mesh's processes as `hotline up --pin-cpus` does (the
    /// simulator's placement over gRPC), and the bare pair likewise.
    #[arg(long)]
    pub pin_cpus: bool,
    #[arg(long)]
    pub json: bool,
}

/// CPU seconds so far of this process ("client") and each of the mesh's.
fn cpu(m: &BenchMesh) -> BTreeMap<String, f64> {
    let procs = std::iter::once(("client".to_string(), std::process::id())).chain(m.mesh.pids());
    hotline_node::cpu::used_by(procs).into_iter().collect()
}

/// Runs `calls` submits or reads, `concurrency` at a time.
async fn calls(
    c: &MeshClient,
    order: Option<&str>,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let results: Vec<Result<(), tonic::Status>> = futures::stream::iter(0..n)
        .map(|_| async move {
            match order {
                Some(id) => c.order(id).await.map(drop),
                None => c.submit(crate::tracing::complaint()).await.map(drop),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for r in results {
        r?;
    }
    Ok(())
}

/// Waits until the gateway has forwarded `handoffs` handoffs in all.
async fn delivered(c: &MeshClient, handoffs: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while c.stats().await?.handoffs < handoffs {
        anyhow::ensure!(
            Instant::now() < deadline,
            "handoffs not delivered within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// One workload: warm-up, then the timed calls; its figures.
async fn workload(
    m: &BenchMesh,
    name: &str,
    order: Option<&str>,
    a: &HopArgs,
) -> anyhow::Result<Value> {
    let c = m.mesh.client()?;
    let warm = (a.calls / 10).max(a.concurrency);
    let handoffs = c.stats().await?.handoffs;
    calls(&c, order, warm, a.concurrency).await?;
    if order.is_none() {
        delivered(&c, handoffs + warm as u64).await?;
    }
    let before = cpu(m);
    let stats = c.stats().await?;
    let started = Instant::now();
    calls(&c, order, a.calls, a.concurrency).await?;
    if order.is_none() {
        delivered(&c, stats.handoffs + a.calls as u64).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let after = cpu(m);
    let forwarded = c.stats().await?.calls - stats.calls - 1;
    let n = a.calls as f64;
    let us: BTreeMap<String, f64> = after
        .iter()
        .map(|(p, s)| (p.clone(), ((s - before[p]) * 1e6 / n).round()))
        .collect();
    let total: f64 = us.values().sum();
    Ok(json!({
        "workload": name,
        "transport": if m.opts.insecure_plaintext { "plaintext" } else { "mtls" },
        "calls": a.calls,
        "concurrency": a.concurrency,
        "seconds": (secs * 100.0).round() / 100.0,
        "calls_per_second": (n / secs).round(),
        "gateway_calls_per_call": ((forwarded as f64 / n) * 100.0).round() / 100.0,
        "cpu_us_per_call": total,
        "cpu_us_per_call_by_process": us,
    }))
}

/// Both workloads on a fresh demo mesh, over mTLS or plaintext.
async fn mesh_rows(a: &HopArgs, plaintext: bool) -> anyhow::Result<Vec<Value>> {
    let m = BenchMesh::start_with(a.db.as_deref(), None, plaintext, a.pin_cpus).await?;
    let result = async {
        let c = m.mesh.client()?;
        let order = c.submit(crate::tracing::complaint()).await?.order_id;
        let read = workload(&m, "read", Some(&order), a).await?;
        let submit = workload(&m, "submit", None, a).await?;
        anyhow::Ok(vec![read, submit])
    }
    .await;
    m.stop().await?;
    result
}

/// mTLS beside plaintext for each workload: throughput and CPU ratios.
fn compare(rows: &[Value]) -> Vec<Value> {
    let find = |w: &str, t: &str| {
        rows.iter()
            .find(|r| r["workload"] == w && r["transport"] == t)
    };
    ["read", "submit"]
        .iter()
        .filter_map(|w| {
            let (m, p) = (find(w, "mtls")?, find(w, "plaintext")?);
            let ratio = |k: &str| {
                let (x, y) = (m[k].as_f64()?, p[k].as_f64()?);
                (y > 0.0).then(|| ((x / y) * 1000.0).round() / 1000.0)
            };
            Some(json!({
                "workload": w,
                "mtls_throughput_ratio": ratio("calls_per_second"),
                "mtls_cpu_ratio": ratio("cpu_us_per_call"),
            }))
        })
        .collect()
}

/// Each workload beside the bare baseline: its CPU per call over the
/// chain's, and the gateway's over the relay's.
fn against(rows: &mut [Value], baseline: &Value) {
    let chain = baseline["chain_cpu_us"].as_f64().unwrap_or(0.0);
    let relay = baseline["relay_cpu_us"].as_f64().unwrap_or(0.0);
    let ratio = |x: Option<f64>, y: f64| {
        x.filter(|_| y > 0.0)
            .map(|x| ((x / y) * 100.0).round() / 100.0)
    };
    for r in rows {
        let total = r["cpu_us_per_call"].as_f64();
        let gateway = r["cpu_us_per_call_by_process"]["gateway"].as_f64();
        r["ratio_to_chain"] = json!(ratio(total, chain));
        r["gateway_ratio_to_relay"] = json!(ratio(gateway, relay));
    }
}

pub async fn run(a: HopArgs) -> anyhow::Result<()> {
    let baseline = crate::bare::baseline(a.calls, a.concurrency, a.pin_cpus).await?;
    let mut rows = mesh_rows(&a, false).await?;
    rows.extend(mesh_rows(&a, true).await?);
    against(&mut rows, &baseline);
    let ratios = compare(&rows);
    if a.json {
        let out = json!({
            "pinned": a.pin_cpus,
            "baseline": baseline,
            "workloads": rows,
            "mtls_vs_plaintext": ratios,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let backend = if a.db.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    println!(
        "The bare baseline, a tonic echo behind a tonic relay over plaintext{}: {} calls/s, {} µs \
         CPU per call (client {}, relay {}, echo {}).",
        if a.pin_cpus {
            ", pinned like the mesh"
        } else {
            ""
        },
        baseline["relay_calls_per_second"],
        baseline["chain_cpu_us"],
        baseline["cpu_us_by_process"]["client"],
        baseline["relay_cpu_us"],
        baseline["cpu_us_by_process"]["echo"],
    );
    let mut t = Table::new([
        "workload",
        "transport",
        "calls",
        "took",
        "calls/s",
        "gateway calls each",
        "CPU per call",
        "× bare chain",
        "gateway × bare relay",
        "CPU per call by process (µs)",
    ])
    .right(&[2, 3, 4, 5, 6, 7, 8]);
    let num = |v: &Value| v.as_f64().map_or("—".to_string(), |x| x.to_string());
    for r in &rows {
        let mut by: Vec<(String, f64)> = r["cpu_us_per_call_by_process"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(p, v)| (p.clone(), v.as_f64().unwrap_or(0.0)))
            .collect();
        by.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        let by: Vec<String> = by.iter().map(|(p, v)| format!("{p} {v:.0}")).collect();
        let took =
            Duration::try_from_secs_f64(r["seconds"].as_f64().unwrap_or(0.0)).unwrap_or_default();
        let cpu = Duration::try_from_secs_f64(r["cpu_us_per_call"].as_f64().unwrap_or(0.0) / 1e6)
            .unwrap_or_default();
        t.row([
            r["workload"].as_str().unwrap_or_default().to_string(),
            r["transport"].as_str().unwrap_or_default().to_string(),
            num(&r["calls"]),
            human(took),
            num(&r["calls_per_second"]),
            num(&r["gateway_calls_per_call"]),
            human(cpu),
            num(&r["ratio_to_chain"]),
            num(&r["gateway_ratio_to_relay"]),
            by.join(", "),
        ]);
    }
    print!("On {backend}:\n{t}");
    for r in &ratios {
        println!(
            "{}: mTLS over plaintext, throughput ×{}, CPU per call ×{}.",
            r["workload"].as_str().unwrap_or_default(),
            num(&r["mtls_throughput_ratio"]),
            num(&r["mtls_cpu_ratio"])
        );
    }
    Ok(())
}

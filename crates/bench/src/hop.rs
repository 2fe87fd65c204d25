//! `hotline bench hop`: what one call through the mesh costs in CPU time.
//! The demo city runs as real processes; this process is the client. Two
//! workloads, each warmed up and then timed, with the CPU time of every
//! process read before and after:
//! - `read`: the centre's `GetOrder` of one order, through the gateway —
//!   one forwarded call with one indexed read behind it, the floor under
//!   every call the simulator makes;
//! - `submit`: a complaint submitted and dispatched, until each of its
//!   handoffs (to the township, the lead, and to the district, told as a
//!   copy) has been delivered and the mesh has settled — one contact's
//!   intake with all it sets off.
//!
//! Both run twice in one invocation: on the mesh as it runs (every hop
//! mutual TLS) and on the same mesh with `--insecure-plaintext`, so the
//! cost of mTLS is measured beside its baseline. The same invocation also
//! measures a bare tonic echo behind a bare tonic relay ([`crate::bare`])
//! under the same load: each workload's CPU per call is reported beside
//! the chain's (`ratio_to_chain`) and the gateway's beside the relay's
//! (`gateway_ratio_to_relay`).
//!
//! This machine's CPU time per call drifts by a third over minutes, so a
//! baseline measured once, before the mesh, set against workloads run
//! later, moved the ratios more than any change did. The run is therefore
//! in `--rounds` rounds: each measures the bare chain and then, right
//! after it, each workload, and sets them against that round's chain. A
//! workload's figures are the medians of its rounds (each round is in
//! `rounds`), and each process's CPU time is read from its CPU clock to
//! the nanosecond ([`hotline_node::cpu::used_seconds`]).
//!
//! CPU per call, not calls per second, is the figure: on a machine of two
//! cores, 1,000 contacts a second leave 2 ms of CPU time per contact for
//! every process of the mesh together.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::bare::Bare;
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
    /// Rounds per transport, each the bare chain and then each workload
    /// set against it; the figures are the medians of the rounds.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    #[arg(long)]
    pub json: bool,
}

/// CPU seconds so far of this process ("client") and each of the mesh's.
fn cpu(m: &BenchMesh) -> BTreeMap<String, f64> {
    let procs = std::iter::once(("client".to_string(), std::process::id())).chain(m.mesh.pids());
    hotline_node::cpu::used_by(procs).into_iter().collect()
}

/// Waits until the mesh's services have settled: less than
/// [`QUIET_CPU`] of CPU time among them over [`QUIET_SPAN`]. What a
/// workload leaves behind after its last answer (a township acting on
/// the handoffs it was sent, the centre on what they report back) is the
/// workload's, not the next one's: without this wait a read after the
/// submits cost twice a read before them.
async fn quiet(m: &BenchMesh) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let services = || -> f64 {
        hotline_node::cpu::used_by(m.mesh.pids())
            .iter()
            .map(|(_, s)| s)
            .sum()
    };
    loop {
        let before = services();
        tokio::time::sleep(QUIET_SPAN).await;
        if services() - before < QUIET_CPU.as_secs_f64() {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the mesh did not settle within 120 s"
        );
    }
}

/// [`quiet`]: the span watched, and the CPU time all services together may
/// spend in it (2 % of one CPU; an idle mesh's sweeps take less).
const QUIET_SPAN: Duration = Duration::from_millis(250);
const QUIET_CPU: Duration = Duration::from_millis(5);

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

/// One workload: warm-up, then the timed calls; its figures. A submit's
/// figures include every handoff it causes (the lead's and each copy's,
/// counted over the warm-up) and whatever their receivers do after: the
/// CPU time is read once the mesh has settled ([`quiet`]); the seconds
/// end with the last handoff.
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
    quiet(m).await?;
    let per_call = (c.stats().await?.handoffs - handoffs) as f64 / warm as f64;
    let before = cpu(m);
    let stats = c.stats().await?;
    let started = Instant::now();
    calls(&c, order, a.calls, a.concurrency).await?;
    let due = stats.handoffs + (per_call * a.calls as f64).floor() as u64;
    delivered(&c, due).await?;
    let secs = started.elapsed().as_secs_f64();
    quiet(m).await?;
    let after = cpu(m);
    // The gateway counts a forwarded call once it has answered (its own
    // `Stats` calls are not forwarded): read after the mesh has settled.
    let forwarded = c.stats().await?.calls - stats.calls;
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
        "handoffs_per_call": (per_call * 100.0).round() / 100.0,
        "cpu_us_per_call": total,
        "cpu_us_per_call_by_process": us,
    }))
}

/// Both workloads on a fresh demo mesh, over mTLS or plaintext, round by
/// round, each round after a measure of the bare chain (pushed to
/// `baselines`) and set against it.
async fn mesh_rows(
    a: &HopArgs,
    plaintext: bool,
    bare: &Bare,
    baselines: &mut Vec<Value>,
) -> anyhow::Result<Vec<Value>> {
    let m = BenchMesh::start_with(a.db.as_deref(), None, plaintext, a.pin_cpus).await?;
    let result = async {
        let c = m.mesh.client()?;
        let order = c.submit(crate::tracing::complaint()).await?.order_id;
        let mut rounds = Vec::new();
        for _ in 0..a.rounds {
            let base = bare.measure(a.calls, a.concurrency).await?;
            let mut read = workload(&m, "read", Some(&order), a).await?;
            let mut submit = workload(&m, "submit", None, a).await?;
            against(&mut read, &base);
            against(&mut submit, &base);
            rounds.extend([read, submit]);
            baselines.push(base);
        }
        anyhow::Ok(medians(&rounds, &["workload", "transport"]))
    }
    .await;
    m.stop().await?;
    result
}

/// The median of `xs` (the mean of the middle two for an even count).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => xs[n / 2],
        _ => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// One row per distinct value of the `keys` fields of `rows`, in their
/// first order: every numeric field (and each of a nested object's) the
/// median of the group's, and the group's rows as `rounds` when there
/// is more than one.
fn medians(rows: &[Value], keys: &[&str]) -> Vec<Value> {
    let mut groups: Vec<Vec<&Value>> = Vec::new();
    for r in rows {
        let same = |g: &&mut Vec<&Value>| keys.iter().all(|k| g[0][*k] == r[*k]);
        match groups.iter_mut().find(same) {
            Some(g) => g.push(r),
            None => groups.push(vec![r]),
        }
    }
    fn fold(vals: &[&Value]) -> Value {
        match vals[0] {
            Value::Number(_) => {
                let m = median(vals.iter().filter_map(|v| v.as_f64()).collect());
                json!((m * 100.0).round() / 100.0)
            }
            Value::Object(first) => Value::Object(
                first
                    .keys()
                    .map(|k| {
                        let sub: Vec<&Value> = vals.iter().map(|v| &v[k]).collect();
                        (k.clone(), fold(&sub))
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let mut row = fold(&g);
            if g.len() > 1 {
                row["rounds"] = json!(g);
            }
            row
        })
        .collect()
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

/// A workload's round beside the bare chain measured just before it: its
/// CPU per call over the chain's, and the gateway's over the relay's.
fn against(r: &mut Value, baseline: &Value) {
    let chain = baseline["chain_cpu_us"].as_f64().unwrap_or(0.0);
    let relay = baseline["relay_cpu_us"].as_f64().unwrap_or(0.0);
    let ratio = |x: Option<f64>, y: f64| {
        x.filter(|_| y > 0.0)
            .map(|x| ((x / y) * 100.0).round() / 100.0)
    };
    let total = r["cpu_us_per_call"].as_f64();
    let gateway = r["cpu_us_per_call_by_process"]["gateway"].as_f64();
    r["chain_cpu_us"] = json!(chain);
    r["relay_cpu_us"] = json!(relay);
    r["ratio_to_chain"] = json!(ratio(total, chain));
    r["gateway_ratio_to_relay"] = json!(ratio(gateway, relay));
}

pub async fn run(a: HopArgs) -> anyhow::Result<()> {
    let bare = Bare::start(a.pin_cpus).await?;
    let mut baselines = Vec::new();
    let rows = async {
        let mut rows = mesh_rows(&a, false, &bare, &mut baselines).await?;
        rows.extend(mesh_rows(&a, true, &bare, &mut baselines).await?);
        anyhow::Ok(rows)
    }
    .await;
    bare.stop().await;
    let rows = rows?;
    let mut baseline = medians(&baselines, &[]).remove(0);
    baseline["measures"] = json!(baselines.len());
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
        "The bare baseline, a tonic echo behind a tonic relay over plaintext{}, measured before \
         each of {} rounds, medians: {} calls/s, {} µs CPU per call (client {}, relay {}, echo {}). \
         Each workload's figures are the medians of its rounds, each round set against the chain \
         measured just before it.",
        if a.pin_cpus {
            ", pinned like the mesh"
        } else {
            ""
        },
        baselines.len(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_fold_to_their_medians_field_by_field() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
        let rows = [
            json!({"workload": "read", "cpu": 10, "by": {"gateway": 4}}),
            json!({"workload": "submit", "cpu": 100, "by": {"gateway": 40}}),
            json!({"workload": "read", "cpu": 30, "by": {"gateway": 2}}),
            json!({"workload": "read", "cpu": 20, "by": {"gateway": 9}}),
        ];
        let folded = medians(&rows, &["workload"]);
        assert_eq!(folded.len(), 2);
        let (read, submit) = (&folded[0], &folded[1]);
        assert_eq!(
            (read["workload"].as_str(), read["cpu"].as_f64()),
            (Some("read"), Some(20.0))
        );
        assert_eq!(read["by"]["gateway"], 4.0);
        assert_eq!(read["rounds"].as_array().map(Vec::len), Some(3));
        assert_eq!(submit["cpu"], 100.0);
        assert!(
            submit.get("rounds").is_none(),
            "one round is its own figure"
        );
    }
}

//! `hotline bench overload`: the mesh offered more than it can take. The
//! demo city runs as real processes; this process first measures how many
//! complaints a second the mesh takes when saturated (closed loop,
//! `--concurrency` in flight), then offers `--factor` times that (open
//! loop: a submit every 1/rate seconds whether or not earlier ones have
//! answered) for `--seconds`. It reports what was offered, admitted and
//! shed (RESOURCE_EXHAUSTED), any other answers, the latency of admitted
//! and shed calls, and how long after the load stopped the last admitted
//! complaint's handoffs were delivered (the handoff lag the overload left).

use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::tracing::{BenchMesh, complaint};

#[derive(Args, Debug, Clone)]
pub struct OverloadArgs {
    /// How long the overload lasts.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Offered load as a multiple of the saturated throughput.
    #[arg(long, default_value_t = 4.0)]
    pub factor: f64,
    /// Calls in flight while measuring saturation.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// A PostgreSQL server URL; SQLite files in a temporary directory when unset.
    #[arg(long)]
    pub db: Option<String>,
    #[arg(long)]
    pub json: bool,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    (sorted[i] * 10.0).round() / 10.0
}

pub async fn run(a: OverloadArgs) -> anyhow::Result<()> {
    let m = BenchMesh::start(a.db.as_deref(), None).await?;
    let result = measure(&m, &a).await;
    m.stop().await?;
    let out = result?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "saturated: {} submits/s; offered {} at {}/s for {} s: admitted {}, shed {}, other {}; \
             admitted p50 {} ms p99 {} ms, shed p99 {} ms; handoffs delivered {} s after the load stopped",
            out["saturated_per_second"],
            out["offered"],
            out["offered_per_second"],
            a.seconds,
            out["admitted"],
            out["shed"],
            out["other"],
            out["admitted_ms"]["p50"],
            out["admitted_ms"]["p99"],
            out["shed_ms"]["p99"],
            out["drain_seconds"],
        );
    }
    Ok(())
}

async fn measure(m: &BenchMesh, a: &OverloadArgs) -> anyhow::Result<Value> {
    let c = m.mesh.client()?;
    // Saturation, closed loop.
    let n = (a.concurrency * 20).max(200);
    let started = Instant::now();
    let ok = futures::stream::iter(0..n)
        .map(|_| c.submit(complaint()))
        .buffer_unordered(a.concurrency.max(1))
        .filter(|r| std::future::ready(r.is_ok()))
        .count()
        .await;
    anyhow::ensure!(ok == n, "saturation run: {} of {n} refused", n - ok);
    let saturated = n as f64 / started.elapsed().as_secs_f64();

    // Overload, open loop.
    let rate = saturated * a.factor;
    let offered = (rate * a.seconds).round() as usize;
    let gap = Duration::from_secs_f64(1.0 / rate);
    let mut tick = tokio::time::interval(gap);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = Vec::with_capacity(offered);
    for _ in 0..offered {
        tick.tick().await;
        let c = c.clone();
        calls.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = c.submit(complaint()).await;
            (
                r.map(drop).map_err(|s| s.code()),
                t.elapsed().as_secs_f64() * 1e3,
            )
        }));
    }
    let (mut admitted, mut shed, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for call in calls {
        match call.await? {
            (Ok(()), ms) => admitted.push(ms),
            (Err(tonic::Code::ResourceExhausted), ms) => shed.push(ms),
            (Err(code), _) => other.push(format!("{code:?}")),
        }
    }
    let stopped = Instant::now();
    // The handoff lag left behind: until the centre's outbox is empty.
    let city = hotline_store::Db::connect(&m.opts.db_url("city")?, 1, &[]).await?;
    let mut conn = city.acquire().await?;
    let deadline = stopped + Duration::from_secs(300);
    let backlog = loop {
        let depth = hotline_runtime::tables::outbox::depth(&mut conn).await?;
        if depth == 0 {
            break depth;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{depth} handoffs not delivered within 300 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let drain = stopped.elapsed().as_secs_f64();
    let parked = hotline_runtime::tables::outbox::dead_letter_count(&mut conn).await?;
    drop(conn);
    city.close().await;
    for v in [&mut admitted, &mut shed] {
        v.sort_by(f64::total_cmp);
    }
    Ok(json!({
        "saturated_per_second": saturated.round(),
        "offered_per_second": rate.round(),
        "offered": offered,
        "admitted": admitted.len(),
        "shed": shed.len(),
        "other": other.len(),
        "other_codes": other,
        "admitted_ms": { "p50": percentile(&admitted, 0.5), "p99": percentile(&admitted, 0.99), "max": percentile(&admitted, 1.0) },
        "shed_ms": { "p50": percentile(&shed, 0.5), "p99": percentile(&shed, 0.99) },
        "drain_seconds": (drain * 100.0).round() / 100.0,
        "outbox_after": backlog,
        "dead_letters": parked,
    }))
}

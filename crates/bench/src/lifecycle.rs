//! `hotline bench lifecycle`: complete lifecycles per second through the
//! gateway — each order submitted and dispatched, accepted, contacted,
//! progressed, replied, called back and closed by the centre and a
//! township's system — on a fresh demo mesh with every span exported to an
//! OTLP receiver, durable on the given database (PostgreSQL is the figure
//! the issue asks for). Beside it: the calls the gateway forwarded per
//! lifecycle (the client's calls, the services' handoffs, and the client's
//! polls while it waits for a handoff to land), and the bare-relay bound —
//! the bare relay's calls per second, measured in the same run under the
//! same concurrency ([`crate::bare`]), divided by those calls.

use clap::Args;
use hotline_client::duration::human;
use hotline_telemetry::sink::Sink;
use serde_json::json;

use crate::tracing::{BenchMesh, workload};

#[derive(Args, Debug, Clone)]
pub struct LifecycleArgs {
    /// Lifecycles timed (after a warm-up of `concurrency`).
    #[arg(long, default_value_t = 200)]
    pub orders: usize,
    /// Lifecycles in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// A PostgreSQL server URL (scratch databases are made on it and
    /// dropped after); SQLite files in a temporary directory when unset.
    #[arg(long)]
    pub db: Option<String>,
    /// Place the mesh's processes as `hotline up --pin-cpus` does, and
    /// the bare pair likewise.
    #[arg(long)]
    pub pin_cpus: bool,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(a: LifecycleArgs) -> anyhow::Result<()> {
    let sink = Sink::counting("127.0.0.1:0").await?;
    let m =
        BenchMesh::start_with(a.db.as_deref(), Some(sink.endpoint()), false, a.pin_cpus).await?;
    let measured = async {
        let c = m.mesh.client()?;
        workload(&c, a.concurrency, a.concurrency).await?;
        let before = c.stats().await?.calls;
        let secs = workload(&c, a.orders, a.concurrency).await?;
        // The stats call itself is forwarded too.
        let calls = c.stats().await?.calls - before - 1;
        anyhow::Ok((secs, calls))
    }
    .await;
    m.stop().await?;
    let (secs, calls) = measured?;
    // The bare relay under the same concurrency, after the mesh is gone.
    let bare = crate::bare::baseline(
        (calls as usize).clamp(1_000, 20_000),
        a.concurrency,
        a.pin_cpus,
    )
    .await?;
    let n = a.orders as f64;
    let rate = n / secs;
    let per = calls as f64 / n;
    let relay = bare["relay_calls_per_second"].as_f64().unwrap_or(0.0);
    let bound = relay / per;
    let backend = if a.db.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    let spans = sink.count();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "backend": backend,
                "pinned": a.pin_cpus,
                "tracing": "every span exported",
                "lifecycles": a.orders,
                "concurrency": a.concurrency,
                "seconds": (secs * 100.0).round() / 100.0,
                "lifecycles_per_second": (rate * 10.0).round() / 10.0,
                "gateway_calls_per_lifecycle": (per * 10.0).round() / 10.0,
                "relay_calls_per_second": relay,
                "bare_relay_bound": (bound * 10.0).round() / 10.0,
                "ratio_to_bound": (rate / bound * 1000.0).round() / 1000.0,
                "spans_received": spans,
                "baseline": bare,
            }))?
        );
    } else {
        println!(
            "{backend}, tracing on: {} lifecycles in {} = {rate:.1} lifecycles/s; \
             {per:.1} gateway calls each ({spans} spans exported)",
            a.orders,
            human(std::time::Duration::from_secs_f64(secs))
        );
        println!(
            "bare-relay bound: {relay:.0} relay calls/s ÷ {per:.1} = {bound:.1} lifecycles/s; \
             measured / bound = {:.3}",
            rate / bound
        );
    }
    Ok(())
}

//! `hotline bench`: measured figures, never timed tests. `bench locate`
//! lives with the topology commands (`hotline_topogen`).
//! `bench timers` fires due timers with the real sweeper on a fresh
//! database, each timer's effect shaped like the centre's (a notice row and
//! an outbox row, written with the timer marked fired). `bench tracing`
//! runs the same orders through a mesh without and with span export.
//! `bench simulate` measures the simulator on the real mesh (hotline_sim).

mod hop;
mod inbox;
pub mod proactive;
pub mod scoring;
pub mod tracing;

use std::sync::Arc;
use std::time::Instant;

use clap::Subcommand;
use hotline_core::{ManualClock, Micros};
use hotline_handler::tables::notices;
use hotline_runtime::error::Result;
use hotline_runtime::handoff::{self, Handoff};
use hotline_runtime::sweeper::{Sweeper, TimerEffects};
use hotline_runtime::tables::timers::{self, Arm, Timer};
use hotline_store::{Conn, Db, scratch};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// How many due timers per second one sweeper fires.
    Timers {
        /// `sqlite` for a temporary file, or a PostgreSQL server URL (a
        /// scratch database is made on it and dropped after).
        #[arg(long, default_value = "sqlite")]
        db: String,
        #[arg(long, default_value_t = 20_000)]
        count: u32,
        #[arg(long)]
        json: bool,
    },
    /// Locate calls per second on one core, on a topology's boundaries.
    Locate(hotline_topogen::BenchLocateArgs),
    /// The cost of tracing: orders per second through a mesh exporting no
    /// spans, then through one exporting every span to an OTLP receiver.
    Tracing(crate::tracing::TracingArgs),
    /// The inbox event log behind WatchAssignments: events recorded and
    /// replayed per second.
    Inbox(crate::inbox::InboxArgs),
    /// CPU time per call through the mesh: a read at the centre, and a
    /// complaint's intake with its handoff.
    Hop(crate::hop::HopArgs),
    /// Simulated contacts and dispatched orders per second: a scenario
    /// (Beijing by default) for a short span on each transport and backend.
    Simulate(hotline_sim::bench::BenchSimulateArgs),
    /// Scorecards and rankings for every unit of the generated Beijing
    /// topology over a month of generated orders.
    Scoring(crate::scoring::ScoringArgs),
    /// Proactive analysis (the pure maths) of a city's worth of requests.
    Proactive(crate::proactive::ProactiveArgs),
}

struct BenchEffects;

#[tonic::async_trait]
impl TimerEffects for BenchEffects {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        let n = notices::Notice {
            notice_id: format!("n:{}", t.timer_id),
            unit_id: t.unit_id.clone(),
            order_id: t.order_id.clone(),
            kind: hotline_core::kinds::NoticeKind::Warning,
            from_unit: "city".into(),
            time_us: now,
            detail: String::new(),
        };
        notices::insert(conn, &n).await?;
        let id = format!("m:{}", t.timer_id);
        let route = Handoff {
            message_id: &id,
            order_id: &t.order_id,
            from_unit: "city",
            target_unit: &t.unit_id,
            method: "/bench",
        };
        handoff::send(
            conn,
            route,
            &hotline_proto::v1::DeliverNoticeResponse {},
            now,
        )
        .await
    }
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    let (db, count, json) = match cmd {
        BenchCommand::Timers { db, count, json } => (db, count, json),
        BenchCommand::Locate(a) => return hotline_topogen::bench(a),
        BenchCommand::Tracing(a) => return crate::tracing::run(a).await,
        BenchCommand::Hop(a) => return crate::hop::run(a).await,
        BenchCommand::Inbox(a) => return crate::inbox::run(a).await,
        BenchCommand::Simulate(a) => return hotline_sim::bench::run(a).await,
        BenchCommand::Scoring(a) => return crate::scoring::run(a).await,
        BenchCommand::Proactive(a) => return crate::proactive::run(a),
    };
    let dir = tempfile::tempdir()?;
    let pg = (db != "sqlite").then_some(db.as_str());
    let t = scratch::ScratchDb::new(pg, dir.path(), "bench", &hotline_node::EVERY_SCHEMA).await?;
    let backend = format!("{:?}", t.db.backend()).to_lowercase();
    let armed = arm(&t.db, count).await?;
    let clock = Arc::new(ManualClock::new(count as i64 + 1));
    let sweeper = Sweeper::new(t.db.clone(), clock, Arc::new(BenchEffects));
    let started = Instant::now();
    let fired = sweeper.sweep().await?;
    let secs = started.elapsed().as_secs_f64();
    t.cleanup().await?;
    anyhow::ensure!(fired == armed, "fired {fired} of {armed} timers");
    let rate = fired as f64 / secs;
    if json {
        println!(
            "{}",
            serde_json::json!({"backend": backend, "timers": fired, "seconds": secs, "timers_per_second": rate.round()})
        );
    } else {
        println!(
            "{backend}: fired {fired} timers in {secs:.2} s = {rate:.0} timers/s (each: claim, notice row, outbox row, mark fired)"
        );
    }
    Ok(())
}

async fn arm(db: &Db, count: u32) -> anyhow::Result<u64> {
    let mut tx = db.begin().await?;
    for i in 0..count {
        let id = format!("bench:{i:08}");
        let order = format!("HL{:08}", i / 4);
        let a = Arm {
            timer_id: &id,
            kind: hotline_core::kinds::TimerKind::Warning,
            order_id: &order,
            unit_id: "t-bench",
            epoch: 1,
            due_us: i as i64,
            payload: "",
        };
        timers::arm(&mut tx, a, 0).await?;
    }
    tx.commit().await?;
    Ok(count as u64)
}

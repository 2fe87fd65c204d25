//! `hotline bench`: measured figures, never timed tests. `bench locate`
//! lives with the topology commands (`hotline_topogen`).
//! `bench timers` fires due timers with the real sweeper on a fresh
//! database, each timer's effect shaped like the centre's (a notice row and
//! an outbox row, written with the timer marked fired), once with the
//! effects written timer by timer as the services write theirs and once
//! as sets (one statement per table per batch); then the centre's own
//! effects (`city_timers`), one by one and as the sweeper batches them.
//! `bench tracing`
//! runs the same orders through a mesh without and with span export.
//! `bench simulate` measures the simulator on the real mesh (hotline_sim).
//! `bench triage` measures text triage on its held-apart set (hotline_triage).

pub mod bare;
mod city_timers;
mod hop;
mod inbox;
mod lifecycle;
mod overload;
pub mod proactive;
pub mod scoring;
pub mod tracing;
pub mod triage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use hotline_client::duration::human;
use hotline_core::{ManualClock, Micros};
use hotline_handler::tables::notices;
use hotline_runtime::error::Result;
use hotline_runtime::handoff::{self, Handoff};
use hotline_runtime::sweeper::{Sweeper, TimerEffects};
use hotline_runtime::tables::outbox::{self, NewMessage};
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
    /// Complete lifecycles per second through the gateway, tracing on,
    /// beside the bare-relay bound.
    Lifecycle(crate::lifecycle::LifecycleArgs),
    /// The mesh offered several times what it can take: admitted, shed,
    /// latency of each, and the handoff lag left behind.
    Overload(crate::overload::OverloadArgs),
    /// One process of the bare baseline (the benchmarks start it).
    #[command(hide = true)]
    Bare(crate::bare::BareArgs),
    /// Simulated contacts and dispatched orders per second: a scenario
    /// (Beijing by default) for a short span on each transport and backend.
    Simulate(hotline_sim::bench::BenchSimulateArgs),
    /// Scorecards and rankings for every unit of the generated Beijing
    /// topology over a month of generated orders.
    Scoring(crate::scoring::ScoringArgs),
    /// Proactive analysis (the pure maths) of a city's worth of requests.
    Proactive(crate::proactive::ProactiveArgs),
    /// Text triage on its held-apart evaluation set: top-1 and top-3
    /// accuracy, by category, the most confused pairs, suggestions/s.
    Triage(crate::triage::TriageArgs),
}

/// Each timer's effect shaped like the centre's: a notice row and an
/// outbox row, written timer by timer in its own span, as the services'
/// effects are (the sweeper's default `fire_all`).
struct PerTimer;

/// The same effects written as sets: one statement per table per batch.
struct Sets;

fn notice(t: &Timer, now: Micros) -> notices::Notice {
    notices::Notice {
        notice_id: format!("n:{}", t.timer_id),
        unit_id: t.unit_id.clone(),
        order_id: t.order_id.clone(),
        kind: hotline_core::kinds::NoticeKind::Warning,
        from_unit: "city".into(),
        time_us: now,
        detail: String::new(),
    }
}

const PAYLOAD: hotline_proto::v1::DeliverNoticeResponse =
    hotline_proto::v1::DeliverNoticeResponse {};

#[tonic::async_trait]
impl TimerEffects for PerTimer {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        notices::insert(conn, &notice(t, now)).await?;
        let id = format!("m:{}", t.timer_id);
        let route = Handoff {
            message_id: &id,
            order_id: &t.order_id,
            from_unit: "city",
            target_unit: &t.unit_id,
            method: "/bench",
        };
        handoff::send(conn, route, &PAYLOAD, now).await
    }
}

#[tonic::async_trait]
impl TimerEffects for Sets {
    async fn fire(&self, conn: &mut Conn, t: &Timer, now: Micros) -> Result<()> {
        self.fire_all(conn, std::slice::from_ref(t), now).await
    }

    async fn fire_all(&self, conn: &mut Conn, due: &[Timer], now: Micros) -> Result<()> {
        let ns: Vec<notices::Notice> = due.iter().map(|t| notice(t, now)).collect();
        notices::insert_all(conn, &ns).await?;
        let ids: Vec<String> = due.iter().map(|t| format!("m:{}", t.timer_id)).collect();
        let payload = prost::Message::encode_to_vec(&PAYLOAD);
        let ms: Vec<NewMessage> = due
            .iter()
            .zip(&ids)
            .map(|(t, id)| NewMessage {
                message_id: id,
                order_id: &t.order_id,
                from_unit: "city",
                target_unit: &t.unit_id,
                method: "/bench",
                payload: payload.clone(),
                // Each delivery continues the trace that armed its timer.
                trace_parent: &t.trace_parent,
                baggage: &t.baggage,
                handoff: hotline_core::kinds::HandoffKind::Handoff,
            })
            .collect();
        outbox::enqueue_all(conn, &ms, now).await?;
        Ok(())
    }
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    let (db, count, json) = match cmd {
        BenchCommand::Timers { db, count, json } => (db, count, json),
        BenchCommand::Locate(a) => return hotline_topogen::bench(a),
        BenchCommand::Tracing(a) => return crate::tracing::run(a).await,
        BenchCommand::Hop(a) => return crate::hop::run(a).await,
        BenchCommand::Lifecycle(a) => return crate::lifecycle::run(a).await,
        BenchCommand::Overload(a) => return crate::overload::run(a).await,
        BenchCommand::Bare(a) => return crate::bare::serve(a).await,
        BenchCommand::Inbox(a) => return crate::inbox::run(a).await,
        BenchCommand::Simulate(a) => return hotline_sim::bench::run(a).await,
        BenchCommand::Scoring(a) => return crate::scoring::run(a).await,
        BenchCommand::Proactive(a) => return crate::proactive::run(a),
        BenchCommand::Triage(a) => return crate::triage::run(a),
    };
    let mut rows = Vec::new();
    for sets in [false, true] {
        let (backend, fired, secs) = timers_once(&db, count, sets).await?;
        let rate = fired as f64 / secs;
        let effects = if sets { "sets" } else { "per_timer" };
        if !json {
            println!(
                "{backend}, effects {effects}: fired {fired} timers in {} = {rate:.0} timers/s \
                 (each: claimed and marked fired, a notice row, an outbox row)",
                human(Duration::from_secs_f64(secs))
            );
        }
        rows.push(serde_json::json!({"backend": backend, "effects": effects, "timers": fired, "seconds": secs, "timers_per_second": rate.round()}));
    }
    for one_by_one in [true, false] {
        let f = city_timers::once(&db, count, one_by_one).await?;
        let rate = f.timers as f64 / f.seconds;
        let effects = if one_by_one {
            "city_one_by_one"
        } else {
            "city"
        };
        if !json {
            println!(
                "{}, effects {effects}: fired {} of the centre's timers in {} = {rate:.0} timers/s \
                 ({} history lines, {} notices queued)",
                f.backend,
                f.timers,
                human(Duration::from_secs_f64(f.seconds)),
                f.history_lines,
                f.notices
            );
        }
        rows.push(serde_json::json!({"backend": f.backend, "effects": effects, "timers": f.timers, "seconds": f.seconds, "timers_per_second": rate.round(), "history_lines": f.history_lines, "notices": f.notices}));
    }
    if json {
        println!("{}", serde_json::Value::Array(rows));
    }
    Ok(())
}

/// Arms `count` due timers on a scratch database and sweeps them once:
/// the backend, how many fired, the seconds the sweep took.
async fn timers_once(db: &str, count: u32, sets: bool) -> anyhow::Result<(String, u64, f64)> {
    let dir = tempfile::tempdir()?;
    let pg = (db != "sqlite").then_some(db);
    let t = scratch::ScratchDb::new(pg, dir.path(), "bench", &hotline_node::EVERY_SCHEMA).await?;
    let backend = format!("{:?}", t.db.backend()).to_lowercase();
    let armed = arm(&t.db, count).await?;
    let clock = Arc::new(ManualClock::new(count as i64 + 1));
    let effects: Arc<dyn TimerEffects> = if sets {
        Arc::new(Sets)
    } else {
        Arc::new(PerTimer)
    };
    let sweeper = Sweeper::new(t.db.clone(), clock, effects);
    let started = Instant::now();
    let fired = sweeper.sweep().await?;
    let secs = started.elapsed().as_secs_f64();
    t.cleanup().await?;
    anyhow::ensure!(fired == armed, "fired {fired} of {armed} timers");
    Ok((backend, fired, secs))
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

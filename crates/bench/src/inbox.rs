//! `hotline bench inbox`: what the inbox event log behind WatchAssignments
//! costs. Records events one transaction each, as deliveries and notices
//! do (with the prune of expired events and, on PostgreSQL, the ordering
//! lock), then replays them in the stream's batches, as a reconnecting
//! watcher does.

use std::time::{Duration, Instant};

use clap::Args;
use hotline_client::duration::human;
use hotline_handler::tables::inbox_events::{self, InboxEvent};
use hotline_store::scratch;

#[derive(Args)]
pub struct InboxArgs {
    /// `sqlite` for a temporary file, or a PostgreSQL server URL (a scratch
    /// database is made on it and dropped after).
    #[arg(long, default_value = "sqlite")]
    db: String,
    #[arg(long, default_value_t = 5_000)]
    count: u32,
    /// Units the events spread over; the replay reads one.
    #[arg(long, default_value_t = 10)]
    units: u32,
    #[arg(long)]
    json: bool,
}

pub async fn run(a: InboxArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pg = (a.db != "sqlite").then_some(a.db.as_str());
    let t = scratch::ScratchDb::new(pg, dir.path(), "bench", &hotline_node::EVERY_SCHEMA).await?;
    let backend = format!("{:?}", t.db.backend()).to_lowercase();
    let units = a.units.max(1);
    let started = Instant::now();
    for i in 0..a.count {
        let e = InboxEvent {
            event_id: 0,
            source: format!("deliver:bench:{i}"),
            unit_id: format!("u{}", i % units),
            order_id: format!("HL{i:08}"),
            kind: hotline_core::kinds::InboxEventKind::Dispatched,
            epoch: 1,
            time_us: i as i64,
            detail: "role=lead state=dispatched".into(),
            notice_id: String::new(),
        };
        let mut tx = t.db.begin().await?;
        inbox_events::record(&mut tx, &e, -1).await?;
        tx.commit().await?;
    }
    let record_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut c = t.db.acquire().await?;
    let (mut cursor, mut replayed) = (0, 0usize);
    loop {
        let batch = inbox_events::after(&mut c, "u0", cursor, 200).await?;
        let Some(last) = batch.last() else { break };
        cursor = last.event_id;
        replayed += batch.len();
    }
    let replay_secs = started.elapsed().as_secs_f64();
    drop(c);
    t.cleanup().await?;
    let recorded = a.count as f64 / record_secs;
    let read = replayed as f64 / replay_secs;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"backend": backend, "events": a.count, "recorded_per_second": recorded.round(), "replayed": replayed, "replayed_per_second": read.round()})
        );
    } else {
        println!(
            "{backend}: recorded {} events in {} = {recorded:.0}/s (one tx each); replayed {replayed} of one unit in {} = {read:.0}/s",
            a.count,
            human(Duration::from_secs_f64(record_secs)),
            human(Duration::from_secs_f64(replay_secs))
        );
    }
    Ok(())
}

//! The timer sweeper: claims due timers and, in one transaction per batch,
//! marks them fired (one statement) and writes their effects (local rows
//! and outbox rows, never a remote call). A crash at any step either loses the whole
//! transaction (the timers are claimed again) or keeps all of it (they are
//! fired): a timer fires exactly once in effect.

use std::sync::Arc;
use std::time::Duration;

use crate::tables::timers::{self, Timer};
use hotline_core::Micros;
use hotline_store::{Conn, Db};
use hotline_telemetry::propagation;
use tokio::sync::watch;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::Result;
use crate::failpoint;

/// What a service does when one of its timers falls due.
#[tonic::async_trait]
pub trait TimerEffects: Send + Sync + 'static {
    /// Writes the effect of `timer` in the sweep's transaction. A timer
    /// whose cause has gone (the order replied meanwhile) writes nothing.
    async fn fire(&self, conn: &mut Conn, timer: &Timer, now: Micros) -> Result<()>;

    /// Writes the effects of a claimed batch, earliest due first. By
    /// default each timer's [`fire`](Self::fire) in turn, inside a span
    /// continuing the trace of the call that armed it; a service whose
    /// effects can be written as sets overrides this.
    async fn fire_all(&self, conn: &mut Conn, due: &[Timer], now: Micros) -> Result<()> {
        for t in due {
            self.fire(conn, t, now).instrument(timer_span(t)).await?;
        }
        Ok(())
    }
}

/// Timers claimed and fired per transaction. 512 rather than 128: the
/// centre's effects as sets fired 37 % more per second on PostgreSQL
/// (each batch's commit is an fsync); a full batch holds SQLite's writer
/// about 30 ms, and only when that many timers are due at once.
const BATCH: i64 = 512;

#[derive(Clone)]
pub struct Sweeper {
    pub db: Db,
    pub clock: Arc<dyn hotline_core::Clock>,
    pub effects: Arc<dyn TimerEffects>,
    /// One sweep at a time in this process (the loop and `AdvanceTo`).
    pub lock: Arc<tokio::sync::Mutex<()>>,
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl Sweeper {
    pub fn new(
        db: Db,
        clock: Arc<dyn hotline_core::Clock>,
        effects: Arc<dyn TimerEffects>,
    ) -> Self {
        Self {
            db,
            clock,
            effects,
            lock: Arc::default(),
            metrics: None,
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Fires every timer due by the clock's now; returns how many fired.
    pub async fn sweep(&self) -> Result<u64> {
        let _one = self.lock.lock().await;
        let mut fired = 0;
        loop {
            let now = self.clock.now();
            // Nothing due: one read, no transaction.
            if fired == 0 {
                let mut c = self.db.acquire().await?;
                if timers::next_due(&mut c).await?.is_none_or(|due| due > now) {
                    return Ok(0);
                }
            }
            let mut tx = self.db.begin().await?;
            let due = timers::claim_due(&mut tx, self.db.backend(), now, BATCH).await?;
            if due.is_empty() {
                return Ok(fired);
            }
            failpoint::hit("sweep.after_claim");
            // Each effect (and the handoffs it queues) continues the trace
            // of the call that armed its timer.
            self.effects.fire_all(&mut tx, &due, now).await?;
            failpoint::hit("sweep.before_commit");
            tx.commit().await?;
            failpoint::hit("sweep.after_commit");
            if let Some(m) = &self.metrics {
                for t in &due {
                    m.timers_fired
                        .get_or_create(&crate::metrics::KindLabels {
                            kind: t.kind.to_string(),
                        })
                        .inc();
                }
            }
            fired += due.len() as u64;
            tracing::debug!(fired = due.len(), "timers fired");
            // A short batch was all that was due; whatever falls due
            // meanwhile waits for the next sweep.
            if (due.len() as i64) < BATCH {
                return Ok(fired);
            }
        }
    }

    /// Sweeps until `stop`: at the next due instant on the wall clock, or
    /// every `poll` (a virtual clock moves only through `AdvanceTo`).
    pub async fn run(
        self,
        poll: Duration,
        mut stop: watch::Receiver<bool>,
        outbox: crate::outbox::Waker,
    ) {
        loop {
            // Idle, one read: the next due instant, swept only when reached.
            let mut next = self.next_due().await;
            if next.is_some_and(|due| due <= self.clock.now()) {
                match self.sweep().await {
                    Ok(n) if n > 0 => outbox.wake(),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "timer sweep failed"),
                }
                next = self.next_due().await;
            }
            let wait = match next {
                Some(due) => Duration::from_micros(
                    (due - self.clock.now()).clamp(0, poll.as_micros() as i64) as u64,
                ),
                None => poll,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn next_due(&self) -> Option<Micros> {
        let mut c = self.db.acquire().await.ok()?;
        timers::next_due(&mut c).await.ok().flatten()
    }
}

/// `timer.<kind>`, a child of the context stored when the timer was armed.
pub fn timer_span(t: &Timer) -> tracing::Span {
    let span = tracing::info_span!(
        target: "hotline::timer",
        "timer",
        otel.name = %format!("timer.{}", t.kind),
        hotline.order_id = %t.order_id,
        hotline.to_unit = %t.unit_id,
        hotline.timer = %t.kind,
    );
    let _ = span.set_parent(propagation::from_text(&t.trace_parent, &t.baggage));
    span
}

//! Delivers the outbox through the gateway until each message is
//! acknowledged. Retries only what a retry can change — UNAVAILABLE (a
//! call cut off mid-flight included), DEADLINE_EXCEEDED,
//! RESOURCE_EXHAUSTED, ABORTED (a concurrent update the receiver asks to
//! retry) and CANCELLED (a receiver or gateway shutting down) — with
//! capped, jittered backoff, up to an attempt cap and an age cap; any
//! other answer parks the message as a dead letter at once, and one retried
//! past its caps is parked as poison (`hotline dead-letters replay` puts
//! either back). Messages about one order to one unit go in order, one
//! lane each: one in backoff holds back the later ones of its lane. Lanes
//! go out concurrently (a pass no longer waits for each round trip in
//! turn).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::tables::handoffs;
use crate::tables::outbox::{self, ParkReason};
use bytes::Bytes;
use futures::StreamExt;
use hotline_store::Db;
use hotline_telemetry::{propagation, rpc};
use tokio::sync::{Notify, watch};
use tonic::Code;
use tonic::metadata::MetadataValue;

use crate::client::Gateway;
use crate::clock::wall_now;
use crate::meta;
use crate::metrics::Metrics;

/// Wakes the deliverer after a commit that queued messages, and keeps
/// passes one at a time (the background loop and `AdvanceTo` share it).
#[derive(Clone, Debug, Default)]
pub struct Waker {
    pub(crate) notify: Arc<Notify>,
    pass: Arc<tokio::sync::Mutex<()>>,
    backlog: Arc<Backlog>,
}

/// How far behind the deliverer may fall before intake sheds new work.
#[derive(Debug, Default)]
struct Backlog {
    /// The bound in microseconds; 0 sheds nothing.
    bound_us: std::sync::atomic::AtomicI64,
    /// The last reading: when it was taken and the oldest unsent message.
    last: std::sync::Mutex<Option<(std::time::Instant, Option<i64>)>>,
    /// Held by the one intake call reading the outbox; the others use the
    /// last reading meanwhile rather than each reading it too.
    reading: tokio::sync::Mutex<()>,
}

impl Backlog {
    fn last(&self) -> Option<(std::time::Instant, Option<i64>)> {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The oldest unsent message's wall time, read at most once per
    /// [`LAG_READ_EVERY`] whatever the number of calls asking at once.
    async fn oldest(&self, db: &Db) -> Result<Option<i64>, crate::ServiceError> {
        let fresh = |last: Option<(std::time::Instant, Option<i64>)>| {
            last.filter(|(at, _)| at.elapsed() < LAG_READ_EVERY)
        };
        let last = self.last();
        if let Some((_, oldest)) = fresh(last) {
            return Ok(oldest);
        }
        let _reading = match (self.reading.try_lock(), last) {
            (Ok(guard), _) => guard,
            // Another call is reading: its predecessor's reading stands.
            (Err(_), Some((_, oldest))) => return Ok(oldest),
            (Err(_), None) => self.reading.lock().await,
        };
        if let Some((_, oldest)) = fresh(self.last()) {
            return Ok(oldest);
        }
        let mut c = db.acquire().await?;
        let oldest = outbox::oldest_unsent(&mut c).await?;
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), oldest));
        Ok(oldest)
    }
}

/// How often intake reads the outbox's lag (between, it uses the last
/// reading): one cheap query a tenth of a second, not one per call.
const LAG_READ_EVERY: Duration = Duration::from_millis(100);

tokio::task_local! {
    /// Whether the work [`Waker::after`] runs has queued a message.
    static QUEUED: std::cell::Cell<bool>;
}

/// Notes that the running work queued a message ([`Waker::after`] wakes
/// the deliverer for it); a no-op outside that scope.
pub(crate) fn note_queued() {
    let _ = QUEUED.try_with(|q| q.set(true));
}

impl Waker {
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Runs `work` (a transaction through its commit) and wakes the
    /// deliverer if it succeeded having queued messages. Work that queued
    /// nothing (most events a handling unit records, a retry answered
    /// from its record) leaves the deliverer asleep: each spare wake cost
    /// it an empty pass, two statements — 1,755 of the district's 7,885
    /// in an hour of the simulated Beijing. (Intake and the requester's
    /// changes still wake it after each commit.)
    pub async fn after<T, E>(&self, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let (result, queued) = QUEUED
            .scope(std::cell::Cell::new(false), async {
                let result = work.await;
                (result, QUEUED.with(std::cell::Cell::get))
            })
            .await;
        if queued && result.is_ok() {
            self.wake();
        }
        result
    }

    /// Intake sheds while the oldest message not yet sent is older than
    /// `bound`; `None` never sheds.
    pub fn shed_intake_after(&self, bound: Option<Duration>) {
        let us = bound.map_or(0, |b| i64::try_from(b.as_micros()).unwrap_or(i64::MAX));
        self.backlog
            .bound_us
            .store(us, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether new work may come in at `now` (wall clock: the lag is real
    /// time, whatever a virtual business clock says): RESOURCE_EXHAUSTED
    /// with a retry hint while the outbox lags past its bound, so that
    /// handoffs already promised go out in bounded time before more are
    /// taken on.
    pub async fn admit(&self, db: &Db, now: i64) -> Result<(), crate::ServiceError> {
        let bound = self
            .backlog
            .bound_us
            .load(std::sync::atomic::Ordering::Relaxed);
        if bound == 0 {
            return Ok(());
        }
        let oldest = self.backlog.oldest(db).await?;
        match oldest {
            Some(t) if now - t > bound => Err(crate::ServiceError::Overloaded {
                what: format!(
                    "intake paused: handoffs are {} s behind (bound {} s); retry later",
                    (now - t) / 1_000_000,
                    bound / 1_000_000
                ),
                retry_after: Duration::from_secs(1),
            }),
            _ => Ok(()),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct Pass {
    pub delivered: u64,
    pub parked: u64,
    /// Delivered, not yet recorded (the pass records them together).
    acked: Vec<Acked>,
    /// When to look again: zero when a full batch went out, `None` when
    /// nothing waits.
    pub wait: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub call_timeout: Duration,
    pub idle_poll: Duration,
    /// Attempts before a message that keeps failing is parked as poison.
    pub max_attempts: u32,
    /// How long after its first failure a message is still retried.
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(10),
            call_timeout: Duration::from_secs(10),
            idle_poll: Duration::from_secs(1),
            // At the 10 s backoff cap, about 2 h 45 min of retries; a unit
            // down for longer has its messages parked and replayed.
            max_attempts: 1_000,
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// Full jitter over an exponential ceiling, never under half the base.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempts.clamp(0, 16) as u32)
            .min(self.cap);
        let low = self.base / 2;
        low + exp.saturating_sub(low).mul_f64(fastrand::f64())
    }

    /// Whether a message that has failed `attempts` times, first at
    /// `first_failed_us`, has used up its retries at `now` (wall clock).
    pub fn exhausted(&self, attempts: i64, first_failed_us: Option<i64>, now: i64) -> bool {
        let age = first_failed_us.map_or(0, |t| now.saturating_sub(t));
        attempts >= i64::from(self.max_attempts)
            || age >= i64::try_from(self.max_age.as_micros()).unwrap_or(i64::MAX)
    }
}

pub fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Cancelled
    )
}

pub struct Deliverer {
    pub db: Db,
    pub gateway: Gateway,
    pub waker: Waker,
    pub metrics: Arc<Metrics>,
    pub policy: RetryPolicy,
}

const BATCH: i64 = 100;

/// Lanes in flight at once in a pass.
const LANES: usize = 16;

/// A message its receiver acknowledged, to be recorded with the pass.
#[derive(Debug)]
pub struct Acked {
    id: i64,
    /// The handoff log's row (messages about an order only).
    handoff: Option<handoffs::Handoff>,
    /// From unit, target unit, handoff kind: the delivery metric's labels.
    labels: (String, String, &'static str),
}

/// What became of one message.
enum Outcome {
    Delivered(Box<Acked>),
    Parked,
    /// Retried after this long; the rest of its lane waits.
    Later(Duration),
}

impl Pass {
    fn sooner(&mut self, d: Duration) {
        self.wait = Some(self.wait.map_or(d, |w| w.min(d)));
    }
}

impl Deliverer {
    /// Runs until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            // Even while full batches go out back to back.
            if *stop.borrow() {
                return;
            }
            let wait = match self.pass().await {
                Ok(p) => p.wait,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed");
                    Some(self.policy.idle_poll)
                }
            };
            if wait == Some(Duration::ZERO) {
                continue;
            }
            tokio::select! {
                _ = self.waker.notify.notified() => {}
                _ = tokio::time::sleep(wait.unwrap_or(self.policy.idle_poll)) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// One pass over pending messages.
    pub async fn pass(&self) -> anyhow::Result<Pass> {
        let _one_at_a_time = self.waker.pass.lock().await;
        let now = wall_now();
        // Only what can go now: a backlog backing off (a receiver down)
        // neither fills the batch nor blocks the other lanes. The depth
        // gauge is read before each scrape (`Metrics::refresh`), not on
        // every pass.
        let outbox::Due {
            messages: batch,
            next,
        } = outbox::due(&mut *self.db.acquire().await?, now, BATCH).await?;
        let full = batch.len() as i64 == BATCH;
        // Lanes in queue order: the messages about one order to one unit.
        let mut lanes: Vec<Vec<outbox::Message>> = Vec::new();
        let mut lane_of: HashMap<(String, String), usize> = HashMap::new();
        for m in batch {
            let key = (m.target_unit.clone(), m.order_id.clone());
            let i = *lane_of.entry(key).or_insert_with(|| {
                lanes.push(Vec::new());
                lanes.len() - 1
            });
            lanes[i].push(m);
        }
        let passes: Vec<anyhow::Result<Pass>> = futures::stream::iter(lanes)
            .map(|lane| self.lane(lane))
            .buffer_unordered(LANES)
            .collect()
            .await;
        let mut done = Pass::default();
        if let Some(next) = next {
            done.sooner(Duration::from_micros(next.saturating_sub(now).max(0) as u64));
        }
        let mut acked = Vec::new();
        let mut failed = None;
        for p in passes {
            match p {
                Ok(mut p) => {
                    acked.append(&mut p.acked);
                    done.delivered += p.delivered;
                    done.parked += p.parked;
                    if let Some(w) = p.wait {
                        done.sooner(w);
                    }
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        // Every delivery of the pass recorded in one transaction (the
        // messages leave the outbox and enter the handoff log together),
        // those of the lanes that went well even when one failed.
        self.record(&acked).await?;
        if let Some(e) = failed {
            return Err(e);
        }
        if full {
            done.wait = Some(Duration::ZERO);
        }
        Ok(done)
    }

    /// Delivers one lane in order until a message must wait.
    async fn lane(&self, lane: Vec<outbox::Message>) -> anyhow::Result<Pass> {
        let mut done = Pass::default();
        for m in lane {
            let now = wall_now();
            if m.next_attempt_us > now {
                done.sooner(Duration::from_micros((m.next_attempt_us - now) as u64));
                break;
            }
            match self.deliver(&m).await? {
                Outcome::Delivered(ack) => {
                    done.delivered += 1;
                    done.acked.push(*ack);
                }
                Outcome::Parked => done.parked += 1,
                Outcome::Later(delay) => {
                    done.sooner(delay);
                    break;
                }
            }
        }
        Ok(done)
    }

    /// Sends one message and records what became of it.
    async fn deliver(&self, m: &outbox::Message) -> anyhow::Result<Outcome> {
        let started = std::time::Instant::now();
        let result = self.gateway.call_raw(&m.method, self.request(m)).await;
        crate::failpoint::hit_for("outbox.after_send", &m.target_unit);
        Ok(match result {
            Ok(_) => Outcome::Delivered(Box::new(Acked {
                id: m.id,
                handoff: (!m.order_id.is_empty()).then(|| handoffs::Handoff {
                    message_id: m.message_id.clone(),
                    order_id: m.order_id.clone(),
                    from_unit: m.from_unit.clone(),
                    target_unit: m.target_unit.clone(),
                    method: m.method.clone(),
                    created_us: m.created_us,
                    delivered_wall_us: wall_now(),
                    rpc_us: started.elapsed().as_micros() as i64,
                    attempts: m.attempts + 1,
                }),
                labels: (
                    m.from_unit.clone(),
                    m.target_unit.clone(),
                    m.handoff.as_str(),
                ),
            })),
            Err(s) => {
                let now = wall_now();
                let code = format!("{:?}", s.code());
                let reason = if !retryable(s.code()) {
                    ParkReason::Refused
                } else if self
                    .policy
                    .exhausted(m.attempts + 1, m.first_failed_us, now)
                {
                    ParkReason::RetriesExhausted
                } else {
                    let mut c = self.db.acquire().await?;
                    let delay = self.policy.backoff(m.attempts);
                    let error = format!("{code}: {}", s.message());
                    let at = now + delay.as_micros() as i64;
                    outbox::retry_later(&mut c, m.id, at, &error, now).await?;
                    self.metrics.outbox_retries.inc();
                    tracing::debug!(message_id = %m.message_id, target = %m.target_unit, code = ?s.code(), "handoff will be retried");
                    return Ok(Outcome::Later(delay));
                };
                let mut c = self.db.acquire().await?;
                outbox::park(&mut c, m, &code, s.message(), reason, now).await?;
                self.metrics.outbox_dead_letters.inc();
                tracing::warn!(message_id = %m.message_id, target = %m.target_unit, method = %m.method, code = %code, attempts = m.attempts + 1, reason = reason.as_str(), "handoff parked as dead letter");
                Outcome::Parked
            }
        })
    }

    /// Records a pass's deliveries: out of the outbox, into the handoff
    /// log, in one transaction of two statements. A crash before it
    /// commits sends them again, which receivers take once by message id.
    async fn record(&self, acked: &[Acked]) -> anyhow::Result<()> {
        if acked.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = acked.iter().map(|a| a.id).collect();
        let log: Vec<handoffs::Handoff> = acked.iter().filter_map(|a| a.handoff.clone()).collect();
        let mut c = self.db.acquire().await?;
        let mut tx = hotline_store::sqlx::Connection::begin(&mut *c).await?;
        outbox::delivered_all(&mut tx, &ids).await?;
        handoffs::record_all(&mut tx, &log).await?;
        tx.commit().await?;
        for a in acked {
            self.metrics.delivered(&a.labels.0, &a.labels.1, a.labels.2);
        }
        Ok(())
    }

    /// The delivering call: routed, naming its order and handoff kind for
    /// the spans on its way, and continuing the trace of the call that
    /// queued it (or a new trace, when that call had none).
    fn request(&self, m: &outbox::Message) -> tonic::Request<Bytes> {
        let mut req = meta::routed(Bytes::from(m.payload.clone()), &m.target_unit, &m.from_unit);
        req.set_timeout(self.policy.call_timeout);
        let md = req.metadata_mut();
        for (key, value) in [
            (rpc::ORDER, m.order_id.as_str()),
            (rpc::HANDOFF, m.handoff.as_str()),
        ] {
            if let (false, Ok(v)) = (value.is_empty(), MetadataValue::try_from(value)) {
                md.insert(key, v);
            }
        }
        let parent = propagation::from_text(&m.trace_parent, &m.baggage);
        req.extensions_mut().insert(rpc::Parent(parent));
        req
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        for attempts in 0..40 {
            let d = p.backoff(attempts);
            assert!(d >= p.base / 2 && d <= p.cap, "{attempts}: {d:?}");
        }
        let spread: HashSet<_> = (0..20).map(|_| p.backoff(5)).collect();
        assert!(spread.len() > 1, "jitter spreads retries");
    }

    #[test]
    fn only_transient_codes_are_retried() {
        assert!(retryable(Code::Unavailable));
        assert!(retryable(Code::DeadlineExceeded));
        assert!(retryable(Code::ResourceExhausted));
        assert!(retryable(Code::Aborted));
        assert!(retryable(Code::Cancelled), "a receiver shutting down");
        assert!(!retryable(Code::Unknown), "a server's own UNKNOWN");
        assert!(!retryable(Code::FailedPrecondition));
        assert!(!retryable(Code::InvalidArgument));
        assert!(!retryable(Code::Internal));
    }

    #[test]
    fn retries_stop_at_the_attempt_cap_or_the_age_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            max_age: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        let minute = 60_000_000;
        assert!(!p.exhausted(1, None, 0), "never failed before");
        assert!(!p.exhausted(4, Some(0), minute - 1));
        assert!(p.exhausted(5, Some(0), 1), "fifth attempt");
        assert!(
            p.exhausted(2, Some(0), minute),
            "a minute after the first failure"
        );
    }

    /// Intake sheds while a message not yet sent once is older than the
    /// bound, not for messages backing off for a unit that is down; with
    /// no bound it never sheds.
    #[tokio::test]
    async fn intake_sheds_while_unsent_handoffs_lag() {
        crate::backends::on_each_backend("backlog", |db| async move {
            let waker = Waker::default();
            let second = 1_000_000;
            let m = outbox::NewMessage {
                message_id: "m1",
                order_id: "HL1",
                from_unit: "city",
                target_unit: "t1",
                method: "/hotline.v1.DispatchService/DeliverAssignment",
                payload: Vec::new(),
                trace_parent: "",
                baggage: "",
                handoff: hotline_core::kinds::HandoffKind::Dispatch,
            };
            let mut c = db.acquire().await.unwrap();
            outbox::enqueue(&mut c, m.clone(), 0).await.unwrap();
            let queued = outbox::pending(&mut c, 1).await.unwrap()[0].clone();
            let (id, q) = (queued.id, queued.queued_wall_us);
            assert!(q > 0, "queued at a wall time");
            drop(c);
            assert!(waker.admit(&db, q + 60 * second).await.is_ok(), "no bound");

            waker.shed_intake_after(Some(Duration::from_secs(10)));
            assert!(
                waker.admit(&db, q + 10 * second).await.is_ok(),
                "at the bound"
            );
            tokio::time::sleep(LAG_READ_EVERY).await;
            let shed = waker.admit(&db, q + 11 * second).await.unwrap_err();
            let status = tonic::Status::from(shed);
            assert_eq!(status.code(), Code::ResourceExhausted);
            assert!(status.message().contains("11 s behind"), "{status:?}");
            use tonic_types::StatusExt as _;
            assert!(status.get_details_retry_info().is_some(), "a retry hint");

            // Tried once and backing off (its unit is down): not a lag of
            // the deliverer's, intake goes on.
            let mut c = db.acquire().await.unwrap();
            outbox::retry_later(&mut c, id, 20 * second, "UNAVAILABLE", 11 * second)
                .await
                .unwrap();
            drop(c);
            // A later message of the same lane waits behind it, untried:
            // not the deliverer's lag either.
            let mut c = db.acquire().await.unwrap();
            let behind = outbox::NewMessage {
                message_id: "m2",
                ..m.clone()
            };
            outbox::enqueue(&mut c, behind, 0).await.unwrap();
            drop(c);
            tokio::time::sleep(LAG_READ_EVERY).await;
            assert!(waker.admit(&db, q + 3_600 * second).await.is_ok());

            // A message of another lane queued after them, untried: the
            // oldest that counts, though two older ones come first.
            let mut c = db.acquire().await.unwrap();
            let other = outbox::NewMessage {
                message_id: "m3",
                order_id: "HL2",
                ..m.clone()
            };
            outbox::enqueue(&mut c, other, 0).await.unwrap();
            let third = outbox::oldest_unsent(&mut c).await.unwrap();
            drop(c);
            let third = third.expect("the other lane's message counts");
            assert!(third >= q, "queued after the first");
            tokio::time::sleep(LAG_READ_EVERY).await;
            let shed = waker.admit(&db, third + 11 * second).await.unwrap_err();
            assert!(tonic::Status::from(shed).message().contains("11 s behind"));
        })
        .await;
    }
}

//! The inbox as a stream (WatchAssignments). Every change that reaches a
//! unit's inbox (a delivery, a notice) records an event in the same
//! transaction; a watcher replays the events after its cursor, then follows
//! new ones. Events older than the policy's retention window are pruned as
//! new ones are written; a cursor behind them is OUT_OF_RANGE.

use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;

use crate::tables::inbox_events::{self, InboxEvent as Row};
use hotline_core::AssignmentState;
use hotline_core::clock::DAY;
use hotline_core::kinds::InboxEventKind as Kind;
use hotline_proto::v1::inbox_service_server::InboxService;
use hotline_proto::v1::*;
use hotline_runtime::error::{Result, ServiceError};
use hotline_runtime::tables::assignments::Assignment as Stored;
use hotline_runtime::wire::WireEnum;
use hotline_runtime::{Ctx, guard, meta, wire};
use hotline_store::{Batch, Conn};
use tokio::sync::{Notify, mpsc};
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Watchers in this process wait here for the next commit.
static COMMITTED: Notify = Notify::const_new();

/// A watcher polls anyway this often, in case a commit came from another
/// process sharing the database.
const POLL: Duration = Duration::from_millis(500);

/// Events read per query while replaying.
const BATCH: i64 = 200;

/// Wakes this process's watchers; call after committing an event.
pub fn wake() {
    COMMITTED.notify_waiters();
}

/// Records an inbox event in the caller's transaction.
pub async fn record(ctx: &Ctx, conn: &mut Conn, event: Row) -> Result<()> {
    inbox_events::record(conn, &event, retained_after(ctx)).await?;
    Ok(())
}

/// [`record`] among the writes of `batch` ([`inbox_events::record_into`]).
pub async fn record_into(ctx: &Ctx, conn: &mut Conn, batch: &mut Batch, event: Row) -> Result<()> {
    inbox_events::record_into(conn, batch, &event, retained_after(ctx)).await?;
    Ok(())
}

/// The instant before which events are pruned: the policy's retention.
fn retained_after(ctx: &Ctx) -> i64 {
    ctx.now() - (ctx.topology.policy.inbox_retention_days * DAY as f64) as i64
}

/// The event a delivery makes, if it changed the unit's assignment.
pub fn delivered(a: &Stored, extended: bool, request_id: &str, now: i64) -> Row {
    let kind = if a.state == AssignmentState::Revoked {
        Kind::Revoked
    } else if extended {
        Kind::Extended
    } else {
        Kind::Dispatched
    };
    Row {
        event_id: 0,
        source: format!("deliver:{request_id}"),
        unit_id: a.unit_id.clone(),
        order_id: a.order_id.clone(),
        kind,
        epoch: a.epoch,
        time_us: now,
        detail: format!("role={} state={}", a.role, a.state),
        notice_id: String::new(),
    }
}

/// The event a notice makes.
pub fn noticed(n: &crate::tables::notices::Notice) -> Row {
    let kind = Kind::of_notice(n.kind);
    Row {
        event_id: 0,
        source: format!("notice:{}", n.notice_id),
        unit_id: n.unit_id.clone(),
        order_id: n.order_id.clone(),
        kind,
        epoch: 0,
        time_us: n.time_us,
        detail: n.detail.clone(),
        notice_id: n.notice_id.clone(),
    }
}

fn to_wire(e: &Row) -> InboxEvent {
    InboxEvent {
        cursor: e.event_id as u64,
        unit_id: e.unit_id.clone(),
        order_id: e.order_id.clone(),
        kind: e.kind.to_wire(),
        epoch: e.epoch as u64,
        time: Some(wire::ts(e.time_us)),
        detail: e.detail.clone(),
        notice_id: e.notice_id.clone(),
    }
}

/// OUT_OF_RANGE naming the oldest cursor still available: resume from it
/// (and reconcile with ListAssignments) or start again from 0.
fn out_of_range(unit: &str, cursor: i64, horizon: i64) -> Status {
    let info = HashMap::from([("oldest_cursor".to_string(), horizon.to_string())]);
    Status::with_error_details(
        Code::OutOfRange,
        format!(
            "cursor {cursor} of unit {unit} is older than the retention window; \
             the oldest available cursor is {horizon}"
        ),
        ErrorDetails::with_error_info("CURSOR_EXPIRED", hotline_runtime::error::DOMAIN, info),
    )
}

#[derive(Clone)]
pub struct Inbox {
    ctx: Ctx,
}

impl Inbox {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    /// One step of a watch: the next events after `cursor`, or an error
    /// when the cursor fell behind the retention window.
    async fn next(&self, unit: &str, cursor: i64) -> Result<Vec<Row>, Status> {
        let mut c = self.ctx.db.acquire().await.map_err(ServiceError::from)?;
        let horizon = inbox_events::horizon(&mut c, unit)
            .await
            .map_err(ServiceError::from)?;
        if cursor != 0 && cursor < horizon {
            return Err(out_of_range(unit, cursor, horizon));
        }
        Ok(inbox_events::after(&mut c, unit, cursor, BATCH)
            .await
            .map_err(ServiceError::from)?)
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<WatchAssignmentsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl InboxService for Inbox {
    type WatchAssignmentsStream = EventStream;

    async fn watch_assignments(
        &self,
        req: Request<WatchAssignmentsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let caller = meta::Caller::checked(&self.ctx, &req, guard::Rule::Itself)?;
        let unit = caller.target;
        let start = i64::try_from(req.into_inner().after_cursor)
            .map_err(|_| ServiceError::invalid("after_cursor", "too large"))?;
        // Refuse an expired cursor before the stream starts.
        let first = self.next(&unit, start).await?;
        let (tx, rx) = mpsc::channel(BATCH as usize);
        let inbox = self.clone();
        tokio::spawn(async move {
            let mut cursor = start;
            let mut batch = first;
            loop {
                // Registered before reading, so no commit slips between.
                let committed = COMMITTED.notified();
                for e in &batch {
                    cursor = e.event_id;
                    let item = WatchAssignmentsResponse {
                        event: Some(to_wire(e)),
                    };
                    if tx.send(Ok(item)).await.is_err() {
                        return;
                    }
                }
                if batch.len() < BATCH as usize {
                    tokio::select! {
                        _ = committed => {}
                        _ = tokio::time::sleep(POLL) => {}
                        _ = tx.closed() => return,
                    }
                }
                batch = match inbox.next(&unit, cursor).await {
                    Ok(b) => b,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                };
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

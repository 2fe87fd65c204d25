//! The sender's outbox: handoffs written in the same transaction as the
//! state change, delivered later until acknowledged, or parked as dead
//! letters when the receiver refuses them for good.

use sqlx::Row;
use sqlx::any::AnyRow;

use hotline_core::kinds::HandoffKind;

use hotline_store::{Conn, Result, parse};

/// A handoff waiting to be delivered: a gRPC call to `method` on
/// `target_unit`, with the encoded request.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: i64,
    /// Also the request id the receiver deduplicates by.
    pub message_id: String,
    /// The order the handoff is about (empty for none): for traces.
    pub order_id: String,
    pub from_unit: String,
    pub target_unit: String,
    /// Full gRPC path, `/hotline.v1.DispatchService/DeliverAssignment`.
    pub method: String,
    pub payload: Vec<u8>,
    pub created_us: i64,
    pub attempts: i64,
    pub next_attempt_us: i64,
    pub last_error: Option<String>,
    /// When its first delivery failed (wall clock), for the age cap.
    pub first_failed_us: Option<i64>,
    /// When it was queued (wall clock), for the deliverer's lag.
    pub queued_wall_us: i64,
    /// The trace context of the call that queued the message (W3C
    /// `traceparent` and `baggage`), continued by its delivery.
    pub trace_parent: String,
    pub baggage: String,
    /// What the handoff is (dispatch, copy, accept, whistle…), for spans.
    pub handoff: HandoffKind,
}

/// A message the receiver refused for good.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub message_id: String,
    pub from_unit: String,
    pub target_unit: String,
    pub method: String,
    pub created_us: i64,
    pub parked_us: i64,
    pub attempts: i64,
    /// The last answer's gRPC code.
    pub code: String,
    pub error: String,
    pub reason: ParkReason,
}

/// Why a message was parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkReason {
    /// The receiver refused it with an answer a retry cannot change.
    Refused,
    /// Retried past the attempt or age cap (poison).
    RetriesExhausted,
}

impl ParkReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ParkReason::Refused => "refused",
            ParkReason::RetriesExhausted => "retries_exhausted",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "refused" => Some(ParkReason::Refused),
            "retries_exhausted" => Some(ParkReason::RetriesExhausted),
            _ => None,
        }
    }
}

/// Which dead letters a replay puts back.
#[derive(Debug, Clone, Copy)]
pub enum Replay<'a> {
    /// One message, by its id.
    Message(&'a str),
    /// Every message parked for this target unit.
    Target(&'a str),
    All,
}

/// What to send, before it has a row id.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub message_id: &'a str,
    pub order_id: &'a str,
    pub from_unit: &'a str,
    pub target_unit: &'a str,
    pub method: &'a str,
    pub payload: Vec<u8>,
    pub trace_parent: &'a str,
    pub baggage: &'a str,
    pub handoff: HandoffKind,
}

/// Queues a message for delivery at once; a message id already queued is
/// ignored, so a timer or retry that enqueues again changes nothing.
/// `now` is the business clock; retry times are wall-clock.
pub async fn enqueue(conn: &mut Conn, m: NewMessage<'_>, now: i64) -> Result<()> {
    enqueue_all(conn, &[m], now).await
}

/// Queues several messages in one statement (a sweep's batch of timer
/// effects); a message id already queued is kept as it was.
pub async fn enqueue_all(conn: &mut Conn, ms: &[NewMessage<'_>], now: i64) -> Result<()> {
    let mut b = hotline_store::Batch::of(conn);
    enqueue_all_into(&mut b, ms, now)?;
    b.run(conn).await
}

/// [`enqueue_all`]'s statement, added to `b` (the work running in
/// [`crate::outbox::Waker::after`] wakes the deliverer when it commits).
pub fn enqueue_all_into(
    b: &mut hotline_store::Batch,
    ms: &[NewMessage<'_>],
    now: i64,
) -> Result<()> {
    if ms.is_empty() {
        return Ok(());
    }
    // Each row: eleven parameters, then attempts and next_attempt_us at 0.
    let rows = b.placeholders(ms.len(), 11).replace(')', ", 0, 0)");
    let queued = crate::clock::wall_now();
    let sql = format!(
        "INSERT INTO outbox (message_id, order_id, from_unit, target_unit, method, payload, created_us, trace_parent, baggage, handoff, queued_wall_us, attempts, next_attempt_us) \
         VALUES {rows} ON CONFLICT (message_id) DO NOTHING"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for m in ms {
        q = q
            .bind(m.message_id)
            .bind(m.order_id)
            .bind(m.from_unit)
            .bind(m.target_unit)
            .bind(m.method)
            .bind(m.payload.clone())
            .bind(now)
            .bind(m.trace_parent)
            .bind(m.baggage)
            .bind(m.handoff.as_str())
            .bind(queued);
    }
    b.push(q)?;
    crate::outbox::note_queued();
    Ok(())
}

fn message(r: AnyRow) -> Result<Message> {
    Ok(Message {
        id: r.try_get("id")?,
        message_id: r.try_get("message_id")?,
        order_id: r.try_get("order_id")?,
        from_unit: r.try_get("from_unit")?,
        target_unit: r.try_get("target_unit")?,
        method: r.try_get("method")?,
        payload: r.try_get("payload")?,
        created_us: r.try_get("created_us")?,
        attempts: r.try_get("attempts")?,
        next_attempt_us: r.try_get("next_attempt_us")?,
        last_error: r.try_get("last_error")?,
        first_failed_us: r.try_get("first_failed_us")?,
        queued_wall_us: r.try_get("queued_wall_us")?,
        trace_parent: r.try_get("trace_parent")?,
        baggage: r.try_get("baggage")?,
        handoff: parse(
            &r.try_get::<String, _>("handoff")?,
            HandoffKind::parse,
            "outbox.handoff",
        )?,
    })
}

const COLUMNS: &str = "id, message_id, order_id, from_unit, target_unit, method, payload, created_us, attempts, \
    next_attempt_us, last_error, first_failed_us, queued_wall_us, trace_parent, baggage, handoff";

/// Pending messages in the order they were written, oldest first.
pub async fn pending(conn: &mut Conn, limit: i64) -> Result<Vec<Message>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox ORDER BY id LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(message).collect()
}

/// What the deliverer may send at `now`, oldest first: due messages with
/// no earlier message of their lane (the same target unit and order) still
/// backing off. A lane in backoff holds back only itself, and a batch holds
/// only work that can be done now.
pub async fn due(conn: &mut Conn, now: i64, limit: i64) -> Result<Due> {
    // The earliest later attempt rides on every row (an uncorrelated
    // subquery, evaluated once): a pass with messages to send is one
    // statement, not two.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, \
           (SELECT MIN(l.next_attempt_us) FROM outbox l WHERE l.next_attempt_us > $1) AS later \
         FROM outbox m WHERE m.next_attempt_us <= $1 AND NOT EXISTS ( \
           SELECT 1 FROM outbox e WHERE e.target_unit = m.target_unit \
           AND e.order_id = m.order_id AND e.id < m.id AND e.next_attempt_us > $1) \
         ORDER BY m.id LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let next = match rows.first() {
        Some(r) => r.try_get("later")?,
        None => next_attempt(conn, now).await?,
    };
    let messages = rows.into_iter().map(message).collect::<Result<_>>()?;
    Ok(Due { messages, next })
}

/// What a pass may send now, and when the earliest message backing off
/// after that is due, if any.
#[derive(Debug)]
pub struct Due {
    pub messages: Vec<Message>,
    pub next: Option<i64>,
}

/// When the earliest message backing off after `now` is due, if any.
pub async fn next_attempt(conn: &mut Conn, now: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(next_attempt_us) FROM outbox WHERE next_attempt_us > $1")
            .bind(now)
            .fetch_one(&mut *conn)
            .await?,
    )
}

pub async fn depth(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&mut *conn)
        .await?)
}

/// When the oldest message the deliverer could send but has not tried
/// even once was queued (wall clock): how far behind it is. Messages that
/// were tried and back off (their unit is down), and those waiting behind
/// such a lane-mate, do not count: a dead unit is not the deliverer's lag.
///
/// The oldest is the first in queue order (ids are given as messages are
/// queued, replays included), so the read walks the outbox by id and stops
/// at the first that counts. A `MIN` over every row probed each row's lane
/// instead: 3.6 ms a read with a backlog of a few thousand, on the
/// centre's one SQLite connection, while intake read it ten times a second
/// and more.
pub async fn oldest_unsent(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT m.queued_wall_us FROM outbox m WHERE m.attempts = 0 AND NOT EXISTS ( \
           SELECT 1 FROM outbox e WHERE e.target_unit = m.target_unit \
           AND e.order_id = m.order_id AND e.id < m.id AND e.attempts > 0) \
         ORDER BY m.id LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The receiver acknowledged: the message is done.
pub async fn delivered(conn: &mut Conn, id: i64) -> Result<()> {
    delivered_all(conn, &[id]).await
}

/// The receivers acknowledged these messages: one statement.
pub async fn delivered_all(conn: &mut Conn, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("DELETE FROM outbox WHERE id IN ({})", list.join(", "));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// A retryable failure: try again at `next_attempt_us`; the first
/// failure's wall time `now` is kept for the age cap.
pub async fn retry_later(
    conn: &mut Conn,
    id: i64,
    next_attempt_us: i64,
    error: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_us = $2, last_error = $3, \
         first_failed_us = COALESCE(first_failed_us, $4) WHERE id = $1",
    )
    .bind(id)
    .bind(next_attempt_us)
    .bind(error)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves the message to the dead letters, in one transaction: refused for
/// good, or retried past its caps.
pub async fn park(
    conn: &mut Conn,
    m: &Message,
    code: &str,
    error: &str,
    reason: ParkReason,
    now: i64,
) -> Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO dead_letters (message_id, from_unit, target_unit, method, payload, created_us, parked_us, attempts, code, error, \
           order_id, trace_parent, baggage, handoff, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(&m.message_id)
    .bind(&m.from_unit)
    .bind(&m.target_unit)
    .bind(&m.method)
    .bind(m.payload.clone())
    .bind(m.created_us)
    .bind(now)
    .bind(m.attempts + 1)
    .bind(code)
    .bind(error)
    .bind(&m.order_id)
    .bind(&m.trace_parent)
    .bind(&m.baggage)
    .bind(m.handoff.as_str())
    .bind(reason.as_str())
    .execute(&mut *tx)
    .await?;
    delivered(&mut tx, m.id).await?;
    tx.commit().await?;
    Ok(())
}

/// Puts parked messages back in the outbox, due at once with their
/// attempts reset, in one transaction; the number put back. A message id
/// still queued is left as it is, and a replayed message is no longer a
/// dead letter, so a replay run twice puts nothing back the second time;
/// receivers take a message once by its id however often it arrives.
pub async fn replay(conn: &mut Conn, which: Replay<'_>, now: i64) -> Result<u64> {
    // SQLite reads `INSERT … SELECT … ON CONFLICT` unambiguously only when
    // the SELECT has a WHERE clause.
    let (filter, key) = match which {
        Replay::Message(id) => ("WHERE message_id = $1", Some(id)),
        Replay::Target(unit) => ("WHERE target_unit = $1", Some(unit)),
        Replay::All => ("WHERE true", None),
    };
    let at = if key.is_some() { "$2" } else { "$1" };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let insert = format!(
        "INSERT INTO outbox (message_id, order_id, from_unit, target_unit, method, payload, created_us, trace_parent, baggage, handoff, queued_wall_us, attempts, next_attempt_us) \
         SELECT message_id, order_id, from_unit, target_unit, method, payload, created_us, trace_parent, baggage, \
           CASE WHEN handoff = '' THEN 'handoff' ELSE handoff END, {at}, 0, {at} \
         FROM dead_letters {filter} ORDER BY parked_us, message_id ON CONFLICT (message_id) DO NOTHING"
    );
    let delete = format!("DELETE FROM dead_letters {filter}");
    let (mut insert, mut delete) = (
        sqlx::query(sqlx::AssertSqlSafe(insert)),
        sqlx::query(sqlx::AssertSqlSafe(delete)),
    );
    if let Some(k) = key {
        insert = insert.bind(k);
        delete = delete.bind(k);
    }
    insert.bind(now).execute(&mut *tx).await?;
    let put_back = delete.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(put_back)
}

pub async fn dead_letters(conn: &mut Conn) -> Result<Vec<DeadLetter>> {
    let rows = sqlx::query(
        "SELECT message_id, from_unit, target_unit, method, created_us, parked_us, attempts, code, error, reason \
         FROM dead_letters ORDER BY parked_us, message_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DeadLetter {
                message_id: r.try_get("message_id")?,
                from_unit: r.try_get("from_unit")?,
                target_unit: r.try_get("target_unit")?,
                method: r.try_get("method")?,
                created_us: r.try_get("created_us")?,
                parked_us: r.try_get("parked_us")?,
                attempts: r.try_get("attempts")?,
                code: r.try_get("code")?,
                error: r.try_get("error")?,
                reason: parse(
                    &r.try_get::<String, _>("reason")?,
                    ParkReason::parse,
                    "dead_letters.reason",
                )?,
            })
        })
        .collect()
}

/// Dead letters held.
pub async fn dead_letter_count(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters")
        .fetch_one(&mut *conn)
        .await?)
}

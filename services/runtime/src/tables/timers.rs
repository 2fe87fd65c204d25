//! Durable timers: every deadline is a row. A sweeper claims due rows and,
//! in the same transaction, writes the timer's effect and marks it fired,
//! so a timer fires exactly once in effect even across crashes.

use sqlx::Row;
use sqlx::any::AnyRow;

use hotline_core::kinds::TimerKind;

use hotline_store::{Backend, Conn, Result, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    /// Deterministic: a re-armed deadline replaces, never duplicates.
    pub timer_id: String,
    pub kind: TimerKind,
    pub order_id: String,
    pub unit_id: String,
    pub epoch: i64,
    pub due_us: i64,
    pub state: String,
    /// Kind-specific data (a whistle id, a limit in force…).
    pub payload: String,
    pub created_us: i64,
    pub fired_us: Option<i64>,
    /// The trace context of the call that armed it (W3C `traceparent`
    /// and `baggage`), continued when it fires.
    pub trace_parent: String,
    pub baggage: String,
}

pub const PENDING: &str = "pending";
pub const FIRED: &str = "fired";
pub const CANCELLED: &str = "cancelled";

const COLUMNS: &str = "timer_id, kind, order_id, unit_id, epoch, due_us, state, payload, created_us, fired_us, \
    trace_parent, baggage";

fn from_row(r: AnyRow) -> Result<Timer> {
    Ok(Timer {
        timer_id: r.try_get("timer_id")?,
        kind: parse(
            &r.try_get::<String, _>("kind")?,
            TimerKind::parse,
            "timers.kind",
        )?,
        order_id: r.try_get("order_id")?,
        unit_id: r.try_get("unit_id")?,
        epoch: r.try_get("epoch")?,
        due_us: r.try_get("due_us")?,
        state: r.try_get("state")?,
        payload: r.try_get("payload")?,
        created_us: r.try_get("created_us")?,
        fired_us: r.try_get("fired_us")?,
        trace_parent: r.try_get("trace_parent")?,
        baggage: r.try_get("baggage")?,
    })
}

/// A deadline to arm.
#[derive(Debug, Clone, Copy)]
pub struct Arm<'a> {
    pub timer_id: &'a str,
    pub kind: TimerKind,
    pub order_id: &'a str,
    pub unit_id: &'a str,
    pub epoch: i64,
    pub due_us: i64,
    pub payload: &'a str,
}

/// Arms a timer, or re-arms it (pending again at the new instant) when the
/// id exists: an extension moves a deadline, it does not add one. The
/// timer keeps the trace context of the work arming it (see
/// [`crate::context`]), so its firing joins that trace.
pub async fn arm(conn: &mut Conn, t: Arm<'_>, now: i64) -> Result<()> {
    arm_all(conn, &[t], now).await
}

/// Arms (or re-arms) several timers in one statement; ids must differ.
pub async fn arm_all(conn: &mut Conn, ts: &[Arm<'_>], now: i64) -> Result<()> {
    let mut b = hotline_store::Batch::of(conn);
    arm_all_into(&mut b, ts, now)?;
    b.run(conn).await
}

/// [`arm_all`]'s statement, added to `b`.
pub fn arm_all_into(b: &mut hotline_store::Batch, ts: &[Arm<'_>], now: i64) -> Result<()> {
    if ts.is_empty() {
        return Ok(());
    }
    let (trace_parent, baggage) = super::context::capture();
    let rows = b.placeholders(ts.len(), 11);
    let sql = format!(
        "INSERT INTO timers (timer_id, kind, order_id, unit_id, epoch, due_us, state, payload, created_us, trace_parent, baggage) \
         VALUES {rows} \
         ON CONFLICT (timer_id) DO UPDATE SET due_us = excluded.due_us, state = 'pending', payload = excluded.payload, fired_us = NULL, \
         trace_parent = excluded.trace_parent, baggage = excluded.baggage"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for t in ts {
        q = q
            .bind(t.timer_id)
            .bind(t.kind.as_str())
            .bind(t.order_id)
            .bind(t.unit_id)
            .bind(t.epoch)
            .bind(t.due_us)
            .bind("pending")
            .bind(t.payload)
            .bind(now)
            .bind(trace_parent.clone())
            .bind(baggage.clone());
    }
    b.push(q)
}

/// Cancels pending timers of an order (optionally one kind, one unit).
pub async fn cancel(
    conn: &mut Conn,
    order_id: &str,
    unit_id: Option<&str>,
    kind: Option<TimerKind>,
) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE timers SET state = 'cancelled' WHERE order_id = $1 AND state = 'pending' \
         AND ($2 = '' OR unit_id = $2) AND ($3 = '' OR kind = $3)",
    )
    .bind(order_id)
    .bind(unit_id.unwrap_or(""))
    .bind(kind.map_or("", TimerKind::as_str))
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}

pub async fn cancel_one(conn: &mut Conn, timer_id: &str) -> Result<()> {
    sqlx::query("UPDATE timers SET state = 'cancelled' WHERE timer_id = $1 AND state = 'pending'")
        .bind(timer_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Claims up to `limit` due timers inside the caller's transaction and
/// marks them fired there, in one statement: the transaction that writes
/// their effects commits both or neither. On PostgreSQL concurrent
/// sweepers skip each other's rows; SQLite has one writer. Earliest due
/// first.
pub async fn claim_due(
    conn: &mut Conn,
    backend: Backend,
    now: i64,
    limit: i64,
) -> Result<Vec<Timer>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE timers SET state = 'fired', fired_us = $1 WHERE timer_id IN \
         (SELECT timer_id FROM timers WHERE state = 'pending' AND due_us <= $1 \
          ORDER BY due_us, timer_id LIMIT $2{lock}) \
         RETURNING {COLUMNS}"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut due = rows.into_iter().map(from_row).collect::<Result<Vec<_>>>()?;
    // RETURNING keeps no order.
    due.sort_by(|a, b| (a.due_us, &a.timer_id).cmp(&(b.due_us, &b.timer_id)));
    Ok(due)
}

pub async fn get(conn: &mut Conn, timer_id: &str) -> Result<Option<Timer>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM timers WHERE timer_id = $1"
    )))
    .bind(timer_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// Pending timers, soonest first, optionally for one unit.
pub async fn pending(conn: &mut Conn, unit_id: Option<&str>, limit: i64) -> Result<Vec<Timer>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM timers WHERE state = 'pending' AND ($1 = '' OR unit_id = $1) ORDER BY due_us, timer_id LIMIT $2"
    )))
    .bind(unit_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// The earliest pending instant, if any.
pub async fn next_due(conn: &mut Conn) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(due_us) FROM timers WHERE state = 'pending'")
            .fetch_one(&mut *conn)
            .await?,
    )
}

pub async fn for_order(conn: &mut Conn, order_id: &str) -> Result<Vec<Timer>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM timers WHERE order_id = $1 ORDER BY due_us, timer_id"
    )))
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// (pending, due by `now`) timer counts.
pub async fn counts(conn: &mut Conn, now: i64) -> Result<(i64, i64)> {
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE state = 'pending'")
        .fetch_one(&mut *conn)
        .await?;
    let due: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE state = 'pending' AND due_us <= $1")
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
    Ok((pending, due))
}

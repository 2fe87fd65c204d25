//! A handler service's inbox event log: what WatchAssignments replays and
//! follows. Each event is written in the transaction of the change that
//! causes it; its id is the watcher's cursor.

use sqlx::Row;

use hotline_core::kinds::InboxEventKind;

use hotline_store::{Backend, Batch, Conn, Query, Result, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct InboxEvent {
    /// The cursor; 0 before it is stored.
    pub event_id: i64,
    /// What caused it (a delivery's or a notice's id): the same cause is
    /// recorded once.
    pub source: String,
    pub unit_id: String,
    pub order_id: String,
    pub kind: InboxEventKind,
    pub epoch: i64,
    pub time_us: i64,
    pub detail: String,
    pub notice_id: String,
}

/// An event; the same source again inserts nothing. A literal, so that
/// [`record`] extends it with `concat!` rather than formatting each call.
macro_rules! insert_event {
    () => {
        "INSERT INTO inbox_events \
         (source, unit_id, order_id, kind, epoch, time_us, detail, notice_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (source) DO NOTHING"
    };
}

/// Records an event; the same source again is ignored. Events older than
/// `retain_after_us` are pruned in the same transaction, and each unit's
/// horizon remembers the newest cursor pruned.
///
/// Cursors must become visible in order, so that a watcher that has seen
/// cursor N never later finds a committed N-1: on PostgreSQL writers of
/// events take a transaction-scoped lock (SQLite has one writer anyway).
pub async fn record(conn: &mut Conn, e: &InboxEvent, retain_after_us: i64) -> Result<()> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock(80080008)")
            .execute(&mut *conn)
            .await?;
    }
    // The oldest instant comes back with the insert (a subquery on the
    // time index), so that an event with nothing expired is one statement.
    // The same source again inserts nothing and returns nothing: the
    // oldest is then read apart.
    let inserted = bound(
        concat!(
            insert_event!(),
            " RETURNING (SELECT MIN(o.time_us) FROM inbox_events o)"
        ),
        e,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let oldest: Option<Option<i64>> = inserted.map(|row| row.try_get(0)).transpose()?;
    match oldest {
        Some(oldest) => prune_from(conn, oldest, retain_after_us).await,
        None => prune(conn, retain_after_us).await,
    }
}

/// [`record`] among the writes of `batch`, before those pushed after it.
///
/// On SQLite the event and its pruning join the batch: one round trip to
/// the connection's thread with the transaction's other writes. The two
/// pruning statements cost an empty search of the time index when
/// nothing has expired. PostgreSQL runs a batch statement by statement
/// anyway: there the writes pushed so far run first, keeping the order of
/// the writes and of their locks, and the event is recorded as by
/// [`record`].
pub async fn record_into(
    conn: &mut Conn,
    batch: &mut Batch,
    e: &InboxEvent,
    retain_after_us: i64,
) -> Result<()> {
    if batch.backend() == Backend::Postgres {
        batch.flush(conn).await?;
        return record(conn, e, retain_after_us).await;
    }
    batch.push(bound(insert_event!(), e))?;
    batch.push(sqlx::query(RAISE_HORIZON).bind(retain_after_us))?;
    batch.push(sqlx::query(DELETE_EXPIRED).bind(retain_after_us))
}

/// `sql` (the event's insert, [`insert_event`]) with `e`'s values bound.
fn bound<'q>(sql: &'static str, e: &'q InboxEvent) -> Query<'q> {
    sqlx::query(sql)
        .bind(&e.source)
        .bind(&e.unit_id)
        .bind(&e.order_id)
        .bind(e.kind.as_str())
        .bind(e.epoch)
        .bind(e.time_us)
        .bind(&e.detail)
        .bind(&e.notice_id)
}

/// Each unit's horizon raised to the newest of its events before `$1`.
/// The events are found on the time index in a subquery that is not
/// merged into the grouping (its `ORDER BY`): merged, SQLite walks the
/// whole table on the unit index instead, 100 ms at 200,000 events.
/// `WHERE true` settles SQLite's parse of `SELECT … ON CONFLICT`.
const RAISE_HORIZON: &str = "INSERT INTO inbox_horizon (unit_id, pruned_through) \
     SELECT unit_id, MAX(event_id) FROM \
     (SELECT unit_id, event_id FROM inbox_events WHERE time_us < $1 ORDER BY time_us) AS expired \
     WHERE true GROUP BY unit_id \
     ON CONFLICT (unit_id) DO UPDATE SET pruned_through = excluded.pruned_through";

/// The events before `$1`, after [`RAISE_HORIZON`].
const DELETE_EXPIRED: &str = "DELETE FROM inbox_events WHERE time_us < $1";

/// Drops events before `before_us`, raising each unit's horizon.
pub async fn prune(conn: &mut Conn, before_us: i64) -> Result<()> {
    // The oldest instant, from the time index: usually nothing has
    // expired and this is the only statement. (MAX(event_id) with a time
    // filter walks the whole table backwards when nothing matches.)
    let oldest: Option<i64> = sqlx::query_scalar("SELECT MIN(time_us) FROM inbox_events")
        .fetch_one(&mut *conn)
        .await?;
    prune_from(conn, oldest, before_us).await
}

/// [`prune`] with the oldest instant already read.
async fn prune_from(conn: &mut Conn, oldest: Option<i64>, before_us: i64) -> Result<()> {
    if oldest.is_none_or(|t| t >= before_us) {
        return Ok(());
    }
    for sql in [RAISE_HORIZON, DELETE_EXPIRED] {
        sqlx::query(sql).bind(before_us).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The newest cursor pruned for a unit: a watcher behind it missed events.
pub async fn horizon(conn: &mut Conn, unit_id: &str) -> Result<i64> {
    let h: Option<i64> =
        sqlx::query_scalar("SELECT pruned_through FROM inbox_horizon WHERE unit_id = $1")
            .bind(unit_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(h.unwrap_or(0))
}

/// A unit's events after `after`, in cursor order.
pub async fn after(
    conn: &mut Conn,
    unit_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<InboxEvent>> {
    let rows = sqlx::query(
        "SELECT event_id, source, unit_id, order_id, kind, epoch, time_us, detail, notice_id \
         FROM inbox_events WHERE unit_id = $1 AND event_id > $2 ORDER BY event_id LIMIT $3",
    )
    .bind(unit_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(InboxEvent {
                event_id: r.try_get("event_id")?,
                source: r.try_get("source")?,
                unit_id: r.try_get("unit_id")?,
                order_id: r.try_get("order_id")?,
                kind: parse(
                    &r.try_get::<String, _>("kind")?,
                    InboxEventKind::parse,
                    "inbox_events.kind",
                )?,
                epoch: r.try_get("epoch")?,
                time_us: r.try_get("time_us")?,
                detail: r.try_get("detail")?,
                notice_id: r.try_get("notice_id")?,
            })
        })
        .collect()
}

//! Small tables: counters for ids, coordination requests.

use sqlx::Row;

use hotline_store::{Conn, Result};

/// The next value of a named counter, inside the caller's transaction (the
/// row lock serialises concurrent writers on PostgreSQL).
pub async fn next(conn: &mut Conn, name: &str) -> Result<i64> {
    // One statement: the first use creates the counter at 1.
    let v: i64 = sqlx::query_scalar(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await?;
    Ok(v)
}

/// A request from a handler to its parent tier to coordinate (Art. 20).
#[derive(Debug, Clone, PartialEq)]
pub struct Coordination {
    pub coordination_id: String,
    pub order_id: String,
    pub from_unit: String,
    pub to_unit: String,
    pub reason: String,
    pub time_us: i64,
    pub answer: String,
    pub answered_us: Option<i64>,
}

pub async fn insert_coordination(conn: &mut Conn, c: &Coordination) -> Result<()> {
    sqlx::query(
        "INSERT INTO coordinations (coordination_id, order_id, from_unit, to_unit, reason, time_us) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&c.coordination_id)
    .bind(&c.order_id)
    .bind(&c.from_unit)
    .bind(&c.to_unit)
    .bind(&c.reason)
    .bind(c.time_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Coordinations received by `to_unit`, after `after_id`, oldest first.
pub async fn list_coordinations(
    conn: &mut Conn,
    to_unit: &str,
    after_id: &str,
    limit: i64,
) -> Result<Vec<Coordination>> {
    let rows = sqlx::query(
        "SELECT coordination_id, order_id, from_unit, to_unit, reason, time_us, answer, answered_us FROM coordinations \
         WHERE to_unit = $1 AND coordination_id > $2 ORDER BY coordination_id LIMIT $3",
    )
    .bind(to_unit)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Coordination {
                coordination_id: r.try_get("coordination_id")?,
                order_id: r.try_get("order_id")?,
                from_unit: r.try_get("from_unit")?,
                to_unit: r.try_get("to_unit")?,
                reason: r.try_get("reason")?,
                time_us: r.try_get("time_us")?,
                answer: r.try_get("answer")?,
                answered_us: r.try_get("answered_us")?,
            })
        })
        .collect()
}

/// Records the coordinating unit's answer; `None` when no such request.
pub async fn answer_coordination(
    conn: &mut Conn,
    id: &str,
    to_unit: &str,
    answer: &str,
    now: i64,
) -> Result<Option<Coordination>> {
    sqlx::query("UPDATE coordinations SET answer = $3, answered_us = $4 WHERE coordination_id = $1 AND to_unit = $2")
        .bind(id)
        .bind(to_unit)
        .bind(answer)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let all = list_coordinations(conn, to_unit, "", i64::MAX).await?;
    Ok(all.into_iter().find(|c| c.coordination_id == id))
}

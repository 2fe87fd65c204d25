//! The city's record as proactive analytics reads it: citizens' requests by
//! time window (never proactive tasks), and who issued each proactive task
//! for which area.

use sqlx::Row;

use super::orders::{COLUMNS, Order, from_row};
use hotline_store::{Conn, Result};

/// A citizen's request with the marks of difficulty read from the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub order: Order,
    /// A jurisdiction objection was raised on it.
    pub disputed: bool,
    /// Co-handlers were summoned (a whistle) or it escalated upward.
    pub escalated: bool,
}

/// Citizens' requests with a category received in `[from_us, to_us)`,
/// oldest first. Proactive tasks are not requests and never appear.
pub async fn requests_between(conn: &mut Conn, from_us: i64, to_us: i64) -> Result<Vec<Request>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM objections j WHERE j.order_id = orders.order_id) \
              THEN 1 ELSE 0 END AS BIGINT) AS disputed, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM history h WHERE h.order_id = orders.order_id \
              AND h.action IN ('co_handler_added', 'escalated')) THEN 1 ELSE 0 END AS BIGINT) AS escalated_mark \
         FROM orders WHERE received_us >= $1 AND received_us < $2 \
         AND kind <> 'proactive_task' AND category_code <> '' ORDER BY received_us, order_id"
    )))
    .bind(from_us)
    .bind(to_us)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let disputed = r.try_get::<i64, _>("disputed")? != 0;
            let escalated = r.try_get::<i64, _>("escalated_mark")? != 0;
            Ok(Request {
                order: from_row(r)?,
                disputed,
                escalated,
            })
        })
        .collect()
}

/// Where each citizen's request of a category received in `[from_us,
/// to_us)` is: (territory unit, community unit).
pub async fn places_of(
    conn: &mut Conn,
    category_code: &str,
    from_us: i64,
    to_us: i64,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT territory_unit, community_unit FROM orders WHERE category_code = $1 \
         AND received_us >= $2 AND received_us < $3 AND kind <> 'proactive_task'",
    )
    .bind(category_code)
    .bind(from_us)
    .bind(to_us)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("territory_unit")?, r.try_get("community_unit")?)))
        .collect()
}

/// Who issued a proactive task, for which area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub order_id: String,
    pub issuer_unit: String,
    pub area_unit: String,
    pub created_us: i64,
}

pub async fn insert_task(conn: &mut Conn, t: &Task) -> Result<()> {
    sqlx::query(
        "INSERT INTO proactive_tasks (order_id, issuer_unit, area_unit, created_us) VALUES ($1, $2, $3, $4)",
    )
    .bind(&t.order_id)
    .bind(&t.issuer_unit)
    .bind(&t.area_unit)
    .bind(t.created_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn task(r: sqlx::any::AnyRow) -> Result<Task> {
    Ok(Task {
        order_id: r.try_get("order_id")?,
        issuer_unit: r.try_get("issuer_unit")?,
        area_unit: r.try_get("area_unit")?,
        created_us: r.try_get("created_us")?,
    })
}

pub async fn get_task(conn: &mut Conn, order_id: &str) -> Result<Option<Task>> {
    sqlx::query(
        "SELECT order_id, issuer_unit, area_unit, created_us FROM proactive_tasks WHERE order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await?
    .map(task)
    .transpose()
}

/// Tasks after `after_order_id`, by ascending id.
pub async fn list_tasks(conn: &mut Conn, after_order_id: &str, limit: i64) -> Result<Vec<Task>> {
    let rows = sqlx::query(
        "SELECT order_id, issuer_unit, area_unit, created_us FROM proactive_tasks \
         WHERE order_id > $1 ORDER BY order_id LIMIT $2",
    )
    .bind(after_order_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(task).collect()
}

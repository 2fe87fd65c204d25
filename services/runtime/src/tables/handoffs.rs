//! The sender's log of delivered handoffs: what went where, when it was
//! written (business clock) and how long the delivering call took.

use sqlx::Row;

use hotline_store::{Conn, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Handoff {
    pub message_id: String,
    pub order_id: String,
    pub from_unit: String,
    pub target_unit: String,
    pub method: String,
    pub created_us: i64,
    pub delivered_wall_us: i64,
    /// Duration of the delivering gRPC call, through the gateway.
    pub rpc_us: i64,
    pub attempts: i64,
}

pub async fn record(conn: &mut Conn, h: &Handoff) -> Result<()> {
    record_all(conn, std::slice::from_ref(h)).await
}

/// Records several deliveries in one statement; a message id already
/// recorded is kept as it was.
pub async fn record_all(conn: &mut Conn, hs: &[Handoff]) -> Result<()> {
    if hs.is_empty() {
        return Ok(());
    }
    let rows = hotline_store::placeholders(conn, hs.len(), 9);
    let sql = format!(
        "INSERT INTO handoffs (message_id, order_id, from_unit, target_unit, method, created_us, delivered_wall_us, rpc_us, attempts) \
         VALUES {rows} ON CONFLICT (message_id) DO NOTHING"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for h in hs {
        q = q
            .bind(&h.message_id)
            .bind(&h.order_id)
            .bind(&h.from_unit)
            .bind(&h.target_unit)
            .bind(&h.method)
            .bind(h.created_us)
            .bind(h.delivered_wall_us)
            .bind(h.rpc_us)
            .bind(h.attempts);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

pub async fn for_order(conn: &mut Conn, order_id: &str) -> Result<Vec<Handoff>> {
    let rows = sqlx::query(
        "SELECT message_id, order_id, from_unit, target_unit, method, created_us, delivered_wall_us, rpc_us, attempts \
         FROM handoffs WHERE order_id = $1 ORDER BY created_us, message_id",
    )
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Handoff {
                message_id: r.try_get("message_id")?,
                order_id: r.try_get("order_id")?,
                from_unit: r.try_get("from_unit")?,
                target_unit: r.try_get("target_unit")?,
                method: r.try_get("method")?,
                created_us: r.try_get("created_us")?,
                delivered_wall_us: r.try_get("delivered_wall_us")?,
                rpc_us: r.try_get("rpc_us")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .collect()
}

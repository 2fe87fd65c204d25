//! Parts reported to a lead by its co-handlers (Art. 14), kept by the
//! lead's unit.

use hotline_core::{ReplyOutcome, Role};
use sqlx::Row;

use hotline_store::{Conn, Result, parse};

/// A part of the handling a co-handler, assist or handed-down lead
/// reported back to its lead (Art. 14), kept at the lead's service.
#[derive(Debug, Clone, PartialEq)]
pub struct PartReport {
    pub order_id: String,
    pub lead_unit: String,
    pub unit_id: String,
    pub epoch: i64,
    pub role: Role,
    pub outcome: ReplyOutcome,
    pub body: String,
    pub time_us: i64,
}

/// Records a part; the same unit's part for the same epoch is kept once.
pub async fn put_part(conn: &mut Conn, p: &PartReport) -> Result<()> {
    sqlx::query(
        "INSERT INTO part_reports (order_id, lead_unit, unit_id, epoch, role, outcome, body, time_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (order_id, lead_unit, unit_id, epoch) DO NOTHING",
    )
    .bind(&p.order_id)
    .bind(&p.lead_unit)
    .bind(&p.unit_id)
    .bind(p.epoch)
    .bind(p.role.as_str())
    .bind(p.outcome.as_str())
    .bind(&p.body)
    .bind(p.time_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The parts reported to `lead_unit` on an order, oldest first.
pub async fn parts(conn: &mut Conn, order_id: &str, lead_unit: &str) -> Result<Vec<PartReport>> {
    let rows = sqlx::query(
        "SELECT order_id, lead_unit, unit_id, epoch, role, outcome, body, time_us FROM part_reports \
         WHERE order_id = $1 AND lead_unit = $2 ORDER BY time_us, unit_id, epoch",
    )
    .bind(order_id)
    .bind(lead_unit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PartReport {
                order_id: r.try_get("order_id")?,
                lead_unit: r.try_get("lead_unit")?,
                unit_id: r.try_get("unit_id")?,
                epoch: r.try_get("epoch")?,
                role: parse(&r.try_get::<String, _>("role")?, Role::parse, "role")?,
                outcome: parse(
                    &r.try_get::<String, _>("outcome")?,
                    ReplyOutcome::parse,
                    "outcome",
                )?,
                body: r.try_get("body")?,
                time_us: r.try_get("time_us")?,
            })
        })
        .collect()
}

//! The district's whistle registry (吹哨报到): who whistled, which
//! departments were summoned, and whether each checked in in time.

use hotline_core::{SummonsState, WhistleKind};
use sqlx::Row;

use hotline_store::{Conn, Result, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct Whistle {
    pub whistle_id: String,
    pub order_id: String,
    pub from_unit: String,
    pub district_unit: String,
    pub kind: WhistleKind,
    pub reason: String,
    pub time_us: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summons {
    pub whistle_id: String,
    pub department: String,
    pub due_us: i64,
    /// Stored by name: `summoned`, `checked_in`, `missed` or `late`.
    pub state: SummonsState,
    pub checked_in_us: Option<i64>,
}

pub async fn insert(conn: &mut Conn, w: &Whistle) -> Result<()> {
    sqlx::query(
        "INSERT INTO whistles (whistle_id, order_id, from_unit, district_unit, kind, reason, time_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (whistle_id) DO NOTHING",
    )
    .bind(&w.whistle_id)
    .bind(&w.order_id)
    .bind(&w.from_unit)
    .bind(&w.district_unit)
    .bind(w.kind.as_str())
    .bind(&w.reason)
    .bind(w.time_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, whistle_id: &str) -> Result<Option<Whistle>> {
    let row = sqlx::query(
        "SELECT whistle_id, order_id, from_unit, district_unit, kind, reason, time_us FROM whistles WHERE whistle_id = $1",
    )
    .bind(whistle_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Whistle {
            whistle_id: r.try_get("whistle_id")?,
            order_id: r.try_get("order_id")?,
            from_unit: r.try_get("from_unit")?,
            district_unit: r.try_get("district_unit")?,
            kind: parse(
                &r.try_get::<String, _>("kind")?,
                WhistleKind::parse,
                "whistles.kind",
            )?,
            reason: r.try_get("reason")?,
            time_us: r.try_get("time_us")?,
        })
    })
    .transpose()
}

pub async fn upsert_summons(conn: &mut Conn, s: &Summons) -> Result<()> {
    sqlx::query(
        "INSERT INTO summons (whistle_id, department, due_us, state, checked_in_us) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (whistle_id, department) DO UPDATE SET due_us = excluded.due_us, state = excluded.state, \
         checked_in_us = excluded.checked_in_us",
    )
    .bind(&s.whistle_id)
    .bind(&s.department)
    .bind(s.due_us)
    .bind(s.state.as_str())
    .bind(s.checked_in_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn summons(conn: &mut Conn, whistle_id: &str) -> Result<Vec<Summons>> {
    let rows = sqlx::query(
        "SELECT whistle_id, department, due_us, state, checked_in_us FROM summons WHERE whistle_id = $1 ORDER BY department",
    )
    .bind(whistle_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Summons {
                whistle_id: r.try_get("whistle_id")?,
                department: r.try_get("department")?,
                due_us: r.try_get("due_us")?,
                state: parse(
                    &r.try_get::<String, _>("state")?,
                    SummonsState::parse,
                    "summons state",
                )?,
                checked_in_us: r.try_get("checked_in_us")?,
            })
        })
        .collect()
}

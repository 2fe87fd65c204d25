//! Jurisdiction objections and their rulings: at the city, every one; at a
//! district, those referred to it for district-first arbitration.

use hotline_core::{ObjectionState, Role, RulingKind};
use sqlx::Row;
use sqlx::any::AnyRow;

use hotline_store::{Conn, Result, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct Objection {
    pub objection_id: String,
    pub order_id: String,
    /// The objecting unit, its assignment's epoch and role.
    pub unit_id: String,
    pub epoch: i64,
    pub role: Role,
    pub reason: String,
    pub proposed_unit: String,
    pub objected_us: i64,
    pub authority_unit: String,
    pub ruling_due_us: i64,
    pub state: ObjectionState,
    pub ruling: Option<RulingKind>,
    pub ruling_unit: String,
    pub ruled_by: String,
    pub ruled_us: Option<i64>,
    pub ruling_note: String,
}

const COLUMNS: &str = "objection_id, order_id, unit_id, epoch, role, reason, proposed_unit, objected_us, \
    authority_unit, ruling_due_us, state, ruling, ruling_unit, ruled_by, ruled_us, ruling_note";

fn from_row(r: AnyRow) -> Result<Objection> {
    let ruling: Option<String> = r.try_get("ruling")?;
    Ok(Objection {
        objection_id: r.try_get("objection_id")?,
        order_id: r.try_get("order_id")?,
        unit_id: r.try_get("unit_id")?,
        epoch: r.try_get("epoch")?,
        role: parse(&r.try_get::<String, _>("role")?, Role::parse, "role")?,
        reason: r.try_get("reason")?,
        proposed_unit: r.try_get("proposed_unit")?,
        objected_us: r.try_get("objected_us")?,
        authority_unit: r.try_get("authority_unit")?,
        ruling_due_us: r.try_get("ruling_due_us")?,
        state: parse(
            &r.try_get::<String, _>("state")?,
            ObjectionState::parse,
            "objection state",
        )?,
        ruling: ruling
            .map(|k| parse(&k, RulingKind::parse, "ruling"))
            .transpose()?,
        ruling_unit: r.try_get("ruling_unit")?,
        ruled_by: r.try_get("ruled_by")?,
        ruled_us: r.try_get("ruled_us")?,
        ruling_note: r.try_get("ruling_note")?,
    })
}

/// Inserts or replaces an objection (a district takes the city's latest).
pub async fn upsert(conn: &mut Conn, o: &Objection) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO objections ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (objection_id) DO UPDATE SET state = excluded.state, ruling = excluded.ruling, \
         ruling_unit = excluded.ruling_unit, ruled_by = excluded.ruled_by, ruled_us = excluded.ruled_us, \
         ruling_note = excluded.ruling_note"
    )))
    .bind(&o.objection_id)
    .bind(&o.order_id)
    .bind(&o.unit_id)
    .bind(o.epoch)
    .bind(o.role.as_str())
    .bind(&o.reason)
    .bind(&o.proposed_unit)
    .bind(o.objected_us)
    .bind(&o.authority_unit)
    .bind(o.ruling_due_us)
    .bind(o.state.as_str())
    .bind(o.ruling.map(|k| k.as_str()))
    .bind(&o.ruling_unit)
    .bind(&o.ruled_by)
    .bind(o.ruled_us)
    .bind(&o.ruling_note)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, objection_id: &str) -> Result<Option<Objection>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM objections WHERE objection_id = $1"
    )))
    .bind(objection_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(from_row).transpose()
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only those this unit rules on.
    pub authority_unit: Option<&'a str>,
    pub state: Option<ObjectionState>,
    pub order_id: Option<&'a str>,
}

/// Objections after `after_id`, by id.
pub async fn list(
    conn: &mut Conn,
    f: &Filter<'_>,
    after_id: &str,
    limit: i64,
) -> Result<Vec<Objection>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM objections WHERE ($1 = '' OR authority_unit = $1) AND ($2 = '' OR state = $2) \
         AND ($3 = '' OR order_id = $3) AND objection_id > $4 ORDER BY objection_id LIMIT $5"
    )))
    .bind(f.authority_unit.unwrap_or(""))
    .bind(f.state.map(|s| s.as_str()).unwrap_or(""))
    .bind(f.order_id.unwrap_or(""))
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

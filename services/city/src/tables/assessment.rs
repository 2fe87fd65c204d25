//! The city's record as assessment reads it (Art. 32): one period's
//! dispatches, callbacks, whistle parties, lost objections and bounce-limit
//! hits, loaded into the pure scoring dataset. Proactive tasks are not
//! citizens' requests and are never assessed here.

use hotline_core::scoring::{Basis, Callback, Dataset, Dispatched, Mark, Party, Summons};
use hotline_core::{Micros, Satisfaction, Urgency};
use sqlx::Row;
use sqlx::any::AnyRow;

use hotline_store::{Conn, Result, parse};

/// The kind of order that is a task the government set itself, not a
/// request (未诉先办); excluded from assessment.
pub const TASK_KIND: &str = "proactive_task";

/// Lead assignments the centre dispatched (not handed down inside a
/// township, not revoked).
macro_rules! assessed_leads {
    () => {
        "a.role = 'lead' AND a.lead_unit = '' AND a.state <> 'revoked' AND a.kind <> 'proactive_task'"
    };
}

fn dispatched(r: &AnyRow) -> Result<Dispatched> {
    Ok(Dispatched {
        unit: r.try_get("unit_id")?,
        order_id: r.try_get("order_id")?,
        urgency: parse(
            &r.try_get::<String, _>("urgency")?,
            Urgency::parse,
            "urgency",
        )?,
        dispatched_us: r.try_get("dispatched_us")?,
        accepted_us: r.try_get("accepted_us")?,
        contacted_us: r.try_get("contacted_us")?,
        due_us: r.try_get("due_us")?,
        replied_us: r.try_get("replied_us")?,
    })
}

macro_rules! dispatch_columns {
    () => {
        "a.unit_id, a.order_id, a.urgency, a.dispatched_us, a.accepted_us, a.contacted_us, a.due_us, a.replied_us"
    };
}

/// `AND column IN ($3, $4, …)` for a unit list (`$1`, `$2` are the period),
/// or nothing for every unit.
fn within(column: &str, units: Option<&[String]>) -> String {
    match units {
        None => String::new(),
        Some(units) => {
            let params: Vec<String> = (0..units.len()).map(|i| format!("${}", i + 3)).collect();
            format!(" AND {column} IN ({})", params.join(", "))
        }
    }
}

/// Runs a period query, binding the period and the unit list.
async fn fetch(
    conn: &mut Conn,
    sql: String,
    start: Micros,
    end: Micros,
    units: Option<&[String]>,
) -> Result<Vec<AnyRow>> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(start).bind(end);
    for u in units.into_iter().flatten() {
        q = q.bind(u.as_str());
    }
    Ok(q.fetch_all(&mut *conn).await?)
}

fn unit_ids(rows: &[AnyRow]) -> Result<Vec<String>> {
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("unit_id")?))
        .collect()
}

/// Everything assessment needs for the period [start, end): for every
/// unit, or only for the rows of `units` (a unit, a subtree) — which reads
/// far less than the whole city.
pub async fn dataset(
    conn: &mut Conn,
    start: Micros,
    end: Micros,
    units: Option<&[String]>,
    policy: &hotline_core::Policy,
) -> Result<Dataset> {
    if units.is_some_and(|u| u.is_empty()) {
        return Ok(Dataset::default());
    }
    let leads = assessed_leads!();
    // Each lead's current round, and its earlier rounds of reopened orders.
    let sql = format!(
        "SELECT {} FROM assignments a WHERE {leads} AND a.dispatched_us >= $1 AND a.dispatched_us < $2{} \
         UNION ALL SELECT {} FROM reopened_rounds a WHERE a.dispatched_us >= $1 AND a.dispatched_us < $2{}",
        dispatch_columns!(),
        within("a.unit_id", units),
        dispatch_columns!(),
        within("a.unit_id", units)
    );
    let dispatched = fetch(conn, sql, start, end, units)
        .await?
        .iter()
        .map(dispatched)
        .collect::<Result<Vec<_>>>()?;

    // Callbacks in the period, and the parties answerable for their orders
    // (only the orders of `units`, when given). A party repeats once per
    // callback of its order; scoring counts each unit once per callback.
    let mine = match units {
        None => String::new(),
        Some(_) => format!(
            " AND c.order_id IN (SELECT a.order_id FROM assignments a WHERE {leads}{} \
             UNION SELECT w.order_id FROM whistle_parties w WHERE w.order_id <> ''{})",
            within("a.unit_id", units),
            within("w.unit_id", units)
        ),
    };
    let sql = format!(
        "SELECT c.order_id, c.resolved, c.satisfaction FROM callbacks c \
         WHERE c.time_us >= $1 AND c.time_us < $2{mine}"
    );
    let callbacks = fetch(conn, sql, start, end, units)
        .await?
        .iter()
        .map(|r| {
            Ok(Callback {
                order_id: r.try_get("order_id")?,
                resolved: r.try_get::<i64, _>("resolved")? != 0,
                satisfaction: parse(
                    &r.try_get::<String, _>("satisfaction")?,
                    Satisfaction::parse,
                    "satisfaction",
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let sql = format!(
        "SELECT a.order_id, a.unit_id, 'lead' AS basis FROM assignments a \
         JOIN callbacks c ON c.order_id = a.order_id \
         WHERE c.time_us >= $1 AND c.time_us < $2 AND {leads}{} \
         UNION ALL SELECT w.order_id, w.unit_id, w.basis FROM whistle_parties w \
         JOIN callbacks c ON c.order_id = w.order_id WHERE c.time_us >= $1 AND c.time_us < $2{}",
        within("a.unit_id", units),
        within("w.unit_id", units)
    );
    let parties = fetch(conn, sql, start, end, units)
        .await?
        .iter()
        .map(|r| {
            Ok(Party {
                order_id: r.try_get("order_id")?,
                unit: r.try_get("unit_id")?,
                basis: match r.try_get::<String, _>("basis")?.as_str() {
                    "whistled" => Basis::Whistled,
                    "summoned" => Basis::Summoned,
                    _ => Basis::Lead,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let sql = format!(
        "SELECT unit_id, due_us, checked_in_us FROM whistle_parties \
         WHERE basis = 'summoned' AND time_us >= $1 AND time_us < $2{}",
        within("unit_id", units)
    );
    let summons = fetch(conn, sql, start, end, units)
        .await?
        .iter()
        .map(|r| {
            Ok(Summons {
                department: r.try_get("unit_id")?,
                due_us: r.try_get::<Option<i64>, _>("due_us")?.unwrap_or(i64::MAX),
                checked_in_us: r.try_get("checked_in_us")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut marks = Vec::new();
    let sources = [
        (
            Mark::Whistle,
            "SELECT unit_id FROM whistle_parties WHERE basis = 'whistled' AND time_us >= $1 AND time_us < $2",
            "unit_id",
        ),
        (
            Mark::ObjectionLost,
            "SELECT unit_id FROM objections WHERE state = 'ruled' AND ruling = 'keep' \
             AND ruled_us >= $1 AND ruled_us < $2",
            "unit_id",
        ),
        (
            Mark::BounceLimit,
            "SELECT DISTINCT j.unit_id, j.order_id FROM objections j JOIN orders o ON o.order_id = j.order_id \
             WHERE o.bounce_limit_reached <> 0 AND j.objected_us >= $1 AND j.objected_us < $2",
            "j.unit_id",
        ),
    ];
    for (mark, sql, column) in sources {
        let sql = format!("{sql}{}", within(column, units));
        for unit in unit_ids(&fetch(conn, sql, start, end, units).await?)? {
            marks.push((unit, mark));
        }
    }
    let mut data = Dataset {
        dispatched,
        callbacks,
        parties,
        summons,
        marks,
    };
    set_apart_marked(conn, &mut data, policy).await?;
    Ok(data)
}

/// Counts the dispatches of requests the centre marked unreasonable or
/// malicious (Art. 9, 37) and, unless the policy assesses them, takes
/// their dispatches, callbacks and callback parties out of the period.
async fn set_apart_marked(
    conn: &mut Conn,
    data: &mut Dataset,
    policy: &hotline_core::Policy,
) -> Result<()> {
    let marked: std::collections::BTreeSet<String> =
        sqlx::query_scalar("SELECT order_id FROM orders WHERE request_mark <> ''")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    if marked.is_empty() {
        return Ok(());
    }
    for d in data
        .dispatched
        .iter()
        .filter(|d| marked.contains(&d.order_id))
    {
        data.marks.push((d.unit.clone(), Mark::MarkedRequest));
    }
    if !policy.assess_marked_requests {
        data.dispatched.retain(|d| !marked.contains(&d.order_id));
        data.callbacks.retain(|c| !marked.contains(&c.order_id));
        data.parties.retain(|p| !marked.contains(&p.order_id));
    }
    Ok(())
}

/// One order as a unit is assessed on it.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessedOrder {
    pub dispatched: Dispatched,
    pub category_code: String,
    pub state: String,
    pub resolved: Option<bool>,
    pub satisfaction: Option<String>,
}

/// Keeps the round an assessed lead is leaving when its order is reopened
/// (its epoch's dispatch, acceptance, contact, deadline and reply), so the
/// round is still assessed after the assignment moves to the next epoch.
pub async fn keep_round(
    conn: &mut Conn,
    a: &hotline_runtime::tables::assignments::Assignment,
) -> Result<()> {
    let assessed = a.role.is_lead()
        && a.lead_unit.is_empty()
        && a.state != hotline_core::AssignmentState::Revoked
        && a.kind.is_citizen_request();
    if !assessed {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO reopened_rounds (order_id, unit_id, epoch, urgency, dispatched_us, accepted_us, \
         contacted_us, due_us, replied_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (order_id, unit_id, epoch) DO NOTHING",
    )
    .bind(&a.order_id)
    .bind(&a.unit_id)
    .bind(a.epoch)
    .bind(a.urgency.as_str())
    .bind(a.dispatched_us)
    .bind(a.accepted_us)
    .bind(a.contacted_us)
    .bind(a.due_us)
    .bind(a.replied_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A unit's assessed orders dispatched in [start, end), by order id,
/// after `after`.
pub async fn unit_orders(
    conn: &mut Conn,
    unit: &str,
    start: Micros,
    end: Micros,
    after: &str,
    limit: i64,
) -> Result<Vec<AssessedOrder>> {
    let sql = concat!(
        "SELECT ",
        dispatch_columns!(),
        ", a.category_code, a.state, o.callback_resolved, o.callback_satisfaction ",
        "FROM assignments a JOIN orders o ON o.order_id = a.order_id WHERE a.unit_id = $1 AND ",
        assessed_leads!(),
        " AND a.dispatched_us >= $2 AND a.dispatched_us < $3 AND a.order_id > $4 ",
        "ORDER BY a.order_id LIMIT $5"
    );
    let rows = sqlx::query(sql)
        .bind(unit)
        .bind(start)
        .bind(end)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AssessedOrder {
                dispatched: dispatched(r)?,
                category_code: r.try_get("category_code")?,
                state: r.try_get("state")?,
                resolved: r
                    .try_get::<Option<i64>, _>("callback_resolved")?
                    .map(|v| v != 0),
                satisfaction: r.try_get("callback_satisfaction")?,
            })
        })
        .collect()
}

/// Refreshes the planner's statistics (after a bulk load: PostgreSQL's
/// autovacuum would do it in time, but a planner that believes the tables
/// empty joins them by nested loops).
pub async fn analyze(conn: &mut Conn) -> Result<()> {
    sqlx::query("ANALYZE").execute(&mut *conn).await?;
    Ok(())
}

/// Records a callback (`n` orders the callbacks of one order).
pub async fn insert_callback(
    conn: &mut Conn,
    order_id: &str,
    n: i64,
    resolved: bool,
    satisfaction: Satisfaction,
    time_us: Micros,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO callbacks (order_id, n, resolved, satisfaction, time_us) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (order_id, n) DO NOTHING",
    )
    .bind(order_id)
    .bind(n)
    .bind(i64::from(resolved))
    .bind(satisfaction.as_str())
    .bind(time_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A unit a whistle makes answerable for an order.
#[derive(Debug, Clone, PartialEq)]
pub struct WhistleParty {
    pub whistle_id: String,
    pub unit_id: String,
    pub order_id: String,
    /// `whistled` or `summoned`.
    pub basis: String,
    pub time_us: Micros,
    pub due_us: Option<Micros>,
}

pub async fn insert_party(conn: &mut Conn, p: &WhistleParty) -> Result<()> {
    sqlx::query(
        "INSERT INTO whistle_parties (whistle_id, unit_id, order_id, basis, time_us, due_us) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (whistle_id, unit_id) DO NOTHING",
    )
    .bind(&p.whistle_id)
    .bind(&p.unit_id)
    .bind(&p.order_id)
    .bind(&p.basis)
    .bind(p.time_us)
    .bind(p.due_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A summoned department checked in (the first check-in counts).
pub async fn checked_in(
    conn: &mut Conn,
    whistle_id: &str,
    unit_id: &str,
    at: Micros,
) -> Result<()> {
    sqlx::query(
        "UPDATE whistle_parties SET checked_in_us = $3 \
         WHERE whistle_id = $1 AND unit_id = $2 AND checked_in_us IS NULL",
    )
    .bind(whistle_id)
    .bind(unit_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

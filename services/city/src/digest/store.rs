//! The digest's reads of the city's record, set-based and portable
//! (SQLite and PostgreSQL through sqlx's Any driver). Every read is of
//! citizens' requests with a category (never proactive tasks), optionally
//! only those placed in an area: their territory or community is one of
//! the area's units.

use sqlx::Row;
use sqlx::any::AnyRow;

use hotline_store::{Conn, Result};

/// The area filter on `orders` (aliased `o`): `None` reads the whole
/// city; else the units (ids) of the area's subtree.
pub type Area<'a> = Option<&'a [String]>;

/// `AND (o.territory_unit IN (…) OR o.community_unit IN (…))` with the
/// units bound from `$first`, or nothing for the whole city.
fn area_clause(area: Area<'_>, first: usize) -> String {
    match area {
        None => String::new(),
        Some(units) => {
            let list: Vec<String> = (0..units.len().max(1))
                .map(|i| format!("${}", first + i))
                .collect();
            let list = list.join(", ");
            format!(" AND (o.territory_unit IN ({list}) OR o.community_unit IN ({list}))")
        }
    }
}

/// Binds the area's units after the query's own parameters.
fn bind_area<'q>(mut q: hotline_store::Query<'q>, area: Area<'q>) -> hotline_store::Query<'q> {
    if let Some(units) = area {
        if units.is_empty() {
            // No unit matches an empty id: territory and community are
            // empty only on unplaced orders, which no district holds.
            q = q.bind("\u{1}");
        }
        for u in units {
            q = q.bind(u.as_str());
        }
    }
    q
}

const REQUESTS: &str = "o.kind <> 'proactive_task' AND o.category_code <> ''";

/// Requests per catalogue item and week: (item, week index, count), week
/// 0 starting at `from_us`, each `week_us` long, up to `to_us`.
pub async fn weekly_counts(
    conn: &mut Conn,
    from_us: i64,
    to_us: i64,
    week_us: i64,
    area: Area<'_>,
) -> Result<Vec<(String, i64, i64)>> {
    let sql = format!(
        "SELECT o.category_code AS code, CAST((o.received_us - $1) / $3 AS BIGINT) AS wk, \
         COUNT(*) AS n FROM orders o WHERE o.received_us >= $1 AND o.received_us < $2 \
         AND {REQUESTS}{} GROUP BY 1, 2",
        area_clause(area, 4)
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from_us)
        .bind(to_us)
        .bind(week_us);
    let rows = bind_area(q, area).fetch_all(&mut *conn).await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("code")?, r.try_get("wk")?, r.try_get("n")?)))
        .collect()
}

/// A located request.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub order_id: String,
    pub category_code: String,
    pub latitude: f64,
    pub longitude: f64,
    pub received_us: i64,
    pub territory_unit: String,
}

/// Requests with a location received in `[from_us, to_us)`.
pub async fn located(
    conn: &mut Conn,
    from_us: i64,
    to_us: i64,
    area: Area<'_>,
) -> Result<Vec<Located>> {
    let sql = format!(
        "SELECT o.order_id, o.category_code, o.latitude, o.longitude, o.received_us, \
         o.territory_unit FROM orders o WHERE o.received_us >= $1 AND o.received_us < $2 \
         AND o.latitude IS NOT NULL AND o.longitude IS NOT NULL AND {REQUESTS}{} \
         ORDER BY o.received_us, o.order_id",
        area_clause(area, 3)
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from_us)
        .bind(to_us);
    let rows = bind_area(q, area).fetch_all(&mut *conn).await?;
    rows.into_iter()
        .map(|r| {
            Ok(Located {
                order_id: r.try_get("order_id")?,
                category_code: r.try_get("category_code")?,
                latitude: r.try_get("latitude")?,
                longitude: r.try_get("longitude")?,
                received_us: r.try_get("received_us")?,
                territory_unit: r.try_get("territory_unit")?,
            })
        })
        .collect()
}

/// An order as the digest lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub order_id: String,
    pub category_code: String,
    pub state: String,
    pub territory_unit: String,
    pub received_us: i64,
    pub due_us: i64,
    pub closed_us: Option<i64>,
    pub callback_resolved: Option<i64>,
    pub requester_ref: String,
}

const LISTED: &str = "o.order_id, o.category_code, o.state, o.territory_unit, o.received_us, \
    o.due_us, o.closed_us, o.callback_resolved, o.requester_ref";

fn listed(r: &AnyRow) -> Result<Listed> {
    Ok(Listed {
        order_id: r.try_get("order_id")?,
        category_code: r.try_get("category_code")?,
        state: r.try_get("state")?,
        territory_unit: r.try_get("territory_unit")?,
        received_us: r.try_get("received_us")?,
        due_us: r.try_get("due_us")?,
        closed_us: r.try_get("closed_us")?,
        callback_resolved: r.try_get("callback_resolved")?,
        requester_ref: r.try_get("requester_ref")?,
    })
}

/// Not resolved: answered, disposed and withdrawn requests aside, no
/// callback said resolved. [`Listed::unresolved`] is the same rule.
const UNRESOLVED: &str = "o.state NOT IN ('answered', 'disposed', 'withdrawn') \
    AND COALESCE(o.callback_resolved, 0) <> 1";

impl Listed {
    pub fn unresolved(&self) -> bool {
        !matches!(self.state.as_str(), "answered" | "disposed" | "withdrawn")
            && self.callback_resolved != Some(1)
    }
}

/// The requests received in `[from_us, to_us)` of every requester with two
/// or more of them there, at least one unresolved; by requester, oldest
/// first.
pub async fn repeat_requesters(
    conn: &mut Conn,
    from_us: i64,
    to_us: i64,
    area: Area<'_>,
) -> Result<Vec<Listed>> {
    let scope = format!(
        "o.received_us >= $1 AND o.received_us < $2 AND o.requester_ref <> '' AND {REQUESTS}{}",
        area_clause(area, 3)
    );
    let sql = format!(
        "SELECT {LISTED} FROM orders o WHERE {scope} AND o.requester_ref IN ( \
         SELECT o.requester_ref FROM orders o WHERE {scope} GROUP BY o.requester_ref \
         HAVING COUNT(*) >= 2 AND SUM(CASE WHEN {UNRESOLVED} THEN 1 ELSE 0 END) >= 1) \
         ORDER BY o.requester_ref, o.received_us, o.order_id"
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from_us)
        .bind(to_us);
    let rows = bind_area(q, area).fetch_all(&mut *conn).await?;
    rows.iter().map(listed).collect()
}

/// A line of an order's history the digest reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub order: Listed,
    pub action: String,
    pub time_us: i64,
    pub actor_unit: String,
    pub detail: String,
}

/// Handler limits breached (`breached`), objections (`objected`) and
/// reopens (`reopened`) in `[from_us, to_us)`, oldest first.
pub async fn events(
    conn: &mut Conn,
    from_us: i64,
    to_us: i64,
    area: Area<'_>,
) -> Result<Vec<Event>> {
    let sql = format!(
        "SELECT {LISTED}, h.action, h.time_us, h.actor_unit, h.detail \
         FROM history h JOIN orders o ON o.order_id = h.order_id \
         WHERE h.time_us >= $1 AND h.time_us < $2 \
         AND h.action IN ('breached', 'objected', 'reopened') AND {REQUESTS}{} \
         ORDER BY h.time_us, h.order_id, h.seq",
        area_clause(area, 3)
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from_us)
        .bind(to_us);
    let rows = bind_area(q, area).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                order: listed(r)?,
                action: r.try_get("action")?,
                time_us: r.try_get("time_us")?,
                actor_unit: r.try_get("actor_unit")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

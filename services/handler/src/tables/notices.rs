//! A unit's notices: supervision, urges, whistle summons, warnings — what
//! reaches a handler besides its assignments.

use sqlx::Row;

use hotline_core::kinds::NoticeKind;

use hotline_store::{Backend, Batch, Conn, Query, Result, parse};

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub notice_id: String,
    pub unit_id: String,
    pub order_id: String,
    pub kind: NoticeKind,
    pub from_unit: String,
    pub time_us: i64,
    pub detail: String,
}

/// Stores a notice; the same id again is ignored.
pub async fn insert(conn: &mut Conn, n: &Notice) -> Result<()> {
    insert_all(conn, std::slice::from_ref(n)).await
}

/// Records several notices in one statement; an id already kept is left.
pub async fn insert_all(conn: &mut Conn, ns: &[Notice]) -> Result<()> {
    if ns.is_empty() {
        return Ok(());
    }
    insert_query(Backend::of(conn), ns)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// [`insert`] among the writes of `batch`.
pub fn insert_into(batch: &mut Batch, n: &Notice) -> Result<()> {
    insert_all_into(batch, std::slice::from_ref(n))
}

/// [`insert_all`] among the writes of `batch`.
pub fn insert_all_into(batch: &mut Batch, ns: &[Notice]) -> Result<()> {
    if ns.is_empty() {
        return Ok(());
    }
    batch.push(insert_query(batch.backend(), ns))
}

fn insert_query(backend: Backend, ns: &[Notice]) -> Query<'_> {
    let rows = hotline_store::placeholders_for(backend, ns.len(), 7);
    let sql = format!(
        "INSERT INTO notices (notice_id, unit_id, order_id, kind, from_unit, time_us, detail) \
         VALUES {rows} ON CONFLICT (notice_id) DO NOTHING"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for n in ns {
        q = q
            .bind(&n.notice_id)
            .bind(&n.unit_id)
            .bind(&n.order_id)
            .bind(n.kind.as_str())
            .bind(&n.from_unit)
            .bind(n.time_us)
            .bind(&n.detail);
    }
    q
}

/// A unit's notices after `after_id`, in id order.
pub async fn list(
    conn: &mut Conn,
    unit_id: &str,
    after_id: &str,
    limit: i64,
) -> Result<Vec<Notice>> {
    let rows = sqlx::query(
        "SELECT notice_id, unit_id, order_id, kind, from_unit, time_us, detail FROM notices \
         WHERE unit_id = $1 AND notice_id > $2 ORDER BY notice_id LIMIT $3",
    )
    .bind(unit_id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Notice {
                notice_id: r.try_get("notice_id")?,
                unit_id: r.try_get("unit_id")?,
                order_id: r.try_get("order_id")?,
                kind: parse(
                    &r.try_get::<String, _>("kind")?,
                    NoticeKind::parse,
                    "notices.kind",
                )?,
                from_unit: r.try_get("from_unit")?,
                time_us: r.try_get("time_us")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

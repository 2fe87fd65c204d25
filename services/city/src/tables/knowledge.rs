//! The hotline knowledge base (Art. 31): entries units keep for their
//! lines, and which consultations intake answered from them. Entries carry
//! their words (segmented by the caller) for text search.

use sqlx::Row;

use hotline_store::{Conn, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub entry_id: String,
    pub question: String,
    pub answer: String,
    pub category_codes: Vec<String>,
    /// The question's and answer's words, as the search matches them.
    pub tokens: Vec<String>,
    pub valid_from_us: i64,
    pub valid_to_us: Option<i64>,
    pub owner_unit: String,
    pub updated_us: i64,
}

impl Entry {
    pub fn valid_at(&self, t: i64) -> bool {
        self.valid_from_us <= t && self.valid_to_us.is_none_or(|to| t < to)
    }
}

const COLUMNS: &str = "entry_id, question, answer, category_codes, tokens, valid_from_us, \
                       valid_to_us, owner_unit, updated_us";

pub async fn upsert(conn: &mut Conn, e: &Entry) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO knowledge_entries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (entry_id) DO UPDATE SET question = excluded.question, \
         answer = excluded.answer, category_codes = excluded.category_codes, \
         tokens = excluded.tokens, valid_from_us = excluded.valid_from_us, \
         valid_to_us = excluded.valid_to_us, owner_unit = excluded.owner_unit, \
         updated_us = excluded.updated_us"
    )))
    .bind(&e.entry_id)
    .bind(&e.question)
    .bind(&e.answer)
    .bind(e.category_codes.join(" "))
    .bind(e.tokens.join(" "))
    .bind(e.valid_from_us)
    .bind(e.valid_to_us)
    .bind(&e.owner_unit)
    .bind(e.updated_us)
    .execute(&mut *conn)
    .await?;
    // Its items, one row each (the consultation's key): as the entry now
    // lists them.
    sqlx::query("DELETE FROM knowledge_categories WHERE entry_id = $1")
        .bind(&e.entry_id)
        .execute(&mut *conn)
        .await?;
    let mut codes: Vec<&str> = e.category_codes.iter().map(String::as_str).collect();
    codes.sort_unstable();
    codes.dedup();
    if !codes.is_empty() {
        let rows = hotline_store::placeholders(conn, codes.len(), 2);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO knowledge_categories (category_code, entry_id) VALUES {rows}"
        )));
        for code in codes {
            q = q.bind(code).bind(&e.entry_id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn decode(r: sqlx::any::AnyRow) -> Result<Entry> {
    let split = |s: String| -> Vec<String> { s.split_whitespace().map(str::to_string).collect() };
    Ok(Entry {
        entry_id: r.try_get("entry_id")?,
        question: r.try_get("question")?,
        answer: r.try_get("answer")?,
        category_codes: split(r.try_get("category_codes")?),
        tokens: split(r.try_get("tokens")?),
        valid_from_us: r.try_get("valid_from_us")?,
        valid_to_us: r.try_get("valid_to_us")?,
        owner_unit: r.try_get("owner_unit")?,
        updated_us: r.try_get("updated_us")?,
    })
}

pub async fn get(conn: &mut Conn, entry_id: &str) -> Result<Option<Entry>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM knowledge_entries WHERE entry_id = $1"
    )))
    .bind(entry_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(decode).transpose()
}

/// Every entry valid at `t`, in catalogue item `category` when it is not
/// empty; the caller ranks them (a city's knowledge base is thousands of
/// entries, not millions). The item is found by key in
/// `knowledge_categories`: intake asks once per consultation, and
/// matching every entry's item list with LIKE read the whole base each
/// time (406 µs a consultation with the simulator's 2,784 entries).
pub async fn valid_at(conn: &mut Conn, t: i64, category: &str) -> Result<Vec<Entry>> {
    let valid = "valid_from_us <= $1 AND (valid_to_us IS NULL OR valid_to_us > $1)";
    let q = if category.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM knowledge_entries WHERE {valid} ORDER BY entry_id"
        )))
        .bind(t)
    } else {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM knowledge_entries WHERE {valid} AND entry_id IN \
             (SELECT entry_id FROM knowledge_categories WHERE category_code = $2) \
             ORDER BY entry_id"
        )))
        .bind(t)
        .bind(category)
    };
    let rows = q.fetch_all(&mut *conn).await?;
    rows.into_iter().map(decode).collect()
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM knowledge_entries")
        .fetch_one(&mut *conn)
        .await?)
}

/// Records that intake answered `order_id` from `entry_id`.
pub async fn answered(conn: &mut Conn, order_id: &str, entry_id: &str, t: i64) -> Result<()> {
    let mut b = hotline_store::Batch::of(conn);
    answered_into(&mut b, order_id, entry_id, t)?;
    b.run(conn).await
}

/// [`answered`]'s statement, added to `b`.
pub fn answered_into(
    b: &mut hotline_store::Batch,
    order_id: &str,
    entry_id: &str,
    t: i64,
) -> Result<()> {
    b.push(
        sqlx::query(
            "INSERT INTO knowledge_answers (order_id, entry_id, time_us) VALUES ($1, $2, $3) \
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id)
        .bind(entry_id)
        .bind(t),
    )
}

/// Consultations received, those answered at intake, and those answered
/// from the knowledge base.
pub async fn consultation_counts(conn: &mut Conn) -> Result<(i64, i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS total, \
         COALESCE(SUM(CASE WHEN state = 'answered' THEN 1 ELSE 0 END), 0) AS answered \
         FROM orders WHERE kind = 'consultation'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let from_kb: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM knowledge_answers")
        .fetch_one(&mut *conn)
        .await?;
    Ok((row.try_get("total")?, row.try_get("answered")?, from_kb))
}

//! The city's audit log: every read of requester identity, who, which
//! order, when and why.

use sqlx::Row;

use hotline_store::{Conn, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub audit_id: String,
    pub actor_unit: String,
    /// The proven holder that read it (a SPIFFE ID); '' before it was kept.
    pub actor: String,
    pub order_id: String,
    pub time_us: i64,
    /// `unmask` or `relay`.
    pub access: String,
    pub reason: String,
    pub justification: String,
}

pub async fn insert(conn: &mut Conn, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (audit_id, actor_unit, actor, order_id, time_us, access, reason, justification) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.audit_id)
    .bind(&e.actor_unit)
    .bind(&e.actor)
    .bind(&e.order_id)
    .bind(e.time_us)
    .bind(&e.access)
    .bind(&e.reason)
    .bind(&e.justification)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Entries after `after_id` in id order, of one order when `order_id` is set.
pub async fn list(
    conn: &mut Conn,
    order_id: &str,
    after_id: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT audit_id, actor_unit, actor, order_id, time_us, access, reason, justification \
         FROM audit_log WHERE ($1 = '' OR order_id = $1) AND audit_id > $2 \
         ORDER BY audit_id LIMIT $3",
    )
    .bind(order_id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AuditEntry {
                audit_id: r.try_get("audit_id")?,
                actor_unit: r.try_get("actor_unit")?,
                actor: r.try_get("actor")?,
                order_id: r.try_get("order_id")?,
                time_us: r.try_get("time_us")?,
                access: r.try_get("access")?,
                reason: r.try_get("reason")?,
                justification: r.try_get("justification")?,
            })
        })
        .collect()
}

/// A requester's name and phone under their pseudonym: a PII read, which
/// the caller audits.
pub async fn identity(conn: &mut Conn, requester_ref: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT name, phone FROM requesters WHERE requester_ref = $1")
        .bind(requester_ref)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("name")?, r.try_get("phone")?)))
        .transpose()
}

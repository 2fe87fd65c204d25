//! Requester credentials, kept only as the SHA-256 of the token the
//! requester holds: each opens one order until it expires or is revoked.

use sqlx::Row;

use hotline_store::{Batch, Conn, Query, Result};

/// A credential as stored; the token itself is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub order_id: String,
    pub created_us: i64,
    pub expires_us: i64,
    pub revoked_us: Option<i64>,
}

/// Stores a credential for `order_id` under the hash of its token.
pub async fn insert(conn: &mut Conn, token_hash: &str, grant: &Grant) -> Result<()> {
    insert_query(token_hash, grant).execute(&mut *conn).await?;
    Ok(())
}

/// [`insert`] among the writes of `batch`.
pub fn insert_into(batch: &mut Batch, token_hash: &str, grant: &Grant) -> Result<()> {
    batch.push(insert_query(token_hash, grant))
}

fn insert_query<'q>(token_hash: &'q str, grant: &'q Grant) -> Query<'q> {
    sqlx::query(
        "INSERT INTO requester_tokens (token_hash, order_id, created_us, expires_us, revoked_us) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(&grant.order_id)
    .bind(grant.created_us)
    .bind(grant.expires_us)
    .bind(grant.revoked_us)
}

/// The credential whose token hashes to `token_hash`, if any.
pub async fn get(conn: &mut Conn, token_hash: &str) -> Result<Option<Grant>> {
    let row = sqlx::query(
        "SELECT order_id, created_us, expires_us, revoked_us FROM requester_tokens \
         WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Grant {
            order_id: r.try_get(0)?,
            created_us: r.try_get(1)?,
            expires_us: r.try_get(2)?,
            revoked_us: r.try_get(3)?,
        })
    })
    .transpose()
}

/// Revokes one credential at `now`; a credential already revoked keeps its
/// first revocation time. Whether one was found.
pub async fn revoke(conn: &mut Conn, token_hash: &str, now: i64) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE requester_tokens SET revoked_us = COALESCE(revoked_us, $2) WHERE token_hash = $1",
    )
    .bind(token_hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Revokes every live credential of an order at `now`; how many.
pub async fn revoke_order(conn: &mut Conn, order_id: &str, now: i64) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE requester_tokens SET revoked_us = $2 WHERE order_id = $1 AND revoked_us IS NULL",
    )
    .bind(order_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}

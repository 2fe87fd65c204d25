//! Request-id records (AIP-155): the first answer to a request id, kept so a
//! retry gets the same answer and no second effect. Receivers also use them
//! to deduplicate handoffs by message id.

use sqlx::Row;

use crate::{Conn, Result};

/// The stored answer to `request_id` in `scope` (method and caller), if any.
pub async fn get(conn: &mut Conn, scope: &str, request_id: &str) -> Result<Option<Vec<u8>>> {
    let row = sqlx::query("SELECT response FROM idempotency WHERE scope = $1 AND request_id = $2")
        .bind(scope)
        .bind(request_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()?)
}

/// Records the answer; in the same transaction as the effect.
pub async fn put(
    conn: &mut Conn,
    scope: &str,
    request_id: &str,
    response: &[u8],
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO idempotency (scope, request_id, response, created_us) VALUES ($1, $2, $3, $4)",
    )
    .bind(scope)
    .bind(request_id)
    .bind(response.to_vec())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets records older than `before`; callers keep them well past the
/// senders' retry horizon.
pub async fn prune(conn: &mut Conn, before: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM idempotency WHERE created_us < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected())
}
